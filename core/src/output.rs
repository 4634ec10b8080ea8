//! A component's outputs: the default one and any named ones (`<id>.errors`, `<id>.dead_letter`),
//! each fanning out to every consumer that lists it as an input.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, Weak};

use prometheus::IntCounter;

use crate::ack::EventStatus;
use crate::buffer::BufferSender;
use crate::event::{finalize_all, Event};
use crate::metrics::ComponentMetrics;

/// The named output of sources and transforms for records they could not process (`<id>.errors`):
/// oversize lines, unreadable objects, unparseable records, each with an `error` object. When
/// nothing consumes it, those events continue on the main output (error object and all) and are
/// counted in `weir_component_unconsumed_errors_total`: a failed parse is tagged, never lost
/// unseen, as Filebeat, Logstash and Vector's `remap` users expect.
pub const ERRORS: &str = "errors";

/// The named output of sinks for events the destination rejected for good (`<id>.dead_letter`).
pub const DEAD_LETTER: &str = "dead_letter";

/// The consumers of one output port: `(consumer id, its input buffer)`.
///
/// Shared between the producing component's [`Fanout`] and the topology, so a reload can add,
/// replace or remove consumers at once, even while the producer is idle. Only producers hold
/// these lists strongly (the topology keeps a [`WeakConsumers`]): when a producer finishes, its
/// lists go, their buffer senders go, and consumers whose every producer is gone see their input
/// end — the shutdown cascade.
#[derive(Clone, Default)]
pub struct Consumers(Arc<Mutex<ConsumerList>>);

/// One snapshot of a port's consumers: `(consumer id, its input buffer)`.
pub type ConsumerList = Arc<Vec<(String, BufferSender)>>;

/// A [`Consumers`] handle that does not keep the list (and the buffers in it) alive.
#[derive(Clone, Default)]
pub struct WeakConsumers(Weak<Mutex<ConsumerList>>);

impl Consumers {
    /// A list with these consumers.
    pub fn new(consumers: Vec<(String, BufferSender)>) -> Self {
        Self(Arc::new(Mutex::new(Arc::new(consumers))))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ConsumerList> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The consumers right now; a send works on this snapshot, so a concurrent change applies from
    /// the next batch on.
    pub fn snapshot(&self) -> ConsumerList {
        Arc::clone(&self.lock())
    }

    /// Adds the consumer `id`, or points it at a new buffer if it is already there.
    pub fn set(&self, id: &str, sender: BufferSender) {
        let mut list = self.lock();
        let mut next: Vec<_> = list.iter().filter(|(c, _)| c != id).cloned().collect();
        next.push((id.to_string(), sender));
        *list = Arc::new(next);
    }

    /// Removes the consumer `id` (its buffer closes once no other producer feeds it).
    pub fn remove(&self, id: &str) {
        let mut list = self.lock();
        if list.iter().any(|(c, _)| c == id) {
            *list = Arc::new(list.iter().filter(|(c, _)| c != id).cloned().collect());
        }
    }

    /// The ids of the consumers.
    pub fn ids(&self) -> Vec<String> {
        self.snapshot().iter().map(|(c, _)| c.clone()).collect()
    }

    /// A handle that does not keep the list alive.
    pub fn downgrade(&self) -> WeakConsumers {
        WeakConsumers(Arc::downgrade(&self.0))
    }
}

impl WeakConsumers {
    /// The list, if its producer still runs.
    pub fn upgrade(&self) -> Option<Consumers> {
        self.0.upgrade().map(Consumers)
    }
}

/// One output port feeding several consumers. Under `block` buffers the slowest consumer sets the
/// pace: a batch is handed to each consumer in turn, waiting for room in each.
pub struct Fanout {
    consumers: Consumers,
    sent: IntCounter,
    discarded: IntCounter,
}

impl Fanout {
    /// A fan-out to the given consumers (`(consumer id, buffer)`).
    pub fn new(
        consumers: Vec<(String, BufferSender)>,
        sent: IntCounter,
        discarded: IntCounter,
    ) -> Self {
        Self::shared(Consumers::new(consumers), sent, discarded)
    }

    /// A fan-out to a consumer list the topology can change while it runs.
    pub fn shared(consumers: Consumers, sent: IntCounter, discarded: IntCounter) -> Self {
        Self {
            consumers,
            sent,
            discarded,
        }
    }

    /// Whether anything consumes this output.
    pub fn has_consumers(&self) -> bool {
        !self.consumers.snapshot().is_empty()
    }

    /// Sends a batch to every consumer. With no consumer the events are discarded and acknowledged
    /// as dropped. A consumer that has gone away gets its copy finalized as errored.
    pub async fn send(&mut self, events: Vec<Event>) {
        if events.is_empty() {
            return;
        }
        let consumers = self.consumers.snapshot();
        let n = events.len() as u64;
        let Some(((_, last), rest)) = consumers.split_last() else {
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

    /// Sends a batch on a named output (`errors`, `dead_letter`). `errors` events go on the main
    /// output when nothing consumes `errors` (see [`ERRORS`]). Unknown names discard the events
    /// (acknowledged as dropped) and count an error, since that is a programming mistake.
    pub async fn send_named(&mut self, name: &str, events: Vec<Event>) {
        match self.named.get_mut(name) {
            Some(fanout) if name == ERRORS && !fanout.has_consumers() => {
                self.metrics.unconsumed_errors.inc_by(events.len() as u64);
                self.default.send(events).await;
            }
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
        self.named.get(name).is_some_and(Fanout::has_consumers)
    }

    /// The component's metrics.
    pub fn metrics(&self) -> &ComponentMetrics {
        &self.metrics
    }
}
