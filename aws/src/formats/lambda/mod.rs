//! AWS Lambda logs in CloudWatch Logs (group `/aws/lambda/<function>`): one log event per
//! record, in the text format or the JSON format (opt-in since 2023).
//!
//! Recognised records, in order:
//! 1. **JSON format** (`{...}`): platform events `{"time", "type": "platform.*", "record": {...}}`
//!    and application records `{"timestamp", "level", "message", "requestId", ...}`. JSON of any
//!    other shape is treated as plain application output (case 4).
//! 2. **Platform lines**: `START RequestId: <id> Version: <v>`, `END RequestId: <id>`,
//!    `REPORT RequestId: <id>\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\t
//!    Max Memory Used: 52 MB\t[Init Duration: ... ms\t][XRAY TraceId: ...\tSegmentId: ...\t
//!    Sampled: true]`, `INIT_START Runtime Version: ...\tRuntime Version ARN: ...`,
//!    `INIT_REPORT Init Duration: ... ms\tPhase: init\tStatus: timeout`. Labels are found by name,
//!    so lines whose tabs became spaces (as printed in the AWS docs) and the XRAY part on its own
//!    line parse the same. Unknown `Label: value` parts are kept in `unparsed_trailing`.
//! 3. **Runtime lines** with a request id: Node.js / Java `<ISO time>\t<requestId>\t<LEVEL>\t<message>`,
//!    Python `[LEVEL]\t<ISO time>\t<requestId>\t<message>`, timeouts and Log4j-style lines
//!    `<time> <requestId> [LEVEL] <message>` (space separated: the request id must look like a
//!    UUID). The message keeps its newlines (multi-line JSON dumps, stack traces).
//! 4. Anything else: plain application output, kept as `message` (never an error).
//!
//! Trailing newlines of the record are removed. Text platform lines and plain output carry no
//! time: `timestamp` is then absent (use the CloudWatch Logs event time).
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `type` | string | `platform.start`, `platform.end`, `platform.report`, `platform.initStart`, `platform.initReport` (text lines), the JSON `type` (`platform.*`) for JSON platform events, `function` for application output |
//! | `timestamp` | timestamp | runtime line time, JSON `time` / `timestamp` |
//! | `request_id` | string | invocation request id |
//! | `version` | string | function version (`START`) |
//! | `duration_ms` | float | `Duration` / `metrics.durationMs` |
//! | `billed_duration_ms` | integer | `Billed Duration` / `metrics.billedDurationMs` |
//! | `memory_size_mb` | integer | `Memory Size` / `metrics.memorySizeMB` |
//! | `max_memory_used_mb` | integer | `Max Memory Used` / `metrics.maxMemoryUsedMB` |
//! | `init_duration_ms` | float | `Init Duration` / `metrics.initDurationMs` (cold starts) |
//! | `restore_duration_ms` | float | `Restore Duration` / `metrics.restoreDurationMs` (SnapStart) |
//! | `billed_restore_duration_ms` | integer | `Billed Restore Duration` / `metrics.billedRestoreDurationMs` |
//! | `xray_trace_id` | string | `XRAY TraceId` / `Root=` of `tracing.value` |
//! | `xray_segment_id` | string | `SegmentId` / `Parent=` of `tracing.value` |
//! | `xray_sampled` | boolean | `Sampled` / `Sampled=1` of `tracing.value` |
//! | `status` | string | `Status` (`timeout`, `error`, ...) / `record.status` |
//! | `error_type` | string | `Error Type` / `record.errorType` |
//! | `phase` | string | `Phase` (`init`, `invoke`) / `record.phase` |
//! | `runtime_version` | string | `Runtime Version` / `record.runtimeVersion` |
//! | `runtime_version_arn` | string | `Runtime Version ARN` / `record.runtimeVersionArn` |
//! | `level` | string | log level of runtime lines / JSON `level` |
//! | `message` | string (JSON: any) | application message; for JSON application records a non-string `message` keeps its JSON value |
//! | `record` | object | JSON platform events: the `record` object unchanged (AWS keys); JSON application records: the keys other than `timestamp`, `level`, `message`, `requestId`, unchanged |
//! | `unparsed_trailing` | string | unknown parts of platform lines, tab-joined |
//! | `aws.log_type` | string | `lambda` |
//!
//! Errors: a platform line without request id (`START`/`END`/`REPORT`), a platform value of the
//! wrong type (`Duration: abc ms`), a JSON platform/application record whose time is not RFC 3339.

