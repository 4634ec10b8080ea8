//! Amazon S3 event notifications, as received from SQS (or Lambda): a typed Rust API for the S3
//! source ([`parse_notification`]) and a [`RecordParser`] emitting one record per object event.
//!
//! Accepted bodies:
//! * direct S3 notifications `{"Records":[{"eventName", "eventTime", "awsRegion", "s3": {"bucket",
//!   "object"}, ...}]}` (event versions 2.0–2.3; the object key is URL-encoded with `+` for space
//!   and is **decoded**);
//! * the same wrapped in an SNS envelope (`"Type": "Notification"`, the S3 JSON in the `Message`
//!   string, parsed a second time);
//! * EventBridge events (`"source": "aws.s3"`, `detail-type` `Object Created`, `Object Deleted`,
//!   `Object Restore Completed`, ...; the key is **not** URL-encoded and is kept as is);
//! * the `s3:TestEvent` message sent when a notification configuration is created (direct or via
//!   SNS): [`Notification::Test`], no output record.
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `bucket` | string | bucket name (`s3.bucket.name` / `detail.bucket.name`) |
//! | `key` | string | object key, URL-decoded for direct/SNS notifications |
//! | `size` | integer | object size in bytes (absent for deletions) |
//! | `etag` | string | `s3.object.eTag` / `detail.object.etag` |
//! | `version_id` | string | `s3.object.versionId` / `detail.object.version-id` |
//! | `sequencer` | string | ordering key for events on the same key |
//! | `event_name` | string | `eventName` (`ObjectCreated:Put`, ...) or EventBridge `detail-type` (`Object Created`) |
//! | `event_time` | timestamp | `eventTime` / EventBridge `time` |
//! | `timestamp` | timestamp | same as `event_time` |
//! | `region` | string | `awsRegion` / EventBridge `region` |
//! | `delivery` | string | `direct`, `sns` or `eventbridge` |
//! | `request_id` | string | `responseElements.x-amz-request-id` / `detail.request-id` |
//! | `source_ip_address` | string | `requestParameters.sourceIPAddress` / `detail.source-ip-address` |
//! | `requester` | string | `userIdentity.principalId` / `detail.requester` |
//! | `configuration_id` | string | `s3.configurationId` (direct/SNS) |
//! | `reason` | string | EventBridge `detail.reason` (`PutObject`, `Lifecycle Expiration`, ...) |
//! | `deletion_type` | string | EventBridge `detail.deletion-type` |
//! | `aws.log_type` | string | `s3_notification` |
//!
//! Errors: invalid JSON, an SNS message that is not a notification (for example
//! `SubscriptionConfirmation`), a record without bucket name or key, a key that does not decode to
//! UTF-8, an invalid event time, a body of none of the shapes above. Errors inside an SNS
//! `Message` name the field `Message.<field>` and give the offset of the `Message` key.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde_json::Value as Json;
use vrl::value::{KeyString, ObjectMap, Value};

use crate::formats::json_reader::value::{json_error, key_offset, parse_rfc3339};
use crate::formats::{set_log_type, ParseError, RecordParser};

/// `aws.log_type` of S3 event notification records.
pub const LOG_TYPE: &str = "s3_notification";

/// How the notification reached the queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// S3 → SQS (or Lambda) directly, or SNS with raw message delivery.
    Direct,
    /// Through an SNS topic without raw message delivery.
    Sns,
    /// Through Amazon EventBridge.
    EventBridge,
}

impl Delivery {
    /// `direct`, `sns` or `eventbridge`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::Sns => "sns",
            Self::EventBridge => "eventbridge",
        }
    }
}

/// One object event of a notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3ObjectEvent {
    /// Bucket name.
    pub bucket: String,
    /// Object key, URL-decoded (direct/SNS) or as sent (EventBridge).
    pub key: String,
    /// Object size in bytes.
    pub size: Option<u64>,
    /// Object ETag.
    pub etag: Option<String>,
    /// Object version id.
    pub version_id: Option<String>,
    /// Sequencer (orders events for the same key).
    pub sequencer: Option<String>,
    /// `eventName` (`ObjectCreated:Put`) or EventBridge `detail-type` (`Object Created`).
    pub event_name: String,
    /// Event time.
    pub event_time: Option<DateTime<Utc>>,
    /// Region of the bucket.
    pub region: Option<String>,
    /// How the notification was delivered.
    pub delivery: Delivery,
    /// S3 request id.
    pub request_id: Option<String>,
    /// IP address of the requester.
    pub source_ip_address: Option<String>,
    /// Requester principal / account.
    pub requester: Option<String>,
    /// Notification configuration id (direct/SNS).
    pub configuration_id: Option<String>,
    /// EventBridge `detail.reason`.
    pub reason: Option<String>,
    /// EventBridge `detail.deletion-type`.
    pub deletion_type: Option<String>,
}

impl S3ObjectEvent {
    /// True for object-creation events (`ObjectCreated:*`, EventBridge `Object Created`): the
    /// events an S3 source reads objects for.
    pub fn is_object_created(&self) -> bool {
        self.event_name.starts_with("ObjectCreated:") || self.event_name == "Object Created"
    }
}

