use bytes::Bytes;
use proptest::prelude::*;
use vrl::value::Value;

use super::*;
use crate::formats::delimited::test_support::{
    assert_sane, bytes_of, compare, corpus_dir, corpus_files, hammer, lines, parse_file, parse_one,
    Map,
};

/// VRL `parse_aws_vpc_flow_log` name → Weir name. VRL already uses AWS's names with `-` → `_`
/// and the same types (integers for numeric fields, strings otherwise), so the map is the
/// identity; the only structural difference is that VRL's `null` is an absent field here (and
/// Weir adds `timestamp`, `aws.log_type`, which VRL lacks).
pub(crate) const VRL_NAME_MAP: &[(&str, Map)] = &[
    ("version", Map::Same("version")),
    ("account_id", Map::Same("account_id")),
    ("interface_id", Map::Same("interface_id")),
    ("srcaddr", Map::Same("srcaddr")),
    ("dstaddr", Map::Same("dstaddr")),
    ("srcport", Map::Same("srcport")),
    ("dstport", Map::Same("dstport")),
    ("protocol", Map::Same("protocol")),
    ("packets", Map::Same("packets")),
    ("bytes", Map::Same("bytes")),
    ("start", Map::Same("start")),
    ("end", Map::Same("end")),
    ("action", Map::Same("action")),
    ("log_status", Map::Same("log_status")),
    ("vpc_id", Map::Same("vpc_id")),
    ("subnet_id", Map::Same("subnet_id")),
    ("instance_id", Map::Same("instance_id")),
    ("tcp_flags", Map::Same("tcp_flags")),
    ("type", Map::Same("type")),
    ("pkt_srcaddr", Map::Same("pkt_srcaddr")),
    ("pkt_dstaddr", Map::Same("pkt_dstaddr")),
    ("region", Map::Same("region")),
    ("az_id", Map::Same("az_id")),
    ("sublocation_type", Map::Same("sublocation_type")),
    ("sublocation_id", Map::Same("sublocation_id")),
    ("pkt_src_aws_service", Map::Same("pkt_src_aws_service")),
    ("pkt_dst_aws_service", Map::Same("pkt_dst_aws_service")),
    ("flow_direction", Map::Same("flow_direction")),
    ("traffic_path", Map::Same("traffic_path")),
    ("reject_reason", Map::Same("reject_reason")),
    ("resource_id", Map::Same("resource_id")),
    ("encryption_status", Map::Same("encryption_status")),
    ("interface_type", Map::Same("interface_type")),
];

fn s<'a>(m: &'a ObjectMap, k: &str) -> &'a str {
    std::str::from_utf8(bytes_of(m.get(k).unwrap_or_else(|| panic!("no `{k}`")))).unwrap()
}

fn int(m: &ObjectMap, k: &str) -> i64 {
    match m.get(k) {
        Some(Value::Integer(n)) => *n,
        other => panic!("`{k}`: {other:?}"),
    }
}

fn parse_all(p: &mut VpcFlowParser, text: &str) -> Vec<ObjectMap> {
    let mut out = Vec::new();
    for line in text.lines() {
        p.parse(&Bytes::copy_from_slice(line.as_bytes()), &mut out)
            .unwrap_or_else(|e| panic!("{e}: {line}"));
    }
    out
}

#[test]
fn corpus_all_records_parse_with_header_learning() {
    let mut n = 0;
    for path in corpus_files("vpc-flow-logs", ".log") {
        // Files with a VRL format string are parsed with it; the rest as delivered (default
        // format unless a header line says otherwise).
        let fmt = path.with_extension("format.txt");
        let mut parser = match std::fs::read_to_string(&fmt) {
            Ok(f) => VpcFlowParser::with_format(f.trim()).unwrap(),
            Err(_) => VpcFlowParser::default(),
        };
        let data_lines = lines(&path).iter().filter(|l| !is_header(l)).count();
        let recs = parse_file(&mut parser, &path);
        assert_eq!(recs.len(), data_lines, "{}", path.display());
        for r in &recs {
            assert!(!r.contains_key("unparsed_trailing"), "{}", path.display());
            assert_eq!(
                r.get("aws")
                    .and_then(|a| a.as_object())
                    .and_then(|a| a.get("log_type")),
                Some(&Value::from("vpc_flow"))
            );
        }
        n += recs.len();
    }
    assert!(n >= 22, "only {n} records");
}

