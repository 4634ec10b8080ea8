//! Classic Load Balancer access logs in ECS, in Elastic's `aws.elb_logs` data stream (as the ALB
//! mapping): `http.request.{method, body.bytes}`, `http.response.{status_code, body.bytes}`,
//! `http.version`, `url.{original, scheme, domain, port, path, query}`, `user_agent.original`,
//! `tls.{cipher, version, version_protocol}`, `source.{ip, address, port}`, `event.{category,
//! outcome, start}` (`timestamp` is when the load balancer received the request: the start);
//! records of TCP/SSL listeners are `event.category: [network]`, `event.type: [connection]`,
//! with `source.bytes`/`destination.bytes` for the bytes received and sent, HTTP records
//! `event.category: [web]`. `destination.{ip, address, port}` ← backend; `aws.elb.name` ←
//! `elb`; `related.ip`. Every other native field stays under `aws.elb.*` (processing times,
//! backend status code, the raw request line).
//!
//! A `geoip` transform's result (`client_ip_geo`, `backend_ip_geo`) lands in `source` and `destination.{geo, as}`
//! ([`geo`](crate::normalize::ecs::geo)).

use weir_core::fields::Fields;
use weir_core::path_record::PathRecordBuilder;

use super::is_http;
use crate::normalize::ecs::{geo, keywords, related_ip, tls_version, DESTINATION_GEO, SOURCE_GEO};
use crate::normalize::fields::{
    copy_to, get, get_int, get_str, move_int, move_str, move_to, put, static_text, text,
};
use crate::normalize::url;

/// See the [module docs](self).
pub(crate) fn map(native: &mut Fields, out: &mut PathRecordBuilder) {
    if let Some(start) = get(out, "@timestamp").cloned() {
        put(out, "event.start", start);
    }
    move_to(native, "elb", out, "aws.elb.name");
    related_ip(out, get(native, "client_ip"));
    related_ip(out, get(native, "backend_ip"));
    copy_to(native, "client_ip", out, "source.address");
    move_str(native, "client_ip", out, "source.ip");
    move_int(native, "client_port", out, "source.port");
    copy_to(native, "backend_ip", out, "destination.address");
    move_str(native, "backend_ip", out, "destination.ip");
    move_int(native, "backend_port", out, "destination.port");
    geo(native, "client_ip_geo", out, &SOURCE_GEO);
    geo(native, "backend_ip_geo", out, &DESTINATION_GEO);
    if is_http(native) {
        put(out, "event.category", keywords(&["web"]));
        http(native, out);
    } else {
        put(out, "event.category", keywords(&["network"]));
        put(out, "event.type", keywords(&["connection"]));
        put(out, "network.transport", static_text("tcp"));
        move_int(native, "received_bytes", out, "source.bytes");
        move_int(native, "sent_bytes", out, "destination.bytes");
    }
    move_str(native, "ssl_cipher", out, "tls.cipher");
    if let Some((version, protocol)) = get_str(native, "ssl_protocol").and_then(tls_version) {
        put(out, "tls.version", text(version));
        put(out, "tls.version_protocol", text(protocol));
    }
}

/// `http.*`, `url.*`, `user_agent.original` and the outcome, for HTTP listeners.
fn http(native: &mut Fields, out: &mut PathRecordBuilder) {
    if let Some(status) = get_int(native, "elb_status_code") {
        let outcome = if status < 400 { "success" } else { "failure" };
        put(out, "event.outcome", static_text(outcome));
    }
    move_str(native, "request_method", out, "http.request.method");
    move_int(native, "received_bytes", out, "http.request.body.bytes");
    move_int(native, "elb_status_code", out, "http.response.status_code");
    move_int(native, "sent_bytes", out, "http.response.body.bytes");
    if let Some(version) = get_str(native, "request_protocol")
        .and_then(|p| p.strip_prefix("HTTP/"))
        .map(text)
    {
        put(out, "http.version", version);
    }
    url::put_parts(native, "request_url", out, &url::ECS_URL);
    move_str(native, "request_url", out, "url.original");
    move_str(native, "user_agent", out, "user_agent.original");
}
