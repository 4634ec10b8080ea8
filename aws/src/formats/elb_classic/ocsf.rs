//! Classic Load Balancer access logs in OCSF, by listener: records of HTTP and HTTPS listeners
//! (a request line or a status code) are HTTP Activity 4002, the activity from the method;
//! records of TCP and SSL listeners, which see no HTTP, are Network Activity 4001, `activity_id`
//! 6 Traffic (as the NLB mapping).
//!
//! Both: `time` ← `timestamp` (when the load balancer received the request); `src_endpoint.{ip,
//! port}` ← client; `dst_endpoint.{ip, port}` ← backend (the registered instance; when none
//! answered, the load balancer itself as `dst_endpoint.uid`, both endpoints being required);
//! `traffic.{bytes_in, bytes_out}` ← `received_bytes` / `sent_bytes`; `tls.{version, cipher}` ←
//! `ssl_protocol`, `ssl_cipher`; `metadata.product.uid` ← `elb`, feature "Classic Load
//! Balancer" (as the ALB mapping). 4002 also: `http_request.{http_method, version, user_agent}`,
//! `http_request.url.*` ← `request_url` and its parts; `http_response.code` ← `elb_status_code`
//! (required: 0 when a record has a request but no status) and `status_id` (success below 400).
//! 4001 also: `connection_info` TCP, `direction_id` 1 Inbound (clients' connections to the
//! listener).
//!
//! The processing times, `backend_status_code` and the raw request line stay in `unmapped`.

use vrl::value::Value;
use weir_core::fields::Fields;
use weir_core::path_record::PathRecordBuilder;

use super::is_http;
use crate::normalize::fields::{
    copy_to, get, get_int, get_str, move_int, move_str, put, static_text,
};
use crate::normalize::ocsf::{http_activity_of, set_class, set_status, OcsfClass};
use crate::normalize::url;

/// Network Activity's `activity_id` 6: Traffic.
const TRAFFIC: i64 = 6;

/// See the [module docs](self).
pub(crate) fn map(native: &mut Fields, out: &mut PathRecordBuilder) {
    if is_http(native) {
        let activity = http_activity_of(get_str(native, "request_method"));
        set_class(out, OcsfClass::HttpActivity, activity);
        http(native, out);
    } else {
        set_class(out, OcsfClass::NetworkActivity, TRAFFIC);
        put(out, "connection_info.protocol_name", static_text("tcp"));
        put(out, "connection_info.protocol_num", Value::Integer(6));
        put(out, "connection_info.direction_id", Value::Integer(1));
        put(out, "connection_info.direction", static_text("Inbound"));
    }
    put(
        out,
        "metadata.product.feature.name",
        static_text("Classic Load Balancer"),
    );
    move_str(native, "client_ip", out, "src_endpoint.ip");
    move_int(native, "client_port", out, "src_endpoint.port");
    if get(native, "backend_ip").is_none() {
        copy_to(native, "elb", out, "dst_endpoint.uid");
    }
    move_str(native, "backend_ip", out, "dst_endpoint.ip");
    move_int(native, "backend_port", out, "dst_endpoint.port");
    move_str(native, "elb", out, "metadata.product.uid");
    move_int(native, "received_bytes", out, "traffic.bytes_in");
    move_int(native, "sent_bytes", out, "traffic.bytes_out");
    if get_str(native, "ssl_protocol").is_some() {
        move_str(native, "ssl_protocol", out, "tls.version");
        move_str(native, "ssl_cipher", out, "tls.cipher");
    }
}

/// HTTP Activity's request and response.
fn http(native: &mut Fields, out: &mut PathRecordBuilder) {
    match get_int(native, "elb_status_code") {
        Some(status) => {
            set_status(out, status < 400);
            move_int(native, "elb_status_code", out, "http_response.code");
        }
        None => put(out, "http_response.code", Value::Integer(0)),
    }
    move_str(native, "request_method", out, "http_request.http_method");
    url::put_parts(native, "request_url", out, &url::OCSF_URL);
    move_str(native, "request_url", out, "http_request.url.url_string");
    move_str(native, "user_agent", out, "http_request.user_agent");
    move_str(native, "request_protocol", out, "http_request.version");
}