#[test]
fn corpus_expected_match_vrl() {
    let mut files = 0;
    for exp_path in corpus_files("vpc-flow-logs", ".expected.json") {
        let stem = exp_path.to_string_lossy().replace(".expected.json", "");
        let mut parser = match std::fs::read_to_string(format!("{stem}.format.txt")) {
            Ok(f) => VpcFlowParser::with_format(f.trim()).unwrap(),
            Err(_) => VpcFlowParser::default(),
        };
        let recs = parse_file(&mut parser, std::path::Path::new(&format!("{stem}.log")));
        assert_eq!(recs.len(), 1);
        let expected: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&exp_path).unwrap()).unwrap();
        assert_eq!(
            compare(&expected, &recs[0], VRL_NAME_MAP),
            expected.as_object().unwrap().len()
        );
        files += 1;
    }
    assert!(files >= 6);
}

#[test]
fn header_learned_order_equals_vrl_expectation() {
    // docs-interval1.log starts with the custom format as a header; its first record is VRL's
    // `vrl-test-fields` input.
    let dir = corpus_dir().join("vpc-flow-logs");
    let recs = parse_file(
        &mut VpcFlowParser::default(),
        &dir.join("v3-custom-tcp-flags/docs-interval1.log"),
    );
    assert_eq!(recs.len(), 4);
    let expected: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join("vrl-expected/vrl-test-fields.expected.json")).unwrap(),
    )
    .unwrap();
    compare(&expected, &recs[0], VRL_NAME_MAP);
    assert_eq!(int(&recs[1], "tcp_flags"), 18);
    // The v5 header: traffic-path "-" is absent, tcp-flags 19.
    let recs = parse_file(
        &mut VpcFlowParser::default(),
        &dir.join("v5-custom/docs-traffic-path-ingress.log"),
    );
    let expected: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join("vrl-expected/vrl-doc-example-2.expected.json")).unwrap(),
    )
    .unwrap();
    compare(&expected, &recs[0], VRL_NAME_MAP);
    // The NAT custom format has no version, start or end: no timestamp.
    let recs = parse_file(
        &mut VpcFlowParser::default(),
        &dir.join("v3-custom-nat/docs-nat-gateway.log"),
    );
    assert_eq!(recs.len(), 3);
    assert!(!recs[0].contains_key("instance_id"));
    assert!(!recs[0].contains_key("timestamp"));
    assert_eq!(s(&recs[0], "pkt_dstaddr"), "203.0.113.5");
}

#[test]
fn default_nodata_ipv6_and_ecs() {
    let mut p = VpcFlowParser::default();
    let recs = parse_all(
        &mut p,
        "2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA\n\
         2 123456789010 eni-1235b8ca123456789 2001:db8:1234:a100:8d6e:3477:df66:f105 2001:db8:1234:a102:3304:8879:34cf:4071 34892 22 6 54 8855 1477913708 1477913820 ACCEPT OK",
    );
    let m = &recs[0];
    assert_eq!(int(m, "version"), 2);
    assert_eq!(s(m, "log_status"), "NODATA");
    for k in [
        "srcaddr", "dstaddr", "srcport", "dstport", "protocol", "packets", "bytes", "action",
    ] {
        assert!(!m.contains_key(k), "{k}");
    }
    assert_eq!(
        m.get("timestamp"),
        Some(&Value::Timestamp(
            chrono::DateTime::from_timestamp(1431280876, 0).unwrap()
        ))
    );
    assert_eq!(int(m, "end"), 1431280934);
    assert_eq!(
        s(&recs[1], "srcaddr"),
        "2001:db8:1234:a100:8d6e:3477:df66:f105"
    );

    let ecs = parse_file(
        &mut VpcFlowParser::default(),
        &corpus_dir().join("vpc-flow-logs/s3-files/otel-valid_vpc_flow_log_ecs.log"),
    );
    let m = &ecs[0];
    assert_eq!(int(m, "version"), 5);
    assert_eq!(s(m, "ecs_cluster_name"), "my-cluster");
    assert_eq!(s(m, "ecs_second_container_id"), "container-2");
    assert_eq!(s(m, "ecs_task_id"), "abcdef1234567890");
    assert_eq!(
        s(m, "ecs_task_definition_arn"),
        "arn:aws:ecs:us-east-1:123456789012:task-definition/my-task:1"
    );
}

#[test]
fn double_space_and_trailing_fields() {
    let mut p = VpcFlowParser::default();
    let recs = parse_all(
        &mut p,
        "2 123456789010 eni-1235b8ca123456789 172.31.16.139  172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK \r\n\
         2 123456789010 eni-1 1.1.1.1 2.2.2.2 1 2 6 1 1 1418530010 1418530070 ACCEPT OK extra1 extra2",
    );
    assert_eq!(s(&recs[0], "dstaddr"), "172.31.16.21");
    assert_eq!(s(&recs[0], "log_status"), "OK");
    assert_eq!(
        recs[1].get("unparsed_trailing"),
        Some(&Value::Array(vec![
            Value::from("extra1"),
            Value::from("extra2")
        ]))
    );
}

