//! Shared building blocks for the space- and tab-delimited AWS access-log parsers (ALB, Classic
//! ELB, NLB, S3 server access, VPC Flow, CloudFront, Route 53 query logs).
//!
//! * [`Tokenizer`]: splits a space-delimited record into fields. A field is either a run of
//!   non-space bytes or a double-quoted string that may contain spaces; a quoted field ends at a
//!   `"` that is followed by a space or by the end of the record (so quotes inside a value, as in
//!   `"h2","http/1.1"`, do not end it). Runs of spaces count as one separator, and trailing spaces
//!   and line terminators are ignored. S3's bracketed time (`[06/Feb/2019:00:00:38 +0000]`) is read
//!   with [`Tokenizer::next_bracketed`].
//! * Value helpers: [`is_absent`] (`-`, `"-"` and empty mean "no value"), [`parse_int`],
//!   [`parse_float`], [`parse_iso8601`], [`parse_clf_time`], [`parse_date_time`],
//!   [`split_host_port`], [`split_request`], [`percent_decode`], [`slice`].
//!
//! Nothing here indexes or slices input out of bounds or unwraps input data: every access goes
//! through `get`, so any byte string is safe to feed in.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, NaiveDate, Utc};
use ordered_float::NotNan;
use vrl::value::{KeyString, Value};

use weir_core::fields::{Record, Schema};

use super::ParseError;

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
    pub fn range(&self) -> Range<usize> {
        self.start..self.end
    }

    /// The value's bytes within `buf` (empty if the span does not fit, which cannot happen for
    /// spans produced by a [`Tokenizer`] over the same buffer).
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
    pub fn new(buf: &'a [u8]) -> Self {
        let end = trimmed_end(buf, b" ");
        Self { buf, pos: 0, end }
    }

    /// Offset one past the last significant byte of the record.
    pub fn end(&self) -> usize {
        self.end
    }

    fn line(&self) -> &'a [u8] {
        self.buf.get(..self.end).unwrap_or(self.buf)
    }

    fn skip_spaces(&mut self) {
        let line = self.line();
        while self.pos < self.end && line.get(self.pos) == Some(&b' ') {
            self.pos += 1;
        }
    }

    /// The next field, `None` at the end of the record. A quoted field yields its content
    /// without the quotes; an opening quote without a closing one is an error.
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
    pub fn next_bracketed(&mut self) -> Result<Option<Span>, TokenError> {
        self.skip_spaces();
        if self.pos < self.end && self.line().get(self.pos) == Some(&b'[') {
            return self.closing(self.pos, b']', "unterminated bracketed field");
        }
        self.next_field()
    }

    /// Finds the `close` byte that ends a field opened at `start`.
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

/// Whether a field value means "no value": empty, or a lone `-`.
#[inline]
pub fn is_absent(value: &[u8]) -> bool {
    value.is_empty() || value == b"-"
}

/// A zero-copy slice of `record` (empty if `span` does not fit).
#[inline]
pub fn slice(record: &Bytes, span: Span) -> Bytes {
    if span.start <= span.end && span.end <= record.len() {
        record.slice(span.start..span.end)
    } else {
        Bytes::new()
    }
}

/// Parses a decimal integer with an optional leading `-` or `+`; `None` if it is anything else
/// or overflows `i64`.
pub fn parse_int(value: &[u8]) -> Option<i64> {
    let (negative, digits) = match value.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, value),
    };
    if digits.is_empty() {
        return None;
    }
    let mut n: i64 = 0;
    for &b in digits {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n.checked_mul(10)?;
        n = if negative {
            n.checked_sub(i64::from(d))?
        } else {
            n.checked_add(i64::from(d))?
        };
    }
    Some(n)
}

/// Parses a finite decimal float (`0.000`, `-1`, `1e-3`); `None` for anything else, including
/// `NaN` and infinities.
pub fn parse_float(value: &[u8]) -> Option<NotNan<f64>> {
    // Only digits, sign, point and exponent are accepted (Rust's parser would also take `inf`).
    if value.is_empty()
        || !value
            .iter()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
    {
        return None;
    }
    let text = std::str::from_utf8(value).ok()?;
    let f: f64 = text.parse().ok()?;
    if !f.is_finite() {
        return None;
    }
    NotNan::new(f).ok()
}

/// `n` ASCII digits at `at` as a number.
fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let mut v: u32 = 0;
    for i in at..at + n {
        let d = b.get(i)?.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + u32::from(d);
    }
    Some(v)
}

fn expect(b: &[u8], at: usize, c: u8) -> Option<()> {
    (b.get(at) == Some(&c)).then_some(())
}

/// Builds an instant from UTC calendar fields; `offset_secs` is subtracted (local = UTC + offset).
fn instant(
    (y, mo, d): (i32, u32, u32),
    (h, mi, s, nanos): (u32, u32, u32, u32),
    offset_secs: i64,
) -> Option<DateTime<Utc>> {
    let naive = NaiveDate::from_ymd_opt(y, mo, d)?.and_hms_nano_opt(h, mi, s, nanos)?;
    let utc = naive.and_utc();
    if offset_secs == 0 {
        Some(utc)
    } else {
        utc.checked_sub_signed(chrono::TimeDelta::try_seconds(offset_secs)?)
    }
}

/// Reads `.fraction` at `at` (1 or more digits, nanosecond precision kept); returns nanos and the
/// offset after it.
fn fraction(b: &[u8], mut at: usize) -> Option<(u32, usize)> {
    if b.get(at) != Some(&b'.') {
        return Some((0, at));
    }
    at += 1;
    let mut nanos: u32 = 0;
    let mut scale: u32 = 100_000_000;
    let first = at;
    while let Some(&c) = b.get(at) {
        if !c.is_ascii_digit() {
            break;
        }
        nanos += u32::from(c - b'0') * scale;
        scale /= 10;
        at += 1;
    }
    (at > first).then_some((nanos, at))
}

