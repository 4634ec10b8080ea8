//! Framing of one file: lines, or the elements of `{"Records":[...]}` documents with a fallback to
//! lines, or (under `framing = "auto"`) not decided yet; and the position a restart resumes from.
//!
//! The bytes of the file are appended to [`FileFramer::buffer_mut`], then [`FileFramer::drain`]
//! turns everything complete into [`Unit`]s. In records mode the read buffer is handed to a
//! [`RecordsSplitter`] and cleared, so memory is one read chunk plus the element being assembled,
//! whatever the size of the documents.

use bytes::{Bytes, BytesMut};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use weir_core::framing::json_records::{Element, RecordsSplitter, SplitError, SplitterConfig};
use weir_core::framing::lines::{Frame, LineFramer};

use crate::errors::ErrorType;

/// `framing`: how the `file` and `aws_s3` sources cut a file's or an object's (decompressed)
/// bytes into events.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Framing {
    /// Decide per file or object from its first non-whitespace byte (default): `{` or `[` →
    /// `json_records` (CloudTrail `{"Records":[...]}` files are split into records; JSON that
    /// turns out not to be a records document falls back to lines), anything else → `newline`.
    #[default]
    Auto,
    /// One event per line.
    Newline,
    /// One event per element of the records array of `{"Records":[...]}` documents (CloudTrail
    /// log files; several documents per file, one per line or concatenated, are fine) or of bare
    /// top-level arrays of objects (or arrays), streamed: a document is never held whole. A
    /// document that is not a records document (NDJSON events, CloudTrail digest files, plain
    /// text, `[INFO] ...` lines) switches the rest of the input to lines, quietly; a broken or
    /// cut-short document is reported as an error, and the rest of the input is read as lines.
    JsonRecords,
}

impl Framing {
    /// How input read from its first byte starts being framed.
    pub(crate) fn start_fresh(self) -> Start {
        match self {
            Framing::Auto => Start::Undecided,
            Framing::Newline => Start::Lines { fallback: false },
            Framing::JsonRecords => Start::Records { skip: 0 },
        }
    }
}

/// Where a restart resumes reading a file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Position {
    /// Byte offset (of the decompressed stream for `.gz` files) to read from.
    pub offset: u64,
    /// Records framing: `offset` is the start of a document whose first `skip_records` elements
    /// were already handled.
    pub skip_records: u64,
    /// Records framing fell back to lines before `offset`: the rest of the file is lines.
    pub line_fallback: bool,
}

/// How a file starts being framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Start {
    /// Lines; `fallback` if records framing had fallen back to lines before.
    Lines {
        /// Records framing had fallen back to lines.
        fallback: bool,
    },
    /// Records documents (with the fallback to lines), skipping the first elements of the first
    /// document.
    Records {
        /// Elements of the first document already handled.
        skip: u64,
    },
    /// `auto` before the first non-whitespace byte: decide on it.
    Undecided,
}

/// One framed unit of a file.
#[derive(Debug)]
pub(crate) enum Unit {
    /// An event: a line, or a record's raw JSON.
    Message {
        /// Byte offset of its first byte.
        offset: u64,
        /// Its bytes.
        bytes: Bytes,
    },
    /// A line longer than the limit, skipped.
    LineTooLong {
        /// Byte offset of the line's first byte.
        offset: u64,
        /// The first bytes of the line.
        prefix: Bytes,
    },
    /// A record larger than the limit, skipped.
    RecordTooLarge {
        /// Byte offset of the record's first byte.
        offset: u64,
    },
    /// The records document is broken (syntax error or cut short); lines from `lines_from` on.
    BadDocument {
        /// What is wrong (offsets in it are absolute).
        error: SplitError,
        /// Where line framing takes over.
        lines_from: u64,
    },
    /// The document at `offset` is not a records document: lines from there on (not an error).
    NotRecords {
        /// Byte offset of the document's first byte.
        offset: u64,
        /// What did not match.
        reason: &'static str,
    },
}

