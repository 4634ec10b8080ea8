//! CloudTrail events in OCSF, the class chosen by event name ([`classify`]): Authentication
//! 3002, Account Change 3001 (IAM's identity changes) or API Activity 6003 (the activity from the
//! operation's verb). Insights events (`eventType` `AwsCloudTrailInsight`) are about a rate of
//! calls, not a call: Base Events (class 0) with `api`, `metadata` and `cloud`.
//!
//! Every event: `time` ← `eventTime`; `metadata.{uid, product.version, event_code,
//! product.feature.name}` ← `eventID`, `eventVersion`, `eventType`, `eventCategory`;
//! `api.{operation, service.name, version}` ← `eventName`, `eventSource`, `apiVersion`;
//! `api.request.{uid, data}` ← `requestID`, `requestParameters` (OCSF requires the request's uid,
//! so without a `requestID` the parameters stay in `unmapped`); `api.response.{data, error,
//! message}` ← `responseElements`, `errorCode`, `errorMessage`; `cloud.{region, account.uid}` ←
//! `awsRegion`, `recipientAccountId`; `src_endpoint.{ip | domain and svc_name, uid}` ←
//! `sourceIPAddress`, `vpcEndpointId`; `http_request.user_agent` ← `userAgent`;
//! `actor.{user, session, invoked_by, idp.name}` ← `userIdentity` (see [`actor`]); `status_id`
//! success unless `errorCode` (ConsoleLogin: `responseElements.ConsoleLogin`).
//!
//! 3002 also: `user` ← `requestParameters.{roleArn, roleSessionName}` for the assume-role calls,
//! else the identity; `dst_endpoint.svc_name` ← `additionalEventData.LoginTo`; `is_mfa` ←
//! `additionalEventData.MFAUsed`; `service.name` ← `eventSource`. 3001 also: `user` ← the user or
//! role changed. 6003 also: `resources[].{uid, type, owner.account.uid}` ← `resources[].{ARN,
//! type, accountId}`. `actor` on 3001/3002 belongs to OCSF's `host` profile, which is then listed.

use vrl::value::{ObjectMap, Value};
use weir_core::fields::Fields;
use weir_core::path_record::PathRecordBuilder;

use super::classify::{classify, AuthenticationActivity, EventKind};
use crate::normalize::fields::{
    copy_to, get, get_str, get_time, has_under, move_str, move_to, put, put_some, take, take_str,
    text,
};
use crate::normalize::ocsf::{
    add_profile, set_class, set_status, OcsfClass, Profile, ACTIVITY_OTHER,
};
use crate::{set_address, set_time};

/// See the [module docs](self).
pub(crate) fn map(native: &mut Fields, out: &mut PathRecordBuilder) {
    let name = get_str(native, "eventName").unwrap_or_default().to_owned();
    let insight = get_str(native, "eventType") == Some("AwsCloudTrailInsight");
    let kind = classify(
        &name,
        get_str(native, "eventSource"),
        get_str(native, "requestParameters.status"),
    );
    let (class, activity) = match kind {
        _ if insight => (OcsfClass::BaseEvent, ACTIVITY_OTHER),
        EventKind::Authentication(activity) => (OcsfClass::Authentication, activity.id()),
        EventKind::AccountChange(activity) => (OcsfClass::AccountChange, activity),
        EventKind::Api(verb) => (OcsfClass::ApiActivity, verb.id()),
    };
    set_class(out, class, activity);
    common(native, out);
    if insight {
        return;
    }
    let failed = get(native, "errorCode").is_some()
        || get_str(native, "responseElements.ConsoleLogin") == Some("Failure");
    set_status(out, !failed);
    set_address_fields(native, out);
    move_str(native, "userAgent", out, "http_request.user_agent");
    match kind {
        EventKind::Authentication(activity) => {
            authentication(native, out, activity);
            actor(native, out);
            add_profile(out, Profile::Host);
        }
        EventKind::AccountChange(_) => {
            changed_user(native, out);
            actor(native, out);
            add_profile(out, Profile::Host);
        }
        EventKind::Api(_) => {
            actor(native, out);
            resources(native, out);
        }
    }
}

