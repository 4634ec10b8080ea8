//! The `elasticsearch` sink's configuration: the reference documentation of its keys.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use weir_core::component::ConfigProblem;
use weir_core::secret::Secret;
use weir_core::template::Template;

use crate::dead_letter::DeadLetterConfig;

/// Writes events to Elasticsearch or OpenSearch (including Amazon OpenSearch Service) with the
/// `_bulk` API.
///
/// ```toml
/// [sinks.search]
/// type = "elasticsearch"
/// inputs = ["parsed"]
/// endpoints = ["https://search.example.com:9200"]
/// mode = "bulk"
/// index = "aws-{{ aws.log_type }}-%Y.%m.%d"
/// bulk.action = "create"
/// batch = { max_events = 1000, max_bytes = 5242880, timeout_secs = 1.0 }
/// compression = "gzip"
/// concurrency = 4
/// retry = { initial_backoff_ms = 100, max_backoff_ms = 10000, max_duration_secs = 300 }
/// auth = { strategy = "basic", user = "weir", password = "${ES_PASSWORD}" }
///
/// [sinks.search_dead_letters]
/// type = "file"
/// inputs = ["search.dead_letter"]
/// path = "./dead-letters/search.ndjson"
/// ```
///
/// Each document is acknowledged from its own item in the bulk response: `2xx` → `Delivered`;
/// `409` on `create` with an id → `Delivered` (the document is already there); `429` and `5xx`
/// items are retried (only those items) with exponential backoff and jitter until
/// `retry.max_duration_secs`, then end `Errored`; any other `4xx` item (mapping error, bad
/// document) ends `Rejected` and goes to the `<sink id>.dead_letter` output with the server's
/// reason (or, when nothing consumes that output, to the sink's dead-letter files: `dead_letter`). A request that fails as a whole (connection refused, timeout, `429`, `5xx`, `401`/`403`)
/// is retried as a whole the same way.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ElasticsearchSinkConfig {
    /// Base URLs of the cluster (required, at least one, each `http://` or `https://`); requests go
    /// round-robin.
    #[schemars(
        length(min = 1),
        inner(regex(pattern = ENDPOINT_PATTERN)),
        example = ENDPOINTS_EXAMPLE
    )]
    pub endpoints: Vec<String>,
    /// `bulk` (default) or `data_stream`. In `data_stream` mode every document is written with the
    /// `create` action (data streams accept nothing else) and gets an `@timestamp` field (the
    /// event's timestamp) when it has none; `index` then names the data stream.
    #[serde(default)]
    pub mode: Mode,
    /// Index (or data stream) name: a template with `{{ field.path }}` parts and strftime
    /// specifiers on the event's timestamp (UTC).
    #[serde(default = "default_index")]
    #[schemars(length(min = 1), example = "aws-{{ aws.log_type }}-%Y.%m.%d")]
    pub index: String,
    /// Bulk options.
    #[serde(default)]
    pub bulk: BulkOptions,
    /// Dotted path of the field holding the document id. Default: the event's deterministic id
    /// (its source's id, or one derived from the file path and offset), so a redelivered event
    /// overwrites (or, with `create`, is recognized as already there) instead of duplicating;
    /// events with no id get one from the server.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub id_field: Option<String>,
    /// When a bulk request is sent.
    #[serde(default)]
    pub batch: BatchOptions,
    /// `gzip` (default) or `none`: compression of request bodies.
    #[serde(default)]
    pub compression: EsCompression,
    /// Bulk requests in flight at once.
    #[serde(default = "default_concurrency")]
    #[schemars(range(min = CONCURRENCY_MIN))]
    pub concurrency: usize,
    /// Retries of failed items and requests.
    #[serde(default)]
    pub retry: RetryOptions,
    /// Authentication (default none).
    #[serde(default)]
    pub auth: Option<Auth>,
    /// TLS options for `https://` endpoints.
    #[serde(default)]
    pub tls: EsTls,
    /// Timeout of one HTTP request in seconds.
    #[serde(default = "default_request_timeout_secs")]
    #[schemars(range(min = REQUEST_TIMEOUT_SECS_MIN))]
    pub request_timeout_secs: u64,
    /// Check the cluster with `GET /` at startup and log its version. A failing
    /// check (unreachable, `401`) is logged as an error and counted (`health_check_failed`); the
    /// sink still starts and retries its requests.
    #[serde(default = "yes")]
    pub healthcheck: bool,
    /// Where rejected events go when nothing consumes `<id>.dead_letter`: kept in files under
    /// `<data_dir>/dead_letter/<id>/` by default.
    #[serde(default)]
    pub dead_letter: DeadLetterConfig,
}