#[test]
fn transit_gateway_v6() {
    let header = "version resource-type account-id tgw-id tgw-attachment-id tgw-src-vpc-account-id tgw-dst-vpc-account-id tgw-src-vpc-id tgw-dst-vpc-id tgw-src-subnet-id tgw-dst-subnet-id tgw-src-eni tgw-dst-eni tgw-src-az-id tgw-dst-az-id tgw-pair-attachment-id srcaddr dstaddr srcport dstport protocol packets bytes start end log-status type packets-lost-no-route packets-lost-blackhole packets-lost-mtu-exceeded packets-lost-ttl-expired tcp-flags region flow-direction pkt-src-aws-service pkt-dst-aws-service";
    let record = "6 TransitGatewayAttachment 123456789012 tgw-0a1b2c3d4e5f67890 tgw-attach-0a1b2c3d4e5f67890 123456789012 210987654321 vpc-0a1b2c3d4e5f67890 vpc-0f1e2d3c4b5a69870 subnet-0a1b2c3d4e5f67890 subnet-0f1e2d3c4b5a69870 eni-0a1b2c3d4e5f67890 eni-0f1e2d3c4b5a69870 use1-az1 use1-az2 tgw-attach-0f1e2d3c4b5a69870 10.0.1.5 10.1.2.6 49152 443 6 10 5000 1700000000 1700000060 OK IPv4 0 0 1 0 3 us-east-1 egress - AMAZON";
    let mut p = VpcFlowParser::default();
    let recs = parse_all(&mut p, &format!("{header}\n{record}"));
    assert_eq!(recs.len(), 1);
    let m = &recs[0];
    assert_eq!(int(m, "version"), 6);
    assert_eq!(s(m, "resource_type"), "TransitGatewayAttachment");
    assert_eq!(s(m, "tgw_dst_vpc_account_id"), "210987654321");
    assert_eq!(
        s(m, "tgw_pair_attachment_id"),
        "tgw-attach-0f1e2d3c4b5a69870"
    );
    assert_eq!(int(m, "packets_lost_mtu_exceeded"), 1);
    assert_eq!(int(m, "packets_lost_no_route"), 0);
    assert_eq!(int(m, "tcp_flags"), 3);
    assert!(!m.contains_key("pkt_src_aws_service"));
    assert_eq!(s(m, "pkt_dst_aws_service"), "AMAZON");
    assert!(p.columns().any(|c| c == "tgw_src_eni"));
}

#[test]
fn explicit_format_v8_and_unknown_fields() {
    let mut p = VpcFlowParser::with_format(
        "${version} ${srcaddr} ${start} ${action} ${reject-reason} ${future-field}",
    )
    .unwrap();
    let recs = parse_all(&mut p, "8 10.0.0.1 1616729292 REJECT BPA something");
    assert_eq!(s(&recs[0], "reject_reason"), "BPA");
    assert_eq!(s(&recs[0], "future_field"), "something");
    // A header line in the stream overrides the explicit order.
    let recs = parse_all(&mut p, "action version\nACCEPT 2");
    assert_eq!(recs.len(), 1);
    assert_eq!(int(&recs[0], "version"), 2);
    assert_eq!(s(&recs[0], "action"), "ACCEPT");
    assert!(!recs[0].contains_key("timestamp"));
    // Format errors.
    assert_eq!(VpcFlowParser::with_format("").unwrap_err().field, "format");
    assert_eq!(
        VpcFlowParser::with_format("${version ${end}")
            .unwrap_err()
            .offset,
        0
    );
    assert_eq!(
        VpcFlowParser::with_format("version $end")
            .unwrap_err()
            .offset,
        8
    );
}

#[test]
fn header_detection() {
    assert!(is_header(b"version account-id interface-id srcaddr"));
    assert!(is_header(
        b"instance-id interface-id srcaddr dstaddr pkt-srcaddr pkt-dstaddr\n"
    ));
    assert!(is_header(b"version future-thing"));
    assert!(!is_header(b"eni-123 ingress"));
    assert!(!is_header(b"2 123456789010 eni-1"));
    assert!(!is_header(b"- eni-1235b8ca123456789 10.0.1.5"));
    assert!(!is_header(b"version 2"));
    assert!(!is_header(b""));
}

