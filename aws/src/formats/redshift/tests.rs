use bytes::Bytes;
use vrl::value::Value;

use super::*;
use crate::formats::json_reader::test_support::*;
use crate::formats::test_lines::MultilineAssembler;

/// The `*.expected.json` files are Splunk HEC items written by signalfx/aws-log-collector.
/// Name map (expected → ours): `event` → the record text as framed (one line, or the assembled
/// multi-line user activity record); `time` (epoch seconds, float) → `timestamp`; `fields.*` are
/// forwarder metadata (region, account, tags) not present in the log record: not compared;
/// `source`/`sourcetype` are Splunk constants: not compared.
fn expected(stem: &str) -> Vec<(String, i64)> {
    let json = read_json(std::path::Path::new(&format!(
        "{CORPUS}/redshift-audit/signalfx/{stem}.expected.json"
    )));
    json.as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let time_ms = (e["time"].as_f64().unwrap() * 1000.0).round() as i64;
            (e["event"].as_str().unwrap().to_owned(), time_ms)
        })
        .collect()
}

fn check_expected(
    records: &[Bytes],
    parser: &mut dyn RecordParser,
    stem: &str,
) -> Vec<vrl::value::ObjectMap> {
    let exp = expected(stem);
    assert_eq!(records.len(), exp.len(), "{stem}");
    let out = parse_all(parser, records);
    assert_eq!(out.len(), exp.len());
    for ((rec, o), (event, time_ms)) in records.iter().zip(&out).zip(&exp) {
        assert_eq!(std::str::from_utf8(rec).unwrap(), event);
        assert_eq!(get_ts_ms(o, "timestamp"), Some(*time_ms), "{event}");
        assert_bytes_strings(&Value::Object(o.clone()));
    }
    out
}

#[test]
fn connection_log_matches_expected() {
    let records = lines(&read_corpus(
        "redshift-audit/signalfx/redshift_connectionlog.log",
    ));
    let out = check_expected(
        &records,
        &mut RedshiftConnectionParser,
        "redshift_connectionlog",
    );
    let o = &out[0];
    assert_eq!(log_type(o), Some("redshift_connection"));
    assert_eq!(get_str(o, "event"), Some("authenticated"));
    assert_eq!(get_str(&out[1], "event"), Some("initiating session"));
    assert_eq!(get_str(o, "remotehost"), Some("[local]"));
    assert_eq!(get(o, "remoteport"), None);
    assert_eq!(get_i64(o, "pid"), Some(5108));
    assert_eq!(get_str(o, "dbname"), Some("dev"));
    assert_eq!(get_str(o, "username"), Some("rdsdb"));
    assert_eq!(get_str(o, "authmethod"), Some("Ident"));
    assert_eq!(get_i64(o, "duration"), Some(0));
    assert_eq!(get_i64(o, "mtu"), Some(0));
    assert_eq!(get(o, "sslversion"), None);
    assert_eq!(get(o, "unparsed_trailing"), None);
}

#[test]
fn user_log_matches_expected() {
    let records = lines(&read_corpus("redshift-audit/signalfx/redshift_userlog.log"));
    let out = check_expected(&records, &mut RedshiftUserParser, "redshift_userlog");
    let o = &out[0];
    assert_eq!(log_type(o), Some("redshift_user"));
    assert_eq!(get_i64(o, "userid"), Some(1));
    assert_eq!(get_str(o, "username"), Some("rdsdb"));
    assert_eq!(get(o, "oldusername"), None);
    assert_eq!(get_str(o, "action"), Some("alter"));
    assert_eq!(get_i64(o, "usecreatedb"), Some(1));
    assert_eq!(get_i64(o, "usesuper"), Some(1));
    assert_eq!(get_i64(o, "usecatupd"), Some(1));
    assert_eq!(get_i64(o, "valuntil"), Some(i64::MAX));
    assert_eq!(get_i64(o, "pid"), Some(14872));
    assert_eq!(get_i64(o, "xid"), Some(1061));
}

#[test]
fn user_activity_log_matches_expected() {
    let data = read_corpus("redshift-audit/signalfx/redshift_useractivitylog.log");
    let mut asm = MultilineAssembler::user_activity();
    let mut records = Vec::new();
    for line in data.split(|b| *b == b'\n') {
        records.extend(asm.push_line(line));
    }
    records.extend(asm.finish());
    let out = check_expected(
        &records,
        &mut RedshiftUserActivityParser,
        "redshift_useractivitylog",
    );
    let exp = expected("redshift_useractivitylog");
    for (o, (event, _)) in out.iter().zip(&exp) {
        assert_eq!(log_type(o), Some("redshift_user_activity"));
        let sql = &event[event.find("LOG: ").unwrap() + 5..];
        assert_eq!(get_str(o, "query"), Some(sql));
        assert_eq!(get_str(o, "db"), Some("dev"));
        assert_eq!(get_str(o, "user"), Some("rdsdb"));
        assert_eq!(get_i64(o, "userid"), Some(1));
    }
    assert_eq!(get_i64(&out[2], "pid"), Some(23170));
    assert_eq!(get_i64(&out[2], "xid"), Some(245636));
    assert!(get_str(&out[2], "query")
        .unwrap()
        .contains("\n        bc.temporary as temporary,\n"));
    // The same with CRLF line endings and with the lines' terminators still attached.
    let crlf: Vec<u8> = data
        .iter()
        .flat_map(|b| {
            if *b == b'\n' {
                vec![b'\r', b'\n']
            } else {
                vec![*b]
            }
        })
        .collect();
    let mut asm = MultilineAssembler::user_activity();
    let mut again = Vec::new();
    for line in crlf.split_inclusive(|b| *b == b'\n') {
        again.extend(asm.push_line(line));
    }
    again.extend(asm.finish());
    assert_eq!(again, records);
}

