//! Network Load Balancer access logs, TLS listeners (`aws.log_type` = `nlb`).
//!
//! One space-delimited record per line in AWS's documented order (`type` is `tls`, `version`
//! `2.0`). A record needs at least the 18 fields up to `domain_name`; the ALPN fields and
//! `tls_connection_creation_time` (2020) may be missing; extra trailing fields are kept under
//! `unparsed_trailing`. `-` leaves a field out. Times carry no zone and are UTC.
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `type` | string | listener type (`tls`) |
//! | `version` | string | log entry version (`2.0`) |
//! | `timestamp` | timestamp | AWS `time`: end of the TLS connection |
//! | `elb` | string | load balancer resource id (`net/name/id`) |
//! | `listener` | string | TLS listener resource id |
//! | `client_ip` | string | from `client:port`: client address |
//! | `client_port` | integer | from `client:port`: client port |
//! | `destination_ip` | string | from `destination:port`: destination address |
//! | `destination_port` | integer | from `destination:port`: destination port |
//! | `connection_time` | integer | connection duration, milliseconds |
//! | `tls_handshake_time` | integer | TLS handshake duration, milliseconds |
//! | `received_bytes` | integer | bytes received from the client (after decryption) |
//! | `sent_bytes` | integer | bytes sent to the client (before encryption) |
//! | `incoming_tls_alert` | string | TLS alert received from the client, as logged |
//! | `chosen_cert_arn` | string | ARN of the certificate served |
//! | `chosen_cert_serial` | string | serial number of the certificate served |
//! | `tls_cipher` | string | negotiated cipher suite (OpenSSL name) |
//! | `tls_protocol_version` | string | negotiated protocol (`tlsv12`) |
//! | `tls_named_group` | string | negotiated key-exchange group |
//! | `domain_name` | string | SNI server name |
//! | `alpn_fe_protocol` | string | ALPN protocol negotiated with the client |
//! | `alpn_be_protocol` | string | ALPN protocol negotiated with the target |
//! | `alpn_client_preference_list` | array of strings | client's ALPN list, in order (`"h2","http/1.1"`) |
//! | `tls_connection_creation_time` | timestamp | start of the TLS connection |
//! | `unparsed_trailing` | array of strings | fields past the known ones, verbatim |
//! | `aws.log_type` | string | `nlb` |

use super::delimited::{spec, FieldSpec, Kind};

/// Registry content check: `tls <version>`.
pub fn detect_text(head: &[u8]) -> bool {
    let [first, second, _] = crate::formats::detect::first_tokens(head);
    first == b"tls" && second.first().is_some_and(u8::is_ascii_digit)
}

mod ecs;
mod ocsf;
#[cfg(test)]
mod tests;

/// ECS `aws.elb_logs` and OCSF Network Activity (see [`ecs`] and [`ocsf`]).
pub const MAPPINGS: crate::normalize::Mappings = crate::normalize::Mappings {
    ecs: crate::normalize::EcsMapping {
        dataset: "aws.elb_logs",
        native_path: "aws.elb",
        map: Some(ecs::map),
    },
    ocsf: crate::normalize::OcsfMapping {
        product: "AWS ELB",
        map: Some(ocsf::map),
        classes: "Network Activity 4001",
    },
};

/// ECS's `tls.version` of NLB's protocol names (`tlsv1`, `tlsv11`, `tlsv12`, `tlsv13`).
fn tls_number(protocol: &str) -> Option<&'static str> {
    Some(match protocol.to_ascii_lowercase().as_str() {
        "tlsv1" | "tlsv10" => "1.0",
        "tlsv11" => "1.1",
        "tlsv12" => "1.2",
        "tlsv13" => "1.3",
        _ => return None,
    })
}

/// The `aws.log_type` of NLB access logs.
pub const LOG_TYPE: &str = "nlb";

/// Fields required in every record (up to `domain_name`, the 2018 layout).
const MANDATORY: usize = 18;

/// The fields in wire order.
pub(crate) const FIELDS: &[FieldSpec] = &[
    spec("type", Kind::Str),
    spec("version", Kind::Str),
    spec("timestamp", Kind::Time),
    spec("elb", Kind::Str),
    spec("listener", Kind::Str),
    spec(
        "client_port",
        Kind::Endpoint {
            ip: "client_ip",
            port: "client_port",
        },
    ),
    spec(
        "destination_port",
        Kind::Endpoint {
            ip: "destination_ip",
            port: "destination_port",
        },
    ),
    spec("connection_time", Kind::Int),
    spec("tls_handshake_time", Kind::Int),
    spec("received_bytes", Kind::Int),
    spec("sent_bytes", Kind::Int),
    spec("incoming_tls_alert", Kind::Str),
    spec("chosen_cert_arn", Kind::Str),
    spec("chosen_cert_serial", Kind::Str),
    spec("tls_cipher", Kind::Str),
    spec("tls_protocol_version", Kind::Str),
    spec("tls_named_group", Kind::Str),
    spec("domain_name", Kind::Str),
    spec("alpn_fe_protocol", Kind::Str),
    spec("alpn_be_protocol", Kind::Str),
    spec("alpn_client_preference_list", Kind::QuotedCommaList),
    spec("tls_connection_creation_time", Kind::Time),
];

crate::formats::delimited::spaced_parser! {
    /// Parser for NLB (TLS) access log records (stateless).
    NlbParser
}