/// What every CloudTrail event has: times, metadata, `api`, `cloud`.
fn common(native: &mut Fields, out: &mut PathRecordBuilder) {
    if let Some(Value::Timestamp(t)) = get(native, "timestamp") {
        let t = *t;
        take(native, "timestamp");
        if get_time(native, "eventTime") == Some(t) {
            take(native, "eventTime");
        }
        set_time!(out, "time", t);
    }
    for (from, to) in [
        ("eventID", "metadata.uid"),
        ("eventVersion", "metadata.product.version"),
        ("eventType", "metadata.event_code"),
        ("eventCategory", "metadata.product.feature.name"),
        ("eventName", "api.operation"),
        ("eventSource", "api.service.name"),
        ("apiVersion", "api.version"),
        ("awsRegion", "cloud.region"),
        ("recipientAccountId", "cloud.account.uid"),
        ("errorCode", "api.response.error"),
        ("errorMessage", "api.response.message"),
    ] {
        move_str(native, from, out, to);
    }
    if get_str(native, "requestID").is_some() {
        move_str(native, "requestID", out, "api.request.uid");
        move_to(native, "requestParameters", out, "api.request.data");
    }
    move_to(native, "responseElements", out, "api.response.data");
}

/// `src_endpoint` from `sourceIPAddress` and `vpcEndpointId`.
fn set_address_fields(native: &mut Fields, out: &mut PathRecordBuilder) {
    if let Some(address) = take_str(native, "sourceIPAddress") {
        set_address!(out, "src_endpoint", address);
    }
    move_str(native, "vpcEndpointId", out, "src_endpoint.uid");
}

/// `actor` from `userIdentity`.
fn actor(native: &mut Fields, out: &mut PathRecordBuilder) {
    let identity_type = get_str(native, "userIdentity.type").map(str::to_owned);
    for (from, to) in [
        ("userIdentity.arn", "actor.user.uid"),
        ("userIdentity.principalId", "actor.user.uid_alt"),
        ("userIdentity.userName", "actor.user.name"),
        ("userIdentity.accountId", "actor.user.account.uid"),
        ("userIdentity.accessKeyId", "actor.user.credential_uid"),
        (
            "userIdentity.sessionContext.sessionIssuer.arn",
            "actor.session.issuer",
        ),
        ("userIdentity.invokedBy", "actor.invoked_by"),
        (
            "userIdentity.webIdFederationData.federatedProvider",
            "actor.idp.name",
        ),
    ] {
        move_str(native, from, out, to);
    }
    if has_under(out, "actor.user") {
        if let Some(kind) = identity_type {
            take(native, "userIdentity.type");
            put(
                out,
                "actor.user.type_id",
                Value::Integer(user_type_id(&kind)),
            );
            put(out, "actor.user.type", text(&kind));
        }
    }
    let mfa = "userIdentity.sessionContext.attributes.mfaAuthenticated";
    if let Some(is_mfa) = match get_str(native, mfa) {
        Some("true") => Some(true),
        Some("false") => Some(false),
        _ => None,
    } {
        take(native, mfa);
        put(out, "actor.session.is_mfa", Value::Boolean(is_mfa));
    }
    let created = "userIdentity.sessionContext.attributes.creationDate";
    if let Some(t) = get_time(native, created) {
        take(native, created);
        set_time!(out, "actor.session.created_time", t);
    }
}

/// OCSF `user.type_id` of a CloudTrail identity type.
fn user_type_id(identity_type: &str) -> i64 {
    match identity_type {
        "Root" => 2,
        "IAMUser" | "IdentityCenterUser" | "SAMLUser" | "WebIdentityUser" | "FederatedUser" => 1,
        "AWSService" => 3,
        "Unknown" => 0,
        _ => 99,
    }
}

