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
//! Times are `timestamp_t` epoch milliseconds; [`set_time`] also writes the `*_dt` attribute of
//! the `datetime` profile as a `Value::Timestamp` (an RFC 3339 string when written), and the
//! `cloud` and `datetime` profiles are listed on every event.

use chrono::{DateTime, Utc};
use vrl::value::{ObjectMap, Value};

use super::fields::{self, fill, get, object_at, push_unique, put, static_text, str_of, take};
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
    /// 6003: API calls.
    ApiActivity,
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
            Self::ApiActivity => 6003,
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
            Self::ApiActivity => "API Activity",
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
pub fn set_class(out: &mut ObjectMap, class: OcsfClass, activity_id: i64) {
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
pub fn add_profile(out: &mut ObjectMap, profile: Profile) {
    push_unique(out, "metadata.profiles", static_text(profile.as_str()));
}

/// Sets a `timestamp_t` attribute (epoch milliseconds) and its `*_dt` sibling.
pub fn set_time(out: &mut ObjectMap, path: &str, time: DateTime<Utc>) {
    put(out, path, Value::Integer(time.timestamp_millis()));
    put(out, &format!("{path}_dt"), Value::Timestamp(time));
}

/// `status_id` and `status` for success or failure.
pub fn set_status(out: &mut ObjectMap, success: bool) {
    let (id, name) = if success {
        (STATUS_SUCCESS, "Success")
    } else {
        (STATUS_FAILURE, "Failure")
    };
    put(out, "status_id", Value::Integer(id));
    put(out, "status", static_text(name));
}

/// The native record in OCSF (see the [module docs](self)).
pub fn normalize(mapping: &OcsfMapping, mut native: ObjectMap) -> ObjectMap {
    let mut out = ObjectMap::new();
    if let Some(map) = mapping.map {
        map(&mut native, &mut out);
    }
    finish(mapping, native, out)
}

/// The fields every event carries, and `unmapped`.
fn finish(mapping: &OcsfMapping, mut native: ObjectMap, mut out: ObjectMap) -> ObjectMap {
    if !out.contains_key("class_uid") {
        set_class(&mut out, OcsfClass::BaseEvent, ACTIVITY_UNKNOWN);
    }
    if !out.contains_key("time") {
        let time = match fields::get(&native, "timestamp") {
            Some(Value::Timestamp(t)) => {
                let t = *t;
                native.remove("timestamp");
                t
            }
            _ => Utc::now(),
        };
        set_time(&mut out, "time", time);
    }
    if !out.contains_key("severity_id") {
        put(&mut out, "severity_id", Value::Integer(1));
        put(&mut out, "severity", static_text("Informational"));
    }
    put(&mut out, "metadata.version", static_text(OCSF_VERSION));
    put(
        &mut out,
        "metadata.product.vendor_name",
        static_text(VENDOR),
    );
    if get(&out, "metadata.product.name").is_none() {
        put(
            &mut out,
            "metadata.product.name",
            static_text(mapping.product),
        );
    }
    add_profile(&mut out, Profile::Cloud);
    add_profile(&mut out, Profile::Datetime);
    cloud_from_context(&mut native, &mut out);
    if !native.is_empty() {
        let left = fill(object_at(&mut out, "unmapped"), native);
        if !left.is_empty() {
            put(&mut out, "unmapped.native_conflicts", Value::Object(left));
        }
    }
    out
}

/// `cloud` from the record's `aws_context` fields (ECS-shaped: `cloud.account.id`,
/// `cloud.region`), filling what the mapping did not set; the rest of them stays native.
fn cloud_from_context(native: &mut ObjectMap, out: &mut ObjectMap) {
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
/// such an endpoint meet OCSF's "at least one of ip, uid, name, hostname, svc_name, …".
pub fn set_address(out: &mut ObjectMap, endpoint: &str, address: Value) {
    match str_of(&address) {
        Some(text) if fields::is_ip(text) => put(out, &format!("{endpoint}.ip"), address),
        _ => {
            put(out, &format!("{endpoint}.svc_name"), address.clone());
            put(out, &format!("{endpoint}.domain"), address);
        }
    }
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