/// Reads a `Z`, `±HH:MM`, `±HHMM` or nothing at `at`, which must then be the end; the offset in
/// seconds.
fn zone(b: &[u8], at: usize) -> Option<i64> {
    match b.get(at) {
        None => Some(0),
        Some(b'Z' | b'z') if at + 1 == b.len() => Some(0),
        Some(&sign @ (b'+' | b'-')) => {
            let hh = digits(b, at + 1, 2)?;
            let (mm, end) = if b.get(at + 3) == Some(&b':') {
                (digits(b, at + 4, 2)?, at + 6)
            } else {
                (digits(b, at + 3, 2)?, at + 5)
            };
            if end != b.len() || hh > 23 || mm > 59 {
                return None;
            }
            let secs = i64::from(hh * 3600 + mm * 60);
            Some(if sign == b'-' { -secs } else { secs })
        }
        Some(_) => None,
    }
}

/// Parses ISO-8601 `YYYY-MM-DDTHH:MM:SS[.fraction][Z|±HH:MM]` (a space may replace the `T`; no
/// zone means UTC).
pub fn parse_iso8601(b: &[u8]) -> Option<DateTime<Utc>> {
    let y = digits(b, 0, 4)?;
    expect(b, 4, b'-')?;
    let mo = digits(b, 5, 2)?;
    expect(b, 7, b'-')?;
    let d = digits(b, 8, 2)?;
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let h = digits(b, 11, 2)?;
    expect(b, 13, b':')?;
    let mi = digits(b, 14, 2)?;
    expect(b, 16, b':')?;
    let s = digits(b, 17, 2)?;
    let (nanos, at) = fraction(b, 19)?;
    let offset = zone(b, at)?;
    instant((y as i32, mo, d), (h, mi, s, nanos), offset)
}

fn month(b: &[u8]) -> Option<u32> {
    let m = match b {
        b"Jan" => 1,
        b"Feb" => 2,
        b"Mar" => 3,
        b"Apr" => 4,
        b"May" => 5,
        b"Jun" => 6,
        b"Jul" => 7,
        b"Aug" => 8,
        b"Sep" => 9,
        b"Oct" => 10,
        b"Nov" => 11,
        b"Dec" => 12,
        _ => return None,
    };
    Some(m)
}

/// Parses the Common Log Format time `06/Feb/2019:00:00:38 +0000` (without brackets).
pub fn parse_clf_time(b: &[u8]) -> Option<DateTime<Utc>> {
    let d = digits(b, 0, 2)?;
    expect(b, 2, b'/')?;
    let mo = month(b.get(3..6)?)?;
    expect(b, 6, b'/')?;
    let y = digits(b, 7, 4)?;
    expect(b, 11, b':')?;
    let h = digits(b, 12, 2)?;
    expect(b, 14, b':')?;
    let mi = digits(b, 15, 2)?;
    expect(b, 17, b':')?;
    let s = digits(b, 18, 2)?;
    let (nanos, mut at) = fraction(b, 20)?;
    let offset = if at == b.len() {
        0
    } else {
        expect(b, at, b' ')?;
        at += 1;
        zone(b, at)?
    };
    instant((y as i32, mo, d), (h, mi, s, nanos), offset)
}

/// Parses a separate UTC date `YYYY-MM-DD` and time `HH:MM:SS[.fraction]` (CloudFront).
pub fn parse_date_time(date: &[u8], time: &[u8]) -> Option<DateTime<Utc>> {
    if date.len() != 10 {
        return None;
    }
    let y = digits(date, 0, 4)?;
    expect(date, 4, b'-')?;
    let mo = digits(date, 5, 2)?;
    expect(date, 7, b'-')?;
    let d = digits(date, 8, 2)?;
    let h = digits(time, 0, 2)?;
    expect(time, 2, b':')?;
    let mi = digits(time, 3, 2)?;
    expect(time, 5, b':')?;
    let s = digits(time, 6, 2)?;
    let (nanos, at) = fraction(time, 8)?;
    if at != time.len() {
        return None;
    }
    instant((y as i32, mo, d), (h, mi, s, nanos), 0)
}

/// An instant from Unix seconds.
pub fn from_unix_seconds(secs: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(secs, 0)
}

/// Splits `addr:port` on the **last** colon; `[v6]:port` loses its brackets. Returns the address
/// range and, when there is a port part, the port range, both relative to `value`. A value with
/// no colon (or a bare bracketed address) has no port.
pub fn split_host_port(value: &[u8]) -> (Range<usize>, Option<Range<usize>>) {
    if value.first() == Some(&b'[') {
        if let Some(close) = memchr::memrchr(b']', value) {
            let port = match value.get(close + 1) {
                Some(b':') => Some(close + 2..value.len()),
                _ => None,
            };
            return (1..close, port);
        }
    }
    match memchr::memrchr(b':', value) {
        Some(colon) => (0..colon, Some(colon + 1..value.len())),
        None => (0..value.len(), None),
    }
}

