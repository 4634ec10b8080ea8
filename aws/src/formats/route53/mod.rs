//! Route 53 public DNS query logs (`aws.log_type` = `route53_query`).
//!
//! One space-separated record per line (as delivered to CloudWatch Logs), fields in AWS's
//! documented order. A record needs at least the 9 fields up to `resolver_ip`; extra trailing
//! fields are kept under `unparsed_trailing`. `-` leaves a field out (`edns_client_subnet` when
//! the resolver sent none).
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `version` | string | log format version (`1.0`) |
//! | `timestamp` | timestamp | AWS `query timestamp`: when Route 53 answered |
//! | `hosted_zone_id` | string | id of the hosted zone queried |
//! | `query_name` | string | domain or subdomain queried |
//! | `query_type` | string | DNS record type (`A`, `AAAA`, `ANY`, …) |
//! | `response_code` | string | DNS response code (`NOERROR`, `NXDOMAIN`, …) |
//! | `layer4_protocol` | string | `UDP` or `TCP` |
//! | `edge_location` | string | Route 53 edge location that answered (e.g. `FRA6`) |
//! | `resolver_ip` | string | address of the resolver that sent the query (IPv4 or IPv6) |
//! | `edns_client_subnet` | string | EDNS client subnet (CIDR), when sent |
//! | `unparsed_trailing` | array of strings | fields past the known ones, verbatim |
//! | `aws.log_type` | string | `route53_query` |

mod ecs;
mod ocsf;
use super::delimited::{spec, FieldSpec, Kind};

/// Registry content check: `1.0 <ISO time>`.
pub fn detect_text(head: &[u8]) -> bool {
    let [first, second, _] = crate::formats::detect::first_tokens(head);
    first == b"1.0" && crate::formats::detect::is_iso_time(second)
}

#[cfg(test)]
mod tests;

/// ECS and OCSF mappings (the format's declarations in the registry).
pub const MAPPINGS: crate::normalize::Mappings = crate::normalize::Mappings {
    ecs: crate::normalize::EcsMapping {
        dataset: "aws.route53_public_logs",
        native_path: "aws.route53",
        map: Some(ecs::map),
    },
    ocsf: crate::normalize::OcsfMapping {
        product: "Route 53",
        map: Some(ocsf::map),
        classes: "DNS Activity 4003",
    },
};

/// The `aws.log_type` of Route 53 public DNS query logs.
pub const LOG_TYPE: &str = "route53_query";

/// Fields required in every record (all but `edns_client_subnet`).
const MANDATORY: usize = 9;

/// The fields in wire order.
pub(crate) const FIELDS: &[FieldSpec] = &[
    spec("version", Kind::Str),
    spec("timestamp", Kind::Time),
    spec("hosted_zone_id", Kind::Str),
    spec("query_name", Kind::Str),
    spec("query_type", Kind::Str),
    spec("response_code", Kind::Str),
    spec("layer4_protocol", Kind::Str),
    spec("edge_location", Kind::Str),
    spec("resolver_ip", Kind::Str),
    spec("edns_client_subnet", Kind::Str),
];

crate::formats::delimited::spaced_parser! {
    /// Parser for Route 53 public DNS query log records (stateless).
    Route53QueryParser
}
