//! What every source shares: the batch a reader hands to the task that owns the [`Outputs`]
//! ([`SourceBatch`], [`forward`]), and the `on_rejected` vocabulary ([`OnRejected`]).
//!
//! A source's readers (one per file, object, shard…) do not own the outputs: they send
//! [`SourceBatch`]es over an `mpsc` channel to the one task that does, which [`forward`]s them —
//! error events to `<id>.errors` ([`ERRORS`]) first, then the events to the default output.

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Deserializer, Serialize};
use tokio::sync::mpsc;

use crate::event::Event;
use crate::output::{Outputs, ERRORS};

/// One batch from a source's reader: events for the default output and error events for
/// `<id>.errors`.
#[derive(Debug, Default)]
pub struct SourceBatch {
    /// Events for the default output.
    pub events: Vec<Event>,
    /// Events for `<id>.errors` (records that could not be read or decoded, with `error` set).
    pub errors: Vec<Event>,
}

/// The sending half readers hold.
pub type BatchSender = mpsc::Sender<SourceBatch>;

impl SourceBatch {
    /// A batch of these events and error events.
    pub fn new(events: Vec<Event>, errors: Vec<Event>) -> Self {
        Self { events, errors }
    }

    /// A batch of error events only.
    pub fn errors(errors: Vec<Event>) -> Self {
        Self {
            events: Vec::new(),
            errors,
        }
    }

    /// Whether the batch holds no event at all.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.errors.is_empty()
    }

    /// Sends the batch: its error events to `<id>.errors`, then its events to the default output
    /// (each waiting while downstream is full; an empty part is not sent).
    pub async fn send(self, out: &mut Outputs) {
        if !self.errors.is_empty() {
            out.send_named(ERRORS, self.errors).await;
        }
        if !self.events.is_empty() {
            out.send(self.events).await;
        }
    }
}

/// Forwards every batch received to the outputs until every sender is gone, then drops the
/// outputs, so downstream sees its input end and drains.
pub async fn forward(mut rx: mpsc::Receiver<SourceBatch>, mut out: Outputs) {
    while let Some(batch) = rx.recv().await {
        batch.send(&mut out).await;
    }
    drop(out);
}

/// `on_rejected`: what a source does with what it read (a line range, an SQS message, a shard
/// position) when a sink rejected some of its events for good (`Rejected`). Retriable failures
/// (`Errored`: an outage, a sink torn down) always keep it at the source, whatever this says.
///
/// Each source's documentation says what the two words mean for it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnRejected {
    /// Keep it at the source (default): not advanced past, not deleted; it is read again.
    #[default]
    Retry,
    /// Give it up and move on: counted, and **lost** unless the sink dead-letters it.
    Skip,
}

// The words `on_rejected` accepts, for the schema of [`OnRejected`]: the current ones and the
// deprecated ones (its doc comment is the schema's description).
/// `on_rejected`: what a source does with what it read when a sink rejected some of its events
/// for good. Retriable failures always keep it at the source.
#[derive(schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
#[schemars(rename = "OnRejected")]
enum OnRejectedWords {
    /// Keep it at the source (default): not advanced past, not deleted; it is read again.
    Retry,
    /// Give it up and move on: counted, and **lost** unless the sink dead-letters it.
    Skip,
    /// Deprecated spelling of `retry` (formerly the `file` source's word).
    #[schemars(extend("deprecated" = true))]
    Hold,
    /// Deprecated spelling of `skip` (formerly the `aws_s3` source's word).
    #[schemars(extend("deprecated" = true))]
    Delete,
}

/// The accepted words, current first.
const WORDS: &[&str] = &["retry", "skip", "hold", "delete"];

impl OnRejected {
    /// The value of an `on_rejected` word; the deprecated `hold` and `delete` are accepted (with
    /// a warning, logged once per word) for one release.
    pub fn from_word(word: &str) -> Option<Self> {
        static HOLD_WARNED: AtomicBool = AtomicBool::new(false);
        static DELETE_WARNED: AtomicBool = AtomicBool::new(false);
        let (value, warned, instead) = match word {
            "retry" => return Some(Self::Retry),
            "skip" => return Some(Self::Skip),
            "hold" => (Self::Retry, &HOLD_WARNED, "retry"),
            "delete" => (Self::Skip, &DELETE_WARNED, "skip"),
            _ => return None,
        };
        if !warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "on_rejected = \"{word}\" is deprecated and will be removed in the next release; \
                 write on_rejected = \"{instead}\" (same meaning)"
            );
        }
        Some(value)
    }
}

impl<'de> Deserialize<'de> for OnRejected {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = OnRejected;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("`retry` or `skip`")
            }
            fn visit_str<E: serde::de::Error>(self, word: &str) -> Result<OnRejected, E> {
                OnRejected::from_word(word).ok_or_else(|| E::unknown_variant(word, &WORDS[..2]))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

impl schemars::JsonSchema for OnRejected {
    fn schema_name() -> Cow<'static, str> {
        "OnRejected".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        OnRejectedWords::json_schema(generator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_and_new_words() {
        let parse = |w: &str| serde_json::from_value::<OnRejected>(serde_json::json!(w));
        assert_eq!(parse("retry").unwrap(), OnRejected::Retry);
        assert_eq!(parse("skip").unwrap(), OnRejected::Skip);
        assert_eq!(parse("hold").unwrap(), OnRejected::Retry);
        assert_eq!(parse("delete").unwrap(), OnRejected::Skip);
        let error = parse("drop").unwrap_err().to_string();
        assert_eq!(
            error, "unknown variant `drop`, expected `retry` or `skip`",
            "{error}"
        );
        assert_eq!(
            serde_json::to_value(OnRejected::Skip).unwrap(),
            serde_json::json!("skip")
        );
    }

    #[test]
    fn the_schema_lists_every_word() {
        let schema = schemars::schema_for!(OnRejected);
        let text = serde_json::to_string(&schema).unwrap();
        for word in WORDS {
            assert!(text.contains(&format!("\"{word}\"")), "{word}: {text}");
        }
        assert!(text.contains("deprecated"), "{text}");
    }
}
