//! Shared building blocks for the space- and tab-delimited AWS access-log parsers (ALB, Classic
//! ELB, NLB, S3 server access, VPC Flow, CloudFront, Route 53 query logs).
//!
//! * [`Tokenizer`]: splits a space-delimited record into fields. A field is either a run of
//!   non-space bytes or a double-quoted string that may contain spaces; a quoted field ends at a
//!   `"` that is followed by a space or by the end of the record (so quotes inside a value, as in
//!   `"h2","http/1.1"`, do not end it). Runs of spaces count as one separator, and trailing spaces
//!   and line terminators are ignored. S3's bracketed time (`[06/Feb/2019:00:00:38 +0000]`) is read
//!   with [`Tokenizer::next_bracketed`].
//! * Value helpers (`values.rs`): [`is_absent`] (`-`, `"-"` and empty mean "no value"),
//!   [`parse_int`], [`parse_float`], [`split_host_port`], [`split_request`], [`percent_decode`],
//!   [`slice`].
//! * Times (`time.rs`): [`parse_iso8601`], [`parse_datetime_prefix`], [`parse_clf_time`],
//!   [`parse_date_time`]. These are the crate's one ISO-8601 parser: the JSON formats
//!   ([`parse_rfc3339`](crate::formats::json_reader::value::parse_rfc3339)'s fast path) and the
//!   line formats that start with a time (RDS, Lambda, Redshift) use it too.
//! * Field specs and records (`spec.rs`): the `FieldSpec` tables of the positional formats,
//!   converted by `parse_spaced` into records of a shared `Layout`.
//!
//! Nothing here indexes or slices input out of bounds or unwraps input data: every access goes
//! through `get`, so any byte string is safe to feed in.
//!
//! The small helpers called per field (tokenizer steps, number and time parsers) are `#[inline]`:
//! they live in other files (so other modules, and codegen units) than their hot callers, and
//! without it `Tokenizer::next_field` was no longer inlined into `parse_spaced` (6 % more
//! instructions per ALB record).

use std::ops::Range;

mod spec;
#[cfg(test)]
pub(crate) mod test_support;
#[cfg(test)]
mod tests;
mod time;
mod values;

pub(crate) use spec::{
    bad_value, collect_trailing, parse_spaced, spec, FieldSpec, Kind, Layout, Slots, SpecLayout,
};
pub use time::{
    from_unix_seconds, parse_clf_time, parse_date_time, parse_datetime_prefix, parse_iso8601,
};
pub use values::{
    decoded_value, excerpt, is_absent, parse_float, parse_int, percent_decode, slice,
    split_host_port, split_request,
};

/// Name of the field holding unknown trailing fields (an array of strings).
pub const UNPARSED_TRAILING: &str = "unparsed_trailing";

/// The location of one field's value inside a record (quotes and brackets excluded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// Offset of the value's first byte.
    pub start: usize,
    /// Offset one past the value's last byte.
    pub end: usize,
    /// Whether the field was double-quoted (or bracketed) in the record.
    pub quoted: bool,
}

impl Span {
    /// The span as a byte range.
    #[inline]
    pub fn range(&self) -> Range<usize> {
        self.start..self.end
    }

    /// The value's bytes within `buf` (empty if the span does not fit, which cannot happen for
    /// spans produced by a [`Tokenizer`] over the same buffer).
    #[inline]
    pub fn bytes<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        buf.get(self.start..self.end).unwrap_or(&[])
    }
}

/// A tokenizer failure: where and what.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenError {
    /// Byte offset of the field that could not be delimited.
    pub offset: usize,
    /// What is wrong.
    pub message: &'static str,
}

/// Length of `buf` once trailing line terminators (`\r`, `\n`) and the given padding bytes are
/// removed.
#[inline]
pub fn trimmed_end(buf: &[u8], padding: &[u8]) -> usize {
    let mut end = buf.len();
    while end > 0 {
        match buf.get(end - 1) {
            Some(b'\r' | b'\n') => end -= 1,
            Some(b) if padding.contains(b) => end -= 1,
            _ => break,
        }
    }
    end
}

