//! The `kafka` sink's configuration: the reference documentation of its keys.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use weir_core::component::ConfigProblem;
use weir_core::secret::Secret;
use weir_core::template::Template;

use crate::dead_letter::DeadLetterConfig;
use crate::encoding::Encoding;

/// Produces events to Kafka topics (any Kafka-protocol broker), acknowledging each event only
/// from its delivery report.
///
/// ```toml
/// [sinks.kafka]
/// type = "kafka"
/// inputs = ["parsed"]
/// bootstrap_servers = "broker-1:9092,broker-2:9092"
/// topic = "aws-{{ aws.log_type }}"
/// key_field = "aws.request_id"       # default: the event's deterministic id
/// headers = { log_type = "aws.log_type", source = "source_type" }
/// compression = "zstd"
/// encoding = "ndjson"
/// message_timeout_ms = 300000
/// librdkafka_options = { "linger.ms" = "20" }
///
/// # Rejected events (too large, not authorized) go here:
/// [sinks.kafka_dead_letters]
/// type = "file"
/// inputs = ["kafka.dead_letter"]
/// path = "./dead-letters/kafka.ndjson"
/// ```
///
/// Delivery: `acks = all` and idempotence are on by default. An event is `Delivered` only when the
/// broker has acknowledged it. Retriable failures are retried by librdkafka until
/// `message_timeout_ms`; an event still undelivered then ends `Errored` (the source does not
/// checkpoint it). Messages the broker refuses for good (too large, invalid, not authorized) end
/// `Rejected` and go to the `<sink id>.dead_letter` output (or, when nothing consumes that output,
/// to the sink's dead-letter files: `dead_letter`). When librdkafka's local queue is full
/// the sink waits (backpressure) instead of dropping.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KafkaSinkConfig {
    /// Comma-separated `host:port` list of brokers to bootstrap from (required).
    #[schemars(length(min = 1), example = "127.0.0.1:9092")]
    pub bootstrap_servers: String,
    /// Topic to produce to (required). A template: `{{ field.path }}` parts from the event's
    /// fields and strftime specifiers on its timestamp. Events for which it cannot be rendered (a
    /// missing field) are rejected.
    #[schemars(length(min = 1), example = "aws-{{ aws.log_type }}")]
    pub topic: String,
    /// Dotted path of the field whose value is the message key. Default: the event's
    /// deterministic id (its source's id, or one derived from file path and offset), so all copies
    /// of a record land on the same partition; no key when the event has neither.
    #[serde(default)]
    #[schemars(length(min = 1), example = "aws.request_id")]
    pub key_field: Option<String>,
    /// Message headers: header name → dotted field path (not empty). Missing or non-scalar fields
    /// are left out. Example: `headers = { log_type = "aws.log_type" }`.
    #[serde(default)]
    #[schemars(inner(length(min = 1)))]
    pub headers: BTreeMap<String, String>,
    /// `none` (default), `gzip`, `snappy`, `lz4` or `zstd`.
    #[serde(default)]
    pub compression: KafkaCompression,
    /// `ndjson` (default: the event's fields as one JSON object per message) or `text` (the raw
    /// `message` field; events without one are rejected).
    #[serde(default)]
    pub encoding: Encoding,
    /// How long librdkafka keeps retrying a message before it is reported failed, in
    /// milliseconds. Failed messages end `Errored`.
    #[serde(default = "default_message_timeout_ms")]
    #[schemars(range(min = MESSAGE_TIMEOUT_MS_MIN))]
    pub message_timeout_ms: u64,
    /// `all` (default), `1` or `0`: how many replicas must have a message before it counts as
    /// delivered. Idempotence (`enable.idempotence`) is on only with `all`.
    #[serde(default)]
    pub acks: Acks,
    /// Most messages waiting in librdkafka's local queue; past it the sink waits.
    #[serde(default = "default_queue_max_messages")]
    #[schemars(range(min = QUEUE_MAX_MESSAGES_MIN))]
    pub queue_max_messages: u64,
    /// Most kilobytes waiting in librdkafka's local queue; past it
    /// the sink waits.
    #[serde(default = "default_queue_max_kbytes")]
    #[schemars(range(min = QUEUE_MAX_KBYTES_MIN))]
    pub queue_max_kbytes: u64,
    /// TLS to the brokers. Example: `tls = { enabled = true, ca_file = "/etc/ssl/kafka-ca.pem" }`.
    #[serde(default)]
    pub tls: Option<KafkaTls>,
    /// SASL authentication. Example:
    /// `sasl = { mechanism = "SCRAM-SHA-512", username = "weir", password = "${KAFKA_PASSWORD}" }`.
    #[serde(default)]
    pub sasl: Option<KafkaSasl>,
    /// Any other librdkafka producer property, passed through as is (they win over the settings
    /// above). Example: `librdkafka_options = { "linger.ms" = "20", "batch.size" = "1000000" }`.
    #[serde(default)]
    pub librdkafka_options: BTreeMap<String, String>,
    /// Where rejected events go when nothing consumes `<id>.dead_letter`: kept in files under
    /// `<data_dir>/dead_letter/<id>/` by default.
    #[serde(default)]
    pub dead_letter: DeadLetterConfig,
}

