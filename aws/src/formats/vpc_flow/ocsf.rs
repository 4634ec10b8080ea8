//! VPC Flow Logs in OCSF: Network Activity 4001, as Security Lake maps them.
//!
//! ACCEPT → `activity_id` 6 Traffic, `action_id` 1 Allowed, `disposition_id` 1 Allowed; REJECT →
//! 5 Refuse, 2 Denied, 2 Blocked. `time`/`start_time`/`end_time` ← `start`/`end`;
//! `src_endpoint.{ip, port}` ← `srcaddr`/`srcport` — when `pkt_srcaddr` differs it is the
//! endpoint and `srcaddr` (the interface's address) goes to `intermediate_ips`; the same for the
//! destination. The interface, VPC, subnet and instance ids go on the endpoint that owns the
//! interface: the destination for ingress flows, the source for egress flows and when the record
//! has no `flow_direction`. `connection_info.{protocol_num, tcp_flags, protocol_ver(_id),
//! direction(_id), boundary_id}` ← `protocol`, `tcp_flags`, `type`, `flow_direction`,
//! `traffic_path` (path n is boundary n + 3: Same VPC … Internet Gateway);
//! `traffic.{packets, bytes}`; `cloud.{account.uid, region, zone}` ← `account_id`, `region`,
//! `az_id`; `{src,dst}_endpoint.svc_name` ← `pkt_{src,dst}_aws_service`; `status_code` ←
//! `log_status`.
//!
//! Records with no addresses (NODATA, SKIPDATA: no traffic in the window, or records skipped)
//! describe the logging, not a flow: Network Activity requires both endpoints, so they are Base
//! Events (class 0) with their times, `status_code` and `cloud`, the rest in `unmapped`.

use chrono::DateTime;
use vrl::value::Value;
use weir_core::fields::Fields;
use weir_core::path_record::PathRecordBuilder;

use crate::normalize::fields::{get, get_int, get_str, move_int, move_str, put, static_text, take};
use crate::normalize::ocsf::{add_profile, set_class, OcsfClass, Profile, ACTIVITY_UNKNOWN};
use crate::set_time;

/// See the [module docs](self).
pub(crate) fn map(native: &mut Fields, out: &mut PathRecordBuilder) {
    put(
        out,
        "metadata.product.feature.name",
        static_text("Flowlogs"),
    );
    times(native, out);
    move_str(native, "log_status", out, "status_code");
    move_str(native, "account_id", out, "cloud.account.uid");
    move_str(native, "region", out, "cloud.region");
    move_str(native, "az_id", out, "cloud.zone");
    let has_addresses = ["srcaddr", "dstaddr", "pkt_srcaddr", "pkt_dstaddr"]
        .iter()
        .any(|a| get(native, a).is_some());
    if !has_addresses {
        set_class(out, OcsfClass::BaseEvent, ACTIVITY_UNKNOWN);
        return;
    }
    let (activity, action, disposition) = match get_str(native, "action") {
        Some("ACCEPT") => (6, (1, "Allowed"), (1, "Allowed")),
        Some("REJECT") => (5, (2, "Denied"), (2, "Blocked")),
        _ => (ACTIVITY_UNKNOWN, (0, "Unknown"), (0, "Unknown")),
    };
    set_class(out, OcsfClass::NetworkActivity, activity);
    add_profile(out, Profile::SecurityControl);
    put(out, "action_id", Value::Integer(action.0));
    put(out, "action", static_text(action.1));
    put(out, "disposition_id", Value::Integer(disposition.0));
    put(out, "disposition", static_text(disposition.1));
    endpoints(native, out);
    connection_info(native, out);
    move_int(native, "packets", out, "traffic.packets");
    move_int(native, "bytes", out, "traffic.bytes");
}

/// `time` ← the record's `timestamp` (its `start`), `start_time`/`end_time` ← `start`/`end`.
fn times(native: &mut Fields, out: &mut PathRecordBuilder) {
    if let Some(Value::Timestamp(t)) = get(native, "timestamp") {
        let t = *t;
        take(native, "timestamp");
        set_time!(out, "time", t);
    }
    let seconds =
        |native: &Fields, from| get_int(native, from).and_then(|s| DateTime::from_timestamp(s, 0));
    if let Some(t) = seconds(native, "start") {
        take(native, "start");
        set_time!(out, "start_time", t);
    }
    if let Some(t) = seconds(native, "end") {
        take(native, "end");
        set_time!(out, "end_time", t);
    }
}