use bytes::Bytes;
use vrl::value::{KeyString, ObjectMap, Value};

use crate::formats::delimited::parse_datetime_prefix;
use crate::formats::json_reader::value::{
    parse_object, parse_rfc3339, slice_or_copy, value_as_i64, value_str,
};
use crate::formats::{set_log_type, ParseError, RecordParser};

/// `aws.log_type` of Lambda logs.
pub const LOG_TYPE: &str = "lambda";

/// The `type` values the mappings tell apart: the Telemetry API's names of platform events
/// (which the text lines get too) and `function` for application output.
pub mod event_type {
    /// `INIT_START`: an execution environment starts initializing.
    pub const INIT_START: &str = "platform.initStart";
    /// `INIT_REPORT`: the initialization phase's report (on a timeout or error).
    pub const INIT_REPORT: &str = "platform.initReport";
    /// `START`: an invocation starts.
    pub const START: &str = "platform.start";
    /// The runtime finished an invocation (JSON format only).
    pub const RUNTIME_DONE: &str = "platform.runtimeDone";
    /// `END`: an invocation ended.
    pub const END: &str = "platform.end";
    /// `REPORT`: an invocation's durations, memory and status.
    pub const REPORT: &str = "platform.report";
    /// The prefix of every platform event type.
    pub const PLATFORM_PREFIX: &str = "platform.";
    /// Application output.
    pub const FUNCTION: &str = "function";
}

mod ecs;
mod ocsf;

/// ECS `aws.lambda_logs` and OCSF Application Lifecycle / Base Event (see [`ecs`] and [`ocsf`]).
pub const MAPPINGS: crate::normalize::Mappings = crate::normalize::Mappings {
    ecs: crate::normalize::EcsMapping {
        dataset: "aws.lambda_logs",
        native_path: "aws.lambda",
        map: Some(ecs::map),
    },
    ocsf: crate::normalize::OcsfMapping {
        product: PRODUCT,
        map: Some(ocsf::map),
        classes: "Application Lifecycle 6002 (platform lines); Base Event 0 (function output)",
    },
};

/// `metadata.product.name` of Lambda logs.
const PRODUCT: &str = "AWS Lambda";

/// The function's duration of a platform record, in milliseconds with a fraction: the
/// invocation's (`duration_ms`), or for an initialization report the phase's
/// (`init_duration_ms`).
fn duration_ms(native: &impl crate::normalize::fields::Lookup) -> Option<f64> {
    use crate::normalize::fields::{get, get_str};
    let from = if get_str(native, "type") == Some(event_type::INIT_REPORT) {
        "init_duration_ms"
    } else {
        "duration_ms"
    };
    match get(native, from)? {
        Value::Float(f) => Some(f.into_inner()).filter(|f| f.is_finite() && *f >= 0.0),
        Value::Integer(i) => u32::try_from(*i).ok().map(f64::from),
        _ => None,
    }
}

/// Parser for Lambda log events; see the [module docs](self).
#[derive(Clone, Debug, Default)]
pub struct LambdaParser;

#[derive(Clone, Copy)]
enum Kind {
    Str,
    Bool,
    /// Milliseconds with a fraction (`12.34 ms`).
    FloatMs,
    /// Whole milliseconds (`13 ms`).
    IntMs,
    /// Whole megabytes (`128 MB`).
    IntMb,
}