/// Splits an HTTP request line `METHOD URL PROTOCOL` (relative ranges): the method is up to the
/// first space, the protocol after the last space, the URL in between (so a URL with spaces stays
/// whole). Trailing spaces are ignored; with one space there is no protocol, with none the whole
/// value is the URL.
pub fn split_request(value: &[u8]) -> [Option<Range<usize>>; 3] {
    let end = trimmed_end(value, b" ");
    let line = value.get(..end).unwrap_or(&[]);
    let Some(first) = memchr::memchr(b' ', line) else {
        return [None, (end > 0).then_some(0..end), None];
    };
    let method = Some(0..first);
    // Skip the run of spaces after the method.
    let mut url_start = first;
    while line.get(url_start) == Some(&b' ') {
        url_start += 1;
    }
    match memchr::memrchr(b' ', line) {
        Some(last) if last >= url_start => {
            let mut url_end = last;
            while url_end > url_start && line.get(url_end - 1) == Some(&b' ') {
                url_end -= 1;
            }
            [method, Some(url_start..url_end), Some(last + 1..end)]
        }
        _ => [method, Some(url_start..end), None],
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes `%XX` escapes (and `+` as a space when `plus_as_space`). Returns `None` when `value`
/// has nothing to decode, so callers can keep a zero-copy slice. Malformed escapes (`%zz`, a `%`
/// at the end) are kept literally. The result may not be UTF-8.
pub fn percent_decode(value: &[u8], plus_as_space: bool) -> Option<Vec<u8>> {
    let needs = if plus_as_space {
        memchr::memchr2(b'%', b'+', value)
    } else {
        memchr::memchr(b'%', value)
    }?;
    let mut out = Vec::with_capacity(value.len());
    out.extend_from_slice(value.get(..needs).unwrap_or(&[]));
    let mut i = needs;
    while let Some(&b) = value.get(i) {
        match b {
            b'%' => {
                let decoded = value
                    .get(i + 1)
                    .and_then(|&h| hex(h))
                    .zip(value.get(i + 2).and_then(|&l| hex(l)));
                if let Some((h, l)) = decoded {
                    out.push(h << 4 | l);
                    i += 3;
                } else {
                    out.push(b'%');
                    i += 1;
                }
            }
            b'+' if plus_as_space => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    Some(out)
}

/// A string value: the zero-copy slice, or its percent-decoded copy when it has escapes.
pub fn decoded_value(record: &Bytes, span: Span, plus_as_space: bool) -> Value {
    match percent_decode(span.bytes(record), plus_as_space) {
        Some(decoded) => Value::Bytes(Bytes::from(decoded)),
        None => Value::Bytes(slice(record, span)),
    }
}

/// A short, printable excerpt of a bad value for error messages.
pub fn excerpt(value: &[u8]) -> String {
    const MAX: usize = 40;
    let cut = value.get(..MAX).unwrap_or(value);
    let mut s = String::from_utf8_lossy(cut).into_owned();
    if value.len() > MAX {
        s.push('…');
    }
    s
}

/// How a space-delimited field is turned into output fields (see [`parse_spaced`]).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Kind {
    /// A string, zero-copy.
    Str,
    /// An `i64`.
    Int,
    /// A finite `f64`.
    Float,
    /// An ISO-8601 time.
    Time,
    /// A bracketed CLF time (`[06/Feb/2019:00:00:38 +0000]`).
    BracketTime,
    /// `addr:port`, split into an address string and an integer port under the given names.
    Endpoint {
        ip: &'static str,
        port: &'static str,
    },
    /// An HTTP request line: kept raw under the field name and split into method, URL, protocol.
    Request {
        method: &'static str,
        url: &'static str,
        protocol: &'static str,
    },
    /// A space-separated list of strings.
    StrList,
    /// A space-separated list of integers (`-` elements become null).
    IntList,
    /// A comma-separated list of double-quoted strings (`"h2","http/1.1"`).
    QuotedCommaList,
    /// A URL-encoded string (`%XX`, `+` as space), decoded.
    UrlDecoded,
}

/// One positional field of a space-delimited format.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FieldSpec {
    /// Output name (AWS's name in snake_case).
    pub name: &'static str,
    /// How to convert it.
    pub kind: Kind,
}

/// Shorthand for a [`FieldSpec`].
pub(crate) const fn spec(name: &'static str, kind: Kind) -> FieldSpec {
    FieldSpec { name, kind }
}

/// Error for a field value that does not convert.
pub(crate) fn bad_value(
    format: &'static str,
    field: &str,
    span: Span,
    record: &[u8],
    what: &str,
) -> ParseError {
    ParseError::new(
        format,
        field,
        span.start,
        format!("expected {what}, found `{}`", excerpt(span.bytes(record))),
    )
}

/// The output fields of a positional format, precomputed once: every spec's output slots and the
/// layout (schema) they fill.
#[derive(Debug)]
pub(crate) struct SpecLayout {
    specs: &'static [FieldSpec],
    /// Per spec, the slots of its outputs: name (or address), port/method, URL, protocol.
    slots: Vec<[usize; 4]>,
    trailing: usize,
    layout: Layout,
}

impl SpecLayout {
    /// The layout of `specs`, for records of `log_type`.
    pub(crate) fn new(specs: &'static [FieldSpec], log_type: &'static str) -> Self {
        let mut keys: Vec<&'static str> = Vec::new();
        let mut slots = Vec::with_capacity(specs.len());
        let mut add = |k: &'static str| {
            keys.push(k);
            keys.len() - 1
        };
        for spec in specs {
            let s = match spec.kind {
                Kind::Endpoint { ip, port } => [add(ip), add(port), usize::MAX, usize::MAX],
                Kind::Request {
                    method,
                    url,
                    protocol,
                } => [add(spec.name), add(method), add(url), add(protocol)],
                _ => [add(spec.name), usize::MAX, usize::MAX, usize::MAX],
            };
            slots.push(s);
        }
        let trailing = add(UNPARSED_TRAILING);
        Self {
            specs,
            slots,
            trailing,
            layout: Layout::new(keys.into_iter().map(KeyString::from).collect(), log_type),
        }
    }
}

/// Where one spec's outputs go.
pub(crate) struct SpecOut<'a, 'l> {
    vals: &'a mut Slots<'l>,
    slots: [usize; 4],
}

impl SpecOut<'_, '_> {
    /// Sets output `i` of the spec (0: name or address, 1: port or method, 2: URL, 3: protocol).
    #[inline]
    fn set(&mut self, i: usize, value: Value) {
        if let Some(&slot) = self.slots.get(i) {
            self.vals.set(slot, value);
        }
    }
}

/// Output keys in production order and the shared [`Schema`] of the records built from them:
/// a record is its values, each written to its schema position; the names are not copied per record, and
/// `aws` (`{"log_type": …}`, the same in every record) is a constant of the schema.
#[derive(Clone, Debug)]
pub(crate) struct Layout {
    schema: Arc<Schema>,
    /// Per slot, the position of its key in the schema.
    positions: Vec<usize>,
}

impl Layout {
    /// A layout for keys produced in this order (slot `i` holds the value of `keys[i]`), for
    /// records of `log_type`.
    pub(crate) fn new(keys: Vec<KeyString>, log_type: &'static str) -> Self {
        let schema = Schema::new(keys.clone())
            .with_constant(KeyString::from(super::AWS), super::log_type_value(log_type));
        let positions = keys
            .iter()
            .map(|k| schema.position(k.as_str()).unwrap_or(usize::MAX))
            .collect();
        Self {
            schema: Arc::new(schema),
            positions,
        }
    }

    /// An empty record to fill slot by slot.
    pub(crate) fn slots(&self) -> Slots<'_> {
        Slots {
            layout: self,
            values: vec![None; self.schema.keys().len()],
        }
    }
}

