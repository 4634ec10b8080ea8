//! Source `aws_kinesis`: reads Kinesis Data Streams shards with the GetRecords API, splitting the
//! shards of a stream between several Weir processes through leases in a DynamoDB table, and
//! checkpointing each shard only after its records were delivered.
//!
//! # How it works
//!
//! * **Discovery.** Every `discovery_interval_ms`, the shards of each of `streams` are listed
//!   (`ListShards`), and a lease row is created for each new shard (conditional put).
//! * **Leases.** The lease table (`lease_table`, created on demand, pay per request) has one row
//!   per shard: `lease_key` (`<stream>/<shard id>`), `owner` (a worker id, empty when free),
//!   `lease_counter` and `checkpoint`. Every third of `lease_duration_ms`, each process renews
//!   the leases it holds (`lease_counter + 1`, conditional on owner and counter). A lease whose
//!   counter has not moved for `lease_duration_ms` (by the observer's own clock — no clock sync is
//!   needed) is expired and may be taken, conditional on the counter it was seen with, so of
//!   several racing processes exactly one wins. A process that lost a lease (its renewal failed)
//!   stops reading the shard at once, and its checkpoint writes (conditional on the owner) fail.
//! * **Balance.** The target per process is `ceil(shards / workers)`, where workers are the
//!   distinct owners whose leases are alive, plus this process. A process below target takes free
//!   or expired leases first, then steals one lease per round from the process holding the most
//!   (when that one holds more than the target). So two processes on 8 shards settle at 4 and 4,
//!   and when one dies the other takes its shards after `lease_duration_ms`.
//! * **Resharding.** A child shard is eligible only once every parent's row has the checkpoint
//!   `SHARD_END` (the parent was read to its end: `NextShardIterator` absent) or the parent has
//!   left the stream's retention, so records of a key are read in order across a split or merge.
//! * **Reading.** One task per held shard: an iterator `AFTER_SEQUENCE_NUMBER` of the checkpoint,
//!   or `start_position` for a shard without one; `GetRecords` (at most `max_records`) every
//!   `poll_interval_ms` while the shard is caught up, immediately while it is behind. Throttling
//!   (`ProvisionedThroughputExceededException`, `LimitExceededException`) and other errors back
//!   off exponentially (up to 30 s); an expired iterator is replaced from the last record read (before
//!   any record was read at `latest`, from the time the shard was first opened, so records that
//!   arrived meanwhile are not skipped; a rewind does the same).
//!   The source does all retrying itself (its Kinesis client has the SDK's own retries off), so
//!   every throttled call it makes shows in `weir_aws_kinesis_throttles_total`.
//!   Sending waits while downstream is full, so backpressure stops polling.
//! * **Decoding.** KPL aggregated records are de-aggregated (MD5 checked), each user record with
//!   its sub-sequence number; `decoding` then applies to each record (see [`Decoding`]): CloudWatch
//!   Logs subscription envelopes become one event per log event (control messages are dropped and
//!   count as delivered). A record that cannot be decoded (corrupt aggregate, broken envelope)
//!   goes to `<id>.errors` with `error` set and is counted (`error_type` `invalid_record`).
//! * **Checkpoints.** Each GetRecords batch is one acknowledgement batch; the shard's checkpoint
//!   advances to the last sequence number of the longest prefix of fully delivered batches
//!   (ordered checkpointing over out-of-order acknowledgements) and is written at most every
//!   `checkpoint_interval_ms`, at shutdown and at the shard's end. When a batch fails (a sink errored,
//!   or rejected with `on_rejected = "retry"`), the shard rewinds: reading restarts after the
//!   checkpoint after a back-off, so nothing past an undelivered record is ever checkpointed.
//! * **Events.** `message` (the record, or the log event's message), `timestamp` (arrival time,
//!   or the log event's), and `kinesis.{stream, shard_id, sequence_number, sub_sequence_number
//!   (aggregated records only), partition_key, arrival_time}`. Raw records have the stream
//!   identity `kinesis://<stream>/<shard id>` for `aws_parse`; CloudWatch events carry their
//!   `cloudwatch.log_group`/`log_stream` instead, from which `aws_parse` (`format = "auto"`)
//!   picks the format. The **deterministic id** (event metadata id and `kinesis.record_id`) hashes
//!   stream, shard, sequence number, sub-sequence number and the log event id: a redelivered
//!   record gets the same ids.
//! * **Shutdown.** Reading stops, in-flight events are drained and acknowledged, checkpoints
//!   written, and leases released (owner cleared) so another process takes them at once.
//! * **Delivery** is at least once: after a crash or a lease takeover, records after the last
//!   written checkpoint are read again (with the same ids).
//!
//! # Metrics
//!
//! Besides the component metrics: `weir_aws_kinesis_records_total`,
//! `weir_aws_kinesis_bytes_total`, `weir_aws_kinesis_millis_behind_latest` (gauge per
//! `stream`/`shard_id`), `weir_aws_kinesis_leases_held`, `weir_aws_kinesis_lease_takeovers_total`,
//! `weir_aws_kinesis_checkpoint_writes_total`, `weir_aws_kinesis_throttles_total`.

