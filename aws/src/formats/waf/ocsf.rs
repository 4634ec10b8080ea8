//! WAF logs in OCSF: HTTP Activity 4002, the activity from the request method, with the
//! `security_control` profile for WAF's decision (as Security Lake maps WAFv2 logs).
//!
//! `time` ← `timestamp`; `src_endpoint.{ip, location.country}` ← `httpRequest.{clientIp,
//! country}`; `http_request.{http_method, version, uid, args}` ← `httpRequest.{httpMethod,
//! httpVersion, requestId, args}`; `http_request.url.{path, scheme, hostname}` ←
//! `httpRequest.{uri, scheme, host}` (the host from the `Host` header when the record has no
//! `host`, with its port); `http_request.http_headers` ← `httpRequest.headers` (when every
//! header is a `{name, value}` pair; otherwise they all stay in `unmapped`), and copies of the
//! `User-Agent`, `Referer` and `X-Forwarded-For` headers in `user_agent`, `referrer` and
//! `x_forwarded_for`; `dst_endpoint.{svc_name, uid}` ← `httpSourceName`, `httpSourceId` (the
//! resource the web ACL guards: `CF` and a distribution id, `ALB`, `APIGW` and an API stage, …)
//! with the request's host as `hostname`; `firewall_rule.{uid, type}` ← `terminatingRuleId`,
//! `terminatingRuleType`; `action(_id)`/`disposition(_id)` ← `action` (ALLOW → Allowed/Allowed,
//! BLOCK → Denied/Blocked, CAPTCHA and CHALLENGE → Other/Captcha and Challenge, COUNT →
//! Other/Count); `metadata.product.feature.uid` ← `webaclId`, `metadata.labels` ← `labels[].name`;
//! `cloud.{region, account.uid}` copied from the web ACL's ARN.
//!
//! `http_response` is required by the class, and `http_response.code` by the object, but WAF logs
//! only the responses it sent itself: `responseCodeSent` (a custom response) is taken, and
//! without it the code is the documented one of WAF's own response to its action (403 BLOCK,
//! 405 CAPTCHA, 202 CHALLENGE). For an allowed request the protected resource answered and WAF
//! does not log its status: the code is then 0, which no HTTP response has — "unknown", as 0 is
//! in OCSF's enums — rather than leaving the event short of a required attribute. `dst_endpoint`
//! is required too: a record naming neither the resource (`httpSourceName` `-` in the docs'
//! examples) nor a host gets the web ACL as `dst_endpoint.uid`, the one thing it names on the
//! receiving side.
//!
//! Rule details (`terminatingRuleMatchDetails`, `ruleGroupList`, `rateBasedRuleList`,
//! `nonTerminatingMatchingRules`), `requestHeadersInserted`, CAPTCHA/challenge responses, the
//! JA3/JA4 fingerprints (OCSF's `tls` requires a TLS version WAF does not log), body sizes,
//! `fragment` and `formatVersion` stay in `unmapped`, as do empty `uri` and `args` and `-`
//! sources.

use vrl::value::Value;
use weir_core::fields::Fields;
use weir_core::path_record::PathRecordBuilder;

use super::{header, sent_status, webacl_arn};
use crate::normalize::fields::{
    copy_to, get, get_str, has_under, move_str, put, put_some, static_text, take, take_int, text,
};
use crate::normalize::ocsf::{
    add_profile, holds_only_text, http_activity_of, set_class, OcsfClass, Profile,
};
use crate::normalize::url;

/// See the [module docs](self).
pub(crate) fn map(native: &mut Fields, out: &mut PathRecordBuilder) {
    let activity = http_activity_of(get_str(native, "httpRequest.httpMethod"));
    set_class(out, OcsfClass::HttpActivity, activity);
    decision(native, out);
    request(native, out);
    endpoints(native, out);
    response(native, out);
    if let Some((region, account, _)) = webacl_arn(native) {
        let (region, account) = (text(region), text(account));
        put(out, "cloud.region", region);
        put(out, "cloud.account.uid", account);
    }
    move_str(native, "webaclId", out, "metadata.product.feature.uid");
    labels(native, out);
}

/// `action`, `disposition` and the terminating rule (the `security_control` profile).
fn decision(native: &mut Fields, out: &mut PathRecordBuilder) {
    let (action, disposition) = match get_str(native, "action") {
        Some("ALLOW") => ((1, "Allowed"), (1, "Allowed")),
        Some("BLOCK") => ((2, "Denied"), (2, "Blocked")),
        Some("CAPTCHA") => ((99, "Other"), (22, "Captcha")),
        Some("CHALLENGE") => ((99, "Other"), (23, "Challenge")),
        Some("COUNT") => ((99, "Other"), (20, "Count")),
        _ => ((0, "Unknown"), (0, "Unknown")),
    };
    add_profile(out, Profile::SecurityControl);
    put(out, "action_id", Value::Integer(action.0));
    put(out, "action", static_text(action.1));
    put(out, "disposition_id", Value::Integer(disposition.0));
    put(out, "disposition", static_text(disposition.1));
    move_str(native, "terminatingRuleId", out, "firewall_rule.uid");
    if get(out, "firewall_rule.uid").is_some() {
        move_str(native, "terminatingRuleType", out, "firewall_rule.type");
    }
}