/// A record being filled by slot (production order), each value written straight to its schema
/// position. Of slots with the same key, the last one set wins.
pub(crate) struct Slots<'a> {
    layout: &'a Layout,
    values: Vec<Option<Value>>,
}

impl Slots<'_> {
    /// Sets slot `slot`.
    #[inline]
    pub(crate) fn set(&mut self, slot: usize, value: Value) {
        let position = self.layout.positions.get(slot);
        if let Some(target) = position.and_then(|&p| self.values.get_mut(p)) {
            *target = Some(value);
        }
    }

    /// The filled record.
    pub(crate) fn into_record(self) -> Record {
        Record::new(Arc::clone(&self.layout.schema), self.values)
    }
}

/// Parses a space-delimited record field by field against `layout`'s specs. The record must
/// have at least `mandatory` fields; later fields may be missing (older records); fields past
/// the specs go to [`UNPARSED_TRAILING`].
pub(crate) fn parse_spaced(
    format: &'static str,
    layout: &SpecLayout,
    mandatory: usize,
    record: &Bytes,
) -> Result<Record, ParseError> {
    let mut vals = layout.layout.slots();
    let mut tok = Tokenizer::new(record);
    for (i, (spec, slots)) in layout.specs.iter().zip(&layout.slots).enumerate() {
        let next = if matches!(spec.kind, Kind::BracketTime) {
            tok.next_bracketed()
        } else {
            tok.next_field()
        };
        match next {
            Ok(Some(span)) => {
                let mut out = SpecOut {
                    vals: &mut vals,
                    slots: *slots,
                };
                apply(format, spec, record, span, &mut out)?;
            }
            Ok(None) if i < mandatory => {
                let message = if i == 0 {
                    "empty record".to_owned()
                } else {
                    format!("record ends after {i} fields, at least {mandatory} are required")
                };
                return Err(ParseError::new(format, spec.name, tok.end(), message));
            }
            Ok(None) => return Ok(vals.into_record()),
            Err(e) => return Err(ParseError::new(format, spec.name, e.offset, e.message)),
        }
    }
    if let Some(trailing) = collect_trailing(&mut tok, record) {
        vals.set(layout.trailing, trailing);
    }
    Ok(vals.into_record())
}

/// The remaining fields of `tok` as an array value for [`UNPARSED_TRAILING`] (`None` if there
/// are none). A field that cannot be delimited ends the list with the raw rest of the record:
/// never an error.
pub(crate) fn collect_trailing(tok: &mut Tokenizer<'_>, record: &Bytes) -> Option<Value> {
    let mut trailing = Vec::new();
    loop {
        let mut probe = tok.clone();
        match probe.next_field() {
            Ok(Some(span)) => {
                trailing.push(Value::Bytes(slice(record, span)));
                *tok = probe;
            }
            Ok(None) => break,
            Err(_) => {
                trailing.push(Value::Bytes(slice(record, tok.take_rest())));
                break;
            }
        }
    }
    (!trailing.is_empty()).then_some(Value::Array(trailing))
}

fn int_value(
    format: &'static str,
    field: &str,
    span: Span,
    record: &[u8],
) -> Result<Value, ParseError> {
    parse_int(span.bytes(record))
        .map(Value::Integer)
        .ok_or_else(|| bad_value(format, field, span, record, "an integer"))
}

