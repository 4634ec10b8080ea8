//! Test helpers shared by the JSON and free-text AWS parser tests: corpus access, record framing
//! used to cut corpus files into records, and value comparison.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use vrl::value::{ObjectMap, Value};

use crate::envelopes::cloudwatch::CloudWatchLogsParser;
use crate::formats::{ParseError, RecordParser};

/// The shared corpus root.
pub const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus");

/// All files under `corpus/<dir>`, recursively, sorted; panics if there are none.
pub fn corpus_files(dir: &str) -> Vec<PathBuf> {
    fn walk(p: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(p) else { return };
        for e in rd.flatten() {
            let path = e.path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let root = Path::new(CORPUS).join(dir);
    let mut out = Vec::new();
    walk(&root, &mut out);
    out.sort();
    assert!(!out.is_empty(), "no corpus files under {}", root.display());
    out
}

/// Input record files (not `*.expected.json`) under `corpus/<dir>`.
pub fn input_files(dir: &str) -> Vec<PathBuf> {
    corpus_files(dir)
        .into_iter()
        .filter(|p| !p.to_string_lossy().ends_with(".expected.json"))
        .collect()
}

/// Reads a file as [`Bytes`].
pub fn read(path: &Path) -> Bytes {
    Bytes::from(std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// Reads a corpus file by relative path.
pub fn read_corpus(rel: &str) -> Bytes {
    read(&Path::new(CORPUS).join(rel))
}

/// Parses a JSON file with serde_json.
pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// True if the file is a CloudWatch Logs subscription envelope (`"messageType"` at top level).
pub fn is_envelope(data: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(data)
        .ok()
        .and_then(|v| v.get("messageType").cloned())
        .is_some()
}

/// Unwraps a CloudWatch Logs subscription envelope into (message, full item) pairs.
pub fn envelope_messages(data: &Bytes) -> Vec<(Bytes, ObjectMap)> {
    let mut out = Vec::new();
    CloudWatchLogsParser::default()
        .parse(data, &mut out)
        .expect("envelope parses");
    out.into_iter()
        .map(|item| {
            let Some(Value::Bytes(m)) = item.get("message").cloned() else {
                panic!("message missing")
            };
            (m, item)
        })
        .collect()
}

/// Parses every record with `parser`, panicking on error with the record shown.
pub fn parse_all(parser: &mut dyn RecordParser, records: &[Bytes]) -> Vec<ObjectMap> {
    let mut out = Vec::new();
    for r in records {
        if let Err(e) = parser.parse(r, &mut out) {
            panic!("{e}\nrecord: {}", String::from_utf8_lossy(r));
        }
    }
    out
}

/// Parses one record, returning the error.
pub fn parse_err(parser: &mut dyn RecordParser, record: &[u8]) -> ParseError {
    let mut out = Vec::new();
    match parser.parse(&Bytes::copy_from_slice(record), &mut out) {
        Ok(()) => panic!(
            "expected an error for {:?}, got {out:?}",
            String::from_utf8_lossy(record)
        ),
        Err(e) => e,
    }
}

/// Lines of a text file (without line terminators), skipping empty lines.
pub fn lines(data: &[u8]) -> Vec<Bytes> {
    data.split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.is_empty())
        .map(Bytes::copy_from_slice)
        .collect()
}

/// Gets a field by dotted path.
pub fn get<'a>(map: &'a ObjectMap, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut cur = map.get(parts.next()?)?;
    for p in parts {
        match cur {
            Value::Object(m) => cur = m.get(p)?,
            _ => return None,
        }
    }
    Some(cur)
}

/// A string field as `&str`.
pub fn get_str<'a>(map: &'a ObjectMap, path: &str) -> Option<&'a str> {
    match get(map, path)? {
        Value::Bytes(b) => std::str::from_utf8(b).ok(),
        // `set_log_type` (shared, in `aws/mod.rs`) stores `aws.log_type` as `Value::String`.
        Value::String(s) if path == "aws.log_type" => std::str::from_utf8(s.as_bytes()).ok(),
        _ => None,
    }
}

/// An integer field.
pub fn get_i64(map: &ObjectMap, path: &str) -> Option<i64> {
    match get(map, path)? {
        Value::Integer(i) => Some(*i),
        _ => None,
    }
}

/// A float field.
pub fn get_f64(map: &ObjectMap, path: &str) -> Option<f64> {
    match get(map, path)? {
        Value::Float(f) => Some(f.into_inner()),
        _ => None,
    }
}

/// A timestamp field as epoch milliseconds.
pub fn get_ts_ms(map: &ObjectMap, path: &str) -> Option<i64> {
    match get(map, path)? {
        Value::Timestamp(t) => Some(t.timestamp_millis()),
        _ => None,
    }
}

/// Converts a vrl value to serde_json for structural comparison (timestamps as RFC 3339).
pub fn to_json(v: &Value) -> serde_json::Value {
    serde_json::to_value(v).expect("vrl values serialize")
}

/// Asserts that no string anywhere in the value is `Value::String` (we promise `Value::Bytes`),
/// except `aws.log_type`, which the shared `set_log_type` writes as `Value::String`.
pub fn assert_bytes_strings(v: &Value) {
    if let Value::Object(m) = v {
        for (k, x) in m {
            if k.as_str() == "aws" {
                if let Value::Object(aws) = x {
                    aws.iter()
                        .filter(|(k, _)| k.as_str() != "log_type")
                        .for_each(|(_, x)| assert_bytes_strings(x));
                }
            } else {
                assert_bytes_strings(x);
            }
        }
        return;
    }
    match v {
        Value::String(_) => panic!("Value::String found: {v:?}"),
        Value::Object(m) => m.values().for_each(assert_bytes_strings),
        Value::Array(a) => a.iter().for_each(assert_bytes_strings),
        _ => {}
    }
}

/// The `aws.log_type` of a parsed record.
pub fn log_type(map: &ObjectMap) -> Option<&str> {
    get_str(map, "aws.log_type")
}

/// Feeds arbitrary bytes to a parser: it must not panic (errors are fine).
pub fn no_panic(parser: &mut dyn RecordParser, data: &[u8]) {
    let mut out = Vec::new();
    let _ = parser.parse(&Bytes::copy_from_slice(data), &mut out);
}

/// Mutations of a valid record used by the malformed-input tests: every prefix (truncation),
/// single-byte replacements with structural characters, and some garbage.
pub fn mutations(record: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let step = (record.len() / 200).max(1);
    for cut in (0..record.len()).step_by(step) {
        out.push(record.get(..cut).unwrap_or_default().to_vec());
    }
    for (n, pos) in (0..record.len()).step_by(step).enumerate() {
        let mut m = record.to_vec();
        let b = [
            b'"', b'\\', b'{', b']', b'\n', b'\t', b'|', b':', 0xff, b'-', b' ', b'(',
        ][n % 12];
        if let Some(x) = m.get_mut(pos) {
            *x = b;
        }
        out.push(m);
    }
    out.push(b"\x1f\x8b\x08\x00garbage".to_vec());
    out.push(vec![0u8; 64]);
    out.push(b"".to_vec());
    out.push(b"-".to_vec());
    out
}
