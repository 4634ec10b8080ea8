//! Dead letters of the sinks that deliver to a remote server and may refuse events for good
//! (`kafka`, `elasticsearch`): the [`Rejection`] a sink collects for a refused event, the
//! dead-letter event made of it, and [`DeadLetters`], which hands them to the `dead_letter` output
//! (or logs and counts them when nothing consumes it).

use std::sync::Arc;

use weir_core::ack::EventStatus;
use weir_core::metrics::ComponentMetrics;
use weir_core::output::Outputs;
use weir_core::{Event, KeyString, ObjectMap, Value};

use crate::errors::ErrorType;
use crate::throttle::LogThrottle;

/// The name of the dead-letter output of the delivering sinks (core's [`weir_core::output::DEAD_LETTER`]).
pub use weir_core::output::DEAD_LETTER;

/// The dead-letter event for a rejected event: `event` (the original fields), `reason`, `sink`
/// (the sink's id), `timestamp` (when it was rejected), plus the original metadata, so whatever
/// writes the dead letter acknowledges the original batch.
pub fn dead_letter_event(event: Event, reason: &str, sink: &str) -> Event {
    let Event { fields, metadata } = event;
    let mut out = ObjectMap::new();
    out.insert(KeyString::from("event"), Value::Object(fields.into_map()));
    out.insert(KeyString::from("reason"), Value::from(reason));
    out.insert(KeyString::from("sink"), Value::from(sink));
    out.insert(
        KeyString::from("timestamp"),
        Value::Timestamp(chrono::Utc::now()),
    );
    Event::new(out, metadata)
}

/// Rejected events waiting to be handed to the dead-letter output.
pub struct Rejection {
    /// The event as the sink received it.
    pub event: Event,
    /// Why the server (or the sink) refused it.
    pub reason: String,
}

/// Hands rejected events to the `dead_letter` output, or logs and counts them when nothing
/// consumes it. Either way the sink's own copy is finalized as `Rejected`.
pub struct DeadLetters {
    sink: Arc<str>,
    throttle: LogThrottle,
    metrics: ComponentMetrics,
}

impl DeadLetters {
    /// Dead-letter handling for sink `sink`.
    pub fn new(sink: Arc<str>, metrics: ComponentMetrics) -> Self {
        Self {
            sink,
            throttle: LogThrottle::default(),
            metrics,
        }
    }

    /// Sends `rejected` on, finalizing each original copy as `Rejected`.
    pub async fn send(&mut self, out: &mut Outputs, rejected: Vec<Rejection>) {
        if rejected.is_empty() {
            return;
        }
        let n = rejected.len() as u64;
        self.metrics.error(ErrorType::Rejected.as_str(), n);
        let consumed = out.named_has_consumers(DEAD_LETTER);
        if let Some(suppressed) = self.throttle.check() {
            let first = &rejected[0].reason;
            tracing::warn!(
                component = %self.sink,
                events = n,
                suppressed,
                reason = %first,
                dead_letter = consumed,
                "events rejected by the server"
            );
        }
        let mut letters = Vec::with_capacity(rejected.len());
        for Rejection { mut event, reason } in rejected {
            if consumed {
                // The sink's copy ends Rejected; the dead letter carries the batch on until it is
                // written, so the source hears about the batch only after that.
                let mut own = event.metadata.finalizers.clone();
                own.finalize(EventStatus::Rejected);
                letters.push(dead_letter_event(event, &reason, &self.sink));
            } else {
                event.metadata.finalizers.finalize(EventStatus::Rejected);
            }
        }
        if !letters.is_empty() {
            out.send_named(DEAD_LETTER, letters).await;
        }
    }
}
