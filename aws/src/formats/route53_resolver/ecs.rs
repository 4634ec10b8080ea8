//! Route 53 Resolver query logs in ECS, as Elastic's `aws.route53_resolver_logs` data stream
//! writes them: `dns.question.{name, type, class}` ← `query_name`, `query_type`, `query_class`
//! (the name without its trailing dot, as Elastic writes it, so `*.example.com` queries match;
//! the name as sent then stays native), `dns.response_code` ← `rcode`,
//! `dns.answers[].{data, type, class}` ← `answers[].{Rdata, Type, Class}` (as sent),
//! `dns.resolved_ip` (the answers that are addresses, copied); `source.{ip, address, port}` ←
//! `srcaddr`, `srcport`; `network.{protocol: dns, transport, iana_number, type}` ← `transport` and
//! the source address; `cloud.{account.id, region, instance.id}` ← `account_id`, `region`,
//! `srcids.instance`; `event.{category: [network], type: [protocol], outcome}` (success for
//! NOERROR); DNS Firewall matches: `rule.ruleset` ← `firewall_rule_group_id`, `event.action` ←
//! `firewall_rule_action`, and `event.type` also `allowed` (ALLOW, ALERT) or `denied` (BLOCK);
//! `related.ip`. Every other native field stays under `aws.route53_resolver.*` (`vpc_id`,
//! `version`, the other `srcids`, `firewall_domain_list_id`, …).
//!
//! A `geoip` transform's result (`srcaddr_geo`) lands in `source.{geo, as}`
//! ([`geo`](crate::normalize::ecs::geo)).

use vrl::value::Value;
use weir_core::fields::Fields;
use weir_core::path_record::PathRecordBuilder;

use crate::normalize::ecs::{dns_common, geo, keywords, related_ip, SOURCE_GEO};
use crate::normalize::fields::{
    copy_to, get, get_str, get_time, move_int, move_objects, move_str, put, take,
};

/// See the [module docs](self).
pub(crate) fn map(native: &mut Fields, out: &mut PathRecordBuilder) {
    if let Some(Value::Timestamp(t)) = get(out, "@timestamp") {
        if get_time(native, "query_timestamp") == Some(*t) {
            take(native, "query_timestamp");
        }
    }
    put(out, "event.category", keywords(&["network"]));
    let decision = match get_str(native, "firewall_rule_action") {
        Some("ALLOW" | "ALERT") => Some("allowed"),
        Some("BLOCK") => Some("denied"),
        _ => None,
    };
    match decision {
        Some(decision) => put(out, "event.type", keywords(&["protocol", decision])),
        None => put(out, "event.type", keywords(&["protocol"])),
    }
    move_str(native, "firewall_rule_action", out, "event.action");
    move_str(native, "firewall_rule_group_id", out, "rule.ruleset");
    move_str(native, "account_id", out, "cloud.account.id");
    move_str(native, "region", out, "cloud.region");
    move_str(native, "srcids.instance", out, "cloud.instance.id");

    dns_common(native, ["rcode", "srcaddr", "transport"], out);
    copy_to(native, "srcaddr", out, "source.address");
    move_str(native, "srcaddr", out, "source.ip");
    move_int(native, "srcport", out, "source.port");
    geo(native, "srcaddr_geo", out, &SOURCE_GEO);
    question(native, out);
    move_str(native, "rcode", out, "dns.response_code");
    answers(native, out);
}

/// `dns.question.{type, class}` (the name is [`dns_common`]'s).
fn question(native: &mut Fields, out: &mut PathRecordBuilder) {
    move_str(native, "query_type", out, "dns.question.type");
    move_str(native, "query_class", out, "dns.question.class");
}

/// `dns.answers` and `dns.resolved_ip` (the answers' addresses, also in `related.ip`).
fn answers(native: &mut Fields, out: &mut PathRecordBuilder) {
    let addresses: Vec<Value> = match get(native, "answers") {
        Some(Value::Array(answers)) => answers
            .iter()
            .filter_map(|a| match a {
                Value::Object(a) => get(a, "Rdata"),
                _ => None,
            })
            .filter(|v| {
                crate::normalize::fields::str_of(v).is_some_and(crate::normalize::fields::is_ip)
            })
            .cloned()
            .collect(),
        _ => Vec::new(),
    };
    for address in &addresses {
        related_ip(out, Some(address));
    }
    if !addresses.is_empty() {
        put(out, "dns.resolved_ip", Value::Array(addresses));
    }
    move_objects(
        native,
        "answers",
        out,
        "dns.answers",
        &[("Rdata", "data"), ("Type", "type"), ("Class", "class")],
        &[],
    );
}