/// A parsed notification body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notification {
    /// The `s3:TestEvent` sent when a notification configuration is created.
    Test,
    /// Object events (possibly none: `{"Records":[]}`).
    Objects(Vec<S3ObjectEvent>),
}

fn err(field: impl Into<String>, offset: usize, message: impl Into<String>) -> ParseError {
    ParseError::new(LOG_TYPE, field, offset, message)
}

fn str_at<'a>(v: &'a Json, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str()
}

fn string_at(v: &Json, path: &[&str]) -> Option<String> {
    str_at(v, path).map(str::to_owned)
}

fn size_at(v: &Json, path: &[&str]) -> Option<u64> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_u64()
        .or_else(|| cur.as_str().and_then(|s| s.parse().ok()))
}

/// Decodes an S3 notification key: `+` is a space, `%xx` escapes are bytes, the result is UTF-8.
pub fn decode_key(key: &str) -> Option<String> {
    let plus_decoded = key.replace('+', " ");
    percent_encoding::percent_decode_str(&plus_decoded)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

/// Parses an SQS message body carrying an S3 event notification; see the [module docs](self).
pub fn parse_notification(body: &[u8]) -> Result<Notification, ParseError> {
    parse_body(body, Delivery::Direct)
}

fn parse_body(body: &[u8], delivery: Delivery) -> Result<Notification, ParseError> {
    let json: Json =
        serde_json::from_slice(body).map_err(|e| json_error(LOG_TYPE, "record", body, &e))?;
    let Some(obj) = json.as_object() else {
        return Err(err("record", 0, "expected a JSON object"));
    };
    if obj.get("Event").and_then(Json::as_str) == Some("s3:TestEvent") {
        return Ok(Notification::Test);
    }
    if let Some(records) = obj.get("Records") {
        let Some(records) = records.as_array() else {
            return Err(err(
                "Records",
                key_offset(body, "Records"),
                "expected an array",
            ));
        };
        let mut events = Vec::with_capacity(records.len());
        for (i, r) in records.iter().enumerate() {
            events.push(record_event(r, i, body, delivery)?);
        }
        return Ok(Notification::Objects(events));
    }
    if let Some(kind) = obj.get("Type").and_then(Json::as_str) {
        if delivery != Delivery::Direct {
            return Err(err("Type", key_offset(body, "Type"), "nested SNS envelope"));
        }
        if kind != "Notification" {
            return Err(err(
                "Type",
                key_offset(body, "Type"),
                format!("SNS message of type `{kind}` is not a notification"),
            ));
        }
        let at = key_offset(body, "Message");
        let Some(message) = obj.get("Message").and_then(Json::as_str) else {
            return Err(err(
                "Message",
                at,
                "SNS notification without a Message string",
            ));
        };
        return parse_body(message.as_bytes(), Delivery::Sns).map_err(|e| {
            let mut e = e;
            e.field = format!("Message.{}", e.field);
            e.offset = at;
            e
        });
    }
    if obj.get("source").and_then(Json::as_str) == Some("aws.s3") {
        if let Some(detail) = obj.get("detail").filter(|d| d.is_object()) {
            return Ok(Notification::Objects(vec![eventbridge_event(
                &json, detail, body,
            )?]));
        }
    }
    Err(err("record", 0, "not an S3 event notification (no Records, SNS Notification, EventBridge aws.s3 event or s3:TestEvent)"))
}

fn time_at(
    v: &Json,
    key: &str,
    field: String,
    body: &[u8],
) -> Result<Option<DateTime<Utc>>, ParseError> {
    match v.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(t) => t
            .as_str()
            .and_then(parse_rfc3339)
            .map(Some)
            .ok_or_else(|| err(field, key_offset(body, key), "not an RFC 3339 time")),
    }
}

fn record_event(
    r: &Json,
    i: usize,
    body: &[u8],
    delivery: Delivery,
) -> Result<S3ObjectEvent, ParseError> {
    let field = |name: &str| format!("Records[{i}].{name}");
    let bucket = string_at(r, &["s3", "bucket", "name"]).ok_or_else(|| {
        err(
            field("s3.bucket.name"),
            key_offset(body, "Records"),
            "missing bucket name",
        )
    })?;
    let raw_key = str_at(r, &["s3", "object", "key"]).ok_or_else(|| {
        err(
            field("s3.object.key"),
            key_offset(body, "Records"),
            "missing object key",
        )
    })?;
    let key = decode_key(raw_key).ok_or_else(|| {
        err(
            field("s3.object.key"),
            key_offset(body, "key"),
            "key does not decode to UTF-8",
        )
    })?;
    let event_name = string_at(r, &["eventName"]).ok_or_else(|| {
        err(
            field("eventName"),
            key_offset(body, "Records"),
            "missing eventName",
        )
    })?;
    Ok(S3ObjectEvent {
        bucket,
        key,
        size: size_at(r, &["s3", "object", "size"]),
        etag: string_at(r, &["s3", "object", "eTag"]),
        version_id: string_at(r, &["s3", "object", "versionId"]),
        sequencer: string_at(r, &["s3", "object", "sequencer"]),
        event_name,
        event_time: time_at(r, "eventTime", field("eventTime"), body)?,
        region: string_at(r, &["awsRegion"]),
        delivery,
        request_id: string_at(r, &["responseElements", "x-amz-request-id"]),
        source_ip_address: string_at(r, &["requestParameters", "sourceIPAddress"]),
        requester: string_at(r, &["userIdentity", "principalId"]),
        configuration_id: string_at(r, &["s3", "configurationId"]),
        reason: None,
        deletion_type: None,
    })
}

