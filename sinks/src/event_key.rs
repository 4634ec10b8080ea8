//! What the delivering sinks (`kafka`, `elasticsearch`) read from an event to address it: the
//! deterministic event id (Kafka message key, Elasticsearch document id) and the text of a field
//! named by a dotted path (`key_field`, `id_field`).

use weir_core::{Event, Value};

/// The event's deterministic id: its metadata id when the source set one, else one derived from
/// its stream position (`<xxh3 of the stream, hex>-<offset>`: a file path and byte offset give the
/// same id every time the same line is read). `None` for events without either.
pub fn event_id(event: &Event) -> Option<String> {
    if let Some(id) = &event.metadata.id {
        return Some(id.to_string());
    }
    event.metadata.stream.as_ref().map(|position| {
        format!(
            "{:016x}-{}",
            xxhash_rust::xxh3::xxh3_64(position.stream.as_bytes()),
            position.offset
        )
    })
}

/// A field at a dotted path as text (strings as they are, other scalars in their JSON form);
/// `None` when missing or not a scalar.
pub fn field_text(event: &Event, path: &[String]) -> Option<Vec<u8>> {
    match event.get_path(path)? {
        Value::Bytes(bytes) => Some(bytes.to_vec()),
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Object(_) | Value::Array(_) | Value::Null => None,
        other => {
            let mut out = Vec::new();
            weir_core::json::write_value(other, &mut out);
            Some(out)
        }
    }
}

/// Splits a dotted field path.
pub fn split_path(path: &str) -> Vec<String> {
    path.split('.').map(str::to_string).collect()
}
