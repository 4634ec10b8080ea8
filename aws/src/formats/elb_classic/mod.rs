//! Classic Load Balancer access logs (`aws.log_type` = `elb_classic`).
//!
//! One space-delimited record per line, 15 fields in AWS's documented order; `"request"` and
//! `"user_agent"` are quoted. A record needs at least the 12 fields up to `request`; the newer
//! `user_agent`, `ssl_cipher`, `ssl_protocol` may be missing; extra trailing fields are kept under
//! `unparsed_trailing`. `-` and `"-"` leave a field out; TCP/SSL listeners' `"- - - "` request
//! leaves out `request` and its parts.
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `timestamp` | timestamp | AWS `timestamp`: when the load balancer received the request |
//! | `elb` | string | load balancer name |
//! | `client_ip` | string | from `client:port`: client address |
//! | `client_port` | integer | from `client:port`: client port |
//! | `backend_ip` | string | from `backend:port`: registered instance address (absent if none answered) |
//! | `backend_port` | integer | from `backend:port`: instance port |
//! | `request_processing_time` | float | seconds until the request was sent to the instance (`-1` if not dispatched) |
//! | `backend_processing_time` | float | seconds until the instance started responding (`-1` if not dispatched) |
//! | `response_processing_time` | float | seconds to send the response to the client (`-1` if not dispatched) |
//! | `elb_status_code` | integer | status code of the load balancer's response (HTTP listeners) |
//! | `backend_status_code` | integer | status code of the instance's response (HTTP listeners) |
//! | `received_bytes` | integer | request size from the client, bytes |
//! | `sent_bytes` | integer | response size to the client, bytes |
//! | `request` | string | raw request line `METHOD URL PROTOCOL` |
//! | `request_method` | string | method part of `request` |
//! | `request_url` | string | URL part of `request` |
//! | `request_protocol` | string | protocol part of `request` |
//! | `user_agent` | string | client's User-Agent |
//! | `ssl_cipher` | string | TLS cipher (HTTPS/SSL listeners) |
//! | `ssl_protocol` | string | TLS protocol (HTTPS/SSL listeners) |
//! | `unparsed_trailing` | array of strings | fields past the known ones, verbatim |
//! | `aws.log_type` | string | `elb_classic` |

use super::delimited::{spec, FieldSpec, Kind};

/// Registry content check: `<ISO time> <name> <ip:port>`.
pub fn detect_text(head: &[u8]) -> bool {
    let [first, _, third] = crate::formats::detect::first_tokens(head);
    crate::formats::detect::is_iso_time(first) && third.contains(&b':')
}

mod ecs;
mod ocsf;
#[cfg(test)]
mod tests;

/// ECS `aws.elb_logs` and OCSF HTTP or Network Activity (see [`ecs`] and [`ocsf`]).
pub const MAPPINGS: crate::normalize::Mappings = crate::normalize::Mappings {
    ecs: crate::normalize::EcsMapping {
        dataset: "aws.elb_logs",
        native_path: "aws.elb",
        map: Some(ecs::map),
    },
    ocsf: crate::normalize::OcsfMapping {
        product: "AWS ELB",
        map: Some(ocsf::map),
        classes:
            "HTTP Activity 4002 (HTTP/HTTPS listeners), Network Activity 4001 (TCP/SSL listeners)",
    },
};

/// Whether the record is of an HTTP or HTTPS listener: it has a request line or a status (TCP
/// and SSL listeners log `"- - - "` and `-` status codes).
fn is_http(native: &impl crate::normalize::fields::Lookup) -> bool {
    use crate::normalize::fields::get;
    get(native, "request_method").is_some() || get(native, "elb_status_code").is_some()
}

/// The `aws.log_type` of Classic ELB access logs.
pub const LOG_TYPE: &str = "elb_classic";

/// Fields required in every record (up to `request`).
const MANDATORY: usize = 12;

/// The fields in wire order.
pub(crate) const FIELDS: &[FieldSpec] = &[
    spec("timestamp", Kind::Time),
    spec("elb", Kind::Str),
    spec(
        "client_port",
        Kind::Endpoint {
            ip: "client_ip",
            port: "client_port",
        },
    ),
    spec(
        "backend_port",
        Kind::Endpoint {
            ip: "backend_ip",
            port: "backend_port",
        },
    ),
    spec("request_processing_time", Kind::Float),
    spec("backend_processing_time", Kind::Float),
    spec("response_processing_time", Kind::Float),
    spec("elb_status_code", Kind::Int),
    spec("backend_status_code", Kind::Int),
    spec("received_bytes", Kind::Int),
    spec("sent_bytes", Kind::Int),
    spec(
        "request",
        Kind::Request {
            method: "request_method",
            url: "request_url",
            protocol: "request_protocol",
        },
    ),
    spec("user_agent", Kind::Str),
    spec("ssl_cipher", Kind::Str),
    spec("ssl_protocol", Kind::Str),
];

crate::formats::delimited::spaced_parser! {
    /// Parser for Classic ELB access log records (stateless).
    ElbClassicParser
}