fn eventbridge_event(json: &Json, detail: &Json, body: &[u8]) -> Result<S3ObjectEvent, ParseError> {
    let bucket = string_at(detail, &["bucket", "name"]).ok_or_else(|| {
        err(
            "detail.bucket.name",
            key_offset(body, "detail"),
            "missing bucket name",
        )
    })?;
    let key = string_at(detail, &["object", "key"]).ok_or_else(|| {
        err(
            "detail.object.key",
            key_offset(body, "detail"),
            "missing object key",
        )
    })?;
    let event_name = string_at(json, &["detail-type"])
        .ok_or_else(|| err("detail-type", 0, "EventBridge event without detail-type"))?;
    Ok(S3ObjectEvent {
        bucket,
        key,
        size: size_at(detail, &["object", "size"]),
        etag: string_at(detail, &["object", "etag"]),
        version_id: string_at(detail, &["object", "version-id"]),
        sequencer: string_at(detail, &["object", "sequencer"]),
        event_name,
        event_time: time_at(json, "time", "time".to_owned(), body)?,
        region: string_at(json, &["region"]),
        delivery: Delivery::EventBridge,
        request_id: string_at(detail, &["request-id"]),
        source_ip_address: string_at(detail, &["source-ip-address"]),
        requester: string_at(detail, &["requester"]),
        configuration_id: None,
        reason: string_at(detail, &["reason"]),
        deletion_type: string_at(detail, &["deletion-type"]),
    })
}

/// Parser emitting one record per object event; see the [module docs](self).
#[derive(Clone, Debug, Default)]
pub struct S3NotificationParser;

fn put_str(map: &mut ObjectMap, key: &'static str, v: Option<String>) {
    if let Some(v) = v {
        map.insert(KeyString::from(key), Value::Bytes(Bytes::from(v)));
    }
}

impl S3ObjectEvent {
    /// The event as a parsed record (fields as in the [module docs](self)).
    pub fn into_record(self) -> ObjectMap {
        let mut map = ObjectMap::new();
        put_str(&mut map, "bucket", Some(self.bucket));
        put_str(&mut map, "key", Some(self.key));
        if let Some(size) = self.size.and_then(|s| i64::try_from(s).ok()) {
            map.insert(KeyString::from("size"), Value::Integer(size));
        }
        put_str(&mut map, "etag", self.etag);
        put_str(&mut map, "version_id", self.version_id);
        put_str(&mut map, "sequencer", self.sequencer);
        put_str(&mut map, "event_name", Some(self.event_name));
        if let Some(t) = self.event_time {
            map.insert(KeyString::from("event_time"), Value::Timestamp(t));
            map.insert(KeyString::from("timestamp"), Value::Timestamp(t));
        }
        put_str(&mut map, "region", self.region);
        map.insert(
            KeyString::from("delivery"),
            Value::Bytes(Bytes::from_static(self.delivery.as_str().as_bytes())),
        );
        put_str(&mut map, "request_id", self.request_id);
        put_str(&mut map, "source_ip_address", self.source_ip_address);
        put_str(&mut map, "requester", self.requester);
        put_str(&mut map, "configuration_id", self.configuration_id);
        put_str(&mut map, "reason", self.reason);
        put_str(&mut map, "deletion_type", self.deletion_type);
        set_log_type(&mut map, LOG_TYPE);
        map
    }
}

impl RecordParser for S3NotificationParser {
    fn log_type(&self) -> &'static str {
        LOG_TYPE
    }

    fn parse(&mut self, record: &Bytes, out: &mut Vec<ObjectMap>) -> Result<(), ParseError> {
        match parse_notification(record)? {
            Notification::Test => Ok(()),
            Notification::Objects(events) => {
                out.extend(events.into_iter().map(S3ObjectEvent::into_record));
                Ok(())
            }
        }
    }
}

/// Registry content check, on top-level members only: a test event, an SNS notification, an
/// EventBridge S3 event, or a `Records` array whose first record comes from `aws:s3`.
pub fn detect_json(members: &crate::formats::detect::JsonMembers<'_>) -> bool {
    members.str("Event") == Some(b"s3:TestEvent")
        || (members.has("TopicArn") && members.str("Type") == Some(b"Notification"))
        || members.first_record_str("eventSource") == Some(b"aws:s3")
        || (members.has("detail-type") && members.str("source") == Some(b"aws.s3"))
}

#[cfg(test)]
mod tests;
