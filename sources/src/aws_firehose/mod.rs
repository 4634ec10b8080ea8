//! The `aws_firehose` source: an Amazon Data Firehose **HTTP endpoint destination**.
//!
//! Firehose POSTs batches of records to an HTTPS endpoint (AWS docs: "HTTP endpoint delivery
//! request and response specifications"): headers `X-Amz-Firehose-Request-Id` and
//! `X-Amz-Firehose-Access-Key`, optionally `Content-Encoding: gzip`, and a JSON body
//! `{"requestId", "timestamp", "records": [{"data": "<base64>"}]}`. Weir answers
//! `{"requestId", "timestamp"}` with **200 only after every event of the request was delivered**
//! by the sinks; any other outcome gets an error status and Firehose retries the whole request
//! (then, after its retry duration, writes it to its S3 backup). So nothing is acknowledged to
//! Firehose that is not delivered; a retried request may deliver some events twice, with the same
//! deterministic ids (`<request id>:<record index>[:<log event id>]`).
//!
//! Records are decoded per `decoding` (see [`Decoding`]): CloudWatch Logs subscription envelopes
//! (the usual way Lambda, VPC Flow, API Gateway… logs reach Firehose) are expanded into one event
//! per log event with a `cloudwatch` object, ready for `aws_parse` with `format = "auto"`; other
//! records (WAF logs, for example) are one event each with the record as `message`. A record that
//! cannot be decoded goes to the `<id>.errors` output with `error` set (and is counted), so one bad
//! record does not make Firehose retry the good ones forever.
//!
//! | status | when |
//! |---|---|
//! | 200 | every event delivered (or dead-lettered on `errors`) |
//! | 400 | the body is not a Firehose request (invalid JSON, gzip or base64) |
//! | 401 | a missing or wrong access key |
//! | 405 | not a POST |
//! | 413 | the body is larger than `max_body_bytes` |
//! | 500 | a sink rejected or failed some event: Firehose will retry |
//! | 503 | Weir is shutting down |
//!
//! Events carry `firehose.request_id`, `firehose.record_index` and `firehose.timestamp` (the
//! request's), plus the decoded fields.

mod server;
mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use weir_core::component::PluginCommon;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use weir_core::component::{
    BuildContext, BuildError, ComponentError, ComponentSpec, ConfigProblem, ParseConfig, Source,
    SourceConfig, SourceContext,
};

use crate::decoding::Decoding;

/// Configuration of the `aws_firehose` source.
///
/// ```toml
/// [sources.firehose]
/// type = "aws_firehose"
/// address = "0.0.0.0:8443"
/// access_keys = ["${FIREHOSE_ACCESS_KEY}"]
/// decoding = "auto"
/// tls.crt_file = "/etc/weir/tls.crt"
/// tls.key_file = "/etc/weir/tls.key"
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AwsFirehoseConfig {
    /// Where to listen (Firehose needs HTTPS on a public endpoint: terminate TLS here with `tls`
    /// or in a load balancer in front).
    #[schemars(example = "0.0.0.0:8443")]
    pub address: SocketAddr,
    /// Access keys accepted in `X-Amz-Firehose-Access-Key` (compared in constant time). Empty
    /// accepts any request: only for a private network.
    #[serde(default)]
    #[schemars(inner(length(min = 1)))]
    pub access_keys: Vec<weir_core::secret::Secret>,
    /// How records become events (default `auto`).
    #[serde(default)]
    pub decoding: Decoding,
    /// Largest request body accepted, as received.
    #[serde(default = "default_max_body_bytes")]
    #[schemars(range(min = MAX_BODY_BYTES_MIN))]
    pub max_body_bytes: usize,
    /// Largest size a gzip'd body or record may inflate to: a decompression-bomb
    /// guard.
    #[serde(default = "default_max_decompressed_bytes")]
    #[schemars(range(min = MAX_DECOMPRESSED_BYTES_MIN))]
    pub max_decompressed_bytes: usize,
    /// Serve HTTPS with this certificate chain and key (PEM files).
    #[serde(default)]
    pub tls: Option<TlsConfig>,
}

/// PEM files for HTTPS.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "FirehoseTls")]
pub struct TlsConfig {
    /// Certificate chain (leaf first).
    pub crt_file: PathBuf,
    /// Private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
}

/// The smallest `max_body_bytes`, checked by `validate` and stated in the schema.
const MAX_BODY_BYTES_MIN: usize = 1;
/// The smallest `max_decompressed_bytes`, checked by `validate` and stated in the schema.
const MAX_DECOMPRESSED_BYTES_MIN: usize = 1;

fn default_max_body_bytes() -> usize {
    64 * 1024 * 1024
}

fn default_max_decompressed_bytes() -> usize {
    256 * 1024 * 1024
}

impl PluginCommon for AwsFirehoseConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.max_body_bytes < MAX_BODY_BYTES_MIN {
            problems.push(ConfigProblem::new(
                "max_body_bytes",
                format!("must be at least {MAX_BODY_BYTES_MIN}"),
            ));
        }
        if self.max_decompressed_bytes < MAX_DECOMPRESSED_BYTES_MIN {
            problems.push(ConfigProblem::new(
                "max_decompressed_bytes",
                format!("must be at least {MAX_DECOMPRESSED_BYTES_MIN}"),
            ));
        }
        if self
            .access_keys
            .iter()
            .any(weir_core::secret::Secret::is_empty)
        {
            problems.push(ConfigProblem::new(
                "access_keys",
                "an empty access key would accept requests without one",
            ));
        }
        problems
    }
    fn outputs(&self) -> Vec<String> {
        vec![weir_core::output::ERRORS.to_string()]
    }
}

impl SourceConfig for AwsFirehoseConfig {
    fn build(&self, _cx: &BuildContext) -> Result<Box<dyn Source>, BuildError> {
        let tls = match &self.tls {
            Some(tls) => {
                Some(tls::acceptor(tls).map_err(|e| BuildError::new(e.key(), e.to_string()))?)
            }
            None => None,
        };
        if self.access_keys.is_empty() {
            tracing::warn!("aws_firehose: no access_keys; every request is accepted");
        }
        Ok(Box::new(AwsFirehoseSource {
            config: self.clone(),
            tls,
        }))
    }
}

/// The running source.
struct AwsFirehoseSource {
    config: AwsFirehoseConfig,
    tls: Option<tokio_rustls::TlsAcceptor>,
}

#[async_trait]
impl Source for AwsFirehoseSource {
    async fn run(self: Box<Self>, cx: SourceContext) -> Result<(), ComponentError> {
        server::serve(self.config, self.tls, cx).await
    }
}

/// The source's registration.
pub const SPEC: ComponentSpec = ComponentSpec {
    type_name: "aws_firehose",
    description: "Receive Amazon Data Firehose HTTP endpoint deliveries; 200 only after delivery.",
    parse: ParseConfig::Source(weir_core::component::parse_source::<AwsFirehoseConfig>),
    schema: weir_core::component::schema_of::<AwsFirehoseConfig>,
};

#[cfg(test)]
mod tests;
