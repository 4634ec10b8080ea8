//! One shard's reader: iterator from the checkpoint (or the start position), the GetRecords loop
//! with back-off, decoding into events (one acknowledgement batch per GetRecords answer), and
//! ordered checkpointing over out-of-order acknowledgements.

use crate::errors::ErrorType;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_kinesis::error::SdkError;
use aws_sdk_kinesis::operation::get_records::GetRecordsError;
use aws_sdk_kinesis::primitives::DateTime as AwsDateTime;
use aws_sdk_kinesis::types::{Record, ShardIteratorType};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use vrl::value::{KeyString, ObjectMap, Value};
use weir_core::ack::{BatchNotifier, BatchStatus, OrderedCheckpoints};
use weir_core::event::{Event, EventMetadata};
use weir_core::metrics::ComponentMetrics;
use weir_core::source_kit::{BatchSender, SourceBatch};

use super::ids::record_id;
use super::leases::{LeaseError, LeaseTable, SHARD_END};
use super::metrics::KinesisMetrics;
use super::{OnRejected, StartPosition};
use crate::aws_errors::AwsErrorLog;
use crate::decoding::Decoding;
use weir_aws::envelopes::cloudwatch::log_events as cloudwatch;
use weir_aws::envelopes::kpl;

mod decode;

const SOURCE_TYPE: &str = "aws_kinesis";
/// Longest pause after failures.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// First pause after a failure.
const MIN_BACKOFF: Duration = Duration::from_millis(250);
/// GetRecords answers of one shard waiting for their acknowledgements at most.
const MAX_IN_FLIGHT: usize = 16;
/// How long a stopping reader waits for its last acknowledgements.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// A stream as configured: its name, and its ARN when given as one.
#[derive(Clone, Debug)]
pub(super) struct StreamRef {
    pub name: String,
    pub arn: Option<String>,
}

impl StreamRef {
    pub fn parse(text: &str) -> Self {
        if text.starts_with("arn:") {
            let name = text.rsplit_once("stream/").map_or(text, |(_, n)| n);
            Self {
                name: name.to_string(),
                arn: Some(text.to_string()),
            }
        } else {
            Self {
                name: text.to_string(),
                arn: None,
            }
        }
    }
}

/// What every reader shares.
pub(super) struct Shared {
    pub id: Arc<str>,
    pub worker: String,
    pub kinesis: aws_sdk_kinesis::Client,
    pub table: LeaseTable,
    pub metrics: ComponentMetrics,
    pub kinesis_metrics: KinesisMetrics,
    /// Batches for the task that owns the outputs: one per GetRecords answer.
    pub tx: BatchSender,
    pub decoding: Decoding,
    pub max_decompressed_bytes: usize,
    pub start_position: StartPosition,
    pub start_timestamp: Option<DateTime<Utc>>,
    pub max_records: Option<i32>,
    pub poll_interval: Duration,
    pub checkpoint_interval: Duration,
    pub on_rejected: OnRejected,
    /// Cancelled at shutdown: readers drain, checkpoint and stop.
    pub shutdown: CancellationToken,
    /// `--once`: a reader stops (drained, checkpointed) once its shard is caught up.
    pub once: bool,
    /// Failed AWS calls, reported in one line each (rate-limited) and counted by kind.
    pub aws_errors: AwsErrorLog,
}

impl Shared {
    /// Reports a failed lease table call: sorted like any AWS call when DynamoDB failed,
    /// else (an answer Weir cannot use) counted as `lease_table_failed`.
    pub fn lease_failed(&self, error: &LeaseError, then: &str) {
        match error.aws() {
            Some((action, aws)) => {
                self.aws_errors
                    .report_sorted(action, &error.resource(), aws, then);
            }
            None => {
                self.metrics.error(ErrorType::LeaseTableFailed.as_str(), 1);
                tracing::warn!(source = %self.id, %error, "{then}");
            }
        }
    }
}

/// One shard to read.
pub(super) struct ShardTask {
    pub stream: StreamRef,
    pub shard_id: String,
    pub lease_key: String,
    /// The checkpoint in the lease row when the lease was taken.
    pub checkpoint: Option<String>,
    /// The shard has parents: without a checkpoint it is read from its start.
    pub has_parents: bool,
    /// Cancelled when the lease is lost: the reader stops at once, writing nothing.
    pub stop: CancellationToken,
}

/// How a reader ended.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    /// The shard was read to its end and `SHARD_END` checkpointed.
    Finished,
    /// Stopped (shutdown, lease lost, or a failure writing the checkpoint).
    Stopped,
    /// `--once`: everything up to the tip of the shard was read and delivered.
    CaughtUp,
}

