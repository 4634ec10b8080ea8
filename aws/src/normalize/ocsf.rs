//! OCSF 1.1.0 output: event classes and profiles as types, the fields every event carries, the
//! helpers format mappings share, and `unmapped` for what a mapping did not take.
//!
//! A format's mapping picks the class and activity with [`set_class`] (which also sets
//! `category_uid`, `type_uid` and the names, so they cannot disagree), and adds the profiles whose
//! attributes it uses with [`add_profile`]. After it, every event gets (unless the mapping set
//! them): `time` from the record's `timestamp` (the time of normalizing if it has none),
//! `severity_id` 1 Informational, `metadata.{version, product.{name, vendor_name}, profiles}`,
//! `cloud.provider = "AWS"` (with `account.uid` and `region` from the record's own `cloud`
//! object, the `aws_context` fields), and `unmapped` holding every native field left.
//!
//! Times are `timestamp_t` epoch milliseconds; [`set_time!`](crate::set_time) also writes the `*_dt` attribute of
//! the `datetime` profile as a `Value::Timestamp` (an RFC 3339 string when written), and the
//! `cloud` and `datetime` profiles are listed on every event.

use chrono::{DateTime, Utc};
use vrl::value::Value;
use weir_core::fields::Fields;
use weir_core::path_record::PathRecordBuilder;

use super::fields::{self, get, keep_native, push_unique, put, static_text, str_of, take, Output};
use super::OcsfMapping;

/// The OCSF version of every event (`metadata.version`).
pub const OCSF_VERSION: &str = "1.1.0";
/// `metadata.product.vendor_name` and `cloud.provider`.
pub const VENDOR: &str = "AWS";

/// The OCSF event classes Weir writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OcsfClass {
    /// 0: events of formats with no closer class.
    BaseEvent,
    /// 3001: changes to IAM users, roles, keys, policies.
    AccountChange,
    /// 3002: sign-ins and credential issuing.
    Authentication,
    /// 4001: network flows.
    NetworkActivity,
    /// 4002: HTTP requests.
    HttpActivity,
    /// 4003: DNS queries.
    DnsActivity,
    /// 6001: operations on web resources.
    WebResourcesActivity,
    /// 6002: an application or service starting and stopping.
    ApplicationLifecycle,
    /// 6003: API calls.
    ApiActivity,
    /// 6005: reads, writes and queries of a database.
    DatastoreActivity,
}

impl OcsfClass {
    /// `class_uid`.
    pub const fn uid(self) -> i64 {
        match self {
            Self::BaseEvent => 0,
            Self::AccountChange => 3001,
            Self::Authentication => 3002,
            Self::NetworkActivity => 4001,
            Self::HttpActivity => 4002,
            Self::DnsActivity => 4003,
            Self::WebResourcesActivity => 6001,
            Self::ApplicationLifecycle => 6002,
            Self::ApiActivity => 6003,
            Self::DatastoreActivity => 6005,
        }
    }

    /// `class_name` (the class caption).
    pub const fn caption(self) -> &'static str {
        match self {
            Self::BaseEvent => "Base Event",
            Self::AccountChange => "Account Change",
            Self::Authentication => "Authentication",
            Self::NetworkActivity => "Network Activity",
            Self::HttpActivity => "HTTP Activity",
            Self::DnsActivity => "DNS Activity",
            Self::WebResourcesActivity => "Web Resources Activity",
            Self::ApplicationLifecycle => "Application Lifecycle",
            Self::ApiActivity => "API Activity",
            Self::DatastoreActivity => "Datastore Activity",
        }
    }

    /// `category_uid`: the class uid's thousands.
    pub const fn category_uid(self) -> i64 {
        self.uid() / 1000
    }

    /// `category_name`.
    pub const fn category_caption(self) -> &'static str {
        match self.category_uid() {
            3 => "Identity & Access Management",
            4 => "Network Activity",
            6 => "Application Activity",
            _ => "Uncategorized",
        }
    }
}

