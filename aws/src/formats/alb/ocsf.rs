//! ALB access logs in OCSF: HTTP Activity 4002, the activity from the request method.
//!
//! `time` ← `time`, `start_time` ← `request_creation_time`; `http_request.{http_method, url,
//! user_agent, version}`; `http_response.code` ← `elb_status_code` (and `status_id`: success below
//! 400); `src_endpoint` ← client, `dst_endpoint` ← target (or, when no target answered, the load
//! balancer itself as `dst_endpoint.uid`); `traffic.{bytes_in, bytes_out}` ← `received_bytes` /
//! `sent_bytes`; `tls.{version, cipher, sni}` ← `ssl_protocol`, `ssl_cipher`, `domain_name`;
//! `metadata.product.uid` ← `elb`, feature "Application Load Balancer".
//!
//! `chosen_cert_arn` stays in `unmapped`: OCSF's `tls.certificate` requires the issuer, serial
//! number and fingerprints, which the log does not have. Processing times, rule priority,
//! actions, trace ids, classification and the target group stay in `unmapped` too.

use vrl::value::Value;
use weir_core::fields::Fields;
use weir_core::path_record::PathRecordBuilder;

use crate::normalize::fields::{
    copy_to, get, get_int, get_str, move_int, move_str, put, static_text, take,
};
use crate::normalize::ocsf::{http_activity_of, set_class, set_status, OcsfClass};
use crate::normalize::url;
use crate::set_time;

/// See the [module docs](self).
pub(crate) fn map(native: &mut Fields, out: &mut PathRecordBuilder) {
    let activity = http_activity_of(get_str(native, "request_method"));
    set_class(out, OcsfClass::HttpActivity, activity);
    if let Some(Value::Timestamp(t)) = get(native, "timestamp") {
        let t = *t;
        take(native, "timestamp");
        set_time!(out, "time", t);
    }
    if let Some(Value::Timestamp(t)) = get(native, "request_creation_time") {
        let t = *t;
        take(native, "request_creation_time");
        set_time!(out, "start_time", t);
    }
    put(
        out,
        "metadata.product.feature.name",
        static_text("Application Load Balancer"),
    );
    if let Some(status) = get_int(native, "elb_status_code") {
        set_status(out, status < 400);
    }
    move_int(native, "elb_status_code", out, "http_response.code");

    move_str(native, "request_method", out, "http_request.http_method");
    url::put_parts(native, "request_url", out, &url::OCSF_URL);
    move_str(native, "request_url", out, "http_request.url.url_string");
    move_str(native, "user_agent", out, "http_request.user_agent");
    move_str(native, "request_protocol", out, "http_request.version");

    move_str(native, "client_ip", out, "src_endpoint.ip");
    move_int(native, "client_port", out, "src_endpoint.port");
    if get(native, "target_ip").is_none() {
        copy_to(native, "elb", out, "dst_endpoint.uid");
    }
    move_str(native, "target_ip", out, "dst_endpoint.ip");
    move_int(native, "target_port", out, "dst_endpoint.port");
    move_str(native, "elb", out, "metadata.product.uid");

    move_int(native, "received_bytes", out, "traffic.bytes_in");
    move_int(native, "sent_bytes", out, "traffic.bytes_out");
    if get_str(native, "ssl_protocol").is_some() {
        move_str(native, "ssl_protocol", out, "tls.version");
        move_str(native, "ssl_cipher", out, "tls.cipher");
        move_str(native, "domain_name", out, "tls.sni");
    }
}
