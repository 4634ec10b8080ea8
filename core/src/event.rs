//! The event model: fields of `vrl` values (so VRL programs run on events without conversion; see
//! [`crate::fields`] for the two forms they take) plus metadata the pipeline needs but that is not
//! part of the record itself.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use vrl::value::{KeyString, ObjectMap, Value};

use crate::ack::{EventFinalizer, EventFinalizers, EventStatus};
use crate::fields::Fields;
use crate::path_record::Found;

/// Where an event came from inside its source: which stream (a file path, an S3 object) and where in it.
///
/// Parsers that keep per-stream state (a CloudFront `#Fields:` header, a VPC Flow header line) key it
/// on `stream`; `offset` orders records within the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamPosition {
    /// Stream identity: a file path, `s3://bucket/key`, a Kinesis shard.
    pub stream: Arc<str>,
    /// Byte offset of the record's start (or its ordinal, for sources without byte offsets).
    pub offset: u64,
}

/// Everything about an event that is not one of its fields.
#[derive(Clone, Debug)]
pub struct EventMetadata {
    /// Id of the source component that created the event.
    pub source_id: Arc<str>,
    /// Type name of that source (`file`, `aws_s3`, …).
    pub source_type: &'static str,
    /// When the source read the event.
    pub ingest_timestamp: DateTime<Utc>,
    /// Stream identity and offset, for sources that read ordered streams.
    pub stream: Option<StreamPosition>,
    /// A deterministic id (same input record → same id across redeliveries), when the source has one.
    pub id: Option<Arc<str>>,
    /// The last error a transform met on this event and let it continue with (a `remap` with
    /// `drop_on_error = false`): VRL programs read it as `%error`.
    pub error: Option<Arc<str>>,
    /// The acknowledgement handles this copy carries.
    pub finalizers: EventFinalizers,
}

impl EventMetadata {
    /// Metadata for a fresh event of a source.
    pub fn new(
        source_id: Arc<str>,
        source_type: &'static str,
        ingest_timestamp: DateTime<Utc>,
    ) -> Self {
        Self {
            source_id,
            source_type,
            ingest_timestamp,
            stream: None,
            id: None,
            error: None,
            finalizers: EventFinalizers::none(),
        }
    }

    /// The same metadata, read at `offset` of `stream` (see [`StreamPosition`]).
    pub fn at(mut self, stream: Arc<str>, offset: u64) -> Self {
        self.stream = Some(StreamPosition { stream, offset });
        self
    }

    /// The same metadata, carrying one acknowledgement handle (of the source's batch).
    pub fn acknowledged_by(mut self, finalizer: EventFinalizer) -> Self {
        self.finalizers = EventFinalizers::one(finalizer);
        self
    }
}

/// One log record travelling through the pipeline.
#[derive(Clone, Debug)]
pub struct Event {
    /// The record's fields.
    pub fields: Fields,
    /// Its metadata, including acknowledgement handles.
    pub metadata: EventMetadata,
}

/// The field that holds a record's raw text.
pub const MESSAGE: &str = "message";
/// The field that holds a record's time.
pub const TIMESTAMP: &str = "timestamp";

impl Event {
    /// An event with the given fields.
    pub fn new(fields: impl Into<Fields>, metadata: EventMetadata) -> Self {
        Self {
            fields: fields.into(),
            metadata,
        }
    }

    /// An event whose only field is `message`.
    pub fn from_message(message: impl Into<Value>, metadata: EventMetadata) -> Self {
        let mut fields = ObjectMap::new();
        fields.insert(KeyString::from(MESSAGE), message.into());
        Self::new(fields, metadata)
    }

    /// The field at a dotted path (`a.b.c`), if present.
    pub fn get_path(&self, path: &[impl AsRef<str>]) -> Option<&Value> {
        if let Some(record) = self.fields.path_record() {
            match record.find(path) {
                Found::Value(value) => return Some(value),
                Found::Absent => return None,
                Found::Nested => {}
            }
        }
        let (first, rest) = path.split_first()?;
        let mut value = self.fields.get(first.as_ref())?;
        for segment in rest {
            value = match value {
                Value::Object(map) => map.get(segment.as_ref())?,
                _ => return None,
            };
        }
        Some(value)
    }

