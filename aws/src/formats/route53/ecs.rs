//! Route 53 public DNS query logs in ECS, as Elastic's `aws.route53_public_logs` data stream
//! writes them: `dns.question.{name, type}` ← `query_name`, `query_type` (a trailing dot
//! removed, as for Resolver logs; the name as sent then stays native), `dns.response_code` ←
//! `response_code`; `source.{ip, address}` ← `resolver_ip` (the resolver that asked Route 53);
//! `network.{protocol: dns, transport, iana_number, type}` ← `layer4_protocol` and the resolver's
//! address; `event.{category: [network], type: [protocol], outcome}` (success for NOERROR);
//! `related.ip`. Every other native field stays under `aws.route53.*` (`hosted_zone_id`,
//! `edge_location`, `edns_client_subnet`, `version`).

use weir_core::fields::Fields;
use weir_core::path_record::PathRecordBuilder;

use crate::normalize::ecs::{keywords, related_ip};
use crate::normalize::fields::{copy_to, get, get_str, move_str, put, static_text, take_str, text};

/// See the [module docs](self).
pub(crate) fn map(native: &mut Fields, out: &mut PathRecordBuilder) {
    put(out, "event.category", keywords(&["network"]));
    put(out, "event.type", keywords(&["protocol"]));
    if let Some(rcode) = get_str(native, "response_code") {
        let outcome = if rcode.eq_ignore_ascii_case("NOERROR") {
            "success"
        } else {
            "failure"
        };
        put(out, "event.outcome", static_text(outcome));
    }
    related_ip(out, get(native, "resolver_ip"));
    if let Some(address) = get_str(native, "resolver_ip") {
        let kind = if address.contains(':') {
            "ipv6"
        } else {
            "ipv4"
        };
        put(out, "network.type", static_text(kind));
    }
    copy_to(native, "resolver_ip", out, "source.address");
    move_str(native, "resolver_ip", out, "source.ip");
    put(out, "network.protocol", static_text("dns"));
    if let Some(transport) = get_str(native, "layer4_protocol").map(str::to_ascii_lowercase) {
        let number = match transport.as_str() {
            "udp" => Some("17"),
            "tcp" => Some("6"),
            _ => None,
        };
        take_str(native, "layer4_protocol");
        put(out, "network.transport", text(&transport));
        if let Some(number) = number {
            put(out, "network.iana_number", static_text(number));
        }
    }
    match get_str(native, "query_name") {
        Some(name) if name.len() > 1 && name.ends_with('.') => {
            let bare = text(&name[..name.len() - 1]);
            put(out, "dns.question.name", bare);
        }
        Some(_) => move_str(native, "query_name", out, "dns.question.name"),
        None => {}
    }
    move_str(native, "query_type", out, "dns.question.type");
    move_str(native, "response_code", out, "dns.response_code");
}
