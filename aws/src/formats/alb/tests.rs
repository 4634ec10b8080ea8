use crate::formats::RecordParser;
use bytes::Bytes;
use proptest::prelude::*;
use vrl::value::ObjectMap;
use vrl::value::Value;

use super::*;
use crate::formats::delimited::test_support::{
    bytes_of, compare, corpus_files, hammer, lines, parse_file, parse_one, Map,
};

/// VRL `parse_aws_alb_log` name → Weir name. Structural differences:
/// * `client_host` / `target_host` (`"addr:port"`) are split into `client_ip` + `client_port`
///   and `target_ip` + `target_port` (port an integer);
/// * `elb_status_code`, `target_status_code`, `matched_rule_priority` are strings in VRL and
///   integers here;
/// * `target_status_code_list` is a list of strings in VRL and of integers here;
/// * `target_port_list` / `target_status_code_list` are `[]` in VRL when absent; here the field
///   is left out;
/// * `timestamp`, `request_creation_time` are RFC 3339 strings in VRL and timestamps here
///   (compared as instants);
/// * `traceability_id` is AWS's `conn_trace_id`;
/// * VRL's `null` is an absent field here.
pub(crate) const VRL_NAME_MAP: &[(&str, Map)] = &[
    ("type", Map::Same("type")),
    ("timestamp", Map::Instant("timestamp")),
    ("elb", Map::Same("elb")),
    ("client_host", Map::HostPort("client_ip", "client_port")),
    ("target_host", Map::HostPort("target_ip", "target_port")),
    (
        "request_processing_time",
        Map::Same("request_processing_time"),
    ),
    (
        "target_processing_time",
        Map::Same("target_processing_time"),
    ),
    (
        "response_processing_time",
        Map::Same("response_processing_time"),
    ),
    ("elb_status_code", Map::IntFromString("elb_status_code")),
    (
        "target_status_code",
        Map::IntFromString("target_status_code"),
    ),
    ("received_bytes", Map::Same("received_bytes")),
    ("sent_bytes", Map::Same("sent_bytes")),
    ("request_method", Map::Same("request_method")),
    ("request_url", Map::Same("request_url")),
    ("request_protocol", Map::Same("request_protocol")),
    ("user_agent", Map::Same("user_agent")),
    ("ssl_cipher", Map::Same("ssl_cipher")),
    ("ssl_protocol", Map::Same("ssl_protocol")),
    ("target_group_arn", Map::Same("target_group_arn")),
    ("trace_id", Map::Same("trace_id")),
    ("domain_name", Map::Same("domain_name")),
    ("chosen_cert_arn", Map::Same("chosen_cert_arn")),
    (
        "matched_rule_priority",
        Map::IntFromString("matched_rule_priority"),
    ),
    (
        "request_creation_time",
        Map::Instant("request_creation_time"),
    ),
    ("actions_executed", Map::Same("actions_executed")),
    ("redirect_url", Map::Same("redirect_url")),
    ("error_reason", Map::Same("error_reason")),
    ("target_port_list", Map::List("target_port_list")),
    (
        "target_status_code_list",
        Map::IntListFromStrings("target_status_code_list"),
    ),
    ("classification", Map::Same("classification")),
    ("classification_reason", Map::Same("classification_reason")),
    ("traceability_id", Map::Same("conn_trace_id")),
];

fn parse(line: &str) -> ObjectMap {
    AlbParser
        .parse_record(&Bytes::copy_from_slice(line.as_bytes()))
        .unwrap_or_else(|e| panic!("{e}: {line}"))
}

fn s<'a>(m: &'a ObjectMap, k: &str) -> &'a str {
    std::str::from_utf8(bytes_of(m.get(k).unwrap_or_else(|| panic!("no `{k}`")))).unwrap()
}

#[test]
fn corpus_all_records_parse() {
    let mut n = 0;
    for path in corpus_files("alb", ".log") {
        for rec in parse_file(&mut AlbParser, &path) {
            assert!(rec.contains_key("timestamp"), "{}", path.display());
            assert!(rec.contains_key("elb_status_code"), "{}", path.display());
            assert_eq!(
                rec.get("aws")
                    .and_then(|a| a.as_object())
                    .and_then(|a| a.get("log_type")),
                Some(&Value::from("alb"))
            );
            n += 1;
        }
    }
    assert!(n >= 17, "only {n} ALB records");
}

