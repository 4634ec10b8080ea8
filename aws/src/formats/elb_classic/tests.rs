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
    ElbClassicParser
        .parse_record(&Bytes::copy_from_slice(line.as_bytes()))
        .unwrap_or_else(|e| panic!("{e}: {line}"))
}

fn s<'a>(m: &'a ObjectMap, k: &str) -> &'a str {
    std::str::from_utf8(bytes_of(m.get(k).unwrap_or_else(|| panic!("no `{k}`")))).unwrap()
}

#[test]
fn corpus_all_records_parse() {
    let mut n = 0;
    for path in corpus_files("elb-classic", ".log") {
        for rec in parse_file(&mut ElbClassicParser, &path) {
            assert!(matches!(rec.get("timestamp"), Some(Value::Timestamp(_))));
            assert!(rec.contains_key("client_ip"));
            n += 1;
        }
    }
    assert!(n >= 4, "only {n} records");
}

#[test]
fn doc_records() {
    let m = parse(
        r#"2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.000073 0.001048 0.000057 200 200 0 29 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.38.0" - -"#,
    );
    assert_eq!(s(&m, "elb"), "my-loadbalancer");
    assert_eq!(s(&m, "backend_ip"), "10.0.0.1");
    assert_eq!(m.get("backend_port"), Some(&Value::Integer(80)));
    assert_eq!(m.get("backend_status_code"), Some(&Value::Integer(200)));
    assert_eq!(m.get("sent_bytes"), Some(&Value::Integer(29)));
    assert_eq!(s(&m, "request_method"), "GET");
    assert_eq!(s(&m, "request_url"), "http://www.example.com:80/");
    assert_eq!(s(&m, "user_agent"), "curl/7.38.0");
    assert!(!m.contains_key("ssl_cipher"));
    assert!(!m.contains_key("ssl_protocol"));

    // TCP listener: "- - - " request, "-" user agent and status codes.
    let m = parse(
        r#"2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.001069 0.000028 0.000041 - - 82 305 "- - - " "-" - -"#,
    );
    for k in [
        "elb_status_code",
        "backend_status_code",
        "request",
        "request_method",
        "request_url",
        "request_protocol",
        "user_agent",
    ] {
        assert!(!m.contains_key(k), "{k}");
    }
    assert_eq!(m.get("received_bytes"), Some(&Value::Integer(82)));

    // No backend, -1 processing times, 12-field (old) record, trailing extras.
    let m = parse(
        r#"2015-05-13T23:39:43.945958Z lb 1.2.3.4:1 - -1 -1 -1 504 0 0 0 "GET http://a/ HTTP/1.1""#,
    );
    assert!(!m.contains_key("backend_ip"));
    assert!(
        matches!(m.get("backend_processing_time"), Some(Value::Float(f)) if f.into_inner() == -1.0)
    );
    let m = parse(
        r#"2015-05-13T23:39:43.945958Z lb 1.2.3.4:1 - -1 -1 -1 504 0 0 0 "GET http://a/ HTTP/1.1" "ua" c p extra"#,
    );
    assert_eq!(
        m.get("unparsed_trailing"),
        Some(&Value::Array(vec![Value::from("extra")]))
    );
}

#[test]
fn errors() {
    let e = ElbClassicParser
        .parse_record(&Bytes::from_static(
            b"2015-05-13T23:39:43.945958Z lb 1.2.3.4:1 - x",
        ))
        .unwrap_err();
    assert_eq!(
        (e.format, e.field.as_str(), e.offset),
        ("elb_classic", "request_processing_time", 43)
    );
    let e = ElbClassicParser
        .parse_record(&Bytes::from_static(
            b"2015-05-13T23:39:43.945958Z lb 1.2.3.4:1 - 1 1 1 200 200 1 1",
        ))
        .unwrap_err();
    assert_eq!(e.field, "request");
    let e = ElbClassicParser
        .parse_record(&Bytes::from_static(b"yesterday lb"))
        .unwrap_err();
    assert_eq!((e.field.as_str(), e.offset), ("timestamp", 0));
}

