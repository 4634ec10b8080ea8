//! S3 server access logs in ECS, as Elastic's `aws.s3access` data stream writes them:
//! `client.{ip, address}` ← `remote_ip`, `client.user.id` ← `requester`; `event.{action, id}` ←
//! `operation`, `request_id`, `event.duration` ← `total_time` (as nanoseconds; a copy),
//! `event.{category: [web], type: [access], outcome}` (failure with an error code or a status of
//! 400 or more); `http.request.{method, referrer}` ← `request_method`, `referer`,
//! `http.response.{status_code, body.bytes}` ← `http_status`, `bytes_sent`, `http.version` ←
//! `request_protocol` without `HTTP/`; `url.original` ← `request_url`, with its `path` and `query`
//! copied, `url.domain` ← `host_header`; `error.code` ← `error_code`; `tls.{cipher, version,
//! version_protocol}` ← `cipher_suite`, `tls_version`; `user_agent.original` ← `user_agent`;
//! `related.{ip, user}`. Every other native field stays under `aws.s3access.*` (bucket and its
//! owner, key, object size, version id, host id, signature and authentication types, …).
//!
//! A `geoip` transform's result (`remote_ip_geo`) lands in `client.{geo, as}`
//! ([`geo`](crate::normalize::ecs::geo)).

use vrl::value::Value;
use weir_core::fields::Fields;
use weir_core::path_record::PathRecordBuilder;

use super::{failed, tls_number};
use crate::normalize::ecs::{geo, keywords, related_ip, related_user, CLIENT_GEO};
use crate::normalize::fields::{
    copy_to, get, get_int, get_str, move_int, move_str, put, static_text, text,
};
use crate::normalize::url;

/// See the [module docs](self).
pub(crate) fn map(native: &mut Fields, out: &mut PathRecordBuilder) {
    put(out, "event.category", keywords(&["web"]));
    put(out, "event.type", keywords(&["access"]));
    if let Some(failed) = failed(native) {
        let outcome = if failed { "failure" } else { "success" };
        put(out, "event.outcome", static_text(outcome));
    }
    if let Some(millis) = get_int(native, "total_time") {
        put(
            out,
            "event.duration",
            Value::Integer(millis.saturating_mul(1_000_000)),
        );
    }
    move_str(native, "operation", out, "event.action");
    move_str(native, "request_id", out, "event.id");

    related_ip(out, get(native, "remote_ip"));
    copy_to(native, "remote_ip", out, "client.address");
    move_str(native, "remote_ip", out, "client.ip");
    geo(native, "remote_ip_geo", out, &CLIENT_GEO);
    related_user(out, get(native, "requester"));
    move_str(native, "requester", out, "client.user.id");

    move_str(native, "request_method", out, "http.request.method");
    move_str(native, "referer", out, "http.request.referrer");
    move_int(native, "http_status", out, "http.response.status_code");
    move_int(native, "bytes_sent", out, "http.response.body.bytes");
    if let Some(version) = get_str(native, "request_protocol")
        .and_then(|p| p.strip_prefix("HTTP/"))
        .map(text)
    {
        put(out, "http.version", version);
    }
    // The host is the `Host` header's (below); the URL logged is a path and query.
    url::put_parts(
        native,
        "request_url",
        out,
        &url::UrlPlaces {
            scheme: None,
            host: None,
            port: None,
            ..url::ECS_URL
        },
    );
    move_str(native, "request_url", out, "url.original");
    move_str(native, "host_header", out, "url.domain");
    move_str(native, "error_code", out, "error.code");
    move_str(native, "user_agent", out, "user_agent.original");

    move_str(native, "cipher_suite", out, "tls.cipher");
    if let Some(version) = tls_number(native).map(text) {
        put(out, "tls.version", version);
        put(out, "tls.version_protocol", static_text("tls"));
    }
}
