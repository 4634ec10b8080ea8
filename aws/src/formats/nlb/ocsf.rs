//! NLB (TLS listener) access logs in OCSF: Network Activity 4001, `activity_id` 6 Traffic — a
//! record sums up one TLS connection when it ends, as a flow record does (HTTP Activity does not
//! fit: the load balancer sees no HTTP).
//!
//! `time` ← `time` (the connection's end), `start_time` ← `tls_connection_creation_time`;
//! `duration` ← `connection_time` (milliseconds); `src_endpoint.{ip, port}` ← client,
//! `dst_endpoint.{ip, port}` ← destination (the listener, or the endpoint service's interface);
//! `traffic.{bytes_in, bytes_out}` ← `received_bytes` / `sent_bytes`; `tls.{version, cipher,
//! sni, handshake_dur}` ← `tls_protocol_version`, `tls_cipher`, `domain_name`,
//! `tls_handshake_time`; `connection_info` TCP (protocol 6: TLS listeners run on TCP) and
//! `direction_id` 1 Inbound (the load balancer logs only clients' connections to its listeners);
//! `metadata.product.uid` ← `elb`, feature "Network Load Balancer" (as the ALB mapping does),
//! `metadata.log_version` ← `version`.
//!
//! `chosen_cert_arn` and `chosen_cert_serial` stay in `unmapped` (OCSF's `tls.certificate`
//! requires the issuer and fingerprints), as do `incoming_tls_alert` (logged as text, OCSF's
//! `tls.alert` is an integer), the listener, the key-exchange group, the ALPN fields and `type`.

use vrl::value::Value;
use weir_core::fields::Fields;
use weir_core::path_record::PathRecordBuilder;

use crate::normalize::fields::{
    get, get_str, has_under, move_int, move_str, put, static_text, take,
};
use crate::normalize::ocsf::{set_class, OcsfClass};
use crate::set_time;

/// Network Activity's `activity_id` 6: Traffic.
const TRAFFIC: i64 = 6;

/// See the [module docs](self).
pub(crate) fn map(native: &mut Fields, out: &mut PathRecordBuilder) {
    set_class(out, OcsfClass::NetworkActivity, TRAFFIC);
    put(
        out,
        "metadata.product.feature.name",
        static_text("Network Load Balancer"),
    );
    if let Some(Value::Timestamp(t)) = get(native, "timestamp") {
        let t = *t;
        take(native, "timestamp");
        set_time!(out, "time", t);
    }
    if let Some(Value::Timestamp(t)) = get(native, "tls_connection_creation_time") {
        let t = *t;
        take(native, "tls_connection_creation_time");
        set_time!(out, "start_time", t);
    }
    move_int(native, "connection_time", out, "duration");
    move_str(native, "version", out, "metadata.log_version");
    move_str(native, "elb", out, "metadata.product.uid");

    move_str(native, "client_ip", out, "src_endpoint.ip");
    move_int(native, "client_port", out, "src_endpoint.port");
    move_str(native, "destination_ip", out, "dst_endpoint.ip");
    move_int(native, "destination_port", out, "dst_endpoint.port");
    if !has_under(out, "dst_endpoint") {
        // Required: the load balancer stands for a destination the record does not name.
        put_uid_of_product(out);
    }
    put(out, "connection_info.protocol_name", static_text("tcp"));
    put(out, "connection_info.protocol_num", Value::Integer(6));
    put(out, "connection_info.direction_id", Value::Integer(1));
    put(out, "connection_info.direction", static_text("Inbound"));

    move_int(native, "received_bytes", out, "traffic.bytes_in");
    move_int(native, "sent_bytes", out, "traffic.bytes_out");
    if get_str(native, "tls_protocol_version").is_some() {
        move_str(native, "tls_protocol_version", out, "tls.version");
        move_str(native, "tls_cipher", out, "tls.cipher");
        move_str(native, "domain_name", out, "tls.sni");
        move_int(native, "tls_handshake_time", out, "tls.handshake_dur");
    }
}

/// `dst_endpoint.uid` ← the load balancer's id (`metadata.product.uid`), when there is one.
fn put_uid_of_product(out: &mut PathRecordBuilder) {
    if let Some(uid) = get(out, "metadata.product.uid").cloned() {
        put(out, "dst_endpoint.uid", uid);
    }
}
