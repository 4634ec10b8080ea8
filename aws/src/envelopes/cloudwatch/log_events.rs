//! CloudWatch Logs subscription envelopes, as delivered to Kinesis Data Streams and Firehose:
//! gzip'd JSON `{"messageType", "owner", "logGroup", "logStream", "subscriptionFilters",
//! "logEvents": [{"id", "timestamp", "message"}]}`.
//!
//! Each log event becomes one event shaped for `aws_parse` (`format = "auto"` picks the inner
//! format from the log group):
//!
//! | field | from |
//! |---|---|
//! | `message` | the log event's `message` |
//! | `timestamp` | the log event's `timestamp` (epoch ms) |
//! | `cloudwatch.log_group`, `cloudwatch.log_stream`, `cloudwatch.owner` | the envelope |
//! | `cloudwatch.subscription_filters` | the envelope (array of strings) |
//! | `cloudwatch.id` | the log event's `id`, always a string (moto sends a number) |
//!
//! `CONTROL_MESSAGE` envelopes (destination health checks) yield no event.

use super::{is_gzip, CloudWatchLogsParser};
use crate::formats::RecordParser;
use bytes::Bytes;
use vrl::value::{KeyString, ObjectMap, Value};

/// One decoded log event: its fields, and its id for deterministic event ids.
#[derive(Debug)]
pub struct LogEvent {
    /// `message`, `timestamp` and the `cloudwatch` object.
    pub fields: ObjectMap,
    /// The log event's `id` (empty if the envelope had none).
    pub id: String,
}

/// Why a record is not a usable envelope.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct EnvelopeError(String);

/// True if the record looks like a CloudWatch Logs envelope: gzip'd (subscriptions always
/// compress) or JSON with `messageType`.
pub fn looks_like_envelope(record: &[u8]) -> bool {
    is_gzip(record)
        || (record.first() == Some(&b'{')
            && memchr::memmem::find(record, b"\"messageType\"").is_some())
}

/// Expands one envelope (gzip'd or plain) into its log events; a control message gives none.
pub fn decode(
    record: &Bytes,
    max_decompressed_bytes: usize,
) -> Result<Vec<LogEvent>, EnvelopeError> {
    let mut parser = CloudWatchLogsParser::with_max_decompressed_size(max_decompressed_bytes);
    let mut items = Vec::new();
    parser
        .parse(record, &mut items)
        .map_err(|e| EnvelopeError(e.to_string()))?;
    Ok(items.into_iter().map(reshape).collect())
}

/// The parser's flat fields → `message`, `timestamp` and a `cloudwatch` object.
fn reshape(mut item: ObjectMap) -> LogEvent {
    let mut fields = ObjectMap::new();
    if let Some(message) = item.remove("message") {
        fields.insert(KeyString::from("message"), message);
    }
    if let Some(timestamp) = item.remove("timestamp") {
        fields.insert(KeyString::from("timestamp"), timestamp);
    }
    item.remove("aws");
    let id = match item.get("id") {
        Some(Value::Bytes(b)) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    };
    fields.insert(KeyString::from("cloudwatch"), Value::Object(item));
    LogEvent { fields, id }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gzip(data: &[u8]) -> Bytes {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).unwrap();
        Bytes::from(encoder.finish().unwrap())
    }

    #[test]
    fn data_messages_expand_and_control_messages_vanish() {
        let data = gzip(br#"{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"/aws/lambda/f","logStream":"2024/05/01/[$LATEST]abc","subscriptionFilters":["all"],"logEvents":[{"id":1,"timestamp":1714521600000,"message":"START RequestId: x Version: $LATEST"},{"id":"2","timestamp":1714521600100,"message":"hello"}]}"#);
        assert!(looks_like_envelope(&data));
        let events = decode(&data, 1 << 20).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].id, "1", "a numeric id becomes a string");
        let cw = match events[1].fields.get("cloudwatch") {
            Some(Value::Object(cw)) => cw,
            other => panic!("{other:?}"),
        };
        assert_eq!(cw.get("log_group"), Some(&Value::from("/aws/lambda/f")));
        assert_eq!(cw.get("owner"), Some(&Value::from("123456789012")));
        assert_eq!(events[1].fields.get("message"), Some(&Value::from("hello")));
        assert!(matches!(
            events[1].fields.get("timestamp"),
            Some(Value::Timestamp(_))
        ));

        let control = gzip(br#"{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1714521600000,"message":"CWL CONTROL MESSAGE: Checking health of destination"}]}"#);
        assert!(decode(&control, 1 << 20).unwrap().is_empty());
    }

    #[test]
    fn broken_envelopes_are_errors_not_panics() {
        assert!(!looks_like_envelope(b"plain text"));
        let truncated = gzip(br#"{"messageType":"DATA_MESSAGE","logEvents":[{"#);
        assert!(decode(&truncated, 1 << 20).is_err());
        let mut bad_gzip = gzip(b"{}").to_vec();
        bad_gzip.truncate(6);
        assert!(decode(&Bytes::from(bad_gzip), 1 << 20).is_err());
    }
}
