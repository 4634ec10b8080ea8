//! ALB access logs in ECS, as Elastic's `aws.elb_logs` data stream writes them: `http.*`,
//! `url.*`, `source.*` (with `source.geo` and `source.as` from a `geoip` transform's
//! `client_ip_geo`), `tls.*`, `trace.id`, `event.{category, outcome, start, end}`;
//! `aws.elb.name` is the load balancer, and every other native field stays under `aws.elb.*`
//! (target address and port, target group, processing times, actions, classification, …).

use weir_core::fields::Fields;
use weir_core::path_record::PathRecordBuilder;

use crate::normalize::ecs::{geo, keywords, related_ip, tls_version, SOURCE_GEO};
use crate::normalize::fields::{
    copy_to, get, get_int, get_str, move_int, move_str, move_to, put, text,
};
use crate::normalize::url;

/// See the [module docs](self).
pub(crate) fn map(native: &mut Fields, out: &mut PathRecordBuilder) {
    put(out, "event.category", keywords(&["web"]));
    if let Some(status) = get_int(native, "elb_status_code") {
        let outcome = if status < 400 { "success" } else { "failure" };
        put(out, "event.outcome", text(outcome));
    }
    if let Some(end) = get(out, "@timestamp").cloned() {
        put(out, "event.end", end);
    }
    move_to(native, "request_creation_time", out, "event.start");
    move_to(native, "elb", out, "aws.elb.name");

    related_ip(out, get(native, "client_ip"));
    related_ip(out, get(native, "target_ip"));
    copy_to(native, "client_ip", out, "source.address");
    move_str(native, "client_ip", out, "source.ip");
    move_int(native, "client_port", out, "source.port");
    geo(native, "client_ip_geo", out, &SOURCE_GEO);

    move_str(native, "request_method", out, "http.request.method");
    move_int(native, "received_bytes", out, "http.request.body.bytes");
    move_int(native, "elb_status_code", out, "http.response.status_code");
    move_int(native, "sent_bytes", out, "http.response.body.bytes");
    if let Some(version) = get_str(native, "request_protocol").and_then(|p| p.strip_prefix("HTTP/"))
    {
        put(out, "http.version", text(version));
    }
    url::put_parts(native, "request_url", out, &url::ECS_URL);
    move_str(native, "request_url", out, "url.original");
    move_str(native, "user_agent", out, "user_agent.original");
    move_str(native, "trace_id", out, "trace.id");

    move_str(native, "ssl_cipher", out, "tls.cipher");
    if let Some((version, protocol)) = get_str(native, "ssl_protocol").and_then(tls_version) {
        put(out, "tls.version", text(version));
        put(out, "tls.version_protocol", text(protocol));
    }
    move_str(native, "domain_name", out, "tls.client.server_name");
}
