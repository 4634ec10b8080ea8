//! A component's outputs: the default one and any named ones (`<id>.errors`, `<id>.dead_letter`),
//! each fanning out to every consumer that lists it as an input.

use std::collections::BTreeMap;

use prometheus::IntCounter;
use tokio::sync::mpsc;

use crate::ack::EventStatus;
use crate::buffer::BufferSender;
use crate::event::{finalize_all, Event};
use crate::metrics::{ComponentMetrics, DEFAULT_OUTPUT};

/// A change to a fan-out's consumer list, applied between batches (used by rewiring on reload).
pub enum FanoutControl {
    /// Add (or replace) the consumer with this id.
    Add(String, BufferSender),
    /// Remove the consumer with this id.
    Remove(String),
}

/// One output port feeding several consumers. Under `block` buffers the slowest consumer sets the
/// pace: a batch is handed to each consumer in turn, waiting for room in each.
pub struct Fanout {
    consumers: Vec<(String, BufferSender)>,
    control: Option<mpsc::UnboundedReceiver<FanoutControl>>,
    sent: IntCounter,
    discarded: IntCounter,
}

impl Fanout {
    /// A fan-out to the given consumers (`(consumer id, buffer)`).
    pub fn new(
        consumers: Vec<(String, BufferSender)>,
        control: Option<mpsc::UnboundedReceiver<FanoutControl>>,
        sent: IntCounter,
        discarded: IntCounter,
    ) -> Self {
        Self {
            consumers,
            control,
            sent,
            discarded,
        }
    }

    fn apply_control(&mut self) {
        let Some(control) = self.control.as_mut() else {
            return;
        };
        while let Ok(msg) = control.try_recv() {
            match msg {
                FanoutControl::Add(id, sender) => {
                    self.consumers.retain(|(c, _)| *c != id);
                    self.consumers.push((id, sender));
                }
                FanoutControl::Remove(id) => self.consumers.retain(|(c, _)| *c != id),
            }
        }
    }

    /// Whether anything consumes this output.
    pub fn has_consumers(&mut self) -> bool {
        self.apply_control();
        !self.consumers.is_empty()
    }

    /// Sends a batch to every consumer. With no consumer the events are discarded and acknowledged
    /// as dropped. A consumer that has gone away gets its copy finalized as errored.
    pub async fn send(&mut self, events: Vec<Event>) {
        if events.is_empty() {
            return;
        }
        self.apply_control();
        let n = events.len() as u64;
        let Some(((_, last), rest)) = self.consumers.split_last() else {
            self.discarded.inc_by(n);
            finalize_all(events, EventStatus::Dropped);
            return;
        };
        for (consumer, sender) in rest {
            if sender.send(events.clone()).await.is_err() {
                tracing::debug!(consumer, "consumer closed; its copies are errored");
            }
        }
        if last.send(events).await.is_err() {
            tracing::debug!("consumer closed; its copies are errored");
        }
        self.sent.inc_by(n);
    }
}

/// All outputs of one component.
pub struct Outputs {
    default: Fanout,
    named: BTreeMap<String, Fanout>,
    metrics: ComponentMetrics,
}

impl Outputs {
    /// Outputs from their fan-outs.
    pub fn new(
        default: Fanout,
        named: BTreeMap<String, Fanout>,
        metrics: ComponentMetrics,
    ) -> Self {
        Self {
            default,
            named,
            metrics,
        }
    }

    /// Sends a batch on the default output, waiting while downstream is full.
    pub async fn send(&mut self, events: Vec<Event>) {
        self.default.send(events).await;
    }

    /// Sends a batch on a named output (`errors`, `dead_letter`). Unknown names discard the events
    /// (acknowledged as dropped) and count an error, since that is a programming mistake.
    pub async fn send_named(&mut self, name: &str, events: Vec<Event>) {
        match self.named.get_mut(name) {
            Some(fanout) => fanout.send(events).await,
            None => {
                self.metrics.error("unknown_output", 1);
                self.metrics.discarded.inc_by(events.len() as u64);
                finalize_all(events, EventStatus::Dropped);
            }
        }
    }

    /// Whether a named output has consumers (so a sink can log instead of building a dead-letter event).
    pub fn named_has_consumers(&mut self, name: &str) -> bool {
        self.named.get_mut(name).is_some_and(Fanout::has_consumers)
    }

    /// The component's metrics.
    pub fn metrics(&self) -> &ComponentMetrics {
        &self.metrics
    }
}

/// The metric label for an output name.
pub fn output_label(name: Option<&str>) -> &str {
    name.unwrap_or(DEFAULT_OUTPUT)
}
