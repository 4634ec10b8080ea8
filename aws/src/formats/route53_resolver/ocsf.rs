//! Route 53 Resolver query logs in OCSF: DNS Activity 4003, `activity_id` 6 Traffic (a record is
//! a query and its response), as Security Lake maps them.
//!
//! `time` and `query_time` ← `query_timestamp`; `metadata.log_version` ← `version`;
//! `cloud.{account.uid, region}` ← `account_id`, `region`; `src_endpoint.{ip, port, vpc_uid}` ←
//! `srcaddr`, `srcport`, `vpc_id`, and from `srcids` its `instance` (`instance_uid`),
//! `resolver_network_interface` (`interface_uid`) or `resolver_endpoint` (`uid`: the inbound
//! endpoint an on-premises query came through); `query.{hostname, type, class}` ← `query_name`,
//! `query_type`, `query_class` (the name keeps its trailing dot, as sent); `rcode` and `rcode_id` ←
//! `rcode`; `answers[].{rdata, type, class}` ← `answers[].{Rdata, Type, Class}` (when every
//! answer has its required `Rdata`); `connection_info.{protocol_name, protocol_num}` ←
//! `transport` (`direction_id` 0 Unknown: the log does not say which side the resolver is on);
//! DNS Firewall matches add the `security_control` profile: `firewall_rule.uid` ←
//! `firewall_rule_group_id`, `action`/`disposition` from `firewall_rule_action` (ALLOW →
//! Allowed/Allowed, BLOCK → Denied/Blocked, ALERT → Allowed/Alert). `firewall_domain_list_id`
//! stays in `unmapped`; the resolver itself is not named, so there is no `dst_endpoint`.

use vrl::value::Value;
use weir_core::fields::Fields;
use weir_core::path_record::PathRecordBuilder;

use crate::normalize::fields::{
    get, get_str, get_time, move_int, move_objects, move_str, put, static_text, take,
};
use crate::normalize::ocsf::{
    add_profile, dns_connection_info, dns_rcode_id, set_class, OcsfClass, Profile, DNS_TRAFFIC,
};
use crate::set_time;

/// See the [module docs](self).
pub(crate) fn map(native: &mut Fields, out: &mut PathRecordBuilder) {
    set_class(out, OcsfClass::DnsActivity, DNS_TRAFFIC);
    put(
        out,
        "metadata.product.feature.name",
        static_text("Resolver Query Logs"),
    );
    if let Some(Value::Timestamp(t)) = get(native, "timestamp") {
        let t = *t;
        take(native, "timestamp");
        if get_time(native, "query_timestamp") == Some(t) {
            take(native, "query_timestamp");
        }
        set_time!(out, "time", t);
        set_time!(out, "query_time", t);
    }
    move_str(native, "version", out, "metadata.log_version");
    move_str(native, "account_id", out, "cloud.account.uid");
    move_str(native, "region", out, "cloud.region");

    move_str(native, "srcaddr", out, "src_endpoint.ip");
    move_int(native, "srcport", out, "src_endpoint.port");
    move_str(native, "vpc_id", out, "src_endpoint.vpc_uid");
    move_str(native, "srcids.instance", out, "src_endpoint.instance_uid");
    move_str(
        native,
        "srcids.resolver_network_interface",
        out,
        "src_endpoint.interface_uid",
    );
    move_str(native, "srcids.resolver_endpoint", out, "src_endpoint.uid");

    if get_str(native, "query_name").is_some() {
        move_str(native, "query_name", out, "query.hostname");
        move_str(native, "query_type", out, "query.type");
        move_str(native, "query_class", out, "query.class");
    }
    if let Some(id) = get_str(native, "rcode").map(dns_rcode_id) {
        put(out, "rcode_id", Value::Integer(id));
        move_str(native, "rcode", out, "rcode");
    }
    move_objects(
        native,
        "answers",
        out,
        "answers",
        &[("Rdata", "rdata"), ("Type", "type"), ("Class", "class")],
        &["Rdata"],
    );
    dns_connection_info(native, "transport", out);
    firewall(native, out);
}

/// A DNS Firewall match: the rule group and its action (the `security_control` profile).
fn firewall(native: &mut Fields, out: &mut PathRecordBuilder) {
    let Some(rule_action) = get_str(native, "firewall_rule_action") else {
        return;
    };
    let (action, disposition) = match rule_action {
        "ALLOW" => ((1, "Allowed"), (1, "Allowed")),
        "BLOCK" => ((2, "Denied"), (2, "Blocked")),
        "ALERT" => ((1, "Allowed"), (19, "Alert")),
        _ => ((99, "Other"), (99, "Other")),
    };
    add_profile(out, Profile::SecurityControl);
    put(out, "action_id", Value::Integer(action.0));
    put(out, "action", static_text(action.1));
    put(out, "disposition_id", Value::Integer(disposition.0));
    put(out, "disposition", static_text(disposition.1));
    move_str(native, "firewall_rule_group_id", out, "firewall_rule.uid");
}