/// How a framed unit that is not an event is reported, the same by the `file` and `aws_s3`
/// readers: counted under `error_type`, logged, and sent to `<id>.errors` as an event with
/// `error`, `error_type`, `offset` (and the line's first bytes as `line_prefix`).
#[derive(Debug)]
pub(crate) struct UnitError {
    /// The `error_type` label and field.
    pub(crate) error_type: ErrorType,
    /// The event's `error` text.
    pub(crate) message: String,
    /// Byte offset of the unit (or of the problem in a broken document).
    pub(crate) offset: u64,
    /// A skipped line's first bytes.
    pub(crate) line_prefix: Option<Bytes>,
    /// Where the rest of the stream is read as lines from (a broken records document).
    pub(crate) lines_from: Option<u64>,
}

impl Unit {
    /// The error this unit is reported as; `None` for events and for documents that are merely
    /// not records documents (lines follow, quietly).
    pub(crate) fn error(self, max_line_bytes: usize) -> Option<UnitError> {
        let (error_type, message, offset, line_prefix, lines_from) = match self {
            Unit::Message { .. } | Unit::NotRecords { .. } => return None,
            Unit::LineTooLong { offset, prefix } => (
                ErrorType::LineTooLong,
                format!("line longer than max_line_bytes ({max_line_bytes})"),
                offset,
                Some(prefix),
                None,
            ),
            Unit::RecordTooLarge { offset } => (
                ErrorType::RecordTooLarge,
                format!("record larger than max_line_bytes ({max_line_bytes})"),
                offset,
                None,
                None,
            ),
            Unit::BadDocument { error, lines_from } => {
                let (error_type, offset) = match &error {
                    SplitError::Truncated { offset } => (ErrorType::TruncatedDocument, *offset),
                    SplitError::NotRecordsDocument { offset, .. }
                    | SplitError::RecordTooLarge { offset, .. }
                    | SplitError::Syntax { offset, .. } => (ErrorType::InvalidDocument, *offset),
                };
                (
                    error_type,
                    error.to_string(),
                    offset,
                    None,
                    Some(lines_from),
                )
            }
        };
        Some(UnitError {
            error_type,
            message,
            offset,
            line_prefix,
            lines_from,
        })
    }
}

enum Mode {
    Undecided {
        /// Whitespace read so far (and the chunk holding the first other byte, until drained).
        buf: BytesMut,
        /// Byte offset of `buf[0]`.
        offset: u64,
    },
    Lines {
        framer: LineFramer,
        fallback: bool,
    },
    Records {
        splitter: Box<RecordsSplitter>,
        /// The read buffer: pushed to the splitter and cleared on every drain.
        buf: BytesMut,
        /// Byte offset of the splitter's stream offset 0.
        base: u64,
    },
}

/// The framing state of one file.
pub(crate) struct FileFramer {
    mode: Mode,
    max_bytes: usize,
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

impl FileFramer {
    /// A framer reading from byte `offset`. `max_bytes` bounds lines and records alike.
    pub fn new(start: Start, offset: u64, max_bytes: usize) -> Self {
        let max_bytes = max_bytes.max(1);
        let mode = match start {
            Start::Lines { fallback } => Mode::Lines {
                framer: LineFramer::new(offset, max_bytes),
                fallback,
            },
            Start::Records { skip } => Self::records(offset, skip, max_bytes),
            Start::Undecided => Mode::Undecided {
                buf: BytesMut::new(),
                offset,
            },
        };
        Self { mode, max_bytes }
    }

    fn records(offset: u64, skip: u64, max_bytes: usize) -> Mode {
        let mut splitter = RecordsSplitter::new(SplitterConfig {
            max_record_size: max_bytes,
            // `[INFO] ...`, `[Mon Jan 01 ...] [error] ...`: text lines, not arrays of records.
            bare_array_objects_only: true,
            ..SplitterConfig::default()
        });
        splitter.skip_elements(skip);
        Mode::Records {
            splitter: Box::new(splitter),
            buf: BytesMut::new(),
            base: offset,
        }
    }

    /// The buffer to read new bytes into (append only).
    pub fn buffer_mut(&mut self) -> &mut BytesMut {
        match &mut self.mode {
            Mode::Undecided { buf, .. } | Mode::Records { buf, .. } => buf,
            Mode::Lines { framer, .. } => framer.buffer_mut(),
        }
    }