struct Label {
    text: &'static [u8],
    field: &'static str,
    kind: Kind,
}

const fn label(text: &'static [u8], field: &'static str, kind: Kind) -> Label {
    Label { text, field, kind }
}

const REQUEST_ID: Label = label(b"RequestId", "request_id", Kind::Str);

const START_LABELS: &[Label] = &[REQUEST_ID, label(b"Version", "version", Kind::Str)];
const END_LABELS: &[Label] = &[REQUEST_ID];
const REPORT_LABELS: &[Label] = &[
    REQUEST_ID,
    label(
        b"Billed Restore Duration",
        "billed_restore_duration_ms",
        Kind::IntMs,
    ),
    label(b"Restore Duration", "restore_duration_ms", Kind::FloatMs),
    label(b"Billed Duration", "billed_duration_ms", Kind::IntMs),
    label(b"Init Duration", "init_duration_ms", Kind::FloatMs),
    label(b"Duration", "duration_ms", Kind::FloatMs),
    label(b"Memory Size", "memory_size_mb", Kind::IntMb),
    label(b"Max Memory Used", "max_memory_used_mb", Kind::IntMb),
    label(b"XRAY TraceId", "xray_trace_id", Kind::Str),
    label(b"SegmentId", "xray_segment_id", Kind::Str),
    label(b"Sampled", "xray_sampled", Kind::Bool),
    label(b"Status", "status", Kind::Str),
    label(b"Error Type", "error_type", Kind::Str),
];
const INIT_START_LABELS: &[Label] = &[
    label(b"Runtime Version ARN", "runtime_version_arn", Kind::Str),
    label(b"Runtime Version", "runtime_version", Kind::Str),
];
const INIT_REPORT_LABELS: &[Label] = &[
    label(b"Init Duration", "init_duration_ms", Kind::FloatMs),
    label(b"Phase", "phase", Kind::Str),
    label(b"Status", "status", Kind::Str),
    label(b"Error Type", "error_type", Kind::Str),
];

/// (line keyword, `type`, labels, request id required)
const PLATFORM: &[(&[u8], &str, &[Label], bool)] = &[
    (b"START ", event_type::START, START_LABELS, true),
    (b"END ", event_type::END, END_LABELS, true),
    (b"REPORT ", event_type::REPORT, REPORT_LABELS, true),
    (
        b"INIT_START ",
        event_type::INIT_START,
        INIT_START_LABELS,
        false,
    ),
    (
        b"INIT_REPORT ",
        event_type::INIT_REPORT,
        INIT_REPORT_LABELS,
        false,
    ),
];

const LEVELS: &[&[u8]] = &[
    b"TRACE",
    b"DEBUG",
    b"INFO",
    b"WARN",
    b"WARNING",
    b"ERROR",
    b"FATAL",
    b"CRITICAL",
];

fn ins(map: &mut ObjectMap, key: &'static str, v: Value) {
    map.insert(KeyString::from(key), v);
}

fn text_value(key: &'static str) -> Value {
    Value::Bytes(Bytes::from_static(key.as_bytes()))
}

fn err(field: &'static str, offset: usize, message: impl Into<String>) -> ParseError {
    ParseError::new(LOG_TYPE, field, offset, message)
}

fn trim_range(text: &[u8], mut s: usize, mut e: usize) -> (usize, usize) {
    while s < e && text.get(s).is_some_and(u8::is_ascii_whitespace) {
        s += 1;
    }
    while e > s && text.get(e - 1).is_some_and(u8::is_ascii_whitespace) {
        e -= 1;
    }
    (s, e)
}

fn number_text<'a>(v: &'a [u8], unit: &[u8]) -> Option<&'a str> {
    let v = v.trim_ascii();
    let v = v.strip_suffix(unit).unwrap_or(v).trim_ascii_end();
    std::str::from_utf8(v).ok()
}

