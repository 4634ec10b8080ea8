//! ECS output: the base fields every event carries, the helpers format mappings share, and where
//! the native fields a mapping did not take are kept (`aws.<name>.*`, the format's
//! [`EcsMapping::native_path`]).
//!
//! Base fields, set before the format's mapping runs (so a mapping may refine them):
//! `@timestamp` (the record's `timestamp`; the time of normalizing when the record has none, as
//! ECS asks of pipelines), `ecs.version` ([`ECS_VERSION`]), `event.kind = "event"`,
//! `event.dataset` and `data_stream.{type = "logs", dataset, namespace = "default"}` (the
//! format's [`EcsMapping::dataset`]), and `cloud.provider = "aws"` after it.
//!
//! The record's own `cloud` object (the `aws_context` fields, already ECS-shaped) fills what the
//! mapping left empty in `cloud`, and its `aws` object (`log_type`, `service`, `resource`, …)
//! stays at `aws`; what differs from the mapping's values at the same place is kept at the
//! format's [`EcsMapping::native_path`] (equal values are the same information, already in
//! place).

use chrono::Utc;
use vrl::value::{ObjectMap, Value};
use weir_core::fields::Fields;
use weir_core::path_record::PathRecordBuilder;

use super::fields::{
    get, is_ip, keep_native, merge_object, object_mut, push_unique, put, put_some, static_text,
    str_of, take, Output,
};
use super::EcsMapping;

/// The ECS version whose field definitions (`ecs_flat.yml`) the output follows.
pub const ECS_VERSION: &str = "9.4.0";
/// `data_stream.type` of every event: these are logs.
pub const DATA_STREAM_TYPE: &str = "logs";
/// `data_stream.namespace`: Elastic's default, so streams are `logs-aws.<dataset>-default`.
pub const DATA_STREAM_NAMESPACE: &str = "default";
/// `cloud.provider`, as Elastic writes it.
pub const CLOUD_PROVIDER: &str = "aws";

/// Writes the native record in ECS into `out` (see the [module docs](self)).
pub fn normalize(mapping: &EcsMapping, mut native: Fields, out: &mut PathRecordBuilder) {
    let time = match take(&mut native, "timestamp") {
        Some(Value::Timestamp(t)) => t,
        Some(other) => {
            // Not a time: kept native; the event still needs its `@timestamp`.
            native.insert("timestamp".into(), other);
            Utc::now()
        }
        None => Utc::now(),
    };
    put(out, "@timestamp", Value::Timestamp(time));
    put(out, "ecs.version", static_text(ECS_VERSION));
    put(out, "event.kind", static_text("event"));
    put(out, "event.dataset", static_text(mapping.dataset));
    put(out, "data_stream.type", static_text(DATA_STREAM_TYPE));
    put(out, "data_stream.dataset", static_text(mapping.dataset));
    put(
        out,
        "data_stream.namespace",
        static_text(DATA_STREAM_NAMESPACE),
    );
    if let Some(map) = mapping.map {
        map(&mut native, out);
    }
    finish(mapping, native, out);
}

/// Sets `cloud.provider` and keeps the native fields left over.
fn finish(mapping: &EcsMapping, mut native: Fields, out: &mut PathRecordBuilder) {
    if get(out, "cloud.provider").is_none() {
        put(out, "cloud.provider", static_text(CLOUD_PROVIDER));
    }
    let mut conflicts = ObjectMap::new();
    for name in ["cloud", crate::formats::AWS] {
        match native.remove(name) {
            Some(Value::Object(from)) => {
                let left = merge_object(out, name, from);
                if !left.is_empty() {
                    conflicts.insert(name.into(), Value::Object(left));
                }
            }
            Some(other) => {
                conflicts.insert(name.into(), other);
            }
            None => {}
        }
    }
    for (name, value) in conflicts {
        native.insert(name, value);
    }
    keep_native(out, mapping.native_path, native);
}

/// An array of keywords (`event.category`, `event.type`).
pub fn keywords(words: &[&'static str]) -> Value {
    Value::Array(words.iter().map(|w| static_text(w)).collect())
}

/// Adds an address to `related.ip` if it is an IP address.
pub fn related_ip(out: &mut impl Output, value: Option<&Value>) {
    if let Some(v) = value.filter(|v| str_of(v).is_some_and(is_ip)) {
        push_unique(out, "related.ip", v.clone());
    }
}

/// Adds a name to `related.user`.
pub fn related_user(out: &mut impl Output, value: Option<&Value>) {
    if let Some(v) = value.filter(|v| str_of(v).is_some_and(|s| !s.is_empty())) {
        push_unique(out, "related.user", v.clone());
    }
}

/// The `network.transport` name of an IANA protocol number, for the protocols ECS names.
pub fn transport_of(protocol: i64) -> Option<&'static str> {
    Some(match protocol {
        1 => "icmp",
        2 => "igmp",
        6 => "tcp",
        17 => "udp",
        47 => "gre",
        50 => "esp",
        51 => "ah",
        58 => "ipv6-icmp",
        132 => "sctp",
        _ => return None,
    })
}

