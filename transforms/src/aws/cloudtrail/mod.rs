//! AWS CloudTrail: events, `{"Records":[...]}` log files, digest files and Insights events.
//!
//! Input (one framed record) is any of:
//! * one event object (CloudWatch Logs delivery, EventBridge `detail`, or an element cut out of a
//!   log file by [`crate::aws::json_records::RecordsSplitter`]) → one output;
//! * a whole log file body `{"Records":[ event, ... ]}` → one output per event (if any element is
//!   invalid the whole document fails and nothing is emitted for it; use the streaming splitter to
//!   parse element by element);
//! * an EventBridge envelope `{"detail-type": "AWS API Call via CloudTrail", "detail": {...}}` →
//!   one output, the `detail` event;
//! * a digest file (recognised by a top-level `digestStartTime`, `digestEndTime` or
//!   `digestSignatureAlgorithm`) → one output with `aws.log_type` `cloudtrail_digest`, or nothing
//!   when built with [`CloudTrailParser::skip_digests`].
//!
//! # Field naming (a deliberate exception to snake_case)
//!
//! Events are emitted **with CloudTrail's own JSON keys, unchanged** (`eventName`, `userIdentity`,
//! `requestParameters`, `sourceIPAddress`, ...), nested exactly as in the JSON, with their JSON
//! types (strings `Value::Bytes`, numbers, booleans, `null` kept as `Value::Null`). CloudTrail's
//! schema is large, open-ended and versioned, the free-form `requestParameters` /
//! `responseElements` cannot be renamed safely, and every CloudTrail tool and query (Athena, Lake,
//! SIEM rules) uses these names; renaming only the top level would mix two conventions. Only the
//! fields below are added; `eventTime` is kept as the string AWS sent.
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `timestamp` | timestamp | `eventTime` (events) / `digestEndTime` (digests), parsed as RFC 3339 UTC |
//! | `aws.log_type` | string | `cloudtrail` for events and Insights events, `cloudtrail_digest` for digest files |
//! | `aws.cloudtrail_kind` | string | `event` (management/data/network-activity events), `insight` (`eventType` `AwsCloudTrailInsight`), `digest` |
//! | *every CloudTrail key* | as in JSON | e.g. `eventVersion`, `userIdentity` {`type`, `arn`, ...}, `eventTime`, `eventSource`, `eventName`, `awsRegion`, `sourceIPAddress`, `userAgent`, `errorCode`, `errorMessage`, `requestParameters`, `responseElements`, `additionalEventData`, `requestID`, `eventID`, `eventType`, `readOnly`, `resources`, `recipientAccountId`, `eventCategory`, `tlsDetails`, `insightDetails` |
//! | *every digest key* | as in JSON | `awsAccountId`, `digestStartTime`, `digestEndTime`, `digestS3Bucket`, `digestS3Object`, `newestEventTime`, `oldestEventTime`, `previousDigest*`, `logFiles` [...] |
//!
//! Errors: input that is not JSON, not an object, an event without a parseable `eventTime`, a
//! `Records` value that is not an array of objects, a digest without a parseable `digestEndTime`.

use bytes::Bytes;
use vrl::value::{KeyString, ObjectMap, Value};

use crate::aws::json_records::value::{
    key_offset, kind_name, parse_object, parse_rfc3339, value_str,
};
use crate::aws::{set_log_type, ParseError, RecordParser};

/// `aws.log_type` of CloudTrail events (including Insights events).
pub const LOG_TYPE: &str = "cloudtrail";
/// `aws.log_type` of CloudTrail digest files.
pub const DIGEST_LOG_TYPE: &str = "cloudtrail_digest";

/// Parser for CloudTrail events, log files and digest files; see the [module docs](self).
#[derive(Clone, Debug)]
pub struct CloudTrailParser {
    emit_digests: bool,
}

impl Default for CloudTrailParser {
    fn default() -> Self {
        Self::new()
    }
}

impl CloudTrailParser {
    /// A parser that emits digest files as `cloudtrail_digest` records.
    pub fn new() -> Self {
        Self { emit_digests: true }
    }

    /// A parser that recognises digest files and consumes them without output.
    pub fn skip_digests() -> Self {
        Self {
            emit_digests: false,
        }
    }
}

