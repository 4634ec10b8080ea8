//! Bounded buffers between components, counted in events (not batches).
//!
//! A buffer is an unbounded channel of batches guarded by a semaphore holding `max_events` permits: a
//! sender takes one permit per event before it enqueues, the receiver gives them back when it takes the
//! batch out. So the number of queued events never exceeds `max_events`, whatever the batch sizes
//! (batches larger than the buffer are split), and a full buffer either makes the sender wait
//! (`block`: backpressure travels upstream to the sources) or drops the newest events
//! (`drop_newest`: counted and acknowledged as dropped).

use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, Semaphore, TryAcquireError};

use crate::ack::EventStatus;
use crate::event::{finalize_all, Event};
use crate::metrics::ComponentMetrics;

/// What a full buffer does with new events.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WhenFull {
    /// Wait for room: upstream slows down, nothing is lost.
    #[default]
    Block,
    /// Drop the events that do not fit; they are counted and acknowledged as dropped.
    DropNewest,
}

/// Default capacity of a sink's buffer: 500 events, as Vector's. Parsed events take a few KiB
/// each, so this bounds a buffer to a few MiB; measured end to end (one thread, ALB, CloudTrail,
/// CloudFront) it lowers peak RSS by 10–16 MB against 2048 for no more instructions, since the
/// sink still drains whole batches.
pub const DEFAULT_MAX_EVENTS: usize = 500;

/// The smallest `buffer.max_events` (stated in the schema; the pipeline loader checks it).
pub const MAX_EVENTS_MIN: usize = 1;

/// A sink's `buffer` table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BufferConfig {
    /// Capacity in events.
    #[serde(default = "default_max_events")]
    #[schemars(range(min = MAX_EVENTS_MIN))]
    pub max_events: usize,
    /// `block` (default) or `drop_newest`.
    #[serde(default)]
    pub when_full: WhenFull,
}

fn default_max_events() -> usize {
    DEFAULT_MAX_EVENTS
}

impl Default for BufferConfig {
    fn default() -> Self {
        Self {
            max_events: DEFAULT_MAX_EVENTS,
            when_full: WhenFull::Block,
        }
    }
}

struct Shared {
    permits: Semaphore,
    max_events: usize,
    when_full: WhenFull,
    metrics: ComponentMetrics,
}

struct Chunk {
    events: Vec<Event>,
    permits: u32,
}

/// The writing end of a buffer; cloned for every producer feeding the same consumer.
#[derive(Clone)]
pub struct BufferSender {
    tx: mpsc::UnboundedSender<Chunk>,
    shared: Arc<Shared>,
}

/// A handle on a buffer that does not keep it open: the topology holds one per consumer so that a
/// reload can wire new producers to it, while the buffer still closes (and its consumer finishes)
/// once every real producer is gone.
#[derive(Clone)]
pub struct WeakBufferSender {
    tx: mpsc::WeakUnboundedSender<Chunk>,
    shared: Arc<Shared>,
}

impl WeakBufferSender {
    /// A real sender, if the buffer is still open.
    pub fn upgrade(&self) -> Option<BufferSender> {
        Some(BufferSender {
            tx: self.tx.upgrade()?,
            shared: Arc::clone(&self.shared),
        })
    }
}

/// The reading end of a buffer, owned by the consuming component.
pub struct BufferReceiver {
    rx: mpsc::UnboundedReceiver<Chunk>,
    shared: Arc<Shared>,
}

/// The consumer is gone; the events could not be queued (they have been finalized as errored).
#[derive(Debug, thiserror::Error)]
#[error("the downstream buffer is closed")]
pub struct BufferClosed;

/// A new buffer whose gauges and discard counter belong to the consuming component.
pub fn buffer(config: &BufferConfig, metrics: ComponentMetrics) -> (BufferSender, BufferReceiver) {
    let max_events = config
        .max_events
        .clamp(1, Semaphore::MAX_PERMITS.min(u32::MAX as usize));
    metrics.buffer_max_events.set(max_events as i64);
    let shared = Arc::new(Shared {
        permits: Semaphore::new(max_events),
        max_events,
        when_full: config.when_full,
        metrics,
    });
    let (tx, rx) = mpsc::unbounded_channel();
    (
        BufferSender {
            tx,
            shared: Arc::clone(&shared),
        },
        BufferReceiver { rx, shared },
    )
}

impl BufferSender {
    /// A handle that does not keep the buffer open.
    pub fn downgrade(&self) -> WeakBufferSender {
        WeakBufferSender {
            tx: self.tx.downgrade(),
            shared: Arc::clone(&self.shared),
        }
    }

    /// Queues a batch, waiting for room (`block`) or dropping what does not fit (`drop_newest`).
    pub async fn send(&self, mut events: Vec<Event>) -> Result<(), BufferClosed> {
        while !events.is_empty() {
            let rest = if events.len() > self.shared.max_events {
                events.split_off(self.shared.max_events)
            } else {
                Vec::new()
            };
            if let Err(closed) = self.send_chunk(events).await {
                finalize_all(rest, EventStatus::Errored);
                return Err(closed);
            }
            events = rest;
        }
        Ok(())
    }

