//! Route 53 public DNS query logs in ECS, as Elastic's `aws.route53_public_logs` data stream
//! writes them: `dns.question.{name, type}` ← `query_name`, `query_type` (a trailing dot
//! removed, as for Resolver logs; the name as sent then stays native), `dns.response_code` ←
//! `response_code`; `source.{ip, address}` ← `resolver_ip` (the resolver that asked Route 53);
//! `network.{protocol: dns, transport, iana_number, type}` ← `layer4_protocol` and the resolver's
//! address; `event.{category: [network], type: [protocol], outcome}` (success for NOERROR);
//! `related.ip`. Every other native field stays under `aws.route53.*` (`hosted_zone_id`,
//! `edge_location`, `edns_client_subnet`, `version`).
//!
//! A `geoip` transform's result (`resolver_ip_geo`) lands in `source.{geo, as}`
//! ([`geo`](crate::normalize::ecs::geo)).

use weir_core::fields::Fields;
use weir_core::path_record::PathRecordBuilder;

use crate::normalize::ecs::{dns_common, geo, keywords, SOURCE_GEO};
use crate::normalize::fields::{copy_to, move_str, put};

/// See the [module docs](self).
pub(crate) fn map(native: &mut Fields, out: &mut PathRecordBuilder) {
    put(out, "event.category", keywords(&["network"]));
    put(out, "event.type", keywords(&["protocol"]));
    dns_common(
        native,
        ["response_code", "resolver_ip", "layer4_protocol"],
        out,
    );
    copy_to(native, "resolver_ip", out, "source.address");
    move_str(native, "resolver_ip", out, "source.ip");
    geo(native, "resolver_ip_geo", out, &SOURCE_GEO);
    move_str(native, "query_type", out, "dns.question.type");
    move_str(native, "response_code", out, "dns.response_code");
}