impl RecordParser for CloudTrailParser {
    fn log_type(&self) -> &'static str {
        LOG_TYPE
    }

    fn parse(&mut self, record: &Bytes, out: &mut Vec<ObjectMap>) -> Result<(), ParseError> {
        let start = out.len();
        let result = self.parse_document(record, out);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }
}

fn set_kind(map: &mut ObjectMap, kind: &'static str) {
    if let Some(Value::Object(aws)) = map.get_mut("aws") {
        aws.insert(
            KeyString::from("cloudtrail_kind"),
            Value::from(Bytes::from_static(kind.as_bytes())),
        );
    }
}

/// True if the object is a CloudTrail digest file.
pub fn is_digest(map: &ObjectMap) -> bool {
    map.contains_key("digestStartTime")
        || map.contains_key("digestEndTime")
        || map.contains_key("digestSignatureAlgorithm")
}

impl CloudTrailParser {
    fn parse_document(&self, record: &Bytes, out: &mut Vec<ObjectMap>) -> Result<(), ParseError> {
        let mut map = parse_object(LOG_TYPE, record)?;
        if let Some(records) = map.remove("Records") {
            let Value::Array(items) = records else {
                return Err(ParseError::new(
                    LOG_TYPE,
                    "Records",
                    key_offset(record, "Records"),
                    format!("expected an array, found {}", kind_name(&records)),
                ));
            };
            out.reserve(items.len());
            for (i, item) in items.into_iter().enumerate() {
                match item {
                    Value::Object(event) => out.push(finish_event(event, record, Some(i))?),
                    other => {
                        return Err(ParseError::new(
                            LOG_TYPE,
                            format!("Records[{i}]"),
                            key_offset(record, "Records"),
                            format!("expected an event object, found {}", kind_name(&other)),
                        ))
                    }
                }
            }
            return Ok(());
        }
        if is_digest(&map) {
            let digest = finish_digest(map, record)?;
            if self.emit_digests {
                out.push(digest);
            }
            return Ok(());
        }
        // EventBridge delivery: the event is `detail`.
        if map.contains_key("detail-type") && !map.contains_key("eventTime") {
            if let Some(Value::Object(detail)) = map.remove("detail") {
                out.push(finish_event(detail, record, None)?);
                return Ok(());
            }
        }
        out.push(finish_event(map, record, None)?);
        Ok(())
    }
}

fn finish_event(
    mut event: ObjectMap,
    record: &[u8],
    index: Option<usize>,
) -> Result<ObjectMap, ParseError> {
    let field = |name: &str| match index {
        Some(i) => format!("Records[{i}].{name}"),
        None => name.to_owned(),
    };
    let time = match event.get("eventTime") {
        None => {
            return Err(ParseError::new(
                LOG_TYPE,
                field("eventTime"),
                0,
                "missing eventTime: not a CloudTrail event",
            ))
        }
        Some(v) => value_str(v).and_then(parse_rfc3339).ok_or_else(|| {
            ParseError::new(
                LOG_TYPE,
                field("eventTime"),
                key_offset(record, "eventTime"),
                "eventTime is not an RFC 3339 time",
            )
        })?,
    };
    let insight = event.get("eventType").and_then(value_str) == Some("AwsCloudTrailInsight");
    event.insert(KeyString::from("timestamp"), Value::Timestamp(time));
    set_log_type(&mut event, LOG_TYPE);
    set_kind(&mut event, if insight { "insight" } else { "event" });
    Ok(event)
}

fn finish_digest(mut digest: ObjectMap, record: &[u8]) -> Result<ObjectMap, ParseError> {
    let time = digest
        .get("digestEndTime")
        .and_then(value_str)
        .and_then(parse_rfc3339)
        .ok_or_else(|| {
            ParseError::new(
                DIGEST_LOG_TYPE,
                "digestEndTime",
                key_offset(record, "digestEndTime"),
                "digest file without an RFC 3339 digestEndTime",
            )
        })?;
    digest.insert(KeyString::from("timestamp"), Value::Timestamp(time));
    set_log_type(&mut digest, DIGEST_LOG_TYPE);
    set_kind(&mut digest, "digest");
    Ok(digest)
}

#[cfg(test)]
mod tests;