/// OCSF profiles (sets of attributes a class may carry when the event lists the profile).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Profile {
    /// `cloud`, `api`: on every event.
    Cloud,
    /// `*_dt` times: on every event.
    Datetime,
    /// `action_id`, `disposition_id`, `firewall_rule`.
    SecurityControl,
    /// `actor`, `device` (on the IAM classes).
    Host,
}

impl Profile {
    /// The profile's name in `metadata.profiles`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Cloud => "cloud",
            Self::Datetime => "datetime",
            Self::SecurityControl => "security_control",
            Self::Host => "host",
        }
    }
}

/// Activity id 0: Unknown, in every class.
pub const ACTIVITY_UNKNOWN: i64 = 0;
/// Activity id 99: Other, in every class.
pub const ACTIVITY_OTHER: i64 = 99;
/// `status_id` 1 Success.
pub const STATUS_SUCCESS: i64 = 1;
/// `status_id` 2 Failure.
pub const STATUS_FAILURE: i64 = 2;

/// Sets the class, its activity and what follows from them (`category_uid`, `type_uid` =
/// class × 100 + activity, and the names).
pub fn set_class(out: &mut impl Output, class: OcsfClass, activity_id: i64) {
    put(out, "class_uid", Value::Integer(class.uid()));
    put(out, "class_name", static_text(class.caption()));
    put(out, "category_uid", Value::Integer(class.category_uid()));
    put(out, "category_name", static_text(class.category_caption()));
    put(out, "activity_id", Value::Integer(activity_id));
    put(
        out,
        "type_uid",
        Value::Integer(class.uid() * 100 + activity_id),
    );
}

/// Lists `profile` in `metadata.profiles`.
pub fn add_profile(out: &mut impl Output, profile: Profile) {
    push_unique(out, "metadata.profiles", static_text(profile.as_str()));
}

/// Sets a `timestamp_t` attribute (epoch milliseconds) at `path` and its `*_dt` sibling at
/// `dt_path` (see [`set_time!`](crate::set_time), which names both from one literal).
pub fn set_time_at(
    out: &mut impl Output,
    path: &'static str,
    dt_path: &'static str,
    time: DateTime<Utc>,
) {
    put(out, path, Value::Integer(time.timestamp_millis()));
    put(out, dt_path, Value::Timestamp(time));
}

/// `set_time!(out, "start_time", t)`: sets the `timestamp_t` attribute and its `_dt` sibling
/// (`start_time_dt`), both paths literals.
#[macro_export]
macro_rules! set_time {
    ($out:expr, $path:literal, $time:expr) => {
        $crate::normalize::ocsf::set_time_at($out, $path, concat!($path, "_dt"), $time)
    };
}

/// `severity_id` 1 Informational (what [`normalize`] sets unless the mapping set another).
pub const SEVERITY_INFORMATIONAL: i64 = 1;
/// `severity_id` 2 Low: the user decides if action is needed.
pub const SEVERITY_LOW: i64 = 2;
/// `severity_id` 3 Medium: action is required, the situation is not serious yet.
pub const SEVERITY_MEDIUM: i64 = 3;
/// `severity_id` 5 Critical: action is required now, and the scope is broad.
pub const SEVERITY_CRITICAL: i64 = 5;
/// `severity_id` 6 Fatal: an error occurred, too late to take remedial action.
pub const SEVERITY_FATAL: i64 = 6;

/// `severity_id` and its caption `severity`.
pub fn set_severity(out: &mut impl Output, id: i64) {
    let caption = match id {
        1 => "Informational",
        2 => "Low",
        3 => "Medium",
        4 => "High",
        5 => "Critical",
        6 => "Fatal",
        99 => "Other",
        _ => "Unknown",
    };
    put(out, "severity_id", Value::Integer(id));
    put(out, "severity", static_text(caption));
}

