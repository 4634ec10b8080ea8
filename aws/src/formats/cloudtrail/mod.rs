//! AWS CloudTrail: events, `{"Records":[...]}` log files, digest files and Insights events.
//!
//! Input (one framed record) is any of:
//! * one event object (CloudWatch Logs delivery, EventBridge `detail`, or an element cut out of a
//!   log file by [`crate::formats::json_reader::RecordsSplitter`]) → one output;
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

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use vrl::value::{KeyString, ObjectMap, Value};
use weir_core::fields::{Fields, Record, Schema};

use crate::formats::json_reader::parser::{parse_with_schema, SchemaObject};
use crate::formats::json_reader::value::{
    first_non_whitespace, key_offset, kind_name, parse_rfc3339, value_str,
};
use crate::formats::{set_log_type, ParseError, RecordParser, AWS};

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

    fn parse_fields(&mut self, record: &Bytes, out: &mut Vec<Fields>) -> Result<(), ParseError> {
        let start = out.len();
        let result = self.parse_document(record, out);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    fn parse(&mut self, record: &Bytes, out: &mut Vec<ObjectMap>) -> Result<(), ParseError> {
        let mut fields = Vec::new();
        self.parse_fields(record, &mut fields)?;
        out.extend(fields.into_iter().map(Fields::into_map));
        Ok(())
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

/// The `aws` value of events of `kind`: `{"log_type": "cloudtrail", "cloudtrail_kind": kind}`.
fn aws_value(kind: &'static str) -> Value {
    let mut aws = ObjectMap::new();
    aws.insert(
        KeyString::from("log_type"),
        Value::Bytes(Bytes::from_static(LOG_TYPE.as_bytes())),
    );
    aws.insert(
        KeyString::from("cloudtrail_kind"),
        Value::Bytes(Bytes::from_static(kind.as_bytes())),
    );
    Value::Object(aws)
}

/// True if the object is a CloudTrail digest file.
pub fn is_digest(map: &ObjectMap) -> bool {
    map.contains_key("digestStartTime")
        || map.contains_key("digestEndTime")
        || map.contains_key("digestSignatureAlgorithm")
}

/// The top-level keys of CloudTrail events (AWS's record contents reference), plus the
/// `timestamp` and `aws` this parser adds: an event's members under these names are held in a
/// [`Record`] without copying the names (about half of an event's keys are top-level); other
/// members stay map entries. Events and Insights events differ in their `aws` constant.
const EVENT_KEYS: &[&str] = &[
    "additionalEventData",
    "addendum",
    "apiVersion",
    "awsRegion",
    "edgeDeviceDetails",
    "errorCode",
    "errorMessage",
    "eventCategory",
    "eventID",
    "eventName",
    "eventSource",
    "eventTime",
    "eventType",
    "eventVersion",
    "insightDetails",
    "managementEvent",
    "readOnly",
    "recipientAccountId",
    "requestID",
    "requestParameters",
    "resources",
    "responseElements",
    "serviceEventDetails",
    "sessionCredentialFromConsole",
    "sharedEventID",
    "sourceIPAddress",
    "timestamp",
    "tlsDetails",
    "userAgent",
    "userIdentity",
    "vpcEndpointAccountId",
    "vpcEndpointId",
];

/// The event schemas: (event, insight).
fn schemas() -> &'static (Arc<Schema>, Arc<Schema>) {
    static SCHEMAS: OnceLock<(Arc<Schema>, Arc<Schema>)> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        let keys: Vec<KeyString> = EVENT_KEYS.iter().map(|k| KeyString::from(*k)).collect();
        let with_kind = |kind| {
            Arc::new(Schema::new(keys.clone()).with_constant(KeyString::from(AWS), aws_value(kind)))
        };
        (with_kind("event"), with_kind("insight"))
    })
}