/// The native fields and OCSF paths of one side of a flow.
struct Side {
    address: &'static str,
    packet_address: &'static str,
    port: &'static str,
    service: &'static str,
    ip: &'static str,
    intermediate_ips: &'static str,
    to_port: &'static str,
    svc_name: &'static str,
}

/// `src_endpoint`'s and `dst_endpoint`'s sides.
const SIDES: [Side; 2] = [
    Side {
        address: "srcaddr",
        packet_address: "pkt_srcaddr",
        port: "srcport",
        service: "pkt_src_aws_service",
        ip: "src_endpoint.ip",
        intermediate_ips: "src_endpoint.intermediate_ips",
        to_port: "src_endpoint.port",
        svc_name: "src_endpoint.svc_name",
    },
    Side {
        address: "dstaddr",
        packet_address: "pkt_dstaddr",
        port: "dstport",
        service: "pkt_dst_aws_service",
        ip: "dst_endpoint.ip",
        intermediate_ips: "dst_endpoint.intermediate_ips",
        to_port: "dst_endpoint.port",
        svc_name: "dst_endpoint.svc_name",
    },
];

/// The two endpoints, with the interface's ids on the one that owns it.
fn endpoints(native: &mut Fields, out: &mut PathRecordBuilder) {
    for side in &SIDES {
        let differs = match (get(native, side.address), get(native, side.packet_address)) {
            (Some(a), Some(p)) => a != p,
            _ => false,
        };
        if differs {
            move_str(native, side.packet_address, out, side.ip);
            if let Some(interface_address) = take(native, side.address) {
                put(
                    out,
                    side.intermediate_ips,
                    Value::Array(vec![interface_address]),
                );
            }
        } else {
            move_str(native, side.address, out, side.ip);
            // The same address twice: the second is the first's copy.
            if get(out, side.ip).is_some() {
                take(native, side.packet_address);
            } else {
                move_str(native, side.packet_address, out, side.ip);
            }
        }
        move_int(native, side.port, out, side.to_port);
        move_str(native, side.service, out, side.svc_name);
    }
    let ingress = get_str(native, "flow_direction") == Some("ingress");
    let owner = if ingress {
        [
            "dst_endpoint.interface_uid",
            "dst_endpoint.vpc_uid",
            "dst_endpoint.subnet_uid",
            "dst_endpoint.instance_uid",
        ]
    } else {
        [
            "src_endpoint.interface_uid",
            "src_endpoint.vpc_uid",
            "src_endpoint.subnet_uid",
            "src_endpoint.instance_uid",
        ]
    };
    for (from, to) in ["interface_id", "vpc_id", "subnet_id", "instance_id"]
        .into_iter()
        .zip(owner)
    {
        move_str(native, from, out, to);
    }
}

/// `connection_info`: protocol, flags, IP version, direction (required: 0 Unknown without
/// `flow_direction`) and boundary.
fn connection_info(native: &mut Fields, out: &mut PathRecordBuilder) {
    move_int(native, "protocol", out, "connection_info.protocol_num");
    move_int(native, "tcp_flags", out, "connection_info.tcp_flags");
    let version_id = match get_str(native, "type") {
        Some("IPv4") => Some(4),
        Some("IPv6") => Some(6),
        Some(_) => Some(99),
        None => None,
    };
    if let Some(id) = version_id {
        put(out, "connection_info.protocol_ver_id", Value::Integer(id));
        move_str(native, "type", out, "connection_info.protocol_ver");
    }
    let direction_id = match get_str(native, "flow_direction") {
        Some("ingress") => 1,
        Some("egress") => 2,
        _ => 0,
    };
    put(
        out,
        "connection_info.direction_id",
        Value::Integer(direction_id),
    );
    move_str(native, "flow_direction", out, "connection_info.direction");
    if let Some(path) = get_int(native, "traffic_path").filter(|p| (1..=8).contains(p)) {
        put(out, "connection_info.boundary_id", Value::Integer(path + 3));
    }
}