/// The `severity_id` of a log level as runtimes and databases write it (any case): `TRACE`,
/// `DEBUG`…`DEBUG5`, `INFO`, `NOTICE`, `LOG` (PostgreSQL), `Note`, `System` (MySQL) are
/// Informational; `WARN`/`WARNING` Low; `ERROR` Medium; `CRITICAL` Critical; `FATAL` and
/// `PANIC` Fatal (the process, or every session of a database, ended). `None` for a word that
/// is no level (PostgreSQL's `DETAIL`, `HINT`, `STATEMENT` … lines belong to the entry before
/// them, whose level they do not repeat).
pub fn severity_of_level(level: &str) -> Option<i64> {
    let level = level.to_ascii_uppercase();
    Some(match level.as_str() {
        "TRACE" | "DEBUG" | "INFO" | "INFORMATION" | "NOTICE" | "LOG" | "NOTE" | "SYSTEM" => {
            SEVERITY_INFORMATIONAL
        }
        l if l
            .strip_prefix("DEBUG")
            .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit())) =>
        {
            SEVERITY_INFORMATIONAL
        }
        "WARN" | "WARNING" => SEVERITY_LOW,
        "ERROR" => SEVERITY_MEDIUM,
        "CRITICAL" => SEVERITY_CRITICAL,
        "FATAL" | "PANIC" => SEVERITY_FATAL,
        _ => return None,
    })
}

/// `status_id` and `status` for success or failure.
pub fn set_status(out: &mut impl Output, success: bool) {
    let (id, name) = if success {
        (STATUS_SUCCESS, "Success")
    } else {
        (STATUS_FAILURE, "Failure")
    };
    put(out, "status_id", Value::Integer(id));
    put(out, "status", static_text(name));
}

/// Writes the native record in OCSF into `out` (see the [module docs](self)).
pub fn normalize(mapping: &OcsfMapping, mut native: Fields, out: &mut PathRecordBuilder) {
    if let Some(map) = mapping.map {
        map(&mut native, out);
    }
    finish(mapping, native, out);
}

/// The fields every event carries, and `unmapped`.
fn finish(mapping: &OcsfMapping, mut native: Fields, out: &mut PathRecordBuilder) {
    if get(out, "class_uid").is_none() {
        set_class(out, OcsfClass::BaseEvent, ACTIVITY_UNKNOWN);
    }
    if get(out, "time").is_none() {
        let time = match get(&native, "timestamp") {
            Some(Value::Timestamp(t)) => {
                let t = *t;
                take(&mut native, "timestamp");
                t
            }
            _ => Utc::now(),
        };
        crate::set_time!(out, "time", time);
    }
    if get(out, "severity_id").is_none() {
        set_severity(out, SEVERITY_INFORMATIONAL);
    }
    put(out, "metadata.version", static_text(OCSF_VERSION));
    put(out, "metadata.product.vendor_name", static_text(VENDOR));
    if get(out, "metadata.product.name").is_none() {
        put(out, "metadata.product.name", static_text(mapping.product));
    }
    add_profile(out, Profile::Cloud);
    add_profile(out, Profile::Datetime);
    cloud_from_context(&mut native, out);
    keep_native(out, "unmapped", native);
}

/// `cloud` from the record's `aws_context` fields (ECS-shaped: `cloud.account.id`,
/// `cloud.region`), filling what the mapping did not set; the rest of them stays native.
fn cloud_from_context(native: &mut Fields, out: &mut PathRecordBuilder) {
    put(out, "cloud.provider", static_text(VENDOR));
    if fields::get_str(native, "cloud.provider").is_some_and(|p| p.eq_ignore_ascii_case(VENDOR)) {
        take(native, "cloud.provider");
    }
    for (from, to) in [
        ("cloud.account.id", "cloud.account.uid"),
        ("cloud.region", "cloud.region"),
    ] {
        if get(out, to).is_none() {
            fields::move_str(native, from, out, to);
        } else if get(native, from) == get(out, to) {
            take(native, from);
        }
    }
}

