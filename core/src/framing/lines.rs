//! Newline framing for byte-stream sources (`file`, `stdin`): splits a growing buffer into lines
//! without copying them (each line is a slice of the read chunk), enforces `max_line_bytes` (an
//! oversize line is reported, then skipped up to its newline — never silently cut), and keeps the
//! byte offset of every line so sources can checkpoint precisely.

use bytes::{Bytes, BytesMut};

/// One framed unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A complete line (without its `\n` or `\r\n`), starting at `offset`.
    Line {
        /// Byte offset of the line's first byte in the stream.
        offset: u64,
        /// The line's bytes.
        bytes: Bytes,
    },
    /// A line longer than `max_line_bytes`, starting at `offset`; its bytes are discarded.
    TooLong {
        /// Byte offset of the line's first byte.
        offset: u64,
        /// The first bytes of the line, for the error report.
        prefix: Bytes,
    },
}

/// Incremental line splitter over a byte stream.
#[derive(Debug)]
pub struct LineFramer {
    buf: BytesMut,
    /// Stream offset of `buf[0]`.
    buf_offset: u64,
    max_line_bytes: usize,
    /// Skipping the rest of an oversize line.
    discarding: bool,
}

const ERROR_PREFIX_BYTES: usize = 256;

impl LineFramer {
    /// A framer starting at stream offset `offset`.
    pub fn new(offset: u64, max_line_bytes: usize) -> Self {
        Self {
            buf: BytesMut::new(),
            buf_offset: offset,
            max_line_bytes: max_line_bytes.max(1),
            discarding: false,
        }
    }

    /// The buffer to read new bytes into (append only). Reserve before reading.
    pub fn buffer_mut(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// Offset just past the last complete line handed out: where a restart should resume.
    pub fn position(&self) -> u64 {
        self.buf_offset
    }

    /// Starts over at `offset` (after truncation), dropping buffered bytes.
    pub fn reset(&mut self, offset: u64) {
        self.buf.clear();
        self.buf_offset = offset;
        self.discarding = false;
    }

    /// Moves every complete line out of the buffer into `out`.
    pub fn drain(&mut self, out: &mut Vec<Frame>) {
        if self.discarding {
            match memchr::memchr(b'\n', &self.buf) {
                Some(nl) => {
                    let _ = self.buf.split_to(nl + 1);
                    self.buf_offset += nl as u64 + 1;
                    self.discarding = false;
                }
                None => {
                    self.buf_offset += self.buf.len() as u64;
                    self.buf.clear();
                    return;
                }
            }
        }
        if let Some(last_nl) = memchr::memrchr(b'\n', &self.buf) {
            let chunk = self.buf.split_to(last_nl + 1).freeze();
            let base = self.buf_offset;
            self.buf_offset += chunk.len() as u64;
            let mut start = 0;
            for nl in memchr::memchr_iter(b'\n', &chunk) {
                let mut end = nl;
                if end > start && chunk.get(end - 1) == Some(&b'\r') {
                    end -= 1;
                }
                let offset = base + start as u64;
                if end - start > self.max_line_bytes {
                    out.push(Frame::TooLong {
                        offset,
                        prefix: chunk.slice(start..start + ERROR_PREFIX_BYTES.min(end - start)),
                    });
                } else {
                    out.push(Frame::Line {
                        offset,
                        bytes: chunk.slice(start..end),
                    });
                }
                start = nl + 1;
            }
        }
        if self.buf.len() > self.max_line_bytes {
            // An incomplete line is already too long: report it now, skip to its newline.
            let prefix =
                Bytes::copy_from_slice(&self.buf[..ERROR_PREFIX_BYTES.min(self.buf.len())]);
            out.push(Frame::TooLong {
                offset: self.buf_offset,
                prefix,
            });
            self.buf_offset += self.buf.len() as u64;
            self.buf.clear();
            self.discarding = true;
        }
    }

    /// At the definite end of the stream: hands out the last line even without a newline.
    pub fn finish(&mut self, out: &mut Vec<Frame>) {
        self.drain(out);
        if !self.buf.is_empty() && !self.discarding {
            let line = self.buf.split().freeze();
            let offset = self.buf_offset;
            self.buf_offset += line.len() as u64;
            let end = if line.last() == Some(&b'\r') {
                line.len() - 1
            } else {
                line.len()
            };
            out.push(Frame::Line {
                offset,
                bytes: line.slice(..end),
            });
        }
        self.discarding = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(frames: &[Frame]) -> Vec<(u64, String)> {
        frames
            .iter()
            .map(|f| match f {
                Frame::Line { offset, bytes } => {
                    (*offset, String::from_utf8_lossy(bytes).into_owned())
                }
                Frame::TooLong { offset, .. } => (*offset, "<too long>".into()),
            })
            .collect()
    }

    #[test]
    fn splits_across_reads_with_offsets() {
        let mut f = LineFramer::new(100, 1024);
        let mut out = Vec::new();
        f.buffer_mut().extend_from_slice(b"one\ntw");
        f.drain(&mut out);
        assert_eq!(f.position(), 104);
        f.buffer_mut().extend_from_slice(b"o\r\nthree");
        f.drain(&mut out);
        assert_eq!(lines(&out), vec![(100, "one".into()), (104, "two".into())]);
        assert_eq!(f.position(), 109);
        f.finish(&mut out);
        assert_eq!(lines(&out)[2], (109, "three".into()));
        assert_eq!(f.position(), 114);
    }

    #[test]
    fn oversize_lines_are_reported_and_skipped() {
        let mut f = LineFramer::new(0, 5);
        let mut out = Vec::new();
        f.buffer_mut().extend_from_slice(b"ok\ntoolongline\nfine\n");
        f.drain(&mut out);
        assert_eq!(
            lines(&out),
            vec![
                (0, "ok".into()),
                (3, "<too long>".into()),
                (15, "fine".into())
            ]
        );
        // An oversize line that arrives in pieces is reported once, then skipped to its newline.
        let mut out = Vec::new();
        f.buffer_mut().extend_from_slice(b"abcdefgh");
        f.drain(&mut out);
        f.buffer_mut().extend_from_slice(b"ijk\nnext\n");
        f.drain(&mut out);
        assert_eq!(
            lines(&out),
            vec![(20, "<too long>".into()), (32, "next".into())]
        );
        assert_eq!(f.position(), 37);
    }
}