impl CloudTrailParser {
    fn parse_document(&self, record: &Bytes, out: &mut Vec<Fields>) -> Result<(), ParseError> {
        let (event_schema, _) = schemas();
        let SchemaObject {
            mut values,
            mut others,
        } = match parse_with_schema(record, event_schema) {
            Ok(Ok(object)) => object,
            Ok(Err(other)) => {
                return Err(ParseError::new(
                    LOG_TYPE,
                    "record",
                    first_non_whitespace(record),
                    format!("expected a JSON object, found {}", kind_name(&other)),
                ))
            }
            Err(e) => {
                return Err(ParseError::new(
                    LOG_TYPE,
                    "record",
                    e.offset,
                    format!("invalid JSON: {}", e.message),
                ))
            }
        };
        if let Some(records) = others.remove("Records") {
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
                    Value::Object(event) => out.push(finish_event(event, record, Some(i))?.into()),
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
        if is_digest(&others) {
            let digest = finish_digest(into_map(event_schema, values, others), record)?;
            if self.emit_digests {
                out.push(digest.into());
            }
            return Ok(());
        }
        // EventBridge delivery: the event is `detail`.
        if others.contains_key("detail-type")
            && value_at(event_schema, &values, "eventTime").is_none()
        {
            if let Some(Value::Object(detail)) = others.remove("detail") {
                out.push(finish_event(detail, record, None)?.into());
                return Ok(());
            }
        }
        let time = event_time_of(value_at(event_schema, &values, "eventTime"), record, None)?;
        let insight = value_at(event_schema, &values, "eventType").and_then(value_str)
            == Some("AwsCloudTrailInsight");
        for (name, value) in [("timestamp", Some(Value::Timestamp(time))), (AWS, None)] {
            // The added fields replace members of the same names; `aws` is the schema's.
            if let Some(slot) = event_schema.position(name).and_then(|i| values.get_mut(i)) {
                *slot = value;
            }
        }
        let (events, insights) = schemas();
        let schema = if insight { insights } else { events };
        out.push(Fields::with_record(
            Record::new(Arc::clone(schema), values),
            others,
        ));
        Ok(())
    }
}

/// The value of member `name` of a schema object.
fn value_at<'a>(schema: &Schema, values: &'a [Option<Value>], name: &str) -> Option<&'a Value> {
    schema
        .position(name)
        .and_then(|i| values.get(i))
        .and_then(Option::as_ref)
}

/// A schema object as a map.
fn into_map(schema: &Arc<Schema>, values: Vec<Option<Value>>, others: ObjectMap) -> ObjectMap {
    Fields::with_record(Record::new(Arc::clone(schema), values), others).into_map()
}

/// An event's time: its `eventTime` as RFC 3339.
fn event_time_of(
    event_time: Option<&Value>,
    record: &[u8],
    index: Option<usize>,
) -> Result<DateTime<Utc>, ParseError> {
    let field = |name: &str| match index {
        Some(i) => format!("Records[{i}].{name}"),
        None => name.to_owned(),
    };
    match event_time {
        None => Err(ParseError::new(
            LOG_TYPE,
            field("eventTime"),
            0,
            "missing eventTime: not a CloudTrail event",
        )),
        Some(v) => value_str(v).and_then(parse_rfc3339).ok_or_else(|| {
            ParseError::new(
                LOG_TYPE,
                field("eventTime"),
                key_offset(record, "eventTime"),
                "eventTime is not an RFC 3339 time",
            )
        }),
    }
}

fn finish_event(
    mut event: ObjectMap,
    record: &[u8],
    index: Option<usize>,
) -> Result<ObjectMap, ParseError> {
    let time = event_time_of(event.get("eventTime"), record, index)?;
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

/// Registry content check: an event (`eventVersion`), a digest (`digestStartTime`) or a log file
/// (`Records`), by top-level keys only (S3 notifications, also `Records`, are checked first).
pub fn detect_json(members: &crate::formats::detect::JsonMembers<'_>) -> bool {
    members.has("eventVersion") || members.has("digestStartTime") || members.has("Records")
}

mod classify;
mod ecs;
mod ocsf;
#[cfg(test)]
mod tests;

/// ECS `aws.cloudtrail` and OCSF Authentication / Account Change / API Activity (see [`ecs`] and
/// [`ocsf`]).
pub const MAPPINGS: crate::normalize::Mappings = crate::normalize::Mappings {
    ecs: crate::normalize::EcsMapping {
        dataset: "aws.cloudtrail",
        native_path: "aws.cloudtrail",
        map: Some(ecs::map),
    },
    ocsf: crate::normalize::OcsfMapping {
        product: "CloudTrail",
        map: Some(ocsf::map),
        classes: "Authentication 3002, Account Change 3001 or API Activity 6003 by event name; Insights: Base Event 0",
    },
};
