//! Amazon S3 server access logs (`aws.log_type` = `s3_access`).
//!
//! One space-delimited record per line, 26 fields in AWS's documented order; the time is
//! bracketed and contains a space (`[06/Feb/2019:00:00:38 +0000]`); Request-URI, Referer and
//! User-Agent are quoted. Older records stop after field 18 (Version Id) or 24 (TLS version): a
//! record needs at least those 18; extra trailing fields are kept under `unparsed_trailing`.
//! `-` and `"-"` leave a field out. The Key is URL-decoded (`%XX`, and `+` as a space).
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `bucket_owner` | string | canonical user id of the bucket owner |
//! | `bucket` | string | bucket name |
//! | `timestamp` | timestamp | AWS `time`: when the request was received |
//! | `remote_ip` | string | requester's address |
//! | `requester` | string | canonical user id or IAM ARN of the requester (absent if unauthenticated) |
//! | `request_id` | string | request id |
//! | `operation` | string | operation (`REST.GET.OBJECT`, `S3.TRANSITION_SIA.OBJECT`, …) |
//! | `key` | string | object key, URL-decoded |
//! | `request_uri` | string | AWS `request_uri`: the raw HTTP request line |
//! | `request_method` | string | method part of `request_uri` |
//! | `request_url` | string | path-and-query part of `request_uri` (as logged, still encoded) |
//! | `request_protocol` | string | protocol part of `request_uri` |
//! | `http_status` | integer | response status code |
//! | `error_code` | string | S3 error code (`NoSuchKey`, …) |
//! | `bytes_sent` | integer | response bytes sent, excluding protocol overhead |
//! | `object_size` | integer | total size of the object |
//! | `total_time` | integer | milliseconds the request was in flight, server side |
//! | `turn_around_time` | integer | milliseconds S3 spent processing the request |
//! | `referer` | string | HTTP Referer |
//! | `user_agent` | string | HTTP User-Agent |
//! | `version_id` | string | version id in the request |
//! | `host_id` | string | `x-amz-id-2` request id |
//! | `signature_version` | string | `SigV2` / `SigV4` |
//! | `cipher_suite` | string | TLS cipher (HTTPS) |
//! | `authentication_type` | string | `AuthHeader` / `QueryString` |
//! | `host_header` | string | endpoint used to connect |
//! | `tls_version` | string | TLS version (`TLSv1.2`) |
//! | `access_point_arn` | string | ARN of the access point of the request |
//! | `acl_required` | string | `Yes` when an ACL was required to authorize the request |
//! | `unparsed_trailing` | array of strings | fields past the known ones, verbatim |
//! | `aws.log_type` | string | `s3_access` |

use super::delimited::{spec, FieldSpec, Kind};

/// Registry stream check: a name ending `YYYY-MM-DD-HH-MM-SS-<16 hex>` (optional `.gz`).
pub fn is_object_name(name: &str) -> bool {
    let name = name.strip_suffix(".gz").unwrap_or(name);
    let Some(start) = name.len().checked_sub(36) else {
        return false;
    };
    let Some(tail) = name.get(start..) else {
        return false;
    };
    crate::formats::detect::shape(tail.get(..19).unwrap_or(""), "dddd-dd-dd-dd-dd-dd")
        && tail.get(19..20) == Some("-")
        && tail
            .get(20..)
            .is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Registry content check: `<64 hex owner> <bucket> [<time>`.
pub fn detect_text(head: &[u8]) -> bool {
    let [first, _, third] = crate::formats::detect::first_tokens(head);
    first.len() == 64 && first.iter().all(u8::is_ascii_hexdigit) && third.first() == Some(&b'[')
}

mod ecs;
mod ocsf;
#[cfg(test)]
mod tests;

/// ECS `aws.s3access` and OCSF API Activity (see [`ecs`] and [`ocsf`]).
pub const MAPPINGS: crate::normalize::Mappings = crate::normalize::Mappings {
    ecs: crate::normalize::EcsMapping {
        dataset: "aws.s3access",
        native_path: "aws.s3access",
        map: Some(ecs::map),
    },
    ocsf: crate::normalize::OcsfMapping {
        product: "Amazon S3",
        map: Some(ocsf::map),
        classes: "API Activity 6003",
    },
};

/// Whether the request failed: an S3 error code, or a status of 400 or more.
fn failed(native: &impl crate::normalize::fields::Lookup) -> Option<bool> {
    use crate::normalize::fields::{get, get_int};
    let status = get_int(native, "http_status");
    if status.is_none() && get(native, "error_code").is_none() {
        return None;
    }
    Some(get(native, "error_code").is_some() || status.is_some_and(|s| s >= 400))
}

/// The TLS version of `TLSv1.2` / `TLSV1.2` (S3 writes both cases): `1.2`.
fn tls_number(native: &impl crate::normalize::fields::Lookup) -> Option<&str> {
    let version = crate::normalize::fields::get_str(native, "tls_version")?;
    let prefix = version.get(..4)?;
    prefix
        .eq_ignore_ascii_case("TLSv")
        .then(|| &version[4..])
        .filter(|v| !v.is_empty())
}

/// The `aws.log_type` of S3 server access logs.
pub const LOG_TYPE: &str = "s3_access";

/// Fields required in every record (up to Version Id, the oldest layout).
const MANDATORY: usize = 18;

/// The fields in wire order (the time counts as one field).
pub(crate) const FIELDS: &[FieldSpec] = &[
    spec("bucket_owner", Kind::Str),
    spec("bucket", Kind::Str),
    spec("timestamp", Kind::BracketTime),
    spec("remote_ip", Kind::Str),
    spec("requester", Kind::Str),
    spec("request_id", Kind::Str),
    spec("operation", Kind::Str),
    spec("key", Kind::UrlDecoded),
    spec(
        "request_uri",
        Kind::Request {
            method: "request_method",
            url: "request_url",
            protocol: "request_protocol",
        },
    ),
    spec("http_status", Kind::Int),
    spec("error_code", Kind::Str),
    spec("bytes_sent", Kind::Int),
    spec("object_size", Kind::Int),
    spec("total_time", Kind::Int),
    spec("turn_around_time", Kind::Int),
    spec("referer", Kind::Str),
    spec("user_agent", Kind::Str),
    spec("version_id", Kind::Str),
    spec("host_id", Kind::Str),
    spec("signature_version", Kind::Str),
    spec("cipher_suite", Kind::Str),
    spec("authentication_type", Kind::Str),
    spec("host_header", Kind::Str),
    spec("tls_version", Kind::Str),
    spec("access_point_arn", Kind::Str),
    spec("acl_required", Kind::Str),
];

crate::formats::delimited::spaced_parser! {
    /// Parser for S3 server access log records (stateless).
    S3AccessParser
}