/// Converts one field per its [`Kind`] and inserts the result.
fn apply(
    format: &'static str,
    spec: &FieldSpec,
    record: &Bytes,
    span: Span,
    out: &mut SpecOut<'_, '_>,
) -> Result<(), ParseError> {
    let raw = span.bytes(record);
    if is_absent(raw) {
        return Ok(());
    }
    let name = spec.name;
    match spec.kind {
        Kind::Str => out.set(0, Value::Bytes(slice(record, span))),
        Kind::Int => out.set(0, int_value(format, name, span, record)?),
        Kind::Float => {
            let f = parse_float(raw)
                .ok_or_else(|| bad_value(format, name, span, record, "a number"))?;
            out.set(0, Value::Float(f));
        }
        Kind::Time => {
            let t = parse_iso8601(raw)
                .ok_or_else(|| bad_value(format, name, span, record, "an ISO-8601 time"))?;
            out.set(0, Value::Timestamp(t));
        }
        Kind::BracketTime => {
            let t = parse_clf_time(raw).ok_or_else(|| {
                bad_value(
                    format,
                    name,
                    span,
                    record,
                    "a time like [06/Feb/2019:00:00:38 +0000]",
                )
            })?;
            out.set(0, Value::Timestamp(t));
        }
        Kind::Endpoint { port, .. } => {
            let (addr, port_range) = split_host_port(raw);
            let sub = |r: Range<usize>| Span {
                start: span.start + r.start,
                end: span.start + r.end,
                quoted: false,
            };
            let addr = sub(addr);
            if !is_absent(addr.bytes(record)) {
                out.set(0, Value::Bytes(slice(record, addr)));
            }
            if let Some(p) = port_range.map(sub) {
                if !is_absent(p.bytes(record)) {
                    out.set(1, int_value(format, port, p, record)?);
                }
            }
        }
        Kind::Request { .. } => {
            // `"- - - "` (TCP listeners) carries no request at all.
            if raw.iter().all(|&b| b == b'-' || b == b' ') {
                return Ok(());
            }
            out.set(0, Value::Bytes(slice(record, span)));
            for (slot, part) in (1..).zip(split_request(raw)) {
                if let Some(r) = part {
                    let part = Span {
                        start: span.start + r.start,
                        end: span.start + r.end,
                        quoted: false,
                    };
                    if !is_absent(part.bytes(record)) {
                        out.set(slot, Value::Bytes(slice(record, part)));
                    }
                }
            }
        }
        Kind::StrList | Kind::IntList => {
            let mut items = Vec::new();
            let mut tok = Tokenizer::new(raw);
            while let Ok(Some(item)) = tok.next_field() {
                let item = Span {
                    start: span.start + item.start,
                    end: span.start + item.end,
                    quoted: false,
                };
                let bytes = item.bytes(record);
                let value = match spec.kind {
                    Kind::IntList if is_absent(bytes) => Value::Null,
                    Kind::IntList => int_value(format, name, item, record)?,
                    _ => Value::Bytes(slice(record, item)),
                };
                items.push(value);
            }
            out.set(0, Value::Array(items));
        }
        Kind::QuotedCommaList => {
            // Put back the outer quotes the tokenizer removed (`"h2","http/1.1"`), then split on
            // commas and unquote each element; unquoted lists (`h2,http/1.1`) work the same way.
            let whole = if span.quoted {
                Span {
                    start: span.start.saturating_sub(1),
                    end: span.end + 1,
                    quoted: false,
                }
            } else {
                span
            };
            let mut items = Vec::new();
            let mut s = whole.start;
            for part in whole.bytes(record).split(|&b| b == b',') {
                let item = strip_quotes(
                    Span {
                        start: s,
                        end: s + part.len(),
                        quoted: false,
                    },
                    record,
                );
                items.push(Value::Bytes(slice(record, item)));
                s += part.len() + 1;
            }
            out.set(0, Value::Array(items));
        }
        Kind::UrlDecoded => out.set(0, decoded_value(record, span, true)),
    }
    Ok(())
}

/// Removes one pair of surrounding double quotes, if present.
fn strip_quotes(mut span: Span, record: &[u8]) -> Span {
    let b = span.bytes(record);
    if b.len() >= 2 && b.first() == Some(&b'"') && b.last() == Some(&b'"') {
        span.start += 1;
        span.end -= 1;
    }
    span
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
            /// Parses one record (the [`RecordParser`](crate::aws::RecordParser) form appends it
            /// to a vector).
            pub fn parse_to_record(
                &self,
                record: &bytes::Bytes,
            ) -> Result<weir_core::fields::Record, crate::aws::ParseError> {
                static LAYOUT: std::sync::OnceLock<crate::aws::fields::SpecLayout> =
                    std::sync::OnceLock::new();
                let layout =
                    LAYOUT.get_or_init(|| crate::aws::fields::SpecLayout::new(FIELDS, LOG_TYPE));
                crate::aws::fields::parse_spaced(LOG_TYPE, layout, MANDATORY, record)
            }

            /// Parses one record into a map.
            pub fn parse_record(
                &self,
                record: &bytes::Bytes,
            ) -> Result<vrl::value::ObjectMap, crate::aws::ParseError> {
                self.parse_to_record(record).map(weir_core::fields::Record::into_map)
            }
        }

        impl crate::aws::RecordParser for $name {
            fn log_type(&self) -> &'static str {
                LOG_TYPE
            }

            fn parse_fields(
                &mut self,
                record: &bytes::Bytes,
                out: &mut Vec<weir_core::fields::Fields>,
            ) -> Result<(), crate::aws::ParseError> {
                out.push(self.parse_to_record(record)?.into());
                Ok(())
            }

            fn parse(
                &mut self,
                record: &bytes::Bytes,
                out: &mut Vec<vrl::value::ObjectMap>,
            ) -> Result<(), crate::aws::ParseError> {
                out.push(self.parse_record(record)?);
                Ok(())
            }
        }
    };
}
pub(crate) use spaced_parser;

/// Test helpers shared by the format modules' tests.
#[cfg(test)]
pub(crate) mod test_support {
    use std::path::{Path, PathBuf};

    use bytes::Bytes;
    use vrl::value::{ObjectMap, Value};

    use crate::aws::{ParseError, RecordParser};

