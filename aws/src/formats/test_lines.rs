//! Test support: joins the lines of multi-line records the way `aws_parse` does for line-framed
//! input, so parser tests can feed whole files.

use bytes::Bytes;

/// The tests join user activity lines themselves, as `aws_parse` does for line-framed input.
///
/// Default [`MultilineAssembler`] record size limit: 1 MiB.
const DEFAULT_MAX_RECORD_SIZE: usize = 1024 * 1024;

/// Joins the lines of multi-line records: a record starts at a line for which the start
/// predicate holds and runs until the next such line (or the end of the stream).
///
/// Feed every line in order with [`push_line`](Self::push_line) (with or without its `\n` /
/// `\r\n`), and call [`finish`](Self::finish) at the end of the stream to flush the last
/// record. Continuation lines are joined with `\n`; empty lines at the end of a record are
/// dropped. A record growing past the size limit is
/// emitted as is and the line that would overflow it starts a new record (which then fails to
/// parse). Empty lines before the first record are ignored.
#[derive(Debug)]
pub(crate) struct MultilineAssembler {
    is_start: fn(&[u8]) -> bool,
    buf: Vec<u8>,
    max_record_size: usize,
}

impl MultilineAssembler {
    /// An assembler using `is_start` to recognise the first line of a record.
    pub(crate) fn new(is_start: fn(&[u8]) -> bool) -> Self {
        Self {
            is_start,
            buf: Vec::new(),
            max_record_size: DEFAULT_MAX_RECORD_SIZE,
        }
    }

    /// The assembler for the Redshift user activity log (records start at `'YYYY-`).
    pub(crate) fn user_activity() -> Self {
        Self::new(crate::formats::redshift::is_user_activity_start)
    }

    /// Sets the size limit of one record.
    pub(crate) fn with_max_record_size(mut self, limit: usize) -> Self {
        self.max_record_size = limit;
        self
    }

    /// Adds the next line; returns the previous record if this line starts a new one.
    pub(crate) fn push_line(&mut self, line: &[u8]) -> Option<Bytes> {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if self.buf.is_empty() {
            if !line.is_empty() {
                self.buf.extend_from_slice(line);
            }
            return None;
        }
        if (self.is_start)(line)
            || self.buf.len().saturating_add(line.len() + 1) > self.max_record_size
        {
            let done = self.take();
            self.buf.extend_from_slice(line);
            return Some(done);
        }
        self.buf.push(b'\n');
        self.buf.extend_from_slice(line);
        None
    }

    /// Ends the stream, returning the last record, if any.
    pub(crate) fn finish(&mut self) -> Option<Bytes> {
        let done = self.take();
        (!done.is_empty()).then_some(done)
    }

    /// Takes the buffered record without its trailing empty lines.
    fn take(&mut self) -> Bytes {
        while self.buf.last() == Some(&b'\n') {
            self.buf.pop();
        }
        Bytes::from(std::mem::take(&mut self.buf))
    }
}
