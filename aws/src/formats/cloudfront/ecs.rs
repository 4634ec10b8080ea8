//! CloudFront standard logs in ECS, as Elastic's `aws.cloudfront_logs` data stream writes them:
//! `source.{ip, address, port, geo.country_iso_code, as.number}` ← `c_ip`, `c_port`, `c_country`,
//! `asn`; `destination.{domain, address}` ← `cs_host`; `http.request.{method, id, bytes,
//! referrer}` ← `cs_method`, `x_edge_request_id` (also `event.id`), `cs_bytes`, `cs_referer`;
//! `http.response.{status_code, bytes, mime_type}` ← `sc_status`, `sc_bytes`,
//! `sc_content_type`; `http.version` ← `cs_protocol_version` without `HTTP/`;
//! `url.{scheme, domain, path, query, extension, full}` ← `cs_protocol`, `x_host_header`,
//! `cs_uri_stem`, `cs_uri_query` (the extension and full URL derived from them);
//! `network.protocol` (`http`, or `websocket` for `ws`/`wss`), `network.forwarded_ip` ←
//! `x_forwarded_for` when it is one address; `tls.{version, version_protocol, cipher}` ←
//! `ssl_protocol`, `ssl_cipher`; `user_agent.original` ← `cs_user_agent`; `event.{category: [web],
//! type: [access], outcome (success for 100–399), duration (from time_taken)}`; `related.ip`.
//! Every other native field stays under `aws.cloudfront.*` (edge location and result types,
//! cookies, field-level encryption, ranges, latencies, …).
//!
//! A `geoip` transform's result (`c_ip_geo`) lands in `source.{geo, as}`
//! ([`geo`](crate::normalize::ecs::geo)).

use vrl::value::Value;
use weir_core::fields::Fields;
use weir_core::path_record::PathRecordBuilder;

use super::{forwarded_ips, full_url};
use crate::normalize::ecs::{geo, keywords, related_ip, tls_version, SOURCE_GEO};
use crate::normalize::fields::{
    copy_to, get, get_int, get_str, move_int, move_str, put, static_text, take, text,
};

/// See the [module docs](self).
pub(crate) fn map(native: &mut Fields, out: &mut PathRecordBuilder) {
    put(out, "event.category", keywords(&["web"]));
    put(out, "event.type", keywords(&["access"]));
    if let Some(status) = get_int(native, "sc_status") {
        let outcome = if (100..400).contains(&status) {
            "success"
        } else {
            "failure"
        };
        put(out, "event.outcome", static_text(outcome));
    }
    if let Some(Value::Float(seconds)) = get(native, "time_taken") {
        let nanos = (seconds.into_inner() * 1e9).round() as i64;
        put(out, "event.duration", Value::Integer(nanos));
    }

    related_ip(out, get(native, "c_ip"));
    copy_to(native, "c_ip", out, "source.address");
    move_str(native, "c_ip", out, "source.ip");
    move_int(native, "c_port", out, "source.port");
    move_str(native, "c_country", out, "source.geo.country_iso_code");
    move_int(native, "asn", out, "source.as.number");
    geo(native, "c_ip_geo", out, &SOURCE_GEO);
    copy_to(native, "cs_host", out, "destination.address");
    move_str(native, "cs_host", out, "destination.domain");

    copy_to(native, "x_edge_request_id", out, "event.id");
    move_str(native, "x_edge_request_id", out, "http.request.id");
    move_str(native, "cs_method", out, "http.request.method");
    move_int(native, "cs_bytes", out, "http.request.bytes");
    move_str(native, "cs_referer", out, "http.request.referrer");
    move_int(native, "sc_status", out, "http.response.status_code");
    move_int(native, "sc_bytes", out, "http.response.bytes");
    move_str(native, "sc_content_type", out, "http.response.mime_type");
    if let Some(version) = get_str(native, "cs_protocol_version")
        .and_then(|v| v.strip_prefix("HTTP/"))
        .map(text)
    {
        put(out, "http.version", version);
    }
    move_str(native, "cs_user_agent", out, "user_agent.original");

    let protocol = match get_str(native, "cs_protocol") {
        Some("ws" | "wss") => Some("websocket"),
        Some(_) => Some("http"),
        None => None,
    };
    if let Some(protocol) = protocol {
        put(out, "network.protocol", static_text(protocol));
    }
    if let Some(ips) = forwarded_ips(native).filter(|ips| ips.len() == 1) {
        let ip = text(ips[0]);
        take(native, "x_forwarded_for");
        put(out, "network.forwarded_ip", ip);
    }
    url_parts(native, out);

    move_str(native, "ssl_cipher", out, "tls.cipher");
    if let Some((version, protocol)) = get_str(native, "ssl_protocol").and_then(tls_version) {
        put(out, "tls.version", text(version));
        put(out, "tls.version_protocol", text(protocol));
    }
}

/// `url.*`: the parts CloudFront logs, and the full URL and extension made from them.
fn url_parts(native: &mut Fields, out: &mut PathRecordBuilder) {
    if let Some(url) = full_url(native) {
        put(out, "url.full", text(&url));
    }
    let extension = get_str(native, "cs_uri_stem")
        .and_then(|path| path.rsplit('/').next())
        .and_then(|file| file.rsplit_once('.'))
        .map(|(_, extension)| extension)
        .filter(|e| !e.is_empty())
        .map(text);
    if let Some(extension) = extension {
        put(out, "url.extension", extension);
    }
    move_str(native, "cs_protocol", out, "url.scheme");
    move_str(native, "x_host_header", out, "url.domain");
    move_str(native, "cs_uri_stem", out, "url.path");
    move_str(native, "cs_uri_query", out, "url.query");
}