#[test]
fn no_panics_on_mutations_of_corpus() {
    let make = || -> Box<dyn RecordParser> { Box::new(ElbClassicParser) };
    for path in corpus_files("elb-classic", ".log") {
        for line in lines(&path) {
            hammer(LOG_TYPE, &make, &line);
        }
    }
}

proptest! {
    #[test]
    fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        let r = parse_one(&mut ElbClassicParser, &data);
        assert_sane(LOG_TYPE, &data, &r);
    }

    #[test]
    fn round_trip(
        secs in 0i64..4_000_000_000,
        micros in 0u32..1_000_000,
        client in (any::<[u8; 4]>(), any::<u16>()),
        backend in proptest::option::of((any::<[u8; 4]>(), any::<u16>())),
        times in [-1_000_000i64..10_000_000, -1_000_000i64..10_000_000, -1_000_000i64..10_000_000],
        codes in (proptest::option::of(100i64..600), proptest::option::of(100i64..600)),
        sizes in (0i64..i64::MAX, 0i64..i64::MAX),
        url in "https?://[a-z.]{1,20}(:[0-9]{1,5})?/[!#-~]{0,30}",
        ua in proptest::option::of("[ -!#-~]{2,50}"),
        tls in proptest::option::of(("[A-Z0-9-]{5,30}", "TLSv1\\.[0-3]")),
    ) {
        let t = chrono::DateTime::from_timestamp(secs, micros * 1000).unwrap();
        let ep = |(ip, p): ([u8; 4], u16)| format!("{}.{}.{}.{}:{p}", ip[0], ip[1], ip[2], ip[3]);
        let dash = |o: Option<i64>| o.map_or("-".to_owned(), |v| v.to_string());
        let sec = |us: i64| format!("{:.6}", us as f64 / 1e6);
        let line = format!(
            r#"{} lb {} {} {} {} {} {} {} {} {} "GET {url} HTTP/1.1" "{}" {} {}"#,
            t.format("%Y-%m-%dT%H:%M:%S%.6fZ"), ep(client), backend.map_or("-".to_owned(), ep),
            sec(times[0]), sec(times[1]), sec(times[2]), dash(codes.0), dash(codes.1), sizes.0, sizes.1,
            ua.clone().unwrap_or_else(|| "-".into()),
            tls.as_ref().map_or("-", |t| t.0.as_str()), tls.as_ref().map_or("-", |t| t.1.as_str()),
        );
        let m = ElbClassicParser.parse_record(&Bytes::from(line.clone())).map_err(|e| TestCaseError::fail(format!("{e}: {line}")))?;
        prop_assert_eq!(m.get("timestamp"), Some(&Value::Timestamp(t)));
        prop_assert_eq!(m.get("client_port"), Some(&Value::Integer(i64::from(client.1))));
        prop_assert_eq!(m.get("backend_port").cloned(), backend.map(|b| Value::Integer(i64::from(b.1))));
        prop_assert_eq!(m.get("elb_status_code").cloned(), codes.0.map(Value::Integer));
        prop_assert_eq!(m.get("backend_status_code").cloned(), codes.1.map(Value::Integer));
        prop_assert_eq!(m.get("received_bytes"), Some(&Value::Integer(sizes.0)));
        prop_assert_eq!(m.get("sent_bytes"), Some(&Value::Integer(sizes.1)));
        for (k, us) in ["request_processing_time", "backend_processing_time", "response_processing_time"].iter().zip(times) {
            match m.get(*k) {
                Some(Value::Float(f)) => prop_assert!((f.into_inner() - us as f64 / 1e6).abs() < 1e-9),
                other => return Err(TestCaseError::fail(format!("{k}: {other:?}"))),
            }
        }
        prop_assert_eq!(m.get("request_url"), Some(&Value::from(url.as_str())));
        prop_assert_eq!(m.get("user_agent").cloned(), ua.map(|u| Value::from(u.as_str())));
        prop_assert_eq!(m.get("ssl_protocol").cloned(), tls.map(|t| Value::from(t.1.as_str())));
    }
}