#[test]
fn errors() {
    let mut p = VpcFlowParser::default();
    let e = parse_one(
        &mut p,
        b"2 123 eni-1 1.1.1.1 2.2.2.2 http 22 6 20 4249 1418530010 1418530070 ACCEPT OK",
    )
    .unwrap_err();
    assert_eq!(
        (e.format, e.field.as_str(), e.offset),
        ("vpc_flow", "srcport", 28)
    );
    let e = parse_one(&mut p, b"2 123 eni-1 1.1.1.1").unwrap_err();
    assert_eq!(e.field, "dstaddr");
    assert!(e.message.contains("4 fields, the format has 14"), "{e}");
    let e = parse_one(&mut p, b"").unwrap_err();
    assert_eq!(e.field, "version");
    let e = parse_one(
        &mut p,
        b"2 123 eni-1 1.1.1.1 2.2.2.2 1 22 6 20 4249 99999999999999999 1418530070 ACCEPT OK",
    )
    .unwrap_err();
    assert_eq!(e.field, "start");
}

#[test]
fn no_panics_on_mutations_of_corpus() {
    for path in corpus_files("vpc-flow-logs", ".log") {
        let ls = lines(&path);
        // Feed the header first when the file has one, so mutations hit the custom layout.
        let header = ls.iter().find(|l| is_header(l)).cloned();
        let make = move || -> Box<dyn RecordParser> {
            let mut p = VpcFlowParser::default();
            if let Some(h) = &header {
                p.parse(h, &mut Vec::new()).unwrap();
            }
            Box::new(p)
        };
        for line in &ls {
            hammer(LOG_TYPE, &make, line);
        }
    }
}

/// A column for the round trip: name and a value strategy rendered as text (and expected value).
fn value_for(name: &'static str, int: bool) -> BoxedStrategy<(String, Option<Value>)> {
    if int {
        prop_oneof![
            Just(("-".to_owned(), None)),
            (0i64..4_000_000_000).prop_map(|n| (n.to_string(), Some(Value::Integer(n)))),
        ]
        .boxed()
    } else {
        let _ = name;
        prop_oneof![
            Just(("-".to_owned(), None)),
            "[a-zA-Z0-9:./_-]{2,30}".prop_map(|s| (s.clone(), Some(Value::from(s.as_str())))),
        ]
        .boxed()
    }
}

proptest! {
    #[test]
    fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let r = parse_one(&mut VpcFlowParser::default(), &data);
        assert_sane(LOG_TYPE, &data, &r);
    }

    #[test]
    fn round_trip_any_order(
        (picked, values) in proptest::sample::subsequence(KNOWN.to_vec(), 1..KNOWN.len())
            .prop_shuffle()
            .prop_flat_map(|cols| {
                let vals: Vec<_> = cols.iter().map(|(n, i)| value_for(n, *i)).collect();
                (Just(cols), vals)
            }),
        hyphens in any::<bool>(),
        via_header in any::<bool>(),
    ) {
        let names: Vec<String> = picked.iter()
            .map(|(n, _)| if hyphens { n.replace('_', "-") } else { (*n).to_owned() })
            .collect();
        let mut p = if via_header {
            VpcFlowParser::default()
        } else {
            let fmt: Vec<String> = names.iter().map(|n| format!("${{{n}}}")).collect();
            VpcFlowParser::with_format(&fmt.join(" ")).unwrap()
        };
        let mut out = Vec::new();
        if via_header {
            p.parse(&Bytes::from(names.join(" ")), &mut out).unwrap();
            prop_assert!(out.is_empty());
        }
        let line: Vec<&str> = values.iter().map(|(t, _)| t.as_str()).collect();
        let line = line.join(" ");
        // A record made only of lowercase names would itself look like a header: skip those.
        prop_assume!(!is_header(line.as_bytes()));
        p.parse(&Bytes::from(line.clone()), &mut out).map_err(|e| TestCaseError::fail(format!("{e}: {line}")))?;
        prop_assert_eq!(out.len(), 1);
        let m = &out[0];
        for ((name, _), (_, want)) in picked.iter().zip(&values) {
            prop_assert_eq!(m.get(*name).cloned(), want.clone(), "{}", name);
        }
        let start = picked.iter().zip(&values).find(|((n, _), _)| *n == "start").and_then(|(_, (_, v))| v.clone());
        let end = picked.iter().zip(&values).find(|((n, _), _)| *n == "end").and_then(|(_, (_, v))| v.clone());
        let want_ts = match start.or(end) {
            Some(Value::Integer(secs)) => Some(Value::Timestamp(chrono::DateTime::from_timestamp(secs, 0).unwrap())),
            _ => None,
        };
        prop_assert_eq!(m.get("timestamp").cloned(), want_ts);
    }
}
