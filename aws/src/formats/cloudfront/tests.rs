use bytes::Bytes;
use proptest::prelude::*;
use vrl::value::Value;

use super::*;
use crate::formats::delimited::test_support::{
    assert_sane, bytes_of, corpus_dir, corpus_files, hammer, lines, parse_file, parse_one,
};

fn s<'a>(m: &'a ObjectMap, k: &str) -> &'a str {
    std::str::from_utf8(bytes_of(m.get(k).unwrap_or_else(|| panic!("no `{k}`")))).unwrap()
}

fn parse_all(p: &mut CloudFrontParser, text: &str) -> Vec<ObjectMap> {
    let mut out = Vec::new();
    for line in text.split('\n') {
        if !line.is_empty() {
            p.parse(&Bytes::copy_from_slice(line.as_bytes()), &mut out)
                .unwrap_or_else(|e| panic!("{e}: {line}"));
        }
    }
    out
}

#[test]
fn corpus_all_records_parse() {
    let mut n = 0;
    for path in corpus_files("cloudfront-standard", ".log") {
        let data = lines(&path).iter().filter(|l| !l.starts_with(b"#")).count();
        let recs = parse_file(&mut CloudFrontParser::default(), &path);
        assert_eq!(recs.len(), data);
        for r in &recs {
            assert!(matches!(r.get("timestamp"), Some(Value::Timestamp(_))));
            assert!(!r.contains_key("unparsed_trailing"), "{}", path.display());
        }
        n += recs.len();
    }
    assert!(n >= 4);
}

#[test]
fn doc_records() {
    let recs = parse_file(
        &mut CloudFrontParser::default(),
        &corpus_dir().join("cloudfront-standard/docs/distribution-log.log"),
    );
    assert_eq!(recs.len(), 4);
    let m = &recs[0];
    assert_eq!(
        m.get("timestamp"),
        Some(&Value::Timestamp("2019-12-04T21:02:31Z".parse().unwrap()))
    );
    assert_eq!(s(m, "x_edge_location"), "LAX1");
    assert_eq!(m.get("sc_bytes"), Some(&Value::Integer(392)));
    assert_eq!(s(m, "c_ip"), "192.0.2.100");
    assert_eq!(s(m, "cs_method"), "GET");
    assert_eq!(s(m, "cs_host"), "d111111abcdef8.cloudfront.net");
    assert_eq!(s(m, "cs_uri_stem"), "/index.html");
    assert_eq!(m.get("sc_status"), Some(&Value::Integer(200)));
    assert!(!m.contains_key("cs_referer"));
    assert_eq!(
        s(m, "cs_user_agent"),
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/78.0.3904.108 Safari/537.36"
    );
    assert_eq!(s(m, "x_edge_result_type"), "Hit");
    assert_eq!(s(m, "cs_protocol"), "https");
    assert_eq!(m.get("cs_bytes"), Some(&Value::Integer(23)));
    assert!(matches!(m.get("time_taken"), Some(Value::Float(f)) if f.into_inner() == 0.001));
    assert_eq!(s(m, "ssl_protocol"), "TLSv1.2");
    assert_eq!(s(m, "cs_protocol_version"), "HTTP/2.0");
    assert_eq!(m.get("c_port"), Some(&Value::Integer(11040)));
    assert_eq!(s(m, "sc_content_type"), "text/html");
    assert_eq!(m.get("sc_content_len"), Some(&Value::Integer(78)));
    assert!(!m.contains_key("sc_range_start"));
    assert!(!m.contains_key("date"));
    // Record 3 ends with a trailing tab: no trailing field.
    assert!(!recs[2].contains_key("unparsed_trailing"));
    assert_eq!(s(&recs[3], "x_edge_detailed_result_type"), "OriginDnsError");
    assert_eq!(recs[3].get("sc_status"), Some(&Value::Integer(502)));
}

#[test]
fn legacy_without_header_and_26_field_records() {
    let path = corpus_dir().join("cloudfront-standard/docs/distribution-log.log");
    let data: Vec<_> = lines(&path)
        .into_iter()
        .filter(|l| !l.starts_with(b"#"))
        .collect();
    let mut p = CloudFrontParser::default();
    let m = p.parse_data(&data[0]).unwrap().into_map();
    assert_eq!(s(&m, "x_edge_location"), "LAX1");
    // A pre-2019 record: the first 26 fields only.
    let text = std::str::from_utf8(&data[3]).unwrap();
    let first26: Vec<&str> = text.split('\t').take(26).collect();
    let m = p
        .parse_data(&Bytes::from(first26.join("\t")))
        .unwrap()
        .into_map();
    assert!(!m.contains_key("c_port"));
    assert_eq!(s(&m, "cs_protocol_version"), "HTTP/1.1");
    // Extra fields.
    let m = p
        .parse_data(&Bytes::from(format!("{}\tx1\t\tx3", text.trim_end())))
        .unwrap();
    assert_eq!(
        m.get("unparsed_trailing"),
        Some(&Value::Array(vec![
            Value::from("x1"),
            Value::from(""),
            Value::from("x3")
        ]))
    );
}