/// An endpoint's `ip`, or `domain` and `svc_name` for a name that is not an address (an AWS
/// service calling another, as CloudTrail's `sourceIPAddress` may be): `svc_name` is what lets
/// such an endpoint meet OCSF's "at least one of ip, uid, name, hostname, svc_name, …". See
/// [`set_address!`](crate::set_address), which names the three paths from the endpoint's.
pub fn set_address_at(
    out: &mut impl Output,
    [ip, svc_name, domain]: [&'static str; 3],
    address: Value,
) {
    match str_of(&address) {
        Some(text) if fields::is_ip(text) => put(out, ip, address),
        _ => {
            put(out, svc_name, address.clone());
            put(out, domain, address);
        }
    }
}

/// `set_address!(out, "src_endpoint", address)`: [`set_address_at`] with the endpoint's `ip`,
/// `svc_name` and `domain` paths.
#[macro_export]
macro_rules! set_address {
    ($out:expr, $endpoint:literal, $address:expr) => {
        $crate::normalize::ocsf::set_address_at(
            $out,
            [
                concat!($endpoint, ".ip"),
                concat!($endpoint, ".svc_name"),
                concat!($endpoint, ".domain"),
            ],
            $address,
        )
    };
}

/// HTTP Activity's `activity_id` of a request method (99 Other for methods OCSF does not list,
/// such as PATCH; 0 Unknown without one).
pub fn http_activity_of(method: Option<&str>) -> i64 {
    match method {
        None => ACTIVITY_UNKNOWN,
        Some(m) => match m.to_ascii_uppercase().as_str() {
            "CONNECT" => 1,
            "DELETE" => 2,
            "GET" => 3,
            "HEAD" => 4,
            "OPTIONS" => 5,
            "POST" => 6,
            "PUT" => 7,
            "TRACE" => 8,
            _ => ACTIVITY_OTHER,
        },
    }
}

/// Whether `value` is an object whose members are all among `names` and all text: an item OCSF
/// can take whole into an object of those attributes (`{name, value}` as an `http_header`), with
/// nothing of it left behind.
pub fn holds_only_text(value: &Value, names: &[&str]) -> bool {
    match value {
        Value::Object(members) => members
            .iter()
            .all(|(name, v)| names.contains(&name.as_str()) && str_of(v).is_some()),
        _ => false,
    }
}

/// DNS Activity's `rcode_id` of a response code name (`NOERROR`, `NXDOMAIN`, …, any case; the
/// names of RFC 6895's table, as Route 53 logs them); 99 Other for a name OCSF does not list.
pub fn dns_rcode_id(rcode: &str) -> i64 {
    match rcode.to_ascii_uppercase().as_str() {
        "NOERROR" => 0,
        "FORMERR" => 1,
        "SERVFAIL" => 2,
        "NXDOMAIN" => 3,
        "NOTIMP" => 4,
        "REFUSED" => 5,
        "YXDOMAIN" => 6,
        "YXRRSET" => 7,
        "NXRRSET" => 8,
        "NOTAUTH" => 9,
        "NOTZONE" => 10,
        "DSOTYPENI" => 11,
        "BADSIG" | "BADVERS" => 16,
        "BADKEY" => 17,
        "BADTIME" => 18,
        "BADMODE" => 19,
        "BADNAME" => 20,
        "BADALG" => 21,
        "BADTRUNC" => 22,
        "BADCOOKIE" => 23,
        _ => ACTIVITY_OTHER,
    }
}

/// DNS Activity's `activity_id` 6 Traffic: a DNS log's record is a query and its response.
pub const DNS_TRAFFIC: i64 = 6;

/// `connection_info.{protocol_name, protocol_num}` from a DNS log's transport field `from`
/// (`UDP`, `TCP`; OCSF names protocols in lower case), taken, with `direction_id` 0 Unknown (the
/// logs do not say which side the DNS server is on).
pub fn dns_connection_info(native: &mut Fields, from: &str, out: &mut impl Output) {
    let Some(name) = fields::get_str(native, from).map(str::to_ascii_lowercase) else {
        return;
    };
    let number = match name.as_str() {
        "udp" => Some(17),
        "tcp" => Some(6),
        _ => None,
    };
    fields::take_str(native, from);
    put(out, "connection_info.protocol_name", fields::text(&name));
    if let Some(number) = number {
        put(out, "connection_info.protocol_num", Value::Integer(number));
    }
    put(out, "connection_info.direction_id", Value::Integer(0));
}