/// Authentication 3002's own attributes.
fn authentication(
    native: &mut Fields,
    out: &mut PathRecordBuilder,
    activity: AuthenticationActivity,
) {
    // The event source (taken as `api.service.name` already) is the service signed in to.
    put_some(out, "service.name", get(out, "api.service.name").cloned());
    move_str(
        native,
        "additionalEventData.LoginTo",
        out,
        "dst_endpoint.svc_name",
    );
    match get_str(native, "additionalEventData.MFAUsed") {
        Some("Yes") => put(out, "is_mfa", Value::Boolean(true)),
        Some("No") => put(out, "is_mfa", Value::Boolean(false)),
        _ => {}
    }
    let role = get(out, "api.request.data.roleArn")
        .or_else(|| get(native, "requestParameters.roleArn"))
        .cloned();
    if activity == AuthenticationActivity::Ticket && role.is_some() {
        put_some(out, "user.uid", role);
        let session = get(out, "api.request.data.roleSessionName")
            .or_else(|| get(native, "requestParameters.roleSessionName"))
            .cloned();
        put_some(out, "user.name", session);
        return;
    }
    identity_as_user(native, out);
}

/// `user` (required by 3001 and 3002) as the calling identity, when the event names no other.
fn identity_as_user(native: &Fields, out: &mut PathRecordBuilder) {
    copy_to(native, "userIdentity.arn", out, "user.uid");
    copy_to(native, "userIdentity.userName", out, "user.name");
    copy_to(native, "userIdentity.accountId", out, "user.account.uid");
    if !has_under(out, "user") {
        copy_to(native, "userIdentity.principalId", out, "user.uid");
    }
}

/// Account Change 3001's `user`: the user or role changed.
fn changed_user(native: &mut Fields, out: &mut PathRecordBuilder) {
    let request = |out: &PathRecordBuilder, native: &Fields, key: &str| {
        get(out, &format!("api.request.data.{key}"))
            .or_else(|| get(native, &format!("requestParameters.{key}")))
            .cloned()
    };
    let response = |out: &PathRecordBuilder, path: &str| {
        get(out, &format!("api.response.data.{path}")).cloned()
    };
    let name = request(out, native, "userName")
        .or_else(|| request(out, native, "roleName"))
        .or_else(|| response(out, "user.userName"))
        .or_else(|| response(out, "role.roleName"));
    let uid = response(out, "user.arn").or_else(|| response(out, "role.arn"));
    if name.is_none() && uid.is_none() {
        identity_as_user(native, out);
        return;
    }
    put_some(out, "user.name", name);
    put_some(out, "user.uid", uid);
}

/// API Activity's `resources` from CloudTrail's `resources` (ARN, type, account).
fn resources(native: &mut Fields, out: &mut PathRecordBuilder) {
    let Some(Value::Array(items)) = get(native, "resources") else {
        return;
    };
    if !items.iter().all(|r| matches!(r, Value::Object(_))) {
        return;
    }
    let Some(Value::Array(items)) = take(native, "resources") else {
        return;
    };
    let mut mapped = Vec::with_capacity(items.len());
    let mut left = Vec::new();
    for item in items {
        let Value::Object(mut resource) = item else {
            continue;
        };
        let mut details = ObjectMap::new();
        move_str(&mut resource, "ARN", &mut details, "uid");
        move_str(&mut resource, "type", &mut details, "type");
        move_str(
            &mut resource,
            "accountId",
            &mut details,
            "owner.account.uid",
        );
        if !resource.is_empty() {
            left.push(Value::Object(resource));
        }
        mapped.push(Value::Object(details));
    }
    put(out, "resources", Value::Array(mapped));
    if !left.is_empty() {
        // Members OCSF has no place for, one object per resource that had them.
        native.insert("resources".into(), Value::Array(left));
    }
}