/// Parses `Label: value` parts of a platform line starting at `start`.
fn scan_labels(
    record: &Bytes,
    text: &[u8],
    start: usize,
    labels: &[Label],
    map: &mut ObjectMap,
) -> Result<(), ParseError> {
    // (label start, label index, value start)
    let mut found: Vec<(usize, usize, usize)> = Vec::with_capacity(labels.len());
    let mut p = start;
    while let Some(&b) = text.get(p) {
        let word_start = p == start
            || text
                .get(p.wrapping_sub(1))
                .is_some_and(u8::is_ascii_whitespace);
        if word_start && !b.is_ascii_whitespace() {
            let rest = text.get(p..).unwrap_or_default();
            let hit = labels.iter().position(|l| {
                rest.starts_with(l.text)
                    && rest
                        .get(l.text.len()..)
                        .is_some_and(|r| r.starts_with(b": "))
            });
            if let Some(idx) = hit {
                let value_start = p + labels.get(idx).map_or(0, |l| l.text.len()) + 2;
                found.push((p, idx, value_start));
                p = value_start;
                continue;
            }
        }
        p += 1;
    }
    let mut unknown: Vec<u8> = Vec::new();
    let mut note_unknown = |s: usize, e: usize| {
        let (s, e) = trim_range(text, s, e);
        if s < e {
            if !unknown.is_empty() {
                unknown.push(b'\t');
            }
            unknown.extend_from_slice(text.get(s..e).unwrap_or_default());
        }
    };
    note_unknown(start, found.first().map_or(text.len(), |f| f.0));
    for (k, &(_, idx, vs)) in found.iter().enumerate() {
        let next = found.get(k + 1).map_or(text.len(), |f| f.0);
        let line_end = text
            .get(vs..next)
            .and_then(|r| r.iter().position(|b| *b == b'\t' || *b == b'\n'))
            .map_or(next, |q| vs + q);
        note_unknown(line_end, next);
        let (s, e) = trim_range(text, vs, line_end);
        let Some(l) = labels.get(idx) else { continue };
        let raw = text.get(s..e).unwrap_or_default();
        if raw.is_empty() {
            continue;
        }
        let bad = || {
            err(
                l.field,
                s,
                format!("invalid value {:?}", String::from_utf8_lossy(raw)),
            )
        };
        let value = match l.kind {
            Kind::Str => Value::Bytes(slice_or_copy(record, raw)),
            Kind::Bool => match raw {
                b"true" => Value::Boolean(true),
                b"false" => Value::Boolean(false),
                _ => return Err(bad()),
            },
            Kind::FloatMs => number_text(raw, b"ms")
                .and_then(|t| t.parse::<f64>().ok())
                .filter(|f| f.is_finite())
                .map(Value::from_f64_or_zero)
                .ok_or_else(bad)?,
            Kind::IntMs | Kind::IntMb => {
                let unit: &[u8] = if matches!(l.kind, Kind::IntMs) {
                    b"ms"
                } else {
                    b"MB"
                };
                number_text(raw, unit)
                    .and_then(|t| t.parse::<i64>().ok())
                    .map(Value::Integer)
                    .ok_or_else(bad)?
            }
        };
        map.insert(KeyString::from(l.field), value);
    }
    if !unknown.is_empty() {
        ins(map, "unparsed_trailing", Value::Bytes(Bytes::from(unknown)));
    }
    Ok(())
}

fn is_level(s: &[u8]) -> bool {
    LEVELS.contains(&s)
}

fn is_uuid_like(s: &[u8]) -> bool {
    s.len() == 36
        && s.iter().enumerate().all(|(i, b)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                *b == b'-'
            } else {
                b.is_ascii_alphanumeric()
            }
        })
}

fn find_byte(text: &[u8], b: u8, from: usize) -> Option<usize> {
    text.get(from..)
        .and_then(|r| memchr::memchr(b, r))
        .map(|p| p + from)
}