// Bounds checked by `problems` and stated in the schema.
const MESSAGE_TIMEOUT_MS_MIN: u64 = 1;
const QUEUE_MAX_MESSAGES_MIN: u64 = 1;
const QUEUE_MAX_KBYTES_MIN: u64 = 1;

/// Message compression.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum KafkaCompression {
    /// No compression (the default).
    #[default]
    None,
    /// gzip.
    Gzip,
    /// Snappy.
    Snappy,
    /// LZ4.
    Lz4,
    /// Zstandard.
    Zstd,
}

impl KafkaCompression {
    /// librdkafka's `compression.codec` value.
    pub fn as_str(self) -> &'static str {
        match self {
            KafkaCompression::None => "none",
            KafkaCompression::Gzip => "gzip",
            KafkaCompression::Snappy => "snappy",
            KafkaCompression::Lz4 => "lz4",
            KafkaCompression::Zstd => "zstd",
        }
    }
}

/// Required acknowledgements.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Acks {
    /// Every in-sync replica (the default; enables idempotence).
    #[default]
    #[serde(rename = "all")]
    All,
    /// The partition leader only.
    #[serde(rename = "1")]
    Leader,
    /// None: fire and forget (delivery reports still say whether the message was sent).
    #[serde(rename = "0")]
    None,
}

/// TLS settings.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KafkaTls {
    /// Use TLS (default true when the table is present).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// PEM file of CA certificates to trust (default: the system's).
    #[serde(default)]
    pub ca_file: Option<String>,
    /// PEM client certificate, for mutual TLS.
    #[serde(default)]
    pub cert_file: Option<String>,
    /// PEM private key of the client certificate.
    #[serde(default)]
    pub key_file: Option<String>,
    /// Password of `key_file`.
    #[serde(default)]
    pub key_password: Option<Secret>,
    /// Check that the broker's certificate names the broker's host.
    #[serde(default = "yes")]
    pub verify_hostname: bool,
}

fn yes() -> bool {
    true
}

/// SASL settings.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KafkaSasl {
    /// `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`.
    pub mechanism: SaslMechanism,
    /// User name.
    pub username: String,
    /// Password.
    pub password: Secret,
}

/// A SASL mechanism.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum SaslMechanism {
    /// PLAIN (use with TLS).
    #[serde(rename = "PLAIN")]
    Plain,
    /// SCRAM-SHA-256.
    #[serde(rename = "SCRAM-SHA-256")]
    ScramSha256,
    /// SCRAM-SHA-512.
    #[serde(rename = "SCRAM-SHA-512")]
    ScramSha512,
}

