//! WAF logs in ECS, as Elastic's `aws.waf` data stream writes them: `source.{ip, address,
//! geo.country_iso_code}` ← `httpRequest.{clientIp, country}`; `http.request.{id, method}`,
//! `http.version` (without `HTTP/`); `url.{path, query, scheme, domain, fragment}` ←
//! `httpRequest.{uri, args, scheme, host, fragment}` (the domain and port from the `Host`
//! header when the record has no `host`); `user_agent.original` and `http.request.referrer`
//! copied from the headers; `network.{protocol: http, transport: tcp}`; `rule.{id, ruleset}` ←
//! `terminatingRuleId`, `terminatingRuleType`; `event.action` ← `action`;
//! `http.response.status_code` ← `responseCodeSent`, or the status of WAF's own response to its
//! action (403 BLOCK, 405 CAPTCHA, 202 CHALLENGE; none for ALLOW, whose response WAF does not
//! see); `cloud.{account.id, region, service.name}` copied from the web ACL's ARN; `related.ip`.
//!
//! `event.category` is `[web, network]` and `event.type` `[access, allowed | denied]` (denied for
//! BLOCK, CAPTCHA and CHALLENGE: the request did not reach the resource): Elastic writes
//! `web` with `allowed`/`denied`, but ECS expects those types only with `network` (or `api`,
//! `intrusion_detection`), and a web ACL's decision on a request is network filtering.
//!
//! Every other native field stays under `aws.waf.*` with WAF's names (`webaclId`, the headers,
//! rule lists and match details, `labels`, `httpSourceName`/`httpSourceId`, fingerprints, …).
//!
//! A `geoip` transform's result (`httpRequest.clientIp_geo`) lands in `source.{geo, as}`
//! ([`geo`](crate::normalize::ecs::geo)).

use vrl::value::Value;
use weir_core::fields::Fields;
use weir_core::path_record::PathRecordBuilder;

use super::{header, sent_status, webacl_arn};
use crate::normalize::ecs::{geo, keywords, related_ip, SOURCE_GEO};
use crate::normalize::fields::{
    copy_to, get, get_str, move_str, put, put_some, static_text, take_int, text,
};
use crate::normalize::url;

/// See the [module docs](self).
pub(crate) fn map(native: &mut Fields, out: &mut PathRecordBuilder) {
    put(out, "event.category", keywords(&["web", "network"]));
    let decision = match get_str(native, "action") {
        Some("ALLOW") => Some("allowed"),
        Some("BLOCK" | "CAPTCHA" | "CHALLENGE") => Some("denied"),
        _ => None,
    };
    match decision {
        Some(decision) => put(out, "event.type", keywords(&["access", decision])),
        None => put(out, "event.type", keywords(&["access"])),
    }
    put(out, "network.protocol", static_text("http"));
    put(out, "network.transport", static_text("tcp"));
    let status = sent_status(native).map(Value::Integer);
    take_int(native, "responseCodeSent");
    put_some(out, "http.response.status_code", status);
    move_str(native, "action", out, "event.action");
    move_str(native, "terminatingRuleId", out, "rule.id");
    move_str(native, "terminatingRuleType", out, "rule.ruleset");
    if let Some((region, account, service)) = webacl_arn(native) {
        let (region, account, service) = (text(region), text(account), text(service));
        put(out, "cloud.region", region);
        put(out, "cloud.account.id", account);
        put(out, "cloud.service.name", service);
    }

    related_ip(out, get(native, "httpRequest.clientIp"));
    copy_to(native, "httpRequest.clientIp", out, "source.address");
    move_str(native, "httpRequest.clientIp", out, "source.ip");
    move_str(
        native,
        "httpRequest.country",
        out,
        "source.geo.country_iso_code",
    );
    geo(native, "httpRequest.clientIp_geo", out, &SOURCE_GEO);

    move_str(native, "httpRequest.requestId", out, "http.request.id");
    move_str(native, "httpRequest.httpMethod", out, "http.request.method");
    if let Some(version) = get_str(native, "httpRequest.httpVersion")
        .and_then(|v| v.strip_prefix("HTTP/"))
        .map(text)
    {
        put(out, "http.version", version);
    }
    let referrer = header(native, "referer").map(text);
    put_some(out, "http.request.referrer", referrer);
    let user_agent = header(native, "user-agent").map(text);
    put_some(out, "user_agent.original", user_agent);
    url_parts(native, out);
}

/// `url.*` from the request's parts (empty ones stay native).
fn url_parts(native: &mut Fields, out: &mut PathRecordBuilder) {
    if get_str(native, "httpRequest.uri").is_some_and(|u| !u.is_empty()) {
        move_str(native, "httpRequest.uri", out, "url.path");
    }
    if get_str(native, "httpRequest.args").is_some_and(|a| !a.is_empty()) {
        move_str(native, "httpRequest.args", out, "url.query");
    }
    if get_str(native, "httpRequest.fragment").is_some_and(|f| !f.is_empty()) {
        move_str(native, "httpRequest.fragment", out, "url.fragment");
    }
    move_str(native, "httpRequest.scheme", out, "url.scheme");
    if get_str(native, "httpRequest.host").is_some() {
        move_str(native, "httpRequest.host", out, "url.domain");
    } else if let Some(host) = header(native, "host") {
        let (host, port) = url::host_port(host);
        let host = text(host);
        put(out, "url.domain", host);
        put_some(out, "url.port", port.map(Value::Integer));
    }
}
