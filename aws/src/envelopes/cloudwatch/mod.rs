//! CloudWatch Logs subscription payloads: the envelope delivered to Kinesis, Firehose and Lambda
//! subscription destinations.
//!
//! One framed record is one payload, in any of these encodings:
//! * the decompressed JSON envelope `{"messageType", "owner", "logGroup", "logStream",
//!   "subscriptionFilters", "logEvents": [{"id", "timestamp", "message"}]}`;
//! * the same gzip-compressed (detected by the magic bytes `1f 8b`; concatenated gzip members
//!   are read as one stream);
//! * several envelopes concatenated, with or without whitespace between them (Firehose
//!   aggregation, or several gzip members);
//! * the Lambda trigger event `{"awslogs": {"data": "<base64(gzip(envelope))>"}}`.
//!
//! `DATA_MESSAGE` envelopes give one output per `logEvents` item; `CONTROL_MESSAGE` envelopes
//! (health checks) are consumed without output. If any envelope in the payload is invalid the
//! whole payload fails and nothing is emitted for it. Offsets in errors refer to the
//! decompressed JSON when the input was compressed.
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `message` | string | the log event's message, unchanged (often itself JSON or a text log line) |
//! | `timestamp` | timestamp | the log event's `timestamp` (epoch milliseconds) |
//! | `id` | string | the log event's `id`; always a string (a numeric id is converted to decimal text) |
//! | `log_group` | string | envelope `logGroup` |
//! | `log_stream` | string | envelope `logStream` |
//! | `owner` | string | envelope `owner`, the AWS account id of the originating log data |
//! | `subscription_filters` | array of strings | envelope `subscriptionFilters` |
//! | `policy_level` | string | envelope `policyLevel` (account-level subscriptions), when present |
//! | `extracted_fields` | object | the event's `extractedFields`, when present, keys unchanged |
//! | `aws.log_type` | string | `cloudwatch_logs` |
//!
//! Name map from the envelope: `logGroup` → `log_group`, `logStream` → `log_stream`,
//! `subscriptionFilters` → `subscription_filters`, `policyLevel` → `policy_level`,
//! `logEvents[].id` / `.timestamp` / `.message` / `.extractedFields` → `id` / `timestamp` /
//! `message` / `extracted_fields`; `messageType` is not emitted (only data messages produce output).

use std::borrow::Cow;
use std::fmt;
use std::io::Read;

use base64::Engine as _;
use bytes::Bytes;
use chrono::DateTime;
use serde::de::{Deserializer, Visitor};
use serde::Deserialize;
use vrl::value::{KeyString, ObjectMap, Value};

use crate::formats::json_reader::value::{json_error, slice_or_copy, OwnedValue};
use crate::formats::{set_log_type, ParseError, RecordParser};

/// `aws.log_type` of the emitted log events.
pub const LOG_TYPE: &str = "cloudwatch_logs";

/// Default limit on the decompressed size of one payload: 64 MiB.
pub const DEFAULT_MAX_DECOMPRESSED_SIZE: usize = 64 * 1024 * 1024;

/// True if `data` starts with the gzip magic bytes `1f 8b`.
pub fn is_gzip(data: &[u8]) -> bool {
    data.starts_with(&[0x1f, 0x8b])
}

/// Decompresses gzip data (all concatenated members), refusing output larger than `limit`.
pub fn gunzip(format: &'static str, data: &[u8], limit: usize) -> Result<Vec<u8>, ParseError> {
    let mut out = Vec::with_capacity(data.len().saturating_mul(4).min(limit));
    let decoder = flate2::read::MultiGzDecoder::new(data);
    decoder
        .take(u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| ParseError::new(format, "gzip", 0, format!("invalid gzip data: {e}")))?;
    if out.len() > limit {
        return Err(ParseError::new(
            format,
            "gzip",
            0,
            format!("decompressed size exceeds the limit of {limit} bytes"),
        ));
    }
    Ok(out)
}

/// Parser for CloudWatch Logs subscription payloads; see the [module docs](self).
#[derive(Clone, Debug)]
pub struct CloudWatchLogsParser {
    max_decompressed_size: usize,
}

impl Default for CloudWatchLogsParser {
    fn default() -> Self {
        Self {
            max_decompressed_size: DEFAULT_MAX_DECOMPRESSED_SIZE,
        }
    }
}

impl CloudWatchLogsParser {
    /// A parser refusing payloads that decompress to more than `limit` bytes.
    pub fn with_max_decompressed_size(limit: usize) -> Self {
        Self {
            max_decompressed_size: limit,
        }
    }
}

impl RecordParser for CloudWatchLogsParser {
    fn log_type(&self) -> &'static str {
        LOG_TYPE
    }

    fn parse(&mut self, record: &Bytes, out: &mut Vec<ObjectMap>) -> Result<(), ParseError> {
        let start = out.len();
        let result = self.parse_payload(record, out, 0);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }
}

