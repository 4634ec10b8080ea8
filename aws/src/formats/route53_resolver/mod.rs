//! Amazon Route 53 Resolver query logs (VPC DNS queries): one JSON object per record, delivered to
//! CloudWatch Logs, S3 or Firehose.
//!
//! Keys are **kept as AWS writes them** (they are already snake_case, except the `answers` item
//! keys `Rdata`, `Type`, `Class`, which are kept too). Values keep their JSON types, except:
//! **ports are numbers**: AWS sends `srcport` (and `dstport` where present) as strings
//! (`"56067"`); they are converted to integers (a value that is not a decimal port is left as
//! sent). `version` stays a string (`"1.100000"`), `query_timestamp` stays the string AWS sent.
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `timestamp` | timestamp | `query_timestamp` parsed (RFC 3339) |
//! | `aws.log_type` | string | `route53_resolver` |
//! | `version` | string | log format version |
//! | `account_id` | string | account that owns the VPC |
//! | `region` | string | region of the VPC |
//! | `vpc_id` | string | VPC the query came from |
//! | `query_timestamp` | string | time of the query (RFC 3339, as sent) |
//! | `query_name` | string | queried name, with trailing dot |
//! | `query_type`, `query_class` | string | e.g. `A`, `IN` |
//! | `rcode` | string | response code (NOERROR, NXDOMAIN, ...) |
//! | `answers` | array | [{`Rdata`, `Type`, `Class`}], possibly empty |
//! | `srcaddr` | string | source IP of the query |
//! | `srcport` | integer | source port (sent as a string) |
//! | `transport` | string | UDP / TCP |
//! | `srcids` | object | {`instance` \| `resolver_endpoint` \| `resolver_network_interface`} |
//! | `firewall_rule_action`, `firewall_rule_group_id`, `firewall_domain_list_id` | string | DNS Firewall match, when present |
//!
//! Errors: not a JSON object, `query_timestamp` missing or not RFC 3339.

use bytes::Bytes;
use vrl::value::{KeyString, ObjectMap, Value};

use crate::formats::json_reader::value::{
    key_offset, parse_object, parse_rfc3339, value_as_i64, value_str,
};
use crate::formats::{set_log_type, ParseError, RecordParser};

/// `aws.log_type` of Resolver query logs.
pub const LOG_TYPE: &str = "route53_resolver";

/// Parser for Route 53 Resolver query logs; see the [module docs](self).
#[derive(Clone, Debug, Default)]
pub struct Route53ResolverParser;

impl RecordParser for Route53ResolverParser {
    fn log_type(&self) -> &'static str {
        LOG_TYPE
    }

    fn parse(&mut self, record: &Bytes, out: &mut Vec<ObjectMap>) -> Result<(), ParseError> {
        let mut map = parse_object(LOG_TYPE, record)?;
        let time = map
            .get("query_timestamp")
            .and_then(value_str)
            .and_then(parse_rfc3339)
            .ok_or_else(|| {
                ParseError::new(
                    LOG_TYPE,
                    "query_timestamp",
                    key_offset(record, "query_timestamp"),
                    "missing or invalid query_timestamp (RFC 3339)",
                )
            })?;
        for port in ["srcport", "dstport"] {
            if let Some(v) = map.get_mut(port) {
                if let Some(p) = value_as_i64(v).filter(|p| (0..=65535).contains(p)) {
                    *v = Value::Integer(p);
                }
            }
        }
        map.insert(KeyString::from("timestamp"), Value::Timestamp(time));
        set_log_type(&mut map, LOG_TYPE);
        out.push(map);
        Ok(())
    }
}

/// Registry content check: a top-level `query_name`.
pub fn detect_json(members: &crate::formats::detect::JsonMembers<'_>) -> bool {
    members.has("query_name")
}

mod ecs;
mod ocsf;

