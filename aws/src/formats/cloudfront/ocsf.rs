//! CloudFront standard logs in OCSF: HTTP Activity 4002, the activity from the request method
//! (Security Lake has no CloudFront source; this is the class of every HTTP access log).
//!
//! `time` ← `date` + `time`; `src_endpoint.{ip, port, location.country}` ← `c_ip`, `c_port`,
//! `c_country`; `dst_endpoint.hostname` ← `cs_host` (the distribution's CloudFront domain, which
//! served the request); `http_request.{http_method, uid, referrer, user_agent, version}` ←
//! `cs_method`, `x_edge_request_id`, `cs_referer`, `cs_user_agent`, `cs_protocol_version`;
//! `http_request.url.{scheme, hostname, path, query_string}` ← `cs_protocol`, `x_host_header`
//! (the Host the viewer sent), `cs_uri_stem`, `cs_uri_query`, and `url_string` put together from
//! them; `http_request.x_forwarded_for` ← `x_forwarded_for` (taken when it is one address,
//! copied as a list when it is several); `http_response.{code, content_type}` ← `sc_status`,
//! `sc_content_type` (`status_id` success for 100–399; `000`, a viewer that left before the
//! response, is a failure); `traffic.{bytes_in, bytes_out}` ← `cs_bytes`, `sc_bytes`;
//! `duration` ← `time_taken` in milliseconds (a copy); `tls.{version, cipher}` ←
//! `ssl_protocol`, `ssl_cipher`; `status_code` ← `x_edge_result_type` (`Hit`, `Miss`, `Error`,
//! …), `status_detail` ← `x_edge_detailed_result_type` (`OriginDnsError`, …).
//!
//! `http_response.code` is required: a record without `sc_status` (a custom format leaving it
//! out) gets 0, "unknown". The edge location, the response result type, cookies, field-level
//! encryption, range, content length and latency fields, and the v2 logging extras other than
//! the country stay in `unmapped`.

use vrl::value::Value;
use weir_core::fields::Fields;
use weir_core::path_record::PathRecordBuilder;

use super::{forwarded_ips, full_url};
use crate::normalize::fields::{
    copy_to, get, get_int, get_str, move_int, move_str, put, static_text, take, text,
};
use crate::normalize::ocsf::{http_activity_of, set_class, set_status, OcsfClass};

/// See the [module docs](self).
pub(crate) fn map(native: &mut Fields, out: &mut PathRecordBuilder) {
    let activity = http_activity_of(get_str(native, "cs_method"));
    set_class(out, OcsfClass::HttpActivity, activity);
    put(
        out,
        "metadata.product.feature.name",
        static_text("Standard Logging"),
    );
    move_str(native, "c_ip", out, "src_endpoint.ip");
    move_int(native, "c_port", out, "src_endpoint.port");
    move_str(native, "c_country", out, "src_endpoint.location.country");
    if get_str(native, "cs_host").is_some() {
        move_str(native, "cs_host", out, "dst_endpoint.hostname");
    } else if get_str(native, "x_host_header").is_some() {
        copy_to(native, "x_host_header", out, "dst_endpoint.hostname");
    } else {
        put(out, "dst_endpoint.svc_name", static_text("CloudFront"));
    }
    request(native, out);
    response(native, out);
    move_int(native, "cs_bytes", out, "traffic.bytes_in");
    move_int(native, "sc_bytes", out, "traffic.bytes_out");
    if let Some(Value::Float(seconds)) = get(native, "time_taken") {
        let millis = (seconds.into_inner() * 1000.0).round() as i64;
        put(out, "duration", Value::Integer(millis));
    }
    if get_str(native, "ssl_protocol").is_some() {
        move_str(native, "ssl_protocol", out, "tls.version");
        move_str(native, "ssl_cipher", out, "tls.cipher");
    }
    move_str(native, "x_edge_result_type", out, "status_code");
    move_str(native, "x_edge_detailed_result_type", out, "status_detail");
}

/// `http_request`: method, id, headers CloudFront logs, URL parts.
fn request(native: &mut Fields, out: &mut PathRecordBuilder) {
    if let Some(url) = full_url(native) {
        put(out, "http_request.url.url_string", text(&url));
    }
    move_str(native, "cs_method", out, "http_request.http_method");
    move_str(native, "x_edge_request_id", out, "http_request.uid");
    move_str(native, "cs_referer", out, "http_request.referrer");
    move_str(native, "cs_user_agent", out, "http_request.user_agent");
    move_str(native, "cs_protocol_version", out, "http_request.version");
    // `url` needs a path (or the whole URL, which needs the path): without one its parts stay
    // native.
    if get_str(native, "cs_uri_stem").is_some() {
        move_str(native, "cs_uri_stem", out, "http_request.url.path");
        move_str(native, "cs_protocol", out, "http_request.url.scheme");
        move_str(native, "x_host_header", out, "http_request.url.hostname");
        move_str(native, "cs_uri_query", out, "http_request.url.query_string");
    }
    if let Some(ips) = forwarded_ips(native) {
        let single = ips.len() == 1;
        let ips = Value::Array(ips.into_iter().map(text).collect());
        put(out, "http_request.x_forwarded_for", ips);
        if single {
            take(native, "x_forwarded_for");
        }
    }
}

/// `http_response` and `status_id` from `sc_status`.
fn response(native: &mut Fields, out: &mut PathRecordBuilder) {
    match get_int(native, "sc_status") {
        Some(status) => {
            set_status(out, (100..400).contains(&status));
            move_int(native, "sc_status", out, "http_response.code");
        }
        None => put(out, "http_response.code", Value::Integer(0)),
    }
    move_str(native, "sc_content_type", out, "http_response.content_type");
}