#[test]
fn assembler_edge_cases() {
    let mut asm = MultilineAssembler::user_activity().with_max_record_size(20);
    assert_eq!(asm.push_line(b""), None);
    assert_eq!(asm.push_line(b"orphan"), None);
    assert_eq!(
        asm.push_line(b"'2020-x"),
        Some(Bytes::from_static(b"orphan"))
    );
    assert_eq!(asm.push_line(b"0123456789"), None);
    // Would exceed 20 bytes: emitted, the line starts a new piece.
    assert_eq!(
        asm.push_line(b"abcdefghij"),
        Some(Bytes::from_static(b"'2020-x\n0123456789"))
    );
    assert_eq!(asm.push_line(b""), None);
    assert_eq!(asm.finish(), Some(Bytes::from_static(b"abcdefghij")));
    assert_eq!(asm.finish(), None);
    let e = parse_err(&mut RedshiftUserActivityParser, b"orphan");
    assert_eq!(e.field, "timestamp");
}

#[test]
fn recordtime_formats() {
    let t = |s: &str| parse_recordtime(s.as_bytes()).map(|t| t.timestamp_millis());
    assert_eq!(t("Mon, 7 Dec 2020 20:01:55:177"), Some(1_607_371_315_177));
    assert_eq!(t("7 Dec 2020 20:01:55"), Some(1_607_371_315_000));
    assert_eq!(t("Mon, 7 Dec 2020 20:01:55.5"), Some(1_607_371_315_500));
    for bad in [
        "",
        "Mon,",
        "Mon, 7 Foo 2020 20:01:55:177",
        "Mon, 32 Dec 2020 20:01:55",
        "Mon, 7 Dec 2020 25:01:55",
        "Mon, 7 Dec 2020 20:01:55:1777",
        "7 Dec 2020 20:01:55 x",
    ] {
        assert_eq!(t(bad), None, "{bad}");
    }
}

#[test]
fn errors_and_malformed_input() {
    let e = parse_err(&mut RedshiftConnectionParser, b"authenticated |yesterday|x");
    assert_eq!((e.field.as_str(), e.offset), ("recordtime", 15));
    let e = parse_err(&mut RedshiftConnectionParser, b"authenticated");
    assert_eq!(e.field, "recordtime");
    let e = parse_err(
        &mut RedshiftConnectionParser,
        b"authenticated |Mon, 7 Dec 2020 20:01:55:177|h |port",
    );
    assert_eq!((e.field.as_str(), e.offset), ("remoteport", 47));
    let e = parse_err(
        &mut RedshiftConnectionParser,
        b" |Mon, 7 Dec 2020 20:01:55:177",
    );
    assert_eq!(e.field, "event");
    let e = parse_err(&mut RedshiftUserParser, b"x|rdsdb");
    assert_eq!(e.field, "userid");
    let e = parse_err(&mut RedshiftUserParser, b"|rdsdb");
    assert_eq!(e.field, "userid");
    // Trailing fields are kept.
    let mut out = Vec::new();
    let rec =
        Bytes::from_static(b"1|u| |alter |1|1|1|x|1|2|Thu, 3 Dec 2020 10:18:38:416|new1| |new2");
    RedshiftUserParser.parse(&rec, &mut out).unwrap();
    assert_eq!(get_str(&out[0], "unparsed_trailing"), Some("new1|new2"));
    assert_eq!(get_str(&out[0], "valuntil"), Some("x"));
    let cases: &[(&[u8], &str)] = &[
        (b"'2020-12-08T22:00:03Z UTC db=dev ]' LOG: x", "db"),
        (b"'2020-12-08T22:00:03Z UTC [ db=dev LOG: x", "db"),
        (b"'2020-12-08T22:00:03Z UTC [ db=dev pid=x ]' LOG: x", "pid"),
        (b"'2020-12-08T22:00:03Z UTC [ db=dev junk ]' LOG: x", "db"),
        (
            b"'2020-12-08T22:00:03Z UTC [ db=dev ]' STATEMENT: x",
            "query",
        ),
        (b"'2020-13-08T22:00:03Z UTC [ db=dev ]' LOG: x", "timestamp"),
    ];
    for (rec, field) in cases {
        let e = parse_err(&mut RedshiftUserActivityParser, rec);
        assert_eq!(e.field, *field, "{e}");
    }
    for f in input_files("redshift-audit") {
        if f.to_string_lossy().ends_with(".log") {
            for m in mutations(&read(&f)) {
                no_panic(&mut RedshiftConnectionParser, &m);
                no_panic(&mut RedshiftUserParser, &m);
                no_panic(&mut RedshiftUserActivityParser, &m);
            }
        }
    }
}

