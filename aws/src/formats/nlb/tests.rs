use crate::formats::RecordParser;
use bytes::Bytes;
use proptest::prelude::*;
use vrl::value::ObjectMap;
use vrl::value::Value;

use super::*;
use crate::formats::delimited::test_support::{
    assert_sane, bytes_of, corpus_files, hammer, lines, parse_file, parse_one,
};

fn parse(line: &str) -> ObjectMap {
    NlbParser
        .parse_record(&Bytes::copy_from_slice(line.as_bytes()))
        .unwrap_or_else(|e| panic!("{e}: {line}"))
}

fn s<'a>(m: &'a ObjectMap, k: &str) -> &'a str {
    std::str::from_utf8(bytes_of(m.get(k).unwrap_or_else(|| panic!("no `{k}`")))).unwrap()
}

const ALPN: &str = r#"tls 2.0 2020-04-01T08:51:42 net/my-network-loadbalancer/c6e77e28c25b2234 g3d4b5e8bb8464cd 72.21.218.154:51341 172.100.100.185:443 5 2 98 246 - arn:aws:acm:us-east-2:671290407336:certificate/2a108f19-aded-46b0-8493-c63eb1ef4a99 - ECDHE-RSA-AES128-SHA tlsv12 - my-network-loadbalancer-c6e77e28c25b2234.elb.us-east-2.amazonaws.com h2 h2 "h2","http/1.1" 2020-04-01T08:51:20"#;

#[test]
fn corpus_all_records_parse() {
    let mut n = 0;
    for path in corpus_files("nlb", ".log") {
        for rec in parse_file(&mut NlbParser, &path) {
            assert!(matches!(rec.get("timestamp"), Some(Value::Timestamp(_))));
            assert_eq!(rec.get("type"), Some(&Value::from("tls")));
            n += 1;
        }
    }
    assert!(n >= 2);
}

