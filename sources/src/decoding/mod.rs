//! The `decoding` option shared by the sources that receive opaque records — `aws_kinesis` and
//! `aws_firehose`. The envelopes themselves (CloudWatch Logs subscription payloads, KPL aggregated
//! records) are decoded by [`weir_aws::envelopes`].

use serde::{Deserialize, Serialize};

/// How a source turns one received record into events.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Decoding {
    /// gzip'd CloudWatch Logs subscription envelopes are expanded (one event per log event,
    /// control messages dropped); any other record is one event with the record as `message`.
    #[default]
    Auto,
    /// Every record is one event with the record's bytes as `message`.
    Raw,
    /// Every record must be a CloudWatch Logs envelope (gzip'd or plain JSON); others are errors.
    CloudwatchLogs,
}