/// Runtime line: fills time, request id, level, message; false if the line is not one.
fn runtime_line(record: &Bytes, text: &[u8], map: &mut ObjectMap) -> bool {
    let put = |map: &mut ObjectMap, key: &'static str, s: usize, e: usize| {
        ins(
            map,
            key,
            Value::Bytes(slice_or_copy(record, text.get(s..e).unwrap_or_default())),
        );
    };
    // Python: [LEVEL]\t<time>\t<id>\t<message>
    if text.first() == Some(&b'[') {
        let Some(close) = find_byte(text, b']', 1) else {
            return false;
        };
        let level = text.get(1..close).unwrap_or_default();
        if !is_level(level) || text.get(close + 1) != Some(&b'\t') {
            return false;
        }
        let ts_start = close + 2;
        let Some((ts, n)) = text.get(ts_start..).and_then(parse_datetime_prefix) else {
            return false;
        };
        let id_start = ts_start + n + 1;
        if text.get(ts_start + n) != Some(&b'\t') {
            return false;
        }
        let id_end = find_byte(text, b'\t', id_start).unwrap_or(text.len());
        if id_end == id_start {
            return false;
        }
        ins(map, "timestamp", Value::Timestamp(ts));
        put(map, "level", 1, close);
        put(map, "request_id", id_start, id_end);
        put(map, "message", (id_end + 1).min(text.len()), text.len());
        return true;
    }
    let Some((ts, n)) = parse_datetime_prefix(text) else {
        return false;
    };
    match text.get(n) {
        // <time>\t<id>\t[<LEVEL>\t]<message>
        Some(b'\t') => {
            let id_start = n + 1;
            let Some(id_end) = find_byte(text, b'\t', id_start) else {
                return false;
            };
            let id = text.get(id_start..id_end).unwrap_or_default();
            if id.is_empty() || id.iter().any(u8::is_ascii_whitespace) {
                return false;
            }
            ins(map, "timestamp", Value::Timestamp(ts));
            put(map, "request_id", id_start, id_end);
            let mut msg_start = id_end + 1;
            if let Some(level_end) = find_byte(text, b'\t', msg_start) {
                if is_level(text.get(msg_start..level_end).unwrap_or_default()) {
                    put(map, "level", msg_start, level_end);
                    msg_start = level_end + 1;
                }
            }
            put(map, "message", msg_start.min(text.len()), text.len());
            true
        }
        // <time> <uuid> [LEVEL] <message>
        Some(b' ') => {
            let mut p = n;
            while text.get(p) == Some(&b' ') {
                p += 1;
            }
            let id_end = text
                .get(p..)
                .and_then(|r| r.iter().position(u8::is_ascii_whitespace))
                .map_or(text.len(), |q| p + q);
            if !is_uuid_like(text.get(p..id_end).unwrap_or_default()) {
                return false;
            }
            ins(map, "timestamp", Value::Timestamp(ts));
            put(map, "request_id", p, id_end);
            let mut m = id_end;
            while text.get(m).is_some_and(|b| *b == b' ' || *b == b'\t') {
                m += 1;
            }
            let word_end = text
                .get(m..)
                .and_then(|r| r.iter().position(u8::is_ascii_whitespace))
                .map_or(text.len(), |q| m + q);
            if is_level(text.get(m..word_end).unwrap_or_default()) {
                put(map, "level", m, word_end);
                m = word_end;
                while text.get(m).is_some_and(|b| *b == b' ' || *b == b'\t') {
                    m += 1;
                }
            }
            put(map, "message", m.min(text.len()), text.len());
            true
        }
        _ => false,
    }
}

fn json_float(v: &Value) -> Option<Value> {
    match v {
        Value::Float(_) => Some(v.clone()),
        Value::Integer(i) => Some(Value::from_f64_or_zero(*i as f64)),
        _ => None,
    }
}