/// `http_request`: method, version, id, URL parts and headers.
fn request(native: &mut Fields, out: &mut PathRecordBuilder) {
    move_str(
        native,
        "httpRequest.httpMethod",
        out,
        "http_request.http_method",
    );
    move_str(
        native,
        "httpRequest.httpVersion",
        out,
        "http_request.version",
    );
    move_str(native, "httpRequest.requestId", out, "http_request.uid");
    let has_args = get_str(native, "httpRequest.args").is_some_and(|a| !a.is_empty());
    // `url` needs a path (or the whole URL): without one the query is `args` only.
    if get_str(native, "httpRequest.uri").is_some_and(|u| !u.is_empty()) {
        move_str(native, "httpRequest.uri", out, "http_request.url.path");
        move_str(native, "httpRequest.scheme", out, "http_request.url.scheme");
        if has_args {
            copy_to(
                native,
                "httpRequest.args",
                out,
                "http_request.url.query_string",
            );
        }
        if get_str(native, "httpRequest.host").is_some() {
            move_str(native, "httpRequest.host", out, "http_request.url.hostname");
        } else if let Some(host) = header(native, "host") {
            let (host, port) = url::host_port(host);
            let host = text(host);
            put(out, "http_request.url.hostname", host);
            put_some(out, "http_request.url.port", port.map(Value::Integer));
        }
    }
    if has_args {
        move_str(native, "httpRequest.args", out, "http_request.args");
    }
    let user_agent = header(native, "user-agent").map(text);
    put_some(out, "http_request.user_agent", user_agent);
    let referrer = header(native, "referer").map(text);
    put_some(out, "http_request.referrer", referrer);
    if let Some(forwarded) = header(native, "x-forwarded-for") {
        let ips: Vec<&str> = forwarded.split(',').map(str::trim).collect();
        if ips.iter().all(|ip| crate::normalize::fields::is_ip(ip)) {
            let ips = Value::Array(ips.into_iter().map(text).collect());
            put(out, "http_request.x_forwarded_for", ips);
        }
    }
    let whole = match get(native, "httpRequest.headers") {
        Some(Value::Array(headers)) => headers
            .iter()
            .all(|h| holds_only_text(h, &["name", "value"])),
        _ => false,
    };
    if whole {
        put_some(
            out,
            "http_request.http_headers",
            take(native, "httpRequest.headers"),
        );
    }
}

/// `src_endpoint` (the client) and `dst_endpoint` (the resource the web ACL guards).
fn endpoints(native: &mut Fields, out: &mut PathRecordBuilder) {
    move_str(native, "httpRequest.clientIp", out, "src_endpoint.ip");
    move_str(
        native,
        "httpRequest.country",
        out,
        "src_endpoint.location.country",
    );
    if get_str(native, "httpSourceName").is_some_and(|s| s != "-") {
        move_str(native, "httpSourceName", out, "dst_endpoint.svc_name");
    }
    if get_str(native, "httpSourceId").is_some_and(|s| s != "-") {
        move_str(native, "httpSourceId", out, "dst_endpoint.uid");
    }
    if let Some(host) = get(out, "http_request.url.hostname").cloned() {
        put(out, "dst_endpoint.hostname", host);
    }
    if !has_under(out, "dst_endpoint") {
        copy_to(native, "webaclId", out, "dst_endpoint.uid");
    }
}

/// `http_response.code` (see the [module docs](self)).
fn response(native: &mut Fields, out: &mut PathRecordBuilder) {
    let derived = sent_status(native).unwrap_or(0);
    match take_int(native, "responseCodeSent") {
        Some(sent) => put(out, "http_response.code", sent),
        None => put(out, "http_response.code", Value::Integer(derived)),
    }
}

/// `metadata.labels` ← `labels[].name`, when every label is just a name.
fn labels(native: &mut Fields, out: &mut PathRecordBuilder) {
    let names = match get(native, "labels") {
        Some(Value::Array(labels)) if labels.iter().all(|l| holds_only_text(l, &["name"])) => {
            labels
                .iter()
                .filter_map(|l| match l {
                    Value::Object(l) => get(l, "name").cloned(),
                    _ => None,
                })
                .collect::<Vec<_>>()
        }
        _ => return,
    };
    take(native, "labels");
    put(out, "metadata.labels", Value::Array(names));
}
