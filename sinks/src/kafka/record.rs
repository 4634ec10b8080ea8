//! Turning an event into what a Kafka message needs: topic, key, headers and payload.

use std::collections::BTreeMap;

use rdkafka::message::{Header, OwnedHeaders};
use weir_core::template::{RenderCache, Template};
use weir_core::Event;

use crate::encoding::Encoding;
use crate::event_key::{event_id, field_text, split_path};

/// One event's message parts.
#[derive(Debug)]
pub(super) struct RecordFields {
    pub(super) topic: String,
    pub(super) key: Option<Vec<u8>>,
    pub(super) headers: OwnedHeaders,
    pub(super) payload: Vec<u8>,
}

/// Builds [`RecordFields`] from events.
pub(super) struct RecordBuilder {
    topic: Template,
    cache: RenderCache,
    key_field: Option<Vec<String>>,
    headers: Vec<(String, Vec<String>)>,
    encoding: Encoding,
}

impl RecordBuilder {
    pub(super) fn new(
        topic: Template,
        key_field: Option<&str>,
        headers: &BTreeMap<String, String>,
        encoding: Encoding,
    ) -> Self {
        Self {
            topic,
            cache: RenderCache::default(),
            key_field: key_field.map(split_path),
            headers: headers
                .iter()
                .map(|(name, path)| (name.clone(), split_path(path)))
                .collect(),
            encoding,
        }
    }

    /// The message parts, or why the event cannot become a message.
    pub(super) fn build(&mut self, event: &Event) -> Result<RecordFields, String> {
        let mut topic = String::new();
        self.topic
            .render_into(event, &mut topic, &mut self.cache)
            .map_err(|error| format!("topic template: {error}"))?;
        if topic.is_empty() {
            return Err("topic template rendered an empty topic".into());
        }
        let key = match &self.key_field {
            Some(path) => field_text(event, path),
            None => event_id(event).map(String::into_bytes),
        };
        let mut headers = OwnedHeaders::new_with_capacity(self.headers.len());
        for (name, path) in &self.headers {
            if let Some(value) = field_text(event, path) {
                headers = headers.insert(Header {
                    key: name,
                    value: Some(&value),
                });
            }
        }
        let mut payload = Vec::with_capacity(256);
        match self.encoding {
            Encoding::Ndjson => weir_core::json::write_fields(&event.fields, &mut payload),
            Encoding::Text => {
                let message = event
                    .message_bytes()
                    .ok_or_else(|| "the event has no string `message` field".to_string())?;
                payload.extend_from_slice(message);
            }
        }
        Ok(RecordFields {
            topic,
            key,
            headers,
            payload,
        })
    }
}
