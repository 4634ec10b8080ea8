use crate::formats::RecordParser;
use bytes::Bytes;
use proptest::prelude::*;
use vrl::value::ObjectMap;
use vrl::value::Value;

use super::*;
use crate::formats::delimited::test_support::{
    assert_sane, bytes_of, compare, corpus_files, hammer, lines, parse_file, parse_one, Map,
};

/// signalfx/aws-log-collector Splunk HEC item → Weir name. Structural differences:
/// * the item is not a field-by-field parse: `event` is the raw record (checked to equal the
///   input line), `time` is the record's time as epoch seconds (compared as an instant with
///   `timestamp`);
/// * `fields.*` (`logForwarder`, `region`, `awsAccountId`, bucket tags), `source`, `sourcetype`
///   are forwarder metadata, not in the record: not compared, except `fields.bucketArn`, which is
///   checked to be `arn:aws:s3:::` + our `bucket`.
pub(crate) const SIGNALFX_NAME_MAP: &[(&str, Map)] = &[
    ("event", Map::Ignore),
    ("time", Map::InstantFromEpoch("timestamp")),
    ("fields", Map::Ignore),
    ("source", Map::Ignore),
    ("sourcetype", Map::Ignore),
];

fn parse(line: &str) -> ObjectMap {
    S3AccessParser
        .parse_record(&Bytes::copy_from_slice(line.as_bytes()))
        .unwrap_or_else(|e| panic!("{e}: {line}"))
}

fn s<'a>(m: &'a ObjectMap, k: &str) -> &'a str {
    std::str::from_utf8(bytes_of(m.get(k).unwrap_or_else(|| panic!("no `{k}`")))).unwrap()
}

#[test]
fn corpus_all_records_parse() {
    let mut n = 0;
    for path in corpus_files("s3-access-logs", ".log") {
        for rec in parse_file(&mut S3AccessParser, &path) {
            assert!(matches!(rec.get("timestamp"), Some(Value::Timestamp(_))));
            assert!(rec.contains_key("http_status"));
            assert!(!rec.contains_key("unparsed_trailing"), "{}", path.display());
            n += 1;
        }
    }
    assert!(n >= 6, "only {n} records");
}

#[test]
fn corpus_expected_match_signalfx() {
    for exp_path in corpus_files("s3-access-logs", ".expected.json") {
        let log =
            std::path::PathBuf::from(exp_path.to_string_lossy().replace(".expected.json", ".log"));
        let recs = parse_file(&mut S3AccessParser, &log);
        assert_eq!(recs.len(), 1);
        let expected: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&exp_path).unwrap()).unwrap();
        assert_eq!(compare(&expected, &recs[0], SIGNALFX_NAME_MAP), 1);
        let line = lines(&log).remove(0);
        assert_eq!(expected["event"].as_str().unwrap().as_bytes(), &line[..]);
        let arn = format!("arn:aws:s3:::{}", s(&recs[0], "bucket"));
        assert_eq!(expected["fields"]["bucketArn"].as_str(), Some(arn.as_str()));
        // The 2020 record stops after TLS version (24 fields).
        assert_eq!(s(&recs[0], "tls_version"), "TLSv1.2");
        assert!(!recs[0].contains_key("access_point_arn"));
        assert_eq!(
            s(&recs[0], "requester"),
            "arn:aws:iam::906383545488:user/bgola"
        );
        assert!(s(&recs[0], "user_agent").starts_with("S3Console/0.4, aws-internal/3 aws-sdk-java"));
    }
}

#[test]
fn doc_records() {
    let path = crate::formats::delimited::test_support::corpus_dir()
        .join("s3-access-logs/docs/example-log.log");
    let recs = parse_file(&mut S3AccessParser, &path);
    let m = &recs[0];
    assert_eq!(
        m.get("timestamp"),
        Some(&Value::Timestamp("2019-02-06T00:00:38Z".parse().unwrap()))
    );
    assert_eq!(s(m, "bucket"), "DOC-EXAMPLE-BUCKET1");
    assert_eq!(s(m, "remote_ip"), "192.0.2.3");
    assert_eq!(s(m, "operation"), "REST.GET.VERSIONING");
    assert!(!m.contains_key("key"));
    assert_eq!(
        s(m, "request_uri"),
        "GET /DOC-EXAMPLE-BUCKET1?versioning HTTP/1.1"
    );
    assert_eq!(s(m, "request_method"), "GET");
    assert_eq!(s(m, "request_url"), "/DOC-EXAMPLE-BUCKET1?versioning");
    assert_eq!(m.get("http_status"), Some(&Value::Integer(200)));
    assert_eq!(m.get("bytes_sent"), Some(&Value::Integer(113)));
    assert!(!m.contains_key("object_size"));
    assert_eq!(m.get("total_time"), Some(&Value::Integer(7)));
    assert!(!m.contains_key("turn_around_time"));
    assert!(!m.contains_key("referer"));
    assert_eq!(s(m, "signature_version"), "SigV4");
    assert_eq!(
        s(m, "access_point_arn"),
        "arn:aws:s3:us-west-1:123456789012:accesspoint/example-AP"
    );
    assert_eq!(s(m, "acl_required"), "Yes");
    // Record 3: 404 with error code, trailing space.
    assert_eq!(s(&recs[2], "error_code"), "NoSuchBucketPolicy");
    assert_eq!(s(&recs[2], "acl_required"), "Yes");
    // Record 4: PUT with object size and key.
    assert_eq!(s(&recs[3], "key"), "s3-dg.pdf");
    assert_eq!(recs[3].get("object_size"), Some(&Value::Integer(4406583)));
    assert_eq!(recs[3].get("turn_around_time"), Some(&Value::Integer(28)));
    assert!(!recs[3].contains_key("bytes_sent"));
}