mod coordinator;
mod ids;
pub mod leases;
mod metrics;
mod shard_reader;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use weir_core::component::{
    BuildContext, BuildError, ComponentError, ComponentSpec, ConfigProblem, ParseConfig, Source,
    SourceConfig, SourceContext,
};

use crate::aws::AwsAuth;
use crate::decoding::Decoding;

pub use ids::record_id;

/// `start_position`: where a shard without a checkpoint is read from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartPosition {
    /// Only records put after the shard is opened (default).
    #[default]
    Latest,
    /// The oldest record still in the stream.
    TrimHorizon,
    /// Records from `start_timestamp` on.
    AtTimestamp,
}

/// `on_rejected`: what a record rejected by a sink for good does to its shard's checkpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnRejected {
    /// The checkpoint does not move past it (default): the shard rewinds to its checkpoint and
    /// reads it again after a back-off.
    #[default]
    Retry,
    /// Count it as done and let the checkpoint move on. **The rejected events are lost** unless
    /// the sink dead-letters them. (Retriable failures always rewind.)
    Skip,
}

fn default_lease_table() -> String {
    "weir-kinesis-leases".into()
}
fn default_lease_duration_ms() -> u64 {
    30_000
}
fn default_checkpoint_interval_ms() -> u64 {
    5_000
}
fn default_discovery_interval_ms() -> u64 {
    30_000
}
fn default_poll_interval_ms() -> u64 {
    1_000
}
fn default_max_decompressed_bytes() -> usize {
    64 * 1024 * 1024
}

/// Configuration of the `aws_kinesis` source.
///
/// ```toml
/// [sources.logs]
/// type = "aws_kinesis"
/// streams = ["cloudwatch-logs", "arn:aws:kinesis:eu-west-1:123456789012:stream/app-logs"]
/// region = "eu-west-1"
/// start_position = "trim_horizon"
/// lease_table = "weir-kinesis-leases"
/// lease_duration_ms = 30000
/// checkpoint_interval_ms = 5000
/// decoding = "auto"
/// ```
///
/// See the [module docs](self) for leases, checkpoints and metrics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsKinesisConfig {
    /// Streams to read, by name or ARN (required, at least one).
    pub streams: Vec<String>,
    /// Region of the streams and the lease table. Default: the SDK's region chain.
    #[serde(default)]
    pub region: Option<String>,
    /// Endpoint override for Kinesis and DynamoDB, e.g. `http://127.0.0.1:5000` (moto, tests).
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Credentials: the standard chain, plus an optional `assume_role` (see
    /// [`crate::aws::AwsAuth`]).
    #[serde(default)]
    pub auth: AwsAuth,
    /// `latest` (default), `trim_horizon` or `at_timestamp` — for shards without a checkpoint.
    #[serde(default)]
    pub start_position: StartPosition,
    /// With `start_position = "at_timestamp"` (required then): RFC 3339 time to start from.
    #[serde(default)]
    pub start_timestamp: Option<DateTime<Utc>>,
    /// DynamoDB table of leases and checkpoints (default `weir-kinesis-leases`), created if
    /// missing. Processes that share it split the shards between them.
    #[serde(default = "default_lease_table")]
    pub lease_table: String,
    /// This process's name in the lease table. Default: `<hostname>-<pid>-<random>`.
    #[serde(default)]
    pub worker_id: Option<String>,
    /// How long a lease lives without renewal before others may take it (default 30000 ms, at
    /// least 1000). Leases are renewed every third of it.
    #[serde(default = "default_lease_duration_ms")]
    pub lease_duration_ms: u64,
    /// Shortest time between two checkpoint writes of a shard (default 5000 ms).
    #[serde(default = "default_checkpoint_interval_ms")]
    pub checkpoint_interval_ms: u64,
    /// How often shards are listed again (default 30000 ms, at least 1000).
    #[serde(default = "default_discovery_interval_ms")]
    pub discovery_interval_ms: u64,
    /// Pause between two `GetRecords` of a shard that is caught up (default 1000 ms, at least
    /// 200: Kinesis allows five calls per second per shard).
    #[serde(default = "default_poll_interval_ms")]
    pub poll_interval_ms: u64,
    /// Records asked for per `GetRecords` (1–10000; default: Kinesis's 10000).
    #[serde(default)]
    pub max_records: Option<i32>,
    /// How records become events (default `auto`, see [`Decoding`]).
    #[serde(default)]
    pub decoding: Decoding,
    /// Largest size a gzip'd CloudWatch Logs envelope may inflate to (default 64 MiB).
    #[serde(default = "default_max_decompressed_bytes")]
    pub max_decompressed_bytes: usize,
    /// `retry` (default) or `skip` (see [`OnRejected`]; `skip` loses rejected events).
    #[serde(default)]
    pub on_rejected: OnRejected,
}

