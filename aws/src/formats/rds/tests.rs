use bytes::Bytes;
use vrl::value::{ObjectMap, Value};

use super::*;
use crate::formats::json_reader::test_support::*;
use crate::formats::test_lines::MultilineAssembler;

/// Frames a downloaded PostgreSQL log file into records.
fn pg_records(data: &[u8]) -> Vec<Bytes> {
    let mut asm = MultilineAssembler::new(is_postgresql_record_start);
    let mut out = Vec::new();
    for line in data.split(|b| *b == b'\n') {
        out.extend(asm.push_line(line));
    }
    out.extend(asm.finish());
    out
}

fn pg(record: &[u8]) -> ObjectMap {
    let mut out = Vec::new();
    RdsPostgresqlParser
        .parse(&Bytes::copy_from_slice(record), &mut out)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.len(), 1);
    out.remove(0)
}

#[test]
fn every_postgresql_file() {
    // SOURCES.md record counts per file.
    let counts = [
        (
            "docs-Appendix.PostgreSQL.CommonDBATasks.Extensions-56.log",
            2,
        ),
        (
            "docs-Appendix.PostgreSQL.CommonDBATasks.Parameters-1.log",
            2,
        ),
        ("docs-PostgreSQL.ManagingTempFiles-2.log", 4),
        ("docs-USER_LogAccess.Concepts.PostgreSQL-1.log", 6),
        ("docs-USER_LogAccess.Concepts.PostgreSQL-2.log", 4),
    ];
    let files = input_files("rds/postgresql");
    assert_eq!(files.len(), counts.len() + 1);
    for path in files {
        let data = read(&path);
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let (records, want) = if is_envelope(&data) {
            (
                envelope_messages(&data)
                    .into_iter()
                    .map(|(m, _)| m)
                    .collect(),
                1,
            )
        } else {
            let want = counts
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, c)| *c)
                .unwrap();
            (pg_records(&data), want)
        };
        let out = parse_all(&mut RdsPostgresqlParser, &records);
        assert_eq!(out.len(), want, "{name}");
        for o in &out {
            assert_eq!(log_type(o), Some("rds_postgresql"));
            assert!(get(o, "timestamp").is_some());
            assert!(get(o, "process_id").is_some());
            assert_bytes_strings(&Value::Object(o.clone()));
        }
    }
}

#[test]
fn postgresql_fields() {
    let o = pg(b"2022-10-05 22:05:52 UTC:52.95.4.1(11335):postgres@labdb:[3639]:LOG: statement: SELECT feedback, s.sentiment,s.confidence\nFROM support,aws_comprehend.detect_sentiment(feedback, 'en') s\nORDER BY s.confidence DESC;");
    assert_eq!(get_ts_ms(&o, "timestamp"), Some(1_665_007_552_000));
    assert_eq!(get_str(&o, "remote_host"), Some("52.95.4.1"));
    assert_eq!(get_i64(&o, "remote_port"), Some(11335));
    assert_eq!(get_str(&o, "user_name"), Some("postgres"));
    assert_eq!(get_str(&o, "database_name"), Some("labdb"));
    assert_eq!(get_i64(&o, "process_id"), Some(3639));
    assert_eq!(get_str(&o, "error_severity"), Some("LOG"));
    assert!(get_str(&o, "message")
        .unwrap()
        .starts_with("statement: SELECT feedback"));
    assert!(get_str(&o, "message")
        .unwrap()
        .ends_with("\nORDER BY s.confidence DESC;"));
    // Background process: empty host, user, database.
    let o = pg(b"2018-09-18 21:13:15 UTC::@:[8097]:FATAL:  could not map anonymous shared memory: Cannot allocate memory\n");
    assert_eq!(get(&o, "remote_host"), None);
    assert_eq!(get(&o, "user_name"), None);
    assert_eq!(get(&o, "database_name"), None);
    assert_eq!(get_str(&o, "error_severity"), Some("FATAL"));
    assert_eq!(
        get_str(&o, "message"),
        Some("could not map anonymous shared memory: Cannot allocate memory")
    );
    // [local], IPv6, fractional seconds.
    let o = pg(b"2022-10-05 22:05:52.123 UTC:[local]:u@d:[1]:LOG: x");
    assert_eq!(get_str(&o, "remote_host"), Some("[local]"));
    assert_eq!(get_ts_ms(&o, "timestamp"), Some(1_665_007_552_123));
    let o = pg(b"2022-10-05 22:05:52 UTC:2001:db8::1(5432):u@d:[1]:ERROR: x");
    assert_eq!(get_str(&o, "remote_host"), Some("2001:db8::1"));
    assert_eq!(get_i64(&o, "remote_port"), Some(5432));
    // END OF LOG footer: consumed.
    let mut out = Vec::new();
    RdsPostgresqlParser
        .parse(
            &Bytes::from_static(b"----------------------- END OF LOG ----------------------"),
            &mut out,
        )
        .unwrap();
    assert!(out.is_empty());
}