const OLD: &str = r#"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be awsexamplebucket1 [06/Feb/2019:00:00:38 +0000] 192.0.2.3 - 3E57427F3EXAMPLE REST.GET.OBJECT photos/my+cat%2Bdog%20.jpg "GET /awsexamplebucket1/photos/my+cat%2Bdog%20.jpg?x-amz-date=20190206T000000Z&X-Amz-Signature=ab%2Fcd HTTP/1.1" 304 - - 1024 7 - "https://example.com/" "Mozilla/5.0 (X11; Linux x86_64) Gecko, like" 3HL4kqtJlcpXroDTDmJ"#;

#[test]
fn old_18_field_record_and_key_decoding() {
    let m = parse(OLD);
    assert_eq!(s(&m, "key"), "photos/my cat+dog .jpg");
    assert!(!m.contains_key("requester"));
    assert!(s(&m, "request_url").contains("X-Amz-Signature=ab%2Fcd"));
    assert_eq!(
        s(&m, "user_agent"),
        "Mozilla/5.0 (X11; Linux x86_64) Gecko, like"
    );
    assert_eq!(s(&m, "version_id"), "3HL4kqtJlcpXroDTDmJ");
    assert!(!m.contains_key("host_id"));
    assert_eq!(m.get("http_status"), Some(&Value::Integer(304)));
    // Lifecycle operation with "-" everywhere it can be.
    let m = parse(
        r#"owner bucket [06/Feb/2019:00:00:38 +0000] - - 1 S3.TRANSITION_SIA.OBJECT k "-" - - - 10 - - "-" "-" -"#,
    );
    assert!(!m.contains_key("request_uri"));
    assert!(!m.contains_key("http_status"));
    assert_eq!(s(&m, "operation"), "S3.TRANSITION_SIA.OBJECT");
    // Extra trailing fields.
    let full = lines(
        &crate::formats::delimited::test_support::corpus_dir()
            .join("s3-access-logs/docs/example-log.log"),
    )
    .remove(0);
    let mut more = full.to_vec();
    more.extend_from_slice(b" new-field \"quoted new\"");
    let m = S3AccessParser.parse_record(&Bytes::from(more)).unwrap();
    assert_eq!(
        m.get("unparsed_trailing"),
        Some(&Value::Array(vec![
            Value::from("new-field"),
            Value::from("quoted new")
        ]))
    );
}

#[test]
fn errors() {
    let e = S3AccessParser
        .parse_record(&Bytes::from(OLD.replace(
            "[06/Feb/2019:00:00:38 +0000]",
            "[06/Feb/2019:00:00:38 +0000",
        )))
        .unwrap_err();
    assert_eq!(
        (e.format, e.field.as_str(), e.offset),
        ("s3_access", "timestamp", 83)
    );
    let e = S3AccessParser
        .parse_record(&Bytes::from(OLD.replace("[06/Feb/2019", "[36/Feb/2019")))
        .unwrap_err();
    assert_eq!(e.field, "timestamp");
    let e = S3AccessParser
        .parse_record(&Bytes::from(OLD.replace(" 304 ", " OK ")))
        .unwrap_err();
    assert_eq!(e.field, "http_status");
    let cut = OLD.find(" \"https://example.com/\"").unwrap();
    let e = S3AccessParser
        .parse_record(&Bytes::copy_from_slice(&OLD.as_bytes()[..cut]))
        .unwrap_err();
    assert_eq!(e.field, "referer");
    assert!(e.message.contains("at least 18"));
}

#[test]
fn no_panics_on_mutations_of_corpus() {
    let make = || -> Box<dyn RecordParser> { Box::new(S3AccessParser) };
    for path in corpus_files("s3-access-logs", ".log") {
        for line in lines(&path) {
            hammer(LOG_TYPE, &make, &line);
        }
    }
}