/// A JSON-format record, or `None` if the object has neither known shape.
fn json_record(obj: ObjectMap, record: &Bytes) -> Result<Option<ObjectMap>, ParseError> {
    let platform = obj
        .get("type")
        .and_then(value_str)
        .is_some_and(|t| t.starts_with(event_type::PLATFORM_PREFIX))
        && obj.contains_key("time");
    if platform {
        return platform_record(obj, record).map(Some);
    }
    let app = obj.get("timestamp").and_then(value_str).is_some()
        && (obj.contains_key("level")
            || obj.contains_key("message")
            || obj.contains_key("requestId"));
    if !app {
        return Ok(None);
    }
    application_record(obj, record).map(Some)
}

/// A JSON platform event `{"time", "type": "platform.*", "record": {...}}`.
fn platform_record(mut obj: ObjectMap, record: &Bytes) -> Result<ObjectMap, ParseError> {
    let mut map = ObjectMap::new();
    let time = obj
        .get("time")
        .and_then(value_str)
        .and_then(parse_rfc3339)
        .ok_or_else(|| {
            err(
                "timestamp",
                crate::formats::json_reader::value::key_offset(record, "time"),
                "`time` is not RFC 3339",
            )
        })?;
    ins(&mut map, "timestamp", Value::Timestamp(time));
    if let Some(t) = obj.remove("type") {
        ins(&mut map, "type", t);
    }
    if let Some(Value::Object(rec)) = obj.get("record") {
        platform_strings(rec, &mut map);
        if let Some(Value::Object(m)) = rec.get("metrics") {
            platform_metrics(m, &mut map);
        }
        if let Some(trace) = rec.get("tracing").and_then(|t| match t {
            Value::Object(t) => t.get("value").and_then(value_str),
            _ => None,
        }) {
            platform_tracing(trace, &mut map);
        }
    }
    if let Some(rec) = obj.remove("record") {
        ins(&mut map, "record", rec);
    }
    Ok(map)
}

/// The string members of a platform event's `record` (request id, version, status, ...).
fn platform_strings(rec: &ObjectMap, map: &mut ObjectMap) {
    for (src, dst) in [
        ("requestId", "request_id"),
        ("version", "version"),
        ("status", "status"),
        ("errorType", "error_type"),
        ("phase", "phase"),
        ("runtimeVersion", "runtime_version"),
        ("runtimeVersionArn", "runtime_version_arn"),
    ] {
        if let Some(v) = rec.get(src).filter(|v| value_str(v).is_some()) {
            ins(map, dst, v.clone());
        }
    }
}

/// `record.metrics` of a platform event: durations (floats) and sizes (integers).
fn platform_metrics(m: &ObjectMap, map: &mut ObjectMap) {
    for (src, dst, float) in [
        ("durationMs", "duration_ms", true),
        ("billedDurationMs", "billed_duration_ms", false),
        ("memorySizeMB", "memory_size_mb", false),
        ("maxMemoryUsedMB", "max_memory_used_mb", false),
        ("initDurationMs", "init_duration_ms", true),
        ("restoreDurationMs", "restore_duration_ms", true),
        (
            "billedRestoreDurationMs",
            "billed_restore_duration_ms",
            false,
        ),
    ] {
        let v = m.get(src).and_then(|v| {
            if float {
                json_float(v)
            } else {
                value_as_i64(v).map(Value::Integer)
            }
        });
        if let Some(v) = v {
            ins(map, dst, v);
        }
    }
}

/// `record.tracing.value` of a platform event (`Root=...;Parent=...;Sampled=1`).
fn platform_tracing(trace: &str, map: &mut ObjectMap) {
    for part in trace.split(';') {
        if let Some(v) = part.strip_prefix("Root=") {
            ins(
                map,
                "xray_trace_id",
                Value::Bytes(Bytes::copy_from_slice(v.as_bytes())),
            );
        } else if let Some(v) = part.strip_prefix("Parent=") {
            ins(
                map,
                "xray_segment_id",
                Value::Bytes(Bytes::copy_from_slice(v.as_bytes())),
            );
        } else if let Some(v) = part.strip_prefix("Sampled=") {
            ins(map, "xray_sampled", Value::Boolean(v == "1"));
        }
    }
}

