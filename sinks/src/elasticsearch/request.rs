//! Turning events into bulk-body lines, and documents into request bodies.

use weir_core::template::{RenderCache, Template};
use weir_core::{Event, Value};

use super::config::BulkAction;
use crate::dead_letter::Rejection;
use crate::event_key::{event_id, field_text, split_path};

/// One document of a bulk request: its event and its two body lines (action and source).
pub(super) struct Doc {
    pub(super) event: Event,
    pub(super) lines: Vec<u8>,
}

/// Encodes events as bulk lines.
pub(super) struct DocEncoder {
    index: Template,
    cache: RenderCache,
    id_field: Option<Vec<String>>,
    action: BulkAction,
    data_stream: bool,
    index_buf: String,
}

impl DocEncoder {
    pub(super) fn new(
        index: Template,
        id_field: Option<&str>,
        action: BulkAction,
        data_stream: bool,
    ) -> Self {
        Self {
            index,
            cache: RenderCache::default(),
            id_field: id_field.map(split_path),
            action,
            data_stream,
            index_buf: String::new(),
        }
    }

    /// The event as a bulk document, or the event and the reason when it cannot be one.
    pub(super) fn encode(&mut self, event: Event) -> Result<Doc, Box<Rejection>> {
        if let Err(error) = self
            .index
            .render_into(&event, &mut self.index_buf, &mut self.cache)
        {
            return Err(Box::new(Rejection {
                event,
                reason: format!("index template: {error}"),
            }));
        }
        if self.index_buf.is_empty() {
            return Err(Box::new(Rejection {
                event,
                reason: "index template rendered an empty name".into(),
            }));
        }
        let id = match &self.id_field {
            Some(path) => field_text(&event, path),
            None => event_id(&event).map(String::into_bytes),
        };
        let mut lines = Vec::with_capacity(256);
        lines.extend_from_slice(b"{\"");
        lines.extend_from_slice(self.action.as_str().as_bytes());
        lines.extend_from_slice(b"\":{\"_index\":");
        weir_core::json::write_str(self.index_buf.as_bytes(), &mut lines);
        if let Some(id) = id {
            lines.extend_from_slice(b",\"_id\":");
            weir_core::json::write_str(&id, &mut lines);
        }
        lines.extend_from_slice(b"}}\n");
        if self.data_stream && !event.fields.contains_key("@timestamp") {
            // Data streams need `@timestamp`; add it without copying the event's fields.
            let mut doc = Vec::new();
            weir_core::json::write_fields(&event.fields, &mut doc);
            let mut ts = Vec::new();
            weir_core::json::write_value(&Value::Timestamp(event.timestamp()), &mut ts);
            lines.extend_from_slice(b"{\"@timestamp\":");
            lines.extend_from_slice(&ts);
            if doc.len() > 2 {
                lines.push(b',');
                lines.extend_from_slice(&doc[1..]);
            } else {
                lines.push(b'}');
            }
        } else {
            weir_core::json::write_fields(&event.fields, &mut lines);
        }
        lines.push(b'\n');
        Ok(Doc { event, lines })
    }
}

/// The uncompressed body of a bulk request over `docs`.
pub(super) fn body(docs: &[Doc]) -> Vec<u8> {
    let len = docs.iter().map(|d| d.lines.len()).sum();
    let mut body = Vec::with_capacity(len);
    for doc in docs {
        body.extend_from_slice(&doc.lines);
    }
    body
}

/// gzip-compresses a body.
pub(super) fn gzip(body: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4),
        flate2::Compression::fast(),
    );
    encoder.write_all(body)?;
    encoder.finish()
}