#[test]
fn corpus_expected_match_vrl() {
    let mut files = 0;
    for exp_path in corpus_files("alb", ".expected.json") {
        let log = exp_path.to_string_lossy().replace(".expected.json", ".log");
        let recs = parse_file(&mut AlbParser, std::path::Path::new(&log));
        assert_eq!(recs.len(), 1);
        let expected: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&exp_path).unwrap()).unwrap();
        let compared = compare(&expected, &recs[0], VRL_NAME_MAP);
        assert_eq!(compared, expected.as_object().unwrap().len());
        files += 1;
    }
    assert!(files >= 8);
}

#[test]
fn doc_record_fields_and_types() {
    let line = std::fs::read_to_string(
        super::super::delimited::test_support::corpus_dir().join("alb/otel/alb-https-tid.log"),
    )
    .unwrap();
    let m = parse(line.trim_end());
    assert_eq!(s(&m, "type"), "https");
    assert_eq!(s(&m, "client_ip"), "192.168.131.39");
    assert_eq!(m.get("client_port"), Some(&Value::Integer(2817)));
    assert_eq!(m.get("target_port"), Some(&Value::Integer(80)));
    assert_eq!(m.get("elb_status_code"), Some(&Value::Integer(200)));
    assert!(
        matches!(m.get("request_processing_time"), Some(Value::Float(f)) if f.into_inner() == 0.086)
    );
    assert!(matches!(m.get("timestamp"), Some(Value::Timestamp(_))));
    assert!(matches!(
        m.get("request_creation_time"),
        Some(Value::Timestamp(_))
    ));
    assert_eq!(
        s(&m, "request"),
        "GET https://www.example.com:443/ HTTP/1.1"
    );
    assert_eq!(s(&m, "request_method"), "GET");
    assert_eq!(s(&m, "request_url"), "https://www.example.com:443/");
    assert_eq!(s(&m, "request_protocol"), "HTTP/1.1");
    assert_eq!(s(&m, "actions_executed"), "authenticate,forward");
    assert_eq!(
        m.get("target_port_list"),
        Some(&Value::Array(vec![Value::from("10.0.0.1:80")]))
    );
    assert_eq!(
        m.get("target_status_code_list"),
        Some(&Value::Array(vec![Value::Integer(200)]))
    );
    assert_eq!(s(&m, "conn_trace_id"), "TID_1234abcd5678ef90");
    assert!(!m.contains_key("classification"));
    assert!(!m.contains_key("redirect_url"));
    assert!(!m.contains_key("unparsed_trailing"));
}

const BASE: &str = r#"https 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.086 0.048 0.037 200 200 0 57 "GET https://www.example.com:443/ HTTP/1.1" "curl/7.46.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337281-1d84f3d73c47ec4e58577259" "www.example.com" "arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012" 1 2018-07-02T22:22:48.364000Z "authenticate,forward" "-" "-" "10.0.0.1:80 10.0.0.2:80" "502 200""#;

