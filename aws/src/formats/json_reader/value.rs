//! JSON → [`vrl::value::Value`] conversion and small helpers shared by the JSON parsers
//! (CloudTrail, WAF, Route 53 Resolver, CloudWatch Logs, S3 notifications, Firehose, Lambda JSON
//! format), plus the time helpers shared with the text parsers.
//!
//! * [`parse_value`] / [`parse_object`] use the strict, zero-copy [`super::parser`]: strings
//!   become `Value::Bytes` (never `Value::String`), integers `Value::Integer` (integers outside
//!   `i64` become `Value::Float`), other numbers `Value::Float`, `null` → `Value::Null`. Strings
//!   without escapes are slices of the input [`Bytes`] (a reference-count increment instead of
//!   an allocation and a copy), so parsed values keep the input buffer alive as long as any of
//!   them lives. Errors are [`ParseError`]s with exact byte offsets.
//! * [`ValueSeed`] / [`OwnedValue`] do the same conversion through serde, for values embedded in
//!   `#[derive(Deserialize)]` structs; [`json_error`] converts serde_json's line/column errors
//!   into byte offsets ([`line_column_to_offset`]).

use std::fmt;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use vrl::value::{KeyString, ObjectMap, Value};

use crate::formats::ParseError;

/// The ISO-8601 prefix parser is the delimited formats' (one parser for the crate); re-exported
/// here under its old path.
pub use crate::formats::delimited::parse_datetime_prefix;

/// A `Value::Float`, or `None` for NaN.
fn not_nan(f: f64) -> Option<Value> {
    (!f.is_nan()).then(|| Value::from_f64_or_zero(f))
}

/// A [`DeserializeSeed`] producing a vrl [`Value`] whose un-escaped strings are slices of `src`.
#[derive(Clone, Copy)]
pub struct ValueSeed<'a> {
    /// The buffer the deserializer reads from (strings inside it are sliced, not copied).
    pub src: &'a Bytes,
}

impl ValueSeed<'_> {
    fn bytes_of(&self, s: &[u8]) -> Bytes {
        slice_or_copy(self.src, s)
    }
}

/// `s` as a zero-copy slice of `src` if it lies inside `src`, else a copy.
pub fn slice_or_copy(src: &Bytes, s: &[u8]) -> Bytes {
    let base = src.as_ptr() as usize;
    let p = s.as_ptr() as usize;
    if p >= base && p.saturating_add(s.len()) <= base.saturating_add(src.len()) {
        let start = p - base;
        src.slice(start..start + s.len())
    } else {
        Bytes::copy_from_slice(s)
    }
}

/// A vrl [`Value`] deserialized without a source buffer (strings are copied); for use inside
/// `#[derive(Deserialize)]` structs.
#[derive(Clone, Debug, PartialEq)]
pub struct OwnedValue(pub Value);

impl<'de> serde::Deserialize<'de> for OwnedValue {
    fn deserialize<D>(deserializer: D) -> Result<Self, D::Error>
    where
        D: serde::Deserializer<'de>,
    {
        static EMPTY: Bytes = Bytes::from_static(b"");
        ValueSeed { src: &EMPTY }
            .deserialize(deserializer)
            .map(OwnedValue)
    }
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;

