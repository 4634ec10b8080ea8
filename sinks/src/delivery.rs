//! Pieces shared by the sinks that deliver to a remote server and may refuse events for good
//! (`kafka`, `elasticsearch`): the deterministic event id, dead-letter events, and plugin metric
//! families registered in the core registry.

use std::sync::Arc;

use prometheus::core::Collector;
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry};
use weir_core::ack::EventStatus;
use weir_core::metrics::ComponentMetrics;
use weir_core::output::Outputs;
use weir_core::{Event, KeyString, ObjectMap, Value};

use crate::throttle::LogThrottle;

/// The name of the dead-letter output of the delivering sinks.
pub const DEAD_LETTER: &str = "dead_letter";

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
        self.metrics.error("rejected", n);
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

/// Metric families of one sink instance, labelled with its component id.
pub struct Families {
    registry: Registry,
    component_id: String,
    component_type: &'static str,
}

impl Families {
    /// Families for the component behind `metrics`.
    pub fn new(metrics: &ComponentMetrics, component_type: &'static str) -> Self {
        Self {
            registry: metrics.registry().clone(),
            component_id: metrics.component_id().to_string(),
            component_type,
        }
    }

    fn opts(&self, name: &str, help: &str) -> Opts {
        Opts::new(name, help)
            .const_label("component_id", self.component_id.clone())
            .const_label("component_kind", "sink")
            .const_label("component_type", self.component_type)
    }

    /// Registers `collector`, replacing one of the same component (a rebuilt sink after reload).
    fn register<C: Collector + Clone + 'static>(&self, collector: C) -> C {
        if let Err(prometheus::Error::AlreadyReg) =
            self.registry.register(Box::new(collector.clone()))
        {
            let _ = self.registry.unregister(Box::new(collector.clone()));
            if let Err(error) = self.registry.register(Box::new(collector.clone())) {
                tracing::warn!(%error, "cannot register sink metrics");
            }
        }
        collector
    }

    /// A counter family with extra labels.
    pub fn counter(&self, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
        let vec = IntCounterVec::new(self.opts(name, help), labels)
            .unwrap_or_else(|_| unreachable_metric(name));
        self.register(vec)
    }

    /// A gauge family with extra labels.
    pub fn gauge(&self, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
        let vec = IntGaugeVec::new(self.opts(name, help), labels)
            .unwrap_or_else(|_| unreachable_metric(name));
        self.register(vec)
    }

    /// A histogram family (seconds buckets from 1 ms to 60 s).
    pub fn histogram(&self, name: &str, help: &str, labels: &[&str]) -> HistogramVec {
        let opts: HistogramOpts = HistogramOpts::from(self.opts(name, help)).buckets(vec![
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
            60.0,
        ]);
        let vec = HistogramVec::new(opts, labels).unwrap_or_else(|_| unreachable_metric(name));
        self.register(vec)
    }
}

/// Metric names and labels are constants of this crate; a bad one is a programming error.
fn unreachable_metric(name: &str) -> ! {
    panic!("invalid metric definition {name}")
}
