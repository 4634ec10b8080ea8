//! S3 server access logs in OCSF: API Activity 6003, the class Security Lake gives S3's data
//! events in CloudTrail (the same requests, by the same request ids), so one query finds a call
//! in either source. Web Resources Activity 6001 would fit the objects too, but not the bucket
//! configuration calls (`REST.GET.VERSIONING`) or S3's own lifecycle operations.
//!
//! `activity_id` from the operation (`REST.<METHOD>.<RESOURCE>`, `S3.<ACTION>.<RESOURCE>`): GET and
//! HEAD 2 Read; PUT, POST and COPY 1 Create for objects and uploads, else 3 Update; DELETE 4
//! Delete; S3's `CREATE…` 1, `TRANSITION…`/`RESTORE…` 3, `EXPIRE…`/`DELETE…` 4; else 99 Other.
//! `api.{operation, request.uid, response.code, response.error}` ← `operation`, `request_id`,
//! `http_status`, `error_code`, and `api.service.name` `s3.amazonaws.com`; `status_id` failure
//! with an error code or a status of 400 or more; `actor.user.uid` ← `requester` (an IAM ARN or a
//! canonical user id; an ARN's account copied as `account.uid`); `src_endpoint.ip` ← `remote_ip`;
//! `dst_endpoint.hostname` ← `host_header`; `http_request.{http_method, version, user_agent,
//! referrer}` ← `request_method`, `request_protocol`, `user_agent`, `referer`;
//! `http_request.url.{url_string, path, query_string}` ← `request_url` (as logged) and its parts;
//! `duration` ← `total_time` (milliseconds); `resources[]`: the bucket (`AWS::S3::Bucket`,
//! `name` ← `bucket`, `owner.uid` ← `bucket_owner`), the object (`AWS::S3::Object`, `name` ←
//! `key`, `version` ← `version_id`) and the access point (`AWS::S3::AccessPoint`, `uid` ←
//! `access_point_arn`), typed as CloudTrail types them.
//!
//! `actor` and `src_endpoint` are required: an unauthenticated request (requester `-`) has
//! `actor.user.name` `anonymous`; an operation S3 performs itself (`S3.*`, no requester) has
//! `actor.invoked_by` `s3.amazonaws.com`, and without a remote address the source is
//! `src_endpoint.svc_name` `s3.amazonaws.com`. The class has no `tls` or `traffic`: the TLS
//! version and cipher, bytes sent, object size, turn-around time, signature and authentication
//! types, `host_id`, `acl_required` and the raw request line stay in `unmapped`.

use weir_core::fields::Fields;
use weir_core::path_record::PathRecordBuilder;

use super::failed;
use crate::normalize::fields::{
    get_str, move_int, move_str, push_object, put, static_text, take_str, text,
};
use crate::normalize::ocsf::{set_class, set_status, OcsfClass, ACTIVITY_OTHER};
use crate::normalize::url;

/// `api.service.name`, as CloudTrail names S3.
const S3_SERVICE: &str = "s3.amazonaws.com";

/// See the [module docs](self).
pub(crate) fn map(native: &mut Fields, out: &mut PathRecordBuilder) {
    let activity = get_str(native, "operation").map_or(0, activity_of);
    set_class(out, OcsfClass::ApiActivity, activity);
    put(
        out,
        "metadata.product.feature.name",
        static_text("Server Access Logging"),
    );
    if let Some(failed) = failed(native) {
        set_status(out, !failed);
    }
    put(out, "api.service.name", static_text(S3_SERVICE));
    move_str(native, "operation", out, "api.operation");
    move_str(native, "request_id", out, "api.request.uid");
    move_int(native, "http_status", out, "api.response.code");
    move_str(native, "error_code", out, "api.response.error");
    actor(native, out);
    if get_str(native, "remote_ip").is_some() {
        move_str(native, "remote_ip", out, "src_endpoint.ip");
    } else {
        put(out, "src_endpoint.svc_name", static_text(S3_SERVICE));
    }
    move_str(native, "host_header", out, "dst_endpoint.hostname");
    request(native, out);
    move_int(native, "total_time", out, "duration");
    resources(native, out);
}

/// API Activity's `activity_id` of an S3 operation name.
fn activity_of(operation: &str) -> i64 {
    let mut parts = operation.splitn(3, '.');
    let (kind, action, resource) = (parts.next(), parts.next(), parts.next());
    let Some(action) = action else {
        return ACTIVITY_OTHER;
    };
    if kind == Some("S3") {
        return match action {
            a if a.starts_with("CREATE") => 1,
            a if a.starts_with("TRANSITION") || a.starts_with("RESTORE") => 3,
            a if a.starts_with("EXPIRE") || a.starts_with("DELETE") => 4,
            _ => ACTIVITY_OTHER,
        };
    }
    match action {
        "GET" | "HEAD" => 2,
        "PUT" | "POST" | "COPY" => match resource {
            Some("OBJECT" | "PART" | "UPLOAD" | "UPLOADS" | "OBJECT_PART") => 1,
            _ => 3,
        },
        "DELETE" => 4,
        _ => ACTIVITY_OTHER,
    }
}

/// `actor`: the requester, anonymous, or S3 itself.
fn actor(native: &mut Fields, out: &mut PathRecordBuilder) {
    if let Some(requester) = get_str(native, "requester") {
        let account = requester
            .strip_prefix("arn:")
            .and_then(|arn| arn.split(':').nth(3))
            .filter(|a| !a.is_empty())
            .map(text);
        if let Some(account) = account {
            put(out, "actor.user.account.uid", account);
        }
        move_str(native, "requester", out, "actor.user.uid");
    } else if get_str(out, "api.operation").is_some_and(|o| o.starts_with("S3.")) {
        put(out, "actor.invoked_by", static_text(S3_SERVICE));
    } else {
        put(out, "actor.user.name", static_text("anonymous"));
    }
}

/// `http_request`: method, version, headers S3 logs and the URL.
fn request(native: &mut Fields, out: &mut PathRecordBuilder) {
    move_str(native, "request_method", out, "http_request.http_method");
    move_str(native, "request_protocol", out, "http_request.version");
    move_str(native, "user_agent", out, "http_request.user_agent");
    move_str(native, "referer", out, "http_request.referrer");
    // The URL logged is a path and query.
    url::put_parts(
        native,
        "request_url",
        out,
        &url::UrlPlaces {
            scheme: None,
            host: None,
            port: None,
            ..url::OCSF_URL
        },
    );
    move_str(native, "request_url", out, "http_request.url.url_string");
}

/// `resources`: the bucket, the object and the access point of the request.
fn resources(native: &mut Fields, out: &mut PathRecordBuilder) {
    if get_str(native, "bucket").is_some() {
        push_object(
            out,
            "resources",
            [
                ("type", Some(static_text("AWS::S3::Bucket"))),
                ("name", take_str(native, "bucket")),
                ("owner.uid", take_str(native, "bucket_owner")),
            ],
        );
    }
    if get_str(native, "key").is_some() {
        push_object(
            out,
            "resources",
            [
                ("type", Some(static_text("AWS::S3::Object"))),
                ("name", take_str(native, "key")),
                ("version", take_str(native, "version_id")),
            ],
        );
    }
    if get_str(native, "access_point_arn").is_some() {
        push_object(
            out,
            "resources",
            [
                ("type", Some(static_text("AWS::S3::AccessPoint"))),
                ("uid", take_str(native, "access_point_arn")),
            ],
        );
    }
}