#[test]
fn mysql_records() {
    let files = input_files("rds/mysql");
    assert_eq!(files.len(), 1);
    let messages = envelope_messages(&read(&files[0]));
    assert_eq!(messages.len(), 1);
    let records: Vec<Bytes> = messages.into_iter().map(|(m, _)| m).collect();
    let out = parse_all(&mut RdsMysqlParser, &records);
    let o = &out[0];
    assert_eq!(log_type(o), Some("rds_mysql"));
    assert_eq!(
        get(o, "timestamp").map(to_json),
        Some(serde_json::json!("2020-08-26T09:00:05.376465Z"))
    );
    assert_eq!(get_i64(o, "thread_id"), Some(0));
    assert_eq!(get_str(o, "priority"), Some("System"));
    assert_eq!(get_str(o, "error_code"), Some("MY-010116"));
    assert_eq!(get_str(o, "subsystem"), Some("Server"));
    assert_eq!(
        get_str(o, "message"),
        Some("/rdsdbbin/mysql/bin/mysqld (mysqld 8.0.17) starting as process 25111")
    );
    assert_bytes_strings(&Value::Object(o.clone()));
    // MySQL 5.7 / Aurora form.
    let mut out = Vec::new();
    RdsMysqlParser
        .parse(
            &Bytes::from_static(
                b"2020-08-25 11:22:34 4890 [Note] InnoDB: [x] Buffer pool(s) load completed",
            ),
            &mut out,
        )
        .unwrap();
    let o = &out[0];
    assert_eq!(get_ts_ms(o, "timestamp"), Some(1_598_354_554_000));
    assert_eq!(get_i64(o, "thread_id"), Some(4890));
    assert_eq!(get_str(o, "priority"), Some("Note"));
    assert_eq!(get(o, "error_code"), None);
    assert_eq!(
        get_str(o, "message"),
        Some("InnoDB: [x] Buffer pool(s) load completed")
    );
    let mut out = Vec::new();
    RdsMysqlParser
        .parse(
            &Bytes::from_static(b"2020-08-25T11:22:34.5Z 0 [Warning] [Server] odd"),
            &mut out,
        )
        .unwrap();
    assert_eq!(get_str(&out[0], "message"), Some("[Server] odd"));
}

#[test]
fn datetime_prefix() {
    let p = |s: &str| {
        parse_datetime_prefix(s.as_bytes()).map(|(t, n)| (t.timestamp_nanos_opt().unwrap(), n))
    };
    assert_eq!(
        p("2020-08-26T09:00:05.376465Z x"),
        Some((1_598_432_405_376_465_000, 27))
    );
    assert_eq!(
        p("2020-08-26 09:00:05 x"),
        Some((1_598_432_405_000_000_000, 19))
    );
    assert_eq!(
        p("2020-08-26 09:00:05.1234567891234"),
        Some((1_598_432_405_123_456_789, 33))
    );
    for bad in [
        "",
        "2020-08-26",
        "2020-02-30 00:00:00",
        "2020-08-26X09:00:05",
        "2020-08-26 09:00:05.",
        "2020-08-26 24:00:00",
        "20a0-08-26 09:00:05",
    ] {
        assert_eq!(p(bad), None, "{bad}");
    }
}