/// A JSON application record `{"timestamp", "level", "message", "requestId", ...}`: the other
/// keys go under `record`.
fn application_record(mut obj: ObjectMap, record: &Bytes) -> Result<ObjectMap, ParseError> {
    let mut map = ObjectMap::new();
    let time = obj
        .get("timestamp")
        .and_then(value_str)
        .and_then(parse_rfc3339)
        .ok_or_else(|| {
            err(
                "timestamp",
                crate::formats::json_reader::value::key_offset(record, "timestamp"),
                "`timestamp` is not RFC 3339",
            )
        })?;
    obj.remove("timestamp");
    ins(&mut map, "timestamp", Value::Timestamp(time));
    ins(&mut map, "type", text_value(event_type::FUNCTION));
    for (src, dst) in [
        ("level", "level"),
        ("message", "message"),
        ("requestId", "request_id"),
    ] {
        if let Some(v) = obj.remove(src) {
            ins(&mut map, dst, v);
        }
    }
    if !obj.is_empty() {
        ins(&mut map, "record", Value::Object(obj));
    }
    Ok(map)
}

impl RecordParser for LambdaParser {
    fn log_type(&self) -> &'static str {
        LOG_TYPE
    }

    fn parse(&mut self, record: &Bytes, out: &mut Vec<ObjectMap>) -> Result<(), ParseError> {
        let mut text: &[u8] = record;
        while let Some((b'\n' | b'\r', rest)) = text.split_last() {
            text = rest;
        }
        let mut map = if text.first() == Some(&b'{') {
            match parse_object(LOG_TYPE, record) {
                Ok(obj) => json_record(obj, record)?,
                Err(_) => None,
            }
        } else {
            None
        };
        if map.is_none() {
            let mut m = ObjectMap::new();
            if let Some(&(kw, kind, labels, needs_id)) =
                PLATFORM.iter().find(|(kw, ..)| text.starts_with(kw))
            {
                ins(&mut m, "type", text_value(kind));
                scan_labels(record, text, kw.len(), labels, &mut m)?;
                if needs_id && !m.contains_key("request_id") {
                    return Err(err(
                        "request_id",
                        kw.len(),
                        "platform line without `RequestId: <id>`",
                    ));
                }
            } else {
                ins(&mut m, "type", text_value(event_type::FUNCTION));
                if !runtime_line(record, text, &mut m) {
                    ins(&mut m, "message", Value::Bytes(slice_or_copy(record, text)));
                }
            }
            map = Some(m);
        }
        if let Some(mut m) = map {
            set_log_type(&mut m, LOG_TYPE);
            out.push(m);
        }
        Ok(())
    }
}

/// Registry content check for JSON-format logs: a platform event (`type` = `platform.*`) or an
/// application line with `requestId` and `level`.
pub fn detect_json(members: &crate::formats::detect::JsonMembers<'_>) -> bool {
    members
        .str("type")
        .is_some_and(|t| t.starts_with(b"platform."))
        || (members.has("requestId") && members.has("level"))
}

/// Registry content check for text lines: a platform line (`START`/`END`/`REPORT RequestId:`,
/// `INIT_START`, `INIT_REPORT`).
pub fn detect_text(head: &[u8]) -> bool {
    [
        &b"START RequestId:"[..],
        b"END RequestId:",
        b"REPORT RequestId:",
        b"INIT_START ",
        b"INIT_REPORT ",
    ]
    .iter()
    .any(|prefix| head.starts_with(prefix))
}

#[cfg(test)]
mod tests;