/// A log event id: AWS sends a string; a number is accepted and converted to its decimal text.
struct EventId(String);

impl<'de> Deserialize<'de> for EventId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = EventId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a number")
            }
            fn visit_str<E>(self, v: &str) -> Result<EventId, E> {
                Ok(EventId(v.to_owned()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<EventId, E> {
                Ok(EventId(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<EventId, E> {
                Ok(EventId(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<EventId, E> {
                Ok(EventId(format!("{v:.0}")))
            }
        }
        d.deserialize_any(V)
    }
}

/// A string borrowed from the input when it has no escapes (serde's `Cow` never borrows inside
/// `Option`/`Vec`).
struct CowStr<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for CowStr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = CowStr<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<CowStr<'a>, E> {
                Ok(CowStr(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<CowStr<'a>, E> {
                Ok(CowStr(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<CowStr<'a>, E> {
                Ok(CowStr(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V(std::marker::PhantomData))
    }
}

#[derive(Deserialize)]
struct LogEvent<'a> {
    id: Option<EventId>,
    timestamp: Option<i64>,
    #[serde(borrow)]
    message: Option<CowStr<'a>>,
    #[serde(rename = "extractedFields")]
    extracted_fields: Option<OwnedValue>,
}

#[derive(Deserialize)]
struct AwsLogs<'a> {
    #[serde(borrow)]
    data: CowStr<'a>,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "messageType", borrow)]
    message_type: Option<CowStr<'a>>,
    #[serde(borrow)]
    owner: Option<CowStr<'a>>,
    #[serde(rename = "logGroup", borrow)]
    log_group: Option<CowStr<'a>>,
    #[serde(rename = "logStream", borrow)]
    log_stream: Option<CowStr<'a>>,
    #[serde(rename = "subscriptionFilters", borrow)]
    subscription_filters: Option<Vec<CowStr<'a>>>,
    #[serde(rename = "policyLevel", borrow)]
    policy_level: Option<CowStr<'a>>,
    #[serde(rename = "logEvents", borrow)]
    log_events: Option<Vec<LogEvent<'a>>>,
    #[serde(borrow)]
    awslogs: Option<AwsLogs<'a>>,
}

fn cow_bytes(src: &Bytes, s: &CowStr<'_>) -> Bytes {
    match &s.0 {
        Cow::Borrowed(b) => slice_or_copy(src, b.as_bytes()),
        Cow::Owned(o) => Bytes::copy_from_slice(o.as_bytes()),
    }
}

fn insert(map: &mut ObjectMap, key: &'static str, value: Value) {
    map.insert(KeyString::from(key), value);
}

impl CloudWatchLogsParser {
    fn parse_payload(
        &self,
        record: &Bytes,
        out: &mut Vec<ObjectMap>,
        depth: u8,
    ) -> Result<(), ParseError> {
        let data = if is_gzip(record) {
            Bytes::from(gunzip(LOG_TYPE, record, self.max_decompressed_size)?)
        } else {
            record.clone()
        };
        let mut stream = serde_json::Deserializer::from_slice(&data).into_iter::<Envelope<'_>>();
        let mut envelopes = 0usize;
        loop {
            let start = stream.byte_offset();
            let envelope = match stream.next() {
                None => break,
                Some(Ok(e)) => e,
                Some(Err(e)) => return Err(json_error(LOG_TYPE, "envelope", &data, &e)),
            };
            envelopes += 1;
            self.emit(&data, start, envelope, out, depth)?;
        }
        if envelopes == 0 {
            return Err(ParseError::new(
                LOG_TYPE,
                "envelope",
                0,
                "no subscription envelope in the record",
            ));
        }
        Ok(())
    }

    /// Appends the log events of one envelope (a Lambda trigger event is decoded and parsed as
    /// a payload of its own).
    fn emit(
        &self,
        data: &Bytes,
        start: usize,
        envelope: Envelope<'_>,
        out: &mut Vec<ObjectMap>,
        depth: u8,
    ) -> Result<(), ParseError> {
        let message_type = match (&envelope.message_type, &envelope.awslogs) {
            (Some(t), _) => t.0.as_ref(),
            (None, Some(awslogs)) if depth == 0 => {
                return self.parse_lambda_event(awslogs, start, out, depth)
            }
            (None, _) => {
                return Err(ParseError::new(
                    LOG_TYPE,
                    "messageType",
                    start,
                    "missing messageType: not a CloudWatch Logs subscription envelope",
                ))
            }
        };
        if !is_data_message(message_type, start)? {
            return Ok(());
        }
        let shared = EnvelopeFields::new(data, &envelope);
        let Some(events) = envelope.log_events else {
            return Err(ParseError::new(
                LOG_TYPE,
                "logEvents",
                start,
                "DATA_MESSAGE without logEvents",
            ));
        };
        out.reserve(events.len());
        // The per-event conversion stays in this loop: as a function of its own it made LLVM stop
        // inlining `KeyString::from` (0.9 % more instructions per envelope).
        for (i, event) in events.into_iter().enumerate() {
            let Some(message) = event.message else {
                return Err(ParseError::new(
                    LOG_TYPE,
                    format!("logEvents[{i}].message"),
                    start,
                    "missing message",
                ));
            };
            let ts = event
                .timestamp
                .and_then(DateTime::from_timestamp_millis)
                .ok_or_else(|| {
                    ParseError::new(
                        LOG_TYPE,
                        format!("logEvents[{i}].timestamp"),
                        start,
                        "missing or out-of-range timestamp (epoch milliseconds)",
                    )
                })?;
            let mut map = ObjectMap::new();
            let message = match message.0 {
                Cow::Borrowed(b) => slice_or_copy(data, b.as_bytes()),
                Cow::Owned(o) => Bytes::from(o),
            };
            insert(&mut map, "message", Value::Bytes(message));
            insert(&mut map, "timestamp", Value::Timestamp(ts));
            if let Some(EventId(id)) = event.id {
                if !id.is_empty() {
                    insert(&mut map, "id", Value::Bytes(Bytes::from(id)));
                }
            }
            shared.insert_into(&mut map);
            if let Some(OwnedValue(v)) = event.extracted_fields {
                insert(&mut map, "extracted_fields", v);
            }
            set_log_type(&mut map, LOG_TYPE);
            out.push(map);
        }
        Ok(())
    }

    /// The Lambda trigger event `{"awslogs": {"data": base64(gzip(envelope))}}`: its payload.
    fn parse_lambda_event(
        &self,
        awslogs: &AwsLogs<'_>,
        start: usize,
        out: &mut Vec<ObjectMap>,
        depth: u8,
    ) -> Result<(), ParseError> {
        let compressed = base64::engine::general_purpose::STANDARD
            .decode(awslogs.data.0.trim().as_bytes())
            .map_err(|e| {
                ParseError::new(
                    LOG_TYPE,
                    "awslogs.data",
                    start,
                    format!("invalid base64: {e}"),
                )
            })?;
        self.parse_payload(&Bytes::from(compressed), out, depth + 1)
    }
}

/// The envelope's fields that every one of its log events carries, converted once per envelope.
struct EnvelopeFields {
    owner: Option<Value>,
    group: Option<Value>,
    stream: Option<Value>,
    policy: Option<Value>,
    filters: Option<Value>,
}

impl EnvelopeFields {
    fn new(data: &Bytes, envelope: &Envelope<'_>) -> Self {
        let string = |s: &Option<CowStr<'_>>| s.as_ref().map(|s| Value::Bytes(cow_bytes(data, s)));
        Self {
            owner: string(&envelope.owner),
            group: string(&envelope.log_group),
            stream: string(&envelope.log_stream),
            policy: string(&envelope.policy_level),
            filters: envelope.subscription_filters.as_ref().map(|f| {
                Value::Array(f.iter().map(|s| Value::Bytes(cow_bytes(data, s))).collect())
            }),
        }
    }

    /// Adds the fields present to one event's map.
    fn insert_into(&self, map: &mut ObjectMap) {
        if let Some(v) = &self.group {
            insert(map, "log_group", v.clone());
        }
        if let Some(v) = &self.stream {
            insert(map, "log_stream", v.clone());
        }
        if let Some(v) = &self.owner {
            insert(map, "owner", v.clone());
        }
        if let Some(v) = &self.filters {
            insert(map, "subscription_filters", v.clone());
        }
        if let Some(v) = &self.policy {
            insert(map, "policy_level", v.clone());
        }
    }
}

/// Whether an envelope of `message_type` carries log events (`CONTROL_MESSAGE`s do not).
fn is_data_message(message_type: &str, start: usize) -> Result<bool, ParseError> {
    match message_type {
        "CONTROL_MESSAGE" => Ok(false),
        "DATA_MESSAGE" => Ok(true),
        other => Err(ParseError::new(
            LOG_TYPE,
            "messageType",
            start,
            format!("unknown messageType `{other}`"),
        )),
    }
}

pub mod log_events;

/// Registry content check: an envelope has `messageType` (or, as a Lambda trigger event,
/// `awslogs`) at its top level.
pub fn detect_json(members: &crate::formats::detect::JsonMembers<'_>) -> bool {
    members.has("messageType") || members.has("awslogs")
}

#[cfg(test)]
mod tests;