#[test]
fn errors_and_malformed_input() {
    let pg_cases: &[(&[u8], &str)] = &[
        (b"not a log line", "timestamp"),
        (b"2022-10-05 22:05:52 PST:h(1):u@d:[1]:LOG: x", "timestamp"),
        (
            b"2022-10-05 22:05:52 UTC:host:u@d:[1]:LOG: x",
            "remote_host",
        ),
        (
            b"2022-10-05 22:05:52 UTC:host(x):u@d:[1]:LOG: x",
            "remote_port",
        ),
        (b"2022-10-05 22:05:52 UTC::ud:[1]:LOG: x", "user_name"),
        (b"2022-10-05 22:05:52 UTC::@:1:LOG: x", "process_id"),
        (b"2022-10-05 22:05:52 UTC::@:[x]:LOG: x", "process_id"),
        (b"2022-10-05 22:05:52 UTC::@:[1]:log: x", "error_severity"),
        (b"2022-10-05 22:05:52 UTC::@:[1]:LOG", "error_severity"),
    ];
    for (rec, field) in pg_cases {
        let e = parse_err(&mut RdsPostgresqlParser, rec);
        assert_eq!(
            (e.format, e.field.as_str()),
            ("rds_postgresql", *field),
            "{e}"
        );
    }
    let my_cases: &[(&[u8], &str)] = &[
        (b"# Time: 2020-08-25T11:22:34", "timestamp"),
        (b"2020-08-25 11:22:34", "thread_id"),
        (b"2020-08-25 11:22:34 12 Note", "priority"),
        (b"2020-08-25 11:22:34 12 [Note", "priority"),
        (b"2020-08-25 11:22:3412 [Note] x", "thread_id"),
    ];
    for (rec, field) in my_cases {
        let e = parse_err(&mut RdsMysqlParser, rec);
        assert_eq!((e.format, e.field.as_str()), ("rds_mysql", *field), "{e}");
    }
    for path in input_files("rds") {
        for m in mutations(&read(&path)) {
            no_panic(&mut RdsPostgresqlParser, &m);
            no_panic(&mut RdsMysqlParser, &m);
        }
    }
}

/// A PostgreSQL line and what its events say: (line, class, activity, OCSF `status_id`, ECS
/// `event.outcome` or `""` for none).
type Expected = (&'static [u8], i64, i64, Option<i64>, &'static str);

