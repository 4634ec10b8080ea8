//! Line encodings shared by the sinks that write events as lines.

use serde::{Deserialize, Serialize};
use weir_core::Event;

use crate::errors::ErrorType;

/// How an event becomes one line of output.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// One JSON object per line holding all of the event's fields (the default).
    #[default]
    Ndjson,
    /// The raw bytes of the `message` field, one per line. Events without a string `message` are
    /// rejected.
    Text,
}

/// An event could not be encoded.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// `text` encoding, but the event has no string `message` field.
    #[error("the event has no string `message` field")]
    MissingMessage,
}

impl EncodeError {
    /// The `error_type` label this error is counted under.
    pub fn error_type(&self) -> &'static str {
        match self {
            EncodeError::MissingMessage => ErrorType::MissingMessage.as_str(),
        }
    }
}

impl Encoding {
    /// Appends the event's line, newline included, to `out`. On error `out` is left unchanged.
    pub fn encode_into(self, event: &Event, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        match self {
            Encoding::Text => {
                let message = event.message_bytes().ok_or(EncodeError::MissingMessage)?;
                out.reserve(message.len() + 1);
                out.extend_from_slice(message);
                out.push(b'\n');
            }
            Encoding::Ndjson => {
                weir_core::json::write_fields(&event.fields, out);
                out.push(b'\n');
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use weir_core::{EventMetadata, ObjectMap, Value};

    fn meta() -> EventMetadata {
        EventMetadata::new("src".into(), "test", chrono::Utc::now())
    }

    #[test]
    fn text_and_ndjson() {
        let event = Event::from_message("hello", meta());
        let mut out = Vec::new();
        Encoding::Text.encode_into(&event, &mut out).unwrap();
        Encoding::Ndjson.encode_into(&event, &mut out).unwrap();
        assert_eq!(out, b"hello\n{\"message\":\"hello\"}\n");
    }

    #[test]
    fn text_without_message_is_an_error_and_leaves_the_buffer_alone() {
        let mut fields = ObjectMap::new();
        fields.insert("message".into(), Value::Integer(3));
        let event = Event::new(fields, meta());
        let mut out = b"x\n".to_vec();
        let error = Encoding::Text.encode_into(&event, &mut out).unwrap_err();
        assert_eq!(error.error_type(), "missing_message");
        assert_eq!(out, b"x\n");
    }
}