/// Connection log records from a network client (none in the corpus: its logins are local),
/// and user log records of each action: the class, activity, status and fields, valid in both
/// schemas.
#[test]
fn mappings_in_both_schemas() {
    use crate::normalize::validate::{ecs::EcsFields, ocsf::OcsfSchema};
    use crate::normalize::{fields, normalize, OutputSchema};
    let ocsf = OcsfSchema::load_shared().unwrap();
    let ecs = EcsFields::load_shared().unwrap();
    let parse = |parser: &mut dyn RecordParser, line: &str| {
        let mut out = Vec::new();
        parser
            .parse(&Bytes::copy_from_slice(line.as_bytes()), &mut out)
            .unwrap();
        out.remove(0)
    };
    let failure = "authentication failure |Tue, 8 Dec 2020 10:01:55:177|10.0.0.9 |50218 |5109|dev |alice |password |0|TLSv1.2 |ECDHE-RSA-AES256-GCM-SHA384 |0| | | |psql | | | |";
    let logoff = "disconnecting session |Tue, 8 Dec 2020 10:11:55:177|10.0.0.9 |50218 |5109|dev |alice |password |600123456|TLSv1.2 |ECDHE-RSA-AES256-GCM-SHA384 |0| | | |psql | | | |";
    for (line, activity, status) in [(failure, 1, 2), (logoff, 2, 1)] {
        let native = parse(&mut RedshiftConnectionParser, line);
        let event = normalize(OutputSchema::Ocsf, native.clone());
        assert_eq!(ocsf.check(&event), vec![], "{event:?}");
        assert_eq!(fields::get_int(&event, "class_uid"), Some(3002));
        assert_eq!(fields::get_int(&event, "activity_id"), Some(activity));
        assert_eq!(fields::get_int(&event, "status_id"), Some(status));
        assert_eq!(fields::get_str(&event, "src_endpoint.ip"), Some("10.0.0.9"));
        assert_eq!(fields::get_str(&event, "service.name"), Some("dev"));
        assert_eq!(
            fields::get(&event, "is_remote"),
            Some(&Value::Boolean(true))
        );
        let event = normalize(OutputSchema::Ecs, native);
        assert_eq!(ecs.check(&event), vec![], "{event:?}");
        assert_eq!(fields::get_str(&event, "source.ip"), Some("10.0.0.9"));
        assert_eq!(fields::get_str(&event, "tls.version"), Some("1.2"));
    }
    let event = normalize(
        OutputSchema::Ocsf,
        parse(&mut RedshiftConnectionParser, logoff),
    );
    assert_eq!(fields::get_int(&event, "duration"), Some(600_123));
    let event = normalize(
        OutputSchema::Ecs,
        parse(&mut RedshiftConnectionParser, logoff),
    );
    assert_eq!(
        fields::get_int(&event, "event.duration"),
        Some(600_123_456_000)
    );

    for (line, activity, kind) in [
        (
            "101|bob | |create |0|0|0| |14873|1062|Thu, 3 Dec 2020 10:19:38:416",
            1,
            "creation",
        ),
        (
            "101|bob | |drop |0|0|0| |14874|1063|Thu, 3 Dec 2020 10:20:38:416",
            6,
            "deletion",
        ),
        (
            "101|robert |bob |rename |0|0|0| |14875|1064|Thu, 3 Dec 2020 10:21:38:416",
            99,
            "change",
        ),
    ] {
        let native = parse(&mut RedshiftUserParser, line);
        let event = normalize(OutputSchema::Ocsf, native.clone());
        assert_eq!(ocsf.check(&event), vec![], "{event:?}");
        assert_eq!(fields::get_int(&event, "class_uid"), Some(3001));
        assert_eq!(fields::get_int(&event, "activity_id"), Some(activity));
        assert_eq!(fields::get_str(&event, "user.uid"), Some("101"));
        assert_eq!(fields::get_int(&event, "user.type_id"), Some(1));
        let event = normalize(OutputSchema::Ecs, native);
        assert_eq!(ecs.check(&event), vec![], "{event:?}");
        assert_eq!(fields::get_str(&event, "user.target.id"), Some("101"));
        assert_eq!(
            fields::get(&event, "event.type"),
            Some(&Value::Array(vec![Value::from("user"), Value::from(kind)]))
        );
    }
    let event = normalize(
        OutputSchema::Ecs,
        parse(
            &mut RedshiftUserParser,
            "101|robert |bob |rename |0|0|0| |14875|1064|Thu, 3 Dec 2020 10:21:38:416",
        ),
    );
    assert_eq!(fields::get_str(&event, "user.target.name"), Some("bob"));
    assert_eq!(fields::get_str(&event, "user.changes.name"), Some("robert"));
}