    fn deserialize<D>(self, deserializer: D) -> Result<Value, D::Error>
    where
        D: serde::Deserializer<'de>,
    {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Boolean(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Integer(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(match i64::try_from(v) {
            Ok(i) => Value::Integer(i),
            Err(_) => Value::from_f64_or_zero(v as f64),
        })
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        not_nan(v).ok_or_else(|| E::custom("NaN is not a JSON number"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Bytes(Bytes::copy_from_slice(v.as_bytes())))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Value, E> {
        Ok(Value::Bytes(self.bytes_of(v.as_bytes())))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::Bytes(Bytes::from(v)))
    }

    fn visit_bytes<E>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Bytes(Bytes::copy_from_slice(v)))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D>(self, deserializer: D) -> Result<Value, D::Error>
    where
        D: serde::Deserializer<'de>,
    {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A>(self, mut seq: A) -> Result<Value, A::Error>
    where
        A: SeqAccess<'de>,
    {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(v) = seq.next_element_seed(self)? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A>(self, mut map: A) -> Result<Value, A::Error>
    where
        A: MapAccess<'de>,
    {
        let mut object = ObjectMap::new();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let value = map.next_value_seed(self)?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// Deserializes an object key into a [`KeyString`].
#[derive(Clone, Copy)]
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = KeyString;

    fn deserialize<D>(self, deserializer: D) -> Result<KeyString, D::Error>
    where
        D: serde::Deserializer<'de>,
    {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for KeySeed {
    type Value = KeyString;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E>(self, v: &str) -> Result<KeyString, E> {
        Ok(KeyString::from(v))
    }

    fn visit_string<E>(self, v: String) -> Result<KeyString, E> {
        Ok(KeyString::from(v))
    }
}

/// Converts serde_json's 1-based line/column (columns count bytes) into a byte offset in `input`.
pub fn line_column_to_offset(input: &[u8], line: usize, column: usize) -> usize {
    if line == 0 {
        return 0;
    }
    let mut line_start = 0usize;
    let mut current = 1usize;
    if line > 1 {
        for pos in memchr::memchr_iter(b'\n', input) {
            current += 1;
            if current == line {
                line_start = pos + 1;
                break;
            }
        }
    }
    // `column` counts the bytes consumed on the line, the last of which caused the error; 0 means
    // the error is at the line's terminating newline.
    if column == 0 {
        line_start.saturating_sub(1).min(input.len())
    } else {
        line_start.saturating_add(column - 1).min(input.len())
    }
}

/// A [`ParseError`] for a serde_json error while parsing `input`.
pub fn json_error(
    format: &'static str,
    field: &str,
    input: &[u8],
    err: &serde_json::Error,
) -> ParseError {
    let offset = if err.is_eof() {
        input.len()
    } else {
        line_column_to_offset(input, err.line(), err.column())
    };
    ParseError::new(format, field, offset, format!("invalid JSON: {err}"))
}

/// Parses one JSON value (surrounding whitespace allowed, nothing else) into a vrl [`Value`].
/// Uses the strict, zero-copy [`super::parser`]; offsets are exact byte offsets.
pub fn parse_value(format: &'static str, input: &Bytes) -> Result<Value, ParseError> {
    super::parser::parse(input).map_err(|e| {
        ParseError::new(
            format,
            "record",
            e.offset,
            format!("invalid JSON: {}", e.message),
        )
    })
}

/// Parses one JSON object (surrounding whitespace allowed) into an [`ObjectMap`].
pub fn parse_object(format: &'static str, input: &Bytes) -> Result<ObjectMap, ParseError> {
    match parse_value(format, input)? {
        Value::Object(map) => Ok(map),
        other => Err(ParseError::new(
            format,
            "record",
            first_non_whitespace(input),
            format!("expected a JSON object, found {}", kind_name(&other)),
        )),
    }
}

/// Offset of the first non-whitespace byte (0 if none).
pub fn first_non_whitespace(input: &[u8]) -> usize {
    input
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(0)
}

/// Best-effort byte offset of `"key"` in `input`, for error messages (0 if not found).
pub fn key_offset(input: &[u8], key: &str) -> usize {
    let needle_len = key.len() + 2;
    if input.len() < needle_len {
        return 0;
    }
    let kb = key.as_bytes();
    input
        .windows(needle_len)
        .position(|w| {
            w.first() == Some(&b'"')
                && w.last() == Some(&b'"')
                && w.get(1..needle_len - 1) == Some(kb)
        })
        .unwrap_or(0)
}

/// A short name of a value's JSON type, for error messages.
pub fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Bytes(_) | Value::String(_) | Value::Regex(_) => "a string",
        Value::Integer(_) | Value::Float(_) => "a number",
        Value::Boolean(_) => "a boolean",
        Value::Timestamp(_) => "a timestamp",
        Value::Object(_) => "an object",
        Value::Array(_) => "an array",
        Value::Null => "null",
    }
}

/// The bytes of a string value (`Bytes` or `String` variants), if it is one.
pub fn value_bytes(v: &Value) -> Option<&[u8]> {
    match v {
        Value::Bytes(b) => Some(b),
        Value::String(s) => Some(s.as_bytes()),
        _ => None,
    }
}

/// The text of a string value, if it is one and is valid UTF-8.
pub fn value_str(v: &Value) -> Option<&str> {
    value_bytes(v).and_then(|b| std::str::from_utf8(b).ok())
}

/// Reads an integer that AWS may send as a number or as a decimal string (`"56067"`).
pub fn value_as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Integer(i) => Some(*i),
        Value::Float(f) => {
            let f = f.into_inner();
            (f.fract() == 0.0 && f >= i64::MIN as f64 && f <= i64::MAX as f64).then_some(f as i64)
        }
        _ => value_str(v).and_then(|s| s.trim().parse::<i64>().ok()),
    }
}

/// Parses an RFC 3339 time (`2020-07-21T20:56:00Z`, fractional seconds and offsets allowed).
/// Spaces inside the value are tolerated (one AWS documentation event has
/// `"2014-03-06T21: 22: 54Z"`).
pub fn parse_rfc3339(s: &str) -> Option<DateTime<Utc>> {
    // Fast path for AWS's usual `YYYY-MM-DDTHH:MM:SS[.fff]Z`.
    if let Some((t, n)) = parse_datetime_prefix(s.as_bytes()) {
        if n == s.len() && s.as_bytes().get(10) == Some(&b'T') && s.ends_with('Z') {
            return Some(t);
        }
    }
    match DateTime::parse_from_rfc3339(s) {
        Ok(t) => Some(t.with_timezone(&Utc)),
        Err(_) if s.contains(' ') => {
            let compact: String = s.chars().filter(|c| *c != ' ').collect();
            DateTime::parse_from_rfc3339(&compact)
                .ok()
                .map(|t| t.with_timezone(&Utc))
        }
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_become_bytes_and_are_sliced() {
        let input = Bytes::from_static(
            br#"{"a":"plain","b":"esc\"aped","c":[1,2.5,true,null,18446744073709551615]}"#,
        );
        let map = parse_object("test", &input).unwrap();
        let Some(Value::Bytes(a)) = map.get("a") else {
            panic!("a")
        };
        assert_eq!(&a[..], b"plain");
        // Zero-copy: the slice points into the input.
        let base = input.as_ptr() as usize;
        assert!((a.as_ptr() as usize) >= base && (a.as_ptr() as usize) < base + input.len());
        assert_eq!(
            map.get("b"),
            Some(&Value::Bytes(Bytes::from_static(b"esc\"aped")))
        );
        let Some(Value::Array(c)) = map.get("c") else {
            panic!("c")
        };
        assert_eq!(c[0], Value::Integer(1));
        assert!(matches!(c[1], Value::Float(_)));
        assert_eq!(c[2], Value::Boolean(true));
        assert_eq!(c[3], Value::Null);
        assert!(matches!(c[4], Value::Float(_)));
    }

    #[test]
    fn error_offsets_are_byte_offsets() {
        let input = Bytes::from_static(b"{\n  \"a\": 1,\n  \"b\": tru\n}");
        let err = parse_object("test", &input).unwrap_err();
        // The error is inside `tru` on line 3.
        assert_eq!(err.offset, 22, "{err}");
        let err = parse_object("test", &Bytes::from_static(b"{\"a\":")).unwrap_err();
        assert_eq!(err.offset, 5, "{err}");
        let err = parse_object("test", &Bytes::from_static(b"[1]")).unwrap_err();
        assert!(err.message.contains("expected a JSON object"));
        let err = parse_object("test", &Bytes::from_static(b"{} x")).unwrap_err();
        assert_eq!(err.offset, 3);
    }

    #[test]
    fn line_column() {
        assert_eq!(line_column_to_offset(b"abc\ndef", 2, 2), 5);
        assert_eq!(line_column_to_offset(b"abc\ndef", 1, 1), 0);
        assert_eq!(line_column_to_offset(b"abc", 9, 9), 3);
        assert_eq!(line_column_to_offset(b"", 0, 0), 0);
    }

    #[test]
    fn rfc3339_times() {
        let ms = |s: &str| parse_rfc3339(s).map(|t| t.timestamp_millis());
        assert_eq!(ms("2020-07-21T20:56:00Z"), Some(1_595_364_960_000));
        assert_eq!(ms("2020-07-21T20:56:00.5Z"), Some(1_595_364_960_500));
        assert_eq!(ms("2020-07-21T22:56:00+02:00"), Some(1_595_364_960_000));
        assert_eq!(ms("2014-03-06T21: 22: 54Z"), Some(1_394_140_974_000));
        for bad in [
            "",
            "2020-07-21T20:56:00",
            "2020-02-30T00:00:00Z",
            "yesterday",
        ] {
            assert_eq!(ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn key_offsets() {
        assert_eq!(key_offset(br#"{"x":1,"eventTime":2}"#, "eventTime"), 7);
        assert_eq!(key_offset(b"{}", "eventTime"), 0);
    }
}
