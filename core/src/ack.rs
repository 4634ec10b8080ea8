//! End-to-end acknowledgements.
//!
//! A source groups the events it reads into *batches* (one read chunk of a file, one SQS message, one
//! Kinesis record). Each batch has a [`BatchNotifier`]; every event of the batch, and every copy of such an
//! event made by fan-out or by a transform that splits events, carries an [`EventFinalizer`] pointing at
//! the batch. Each copy records how it left the pipeline ([`EventStatus`]); when the last copy is gone the
//! batch's combined [`BatchStatus`] is sent to the source.
//!
//! Two rules make "no event is ever lost" checkable:
//! * a copy that is dropped without an explicit status (a task died, a channel was torn down) counts as
//!   [`EventStatus::Errored`], never as delivered;
//! * statuses combine by severity (`Delivered < Errored < Rejected`): a batch is `Delivered` only if every
//!   copy of every event was delivered (or dropped on purpose, e.g. by a filter).
//!
//! [`OrderedCheckpoints`] turns out-of-order batch completions into an ordered checkpoint ("everything up
//! to offset N is done"), which is what file offsets, Kinesis sequence numbers and the like need.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use smallvec::SmallVec;
use tokio::sync::{mpsc, oneshot};

/// How one copy of an event left the pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventStatus {
    /// Dropped on purpose (a filter, a `drop_newest` buffer, a consumed header line): counts as done.
    Dropped,
    /// Written to its destination.
    Delivered,
    /// Failed in a way that may succeed on retry (outage, timeout, task torn down).
    Errored,
    /// Failed permanently (the destination refused it); sources decide what that means.
    Rejected,
}

/// The combined outcome of a batch, as the source sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum BatchStatus {
    /// Every copy of every event was delivered or dropped on purpose.
    Delivered,
    /// At least one copy errored (retriable) and none was rejected.
    Errored,
    /// At least one copy was rejected (permanent failure).
    Rejected,
}

impl BatchStatus {
    fn from_code(code: u8) -> Self {
        match code {
            0 => BatchStatus::Delivered,
            1 => BatchStatus::Errored,
            _ => BatchStatus::Rejected,
        }
    }
}

impl EventStatus {
    fn severity(self) -> u8 {
        match self {
            EventStatus::Dropped | EventStatus::Delivered => 0,
            EventStatus::Errored => 1,
            EventStatus::Rejected => 2,
        }
    }
}

/// Where a batch's final status goes.
enum Notify {
    Oneshot(oneshot::Sender<BatchStatus>),
    Channel {
        id: u64,
        tx: mpsc::UnboundedSender<(u64, BatchStatus)>,
    },
}

struct BatchInner {
    severity: AtomicU8,
    notify: Option<Notify>,
}

impl Drop for BatchInner {
    fn drop(&mut self) {
        let status = BatchStatus::from_code(self.severity.load(Ordering::Acquire));
        match self.notify.take() {
            Some(Notify::Oneshot(tx)) => {
                let _ = tx.send(status);
            }
            Some(Notify::Channel { id, tx }) => {
                let _ = tx.send((id, status));
            }
            None => {}
        }
    }
}

/// The source's handle on one batch. Hand out finalizers with [`BatchNotifier::finalizer`], then drop
/// the notifier; the status is reported once the notifier and every finalizer are gone.
pub struct BatchNotifier {
    inner: Arc<BatchInner>,
}

impl BatchNotifier {
    /// A batch whose status arrives on the returned receiver.
    pub fn with_receiver() -> (Self, oneshot::Receiver<BatchStatus>) {
        let (tx, rx) = oneshot::channel();
        (Self::new(Notify::Oneshot(tx)), rx)
    }

    /// A batch whose status is sent as `(id, status)` on a channel shared by many batches; this is
    /// the cheap way for a source with many batches in flight to collect their outcomes.
    pub fn with_channel(id: u64, tx: mpsc::UnboundedSender<(u64, BatchStatus)>) -> Self {
        Self::new(Notify::Channel { id, tx })
    }

    fn new(notify: Notify) -> Self {
        Self {
            inner: Arc::new(BatchInner {
                severity: AtomicU8::new(0),
                notify: Some(notify),
            }),
        }
    }