/// Where a batch ends: its last sequence number, or the end of the shard.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Position {
    Sequence(String),
    End,
}

impl Position {
    fn as_checkpoint(&self) -> &str {
        match self {
            Position::Sequence(s) => s,
            Position::End => SHARD_END,
        }
    }
}

struct Reader {
    shared: Arc<Shared>,
    task: ShardTask,
    /// Everything up to here is delivered.
    delivered: Option<String>,
    /// Last checkpoint written to (or read from) the table.
    written: Option<String>,
    /// For a shard without a checkpoint read from `latest` (or `at_timestamp` without a
    /// timestamp): when its first iterator was asked for. Until a record is delivered, every later
    /// iterator (after a rewind or an expired iterator) starts at this time rather than at the
    /// new tip, so records that arrived in between are not skipped.
    opened_at: Option<DateTime<Utc>>,
    last_write: Instant,
    identity: Arc<str>,
    /// `kinesis.stream` and `kinesis.shard_id`, built once: each event gets a reference.
    stream_value: Bytes,
    shard_value: Bytes,
    ordinal: u64,
    behind: prometheus::IntGauge,
}

/// Reads a shard until it ends, the lease is lost or the source shuts down.
pub(super) async fn run(shared: Arc<Shared>, task: ShardTask) -> Outcome {
    let identity: Arc<str> = Arc::from(format!("kinesis://{}/{}", task.stream.name, task.shard_id));
    let behind = shared
        .kinesis_metrics
        .behind(&task.stream.name, &task.shard_id);
    let mut reader = Reader {
        delivered: task.checkpoint.clone(),
        written: task.checkpoint.clone(),
        opened_at: None,
        last_write: Instant::now(),
        identity,
        stream_value: Bytes::from(task.stream.name.clone()),
        shard_value: Bytes::from(task.shard_id.clone()),
        ordinal: 0,
        behind,
        shared,
        task,
    };
    if reader.written.as_deref() == Some(SHARD_END) {
        return Outcome::Finished;
    }
    tracing::info!(source = %reader.shared.id, stream = %reader.task.stream.name, shard = %reader.task.shard_id, checkpoint = reader.written.as_deref().unwrap_or("-"), "reading shard");
    let outcome = reader.read().await;
    reader
        .shared
        .kinesis_metrics
        .forget_shard(&reader.task.stream.name, &reader.task.shard_id);
    tracing::info!(source = %reader.shared.id, stream = %reader.task.stream.name, shard = %reader.task.shard_id, ?outcome, "stopped reading shard");
    outcome
}

/// Where a pass over a shard is: the iterator to read with and what was read so far.
struct Cursor {
    iterator: String,
    /// Sequence number of the last record read: a replaced iterator starts after it.
    last_read: Option<String>,
    /// `GetRecords` answered without a next iterator: nothing more to read.
    shard_ended: bool,
    next_poll: Instant,
    backoff: Duration,
}

/// What one step of a pass leads to.
enum Polled {
    /// Keep reading.
    Continue,
    /// Stop at once (lease lost, or the checkpoint could not be written).
    Stopped,
    /// Shutdown: drain the in-flight acknowledgements, checkpoint, stop.
    Drain,
    /// `--once` and the shard is caught up: drain, checkpoint, stop.
    CaughtUp,
}

/// Why a pass over the shard ended.
enum LoopEnd {
    Done(Outcome),
    /// A batch failed: read again from the last delivered position after a pause.
    Rewind,
}

impl Reader {
    /// `shard <id> of stream <name>`, for error lines.
    fn shard_name(&self) -> String {
        format!(
            "shard {} of stream {}",
            self.task.shard_id, self.task.stream.name
        )
    }

