//! Source `aws_s3`: reads S3 objects announced by event notifications on an SQS queue, and deletes
//! each message only after every event of every object it names was delivered.
//!
//! # How it works
//!
//! * **Receiving.** The queue is long-polled (`sqs.poll_secs`, at most 20 s) for up to
//!   `sqs.max_number_of_messages` messages at a time, with the visibility timeout
//!   `sqs.visibility_timeout_secs`. At most `sqs.concurrency` messages are in flight (being read or
//!   waiting for their acknowledgements); while that many are, nothing more is received — so when
//!   downstream is full, readers wait, messages stay in flight, and no new message is taken only to
//!   time out in memory.
//! * **Notifications.** A body may be a direct S3 event notification, the same wrapped by SNS, or an
//!   EventBridge `Object Created` event (parsed by `weir_aws::envelopes::s3_notification`). The
//!   `s3:TestEvent` message is deleted. Events other than object creation are skipped and the
//!   message deleted once its objects (if any) are read. A body that is not a notification is
//!   counted (`invalid_message`), logged with its message id, and **left on the queue**: SQS's
//!   redrive policy moves it to a dead-letter queue after `maxReceiveCount` receives. Keys are
//!   URL-decoded. An object whose key matches none of `include` (when given) or one of `exclude`
//!   is skipped.
//! * **Reading.** Each object is fetched from its record's region and streamed: body → byte cap
//!   (`max_object_bytes`) → decompression (`compression`) → decompressed-size cap
//!   (`max_decompressed_bytes`, against decompression bombs) → framing (`framing`) — memory is a
//!   read chunk and one line or record, whatever the object's size.
//! * **Events.** Each event has the fields `message` (the line or the record's raw JSON),
//!   `timestamp` (when it was read) and `s3` (`bucket`, `key`, `region`, `last_modified`,
//!   `record_id`: the deterministic id below, also in the event metadata's id slot); its
//!   stream identity is `s3://<bucket>/<key>` (so `aws_parse` with `format = "auto"` picks the
//!   format from the key, and keeps per-object header context) and its offset the byte offset of
//!   the record in the decompressed object. Its **deterministic id** is a hash of bucket, key,
//!   version id (or ETag) and the record's ordinal in the object: a redelivered object yields the
//!   same ids, which sinks use to deduplicate.
//! * **Acknowledgements.** A message is deleted only once every event of every object it names was
//!   delivered (or dropped on purpose). If an event is rejected or errors, or an object cannot be
//!   read for a reason that may pass (an outage, access denied), the message is not deleted: it
//!   becomes visible again when its visibility timeout runs out and is read again (its events keep
//!   their ids). `on_rejected = "skip"` deletes it anyway when a sink rejected events for good —
//!   **that loses those events** (unless the sink dead-letters them).
//! * **Objects that can never be read** (missing key, corrupt or truncated compression, over a size
//!   cap) are reported — an error metric by kind, a warning, an event on the `<id>.errors` output —
//!   and the message is deleted once what could be read was delivered: reading it again would fail
//!   the same way. Lines that are not UTF-8 and lines over `max_line_bytes` go to `<id>.errors` too.
//! * **Visibility heartbeat.** While a message is in flight, its visibility is extended by
//!   `sqs.visibility_timeout_secs` every third of the timeout (`ChangeMessageVisibility`), so a large
//!   object or a slow sink never lets it reappear for another consumer mid-read. Extensions stop
//!   when the message is done. At shutdown, messages whose objects were not completely read are made
//!   visible again at once.
//! * **Scale-out.** Several Weir processes (or several `aws_s3` sources) may read one queue: SQS's
//!   visibility timeout hands each message to one consumer at a time, the heartbeat keeps it there
//!   while it is worked on, and a consumer that dies lets it reappear for the others. No
//!   coordination between processes is needed; delivery is at least once, and duplicates after a
//!   crash carry the same ids.
//!
//! # Metrics
//!
//! Besides the component metrics (`weir_component_received_events_total`, errors by `error_type`):
//! `weir_aws_s3_messages_received_total`, `weir_aws_s3_messages_deleted_total`,
//! `weir_aws_s3_messages_failed_total` (not deleted: delivery failed or an object could not be
//! read), `weir_aws_s3_objects_read_total`, `weir_aws_s3_compressed_bytes_total`,
//! `weir_aws_s3_decompressed_bytes_total`, `weir_aws_s3_visibility_extensions_total`,
//! `weir_aws_s3_lag_seconds` (gauge: now − S3 event time of the latest object) and
//! `weir_aws_s3_object_lag_seconds` (histogram of the same).