    /// Where a restart resumes, given that every unit handed out so far was delivered.
    pub fn position(&self) -> Position {
        match &self.mode {
            Mode::Undecided { offset, .. } => Position {
                offset: *offset,
                ..Position::default()
            },
            Mode::Lines { framer, fallback } => Position {
                offset: framer.position(),
                skip_records: 0,
                line_fallback: *fallback,
            },
            Mode::Records { splitter, base, .. } => match splitter.document_offset() {
                Some(doc) => Position {
                    offset: base + doc,
                    skip_records: splitter.document_elements(),
                    line_fallback: false,
                },
                None => Position {
                    offset: base + splitter.bytes_consumed(),
                    ..Position::default()
                },
            },
        }
    }

    /// Moves every complete unit out of the buffered bytes into `out`.
    pub fn drain(&mut self, out: &mut Vec<Unit>) {
        self.decide();
        match &mut self.mode {
            Mode::Undecided { .. } => {}
            Mode::Lines { framer, .. } => {
                let mut frames = Vec::new();
                framer.drain(&mut frames);
                out.extend(frames.into_iter().map(Unit::from));
            }
            Mode::Records { .. } => self.drain_records(out),
        }
    }

    /// At the definite end of the file: hands out a last line without newline, and reports a
    /// records document cut short.
    pub fn finish(&mut self, out: &mut Vec<Unit>) {
        self.drain(out);
        if let Mode::Undecided { buf, offset } = &mut self.mode {
            // Whitespace only: frame it as lines, as `newline` would.
            let mut framer = LineFramer::new(*offset, self.max_bytes);
            framer.buffer_mut().extend_from_slice(buf);
            self.mode = Mode::Lines {
                framer,
                fallback: false,
            };
        }
        if let Mode::Records { splitter, base, .. } = &mut self.mode {
            if let Err(error) = splitter.finish() {
                let end = *base + splitter.bytes_consumed();
                out.push(Unit::BadDocument {
                    error: absolute(error, *base),
                    lines_from: end,
                });
                self.mode = Mode::Lines {
                    framer: LineFramer::new(end, self.max_bytes),
                    fallback: true,
                };
            }
        }
        if let Mode::Lines { framer, .. } = &mut self.mode {
            let mut frames = Vec::new();
            framer.finish(&mut frames);
            out.extend(frames.into_iter().map(Unit::from));
        }
    }

    /// `auto`: picks the framing on the first non-whitespace byte (whitespace alone longer than
    /// the limit: lines).
    fn decide(&mut self) {
        let Mode::Undecided { buf, offset } = &mut self.mode else {
            return;
        };
        let first = buf.iter().copied().find(|b| !is_ws(*b));
        let records = match first {
            Some(b'{' | b'[') => true,
            Some(_) => false,
            None if buf.len() > self.max_bytes => false,
            None => return,
        };
        let bytes = buf.split();
        let offset = *offset;
        if records {
            self.mode = Self::records(offset, 0, self.max_bytes);
        } else {
            self.mode = Mode::Lines {
                framer: LineFramer::new(offset, self.max_bytes),
                fallback: false,
            };
        }
        self.buffer_mut().extend_from_slice(&bytes);
    }

