//! Everything Weir knows about AWS, shared by the sources, transforms and sinks:
//!
//! * [`formats`]: the log formats (one parser module per format), their [registry](formats::registry)
//!   (names, detection, record shapes), content and path [detection](formats::detect), and the JSON
//!   reader and delimited-field tokenizer the parsers share;
//! * [`envelopes`]: what AWS wraps logs in on the way — CloudWatch Logs subscription payloads,
//!   Firehose HTTP endpoint requests, KPL aggregated records, S3/SNS/EventBridge notifications;
//! * [`context`]: where a record came from — account, region, service and resource read from the
//!   S3 key layouts AWS writes, CloudWatch Logs groups and streams, and ARNs;
//! * [`client`]: AWS client setup — region, endpoint override, the standard credential chain
//!   (including web identity), `assume_role`, per-region clients and SigV4 request signing.
//!
//! It depends on `weir-core` only; every plugin crate depends on it, and none on another.
#![warn(missing_docs)]

pub mod client;
pub mod context;
pub mod envelopes;
pub mod formats;
pub mod normalize;
