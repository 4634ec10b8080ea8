//! Application Load Balancer access logs (`aws.log_type` = `alb`).
//!
//! One space-delimited record per line, fields in AWS's documented order; quoted fields may hold
//! spaces. Records of 25, 27, 29, 30 and 33 fields are all accepted (fields are appended over
//! time; a record needs at least the 18 fields up to `trace_id`), fields past the 33 known ones
//! are kept under `unparsed_trailing`. `-` and `"-"` leave a field out.
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `type` | string | request/connection type: `http`, `https`, `h2`, `grpcs`, `ws`, `wss` |
//! | `timestamp` | timestamp | AWS `time`: when the load balancer generated the response |
//! | `elb` | string | load balancer resource id (`app/name/id`) |
//! | `client_ip` | string | from `client:port`: client address (IPv6 without brackets) |
//! | `client_port` | integer | from `client:port`: client port |
//! | `target_ip` | string | from `target:port`: target address; absent for Lambda targets or no target |
//! | `target_port` | integer | from `target:port`: target port |
//! | `request_processing_time` | float | seconds from request received to sent to target (`-1` if not dispatched) |
//! | `target_processing_time` | float | seconds from request sent to target to response headers (`-1` on error) |
//! | `response_processing_time` | float | seconds from response received to sent to client (`-1` on error) |
//! | `elb_status_code` | integer | status code of the load balancer's response |
//! | `target_status_code` | integer | status code of the target's response |
//! | `received_bytes` | integer | request size from the client, bytes |
//! | `sent_bytes` | integer | response size to the client, bytes |
//! | `request` | string | raw request line `METHOD URL PROTOCOL` |
//! | `request_method` | string | method part of `request` |
//! | `request_url` | string | URL part of `request` |
//! | `request_protocol` | string | protocol part of `request` |
//! | `user_agent` | string | client's User-Agent |
//! | `ssl_cipher` | string | TLS cipher (HTTPS listeners) |
//! | `ssl_protocol` | string | TLS protocol (HTTPS listeners) |
//! | `target_group_arn` | string | target group ARN |
//! | `trace_id` | string | `X-Amzn-Trace-Id` header contents |
//! | `domain_name` | string | SNI domain from the TLS handshake |
//! | `chosen_cert_arn` | string | ARN of the certificate presented |
//! | `matched_rule_priority` | integer | priority of the matched rule (`0` = default rule) |
//! | `request_creation_time` | timestamp | when the load balancer received the request |
//! | `actions_executed` | string | comma-separated actions (`waf,forward`) |
//! | `redirect_url` | string | Location of a redirect response |
//! | `error_reason` | string | error reason code (`LambdaInvalidResponse`, …) |
//! | `target_port_list` | array of strings | AWS `target:port_list`: `addr:port` of each target tried |
//! | `target_status_code_list` | array of integers | status code from each target (`-` elements are null) |
//! | `classification` | string | desync mitigation classification |
//! | `classification_reason` | string | classification reason code |
//! | `conn_trace_id` | string | connection traceability id (`TID_…`) |
//! | `transformed_host` | string | host header after a host-header rewrite transform |
//! | `transformed_uri` | string | URI after a URL rewrite transform |
//! | `request_transform_status` | string | status of the rewrite transform |
//! | `unparsed_trailing` | array of strings | fields past the known ones, verbatim (quotes removed) |
//! | `aws.log_type` | string | `alb` |

use super::delimited::{spec, FieldSpec, Kind};

/// Registry content check: `http|https|h2|grpcs|ws|wss <ISO time>`.
pub fn detect_text(head: &[u8]) -> bool {
    let [first, second, _] = crate::formats::detect::first_tokens(head);
    matches!(
        first,
        b"http" | b"https" | b"h2" | b"grpcs" | b"ws" | b"wss"
    ) && crate::formats::detect::is_iso_time(second)
}

mod ecs;
mod ocsf;
#[cfg(test)]
mod tests;

/// ECS `aws.elb_logs` and OCSF HTTP Activity (see [`ecs`] and [`ocsf`]).
pub const MAPPINGS: crate::normalize::Mappings = crate::normalize::Mappings {
    ecs: crate::normalize::EcsMapping {
        dataset: "aws.elb_logs",
        native_path: "aws.elb",
        map: Some(ecs::map),
    },
    ocsf: crate::normalize::OcsfMapping {
        product: "AWS ELB",
        map: Some(ocsf::map),
        classes: "HTTP Activity 4002",
    },
};

/// The `aws.log_type` of ALB access logs.
pub const LOG_TYPE: &str = "alb";

/// Fields required in every record (up to `trace_id`, the original 2016 layout).
const MANDATORY: usize = 18;

const CLIENT: Kind = Kind::Endpoint {
    ip: "client_ip",
    port: "client_port",
};
const TARGET: Kind = Kind::Endpoint {
    ip: "target_ip",
    port: "target_port",
};
const REQUEST: Kind = Kind::Request {
    method: "request_method",
    url: "request_url",
    protocol: "request_protocol",
};

/// The fields in wire order.
pub(crate) const FIELDS: &[FieldSpec] = &[
    spec("type", Kind::Str),
    spec("timestamp", Kind::Time),
    spec("elb", Kind::Str),
    spec("client_port", CLIENT),
    spec("target_port", TARGET),
    spec("request_processing_time", Kind::Float),
    spec("target_processing_time", Kind::Float),
    spec("response_processing_time", Kind::Float),
    spec("elb_status_code", Kind::Int),
    spec("target_status_code", Kind::Int),
    spec("received_bytes", Kind::Int),
    spec("sent_bytes", Kind::Int),
    spec("request", REQUEST),
    spec("user_agent", Kind::Str),
    spec("ssl_cipher", Kind::Str),
    spec("ssl_protocol", Kind::Str),
    spec("target_group_arn", Kind::Str),
    spec("trace_id", Kind::Str),
    spec("domain_name", Kind::Str),
    spec("chosen_cert_arn", Kind::Str),
    spec("matched_rule_priority", Kind::Int),
    spec("request_creation_time", Kind::Time),
    spec("actions_executed", Kind::Str),
    spec("redirect_url", Kind::Str),
    spec("error_reason", Kind::Str),
    spec("target_port_list", Kind::StrList),
    spec("target_status_code_list", Kind::IntList),
    spec("classification", Kind::Str),
    spec("classification_reason", Kind::Str),
    spec("conn_trace_id", Kind::Str),
    spec("transformed_host", Kind::Str),
    spec("transformed_uri", Kind::Str),
    spec("request_transform_status", Kind::Str),
];

crate::formats::delimited::spaced_parser! {
    /// Parser for ALB access log records (stateless).
    AlbParser
}
