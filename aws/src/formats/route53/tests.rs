use crate::formats::RecordParser;
use bytes::Bytes;
use proptest::prelude::*;
use vrl::value::ObjectMap;
use vrl::value::Value;

use super::*;
use crate::formats::delimited::test_support::{
    assert_sane, bytes_of, corpus_files, hammer, lines, parse_file, parse_one,
};

fn s<'a>(m: &'a ObjectMap, k: &str) -> &'a str {
    std::str::from_utf8(bytes_of(m.get(k).unwrap_or_else(|| panic!("no `{k}`")))).unwrap()
}

#[test]
fn corpus_all_records_parse() {
    let path = crate::formats::delimited::test_support::corpus_dir()
        .join("route53-query-logs/docs/query-log.log");
    let recs = parse_file(&mut Route53QueryParser, &path);
    assert_eq!(recs.len(), 3);
    let m = &recs[0];
    assert_eq!(s(m, "version"), "1.0");
    assert_eq!(
        m.get("timestamp"),
        Some(&Value::Timestamp(
            "2017-12-13T08:16:02.130Z".parse().unwrap()
        ))
    );
    assert_eq!(s(m, "hosted_zone_id"), "Z123412341234");
    assert_eq!(s(m, "query_name"), "example.com");
    assert_eq!(s(m, "query_type"), "A");
    assert_eq!(s(m, "response_code"), "NOERROR");
    assert_eq!(s(m, "layer4_protocol"), "UDP");
    assert_eq!(s(m, "edge_location"), "Region");
    assert_eq!(s(m, "resolver_ip"), "192.168.1.1");
    assert!(!m.contains_key("edns_client_subnet"));
    assert_eq!(s(&recs[1], "edns_client_subnet"), "192.168.222.0/24");
    assert_eq!(s(&recs[2], "resolver_ip"), "2001:db8::1234");
    assert_eq!(s(&recs[2], "edns_client_subnet"), "2001:db8:abcd::/48");
    let mut n = 0;
    for path in corpus_files("route53-query-logs", ".log") {
        n += parse_file(&mut Route53QueryParser, &path).len();
    }
    assert!(n >= 3);
}

#[test]
fn errors_and_extras() {
    let e = Route53QueryParser
        .parse_record(&Bytes::from_static(
            b"1.0 2017-12-13T08:16:02.130Z Z1 example.com A NOERROR UDP",
        ))
        .unwrap_err();
    assert_eq!(
        (e.format, e.field.as_str()),
        ("route53_query", "edge_location")
    );
    let e = Route53QueryParser
        .parse_record(&Bytes::from_static(
            b"1.0 2017-12-13 Z1 example.com A NOERROR UDP FRA6 1.2.3.4 -",
        ))
        .unwrap_err();
    assert_eq!((e.field.as_str(), e.offset), ("timestamp", 4));
    let m = Route53QueryParser
        .parse_record(&Bytes::from_static(
            b"1.0 2017-12-13T08:16:02.130Z Z1 example.com A NOERROR UDP FRA6 1.2.3.4 - x\n",
        ))
        .unwrap();
    assert_eq!(
        m.get("unparsed_trailing"),
        Some(&Value::Array(vec![Value::from("x")]))
    );
}

#[test]
fn no_panics_on_mutations_of_corpus() {
    let make = || -> Box<dyn RecordParser> { Box::new(Route53QueryParser) };
    for path in corpus_files("route53-query-logs", ".log") {
        for line in lines(&path) {
            hammer(LOG_TYPE, &make, &line);
        }
    }
}

proptest! {
    #[test]
    fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        let r = parse_one(&mut Route53QueryParser, &data);
        assert_sane(LOG_TYPE, &data, &r);
    }

    #[test]
    fn round_trip(
        millis in 0i64..4_000_000_000_000,
        name in "[a-z0-9-]{1,20}(\\.[a-z0-9-]{1,20}){0,3}",
        qtype in prop_oneof![Just("A"), Just("AAAA"), Just("ANY"), Just("MX"), Just("TXT")],
        rcode in prop_oneof![Just("NOERROR"), Just("NXDOMAIN"), Just("SERVFAIL")],
        proto in prop_oneof![Just("UDP"), Just("TCP")],
        resolver in prop_oneof![Just("192.0.2.1"), Just("2001:db8::1")],
        subnet in proptest::option::of(prop_oneof![Just("0.0.0.0/0"), Just("198.51.100.0/24"), Just("2001:db8::/32")]),
    ) {
        let t = chrono::DateTime::from_timestamp_millis(millis).unwrap();
        let line = format!(
            "1.0 {} Z0123456789 {name} {qtype} {rcode} {proto} FRA6 {resolver} {}",
            t.format("%Y-%m-%dT%H:%M:%S%.3fZ"), subnet.unwrap_or("-"),
        );
        let m = Route53QueryParser.parse_record(&Bytes::from(line.clone())).map_err(|e| TestCaseError::fail(format!("{e}: {line}")))?;
        prop_assert_eq!(m.get("timestamp"), Some(&Value::Timestamp(t)));
        let name_v = (name != "-").then(|| Value::from(name.as_str()));
        prop_assert_eq!(m.get("query_name").cloned(), name_v);
        prop_assert_eq!(m.get("query_type"), Some(&Value::from(qtype)));
        prop_assert_eq!(m.get("response_code"), Some(&Value::from(rcode)));
        prop_assert_eq!(m.get("layer4_protocol"), Some(&Value::from(proto)));
        prop_assert_eq!(m.get("resolver_ip"), Some(&Value::from(resolver)));
        prop_assert_eq!(m.get("edns_client_subnet").cloned(), subnet.map(Value::from));
    }
}