impl SourceConfig for AwsKinesisConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.streams.is_empty() {
            problems.push(ConfigProblem::new("streams", "name at least one stream"));
        }
        if self.streams.iter().any(|s| s.trim().is_empty()) {
            problems.push(ConfigProblem::new(
                "streams",
                "stream names must not be empty",
            ));
        }
        if self.lease_table.trim().is_empty() {
            problems.push(ConfigProblem::new("lease_table", "must not be empty"));
        }
        if self.start_position == StartPosition::AtTimestamp && self.start_timestamp.is_none() {
            problems.push(ConfigProblem::new(
                "start_timestamp",
                "required with start_position = \"at_timestamp\"",
            ));
        }
        if self.lease_duration_ms < 1000 {
            problems.push(ConfigProblem::new(
                "lease_duration_ms",
                "must be at least 1000",
            ));
        }
        if self.discovery_interval_ms < 1000 {
            problems.push(ConfigProblem::new(
                "discovery_interval_ms",
                "must be at least 1000",
            ));
        }
        if self.poll_interval_ms < 200 {
            problems.push(ConfigProblem::new(
                "poll_interval_ms",
                "must be at least 200",
            ));
        }
        if let Some(max) = self.max_records {
            if !(1..=10_000).contains(&max) {
                problems.push(ConfigProblem::new(
                    "max_records",
                    "must be between 1 and 10000",
                ));
            }
        }
        if self.max_decompressed_bytes == 0 {
            problems.push(ConfigProblem::new(
                "max_decompressed_bytes",
                "must be greater than 0",
            ));
        }
        problems.extend(self.auth.problems());
        problems
    }

    fn outputs(&self) -> Vec<&'static str> {
        vec!["errors"]
    }

    fn build(&self, cx: &BuildContext) -> Result<Box<dyn Source>, BuildError> {
        Ok(Box::new(AwsKinesisSource {
            config: self.clone(),
            id: Arc::clone(&cx.id),
        }))
    }
}

/// The running `aws_kinesis` source.
struct AwsKinesisSource {
    config: AwsKinesisConfig,
    #[allow(dead_code)]
    id: Arc<str>,
}

#[async_trait]
impl Source for AwsKinesisSource {
    async fn run(self: Box<Self>, cx: SourceContext) -> Result<(), ComponentError> {
        coordinator::run(self.config, cx).await
    }
}

/// The source's registration.
pub const SPEC: ComponentSpec = ComponentSpec {
    type_name: "aws_kinesis",
    description:
        "Read Kinesis Data Streams shards with DynamoDB leases; checkpoint after delivery.",
    parse: ParseConfig::Source(weir_core::component::parse_source::<AwsKinesisConfig>),
};