#[test]
fn fields_header_custom_order_and_v2_fields() {
    let mut p = CloudFrontParser::default();
    let recs = parse_all(
        &mut p,
        "#Version: 1.0\n#Fields: time date c-ip cs(User-Agent) cs-uri-query asn origin-fbl c-country new-thing cs(Referer)\r\n\
         01:02:03.5\t2024-01-02\t2001:db8::1\tcurl/8%20x\ta=%2520b+c\t16509\t0.012\tUS\tsomething\thttps://example.com/%3Fq\n",
    );
    assert_eq!(recs.len(), 1);
    let m = &recs[0];
    assert_eq!(
        m.get("timestamp"),
        Some(&Value::Timestamp("2024-01-02T01:02:03.5Z".parse().unwrap()))
    );
    assert_eq!(s(m, "c_ip"), "2001:db8::1");
    assert_eq!(s(m, "cs_user_agent"), "curl/8 x");
    assert_eq!(s(m, "cs_uri_query"), "a=%20b+c");
    assert_eq!(m.get("asn"), Some(&Value::Integer(16509)));
    assert!(matches!(m.get("origin_fbl"), Some(Value::Float(f)) if f.into_inner() == 0.012));
    assert_eq!(s(m, "c_country"), "US");
    assert_eq!(s(m, "new_thing"), "something");
    assert_eq!(s(m, "cs_referer"), "https://example.com/?q");
    assert_eq!(p.columns().next(), Some("time"));
    // Epoch-millisecond timestamps (v2 / real-time style).
    let recs = parse_all(
        &mut p,
        "#Fields: timestamp(ms) sc-status\n1700000000123\t200",
    );
    assert_eq!(
        recs[0].get("timestamp"),
        Some(&Value::Timestamp(
            chrono::DateTime::from_timestamp_millis(1700000000123).unwrap()
        ))
    );
    let recs = parse_all(&mut p, "#Fields: timestamp sc-status\n1700000000.5\t304");
    assert_eq!(
        recs[0].get("timestamp"),
        Some(&Value::Timestamp(
            chrono::DateTime::from_timestamp_millis(1700000000500).unwrap()
        ))
    );
    // Other comment lines are consumed.
    assert!(parse_all(&mut p, "# a comment").is_empty());
}

#[test]
fn errors() {
    let mut p = CloudFrontParser::default();
    let e = parse_one(&mut p, b"2019-12-04\t21:02:31\tLAX1\tlots\t192.0.2.100").unwrap_err();
    assert_eq!(
        (e.format, e.field.as_str(), e.offset),
        ("cloudfront", "sc_bytes", 25)
    );
    let e = parse_one(&mut p, b"2019-12-04").unwrap_err();
    assert_eq!(e.field, "time");
    let e = parse_one(&mut p, b"2019-12-44\t21:02:31\tLAX1").unwrap_err();
    assert_eq!((e.field.as_str(), e.offset), ("date", 0));
    let e = parse_one(&mut p, b"\r\n").unwrap_err();
    assert_eq!(e.message, "empty record");
    let e = parse_one(
        &mut p,
        b"2019-12-04\t21:02:31\tLAX1\t1\t1\tGET\th\t/\t200\t-\t-\t-\t-\tHit\tid\th\thttps\t1\tfast",
    )
    .unwrap_err();
    assert_eq!(e.field, "time_taken");
}

#[test]
fn no_panics_on_mutations_of_corpus() {
    let make = || -> Box<dyn RecordParser> { Box::new(CloudFrontParser::default()) };
    for path in corpus_files("cloudfront-standard", ".log") {
        for line in lines(&path) {
            hammer(LOG_TYPE, &make, &line);
        }
    }
}