/// How documents are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Plain indices (the default).
    #[default]
    Bulk,
    /// Data streams.
    DataStream,
}

/// Bulk API options.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkOptions {
    /// `index` (default: replace a document with the same id) or `create` (keep the existing one;
    /// a `409` answer then counts as delivered).
    #[serde(default)]
    pub action: BulkAction,
}

/// The bulk action.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BulkAction {
    /// `index`.
    #[default]
    Index,
    /// `create`.
    Create,
}

impl BulkAction {
    /// The action's name in the bulk body.
    pub fn as_str(self) -> &'static str {
        match self {
            BulkAction::Index => "index",
            BulkAction::Create => "create",
        }
    }
}

/// Batching.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchOptions {
    /// Most documents per bulk request.
    #[serde(default = "default_max_events")]
    #[schemars(range(min = BATCH_MAX_EVENTS_MIN))]
    pub max_events: usize,
    /// Most uncompressed body bytes per bulk request; a single larger document is
    /// sent alone.
    #[serde(default = "default_max_bytes")]
    #[schemars(range(min = BATCH_MAX_BYTES_MIN))]
    pub max_bytes: usize,
    /// Longest a document waits for its batch to fill, in seconds.
    #[serde(default = "default_timeout_secs")]
    #[schemars(extend("exclusiveMinimum" = BATCH_TIMEOUT_SECS_ABOVE))]
    pub timeout_secs: f64,
}

impl Default for BatchOptions {
    fn default() -> Self {
        Self {
            max_events: default_max_events(),
            max_bytes: default_max_bytes(),
            timeout_secs: default_timeout_secs(),
        }
    }
}

/// Request body compression.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EsCompression {
    /// gzip (the default).
    #[default]
    Gzip,
    /// Uncompressed.
    None,
}

/// Retries.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryOptions {
    /// First backoff in milliseconds; doubled after each attempt, each wait drawn between half and all of it (jitter).
    #[serde(default = "default_initial_backoff_ms")]
    #[schemars(range(min = INITIAL_BACKOFF_MS_MIN))]
    pub initial_backoff_ms: u64,
    /// Longest backoff in milliseconds.
    #[serde(default = "default_max_backoff_ms")]
    pub max_backoff_ms: u64,
    /// How long a document may be retried before it ends `Errored`, in seconds.
    #[serde(default = "default_max_duration_secs")]
    #[schemars(range(min = RETRY_MAX_DURATION_SECS_MIN))]
    pub max_duration_secs: f64,
}

impl Default for RetryOptions {
    fn default() -> Self {
        Self {
            initial_backoff_ms: default_initial_backoff_ms(),
            max_backoff_ms: default_max_backoff_ms(),
            max_duration_secs: default_max_duration_secs(),
        }
    }
}

/// Authentication.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "strategy", rename_all = "snake_case", deny_unknown_fields)]
pub enum Auth {
    /// HTTP basic authentication.
    Basic {
        /// User name.
        user: String,
        /// Password.
        password: Secret,
    },
    /// An Elasticsearch API key (`Authorization: ApiKey <key>`; the base64 `id:api_key` form).
    ApiKey {
        /// The encoded key.
        api_key: Secret,
    },
    /// AWS SigV4 signing for Amazon OpenSearch Service. Credentials come from the shared AWS
    /// setup: the standard chain (environment, profile, web identity / IRSA, ECS container and
    /// EC2 instance metadata), optionally an assumed role, cached until five minutes before they
    /// expire.
    Aws {
        /// Region of the domain (default: the standard AWS region chain, e.g. `AWS_REGION`).
        #[serde(default)]
        region: Option<String>,
        /// Signing service name: `es` (default, managed domains) or `aoss` (Serverless).
        #[serde(default = "default_aws_service")]
        service: String,
        /// A role to assume with the chain's credentials (as for the AWS sources). Default: none.
        #[serde(default)]
        assume_role: Option<weir_aws::client::AssumeRole>,
    },
}

/// TLS options.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EsTls {
    /// PEM file with an extra CA certificate to trust.
    #[serde(default)]
    pub ca_file: Option<String>,
    /// Verify the server's certificate. Turning this off is for tests only.
    #[serde(default = "yes")]
    pub verify_certificate: bool,
    /// Verify that the certificate names the host.
    #[serde(default = "yes")]
    pub verify_hostname: bool,
}