#[test]
fn alpn_record() {
    let m = parse(ALPN);
    assert_eq!(s(&m, "version"), "2.0");
    assert_eq!(
        m.get("timestamp"),
        Some(&Value::Timestamp("2020-04-01T08:51:42Z".parse().unwrap()))
    );
    assert_eq!(s(&m, "listener"), "g3d4b5e8bb8464cd");
    assert_eq!(s(&m, "destination_ip"), "172.100.100.185");
    assert_eq!(m.get("destination_port"), Some(&Value::Integer(443)));
    assert_eq!(m.get("connection_time"), Some(&Value::Integer(5)));
    assert_eq!(m.get("tls_handshake_time"), Some(&Value::Integer(2)));
    assert!(!m.contains_key("incoming_tls_alert"));
    assert!(!m.contains_key("chosen_cert_serial"));
    assert_eq!(s(&m, "tls_protocol_version"), "tlsv12");
    assert_eq!(s(&m, "alpn_fe_protocol"), "h2");
    assert_eq!(
        m.get("alpn_client_preference_list"),
        Some(&Value::Array(vec![
            Value::from("h2"),
            Value::from("http/1.1")
        ]))
    );
    assert_eq!(
        m.get("tls_connection_creation_time"),
        Some(&Value::Timestamp("2020-04-01T08:51:20Z".parse().unwrap()))
    );
    // Single-element and unquoted lists.
    let m = parse(&ALPN.replace(r#""h2","http/1.1""#, r#""h2""#));
    assert_eq!(
        m.get("alpn_client_preference_list"),
        Some(&Value::Array(vec![Value::from("h2")]))
    );
    let m = parse(&ALPN.replace(r#""h2","http/1.1""#, "h2,http/1.1"));
    assert_eq!(
        m.get("alpn_client_preference_list"),
        Some(&Value::Array(vec![
            Value::from("h2"),
            Value::from("http/1.1")
        ]))
    );
    // Old (18-field) record, and extras.
    let cut = ALPN.find(" h2 h2").unwrap();
    let m = parse(&ALPN[..cut]);
    assert!(!m.contains_key("alpn_fe_protocol"));
    let m = parse(&format!("{ALPN} more"));
    assert_eq!(
        m.get("unparsed_trailing"),
        Some(&Value::Array(vec![Value::from("more")]))
    );
}

#[test]
fn errors() {
    let e = NlbParser
        .parse_record(&Bytes::from(ALPN.replace(" 5 2 98", " 5 2.5 98")))
        .unwrap_err();
    assert_eq!((e.format, e.field.as_str()), ("nlb", "tls_handshake_time"));
    let e = NlbParser
        .parse_record(&Bytes::from(
            ALPN.replace("2020-04-01T08:51:20", "2020-04-01"),
        ))
        .unwrap_err();
    assert_eq!(e.field, "tls_connection_creation_time");
    let e = NlbParser
        .parse_record(&Bytes::from_static(b"tls 2.0"))
        .unwrap_err();
    assert_eq!(e.field, "timestamp");
}

#[test]
fn no_panics_on_mutations_of_corpus() {
    let make = || -> Box<dyn RecordParser> { Box::new(NlbParser) };
    for path in corpus_files("nlb", ".log") {
        for line in lines(&path) {
            hammer(LOG_TYPE, &make, &line);
        }
    }
}

proptest! {
    #[test]
    fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        let r = parse_one(&mut NlbParser, &data);
        assert_sane(LOG_TYPE, &data, &r);
    }

    #[test]
    fn round_trip(
        secs in 0i64..4_000_000_000,
        created in 0i64..4_000_000_000,
        client_port in any::<u16>(),
        v6 in any::<bool>(),
        durations in (0i64..1_000_000_000, proptest::option::of(0i64..100_000)),
        sizes in (0i64..i64::MAX, 0i64..i64::MAX),
        sni in proptest::option::of("[a-z0-9.-]{2,40}"),
        alpn in proptest::collection::vec("[a-z0-9/.]{1,10}", 0..4),
        with_alpn in any::<bool>(),
    ) {
        let t = chrono::DateTime::from_timestamp(secs, 0).unwrap();
        let c = chrono::DateTime::from_timestamp(created, 0).unwrap();
        let client = if v6 { format!("[2001:db8::9]:{client_port}") } else { format!("10.0.0.9:{client_port}") };
        let list = if alpn.is_empty() { "-".to_owned() } else { alpn.iter().map(|a| format!("\"{a}\"")).collect::<Vec<_>>().join(",") };
        let mut line = format!(
            "tls 2.0 {} net/lb/1 listener {client} 10.0.0.1:443 {} {} {} {} - arn:cert - CIPHER tlsv13 x25519 {}",
            t.format("%Y-%m-%dT%H:%M:%S"), durations.0, durations.1.map_or("-".to_owned(), |d| d.to_string()),
            sizes.0, sizes.1, sni.clone().unwrap_or_else(|| "-".into()),
        );
        if with_alpn {
            line.push_str(&format!(" h2 - {list} {}", c.format("%Y-%m-%dT%H:%M:%S")));
        }
        let m = NlbParser.parse_record(&Bytes::from(line.clone())).map_err(|e| TestCaseError::fail(format!("{e}: {line}")))?;
        prop_assert_eq!(m.get("timestamp"), Some(&Value::Timestamp(t)));
        prop_assert_eq!(m.get("client_ip"), Some(&Value::from(if v6 { "2001:db8::9" } else { "10.0.0.9" })));
        prop_assert_eq!(m.get("client_port"), Some(&Value::Integer(i64::from(client_port))));
        prop_assert_eq!(m.get("connection_time"), Some(&Value::Integer(durations.0)));
        prop_assert_eq!(m.get("tls_handshake_time").cloned(), durations.1.map(Value::Integer));
        prop_assert_eq!(m.get("received_bytes"), Some(&Value::Integer(sizes.0)));
        prop_assert_eq!(m.get("domain_name").cloned(), sni.filter(|s| s != "-").map(|s| Value::from(s.as_str())));
        if with_alpn {
            let want = (!alpn.is_empty()).then(|| Value::Array(alpn.iter().map(|a| Value::from(a.as_str())).collect()));
            prop_assert_eq!(m.get("alpn_client_preference_list").cloned(), want);
            prop_assert_eq!(m.get("tls_connection_creation_time"), Some(&Value::Timestamp(c)));
        } else {
            prop_assert!(!m.contains_key("alpn_fe_protocol"));
        }
    }
}
