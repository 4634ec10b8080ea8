//! VPC Flow Logs in ECS, as Elastic's `aws.vpcflow` data stream writes them: `source.*` and
//! `destination.*` (with `geo` and `as` from a `geoip` transform's `srcaddr_geo`,
//! `dstaddr_geo`), `network.*`, `event.{category: network, type: connection, outcome, start,
//! end}`, `cloud.{account.id, region, availability_zone, instance.id}` and `related.ip`; every
//! other native field stays under `aws.vpcflow.*` (`action`, `log_status`, `interface_id`,
//! `pkt_*`, the ECS-task and Transit Gateway fields, …).

use chrono::DateTime;
use vrl::value::Value;
use weir_core::fields::Fields;
use weir_core::path_record::PathRecordBuilder;

use crate::normalize::ecs::{geo, keywords, related_ip, transport_of, DESTINATION_GEO, SOURCE_GEO};
use crate::normalize::fields::{
    copy_to, get, get_int, get_str, move_int, move_str, put, take, text,
};

/// See the [module docs](self).
pub(crate) fn map(native: &mut Fields, out: &mut PathRecordBuilder) {
    put(out, "event.category", keywords(&["network"]));
    put(out, "event.type", keywords(&["connection"]));
    let outcome = match get_str(native, "action") {
        Some("ACCEPT") => Some("success"),
        Some("REJECT") => Some("failure"),
        _ => None,
    };
    if let Some(outcome) = outcome {
        put(out, "event.outcome", text(outcome));
    }
    for (from, to) in [("start", "event.start"), ("end", "event.end")] {
        if let Some(t) = get_int(native, from).and_then(|s| DateTime::from_timestamp(s, 0)) {
            take(native, from);
            put(out, to, Value::Timestamp(t));
        }
    }
    for address in ["srcaddr", "dstaddr", "pkt_srcaddr", "pkt_dstaddr"] {
        related_ip(out, get(native, address));
    }
    let ipv6 = get_str(native, "srcaddr").is_some_and(|a| a.contains(':'));
    match get_str(native, "type") {
        Some(kind) => put(out, "network.type", text(&kind.to_ascii_lowercase())),
        None if get(native, "srcaddr").is_some() => put(
            out,
            "network.type",
            text(if ipv6 { "ipv6" } else { "ipv4" }),
        ),
        None => {}
    }
    endpoints(native, out);
    if let Some(protocol) = get_int(native, "protocol") {
        if let Some(transport) = transport_of(protocol) {
            put(out, "network.transport", text(transport));
        }
        take(native, "protocol");
        put(out, "network.iana_number", text(&protocol.to_string()));
    }
    move_str(native, "flow_direction", out, "network.direction");
    copy_to(native, "bytes", out, "source.bytes");
    copy_to(native, "packets", out, "source.packets");
    move_int(native, "bytes", out, "network.bytes");
    move_int(native, "packets", out, "network.packets");
    move_str(native, "account_id", out, "cloud.account.id");
    move_str(native, "region", out, "cloud.region");
    move_str(native, "az_id", out, "cloud.availability_zone");
    move_str(native, "instance_id", out, "cloud.instance.id");
}

/// `source.*` and `destination.*` from the interface-level addresses (and their `geo`/`as`
/// from a `geoip` transform's `srcaddr_geo`, `dstaddr_geo`).
fn endpoints(native: &mut Fields, out: &mut PathRecordBuilder) {
    for (address, port, [to_address, to_ip, to_port]) in [
        (
            "srcaddr",
            "srcport",
            ["source.address", "source.ip", "source.port"],
        ),
        (
            "dstaddr",
            "dstport",
            ["destination.address", "destination.ip", "destination.port"],
        ),
    ] {
        copy_to(native, address, out, to_address);
        move_str(native, address, out, to_ip);
        move_int(native, port, out, to_port);
    }
    geo(native, "srcaddr_geo", out, &SOURCE_GEO);
    geo(native, "dstaddr_geo", out, &DESTINATION_GEO);
}