/// Value strategy per known column kind: (rendered text, expected value).
fn value_for(kind: CfKind) -> BoxedStrategy<(String, Option<Value>)> {
    match kind {
        CfKind::Int => prop_oneof![
            Just(("-".to_owned(), None)),
            any::<i64>().prop_map(|n| (n.to_string(), Some(Value::Integer(n)))),
        ]
        .boxed(),
        CfKind::Float => (0u32..10_000_000)
            .prop_map(|ms| {
                let f = f64::from(ms) / 1000.0;
                (
                    format!("{f:.3}"),
                    Some(Value::Float(ordered_float::NotNan::new(f).unwrap())),
                )
            })
            .boxed(),
        // A line starting with `#` is a directive, so values never start with one here.
        CfKind::Decoded => "[ -\"$-~][ -~]{0,29}"
            .prop_map(|raw| {
                // CloudFront-style encoding: spaces, `%`, tabs and other specials as %XX.
                let enc: String = raw
                    .bytes()
                    .map(|b| match b {
                        b' ' | b'%' | b'"' | b'\\' | b'\t' => format!("%{b:02X}"),
                        _ => (b as char).to_string(),
                    })
                    .collect();
                let want = (enc != "-").then(|| Value::from(raw.as_str()));
                (enc, want)
            })
            .boxed(),
        CfKind::Date | CfKind::Time | CfKind::EpochSeconds | CfKind::EpochMillis => {
            unreachable!("time columns are placed by the test")
        }
    }
}

proptest! {
    #[test]
    fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        let r = parse_one(&mut CloudFrontParser::default(), &data);
        assert_sane(LOG_TYPE, &data, &r);
    }

    #[test]
    fn round_trip_any_fields(
        (picked, values) in proptest::sample::subsequence(
                KNOWN.iter().filter(|(_, _, k)| !matches!(k, CfKind::Date | CfKind::Time | CfKind::EpochSeconds | CfKind::EpochMillis)).copied().collect::<Vec<_>>(),
                1..30)
            .prop_shuffle()
            .prop_flat_map(|cols| {
                let vals: Vec<_> = cols.iter().map(|(_, _, k)| value_for(*k)).collect();
                (Just(cols), vals)
            }),
        secs in 0i64..4_000_000_000,
        date_at in any::<prop::sample::Index>(),
    ) {
        let t = chrono::DateTime::from_timestamp(secs, 0).unwrap();
        let mut names: Vec<&str> = picked.iter().map(|(w3c, _, _)| *w3c).collect();
        let mut texts: Vec<String> = values.iter().map(|(t, _)| t.clone()).collect();
        let at = date_at.index(names.len() + 1);
        names.insert(at, "time");
        texts.insert(at, t.format("%H:%M:%S").to_string());
        names.insert(at, "date");
        texts.insert(at, t.format("%Y-%m-%d").to_string());
        let mut p = CloudFrontParser::default();
        let mut out = Vec::new();
        p.parse(&Bytes::from_static(b"#Version: 1.0"), &mut out).unwrap();
        p.parse(&Bytes::from(format!("#Fields: {}", names.join(" "))), &mut out).unwrap();
        prop_assert!(out.is_empty());
        let line = texts.join("\t");
        p.parse(&Bytes::from(line.clone()), &mut out).map_err(|e| TestCaseError::fail(format!("{e}: {line}")))?;
        let m = &out[0];
        prop_assert_eq!(m.get("timestamp"), Some(&Value::Timestamp(t)));
        for ((_, name, _), (_, want)) in picked.iter().zip(&values) {
            prop_assert_eq!(m.get(*name).cloned(), want.clone(), "{}", name);
        }
        prop_assert!(!m.contains_key("unparsed_trailing"));
    }
}

/// Records of custom (v2) field sets are valid in both schemas: no status, a WebSocket request,
/// several forwarded addresses, country and AS number, no path.
#[test]
fn custom_field_sets_are_valid_in_both_schemas() {
    use crate::normalize::validate::{ecs::EcsFields, ocsf::OcsfSchema};
    use crate::normalize::{fields, normalize, OutputSchema};
    let ocsf = OcsfSchema::load_shared().unwrap();
    let ecs = EcsFields::load_shared().unwrap();
    let text = "#Fields: date time c-ip cs-method cs-protocol x-host-header cs-uri-stem c-country asn x-forwarded-for\n\
                2024-01-02\t03:04:05\t192.0.2.1\tGET\twss\texample.com\t/chat\tNL\t64500\t198.51.100.1,%20203.0.113.7\n\
                2024-01-02\t03:04:05\t192.0.2.1\tPOST\thttps\texample.com\t-\t-\t-\t198.51.100.1";
    let recs = parse_all(&mut CloudFrontParser::default(), text);
    assert_eq!(recs.len(), 2);
    for native in recs {
        let event = normalize(OutputSchema::Ocsf, native.clone());
        assert_eq!(ocsf.check(&event), vec![], "{event:?}");
        assert_eq!(fields::get_int(&event, "http_response.code"), Some(0));
        let event = normalize(OutputSchema::Ecs, native);
        assert_eq!(ecs.check(&event), vec![], "{event:?}");
    }
}