    async fn read(&mut self) -> Outcome {
        let mut backoff = MIN_BACKOFF;
        loop {
            match self.read_from_checkpoint().await {
                LoopEnd::Done(outcome) => return outcome,
                LoopEnd::Rewind => {
                    tracing::warn!(source = %self.shared.id, shard = %self.task.shard_id, checkpoint = self.delivered.as_deref().unwrap_or("-"), pause_ms = backoff.as_millis() as u64, "records not delivered; reading the shard again from its checkpoint");
                    if !self.pause(backoff).await {
                        return Outcome::Stopped;
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// Sleeps unless stopped; `false` if stopped or shutting down.
    async fn pause(&self, duration: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(duration) => true,
            _ = self.task.stop.cancelled() => false,
            _ = self.shared.shutdown.cancelled() => false,
        }
    }

    /// A shard iterator after `after` (or at the start position), retried with back-off.
    async fn iterator(&mut self, after: Option<&str>) -> Option<String> {
        let mut backoff = MIN_BACKOFF;
        // An earlier iterator of this shard was opened at the tip: continue from that time.
        let since = self.opened_at.filter(|_| after.is_none());
        let at_tip = match self.shared.start_position {
            StartPosition::Latest => true,
            StartPosition::AtTimestamp => self.shared.start_timestamp.is_none(),
            StartPosition::TrimHorizon => false,
        };
        if after.is_none() && !self.task.has_parents && at_tip && self.opened_at.is_none() {
            self.opened_at = Some(Utc::now());
        }
        loop {
            let mut request = self
                .shared
                .kinesis
                .get_shard_iterator()
                .shard_id(&self.task.shard_id);
            request = match &self.task.stream.arn {
                Some(arn) => request.stream_arn(arn),
                None => request.stream_name(&self.task.stream.name),
            };
            request = match after {
                Some(sequence) => request
                    .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                    .starting_sequence_number(sequence),
                None if self.task.has_parents => {
                    request.shard_iterator_type(ShardIteratorType::TrimHorizon)
                }
                None => match (since, self.shared.start_position) {
                    (Some(at), _) => request
                        .shard_iterator_type(ShardIteratorType::AtTimestamp)
                        .timestamp(AwsDateTime::from_millis(at.timestamp_millis())),
                    (None, StartPosition::Latest) => {
                        request.shard_iterator_type(ShardIteratorType::Latest)
                    }
                    (None, StartPosition::TrimHorizon) => {
                        request.shard_iterator_type(ShardIteratorType::TrimHorizon)
                    }
                    (None, StartPosition::AtTimestamp) => {
                        let at = self.shared.start_timestamp.unwrap_or_else(Utc::now);
                        request
                            .shard_iterator_type(ShardIteratorType::AtTimestamp)
                            .timestamp(AwsDateTime::from_millis(at.timestamp_millis()))
                    }
                },
            };
            let result = tokio::select! {
                r = request.send() => r,
                _ = self.task.stop.cancelled() => return None,
                _ = self.shared.shutdown.cancelled() => return None,
            };
            match result {
                Ok(out) => match out.shard_iterator {
                    Some(iterator) => return Some(iterator),
                    None => {
                        self.shared
                            .metrics
                            .error(ErrorType::GetShardIteratorFailed.as_str(), 1);
                        tracing::warn!(source = %self.shared.id, shard = %self.task.shard_id, "GetShardIterator answered without an iterator");
                    }
                },
                Err(error) => {
                    if error
                        .as_service_error()
                        .is_some_and(|e| e.is_provisioned_throughput_exceeded_exception())
                    {
                        self.shared.kinesis_metrics.throttles.inc();
                    } else {
                        self.shared.aws_errors.report(
                            "GetShardIterator",
                            &self.shard_name(),
                            &error,
                            "retrying",
                        );
                    }
                }
            }
            if !self.pause(backoff).await {
                return None;
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// One pass over the shard: reads from the last delivered position until the reader is done
    /// or a batch fails (then the caller rewinds to the delivered position).
    async fn read_from_checkpoint(&mut self) -> LoopEnd {
        let (ack_tx, mut acks) = mpsc::unbounded_channel::<(u64, BatchStatus)>();
        let mut tracker: OrderedCheckpoints<Position> = OrderedCheckpoints::new();
        let last_read = self.delivered.clone();
        let Some(iterator) = self.iterator(last_read.as_deref()).await else {
            return LoopEnd::Done(self.stopping(&mut acks, &mut tracker, ack_tx).await);
        };
        let mut cursor = Cursor {
            iterator,
            last_read,
            shard_ended: false,
            next_poll: Instant::now(),
            backoff: MIN_BACKOFF,
        };
        let mut checkpoint_tick = tokio::time::interval(
            self.shared
                .checkpoint_interval
                .max(Duration::from_millis(100)),
        );
        checkpoint_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let may_poll = !cursor.shard_ended && tracker.in_flight() < MAX_IN_FLIGHT;
            let polled = tokio::select! {
                biased;
                _ = self.task.stop.cancelled() => Polled::Stopped,
                _ = self.shared.shutdown.cancelled() => Polled::Drain,
                Some((seq, status)) = acks.recv() => {
                    match self.acknowledged(&mut tracker, seq, status).await {
                        Ok(Some(outcome)) => return LoopEnd::Done(outcome),
                        Ok(None) => Polled::Continue,
                        Err(()) => return LoopEnd::Rewind,
                    }
                }
                _ = checkpoint_tick.tick() => {
                    if self.write_checkpoint(false).await {
                        Polled::Continue
                    } else {
                        Polled::Stopped
                    }
                }
                _ = tokio::time::sleep_until(cursor.next_poll), if may_poll => {
                    self.poll(&mut cursor, &mut tracker, &ack_tx).await
                }
            };
            match polled {
                Polled::Continue => {}
                Polled::Stopped => return LoopEnd::Done(Outcome::Stopped),
                Polled::Drain => {
                    return LoopEnd::Done(self.stopping(&mut acks, &mut tracker, ack_tx).await);
                }
                Polled::CaughtUp => {
                    let outcome = self.stopping(&mut acks, &mut tracker, ack_tx).await;
                    return LoopEnd::Done(if outcome == Outcome::Stopped {
                        Outcome::CaughtUp
                    } else {
                        outcome
                    });
                }
            }
        }
    }

    /// One `GetRecords` call; its records are sent as one acknowledgement batch.
    async fn poll(
        &mut self,
        cursor: &mut Cursor,
        tracker: &mut OrderedCheckpoints<Position>,
        ack_tx: &mpsc::UnboundedSender<(u64, BatchStatus)>,
    ) -> Polled {
        let mut request = self
            .shared
            .kinesis
            .get_records()
            .shard_iterator(&cursor.iterator);
        if let Some(arn) = &self.task.stream.arn {
            request = request.stream_arn(arn);
        }
        if let Some(limit) = self.shared.max_records {
            request = request.limit(limit);
        }
        let result = tokio::select! {
            r = request.send() => r,
            _ = self.task.stop.cancelled() => return Polled::Stopped,
            _ = self.shared.shutdown.cancelled() => return Polled::Drain,
        };
        let out = match result {
            Ok(out) => {
                cursor.backoff = MIN_BACKOFF;
                out
            }
            Err(error) => return self.get_records_failed(error, cursor).await,
        };
        if let Some(ms) = out.millis_behind_latest {
            self.behind.set(ms);
        }
        let records = out.records;
        let got_records = !records.is_empty();
        if let Some(last) = records.last() {
            cursor.last_read = Some(last.sequence_number.clone());
        }
        let position = match out.next_shard_iterator {
            Some(next) => {
                cursor.iterator = next;
                cursor.last_read.clone().map(Position::Sequence)
            }
            None => {
                cursor.shard_ended = true;
                Some(Position::End)
            }
        };
        if let Some(position) = position.filter(|_| got_records || cursor.shard_ended) {
            if !self.send_batch(records, position, tracker, ack_tx).await {
                return Polled::Stopped;
            }
        }
        if self.shared.once && !got_records && !cursor.shard_ended {
            return Polled::CaughtUp;
        }
        cursor.next_poll = if got_records {
            Instant::now()
        } else {
            Instant::now() + self.shared.poll_interval
        };
        Polled::Continue
    }

    /// A failed `GetRecords`: an expired iterator is replaced at once; throttling and other
    /// errors back off.
    async fn get_records_failed(
        &mut self,
        error: SdkError<GetRecordsError>,
        cursor: &mut Cursor,
    ) -> Polled {
        let service = error.as_service_error();
        if service.is_some_and(|e| e.is_expired_iterator_exception()) {
            tracing::debug!(source = %self.shared.id, shard = %self.task.shard_id, "shard iterator expired; getting a new one");
            match self.iterator(cursor.last_read.as_deref()).await {
                Some(fresh) => cursor.iterator = fresh,
                None => return Polled::Drain,
            }
            cursor.next_poll = Instant::now();
            return Polled::Continue;
        }
        if service.is_some_and(|e| {
            e.is_provisioned_throughput_exceeded_exception() || e.is_kms_throttling_exception()
        }) {
            self.shared.kinesis_metrics.throttles.inc();
            tracing::debug!(source = %self.shared.id, shard = %self.task.shard_id, "GetRecords throttled; backing off");
        } else {
            self.shared
                .aws_errors
                .report("GetRecords", &self.shard_name(), &error, "backing off");
        }
        cursor.next_poll = Instant::now() + cursor.backoff;
        cursor.backoff = (cursor.backoff * 2).min(MAX_BACKOFF);
        Polled::Continue
    }

    /// Registers one acknowledgement batch ending at `position` and sends the records' events to
    /// the task owning the outputs; `false` if the reader must stop (lease lost, source gone).
    async fn send_batch(
        &mut self,
        records: Vec<Record>,
        position: Position,
        tracker: &mut OrderedCheckpoints<Position>,
        ack_tx: &mpsc::UnboundedSender<(u64, BatchStatus)>,
    ) -> bool {
        let seq = tracker.register(position);
        let notifier = BatchNotifier::with_channel(seq, ack_tx.clone());
        let batch = self.decode(records, &notifier);
        drop(notifier);
        if batch.is_empty() {
            return true;
        }
        tokio::select! {
            r = self.shared.tx.send(batch) => r.is_ok(),
            _ = self.task.stop.cancelled() => false,
        }
    }

    /// Handles one acknowledgement: `Ok(Some)` when the shard is finished, `Err` to rewind.
    async fn acknowledged(
        &mut self,
        tracker: &mut OrderedCheckpoints<Position>,
        seq: u64,
        status: BatchStatus,
    ) -> Result<Option<Outcome>, ()> {
        let done = match status {
            BatchStatus::Delivered => true,
            BatchStatus::Rejected if self.shared.on_rejected == OnRejected::Skip => {
                self.shared
                    .metrics
                    .error(ErrorType::RejectedSkipped.as_str(), 1);
                true
            }
            BatchStatus::Rejected => {
                self.shared
                    .metrics
                    .error(ErrorType::DeliveryRejected.as_str(), 1);
                false
            }
            BatchStatus::Errored => {
                self.shared
                    .metrics
                    .error(ErrorType::DeliveryFailed.as_str(), 1);
                false
            }
        };
        if !done {
            return Err(());
        }
        match tracker.complete(seq) {
            Some(Position::End) => {
                self.delivered = Some(SHARD_END.to_string());
                if self.write_checkpoint(true).await {
                    Ok(Some(Outcome::Finished))
                } else {
                    Ok(Some(Outcome::Stopped))
                }
            }
            Some(position) => {
                self.delivered = Some(position.as_checkpoint().to_string());
                Ok(None)
            }
            None => Ok(None),
        }
    }

    /// Writes the delivered position if it moved (and `force` or the interval passed); `false`
    /// when the lease is lost or the write failed for good.
    async fn write_checkpoint(&mut self, force: bool) -> bool {
        if self.delivered == self.written {
            return true;
        }
        if !force && self.last_write.elapsed() < self.shared.checkpoint_interval {
            return true;
        }
        let Some(checkpoint) = self.delivered.clone() else {
            return true;
        };
        let result = self
            .shared
            .table
            .checkpoint(&self.task.lease_key, &self.shared.worker, &checkpoint)
            .await;
        self.last_write = Instant::now();
        match result {
            Ok(true) => {
                self.shared.kinesis_metrics.checkpoints.inc();
                tracing::debug!(source = %self.shared.id, shard = %self.task.shard_id, %checkpoint, "checkpoint written");
                self.written = Some(checkpoint);
                true
            }
            Ok(false) => {
                tracing::info!(source = %self.shared.id, shard = %self.task.shard_id, "lease lost; checkpoint not written");
                false
            }
            Err(error) => {
                self.shared.lease_failed(
                    &error,
                    &format!(
                        "cannot write the checkpoint of {}; retrying later",
                        self.shard_name()
                    ),
                );
                true
            }
        }
    }

    /// Shutdown: waits for the in-flight acknowledgements (bounded), writes the checkpoint.
    async fn stopping(
        &mut self,
        acks: &mut mpsc::UnboundedReceiver<(u64, BatchStatus)>,
        tracker: &mut OrderedCheckpoints<Position>,
        ack_tx: mpsc::UnboundedSender<(u64, BatchStatus)>,
    ) -> Outcome {
        drop(ack_tx);
        let deadline = Instant::now() + DRAIN_TIMEOUT;
        let mut outcome = Outcome::Stopped;
        while tracker.in_flight() > 0 {
            let ack = tokio::select! {
                a = acks.recv() => a,
                _ = tokio::time::sleep_until(deadline) => None,
                _ = self.task.stop.cancelled() => return Outcome::Stopped,
            };
            let Some((seq, status)) = ack else {
                break;
            };
            match self.acknowledged(tracker, seq, status).await {
                Ok(Some(done)) => return done,
                Ok(None) => {}
                Err(()) => break,
            }
        }
        if !self.write_checkpoint(true).await {
            outcome = Outcome::Stopped;
        }
        outcome
    }
}
