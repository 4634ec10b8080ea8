//! The bracket/string scanner of [`RecordsSplitter`](super::RecordsSplitter): finds where one
//! JSON value ends, across chunk boundaries, without validating it.

/// Tracks strings, escapes and bracket nesting of one JSON value.
#[derive(Debug, Default)]
pub(super) struct Scanner {
    /// Expected closing brackets.
    stack: Vec<u8>,
    in_string: bool,
    escape: bool,
    /// Inside a top-level scalar (number, `true`, ...).
    scalar: bool,
}

fn is_scalar_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.')
}

impl Scanner {
    pub(super) fn reset(&mut self) {
        self.stack.clear();
        self.in_string = false;
        self.escape = false;
        self.scalar = false;
    }

    /// Resets for a string whose opening quote was already consumed (a later key of the
    /// top-level object).
    pub(super) fn reset_in_string(&mut self) {
        self.reset();
        self.in_string = true;
    }

    /// Scans `chunk` from `i`. Returns `(end, true)` when the value is complete (`end` exclusive;
    /// a scalar's terminating delimiter is not consumed), or `(chunk.len(), false)` if the value
    /// continues in the next chunk. `Err((index, message))` on a structural error.
    pub(super) fn scan(
        &mut self,
        chunk: &[u8],
        mut i: usize,
    ) -> Result<(usize, bool), (usize, &'static str)> {
        let len = chunk.len();
        if self.escape {
            if i >= len {
                return Ok((len, false));
            }
            self.escape = false;
            i += 1;
        }
        while let Some(&b) = chunk.get(i) {
            if self.in_string {
                let rest = chunk.get(i..).unwrap_or_default();
                match memchr::memchr2(b'"', b'\\', rest) {
                    None => return Ok((len, false)),
                    Some(rel) => {
                        let p = i + rel;
                        if chunk.get(p) == Some(&b'\\') {
                            if p + 1 < len {
                                i = p + 2;
                            } else {
                                self.escape = true;
                                return Ok((len, false));
                            }
                        } else {
                            self.in_string = false;
                            i = p + 1;
                            if self.stack.is_empty() {
                                return Ok((i, true));
                            }
                        }
                    }
                }
                continue;
            }
            if self.scalar {
                if is_scalar_byte(b) {
                    i += 1;
                    continue;
                }
                return Ok((i, true));
            }
            match b {
                b'"' => {
                    self.in_string = true;
                    i += 1;
                }
                b'{' => {
                    self.stack.push(b'}');
                    i += 1;
                }
                b'[' => {
                    self.stack.push(b']');
                    i += 1;
                }
                b'}' | b']' => {
                    if self.stack.pop() != Some(b) {
                        return Err((i, "mismatched closing bracket"));
                    }
                    i += 1;
                    if self.stack.is_empty() {
                        return Ok((i, true));
                    }
                }
                _ if self.stack.is_empty() => {
                    if is_scalar_byte(b) {
                        self.scalar = true;
                        i += 1;
                    } else {
                        return Err((i, "unexpected character at the start of a value"));
                    }
                }
                _ => i += 1,
            }
        }
        Ok((len, false))
    }
}
