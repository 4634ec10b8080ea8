//! NLB (TLS listener) access logs in ECS, in Elastic's `aws.elb_logs` data stream:
//! `event.{category: [network], type: [connection], start, end, duration}` ←
//! `tls_connection_creation_time`, `time`, `connection_time` (the duration as nanoseconds, a
//! copy); `source.{ip, address, port, bytes}` ← client and `received_bytes`,
//! `destination.{ip, address, port, bytes}` ← destination and `sent_bytes` (the bytes each side
//! sent); `network.{transport: tcp, protocol: tls}`; `tls.{cipher, version, version_protocol,
//! client.server_name, next_protocol}` ← `tls_cipher`, `tls_protocol_version` (`tlsv12` → `1.2`),
//! `domain_name`, `alpn_fe_protocol`; `aws.elb.name` ← `elb`; `related.ip`. Every other native
//! field stays under `aws.elb.*` (listener, handshake time, certificate, TLS alert, key-exchange
//! group, the other ALPN fields, …).
//!
//! A `geoip` transform's result (`client_ip_geo`, `destination_ip_geo`) lands in `source` and `destination.{geo, as}`
//! ([`geo`](crate::normalize::ecs::geo)).

use vrl::value::Value;
use weir_core::fields::Fields;
use weir_core::path_record::PathRecordBuilder;

use super::tls_number;
use crate::normalize::ecs::{geo, keywords, related_ip, DESTINATION_GEO, SOURCE_GEO};
use crate::normalize::fields::{
    copy_to, get, get_int, get_str, move_int, move_str, move_to, put, static_text,
};

/// See the [module docs](self).
pub(crate) fn map(native: &mut Fields, out: &mut PathRecordBuilder) {
    put(out, "event.category", keywords(&["network"]));
    put(out, "event.type", keywords(&["connection"]));
    if let Some(end) = get(out, "@timestamp").cloned() {
        put(out, "event.end", end);
    }
    move_to(native, "tls_connection_creation_time", out, "event.start");
    if let Some(millis) = get_int(native, "connection_time") {
        let nanos = Value::Integer(millis.saturating_mul(1_000_000));
        put(out, "event.duration", nanos);
    }
    move_str(native, "elb", out, "aws.elb.name");

    related_ip(out, get(native, "client_ip"));
    related_ip(out, get(native, "destination_ip"));
    copy_to(native, "client_ip", out, "source.address");
    move_str(native, "client_ip", out, "source.ip");
    move_int(native, "client_port", out, "source.port");
    move_int(native, "received_bytes", out, "source.bytes");
    copy_to(native, "destination_ip", out, "destination.address");
    move_str(native, "destination_ip", out, "destination.ip");
    move_int(native, "destination_port", out, "destination.port");
    geo(native, "client_ip_geo", out, &SOURCE_GEO);
    geo(native, "destination_ip_geo", out, &DESTINATION_GEO);
    move_int(native, "sent_bytes", out, "destination.bytes");
    put(out, "network.transport", static_text("tcp"));
    put(out, "network.protocol", static_text("tls"));

    move_str(native, "tls_cipher", out, "tls.cipher");
    if let Some(version) = get_str(native, "tls_protocol_version").and_then(tls_number) {
        put(out, "tls.version", static_text(version));
        put(out, "tls.version_protocol", static_text("tls"));
    }
    move_str(native, "domain_name", out, "tls.client.server_name");
    move_str(native, "alpn_fe_protocol", out, "tls.next_protocol");
}