    async fn send_chunk(&self, mut events: Vec<Event>) -> Result<(), BufferClosed> {
        let wanted = events.len() as u32;
        let granted = match self.shared.when_full {
            WhenFull::Block => match self.shared.permits.acquire_many(wanted).await {
                Ok(permit) => {
                    permit.forget();
                    wanted
                }
                Err(_) => {
                    finalize_all(events, EventStatus::Errored);
                    return Err(BufferClosed);
                }
            },
            WhenFull::DropNewest => match self.shared.permits.try_acquire_many(wanted) {
                Ok(permit) => {
                    permit.forget();
                    wanted
                }
                Err(TryAcquireError::Closed) => {
                    finalize_all(events, EventStatus::Errored);
                    return Err(BufferClosed);
                }
                Err(TryAcquireError::NoPermits) => {
                    // Take what fits, drop the newest rest.
                    let available =
                        self.shared.permits.available_permits().min(events.len()) as u32;
                    let granted = match self.shared.permits.try_acquire_many(available) {
                        Ok(permit) => {
                            permit.forget();
                            available
                        }
                        Err(_) => 0,
                    };
                    let dropped = events.split_off(granted as usize);
                    self.shared.metrics.discarded.inc_by(dropped.len() as u64);
                    finalize_all(dropped, EventStatus::Dropped);
                    granted
                }
            },
        };
        if events.is_empty() {
            return Ok(());
        }
        self.shared.metrics.buffer_events.add(events.len() as i64);
        let chunk = Chunk {
            events,
            permits: granted,
        };
        if let Err(mpsc::error::SendError(chunk)) = self.tx.send(chunk) {
            self.shared
                .metrics
                .buffer_events
                .sub(chunk.events.len() as i64);
            finalize_all(chunk.events, EventStatus::Errored);
            return Err(BufferClosed);
        }
        Ok(())
    }
}

impl BufferReceiver {
    /// The next batch, or `None` once every sender is gone and the buffer is empty.
    pub async fn recv(&mut self) -> Option<Vec<Event>> {
        let chunk = self.rx.recv().await?;
        Some(self.release(chunk))
    }

    /// The next batch if one is queued right now.
    pub fn try_recv(&mut self) -> Option<Vec<Event>> {
        let chunk = self.rx.try_recv().ok()?;
        Some(self.release(chunk))
    }

    fn release(&self, chunk: Chunk) -> Vec<Event> {
        self.shared
            .metrics
            .buffer_events
            .sub(chunk.events.len() as i64);
        self.shared.permits.add_permits(chunk.permits as usize);
        chunk.events
    }

    /// Capacity in events.
    pub fn max_events(&self) -> usize {
        self.shared.max_events
    }
}

impl Drop for BufferReceiver {
    fn drop(&mut self) {
        // Wake blocked senders: nobody will ever make room again.
        self.shared.permits.close();
        self.shared.metrics.buffer_events.set(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ack::{BatchNotifier, BatchStatus, EventFinalizers};
    use crate::component::ComponentKind;
    use crate::event::EventMetadata;
    use crate::metrics::Metrics;
    use std::time::Duration;

    fn events(n: usize, notifier: Option<&BatchNotifier>) -> Vec<Event> {
        (0..n)
            .map(|i| {
                let mut meta = EventMetadata::new("src".into(), "test", chrono::Utc::now());
                if let Some(b) = notifier {
                    meta.finalizers = EventFinalizers::one(b.finalizer());
                }
                Event::from_message(format!("line {i}"), meta)
            })
            .collect()
    }

    fn metrics() -> ComponentMetrics {
        Metrics::new("t")
            .unwrap()
            .component("sink", ComponentKind::Sink, "test")
    }

    #[tokio::test]
    async fn block_waits_for_room_and_never_exceeds_capacity() {
        let m = metrics();
        let config = BufferConfig {
            max_events: 10,
            when_full: WhenFull::Block,
        };
        let (tx, mut rx) = buffer(&config, m.clone());
        tx.send(events(10, None)).await.unwrap();
        assert_eq!(m.buffer_events.get(), 10);
        let sender = tokio::spawn({
            let tx = tx.clone();
            async move { tx.send(events(25, None)).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(
            !sender.is_finished(),
            "the sender must wait while the buffer is full"
        );
        let mut received = 0;
        while received < 35 {
            let batch = rx.recv().await.unwrap();
            assert!(batch.len() <= 10);
            assert!(m.buffer_events.get() <= 10);
            received += batch.len();
        }
        sender.await.unwrap().unwrap();
        assert_eq!(m.buffer_events.get(), 0);
    }

    #[tokio::test]
    async fn drop_newest_counts_and_acknowledges_as_dropped() {
        let m = metrics();
        let config = BufferConfig {
            max_events: 4,
            when_full: WhenFull::DropNewest,
        };
        let (tx, mut rx) = buffer(&config, m.clone());
        let (batch, status) = BatchNotifier::with_receiver();
        tx.send(events(6, Some(&batch))).await.unwrap();
        drop(batch);
        assert_eq!(m.discarded.get(), 2);
        let kept = rx.recv().await.unwrap();
        assert_eq!(kept.len(), 4);
        finalize_all(kept, EventStatus::Delivered);
        assert_eq!(status.await.unwrap(), BatchStatus::Delivered);
    }

    #[tokio::test]
    async fn closed_receiver_errors_queued_and_new_events() {
        let m = metrics();
        let (tx, rx) = buffer(&BufferConfig::default(), m);
        let (batch, status) = BatchNotifier::with_receiver();
        tx.send(events(3, Some(&batch))).await.unwrap();
        drop(rx);
        assert!(tx.send(events(1, Some(&batch))).await.is_err());
        drop(batch);
        drop(tx);
        assert_eq!(status.await.unwrap(), BatchStatus::Errored);
    }
}