impl SaslMechanism {
    fn as_str(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
            SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

fn default_message_timeout_ms() -> u64 {
    300_000
}

fn default_queue_max_messages() -> u64 {
    100_000
}

fn default_queue_max_kbytes() -> u64 {
    65_536
}

impl KafkaSinkConfig {
    /// Problems serde cannot see.
    pub fn problems(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.bootstrap_servers.trim().is_empty() {
            problems.push(ConfigProblem::new("bootstrap_servers", "must not be empty"));
        }
        if self.topic.is_empty() {
            problems.push(ConfigProblem::new("topic", "must not be empty"));
        } else if let Err(error) = Template::parse(&self.topic) {
            problems.push(ConfigProblem::new(
                "topic",
                format!("invalid template: {error}"),
            ));
        }
        if self.key_field.as_deref() == Some("") {
            problems.push(ConfigProblem::new("key_field", "must not be empty"));
        }
        for (name, path) in &self.headers {
            if path.is_empty() {
                problems.push(ConfigProblem::new(
                    format!("headers.{name}"),
                    "must name a field",
                ));
            }
        }
        for (key, value, min) in [
            (
                "message_timeout_ms",
                self.message_timeout_ms,
                MESSAGE_TIMEOUT_MS_MIN,
            ),
            (
                "queue_max_messages",
                self.queue_max_messages,
                QUEUE_MAX_MESSAGES_MIN,
            ),
            (
                "queue_max_kbytes",
                self.queue_max_kbytes,
                QUEUE_MAX_KBYTES_MIN,
            ),
        ] {
            if value < min {
                problems.push(ConfigProblem::new(key, format!("must be at least {min}")));
            }
        }
        problems
    }

    /// The librdkafka producer properties, in the order they are applied. They hold the secrets
    /// (`sasl.password`, `ssl.key.password`) in clear text, for librdkafka: never log them.
    pub fn librdkafka_properties(&self) -> Vec<(String, String)> {
        let mut props: Vec<(String, String)> = vec![
            ("bootstrap.servers".into(), self.bootstrap_servers.clone()),
            ("compression.codec".into(), self.compression.as_str().into()),
            (
                "message.timeout.ms".into(),
                self.message_timeout_ms.to_string(),
            ),
            (
                "queue.buffering.max.messages".into(),
                self.queue_max_messages.to_string(),
            ),
            (
                "queue.buffering.max.kbytes".into(),
                self.queue_max_kbytes.to_string(),
            ),
            // The Java client's partitioner, so keys land where other Kafka clients put them.
            ("partitioner".into(), "murmur2_random".into()),
        ];
        match self.acks {
            Acks::All => {
                props.push(("acks".into(), "all".into()));
                props.push(("enable.idempotence".into(), "true".into()));
            }
            Acks::Leader => props.push(("acks".into(), "1".into())),
            Acks::None => props.push(("acks".into(), "0".into())),
        }
        let tls = self.tls.as_ref().filter(|t| t.enabled);
        let protocol = match (tls.is_some(), self.sasl.is_some()) {
            (false, false) => "plaintext",
            (true, false) => "ssl",
            (false, true) => "sasl_plaintext",
            (true, true) => "sasl_ssl",
        };
        props.push(("security.protocol".into(), protocol.into()));
        if let Some(tls) = tls {
            let files = [
                ("ssl.ca.location", &tls.ca_file),
                ("ssl.certificate.location", &tls.cert_file),
                ("ssl.key.location", &tls.key_file),
            ];
            for (key, value) in files {
                if let Some(value) = value {
                    props.push((key.into(), value.clone()));
                }
            }
            if let Some(password) = &tls.key_password {
                props.push(("ssl.key.password".into(), password.expose().to_string()));
            }
            if !tls.verify_hostname {
                props.push((
                    "ssl.endpoint.identification.algorithm".into(),
                    "none".into(),
                ));
            }
        }
        if let Some(sasl) = &self.sasl {
            props.push(("sasl.mechanism".into(), sasl.mechanism.as_str().into()));
            props.push(("sasl.username".into(), sasl.username.clone()));
            props.push(("sasl.password".into(), sasl.password.expose().to_string()));
        }
        for (key, value) in &self.librdkafka_options {
            props.push((key.clone(), value.clone()));
        }
        props
    }
}