#[test]
fn field_counts_25_to_33_and_trailing() {
    // 27 fields (2019): lists with two targets.
    let m = parse(BASE);
    assert_eq!(
        m.get("target_port_list"),
        Some(&Value::Array(vec![
            Value::from("10.0.0.1:80"),
            Value::from("10.0.0.2:80")
        ]))
    );
    assert_eq!(
        m.get("target_status_code_list"),
        Some(&Value::Array(vec![
            Value::Integer(502),
            Value::Integer(200)
        ]))
    );
    // 25 fields (2018): stops at error_reason.
    let cut = BASE.find(r#" "10.0.0.1:80 10.0.0.2:80""#).unwrap();
    let m = parse(&BASE[..cut]);
    assert!(!m.contains_key("target_port_list"));
    assert!(m.contains_key("actions_executed"));
    // 29, 30, 33 fields and beyond.
    let l29 = format!(r#"{BASE} "AcceptableSecurity" "UndefinedContentLengthSemantics""#);
    let m = parse(&l29);
    assert_eq!(s(&m, "classification"), "AcceptableSecurity");
    assert_eq!(
        s(&m, "classification_reason"),
        "UndefinedContentLengthSemantics"
    );
    let l30 = format!("{l29} TID_abc");
    assert_eq!(s(&parse(&l30), "conn_trace_id"), "TID_abc");
    let l33 = format!(r#"{l30} "new.example.com" "/new/path?x=1" "Success""#);
    let m = parse(&l33);
    assert_eq!(s(&m, "transformed_host"), "new.example.com");
    assert_eq!(s(&m, "transformed_uri"), "/new/path?x=1");
    assert_eq!(s(&m, "request_transform_status"), "Success");
    assert!(!m.contains_key("unparsed_trailing"));
    let l35 = format!(r#"{l33} future "two words""#);
    let m = parse(&l35);
    assert_eq!(
        m.get("unparsed_trailing"),
        Some(&Value::Array(vec![
            Value::from("future"),
            Value::from("two words")
        ]))
    );
    // A broken quote in the trailing part is kept raw, never an error.
    let m = parse(&format!(r#"{l33} "open"#));
    assert_eq!(
        m.get("unparsed_trailing"),
        Some(&Value::Array(vec![Value::from("\"open")]))
    );
}

#[test]
fn ipv6_endpoints() {
    let line = BASE
        .replace("192.168.131.39:2817", "[2001:db8::1]:2817")
        .replace(" 10.0.0.1:80 0.086", " 2001:db8::2:8080 0.086");
    let m = parse(&line);
    assert_eq!(s(&m, "client_ip"), "2001:db8::1");
    assert_eq!(m.get("client_port"), Some(&Value::Integer(2817)));
    assert_eq!(s(&m, "target_ip"), "2001:db8::2");
    assert_eq!(m.get("target_port"), Some(&Value::Integer(8080)));
}

#[test]
fn malformed_request_and_dashes() {
    let line = BASE.replace(
        r#""GET https://www.example.com:443/ HTTP/1.1""#,
        r#""- http://host:80- -""#,
    );
    let m = parse(&line);
    assert_eq!(s(&m, "request_url"), "http://host:80-");
    assert!(!m.contains_key("request_method"));
    assert!(!m.contains_key("request_protocol"));
    let line = BASE.replace(
        " 10.0.0.1:80 0.086 0.048 0.037 200 200",
        " - -1 -1 -1 460 -",
    );
    let m = parse(&line);
    assert!(!m.contains_key("target_ip"));
    assert!(!m.contains_key("target_status_code"));
    assert!(
        matches!(m.get("target_processing_time"), Some(Value::Float(f)) if f.into_inner() == -1.0)
    );
}

#[test]
fn errors_name_field_and_offset() {
    let bad = BASE.replace(" 200 200 0 57", " 2x0 200 0 57");
    let e = AlbParser
        .parse_record(&Bytes::from(bad.clone()))
        .unwrap_err();
    assert_eq!((e.format, e.field.as_str()), ("alb", "elb_status_code"));
    assert_eq!(e.offset, bad.find(" 2x0").unwrap() + 1);
    let bad = BASE.replace("2018-07-02T22:23:00.186641Z", "2018-07-02X22:23:00Z");
    let e = AlbParser.parse_record(&Bytes::from(bad)).unwrap_err();
    assert_eq!(e.field, "timestamp");
    let bad = BASE.replace("192.168.131.39:2817", "192.168.131.39:port");
    let e = AlbParser.parse_record(&Bytes::from(bad)).unwrap_err();
    assert_eq!(e.field, "client_port");
    // Too few fields for the mandatory prefix.
    let e = AlbParser
        .parse_record(&Bytes::from_static(
            b"http 2018-07-02T22:23:00.186641Z app/x",
        ))
        .unwrap_err();
    assert_eq!(e.field, "client_port");
    assert!(e.message.contains("at least 18"), "{e}");
    let e = AlbParser.parse_record(&Bytes::new()).unwrap_err();
    assert_eq!(e.field, "type");
    // Unterminated quote inside the known fields.
    let cut = BASE.find("curl").unwrap();
    let e = AlbParser
        .parse_record(&Bytes::copy_from_slice(&BASE.as_bytes()[..cut + 3]))
        .unwrap_err();
    assert_eq!(e.field, "user_agent");
}

#[test]
fn invalid_utf8_and_huge_fields() {
    let mut line = BASE.as_bytes().to_vec();
    let at = BASE.find("curl").unwrap();
    line.splice(at..at, [0xff, 0xfe, 0xc3]);
    let m = AlbParser.parse_record(&Bytes::from(line)).unwrap();
    assert_eq!(
        bytes_of(m.get("user_agent").unwrap()),
        b"\xff\xfe\xc3curl/7.46.0"
    );
    let huge = "a".repeat(1 << 20);
    let line = BASE.replace("curl/7.46.0", &format!("{huge} {huge}"));
    let m = parse(&line);
    assert_eq!(bytes_of(m.get("user_agent").unwrap()).len(), (1 << 21) + 1);
    let e = AlbParser
        .parse_record(&Bytes::from(
            BASE.replace(" 0 57 ", &format!(" {} 57 ", "9".repeat(100_000))),
        ))
        .unwrap_err();
    assert_eq!(e.field, "received_bytes");
    assert!(e.message.len() < 200);
}

#[test]
fn no_panics_on_mutations_of_corpus() {
    let make = || -> Box<dyn RecordParser> { Box::new(AlbParser) };
    for path in corpus_files("alb", ".log") {
        for line in lines(&path) {
            hammer("alb", &make, &line);
        }
    }
}

proptest! {
    #[test]
    fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        let r = parse_one(&mut AlbParser, &data);
        crate::formats::delimited::test_support::assert_sane("alb", &data, &r);
    }

    #[test]
    fn garbage_tokens_never_panic(tokens in proptest::collection::vec(
        prop_oneof![Just("-".to_owned()), Just("\"".to_owned()), Just("\"-\"".to_owned()), "[ -~]{0,12}", "[0-9.:]{1,10}"], 0..40)) {
        let line = tokens.join(" ");
        let r = parse_one(&mut AlbParser, line.as_bytes());
        crate::formats::delimited::test_support::assert_sane("alb", line.as_bytes(), &r);
    }

    #[test]
    fn round_trip(
        ty in prop_oneof![Just("http"), Just("https"), Just("h2"), Just("grpcs"), Just("ws"), Just("wss")],
        secs in 0i64..4_000_000_000,
        micros in 0u32..1_000_000,
        client_v6 in any::<bool>(),
        client_port in 1u16..,
        target in proptest::option::of((any::<[u8; 4]>(), 1u16..)),
        times in [-1000i32..100_000, -1000i32..100_000, -1000i32..100_000],
        elb_status in 100i64..600,
        target_status in proptest::option::of(100i64..600),
        received in 0i64..i64::MAX,
        sent in 0i64..1_000_000_000,
        method in "[A-Z]{3,7}",
        path in "/[a-zA-Z0-9/._~%?=&-]{0,40}",
        user_agent in proptest::option::of("[ -!#-~]{1,60}"),
        priority in proptest::option::of(0i64..50_000),
        list in proptest::collection::vec((any::<[u8; 4]>(), 1u16.., proptest::option::of(100i64..600)), 0..4),
        conn in proptest::option::of("TID_[0-9a-f]{8,32}"),
        n_fields in prop_oneof![Just(25usize), Just(27), Just(29), Just(30), Just(33)],
    ) {
        let t = chrono::DateTime::from_timestamp(secs, micros * 1000).unwrap();
        let ts = t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
        let client_ip = if client_v6 { "2001:db8::7".to_owned() } else { "10.1.2.3".to_owned() };
        let client = if client_v6 { format!("[{client_ip}]:{client_port}") } else { format!("{client_ip}:{client_port}") };
        let target_s = target.map_or("-".to_owned(), |(ip, p)| format!("{}.{}.{}.{}:{p}", ip[0], ip[1], ip[2], ip[3]));
        let f = |ms: i32| format!("{:.3}", f64::from(ms) / 1000.0);
        let dash = |o: Option<String>| o.unwrap_or_else(|| "-".to_owned());
        let q = |o: Option<String>| format!("\"{}\"", dash(o));
        let ports: Vec<String> = list.iter().map(|(ip, p, _)| format!("{}.{}.{}.{}:{p}", ip[0], ip[1], ip[2], ip[3])).collect();
        let codes: Vec<String> = list.iter().map(|(_, _, c)| dash(c.map(|c| c.to_string()))).collect();
        let mut fields = vec![
            ty.to_owned(), ts, "app/lb/1".to_owned(), client, target_s,
            f(times[0]), f(times[1]), f(times[2]),
            elb_status.to_string(), dash(target_status.map(|c| c.to_string())),
            received.to_string(), sent.to_string(),
            format!("\"{method} https://h.example:443{path} HTTP/1.1\""),
            q(user_agent.clone()), "-".into(), "-".into(), "arn:aws:x".into(), "\"Root=1-a\"".into(),
            "\"-\"".into(), "\"-\"".into(), dash(priority.map(|p| p.to_string())),
            "2018-07-02T22:22:48.364000Z".into(), "\"forward\"".into(), "\"-\"".into(), "\"-\"".into(),
            q((!ports.is_empty()).then(|| ports.join(" "))), q((!codes.is_empty()).then(|| codes.join(" "))),
            "\"-\"".into(), "\"-\"".into(), dash(conn.clone()), "\"-\"".into(), "\"-\"".into(), "\"-\"".into(),
        ];
        fields.truncate(n_fields);
        let line = fields.join(" ");
        let m = AlbParser.parse_record(&Bytes::from(line.clone())).map_err(|e| TestCaseError::fail(format!("{e}: {line}")))?;
        prop_assert_eq!(m.get("timestamp"), Some(&Value::Timestamp(t)));
        prop_assert_eq!(m.get("type"), Some(&Value::from(ty)));
        prop_assert_eq!(m.get("client_ip"), Some(&Value::from(client_ip.as_str())));
        prop_assert_eq!(m.get("client_port"), Some(&Value::Integer(i64::from(client_port))));
        prop_assert_eq!(m.get("target_port").cloned(), target.map(|(_, p)| Value::Integer(i64::from(p))));
        for (k, ms) in ["request_processing_time", "target_processing_time", "response_processing_time"].iter().zip(times) {
            let got = match m.get(*k) { Some(Value::Float(x)) => x.into_inner(), other => return Err(TestCaseError::fail(format!("{k}: {other:?}"))) };
            prop_assert!((got - f64::from(ms) / 1000.0).abs() < 1e-9);
        }
        prop_assert_eq!(m.get("elb_status_code"), Some(&Value::Integer(elb_status)));
        prop_assert_eq!(m.get("target_status_code").cloned(), target_status.map(Value::Integer));
        prop_assert_eq!(m.get("received_bytes"), Some(&Value::Integer(received)));
        prop_assert_eq!(m.get("request_method"), Some(&Value::from(method.as_str())));
        let url = format!("https://h.example:443{path}");
        prop_assert_eq!(m.get("request_url"), Some(&Value::from(url.as_str())));
        let ua = user_agent.filter(|u| u != "-");
        prop_assert_eq!(m.get("user_agent").cloned(), ua.as_deref().map(Value::from));
        prop_assert_eq!(m.get("matched_rule_priority").cloned(), priority.map(Value::Integer));
        if n_fields >= 27 && !list.is_empty() {
            let want: Vec<Value> = ports.iter().map(|p| Value::from(p.as_str())).collect();
            prop_assert_eq!(m.get("target_port_list"), Some(&Value::Array(want)));
            let want: Vec<Value> = list.iter().map(|(_, _, c)| c.map_or(Value::Null, Value::Integer)).collect();
            // A one-element list `"-"` is indistinguishable from an absent list.
            let want = (codes.join(" ") != "-").then_some(Value::Array(want));
            prop_assert_eq!(m.get("target_status_code_list").cloned(), want);
        } else {
            prop_assert!(!m.contains_key("target_port_list"));
        }
        if n_fields >= 30 {
            prop_assert_eq!(m.get("conn_trace_id").cloned(), conn.as_deref().map(Value::from));
        }
        prop_assert!(!m.contains_key("unparsed_trailing"));
    }
}