    /// A finalizer for one event of this batch.
    pub fn finalizer(&self) -> EventFinalizer {
        EventFinalizer {
            batch: Arc::clone(&self.inner),
            done: false,
        }
    }
}

/// One copy's stake in a batch. Record a status with [`EventFinalizer::finalize`]; dropping it
/// unfinalized records [`EventStatus::Errored`].
pub struct EventFinalizer {
    batch: Arc<BatchInner>,
    done: bool,
}

impl EventFinalizer {
    /// Records how this copy left the pipeline.
    pub fn finalize(mut self, status: EventStatus) {
        self.record(status);
    }

    fn record(&mut self, status: EventStatus) {
        self.done = true;
        self.batch
            .severity
            .fetch_max(status.severity(), Ordering::AcqRel);
    }
}

impl Clone for EventFinalizer {
    /// A new copy of the event: it must reach its own end before the batch is done.
    fn clone(&self) -> Self {
        Self {
            batch: Arc::clone(&self.batch),
            done: false,
        }
    }
}

impl Drop for EventFinalizer {
    fn drop(&mut self) {
        if !self.done {
            self.record(EventStatus::Errored);
        }
    }
}

impl std::fmt::Debug for EventFinalizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventFinalizer")
            .field("done", &self.done)
            .finish()
    }
}

/// The finalizers an event carries: usually one, several when a transform merged events.
#[derive(Clone, Debug, Default)]
pub struct EventFinalizers(SmallVec<[EventFinalizer; 1]>);

impl EventFinalizers {
    /// No acknowledgement (acknowledgements disabled for the source).
    pub fn none() -> Self {
        Self(SmallVec::new())
    }

    /// One finalizer.
    pub fn one(finalizer: EventFinalizer) -> Self {
        let mut v = SmallVec::new();
        v.push(finalizer);
        Self(v)
    }

    /// Adds the finalizers of another event (used when events are merged).
    pub fn merge(&mut self, other: EventFinalizers) {
        self.0.extend(other.0);
    }

    /// Whether this event takes part in acknowledgements at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Records the status for every batch this event belongs to.
    pub fn finalize(&mut self, status: EventStatus) {
        for f in self.0.drain(..) {
            f.finalize(status);
        }
    }
}

/// Turns batch completions that arrive in any order into an ordered checkpoint.
///
/// The source registers each batch in read order with the position just past its last record, and
/// marks batches complete as their acknowledgements arrive; [`OrderedCheckpoints::complete`] returns
/// the new checkpoint only when a contiguous prefix of batches is done.
#[derive(Debug)]
pub struct OrderedCheckpoints<P> {
    first_seq: u64,
    pending: VecDeque<(P, bool)>,
}

impl<P: Clone> Default for OrderedCheckpoints<P> {
    fn default() -> Self {
        Self::new()
    }
}

impl<P: Clone> OrderedCheckpoints<P> {
    /// An empty tracker.
    pub fn new() -> Self {
        Self {
            first_seq: 0,
            pending: VecDeque::new(),
        }
    }

    /// Registers the next batch, ending at `position`; returns its sequence number.
    pub fn register(&mut self, position: P) -> u64 {
        let seq = self.first_seq + self.pending.len() as u64;
        self.pending.push_back((position, false));
        seq
    }

    /// Marks batch `seq` done. Returns the new checkpoint if the contiguous done prefix grew.
    pub fn complete(&mut self, seq: u64) -> Option<P> {
        let index = seq.checked_sub(self.first_seq)?;
        let slot = self.pending.get_mut(usize::try_from(index).ok()?)?;
        slot.1 = true;
        let mut advanced = None;
        while let Some((_, true)) = self.pending.front() {
            if let Some((position, _)) = self.pending.pop_front() {
                advanced = Some(position);
                self.first_seq += 1;
            }
        }
        advanced
    }