    /// Merges `object` into the object at a dotted path (`a.b.c`), creating the objects on the
    /// way; a value in the way that is not an object is replaced. Keys of `object` win over the
    /// keys already there: two enrichments of one field (a city, then an ASN database) end in
    /// one object.
    pub fn merge_object_at(&mut self, path: &[impl AsRef<str>], object: ObjectMap) {
        let Some((first, rest)) = path.split_first() else {
            return;
        };
        // Where nothing is yet (the usual case), `object` goes in whole: no key-by-key merge
        // into a fresh empty map.
        let Some(mut value) = self.fields.get_mut(first.as_ref()) else {
            let inner = rest
                .iter()
                .rev()
                .fold(Value::Object(object), |inner, segment| {
                    let mut map = ObjectMap::new();
                    map.insert(KeyString::from(segment.as_ref()), inner);
                    Value::Object(map)
                });
            self.fields.insert(KeyString::from(first.as_ref()), inner);
            return;
        };
        for segment in rest {
            if !matches!(value, Value::Object(_)) {
                *value = Value::Object(ObjectMap::new());
            }
            let Value::Object(map) = value else {
                return;
            };
            value = match map.entry(KeyString::from(segment.as_ref())) {
                std::collections::btree_map::Entry::Occupied(entry) => entry.into_mut(),
                std::collections::btree_map::Entry::Vacant(entry) => {
                    entry.insert(Value::Object(ObjectMap::new()))
                }
            };
        }
        match value {
            Value::Object(existing) if !existing.is_empty() => existing.extend(object),
            other => *other = Value::Object(object),
        }
    }

    /// The raw `message` field as bytes, if it is a string.
    pub fn message_bytes(&self) -> Option<&[u8]> {
        match self.fields.get(MESSAGE) {
            Some(Value::Bytes(b)) => Some(b),
            Some(Value::String(s)) => Some(s.as_bytes()),
            _ => None,
        }
    }

    /// The event's time: its `timestamp` field if that is a timestamp, else the ingest time.
    pub fn timestamp(&self) -> DateTime<Utc> {
        match self.fields.get(TIMESTAMP) {
            Some(Value::Timestamp(ts)) => *ts,
            _ => self.metadata.ingest_timestamp,
        }
    }

    /// Records how this copy left the pipeline (see [`crate::ack`]).
    pub fn finalize(mut self, status: EventStatus) {
        self.metadata.finalizers.finalize(status);
    }
}

/// Finalizes every event of a batch with one status.
pub fn finalize_all(events: Vec<Event>, status: EventStatus) {
    for event in events {
        event.finalize(status);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_path_walks_objects() {
        let mut inner = ObjectMap::new();
        inner.insert("log_type".into(), Value::from("alb"));
        let mut fields = ObjectMap::new();
        fields.insert("aws".into(), Value::Object(inner));
        let event = Event::new(fields, EventMetadata::new("s".into(), "test", Utc::now()));
        assert_eq!(
            event.get_path(&["aws", "log_type"]),
            Some(&Value::from("alb"))
        );
        assert_eq!(event.get_path(&["aws", "missing"]), None);
        assert_eq!(event.get_path(&["aws", "log_type", "deeper"]), None);
    }

    #[test]
    fn merge_object_at_creates_and_merges() {
        let mut event =
            Event::from_message("x", EventMetadata::new("s".into(), "test", Utc::now()));
        let one = |k: &str, v: i64| {
            let mut m = ObjectMap::new();
            m.insert(k.into(), Value::from(v));
            m
        };
        event.merge_object_at(&["client", "geo"], one("a", 1));
        event.merge_object_at(&["client", "geo"], one("b", 2));
        assert_eq!(
            event.get_path(&["client", "geo", "a"]),
            Some(&Value::from(1))
        );
        assert_eq!(
            event.get_path(&["client", "geo", "b"]),
            Some(&Value::from(2))
        );
        event.merge_object_at(&["message", "x"], one("c", 3));
        assert_eq!(
            event.get_path(&["message", "x", "c"]),
            Some(&Value::from(3))
        );
    }
}