    fn drain_records(&mut self, out: &mut Vec<Unit>) {
        let Mode::Records {
            splitter,
            buf,
            base,
        } = &mut self.mode
        else {
            return;
        };
        let base = *base;
        let chunk_start = splitter.bytes_consumed();
        let mut elements = Vec::new();
        let result = splitter.push_elements(buf, &mut elements);
        out.extend(elements.into_iter().map(|element| match element {
            Element::Record { offset, bytes } => Unit::Message {
                offset: base + offset,
                bytes,
            },
            Element::TooLarge { offset, .. } => Unit::RecordTooLarge {
                offset: base + offset,
            },
        }));
        // On an error, line framing takes over at `lines_from` with these bytes.
        let (lines_from, rest) = match result {
            Ok(()) => {
                buf.clear();
                return;
            }
            Err(SplitError::NotRecordsDocument {
                offset,
                reason,
                unconsumed,
            }) => {
                out.push(Unit::NotRecords {
                    offset: base + offset,
                    reason,
                });
                (base + offset, unconsumed)
            }
            Err(SplitError::RecordTooLarge { offset, .. }) => {
                // Not returned by `push_elements`; report it and go on splitting.
                out.push(Unit::RecordTooLarge {
                    offset: base + offset,
                });
                buf.clear();
                return;
            }
            Err(error @ (SplitError::Syntax { .. } | SplitError::Truncated { .. })) => {
                let at = match &error {
                    SplitError::Syntax { offset, .. } | SplitError::Truncated { offset } => *offset,
                    _ => chunk_start,
                };
                // Line framing goes on from the offending byte.
                let index = usize::try_from(at.saturating_sub(chunk_start)).unwrap_or(usize::MAX);
                let rest = Bytes::copy_from_slice(buf.get(index..).unwrap_or_default());
                let lines_from = base + chunk_start + index.min(buf.len()) as u64;
                out.push(Unit::BadDocument {
                    error: absolute(error, base),
                    lines_from,
                });
                (lines_from, rest)
            }
        };
        let mut framer = LineFramer::new(lines_from, self.max_bytes);
        framer.buffer_mut().extend_from_slice(&rest);
        self.mode = Mode::Lines {
            framer,
            fallback: true,
        };
        self.drain(out);
    }
}

/// The error with its offsets made absolute (the splitter counts from `base`).
fn absolute(error: SplitError, base: u64) -> SplitError {
    match error {
        SplitError::NotRecordsDocument {
            offset,
            reason,
            unconsumed,
        } => SplitError::NotRecordsDocument {
            offset: base + offset,
            reason,
            unconsumed,
        },
        SplitError::RecordTooLarge { offset, limit } => SplitError::RecordTooLarge {
            offset: base + offset,
            limit,
        },
        SplitError::Syntax { offset, message } => SplitError::Syntax {
            offset: base + offset,
            message,
        },
        SplitError::Truncated { offset } => SplitError::Truncated {
            offset: base + offset,
        },
    }
}

impl From<Frame> for Unit {
    fn from(frame: Frame) -> Self {
        match frame {
            Frame::Line { offset, bytes } => Unit::Message { offset, bytes },
            Frame::TooLong { offset, prefix } => Unit::LineTooLong { offset, prefix },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(start: Start, offset: u64, max: usize, chunks: &[&[u8]], finish: bool) -> Vec<String> {
        let mut f = FileFramer::new(start, offset, max);
        let mut out = Vec::new();
        for c in chunks {
            f.buffer_mut().extend_from_slice(c);
            f.drain(&mut out);
        }
        if finish {
            f.finish(&mut out);
        }
        out.iter()
            .map(|u| match u {
                Unit::Message { offset, bytes } => {
                    format!("{offset}:{}", String::from_utf8_lossy(bytes))
                }
                Unit::LineTooLong { offset, .. } => format!("{offset}:line too long"),
                Unit::RecordTooLarge { offset } => format!("{offset}:record too large"),
                Unit::BadDocument { lines_from, .. } => format!("{lines_from}:bad document"),
                Unit::NotRecords { offset, .. } => format!("{offset}:not records"),
            })
            .collect()
    }

    #[test]
    fn auto_decides_on_the_first_non_whitespace_byte() {
        let records = run(
            Start::Undecided,
            0,
            100,
            &[b" \n", b" ", b"{\"Records\":[1,", b"2]}\n"],
            true,
        );
        assert_eq!(records, ["15:1", "17:2"]);
        let lines = run(Start::Undecided, 0, 100, &[b"\n", b"a\nb"], true);
        assert_eq!(lines, ["0:", "1:a", "3:b"]);
        // Whitespace only, longer than the limit: lines.
        let blank = run(Start::Undecided, 0, 2, &[b"   ", b"\nx\n"], false);
        assert_eq!(blank, ["0:line too long", "4:x"]);
    }

    #[test]
    fn falls_back_to_lines_and_reports_positions() {
        // NDJSON: the first document is not a records document.
        let mut f = FileFramer::new(Start::Records { skip: 0 }, 10, 100);
        let mut out = Vec::new();
        f.buffer_mut().extend_from_slice(b"{\"a\":1}\n{\"b\"");
        f.drain(&mut out);
        assert!(matches!(out[0], Unit::NotRecords { offset: 10, .. }));
        assert!(
            matches!(&out[1], Unit::Message { offset: 10, bytes } if &bytes[..] == b"{\"a\":1}")
        );
        assert_eq!(
            f.position(),
            Position {
                offset: 18,
                skip_records: 0,
                line_fallback: true
            }
        );
        // Inside a document: its start and the elements done; between documents: the end.
        let mut f = FileFramer::new(Start::Records { skip: 0 }, 0, 100);
        f.buffer_mut().extend_from_slice(b"[[1]] {\"Records\":[2,3");
        f.drain(&mut out);
        assert_eq!(
            f.position(),
            Position {
                offset: 6,
                skip_records: 1,
                line_fallback: false
            }
        );
        f.buffer_mut().extend_from_slice(b"]}\n");
        f.drain(&mut out);
        assert_eq!(
            f.position(),
            Position {
                offset: 24,
                ..Position::default()
            }
        );
        // A syntax error: lines from the offending byte.
        let got = run(
            Start::Records { skip: 0 },
            0,
            100,
            &[b"[[1],2 3]\nnext line\n"],
            true,
        );
        assert_eq!(
            got,
            ["1:[1]", "5:2", "7:bad document", "7:3]", "10:next line"]
        );
        // Cut short at the end of the file.
        let got = run(Start::Records { skip: 0 }, 0, 100, &[b"[[1],2,"], true);
        assert_eq!(got, ["1:[1]", "5:2", "7:bad document"]);
        // A resumed document skips what was handled.
        let got = run(
            Start::Records { skip: 2 },
            7,
            100,
            &[b"[[1],2,3]\n[[4]]"],
            true,
        );
        assert_eq!(got, ["14:3", "18:[4]"]);
    }

    #[test]
    fn text_lines_starting_with_a_bracket_stay_lines() {
        for text in [
            "[INFO] started\n[WARN] slow\n",
            "[Mon Jan 01 00:00:00 2024] [error] boom\nnext\n",
            "[2024-01-01T00:00:00Z] GET /\n",
            "[\"not\", \"records\"]\n",
        ] {
            let got = run(Start::Undecided, 0, 1000, &[text.as_bytes()], true);
            let mut want = vec!["0:not records".to_string()];
            let mut at = 0;
            for line in text.lines() {
                want.push(format!("{at}:{line}"));
                at += line.len() + 1;
            }
            assert_eq!(got, want);
        }
        // An array of objects is records, though.
        let got = run(
            Start::Undecided,
            0,
            1000,
            &[b"[{\"a\":1}, {\"b\":2}]\n"],
            true,
        );
        assert_eq!(got, ["1:{\"a\":1}", "10:{\"b\":2}"]);
    }

    #[test]
    fn a_large_document_streams_without_being_held() {
        // 40 000 records (~4 MB) in one document, fed in 64 KiB reads.
        let records: Vec<String> = (0..40_000)
            .map(|i| format!("{{\"eventID\":\"{i}\",\"pad\":\"{}\"}}", "x".repeat(64)))
            .collect();
        let text = format!("{{\"Records\":[{}]}}\n", records.join(","));
        let mut f = FileFramer::new(Start::Undecided, 0, 1024);
        let mut out = Vec::new();
        let mut seen = 0;
        for chunk in text.as_bytes().chunks(64 * 1024) {
            f.buffer_mut().extend_from_slice(chunk);
            f.drain(&mut out);
            // Every read is consumed at once; records come out as they complete.
            assert!(f.buffer_mut().is_empty());
            assert!(out.len() > seen || out.len() == records.len());
            seen = out.len();
        }
        f.finish(&mut out);
        assert_eq!(out.len(), records.len());
        assert_eq!(f.position().offset, text.len() as u64);
        for (unit, want) in out.iter().zip(&records) {
            assert!(matches!(unit, Unit::Message { bytes, .. } if bytes == want.as_bytes()));
        }
    }
}