mod ids;
mod metrics;
mod object_reader;
mod receiver;
#[cfg(test)]
mod tests;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use weir_core::component::PluginCommon;
use weir_core::component::{
    BuildContext, BuildError, ComponentError, ConfigProblem, Source, SourceConfig, SourceContext,
    StartupCheck,
};

use weir_aws::client::AwsAuth;
use weir_core::output::ERRORS;

pub use crate::framing::Framing;
pub use crate::utf8::InvalidUtf8;
pub use weir_core::source_kit::OnRejected;

pub use ids::record_id;

/// `compression`: how object bodies are decompressed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "S3Compression")]
pub enum Compression {
    /// Magic bytes first (gzip `1f 8b`, zstd `28 b5 2f fd`), then the object's `Content-Encoding`,
    /// then the key's extension (`.gz`, `.zst`); otherwise none (default).
    #[default]
    Auto,
    /// gzip (several members are read one after the other).
    Gzip,
    /// Zstandard.
    Zstd,
    /// Not compressed.
    None,
}

/// `sqs`: the queue and how it is read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SqsConfig {
    /// URL of the queue that receives the bucket's notifications (required).
    #[schemars(
        length(min = 1),
        example = "https://sqs.eu-west-1.amazonaws.com/123456789012/cloudtrail-logs"
    )]
    pub queue_url: String,
    /// Long-poll wait of one receive, in seconds.
    #[serde(default = "default_poll_secs")]
    #[schemars(range(max = POLL_SECS_MAX))]
    pub poll_secs: u32,
    /// Messages asked for per receive.
    #[serde(default = "default_max_number_of_messages")]
    #[schemars(range(min = MAX_NUMBER_OF_MESSAGES.0, max = MAX_NUMBER_OF_MESSAGES.1))]
    pub max_number_of_messages: u32,
    /// Visibility timeout given to received messages, in seconds. The
    /// heartbeat extends it every third of the timeout while a message is in flight.
    #[serde(default = "default_visibility_timeout_secs")]
    #[schemars(range(min = VISIBILITY_TIMEOUT_SECS.0, max = VISIBILITY_TIMEOUT_SECS.1))]
    pub visibility_timeout_secs: u32,
    /// Messages in flight at once — read or awaiting acknowledgement.
    #[serde(default = "default_concurrency")]
    #[schemars(range(min = CONCURRENCY_MIN))]
    pub concurrency: usize,
}

// Bounds checked by `validate` and stated in the schema (`(min, max)` for closed ranges).
const POLL_SECS_MAX: u32 = 20;
const MAX_NUMBER_OF_MESSAGES: (u32, u32) = (1, 10);
const VISIBILITY_TIMEOUT_SECS: (u32, u32) = (1, 43_200);
const CONCURRENCY_MIN: usize = 1;
const MAX_LINE_BYTES_MIN: usize = 1;
const MAX_OBJECT_BYTES_MIN: u64 = 1;
const MAX_DECOMPRESSED_BYTES_MIN: u64 = 1;

fn default_poll_secs() -> u32 {
    20
}
fn default_max_number_of_messages() -> u32 {
    10
}
fn default_visibility_timeout_secs() -> u32 {
    300
}
fn default_concurrency() -> usize {
    8
}
fn default_max_line_bytes() -> usize {
    1024 * 1024
}
fn default_max_object_bytes() -> u64 {
    10 * 1024 * 1024 * 1024
}
fn default_max_decompressed_bytes() -> u64 {
    crate::decompress::DEFAULT_MAX_DECOMPRESSED_BYTES
}