impl Default for EsTls {
    fn default() -> Self {
        Self {
            ca_file: None,
            verify_certificate: true,
            verify_hostname: true,
        }
    }
}

// Bounds checked by `problems` and stated in the schema.
const ENDPOINT_PATTERN: &str = "^https?://";
const CONCURRENCY_MIN: usize = 1;
const REQUEST_TIMEOUT_SECS_MIN: u64 = 1;
const BATCH_MAX_EVENTS_MIN: usize = 1;
const BATCH_MAX_BYTES_MIN: usize = 1;
const INITIAL_BACKOFF_MS_MIN: u64 = 1;
/// `batch.timeout_secs` must be greater than this.
const BATCH_TIMEOUT_SECS_ABOVE: f64 = 0.0;
const RETRY_MAX_DURATION_SECS_MIN: f64 = 0.0;

const ENDPOINTS_EXAMPLE: &[&str] = &["http://127.0.0.1:9200"];

fn yes() -> bool {
    true
}
fn default_index() -> String {
    "weir-%Y.%m.%d".into()
}
fn default_concurrency() -> usize {
    4
}
fn default_request_timeout_secs() -> u64 {
    60
}
fn default_max_events() -> usize {
    1000
}
fn default_max_bytes() -> usize {
    5 * 1024 * 1024
}
fn default_timeout_secs() -> f64 {
    1.0
}
fn default_initial_backoff_ms() -> u64 {
    100
}
fn default_max_backoff_ms() -> u64 {
    10_000
}
fn default_max_duration_secs() -> f64 {
    300.0
}
fn default_aws_service() -> String {
    "es".into()
}

impl ElasticsearchSinkConfig {
    /// Problems serde cannot see.
    pub fn problems(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.endpoints.is_empty() {
            problems.push(ConfigProblem::new("endpoints", "needs at least one URL"));
        }
        for (i, endpoint) in self.endpoints.iter().enumerate() {
            if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
                problems.push(ConfigProblem::new(
                    format!("endpoints[{i}]"),
                    "must be an http:// or https:// URL",
                ));
            }
        }
        if let Err(error) = Template::parse(&self.index) {
            problems.push(ConfigProblem::new(
                "index",
                format!("invalid template: {error}"),
            ));
        } else if self.index.is_empty() {
            problems.push(ConfigProblem::new("index", "must not be empty"));
        }
        if self.id_field.as_deref() == Some("") {
            problems.push(ConfigProblem::new("id_field", "must not be empty"));
        }
        for (key, value, min) in [
            (
                "batch.max_events",
                self.batch.max_events,
                BATCH_MAX_EVENTS_MIN,
            ),
            ("batch.max_bytes", self.batch.max_bytes, BATCH_MAX_BYTES_MIN),
        ] {
            if value < min {
                problems.push(ConfigProblem::new(key, format!("must be at least {min}")));
            }
        }
        if !(self.batch.timeout_secs > BATCH_TIMEOUT_SECS_ABOVE
            && self.batch.timeout_secs.is_finite())
        {
            problems.push(ConfigProblem::new("batch.timeout_secs", "must be positive"));
        }
        if self.concurrency < CONCURRENCY_MIN {
            problems.push(ConfigProblem::new(
                "concurrency",
                format!("must be at least {CONCURRENCY_MIN}"),
            ));
        }
        if !(self.retry.max_duration_secs >= RETRY_MAX_DURATION_SECS_MIN
            && self.retry.max_duration_secs.is_finite())
        {
            problems.push(ConfigProblem::new(
                "retry.max_duration_secs",
                "must be zero or positive",
            ));
        }
        for (key, value, min) in [
            (
                "retry.initial_backoff_ms",
                self.retry.initial_backoff_ms,
                INITIAL_BACKOFF_MS_MIN,
            ),
            (
                "request_timeout_secs",
                self.request_timeout_secs,
                REQUEST_TIMEOUT_SECS_MIN,
            ),
        ] {
            if value < min {
                problems.push(ConfigProblem::new(key, format!("must be at least {min}")));
            }
        }
        problems
    }

    /// The bulk action in effect (`create` in data-stream mode).
    pub fn action(&self) -> BulkAction {
        match self.mode {
            Mode::DataStream => BulkAction::Create,
            Mode::Bulk => self.bulk.action,
        }
    }
}