/// Splits a space-delimited record into fields, left to right, without allocating.
#[derive(Clone, Debug)]
pub struct Tokenizer<'a> {
    buf: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> Tokenizer<'a> {
    /// A tokenizer over one record; trailing `\r`, `\n` and spaces are ignored.
    #[inline]
    pub fn new(buf: &'a [u8]) -> Self {
        let end = trimmed_end(buf, b" ");
        Self { buf, pos: 0, end }
    }

    /// Offset one past the last significant byte of the record.
    #[inline]
    pub fn end(&self) -> usize {
        self.end
    }

    #[inline]
    fn line(&self) -> &'a [u8] {
        self.buf.get(..self.end).unwrap_or(self.buf)
    }

    #[inline]
    fn skip_spaces(&mut self) {
        let line = self.line();
        while self.pos < self.end && line.get(self.pos) == Some(&b' ') {
            self.pos += 1;
        }
    }

    /// The next field, `None` at the end of the record. A quoted field yields its content
    /// without the quotes; an opening quote without a closing one is an error.
    #[inline]
    pub fn next_field(&mut self) -> Result<Option<Span>, TokenError> {
        self.skip_spaces();
        if self.pos >= self.end {
            return Ok(None);
        }
        let line = self.line();
        let start = self.pos;
        if line.get(start) == Some(&b'"') {
            return self.closing(start, b'"', "unterminated quoted field");
        }
        let rest = line.get(start..).unwrap_or(&[]);
        let stop = memchr::memchr(b' ', rest).map_or(self.end, |k| start + k);
        self.pos = stop;
        Ok(Some(Span {
            start,
            end: stop,
            quoted: false,
        }))
    }

    /// The next run of non-space bytes, `None` at the end of the record; quotes have no special
    /// meaning (for formats whose values are never quoted, like VPC Flow Logs).
    #[inline]
    pub fn next_plain(&mut self) -> Option<Span> {
        self.skip_spaces();
        if self.pos >= self.end {
            return None;
        }
        let start = self.pos;
        let rest = self.line().get(start..).unwrap_or(&[]);
        let stop = memchr::memchr(b' ', rest).map_or(self.end, |k| start + k);
        self.pos = stop;
        Some(Span {
            start,
            end: stop,
            quoted: false,
        })
    }

    /// Like [`Tokenizer::next_field`], but a field opening with `[` runs to the `]` that is followed
    /// by a space or the end of the record, spaces included (S3's `[06/Feb/2019:00:00:38 +0000]`).
    #[inline]
    pub fn next_bracketed(&mut self) -> Result<Option<Span>, TokenError> {
        self.skip_spaces();
        if self.pos < self.end && self.line().get(self.pos) == Some(&b'[') {
            return self.closing(self.pos, b']', "unterminated bracketed field");
        }
        self.next_field()
    }

    /// Finds the `close` byte that ends a field opened at `start`.
    #[inline]
    fn closing(
        &mut self,
        start: usize,
        close: u8,
        message: &'static str,
    ) -> Result<Option<Span>, TokenError> {
        let line = self.line();
        let mut i = start + 1;
        loop {
            let rest = line.get(i..).unwrap_or(&[]);
            let Some(k) = memchr::memchr(close, rest) else {
                return Err(TokenError {
                    offset: start,
                    message,
                });
            };
            let q = i + k;
            match line.get(q + 1) {
                None | Some(b' ') => {
                    self.pos = q + 1;
                    return Ok(Some(Span {
                        start: start + 1,
                        end: q,
                        quoted: true,
                    }));
                }
                Some(_) => i = q + 1,
            }
        }
    }

    /// The unread rest of the record (leading spaces skipped), and moves to its end.
    #[inline]
    pub fn take_rest(&mut self) -> Span {
        self.skip_spaces();
        let span = Span {
            start: self.pos.min(self.end),
            end: self.end,
            quoted: false,
        };
        self.pos = self.end;
        span
    }
}

/// Declares a stateless parser for a space-delimited format from its field table: the struct, its
/// `parse_record`, and its [`RecordParser`](super::RecordParser) impl. Each format module then holds
/// only what differs: its fields and how many are mandatory.
macro_rules! spaced_parser {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default)]
        pub struct $name;

        impl $name {
            /// Parses one record (the [`RecordParser`](crate::formats::RecordParser) form appends it
            /// to a vector).
            pub fn parse_to_record(
                &self,
                record: &bytes::Bytes,
            ) -> Result<weir_core::fields::Record, crate::formats::ParseError> {
                static LAYOUT: std::sync::OnceLock<crate::formats::delimited::SpecLayout> =
                    std::sync::OnceLock::new();
                let layout =
                    LAYOUT.get_or_init(|| crate::formats::delimited::SpecLayout::new(FIELDS, LOG_TYPE));
                crate::formats::delimited::parse_spaced(LOG_TYPE, layout, MANDATORY, record)
            }

            /// Parses one record into a map.
            pub fn parse_record(
                &self,
                record: &bytes::Bytes,
            ) -> Result<vrl::value::ObjectMap, crate::formats::ParseError> {
                self.parse_to_record(record).map(weir_core::fields::Record::into_map)
            }
        }

        impl crate::formats::RecordParser for $name {
            fn log_type(&self) -> &'static str {
                LOG_TYPE
            }

            fn parse_fields(
                &mut self,
                record: &bytes::Bytes,
                out: &mut Vec<weir_core::fields::Fields>,
            ) -> Result<(), crate::formats::ParseError> {
                out.push(self.parse_to_record(record)?.into());
                Ok(())
            }

            fn parse(
                &mut self,
                record: &bytes::Bytes,
                out: &mut Vec<vrl::value::ObjectMap>,
            ) -> Result<(), crate::formats::ParseError> {
                out.push(self.parse_record(record)?);
                Ok(())
            }
        }
    };
}
pub(crate) use spaced_parser;