    /// `shared/corpus`, located from the crate's manifest directory.
    pub fn corpus_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus")
    }

    /// All files under `corpus/<sub>` (recursively) whose name ends with `suffix`, sorted. Panics
    /// if the folder is missing or holds none, so a missing corpus cannot pass silently.
    pub fn corpus_files(sub: &str, suffix: &str) -> Vec<PathBuf> {
        fn walk(dir: &Path, suffix: &str, out: &mut Vec<PathBuf>) {
            let entries = std::fs::read_dir(dir)
                .unwrap_or_else(|e| panic!("cannot read corpus folder {}: {e}", dir.display()));
            for entry in entries {
                let path = entry.expect("dir entry").path();
                if path.is_dir() {
                    walk(&path, suffix, out);
                } else if path.to_string_lossy().ends_with(suffix) {
                    out.push(path);
                }
            }
        }
        let mut out = Vec::new();
        walk(&corpus_dir().join(sub), suffix, &mut out);
        out.sort();
        assert!(!out.is_empty(), "no `{suffix}` files under corpus/{sub}");
        out
    }

    /// The non-empty lines of a file, each as its own `Bytes`.
    pub fn lines(path: &Path) -> Vec<Bytes> {
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        data.split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(Bytes::copy_from_slice)
            .collect()
    }

    /// Feeds every line of `path` to `parser`, panicking on the first error; returns the records.
    pub fn parse_file(parser: &mut dyn RecordParser, path: &Path) -> Vec<ObjectMap> {
        let mut out = Vec::new();
        for (n, line) in lines(path).iter().enumerate() {
            parser.parse(line, &mut out).unwrap_or_else(|e| {
                panic!("{} line {}: {e}", path.display(), n + 1);
            });
        }
        out
    }

    /// Parses one record with a fresh result vector.
    pub fn parse_one(
        parser: &mut dyn RecordParser,
        line: &[u8],
    ) -> Result<Vec<ObjectMap>, ParseError> {
        let mut out = Vec::new();
        parser.parse(&Bytes::copy_from_slice(line), &mut out)?;
        Ok(out)
    }

    /// Asserts that a parse result is either success or a well-formed error for `format` whose
    /// offset lies within the record.
    pub fn assert_sane(format: &str, line: &[u8], result: &Result<Vec<ObjectMap>, ParseError>) {
        if let Err(e) = result {
            assert_eq!(e.format, format, "{e}");
            assert!(!e.field.is_empty(), "{e}");
            assert!(!e.message.is_empty(), "{e}");
            assert!(
                e.offset <= line.len(),
                "offset {} past record length {}: {e}",
                e.offset,
                line.len()
            );
        }
    }

    /// Runs `make()`'s parser over every prefix of `line`, over `line` with each byte in turn
    /// replaced by invalid UTF-8, a quote, a space and a `-`, and checks that nothing panics
    /// and every error is well formed.
    pub fn hammer(format: &str, make: &dyn Fn() -> Box<dyn RecordParser>, line: &[u8]) {
        for cut in 0..=line.len() {
            let prefix = line.get(..cut).unwrap_or(line);
            let r = parse_one(&mut *make(), prefix);
            assert_sane(format, prefix, &r);
        }
        for i in 0..line.len() {
            for b in [0xff_u8, b'"', b' ', b'-', b'[', b':', 0] {
                let mut v = line.to_vec();
                v[i] = b;
                let r = parse_one(&mut *make(), &v);
                assert_sane(format, &v, &r);
            }
        }
    }

    /// A string value's bytes (panics on other types).
    pub fn bytes_of(v: &Value) -> &[u8] {
        match v {
            Value::Bytes(b) => b,
            other => panic!("expected a string, got {other:?}"),
        }
    }

    /// How an expected (VRL or other reference) field relates to Weir's output.
    #[derive(Clone, Copy, Debug)]
    pub enum Map {
        /// Same value and type under the given Weir name (JSON null ↔ field absent).
        Same(&'static str),
        /// Reference has the number as a string (`"200"`); Weir has an integer.
        IntFromString(&'static str),
        /// Reference has an RFC 3339 string; Weir has a timestamp: compared as instants.
        Instant(&'static str),
        /// Reference has epoch seconds (number); Weir has a timestamp: compared as instants.
        InstantFromEpoch(&'static str),
        /// Reference has `"addr:port"`; Weir splits it into an address and an integer port.
        HostPort(&'static str, &'static str),
        /// Reference has a list of strings, `[]` when absent; Weir has the same list or no field.
        List(&'static str),
        /// Reference has a list of numeric strings, `[]` when absent; Weir has integers or no field.
        IntListFromStrings(&'static str),
        /// Not a field of the record (forwarder metadata): not compared.
        Ignore,
    }

    fn same(exp: &serde_json::Value, got: Option<&Value>) -> Result<(), String> {
        use serde_json::Value as J;
        match (exp, got) {
            (J::Null, None) => Ok(()),
            (J::String(s), Some(Value::Bytes(b))) if s.as_bytes() == &b[..] => Ok(()),
            (J::Bool(x), Some(Value::Boolean(y))) if x == y => Ok(()),
            (J::Number(n), Some(Value::Integer(i))) if n.as_i64() == Some(*i) => Ok(()),
            (J::Number(n), Some(Value::Float(f)))
                if n.is_f64()
                    && n.as_f64()
                        .is_some_and(|x| (x - f.into_inner()).abs() < 1e-9) =>
            {
                Ok(())
            }
            (J::Array(xs), Some(Value::Array(ys))) if xs.len() == ys.len() => {
                xs.iter().zip(ys).try_for_each(|(x, y)| same(x, Some(y)))
            }
            _ => Err(format!("expected {exp}, got {got:?}")),
        }
    }

    fn instant_of(exp: &serde_json::Value) -> Option<chrono::DateTime<chrono::Utc>> {
        match exp {
            serde_json::Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|d| d.to_utc()),
            _ => None,
        }
    }

    /// Compares `expected` (a flat JSON object) with `got` through the name map `map`. Every
    /// expected key must be in the map. Returns the number of fields compared.
    pub fn compare(expected: &serde_json::Value, got: &ObjectMap, map: &[(&str, Map)]) -> usize {
        let obj = expected
            .as_object()
            .expect("expected file is a JSON object");
        let mut compared = 0;
        for (key, exp) in obj {
            let rule = map
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, m)| *m)
                .unwrap_or_else(|| panic!("expected field `{key}` is not in the name map"));
            let res = match rule {
                Map::Ignore => continue,
                Map::Same(name) => same(exp, got.get(name)),
                Map::IntFromString(name) => match exp {
                    serde_json::Value::Null => same(exp, got.get(name)),
                    serde_json::Value::String(s) => {
                        let n: i64 = s.parse().expect("numeric string");
                        same(&serde_json::json!(n), got.get(name))
                    }
                    _ => Err(format!("unexpected reference type {exp}")),
                },
                Map::Instant(name) => match (exp, got.get(name)) {
                    (serde_json::Value::Null, None) => Ok(()),
                    (_, Some(Value::Timestamp(t))) if instant_of(exp) == Some(*t) => Ok(()),
                    (_, g) => Err(format!("expected instant {exp}, got {g:?}")),
                },
                Map::InstantFromEpoch(name) => match (exp.as_f64(), got.get(name)) {
                    (Some(secs), Some(Value::Timestamp(t)))
                        if (t.timestamp_micros() as f64 / 1e6 - secs).abs() < 1e-6 =>
                    {
                        Ok(())
                    }
                    (_, g) => Err(format!("expected epoch {exp}, got {g:?}")),
                },
                Map::HostPort(ip, port) => match exp {
                    serde_json::Value::Null => same(exp, got.get(ip)).and(same(exp, got.get(port))),
                    serde_json::Value::String(s) => {
                        let (a, p) = s.rsplit_once(':').expect("addr:port");
                        let a = a.trim_start_matches('[').trim_end_matches(']');
                        same(&serde_json::json!(a), got.get(ip)).and(same(
                            &serde_json::json!(p.parse::<i64>().expect("port")),
                            got.get(port),
                        ))
                    }
                    _ => Err(format!("unexpected reference type {exp}")),
                },
                Map::List(name) => match exp {
                    serde_json::Value::Array(a) if a.is_empty() => {
                        same(&serde_json::Value::Null, got.get(name))
                    }
                    _ => same(exp, got.get(name)),
                },
                Map::IntListFromStrings(name) => match exp {
                    serde_json::Value::Array(a) if a.is_empty() => {
                        same(&serde_json::Value::Null, got.get(name))
                    }
                    serde_json::Value::Array(a) => {
                        let ints: Vec<serde_json::Value> = a
                            .iter()
                            .map(|v| match v.as_str().and_then(|s| s.parse::<i64>().ok()) {
                                Some(n) => serde_json::json!(n),
                                None => serde_json::Value::Null,
                            })
                            .collect();
                        same(&serde_json::Value::Array(ints), got.get(name))
                    }
                    _ => Err(format!("unexpected reference type {exp}")),
                },
            };
            if let Err(e) = res {
                panic!("field `{key}` (rule {rule:?}): {e}");
            }
            compared += 1;
        }
        compared
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(line: &str) -> Vec<String> {
        let mut t = Tokenizer::new(line.as_bytes());
        let mut v = Vec::new();
        while let Some(s) = t.next_field().expect("tokenize") {
            v.push(String::from_utf8_lossy(s.bytes(line.as_bytes())).into_owned());
        }
        v
    }

    #[test]
    fn tokenizer_handles_quotes_and_spaces() {
        assert_eq!(fields(r#"a "b c" d"#), ["a", "b c", "d"]);
        assert_eq!(fields(r#"  a   b  "#), ["a", "b"]);
        assert_eq!(fields(r#""- - - " "-" x"#), ["- - - ", "-", "x"]);
        assert_eq!(fields(r#""h2","http/1.1" z"#), [r#"h2","http/1.1"#, "z"]);
        assert_eq!(fields("a b\r\n"), ["a", "b"]);
        assert_eq!(fields(r#""""#), [""]);
        assert!(fields("").is_empty());
        let mut t = Tokenizer::new(br#"a "unterminated"#);
        assert!(t.next_field().unwrap().is_some());
        assert_eq!(
            t.next_field(),
            Err(TokenError {
                offset: 2,
                message: "unterminated quoted field"
            })
        );
    }

    #[test]
    fn bracketed() {
        let line = b"x [06/Feb/2019:00:00:38 +0000] y";
        let mut t = Tokenizer::new(line);
        t.next_field().unwrap();
        let s = t.next_bracketed().unwrap().unwrap();
        assert_eq!(s.bytes(line), b"06/Feb/2019:00:00:38 +0000");
        assert_eq!(t.next_field().unwrap().unwrap().bytes(line), b"y");
        assert!(Tokenizer::new(b"[abc").next_bracketed().is_err());
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_int(b"123"), Some(123));
        assert_eq!(parse_int(b"-1"), Some(-1));
        assert_eq!(parse_int(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_int(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_int(b"9223372036854775808"), None);
        assert_eq!(parse_int(b""), None);
        assert_eq!(parse_int(b"-"), None);
        assert_eq!(parse_int(b"1a"), None);
        assert_eq!(parse_float(b"0.001").map(|f| f.into_inner()), Some(0.001));
        assert_eq!(parse_float(b"-1").map(|f| f.into_inner()), Some(-1.0));
        assert_eq!(parse_float(b"inf"), None);
        assert_eq!(parse_float(b"NaN"), None);
        assert_eq!(parse_float(b"1e999"), None);
        assert_eq!(parse_float(b"."), None);
    }

    #[test]
    fn times() {
        let t = parse_iso8601(b"2018-07-02T22:23:00.186641Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2018-07-02T22:23:00.186641+00:00");
        assert_eq!(
            parse_iso8601(b"2018-12-20T02:59:40").unwrap().to_rfc3339(),
            "2018-12-20T02:59:40+00:00"
        );
        assert_eq!(
            parse_iso8601(b"2018-12-20T02:59:40+02:00")
                .unwrap()
                .to_rfc3339(),
            "2018-12-20T00:59:40+00:00"
        );
        assert!(parse_iso8601(b"2018-13-20T02:59:40Z").is_none());
        assert!(parse_iso8601(b"2018-12-20T02:59:40Zx").is_none());
        assert!(parse_iso8601(b"2018-12-20T02:59:4").is_none());
        assert!(parse_iso8601(b"2018-12-20T02:59:40.Z").is_none());
        let t = parse_clf_time(b"06/Feb/2019:00:00:38 +0000").unwrap();
        assert_eq!(t.to_rfc3339(), "2019-02-06T00:00:38+00:00");
        let t = parse_clf_time(b"06/Feb/2019:00:00:38 -0130").unwrap();
        assert_eq!(t.to_rfc3339(), "2019-02-06T01:30:38+00:00");
        assert!(parse_clf_time(b"06/Fob/2019:00:00:38 +0000").is_none());
        let t = parse_date_time(b"2019-12-04", b"21:02:31").unwrap();
        assert_eq!(t.to_rfc3339(), "2019-12-04T21:02:31+00:00");
        assert!(parse_date_time(b"2019-12-04", b"21:02").is_none());
    }

    #[test]
    fn host_port() {
        fn hp(s: &str) -> (&str, Option<&str>) {
            let (a, p) = split_host_port(s.as_bytes());
            (&s[a], p.map(|p| &s[p]))
        }
        assert_eq!(hp("10.0.0.1:80"), ("10.0.0.1", Some("80")));
        assert_eq!(hp("[2001:db8::1]:443"), ("2001:db8::1", Some("443")));
        assert_eq!(hp("2001:db8::1:443"), ("2001:db8::1", Some("443")));
        assert_eq!(hp("[::1]"), ("::1", None));
        assert_eq!(hp("host"), ("host", None));
        assert_eq!(hp("[broken:1"), ("[broken", Some("1")));
    }

    #[test]
    fn request_line() {
        let rq = |s: &str| split_request(s.as_bytes()).map(|r| r.map(|r| s[r].to_owned()));
        let o = |s: &str| Some(s.to_owned());
        assert_eq!(
            rq("GET http://x/ HTTP/1.1"),
            [o("GET"), o("http://x/"), o("HTTP/1.1")]
        );
        assert_eq!(rq("- - - "), [o("-"), o("-"), o("-")]);
        assert_eq!(
            rq("- http://host:80- -"),
            [o("-"), o("http://host:80-"), o("-")]
        );
        assert_eq!(
            rq("GET /a b HTTP/1.1"),
            [o("GET"), o("/a b"), o("HTTP/1.1")]
        );
        assert_eq!(rq("GET /"), [o("GET"), o("/"), None]);
        assert_eq!(rq("x"), [None, o("x"), None]);
        assert_eq!(rq(""), [None, None, None]);
    }

    #[test]
    fn all_parsers_survive_pathological_lines() {
        use crate::aws::fields::test_support::{assert_sane, parse_one};
        use crate::aws::RecordParser;
        use crate::aws::{alb, cloudfront, elb_classic, nlb, route53, s3_access, vpc_flow};
        let huge = 1 << 20;
        let lines: Vec<Vec<u8>> = vec![
            vec![b'a'; huge],
            vec![b' '; huge],
            vec![b'"'; huge],
            vec![b'\t'; huge],
            vec![0xff; huge],
            b"\""
                .repeat(huge / 2)
                .iter()
                .chain(b" x")
                .copied()
                .collect(),
            b"- ".repeat(huge / 2),
            b"[".repeat(huge),
            b"#Fields: "
                .iter()
                .chain(b"x ".repeat(huge / 2).iter())
                .copied()
                .collect(),
            b"version ".repeat(huge / 8),
            b"1 ".repeat(huge / 2),
            b"%".repeat(huge),
        ];
        for line in &lines {
            let parsers: Vec<Box<dyn RecordParser>> = vec![
                Box::new(alb::AlbParser),
                Box::new(elb_classic::ElbClassicParser),
                Box::new(nlb::NlbParser),
                Box::new(s3_access::S3AccessParser),
                Box::new(route53::Route53QueryParser),
                Box::new(vpc_flow::VpcFlowParser::default()),
                Box::new(cloudfront::CloudFrontParser::default()),
            ];
            for mut p in parsers {
                let r = parse_one(&mut *p, line);
                assert_sane(p.log_type(), line, &r);
                // The parser stays usable afterwards.
                let _ = parse_one(&mut *p, b"x");
            }
        }
    }

    #[test]
    fn static_layouts_have_unique_keys() {
        use crate::aws::{alb, elb_classic, nlb, route53, s3_access};
        for specs in [
            alb::FIELDS,
            elb_classic::FIELDS,
            nlb::FIELDS,
            route53::FIELDS,
            s3_access::FIELDS,
        ] {
            let layout = SpecLayout::new(specs, "test");
            // Keys are unique (no slot's value is silently replaced by another's), and `aws`
            // is the one key no slot fills.
            assert_eq!(
                layout.layout.schema.keys().len(),
                layout.layout.positions.len() + 1,
                "{:?}",
                layout.layout.schema.keys()
            );
        }
    }

    #[test]
    fn decoding() {
        assert_eq!(percent_decode(b"abc", true), None);
        assert_eq!(percent_decode(b"a%20b+c", true).unwrap(), b"a b c");
        assert_eq!(percent_decode(b"a%20b+c", false).unwrap(), b"a b+c");
        assert_eq!(percent_decode(b"%2520", false).unwrap(), b"%20");
        assert_eq!(percent_decode(b"100%", false).unwrap(), b"100%");
        assert_eq!(percent_decode(b"%zz%4", false).unwrap(), b"%zz%4");
        assert_eq!(percent_decode(b"%ff", false).unwrap(), [0xff]);
    }
}
