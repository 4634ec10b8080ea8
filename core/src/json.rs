//! A JSON writer for events, byte-for-byte the output of `serde_json` on `vrl` values, without
//! serde's per-value dispatch: a string that is plain ASCII with nothing to escape (the common
//! case) is recognised in one pass of eight bytes at a time and copied whole, and timestamps are
//! formatted straight into the output, so encoding costs little more than a copy. Sinks that
//! write JSON (file, console, Kafka, Elasticsearch) share it.

use vrl::value::{KeyString, ObjectMap, Value};

use crate::fields::Fields;

/// Appends `map` as a compact JSON object.
pub fn write_object(map: &ObjectMap, out: &mut Vec<u8>) {
    write_members(map.iter(), out);
}

/// Appends an event's fields as a compact JSON object (the same bytes as for the equal map).
pub fn write_fields(fields: &Fields, out: &mut Vec<u8>) {
    match fields.path_record() {
        Some(record) => record.write_json(out),
        None => write_members(fields.iter(), out),
    }
}

/// Appends the members as a compact JSON object.
fn write_members<'a>(members: impl Iterator<Item = (&'a KeyString, &'a Value)>, out: &mut Vec<u8>) {
    out.push(b'{');
    let mut first = true;
    for (key, value) in members {
        if !first {
            out.push(b',');
        }
        first = false;
        write_str(key.as_bytes(), out);
        out.push(b':');
        write_value(value, out);
    }
    out.push(b'}');
}

/// Appends one value.
pub fn write_value(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Bytes(bytes) => write_str(bytes, out),
        Value::String(s) => write_str(s.as_bytes(), out),
        Value::Regex(regex) => write_str(regex.as_str().as_bytes(), out),
        Value::Integer(i) => {
            let mut buf = itoa::Buffer::new();
            out.extend_from_slice(buf.format(*i).as_bytes());
        }
        Value::Float(f) => {
            // serde_json's float formatting, so output stays identical.
            if serde_json::to_writer(&mut *out, &f.into_inner()).is_err() {
                out.extend_from_slice(b"null");
            }
        }
        Value::Boolean(true) => out.extend_from_slice(b"true"),
        Value::Boolean(false) => out.extend_from_slice(b"false"),
        Value::Timestamp(ts) => {
            out.push(b'"');
            write_timestamp(ts, out);
            out.push(b'"');
        }
        Value::Object(map) => write_object(map, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(item, out);
            }
            out.push(b']');
        }
        Value::Null => out.extend_from_slice(b"null"),
    }
}

/// Which bytes need escaping: 0 none, `u` as `\u00XX`, anything else as `\` + that byte.
static ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        table[i] = b'u';
        i += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

/// Appends a timestamp as `to_rfc3339_opts(SecondsFormat::AutoSi, true)` does (`Z`, and 0, 3, 6
/// or 9 fraction digits, whichever is exact), without that call's temporary `String`. Years
/// outside 0–9999 and leap seconds, which chrono writes its own way, go through chrono.
fn write_timestamp(ts: &chrono::DateTime<chrono::Utc>, out: &mut Vec<u8>) {
    use chrono::{Datelike, Timelike};
    let (year, nanos) = (ts.year(), ts.nanosecond());
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        let text = ts.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
        out.extend_from_slice(text.as_bytes());
        return;
    }
    push_digits(out, year as u32, 4);
    out.push(b'-');
    push_digits(out, ts.month(), 2);
    out.push(b'-');
    push_digits(out, ts.day(), 2);
    out.push(b'T');
    push_digits(out, ts.hour(), 2);
    out.push(b':');
    push_digits(out, ts.minute(), 2);
    out.push(b':');
    push_digits(out, ts.second(), 2);
    if nanos != 0 {
        out.push(b'.');
        if nanos % 1_000_000 == 0 {
            push_digits(out, nanos / 1_000_000, 3);
        } else if nanos % 1_000 == 0 {
            push_digits(out, nanos / 1_000, 6);
        } else {
            push_digits(out, nanos, 9);
        }
    }
    out.push(b'Z');
}

/// Appends the last `digits` decimal digits of `value`, zero-padded.
fn push_digits(out: &mut Vec<u8>, value: u32, digits: u32) {
    for i in (0..digits).rev() {
        out.push(b'0' + (value / 10u32.pow(i) % 10) as u8);
    }
}

/// Bytes that end the plain run of a string: those that need escaping, and non-ASCII (whose
/// UTF-8 must be checked).
static NOT_PLAIN: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = ESCAPE[i] != 0 || i >= 0x80;
        i += 1;
    }
    table
};

/// Length of the longest prefix of `bytes` that is ASCII with nothing to escape.
#[inline]
fn plain_prefix(bytes: &[u8]) -> usize {
    let mut i = 0;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        if chunk_needs_escape(w) || w & 0x8080_8080_8080_8080 != 0 {
            break;
        }
        i += 8;
    }
    while let Some(&b) = bytes.get(i) {
        if NOT_PLAIN[b as usize] {
            break;
        }
        i += 1;
    }
    i
}