    /// Batches registered but not yet part of the checkpoint.
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn all_delivered_is_delivered() {
        let (batch, rx) = BatchNotifier::with_receiver();
        let a = batch.finalizer();
        let b = a.clone();
        drop(batch);
        a.finalize(EventStatus::Delivered);
        b.finalize(EventStatus::Dropped);
        assert_eq!(rx.await.unwrap(), BatchStatus::Delivered);
    }

    #[tokio::test]
    async fn fan_out_with_one_rejecting_copy_is_rejected() {
        let (batch, rx) = BatchNotifier::with_receiver();
        let event = EventFinalizers::one(batch.finalizer());
        drop(batch);
        // Fan-out: two sinks each get a copy.
        let mut to_sink_a = event.clone();
        let mut to_sink_b = event;
        to_sink_a.finalize(EventStatus::Delivered);
        to_sink_b.finalize(EventStatus::Rejected);
        assert_eq!(rx.await.unwrap(), BatchStatus::Rejected);
    }

    #[tokio::test]
    async fn status_is_reported_only_after_last_copy() {
        let (batch, mut rx) = BatchNotifier::with_receiver();
        let a = batch.finalizer();
        let b = a.clone();
        drop(batch);
        a.finalize(EventStatus::Delivered);
        assert!(rx.try_recv().is_err(), "b is still in flight");
        b.finalize(EventStatus::Delivered);
        assert_eq!(rx.await.unwrap(), BatchStatus::Delivered);
    }

    #[tokio::test]
    async fn a_copy_dropped_without_status_is_errored_not_delivered() {
        let (batch, rx) = BatchNotifier::with_receiver();
        let a = batch.finalizer();
        let b = a.clone();
        drop(batch);
        a.finalize(EventStatus::Delivered);
        drop(b);
        assert_eq!(rx.await.unwrap(), BatchStatus::Errored);
    }

    #[tokio::test]
    async fn rejected_outranks_errored() {
        let (batch, rx) = BatchNotifier::with_receiver();
        let a = batch.finalizer();
        let b = batch.finalizer();
        let c = batch.finalizer();
        drop(batch);
        a.finalize(EventStatus::Rejected);
        b.finalize(EventStatus::Errored);
        c.finalize(EventStatus::Delivered);
        assert_eq!(rx.await.unwrap(), BatchStatus::Rejected);
    }

    #[tokio::test]
    async fn channel_notification_carries_batch_id() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let one = BatchNotifier::with_channel(7, tx.clone());
        let two = BatchNotifier::with_channel(8, tx);
        let f1 = one.finalizer();
        let f2 = two.finalizer();
        drop(one);
        drop(two);
        f2.finalize(EventStatus::Delivered);
        f1.finalize(EventStatus::Errored);
        assert_eq!(rx.recv().await, Some((8, BatchStatus::Delivered)));
        assert_eq!(rx.recv().await, Some((7, BatchStatus::Errored)));
    }

    #[test]
    fn ordered_checkpoint_advances_only_over_contiguous_done_ranges() {
        let mut cp = OrderedCheckpoints::new();
        let s0 = cp.register(100u64);
        let s1 = cp.register(200);
        let s2 = cp.register(300);
        let s3 = cp.register(400);
        // Out of order: 2 and 1 finish before 0.
        assert_eq!(cp.complete(s2), None);
        assert_eq!(cp.complete(s1), None);
        assert_eq!(cp.in_flight(), 4);
        // 0 finishes: the checkpoint jumps over 0, 1, 2 at once.
        assert_eq!(cp.complete(s0), Some(300));
        assert_eq!(cp.in_flight(), 1);
        assert_eq!(cp.complete(s3), Some(400));
        assert_eq!(cp.in_flight(), 0);
        // Unknown or repeated sequence numbers change nothing.
        assert_eq!(cp.complete(s0), None);
        assert_eq!(cp.complete(99), None);
    }

    #[test]
    fn ordered_checkpoint_holds_behind_an_unfinished_batch() {
        let mut cp = OrderedCheckpoints::new();
        let s0 = cp.register(10u64);
        let s1 = cp.register(20);
        // s0 errored: the source never completes it; later batches cannot move the checkpoint.
        let _ = s0;
        assert_eq!(cp.complete(s1), None);
        assert_eq!(cp.in_flight(), 2);
    }
}
