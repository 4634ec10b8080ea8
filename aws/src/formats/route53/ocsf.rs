//! Route 53 public DNS query logs in OCSF: DNS Activity 4003, `activity_id` 6 Traffic (a record
//! is a query Route 53 answered, with its response code), the class the Resolver logs get too.
//! Security Lake does not ingest these logs, so the mapping follows the Resolver one.
//!
//! `time` and `query_time` ← `timestamp`; `metadata.log_version` ← `version`;
//! `src_endpoint.ip` ← `resolver_ip` (the resolver that asked); `query.{hostname, type}` ←
//! `query_name`, `query_type`; `rcode` and `rcode_id` ← `response_code`;
//! `connection_info.{protocol_name, protocol_num}` ← `layer4_protocol` (`direction_id` 0
//! Unknown, as for Resolver logs); `metadata.product.feature.name` "Public DNS query logs".
//! `hosted_zone_id`, `edge_location` and `edns_client_subnet` stay in `unmapped`.

use vrl::value::Value;
use weir_core::fields::Fields;
use weir_core::path_record::PathRecordBuilder;

use crate::normalize::fields::{get, get_str, move_str, put, static_text, take};
use crate::normalize::ocsf::{
    dns_connection_info, dns_rcode_id, set_class, OcsfClass, DNS_TRAFFIC,
};
use crate::set_time;

/// See the [module docs](self).
pub(crate) fn map(native: &mut Fields, out: &mut PathRecordBuilder) {
    set_class(out, OcsfClass::DnsActivity, DNS_TRAFFIC);
    put(
        out,
        "metadata.product.feature.name",
        static_text("Public DNS query logs"),
    );
    if let Some(Value::Timestamp(t)) = get(native, "timestamp") {
        let t = *t;
        take(native, "timestamp");
        set_time!(out, "time", t);
        set_time!(out, "query_time", t);
    }
    move_str(native, "version", out, "metadata.log_version");
    move_str(native, "resolver_ip", out, "src_endpoint.ip");
    if get_str(native, "query_name").is_some() {
        move_str(native, "query_name", out, "query.hostname");
        move_str(native, "query_type", out, "query.type");
    }
    if let Some(id) = get_str(native, "response_code").map(dns_rcode_id) {
        put(out, "rcode_id", Value::Integer(id));
        move_str(native, "response_code", out, "rcode");
    }
    dns_connection_info(native, "layer4_protocol", out);
}
