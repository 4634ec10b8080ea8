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

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use weir_core::component::PluginCommon;
use weir_core::component::{
    BuildContext, BuildError, ComponentError, ComponentSpec, ConfigProblem, ParseConfig, Source,
    SourceConfig, SourceContext, StartupCheck,
};

use crate::decoding::Decoding;
use weir_aws::client::AwsAuth;
use weir_core::output::ERRORS;

pub use weir_core::source_kit::OnRejected;

pub use ids::record_id;

/// `start_position`: where a shard without a checkpoint is read from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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

// Bounds checked by `validate` and stated in the schema.
const LEASE_DURATION_MS_MIN: u64 = 1_000;
const DISCOVERY_INTERVAL_MS_MIN: u64 = 1_000;
const POLL_INTERVAL_MS_MIN: u64 = 200;
const MAX_RECORDS: (i32, i32) = (1, 10_000);
const MAX_DECOMPRESSED_BYTES_MIN: usize = 1;

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
/// Leases, checkpoints and metrics are described in the source's module documentation
/// (`sources/src/aws_kinesis/mod.rs`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AwsKinesisConfig {
    /// Streams to read, by name or ARN (required, at least one).
    #[schemars(length(min = 1), inner(length(min = 1)))]
    pub streams: Vec<String>,
    /// Region of the streams and the lease table. Default: the SDK's region chain.
    #[serde(default)]
    pub region: Option<String>,
    /// Endpoint override for Kinesis and DynamoDB, e.g. `http://127.0.0.1:5000` (moto, tests).
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Credentials: the standard chain (environment, profile, web identity, ECS, EC2 instance
    /// metadata), plus an optional `assume_role`.
    #[serde(default)]
    pub auth: AwsAuth,
    /// `latest` (default), `trim_horizon` or `at_timestamp` — for shards without a checkpoint.
    #[serde(default)]
    pub start_position: StartPosition,
    /// With `start_position = "at_timestamp"` (required then): RFC 3339 time to start from.
    #[serde(default)]
    #[schemars(with = "Option<String>", extend("format" = "date-time"))]
    pub start_timestamp: Option<DateTime<Utc>>,
    /// DynamoDB table of leases and checkpoints (default `weir-kinesis-leases`), created if
    /// missing. Processes that share it split the shards between them.
    #[serde(default = "default_lease_table")]
    #[schemars(length(min = 1))]
    pub lease_table: String,
    /// This process's name in the lease table. Default: `<hostname>-<pid>-<random>`.
    #[serde(default)]
    pub worker_id: Option<String>,
    /// How long a lease lives without renewal before others may take it, in milliseconds. Leases
    /// are renewed every third of it.
    #[serde(default = "default_lease_duration_ms")]
    #[schemars(range(min = LEASE_DURATION_MS_MIN))]
    pub lease_duration_ms: u64,
    /// Shortest time between two checkpoint writes of a shard, in milliseconds.
    #[serde(default = "default_checkpoint_interval_ms")]
    pub checkpoint_interval_ms: u64,
    /// How often shards are listed again, in milliseconds.
    #[serde(default = "default_discovery_interval_ms")]
    #[schemars(range(min = DISCOVERY_INTERVAL_MS_MIN))]
    pub discovery_interval_ms: u64,
    /// Pause between two `GetRecords` of a shard that is caught up, in milliseconds (Kinesis
    /// allows five calls per second per shard).
    #[serde(default = "default_poll_interval_ms")]
    #[schemars(range(min = POLL_INTERVAL_MS_MIN))]
    pub poll_interval_ms: u64,
    /// Records asked for per `GetRecords` (1–10000; default: Kinesis's 10000).
    #[serde(default)]
    #[schemars(range(min = MAX_RECORDS.0, max = MAX_RECORDS.1))]
    pub max_records: Option<i32>,
    /// How records become events (default `auto`, see [`Decoding`]).
    #[serde(default)]
    pub decoding: Decoding,
    /// Largest size a gzip'd CloudWatch Logs envelope may inflate to.
    #[serde(default = "default_max_decompressed_bytes")]
    #[schemars(range(min = MAX_DECOMPRESSED_BYTES_MIN))]
    pub max_decompressed_bytes: usize,
    /// What a record a sink rejected for good does to its shard's checkpoint (see
    /// [`OnRejected`]): `retry` (default) does not move the checkpoint past it: the shard rewinds
    /// to its checkpoint and reads it again after a back-off; `skip` counts it as done and lets
    /// the checkpoint move on: **the rejected events are lost** unless the sink dead-letters
    /// them. Retriable failures always rewind.
    #[serde(default)]
    pub on_rejected: OnRejected,
    /// Before the pipeline starts (and before a reload applies), check that every stream answers
    /// `DescribeStreamSummary` and the lease table `DescribeTable` (a table that does not exist
    /// yet is fine: it is created); if not, `weir` does not start and says why in one line.
    /// `false` starts anyway: the source then retries and reports every failure as it runs.
    #[serde(default = "default_startup_check")]
    pub startup_check: bool,
}

fn default_startup_check() -> bool {
    true
}

impl PluginCommon for AwsKinesisConfig {
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
        for (key, value, min) in [
            (
                "lease_duration_ms",
                self.lease_duration_ms,
                LEASE_DURATION_MS_MIN,
            ),
            (
                "discovery_interval_ms",
                self.discovery_interval_ms,
                DISCOVERY_INTERVAL_MS_MIN,
            ),
            (
                "poll_interval_ms",
                self.poll_interval_ms,
                POLL_INTERVAL_MS_MIN,
            ),
        ] {
            if value < min {
                problems.push(ConfigProblem::new(key, format!("must be at least {min}")));
            }
        }
        if let Some(records) = self.max_records {
            let (min, max) = MAX_RECORDS;
            if !(min..=max).contains(&records) {
                problems.push(ConfigProblem::new(
                    "max_records",
                    format!("must be between {min} and {max}"),
                ));
            }
        }
        if self.max_decompressed_bytes < MAX_DECOMPRESSED_BYTES_MIN {
            problems.push(ConfigProblem::new(
                "max_decompressed_bytes",
                format!("must be greater than {}", MAX_DECOMPRESSED_BYTES_MIN - 1),
            ));
        }
        problems.extend(self.auth.problems());
        problems
    }
    fn outputs(&self) -> Vec<String> {
        vec![ERRORS.to_string()]
    }
}

impl SourceConfig for AwsKinesisConfig {
    fn build(&self, _cx: &BuildContext) -> Result<Box<dyn Source>, BuildError> {
        Ok(Box::new(AwsKinesisSource {
            config: self.clone(),
        }))
    }

    fn startup_check(&self) -> Option<StartupCheck> {
        self.startup_check.then(|| {
            let config = self.clone();
            Box::pin(async move { coordinator::check(&config).await }) as StartupCheck
        })
    }
}

/// The running `aws_kinesis` source.
struct AwsKinesisSource {
    config: AwsKinesisConfig,
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
    schema: weir_core::component::schema_of::<AwsKinesisConfig>,
};
