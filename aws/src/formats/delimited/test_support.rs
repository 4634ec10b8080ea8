//! Test helpers shared by the format modules' tests.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use vrl::value::{ObjectMap, Value};

use crate::formats::{ParseError, RecordParser};

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
pub fn parse_one(parser: &mut dyn RecordParser, line: &[u8]) -> Result<Vec<ObjectMap>, ParseError> {
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
