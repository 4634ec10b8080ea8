use super::*;

fn fields(line: &str) -> Vec<String> {
    let mut t = Tokenizer::new(line.as_bytes());
    let mut v = Vec::new();
    while let Some(s) = t.next_field().expect("tokenize") {
        v.push(String::from_utf8_lossy(s.bytes(line.as_bytes())).into_owned());
    }
    v
}

#[test]
fn tokenizer_handles_quotes_and_spaces() {
    assert_eq!(fields(r#"a "b c" d"#), ["a", "b c", "d"]);
    assert_eq!(fields(r#"  a   b  "#), ["a", "b"]);
    assert_eq!(fields(r#""- - - " "-" x"#), ["- - - ", "-", "x"]);
    assert_eq!(fields(r#""h2","http/1.1" z"#), [r#"h2","http/1.1"#, "z"]);
    assert_eq!(fields("a b\r\n"), ["a", "b"]);
    assert_eq!(fields(r#""""#), [""]);
    assert!(fields("").is_empty());
    let mut t = Tokenizer::new(br#"a "unterminated"#);
    assert!(t.next_field().unwrap().is_some());
    assert_eq!(
        t.next_field(),
        Err(TokenError {
            offset: 2,
            message: "unterminated quoted field"
        })
    );
}

#[test]
fn bracketed() {
    let line = b"x [06/Feb/2019:00:00:38 +0000] y";
    let mut t = Tokenizer::new(line);
    t.next_field().unwrap();
    let s = t.next_bracketed().unwrap().unwrap();
    assert_eq!(s.bytes(line), b"06/Feb/2019:00:00:38 +0000");
    assert_eq!(t.next_field().unwrap().unwrap().bytes(line), b"y");
    assert!(Tokenizer::new(b"[abc").next_bracketed().is_err());
}

#[test]
fn numbers() {
    assert_eq!(parse_int(b"123"), Some(123));
    assert_eq!(parse_int(b"-1"), Some(-1));
    assert_eq!(parse_int(b"9223372036854775807"), Some(i64::MAX));
    assert_eq!(parse_int(b"-9223372036854775808"), Some(i64::MIN));
    assert_eq!(parse_int(b"9223372036854775808"), None);
    assert_eq!(parse_int(b""), None);
    assert_eq!(parse_int(b"-"), None);
    assert_eq!(parse_int(b"1a"), None);
    assert_eq!(parse_float(b"0.001").map(|f| f.into_inner()), Some(0.001));
    assert_eq!(parse_float(b"-1").map(|f| f.into_inner()), Some(-1.0));
    assert_eq!(parse_float(b"inf"), None);
    assert_eq!(parse_float(b"NaN"), None);
    assert_eq!(parse_float(b"1e999"), None);
    assert_eq!(parse_float(b"."), None);
}

#[test]
fn times() {
    let t = parse_iso8601(b"2018-07-02T22:23:00.186641Z").unwrap();
    assert_eq!(t.to_rfc3339(), "2018-07-02T22:23:00.186641+00:00");
    assert_eq!(
        parse_iso8601(b"2018-12-20T02:59:40").unwrap().to_rfc3339(),
        "2018-12-20T02:59:40+00:00"
    );
    assert_eq!(
        parse_iso8601(b"2018-12-20T02:59:40+02:00")
            .unwrap()
            .to_rfc3339(),
        "2018-12-20T00:59:40+00:00"
    );
    assert!(parse_iso8601(b"2018-13-20T02:59:40Z").is_none());
    assert!(parse_iso8601(b"2018-12-20T02:59:40Zx").is_none());
    assert!(parse_iso8601(b"2018-12-20T02:59:4").is_none());
    assert!(parse_iso8601(b"2018-12-20T02:59:40.Z").is_none());
    // The prefix form reads no offset (the rest of the line is the caller's) and, unlike the
    // whole-value form, takes only `T` or a space between date and time.
    let prefix = |s: &[u8]| parse_datetime_prefix(s).map(|(t, n)| (t.to_rfc3339(), n));
    assert_eq!(
        prefix(b"2018-12-20T02:59:40+02:00 x"),
        Some(("2018-12-20T02:59:40+00:00".to_owned(), 19))
    );
    assert_eq!(
        prefix(b"2018-12-20 02:59:40.5Z x"),
        Some(("2018-12-20T02:59:40.500+00:00".to_owned(), 22))
    );
    assert!(prefix(b"2018-12-20t02:59:40Z").is_none());
    assert!(parse_iso8601(b"2018-12-20t02:59:40Z").is_some());
    let t = parse_clf_time(b"06/Feb/2019:00:00:38 +0000").unwrap();
    assert_eq!(t.to_rfc3339(), "2019-02-06T00:00:38+00:00");
    let t = parse_clf_time(b"06/Feb/2019:00:00:38 -0130").unwrap();
    assert_eq!(t.to_rfc3339(), "2019-02-06T01:30:38+00:00");
    assert!(parse_clf_time(b"06/Fob/2019:00:00:38 +0000").is_none());
    let t = parse_date_time(b"2019-12-04", b"21:02:31").unwrap();
    assert_eq!(t.to_rfc3339(), "2019-12-04T21:02:31+00:00");
    assert!(parse_date_time(b"2019-12-04", b"21:02").is_none());
}

#[test]
fn host_port() {
    fn hp(s: &str) -> (&str, Option<&str>) {
        let (a, p) = split_host_port(s.as_bytes());
        (&s[a], p.map(|p| &s[p]))
    }
    assert_eq!(hp("10.0.0.1:80"), ("10.0.0.1", Some("80")));
    assert_eq!(hp("[2001:db8::1]:443"), ("2001:db8::1", Some("443")));
    assert_eq!(hp("2001:db8::1:443"), ("2001:db8::1", Some("443")));
    assert_eq!(hp("[::1]"), ("::1", None));
    assert_eq!(hp("host"), ("host", None));
    assert_eq!(hp("[broken:1"), ("[broken", Some("1")));
}

#[test]
fn request_line() {
    let rq = |s: &str| split_request(s.as_bytes()).map(|r| r.map(|r| s[r].to_owned()));
    let o = |s: &str| Some(s.to_owned());
    assert_eq!(
        rq("GET http://x/ HTTP/1.1"),
        [o("GET"), o("http://x/"), o("HTTP/1.1")]
    );
    assert_eq!(rq("- - - "), [o("-"), o("-"), o("-")]);
    assert_eq!(
        rq("- http://host:80- -"),
        [o("-"), o("http://host:80-"), o("-")]
    );
    assert_eq!(
        rq("GET /a b HTTP/1.1"),
        [o("GET"), o("/a b"), o("HTTP/1.1")]
    );
    assert_eq!(rq("GET /"), [o("GET"), o("/"), None]);
    assert_eq!(rq("x"), [None, o("x"), None]);
    assert_eq!(rq(""), [None, None, None]);
}

#[test]
fn all_parsers_survive_pathological_lines() {
    use crate::formats::delimited::test_support::{assert_sane, parse_one};
    use crate::formats::RecordParser;
    use crate::formats::{alb, cloudfront, elb_classic, nlb, route53, s3_access, vpc_flow};
    let huge = 1 << 20;
    let lines: Vec<Vec<u8>> = vec![
        vec![b'a'; huge],
        vec![b' '; huge],
        vec![b'"'; huge],
        vec![b'\t'; huge],
        vec![0xff; huge],
        b"\""
            .repeat(huge / 2)
            .iter()
            .chain(b" x")
            .copied()
            .collect(),
        b"- ".repeat(huge / 2),
        b"[".repeat(huge),
        b"#Fields: "
            .iter()
            .chain(b"x ".repeat(huge / 2).iter())
            .copied()
            .collect(),
        b"version ".repeat(huge / 8),
        b"1 ".repeat(huge / 2),
        b"%".repeat(huge),
    ];
    for line in &lines {
        let parsers: Vec<Box<dyn RecordParser>> = vec![
            Box::new(alb::AlbParser),
            Box::new(elb_classic::ElbClassicParser),
            Box::new(nlb::NlbParser),
            Box::new(s3_access::S3AccessParser),
            Box::new(route53::Route53QueryParser),
            Box::new(vpc_flow::VpcFlowParser::default()),
            Box::new(cloudfront::CloudFrontParser::default()),
        ];
        for mut p in parsers {
            let r = parse_one(&mut *p, line);
            assert_sane(p.log_type(), line, &r);
            // The parser stays usable afterwards.
            let _ = parse_one(&mut *p, b"x");
        }
    }
}

#[test]
fn static_layouts_have_unique_keys() {
    use crate::formats::{alb, elb_classic, nlb, route53, s3_access};
    for specs in [
        alb::FIELDS,
        elb_classic::FIELDS,
        nlb::FIELDS,
        route53::FIELDS,
        s3_access::FIELDS,
    ] {
        let layout = SpecLayout::new(specs, "test");
        // Keys are unique (no slot's value is silently replaced by another's), and `aws`
        // is the one key no slot fills.
        assert_eq!(
            layout.layout.schema.keys().len(),
            layout.layout.positions.len() + 1,
            "{:?}",
            layout.layout.schema.keys()
        );
    }
}

#[test]
fn decoding() {
    assert_eq!(percent_decode(b"abc", true), None);
    assert_eq!(percent_decode(b"a%20b+c", true).unwrap(), b"a b c");
    assert_eq!(percent_decode(b"a%20b+c", false).unwrap(), b"a b+c");
    assert_eq!(percent_decode(b"%2520", false).unwrap(), b"%20");
    assert_eq!(percent_decode(b"100%", false).unwrap(), b"100%");
    assert_eq!(percent_decode(b"%zz%4", false).unwrap(), b"%zz%4");
    assert_eq!(percent_decode(b"%ff", false).unwrap(), [0xff]);
}