/// Configuration of the `aws_s3` source.
///
/// ```toml
/// [sources.cloudtrail]
/// type = "aws_s3"
/// region = "eu-west-1"
/// compression = "auto"
/// framing = "auto"
/// include = ["AWSLogs/*/CloudTrail/*"]
///
/// [sources.cloudtrail.sqs]
/// queue_url = "https://sqs.eu-west-1.amazonaws.com/123456789012/cloudtrail-logs"
/// visibility_timeout_secs = 300
/// concurrency = 8
/// ```
///
/// The delivery semantics and metrics are described in the source's module documentation
/// (`sources/src/aws_s3/mod.rs`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AwsS3SourceConfig {
    /// The queue (required).
    pub sqs: SqsConfig,
    /// Region of the queue (and of buckets whose notifications do not name one). Default: the
    /// SDK's region chain (`AWS_REGION`, profile, instance metadata).
    #[serde(default)]
    pub region: Option<String>,
    /// Endpoint override for SQS and S3, e.g. `http://127.0.0.1:5000` (moto, tests) or an
    /// S3-compatible store. Default: AWS's endpoints.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Path-style S3 addressing (`endpoint/bucket/key`). Default: true when `endpoint` is set.
    #[serde(default)]
    pub force_path_style: Option<bool>,
    /// Credentials: the standard chain (environment, profile, web identity, ECS, EC2 instance
    /// metadata), plus an optional `assume_role`.
    #[serde(default)]
    pub auth: AwsAuth,
    /// `auto` (default), `gzip`, `zstd` or `none` (see [`Compression`]).
    #[serde(default)]
    pub compression: Compression,
    /// `auto` (default), `newline` or `json_records`: how decompressed objects are cut into
    /// events (see [`Framing`]).
    #[serde(default)]
    pub framing: Framing,
    /// Longest accepted line in bytes — and, under records framing, largest
    /// accepted record. Longer ones go to `<id>.errors`, never cut.
    #[serde(default = "default_max_line_bytes")]
    #[schemars(range(min = MAX_LINE_BYTES_MIN))]
    pub max_line_bytes: usize,
    /// Largest object read, in stored (compressed) bytes. Larger objects are
    /// reported and skipped.
    #[serde(default = "default_max_object_bytes")]
    #[schemars(range(min = MAX_OBJECT_BYTES_MIN))]
    pub max_object_bytes: u64,
    /// Most decompressed bytes read from one object: a decompression bomb stops
    /// there, reported as `decompressed_too_large`.
    #[serde(default = "default_max_decompressed_bytes")]
    #[schemars(range(min = MAX_DECOMPRESSED_BYTES_MIN))]
    pub max_decompressed_bytes: u64,
    /// `error` (default) or `replace`: a line or record that is not valid UTF-8 goes to
    /// `<id>.errors` with its exact bytes in `message_base64`, or is delivered with U+FFFD in
    /// place of the invalid bytes (see [`InvalidUtf8`]). Counted either way.
    #[serde(default)]
    pub invalid_utf8: InvalidUtf8,
    /// Glob patterns (`*` matches `/` too) of keys to read. Default: every key.
    #[serde(default)]
    pub include: Vec<String>,
    /// Glob patterns of keys to skip even though `include` matches them. Default: none.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// What happens to a message when a sink rejected some of its events for good (see
    /// [`OnRejected`]): `retry` (default) keeps the message: it becomes visible again after its
    /// visibility timeout and its objects are read again (until SQS's redrive policy moves it to
    /// a dead-letter queue); `skip` deletes it anyway: **the rejected events are lost** unless
    /// the sink dead-letters them. Retriable failures (an outage, a sink torn down) always keep
    /// the message. The deprecated `delete` means `skip`.
    #[serde(default)]
    pub on_rejected: OnRejected,
    /// Before the pipeline starts (and before a reload applies), check that the queue answers
    /// `GetQueueAttributes`; if not, `weir` does not start and says why in one line (access
    /// denied, no such queue, no credentials, wrong region, unreachable). `false` starts anyway:
    /// the source then retries and reports every failure as it runs.
    #[serde(default = "default_startup_check")]
    pub startup_check: bool,
}

fn default_startup_check() -> bool {
    true
}

