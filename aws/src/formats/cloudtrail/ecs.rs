//! CloudTrail events in ECS, as Elastic's `aws.cloudtrail` data stream writes them:
//! `event.{action, provider, id, category, type, outcome}`, `cloud.{account.id, region}`,
//! `source.{address, ip}` (and `source.{geo, as}` from a `geoip` transform's
//! `sourceIPAddress_geo`), `user.{id, name}`, `user.target.name` (IAM changes),
//! `user_agent.original`, `error.{code, message}`, `tls.*` and `related.{ip, user}`; every other
//! native field stays under `aws.cloudtrail.*` with CloudTrail's own names (`userIdentity`,
//! `requestParameters`, …).
//!
//! `event.category`/`event.type` by the event's kind ([`classify`]): sign-ins
//! `authentication`/`start` (other authentication steps `info`), IAM identity changes
//! `iam`/`user` plus `creation`/`deletion`/`change`, other calls `api` with the verb's type
//! (`creation`, `access`, `change`, `deletion`, `info`). `event.outcome` is `failure` when the
//! event has an `errorCode` (or a ConsoleLogin says `Failure`), else `success`.

use vrl::value::Value;
use weir_core::fields::Fields;
use weir_core::path_record::PathRecordBuilder;

use super::classify::{classify, AuthenticationActivity, EventKind};
use crate::normalize::ecs::{geo, keywords, related_ip, related_user, tls_version, SOURCE_GEO};
use crate::normalize::fields::{copy_to, get, get_str, get_time, is_ip, move_str, put, take, text};

/// See the [module docs](self).
pub(crate) fn map(native: &mut Fields, out: &mut PathRecordBuilder) {
    if let Some(Value::Timestamp(t)) = get(out, "@timestamp") {
        if get_time(native, "eventTime") == Some(*t) {
            take(native, "eventTime");
        }
    }
    let kind = classify(
        get_str(native, "eventName").unwrap_or_default(),
        get_str(native, "eventSource"),
        get_str(native, "requestParameters.status"),
    );
    let (category, types): (&str, &[&'static str]) = match kind {
        EventKind::Authentication(AuthenticationActivity::Logon) => ("authentication", &["start"]),
        EventKind::Authentication(_) => ("authentication", &["info"]),
        EventKind::AccountChange(1) => ("iam", &["user", "creation"]),
        EventKind::AccountChange(6) => ("iam", &["user", "deletion"]),
        EventKind::AccountChange(_) => ("iam", &["user", "change"]),
        EventKind::Api(verb) => ("api", verb.ecs_types()),
    };
    put(out, "event.category", keywords(&[category]));
    put(out, "event.type", keywords(types));
    let failed = get(native, "errorCode").is_some()
        || get_str(native, "responseElements.ConsoleLogin") == Some("Failure");
    put(
        out,
        "event.outcome",
        text(if failed { "failure" } else { "success" }),
    );
    if matches!(kind, EventKind::AccountChange(_)) {
        let target = get(native, "requestParameters.userName")
            .or_else(|| get(native, "requestParameters.roleName"))
            .cloned();
        if let Some(target) = target {
            related_user(out, Some(&target));
            put(out, "user.target.name", target);
        }
    }
    for (from, to) in [
        ("eventName", "event.action"),
        ("eventSource", "event.provider"),
        ("eventID", "event.id"),
        ("recipientAccountId", "cloud.account.id"),
        ("awsRegion", "cloud.region"),
        ("userAgent", "user_agent.original"),
        ("errorCode", "error.code"),
        ("errorMessage", "error.message"),
        ("userIdentity.principalId", "user.id"),
        ("tlsDetails.cipherSuite", "tls.cipher"),
        (
            "tlsDetails.clientProvidedHostHeader",
            "tls.client.server_name",
        ),
    ] {
        move_str(native, from, out, to);
    }
    source(native, out);
    user_name(native, out);
    if let Some((version, protocol)) =
        get_str(native, "tlsDetails.tlsVersion").and_then(tls_version)
    {
        put(out, "tls.version", text(version));
        put(out, "tls.version_protocol", text(protocol));
    }
}

/// `source.address`, and `source.ip` when it is an address (not a service name).
fn source(native: &mut Fields, out: &mut PathRecordBuilder) {
    if get_str(native, "sourceIPAddress").is_some_and(is_ip) {
        copy_to(native, "sourceIPAddress", out, "source.ip");
        related_ip(out, get(native, "sourceIPAddress"));
    }
    move_str(native, "sourceIPAddress", out, "source.address");
    geo(native, "sourceIPAddress_geo", out, &SOURCE_GEO);
}

/// `user.name`: the IAM user's name, else the name of the role a session was issued by.
fn user_name(native: &mut Fields, out: &mut PathRecordBuilder) {
    if get_str(native, "userIdentity.userName").is_some() {
        related_user(out, get(native, "userIdentity.userName"));
        move_str(native, "userIdentity.userName", out, "user.name");
    } else if let Some(role) = get(native, "userIdentity.sessionContext.sessionIssuer.userName") {
        let role = role.clone();
        related_user(out, Some(&role));
        put(out, "user.name", role);
    }
}