/// ECS's `tls.version` of a protocol name such as `TLSv1.2` (`"1.2"`), with its
/// `tls.version_protocol` (`"tls"`).
pub fn tls_version(protocol: &str) -> Option<(&str, &'static str)> {
    if let Some(v) = protocol.strip_prefix("TLSv") {
        return Some((v, "tls"));
    }
    if let Some(v) = protocol.strip_prefix("SSLv") {
        return Some((v, "ssl"));
    }
    None
}

/// Where an ECS endpoint keeps what the `geoip` transform found for its address.
#[derive(Clone, Copy, Debug)]
pub struct GeoPlaces {
    /// The `geo` object (`source.geo`).
    pub geo: &'static str,
    /// `as.number`.
    pub as_number: &'static str,
    /// `as.organization.name`.
    pub as_org: &'static str,
}

/// `source.geo`, `source.as.*`.
pub const SOURCE_GEO: GeoPlaces = GeoPlaces {
    geo: "source.geo",
    as_number: "source.as.number",
    as_org: "source.as.organization.name",
};

/// `destination.geo`, `destination.as.*`.
pub const DESTINATION_GEO: GeoPlaces = GeoPlaces {
    geo: "destination.geo",
    as_number: "destination.as.number",
    as_org: "destination.as.organization.name",
};

/// The members of the `geoip` transform's objects that are ECS `geo.*` fields (it names them
/// so).
const GEO_MEMBERS: [&str; 10] = [
    "city_name",
    "continent_code",
    "continent_name",
    "country_iso_code",
    "country_name",
    "location",
    "postal_code",
    "region_iso_code",
    "region_name",
    "timezone",
];

/// `client.geo`, `client.as.*`.
pub const CLIENT_GEO: GeoPlaces = GeoPlaces {
    geo: "client.geo",
    as_number: "client.as.number",
    as_org: "client.as.organization.name",
};

/// Moves the `geoip` transform's result for an address — the object at `from` (`<field>_geo`
/// beside the address field, its default target; a dotted path for a nested address such as
/// WAF's `httpRequest.clientIp_geo`) — into ECS's places: its `geo.*` members to `places.geo`,
/// `asn` and `as_org` to `as.number` and `as.organization.name`. Members ECS has no place for
/// (`private`, `isp`, `organization`, another database's fields), and members whose place the
/// record's own fields already filled (CloudFront's `c_country` and `asn`: AWS's own values
/// win), stay native at `from`.
pub fn geo(native: &mut Fields, from: &str, out: &mut impl Output, places: &GeoPlaces) {
    let Some(found) = object_mut(native, from) else {
        return;
    };
    // Something is under `geo` already (the record's own country): check each member's place.
    let filled = out.has_under(places.geo);
    let mut geo = ObjectMap::new();
    for name in GEO_MEMBERS {
        if filled && out.has_under(&format!("{}.{name}", places.geo)) {
            continue;
        }
        if let Some(value) = found.remove(name) {
            geo.insert(name.into(), value);
        }
    }
    let as_number =
        matches!(found.get("asn"), Some(Value::Integer(_))) && get(out, places.as_number).is_none();
    let as_number = as_number.then(|| found.remove("asn")).flatten();
    let as_org =
        found.get("as_org").and_then(str_of).is_some() && get(out, places.as_org).is_none();
    let as_org = as_org.then(|| found.remove("as_org")).flatten();
    if found.is_empty() {
        take(native, from);
    }
    if !geo.is_empty() {
        put(out, places.geo, Value::Object(geo));
    }
    put_some(out, places.as_number, as_number);
    put_some(out, places.as_org, as_org);
}

/// A DNS log's common ECS fields: `event.outcome` (success for NOERROR) from the response code
/// at `rcode`; `network.{type, protocol: dns}` and `related.ip` from the asking address at
/// `address`; `network.{transport, iana_number}` from the transport name at `transport` (taken);
/// `dns.question.name` from `query_name` without its trailing dot (the name as sent then stays
/// native, so `*.example.com` queries match, as Elastic writes it).
pub fn dns_common(
    native: &mut Fields,
    [rcode, address, transport]: [&str; 3],
    out: &mut impl Output,
) {
    if let Some(code) = super::fields::get_str(native, rcode) {
        let outcome = if code.eq_ignore_ascii_case("NOERROR") {
            "success"
        } else {
            "failure"
        };
        put(out, "event.outcome", static_text(outcome));
    }
    related_ip(out, get(native, address));
    if let Some(address) = super::fields::get_str(native, address) {
        let kind = if address.contains(':') {
            "ipv6"
        } else {
            "ipv4"
        };
        put(out, "network.type", static_text(kind));
    }
    put(out, "network.protocol", static_text("dns"));
    if let Some(name) = super::fields::get_str(native, transport).map(str::to_ascii_lowercase) {
        let number = match name.as_str() {
            "udp" => Some("17"),
            "tcp" => Some("6"),
            _ => None,
        };
        super::fields::take_str(native, transport);
        put(out, "network.transport", super::fields::text(&name));
        if let Some(number) = number {
            put(out, "network.iana_number", static_text(number));
        }
    }
    match super::fields::get_str(native, "query_name") {
        Some(name) if name.len() > 1 && name.ends_with('.') => {
            let bare = super::fields::text(&name[..name.len() - 1]);
            put(out, "dns.question.name", bare);
        }
        Some(_) => super::fields::move_str(native, "query_name", out, "dns.question.name"),
        None => {}
    }
}