/// Appends a JSON string. Invalid UTF-8 is replaced by U+FFFD, as a lossy conversion would.
pub fn write_str(bytes: &[u8], out: &mut Vec<u8>) {
    if plain_prefix(bytes) == bytes.len() {
        out.reserve(bytes.len() + 2);
        out.push(b'"');
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    // Escapes or non-ASCII text: only these strings pay for UTF-8 validation and the byte loop.
    if bytes.is_ascii() || simdutf8::basic::from_utf8(bytes).is_ok() {
        write_escaped(bytes, out);
    } else {
        write_escaped(String::from_utf8_lossy(bytes).as_bytes(), out);
    }
}

/// Whether any of eight bytes is a control character, `"` or `\\` (exact when none is; may report
/// a hit that the byte loop then rules out).
fn chunk_needs_escape(chunk: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS != 0;
    let below_space = chunk.wrapping_sub(ONES * 0x20) & !chunk & HIGHS != 0;
    below_space || has_zero(chunk ^ (ONES * b'"' as u64)) || has_zero(chunk ^ (ONES * b'\\' as u64))
}

fn write_escaped(bytes: &[u8], out: &mut Vec<u8>) {
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Skip eight clean bytes at a time; most strings have nothing to escape.
        if let Some(chunk) = bytes.get(i..i + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            if !chunk_needs_escape(u64::from_le_bytes(word)) {
                i += 8;
                continue;
            }
        }
        let byte = bytes[i];
        let escape = ESCAPE[byte as usize];
        if escape != 0 {
            out.extend_from_slice(&bytes[start..i]);
            if escape == b'u' {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[(byte >> 4) as usize],
                    HEX[(byte & 0xf) as usize],
                ]);
            } else {
                out.extend_from_slice(&[b'\\', escape]);
            }
            start = i + 1;
        }
        i += 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn same_as_serde(value: &Value) {
        let mut ours = Vec::new();
        write_value(value, &mut ours);
        let theirs = serde_json::to_vec(value).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs)
        );
    }

    #[test]
    fn matches_serde_json_on_every_kind_of_value() {
        let mut inner = ObjectMap::new();
        inner.insert(
            "z".into(),
            Value::Array(vec![Value::Integer(-7), Value::Null, Value::Boolean(false)]),
        );
        inner.insert(
            "a \"quoted\"\n key".into(),
            Value::from("tab\there \\ \u{1} é ✓"),
        );
        let mut map = ObjectMap::new();
        map.insert("object".into(), Value::Object(inner));
        map.insert("float".into(), Value::from_f64_or_zero(0.086));
        map.insert("big".into(), Value::from_f64_or_zero(1e300));
        map.insert("neg".into(), Value::from_f64_or_zero(-1.5));
        map.insert("int".into(), Value::Integer(i64::MIN));
        map.insert("t".into(), Value::Boolean(true));
        map.insert(
            "bytes".into(),
            Value::Bytes(bytes::Bytes::from_static(b"bad \xff utf8 \x7f")),
        );
        map.insert("empty".into(), Value::from(""));
        map.insert(
            "ts".into(),
            Value::Timestamp(
                chrono::Utc.with_ymd_and_hms(2018, 7, 2, 22, 23, 0).unwrap()
                    + chrono::Duration::microseconds(186641),
            ),
        );
        map.insert(
            "ts0".into(),
            Value::Timestamp(chrono::Utc.with_ymd_and_hms(2024, 5, 1, 0, 0, 0).unwrap()),
        );
        same_as_serde(&Value::Object(map));
        // Every fraction width, and the years and leap seconds left to chrono.
        for (secs, nanos) in [
            (0, 0),
            (1_714_521_600, 1_000_000),
            (1_714_521_600, 120_000),
            (1_714_521_600, 7),
            (1_714_521_600, 999_999_999),
            (-62_167_219_200, 0),
            (-62_167_219_201, 5),
            (253_402_300_800, 0),
            (1_483_228_799, 1_500_000_000),
        ] {
            let ts = chrono::DateTime::from_timestamp(secs, nanos).expect("in range");
            same_as_serde(&Value::Timestamp(ts));
        }
        for s in [
            "",
            "\"",
            "\\",
            "\u{0}",
            "\u{1f}",
            "ok",
            "\u{7f}",
            "日本",
            "12345678\"abcdefgh\\",
            "abcdefgh ijklmnop\n",
            "é12345678\u{1}",
        ] {
            same_as_serde(&Value::from(s));
        }
        // Every byte value at every position of a 17-byte string.
        for byte in 0u8..=255 {
            for pos in 0..17 {
                let mut raw = vec![b'a'; 17];
                raw[pos] = byte;
                same_as_serde(&Value::Bytes(bytes::Bytes::from(raw)));
            }
        }
    }
}