impl PluginCommon for AwsS3SourceConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.sqs.queue_url.trim().is_empty() {
            problems.push(ConfigProblem::new("sqs.queue_url", "must not be empty"));
        }
        if self.sqs.poll_secs > POLL_SECS_MAX {
            problems.push(ConfigProblem::new(
                "sqs.poll_secs",
                format!("must be at most {POLL_SECS_MAX}"),
            ));
        }
        for (key, value, (min, max)) in [
            (
                "sqs.max_number_of_messages",
                self.sqs.max_number_of_messages,
                MAX_NUMBER_OF_MESSAGES,
            ),
            (
                "sqs.visibility_timeout_secs",
                self.sqs.visibility_timeout_secs,
                VISIBILITY_TIMEOUT_SECS,
            ),
        ] {
            if !(min..=max).contains(&value) {
                problems.push(ConfigProblem::new(
                    key,
                    format!("must be between {min} and {max}"),
                ));
            }
        }
        if self.sqs.concurrency < CONCURRENCY_MIN {
            problems.push(ConfigProblem::new(
                "sqs.concurrency",
                format!("must be at least {CONCURRENCY_MIN}"),
            ));
        }
        for (key, value, min) in [
            (
                "max_line_bytes",
                self.max_line_bytes as u64,
                MAX_LINE_BYTES_MIN as u64,
            ),
            (
                "max_object_bytes",
                self.max_object_bytes,
                MAX_OBJECT_BYTES_MIN,
            ),
            (
                "max_decompressed_bytes",
                self.max_decompressed_bytes,
                MAX_DECOMPRESSED_BYTES_MIN,
            ),
        ] {
            if value < min {
                problems.push(ConfigProblem::new(
                    key,
                    format!("must be greater than {}", min - 1),
                ));
            }
        }
        for (key, patterns) in [("include", &self.include), ("exclude", &self.exclude)] {
            for pattern in patterns {
                if let Err(e) = glob::Pattern::new(pattern) {
                    problems.push(ConfigProblem::new(
                        key,
                        format!("invalid glob `{pattern}`: {e}"),
                    ));
                }
            }
        }
        problems.extend(self.auth.problems());
        problems
    }
    fn outputs(&self) -> Vec<String> {
        vec![ERRORS.to_string()]
    }
}

impl SourceConfig for AwsS3SourceConfig {
    fn build(&self, _cx: &BuildContext) -> Result<Box<dyn Source>, BuildError> {
        let patterns = |key: &str, list: &[String]| {
            list.iter()
                .map(|p| glob::Pattern::new(p).map_err(|e| BuildError::new(key, e.to_string())))
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(Box::new(AwsS3Source {
            include: patterns("include", &self.include)?,
            exclude: patterns("exclude", &self.exclude)?,
            config: self.clone(),
        }))
    }

    fn startup_check(&self) -> Option<StartupCheck> {
        self.startup_check.then(|| {
            let config = self.clone();
            Box::pin(async move { receiver::check_queue(&config).await }) as StartupCheck
        })
    }
}

impl AwsS3SourceConfig {
    /// Whether a key is to be read under `include`/`exclude`.
    fn wants_key(include: &[glob::Pattern], exclude: &[glob::Pattern], key: &str) -> bool {
        (include.is_empty() || include.iter().any(|p| p.matches(key)))
            && !exclude.iter().any(|p| p.matches(key))
    }
}

/// The running `aws_s3` source.
struct AwsS3Source {
    config: AwsS3SourceConfig,
    include: Vec<glob::Pattern>,
    exclude: Vec<glob::Pattern>,
}

#[async_trait]
impl Source for AwsS3Source {
    async fn run(self: Box<Self>, cx: SourceContext) -> Result<(), ComponentError> {
        receiver::run(*self, cx).await
    }
}

/// The source's registration.
pub const SPEC: weir_core::component::ComponentSpec = weir_core::component::ComponentSpec {
    type_name: "aws_s3",
    description: "Read S3 objects announced on an SQS queue; delete messages only after delivery.",
    parse: weir_core::component::ParseConfig::Source(
        weir_core::component::parse_source::<AwsS3SourceConfig>,
    ),
    schema: weir_core::component::schema_of::<AwsS3SourceConfig>,
};