/// ECS `aws.route53_resolver_logs` and OCSF DNS Activity (see [`ecs`] and [`ocsf`]).
pub const MAPPINGS: crate::normalize::Mappings = crate::normalize::Mappings {
    ecs: crate::normalize::EcsMapping {
        dataset: "aws.route53_resolver_logs",
        native_path: "aws.route53_resolver",
        map: Some(ecs::map),
    },
    ocsf: crate::normalize::OcsfMapping {
        product: "Route 53",
        map: Some(ocsf::map),
        classes: "DNS Activity 4003",
    },
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::json_reader::test_support::*;

    #[test]
    fn every_corpus_record() {
        let files = input_files("route53-resolver-query-logs");
        assert_eq!(files.len(), 1);
        for path in files {
            let data = read(&path);
            let json = read_json(&path);
            let mut out = Vec::new();
            Route53ResolverParser.parse(&data, &mut out).unwrap();
            assert_eq!(out.len(), 1);
            let o = &out[0];
            assert_eq!(log_type(o), Some("route53_resolver"));
            assert_eq!(get_i64(o, "srcport"), Some(56067));
            assert_eq!(get_str(o, "version"), Some("1.100000"));
            assert_eq!(get_str(o, "srcids.instance"), Some("i-0d15cd0d3example"));
            assert_eq!(get_str(o, "firewall_rule_action"), Some("BLOCK"));
            assert_eq!(get_ts_ms(o, "timestamp"), Some(1_612_461_115_000));
            // Everything except the port conversion is the JSON unchanged.
            let mut rest = o.clone();
            rest.remove("timestamp");
            rest.remove("aws");
            rest.insert("srcport".into(), Value::from(Bytes::from_static(b"56067")));
            assert_eq!(to_json(&Value::Object(rest)), json);
            assert_bytes_strings(&Value::Object(o.clone()));
        }
    }

    /// Records without a DNS Firewall match, with empty answers or another kind of source are
    /// valid in both schemas too (the corpus has one record, with all of them).
    #[test]
    fn variants_are_valid_in_both_schemas() {
        use crate::normalize::validate::{ecs::EcsFields, ocsf::OcsfSchema};
        use crate::normalize::{fields, normalize, OutputSchema};
        let ocsf = OcsfSchema::load_shared().unwrap();
        let ecs = EcsFields::load_shared().unwrap();
        for rec in [
            r#"{"query_timestamp":"2021-02-04T17:51:55Z","query_name":"example.com.","query_type":"A","query_class":"IN","rcode":"NXDOMAIN","answers":[],"srcaddr":"2001:db8::1","srcport":"53","transport":"TCP","srcids":{"resolver_endpoint":"rslvr-in-1"}}"#,
            r#"{"query_timestamp":"2021-02-04T17:51:55Z","query_name":"a.example.","rcode":"SERVFAIL","answers":[{"Rdata":"b.example.","Type":"CNAME","Class":"IN"},{"Type":"A"}],"srcaddr":"10.0.0.1","firewall_rule_action":"ALERT"}"#,
        ] {
            let mut out = Vec::new();
            Route53ResolverParser
                .parse(&Bytes::from(rec), &mut out)
                .unwrap();
            let native = out.remove(0);
            let event = normalize(OutputSchema::Ocsf, native.clone());
            assert_eq!(ocsf.check(&event), vec![], "{event:?}");
            assert!(fields::get(&event, "rcode_id").is_some());
            let event = normalize(OutputSchema::Ecs, native);
            assert_eq!(ecs.check(&event), vec![], "{event:?}");
        }
    }

    #[test]
    fn ports_and_errors() {
        let mut out = Vec::new();
        let rec = br#"{"query_timestamp":"2021-02-04T17:51:55Z","srcport":"x","dstport":53}"#;
        Route53ResolverParser
            .parse(&Bytes::from_static(rec), &mut out)
            .unwrap();
        assert_eq!(get_str(&out[0], "srcport"), Some("x"));
        assert_eq!(get_i64(&out[0], "dstport"), Some(53));
        let e = parse_err(&mut Route53ResolverParser, br#"{"srcport":"1"}"#);
        assert_eq!(e.field, "query_timestamp");
        let e = parse_err(
            &mut Route53ResolverParser,
            br#"{"query_timestamp":"2021-13-04T17:51:55Z"}"#,
        );
        assert_eq!((e.field.as_str(), e.offset), ("query_timestamp", 1));
        for m in mutations(&read_corpus(
            "route53-resolver-query-logs/docs/resolver-query-log.json",
        )) {
            no_panic(&mut Route53ResolverParser, &m);
        }
    }
}