/// PostgreSQL's connection lines (none in the corpus), a session's statement and a background
/// process's line, and a MySQL error: the class, activity, status and fields of each, valid in
/// both schemas.
#[test]
fn mappings_in_both_schemas() {
    use crate::normalize::validate::{ecs::EcsFields, ocsf::OcsfSchema};
    use crate::normalize::{fields, normalize, OutputSchema};
    let ocsf = OcsfSchema::load_shared().unwrap();
    let ecs = EcsFields::load_shared().unwrap();
    let lines: [Expected; 7] = [
        (b"2023-11-29 09:23:51 UTC:10.0.2.55(57562):bob@labdb:[29735]:LOG:  connection authorized: user=bob database=labdb SSL enabled (protocol=TLSv1.3)", 3002, 1, Some(1), "success"),
        (b"2023-11-29 09:23:51 UTC:10.0.2.55(57562):bob@labdb:[29735]:FATAL:  password authentication failed for user \"bob\"", 3002, 1, Some(2), "failure"),
        (b"2023-11-29 09:24:51 UTC:[local]:bob@labdb:[29735]:LOG:  disconnection: session time: 0:01:00.002 user=bob database=labdb host=[local]", 3002, 2, Some(1), "success"),
        (b"2023-11-29 09:23:51 UTC:10.0.2.55(57561):[unknown]@[unknown]:[29734]:LOG:  connection received: host=10.0.2.55 port=57561", 0, 99, None, ""),
        (b"2023-11-29 09:23:52 UTC:ip-10-0-2-55.ec2.internal(57562):bob@labdb:[29735]:LOG:  duration: 100.50 ms  statement: SELECT 1", 6005, 4, None, ""),
        (b"2023-11-29 09:23:53 UTC:10.0.2.55(57562):bob@labdb:[29735]:ERROR:  relation \"x\" does not exist at character 15", 6005, 99, Some(2), "failure"),
        (b"2023-11-29 09:23:53 UTC::@:[355]:LOG:  checkpoint starting: time", 0, 99, None, ""),
    ];
    for (line, class, activity, status, outcome) in lines {
        let native = pg(line);
        let event = normalize(OutputSchema::Ocsf, native.clone());
        assert_eq!(ocsf.check(&event), vec![], "{event:?}");
        let text = String::from_utf8_lossy(line);
        assert_eq!(fields::get_int(&event, "class_uid"), Some(class), "{text}");
        assert_eq!(
            fields::get_int(&event, "activity_id"),
            Some(activity),
            "{text}"
        );
        assert_eq!(fields::get_int(&event, "status_id"), status, "{text}");
        let event = normalize(OutputSchema::Ecs, native);
        assert_eq!(ecs.check(&event), vec![], "{event:?}");
        let want = Some(outcome).filter(|o| !o.is_empty());
        assert_eq!(fields::get_str(&event, "event.outcome"), want, "{text}");
    }
    let event = normalize(OutputSchema::Ocsf, pg(lines[1].0));
    assert_eq!(fields::get_str(&event, "user.name"), Some("bob"));
    assert_eq!(fields::get_str(&event, "service.name"), Some("labdb"));
    assert_eq!(fields::get_int(&event, "severity_id"), Some(6));
    assert_eq!(
        fields::get(&event, "is_remote"),
        Some(&Value::Boolean(true))
    );
    assert_eq!(
        fields::get_str(&event, "src_endpoint.ip"),
        Some("10.0.2.55")
    );
    let event = normalize(OutputSchema::Ocsf, pg(lines[2].0));
    assert_eq!(
        fields::get(&event, "is_remote"),
        Some(&Value::Boolean(false))
    );
    assert_eq!(
        fields::get_str(&event, "unmapped.remote_host"),
        Some("[local]")
    );
    let event = normalize(OutputSchema::Ocsf, pg(lines[4].0));
    assert_eq!(fields::get_int(&event, "duration"), Some(101));
    assert_eq!(
        fields::get_str(&event, "src_endpoint.hostname"),
        Some("ip-10-0-2-55.ec2.internal")
    );
    assert_eq!(fields::get_str(&event, "database.name"), Some("labdb"));
    let event = normalize(OutputSchema::Ecs, pg(lines[4].0));
    assert_eq!(fields::get_int(&event, "event.duration"), Some(100_500_000));
    assert_eq!(fields::get_str(&event, "user.name"), Some("bob"));
    assert_eq!(
        fields::get_str(&event, "aws.rds.database_name"),
        Some("labdb")
    );
    let event = normalize(OutputSchema::Ecs, pg(lines[3].0));
    assert_eq!(
        fields::get_str(&event, "aws.rds.user_name"),
        Some("[unknown]")
    );

    let mut out = Vec::new();
    RdsMysqlParser
        .parse(
            &Bytes::from_static(
                b"2020-08-26T09:00:05.376465Z 0 [ERROR] [MY-010119] [Server] Aborting",
            ),
            &mut out,
        )
        .unwrap();
    let native = out.remove(0);
    let event = normalize(OutputSchema::Ocsf, native.clone());
    assert_eq!(ocsf.check(&event), vec![], "{event:?}");
    assert_eq!(fields::get_int(&event, "severity_id"), Some(3));
    assert_eq!(
        fields::get_str(&event, "metadata.event_code"),
        Some("MY-010119")
    );
    let event = normalize(OutputSchema::Ecs, native);
    assert_eq!(ecs.check(&event), vec![], "{event:?}");
    assert_eq!(fields::get_str(&event, "event.code"), Some("MY-010119"));
    assert_eq!(fields::get_str(&event, "event.provider"), Some("Server"));
}
