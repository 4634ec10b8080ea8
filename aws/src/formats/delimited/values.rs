//! Value helpers of the delimited formats: absent values, numbers, `addr:port`, request lines,
//! percent-decoding, zero-copy slices.

use std::ops::Range;

use bytes::Bytes;
use ordered_float::NotNan;
use vrl::value::Value;

use super::{trimmed_end, Span};

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
#[inline]
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
#[inline]
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

/// Splits `addr:port` on the **last** colon; `[v6]:port` loses its brackets. Returns the address
/// range and, when there is a port part, the port range, both relative to `value`. A value with
/// no colon (or a bare bracketed address) has no port.
#[inline]
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
#[inline]
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

#[inline]
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
#[inline]
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