proptest! {
    #[test]
    fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        let r = parse_one(&mut S3AccessParser, &data);
        assert_sane(LOG_TYPE, &data, &r);
    }

    #[test]
    fn round_trip(
        secs in 0i64..4_000_000_000,
        key in proptest::option::of("[a-zA-Z0-9/ +._-]{1,30}"),
        status in 100i64..600,
        sizes in (proptest::option::of(0i64..i64::MAX), proptest::option::of(0i64..i64::MAX)),
        times in (0i64..1_000_000, proptest::option::of(0i64..1_000_000)),
        ua in proptest::option::of("[ -!#-~]{2,60}"),
        n_fields in prop_oneof![Just(18usize), Just(24), Just(25), Just(26)],
    ) {
        let t = chrono::DateTime::from_timestamp(secs, 0).unwrap();
        // Encode the key the way S3 does: `+` for space, `%XX` for reserved bytes.
        let enc_key = key.as_ref().map(|k| {
            k.bytes().map(|b| match b {
                b' ' => "+".to_owned(),
                b'+' | b'%' => format!("%{b:02X}"),
                _ => (b as char).to_string(),
            }).collect::<String>()
        });
        let dash = |o: Option<i64>| o.map_or("-".to_owned(), |v| v.to_string());
        let all = [
            "owner".to_owned(), "bucket".into(), format!("[{}]", t.format("%d/%b/%Y:%H:%M:%S %z")),
            "192.0.2.3".into(), "arn:aws:iam::1:user/u".into(), "REQID".into(), "REST.GET.OBJECT".into(),
            enc_key.clone().unwrap_or_else(|| "-".into()), "\"GET /bucket/x HTTP/1.1\"".into(),
            status.to_string(), "-".into(), dash(sizes.0), dash(sizes.1), times.0.to_string(), dash(times.1),
            "\"-\"".into(), format!("\"{}\"", ua.clone().unwrap_or_else(|| "-".into())), "-".into(),
            "hostid=".into(), "SigV4".into(), "ECDHE-RSA-AES128-GCM-SHA256".into(), "AuthHeader".into(),
            "bucket.s3.amazonaws.com".into(), "TLSv1.3".into(), "-".into(), "Yes".into(),
        ];
        let line = all[..n_fields].join(" ");
        let m = S3AccessParser.parse_record(&Bytes::from(line.clone())).map_err(|e| TestCaseError::fail(format!("{e}: {line}")))?;
        prop_assert_eq!(m.get("timestamp"), Some(&Value::Timestamp(t)));
        let want_key = key.filter(|_| enc_key.as_deref() != Some("-")).map(|k| Value::from(k.as_str()));
        prop_assert_eq!(m.get("key").cloned(), want_key);
        prop_assert_eq!(m.get("http_status"), Some(&Value::Integer(status)));
        prop_assert_eq!(m.get("bytes_sent").cloned(), sizes.0.map(Value::Integer));
        prop_assert_eq!(m.get("object_size").cloned(), sizes.1.map(Value::Integer));
        prop_assert_eq!(m.get("total_time"), Some(&Value::Integer(times.0)));
        prop_assert_eq!(m.get("turn_around_time").cloned(), times.1.map(Value::Integer));
        prop_assert_eq!(m.get("user_agent").cloned(), ua.filter(|u| u != "-").map(|u| Value::from(u.as_str())));
        prop_assert_eq!(m.contains_key("tls_version"), n_fields >= 24);
        prop_assert_eq!(m.contains_key("acl_required"), n_fields >= 26);
    }
}

/// An anonymous object read, and a lifecycle transition S3 made itself (no requester, no
/// address): valid in both schemas, with the actor and source OCSF requires.
#[test]
fn anonymous_and_s3_operations_in_both_schemas() {
    use crate::normalize::validate::{ecs::EcsFields, ocsf::OcsfSchema};
    use crate::normalize::{fields, normalize, OutputSchema};
    let ocsf = OcsfSchema::load_shared().unwrap();
    let ecs = EcsFields::load_shared().unwrap();
    for (line, activity, actor, source) in [
        (
            r#"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be b [06/Feb/2019:00:00:38 +0000] 192.0.2.3 - 3E57 REST.GET.OBJECT photos/a%20b.jpg "GET /b/photos/a%20b.jpg HTTP/1.1" 403 AccessDenied 243 - 7 - "-" "curl/8" 3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"#,
            2,
            ("actor.user.name", "anonymous"),
            ("src_endpoint.ip", "192.0.2.3"),
        ),
        (
            r#"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be b [06/Feb/2019:00:00:38 +0000] - - 3E58 S3.TRANSITION_SIA.OBJECT photos/a.jpg "-" - - - 1024 - - "-" "-" -"#,
            3,
            ("actor.invoked_by", "s3.amazonaws.com"),
            ("src_endpoint.svc_name", "s3.amazonaws.com"),
        ),
    ] {
        let native = parse(line);
        let event = normalize(OutputSchema::Ocsf, native.clone());
        assert_eq!(ocsf.check(&event), vec![], "{event:?}");
        assert_eq!(fields::get_int(&event, "activity_id"), Some(activity));
        assert_eq!(fields::get_str(&event, actor.0), Some(actor.1));
        assert_eq!(fields::get_str(&event, source.0), Some(source.1));
        let event = normalize(OutputSchema::Ecs, native);
        assert_eq!(ecs.check(&event), vec![], "{event:?}");
    }
}
