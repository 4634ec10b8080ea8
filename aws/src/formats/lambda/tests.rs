use bytes::Bytes;
use vrl::value::{ObjectMap, Value};

use super::*;
use crate::formats::json_reader::test_support::*;

/// Cuts a console/CLI log-stream excerpt (`docs/*.log`) into CloudWatch events, as SOURCES.md
/// describes them: every `START`/`END`/`REPORT`/`INIT_*` line is one event; an `XRAY TraceId`
/// line belongs to the `REPORT` before it (the docs wrap it); a runtime line (time + request id)
/// starts an event that continues over the following lines until the next event start (multi-line
/// messages); any other line is one event of plain output.
fn frame(data: &[u8]) -> Vec<Bytes> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut continues = false;
    for line in data.split(|b| *b == b'\n') {
        if line.is_empty() {
            continue;
        }
        let platform = PLATFORM.iter().any(|(kw, ..)| line.starts_with(kw));
        let runtime = runtime_line(&Bytes::copy_from_slice(line), line, &mut ObjectMap::new());
        if line.starts_with(b"XRAY TraceId") {
            if let Some(last) = out.last_mut() {
                last.push(b'\n');
                last.extend_from_slice(line);
                continue;
            }
        }
        if !platform && !runtime && continues {
            if let Some(last) = out.last_mut() {
                last.push(b'\n');
                last.extend_from_slice(line);
                continue;
            }
        }
        continues = runtime;
        out.push(line.to_vec());
    }
    out.into_iter().map(Bytes::from).collect()
}

fn parse_one(rec: &[u8]) -> ObjectMap {
    let mut out = Vec::new();
    LambdaParser
        .parse(&Bytes::copy_from_slice(rec), &mut out)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.len(), 1);
    out.remove(0)
}

fn is_platform(o: &ObjectMap) -> bool {
    get_str(o, "type").is_some_and(|t| t.starts_with("platform."))
}

#[test]
fn every_corpus_file() {
    // SOURCES.md record counts = platform lines per file (application output is extra).
    let counts = [
        ("best-practices-1.log", 1),
        ("java-logging-1.log", 3),
        ("java-logging-11.log", 1),
        ("nodejs-logging-1.log", 3),
        ("powershell-logging-1.log", 3),
        ("python-logging-1.log", 3),
        ("ruby-logging-3.log", 3),
        ("lambda_log.json", 1),
    ];
    let files = input_files("lambda-cloudwatch");
    assert_eq!(files.len(), counts.len());
    for path in files {
        let data = read(&path);
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let records: Vec<Bytes> = if is_envelope(&data) {
            envelope_messages(&data)
                .into_iter()
                .map(|(m, _)| m)
                .collect()
        } else {
            frame(&data)
        };
        let out = parse_all(&mut LambdaParser, &records);
        let platform = out.iter().filter(|o| is_platform(o)).count();
        let want = counts.iter().find(|(n, _)| *n == name).unwrap().1;
        assert_eq!(platform, want, "{name}");
        for o in &out {
            assert_eq!(log_type(o), Some("lambda"));
            assert_bytes_strings(&Value::Object(o.clone()));
            if get_str(o, "type") == Some("platform.report") {
                assert!(get_str(o, "request_id").is_some(), "{name}");
                assert!(get_f64(o, "duration_ms").is_some(), "{name}");
                assert!(get_i64(o, "billed_duration_ms").is_some(), "{name}");
                assert!(get_i64(o, "memory_size_mb").is_some(), "{name}");
                assert!(get_i64(o, "max_memory_used_mb").is_some(), "{name}");
                assert_eq!(get(o, "unparsed_trailing"), None, "{name}");
            }
        }
    }
}

#[test]
fn report_lines() {
    // Tabs lost in the doc: `Billed Duration: 100 ms Memory Size: 128 MB`.
    let o = parse_one(&read_corpus("lambda-cloudwatch/docs/best-practices-1.log"));
    assert_eq!(get_str(&o, "type"), Some("platform.report"));
    assert_eq!(
        get_str(&o, "request_id"),
        Some("3604209a-e9a3-11e6-939a-754dd98c7be3")
    );
    assert_eq!(get_f64(&o, "duration_ms"), Some(12.34));
    assert_eq!(get_i64(&o, "billed_duration_ms"), Some(100));
    assert_eq!(get_i64(&o, "memory_size_mb"), Some(128));
    assert_eq!(get_i64(&o, "max_memory_used_mb"), Some(18));
    assert_eq!(get(&o, "init_duration_ms"), None);
    assert_eq!(get(&o, "timestamp"), None);

    let records = frame(&read_corpus("lambda-cloudwatch/docs/nodejs-logging-1.log"));
    let report = parse_one(records.last().unwrap());
    assert_eq!(get_f64(&report, "duration_ms"), Some(128.83));
    assert_eq!(get_i64(&report, "billed_duration_ms"), Some(200));
    assert_eq!(get_i64(&report, "memory_size_mb"), Some(128));
    assert_eq!(get_i64(&report, "max_memory_used_mb"), Some(74));
    assert_eq!(get_f64(&report, "init_duration_ms"), Some(166.62));
    assert_eq!(
        get_str(&report, "xray_trace_id"),
        Some("1-5d9d007f-0a8c7fd02xmpl480aed55ef0")
    );
    assert_eq!(
        get_str(&report, "xray_segment_id"),
        Some("3d752xmpl1bbe37e")
    );
    assert_eq!(get(&report, "xray_sampled"), Some(&Value::Boolean(true)));

    // Python doc: double spaces instead of tabs, XRAY on the next line.
    let records = frame(&read_corpus("lambda-cloudwatch/docs/python-logging-1.log"));
    let report = records
        .iter()
        .map(|r| parse_one(r))
        .find(|o| get_str(o, "type") == Some("platform.report"))
        .unwrap();
    assert_eq!(get_f64(&report, "duration_ms"), Some(15.74));
    assert_eq!(get_i64(&report, "billed_duration_ms"), Some(16));
    assert_eq!(get_f64(&report, "init_duration_ms"), Some(130.49));
    assert_eq!(
        get_str(&report, "xray_segment_id"),
        Some("07f5xmpl2d1f6f85")
    );

    // Via CloudWatch Logs: trailing tab and newline, `47 ms \t`.
    let msgs = envelope_messages(&read_corpus(
        "cloudwatch-subscription/docs/lambda-services-cloudwatchlogs-decoded.json",
    ));
    let o = parse_one(&msgs[0].0);
    assert_eq!(get_i64(&o, "billed_duration_ms"), Some(47));
    assert_eq!(get_i64(&o, "memory_size_mb"), Some(192));
    assert_eq!(get_f64(&o, "duration_ms"), Some(46.84));

    // Newer fields and unknown parts.
    let o = parse_one(b"REPORT RequestId: a\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB\tRestore Duration: 300.10 ms\tBilled Restore Duration: 100 ms\tStatus: timeout\tError Type: Runtime.ExitError\tFuture Thing: 7\t\n");
    assert_eq!(get_f64(&o, "restore_duration_ms"), Some(300.1));
    assert_eq!(get_i64(&o, "billed_restore_duration_ms"), Some(100));
    assert_eq!(get_str(&o, "status"), Some("timeout"));
    assert_eq!(get_str(&o, "error_type"), Some("Runtime.ExitError"));
    assert_eq!(get_str(&o, "unparsed_trailing"), Some("Future Thing: 7"));
}

#[test]
fn start_end_init_lines() {
    let o = parse_one(b"START RequestId: 6bc28136-xmpl-4365-b021-0ce6b2e64ab0 Version: $LATEST\n");
    assert_eq!(get_str(&o, "type"), Some("platform.start"));
    assert_eq!(
        get_str(&o, "request_id"),
        Some("6bc28136-xmpl-4365-b021-0ce6b2e64ab0")
    );
    assert_eq!(get_str(&o, "version"), Some("$LATEST"));
    let o = parse_one(b"END RequestId: 6bc28136-xmpl-4365-b021-0ce6b2e64ab0");
    assert_eq!(get_str(&o, "type"), Some("platform.end"));
    assert_eq!(
        get_str(&o, "request_id"),
        Some("6bc28136-xmpl-4365-b021-0ce6b2e64ab0")
    );
    let o = parse_one(b"INIT_START Runtime Version: python:3.9.v16\tRuntime Version ARN: arn:aws:lambda:eu-west-1::runtime:07a48df201798d627f2b950f03bb227aab4a655a1d019c3296406f95937e2525\n");
    assert_eq!(get_str(&o, "type"), Some("platform.initStart"));
    assert_eq!(get_str(&o, "runtime_version"), Some("python:3.9.v16"));
    assert!(get_str(&o, "runtime_version_arn")
        .unwrap()
        .starts_with("arn:aws:lambda:eu-west-1::runtime:"));
    let o = parse_one(b"INIT_REPORT Init Duration: 10005.38 ms\tPhase: init\tStatus: timeout");
    assert_eq!(get_f64(&o, "init_duration_ms"), Some(10005.38));
    assert_eq!(get_str(&o, "phase"), Some("init"));
    assert_eq!(get_str(&o, "status"), Some("timeout"));
}

#[test]
fn runtime_lines() {
    let records = frame(&read_corpus("lambda-cloudwatch/docs/nodejs-logging-1.log"));
    let o = parse_one(&records[1]);
    assert_eq!(get_str(&o, "type"), Some("function"));
    assert_eq!(
        get(&o, "timestamp").map(to_json),
        Some(serde_json::json!("2019-06-07T19:11:20.562Z"))
    );
    assert_eq!(
        get_str(&o, "request_id"),
        Some("c793869b-ee49-115b-a5b6-4fd21e8dedac")
    );
    assert_eq!(get_str(&o, "level"), Some("INFO"));
    let msg = get_str(&o, "message").unwrap();
    assert!(
        msg.starts_with("ENVIRONMENT VARIABLES\n{\n") && msg.ends_with("\n}"),
        "{msg}"
    );
    let o = parse_one(&records[3]);
    assert_eq!(
        (get_str(&o, "level"), get_str(&o, "message")),
        (Some("WARN"), Some("Event not processed."))
    );
    // Python logging.
    let o =
        parse_one(b"[ERROR]\t2023-11-29T10:00:00.123Z\tabc-123\tsomething broke\nTraceback...\n");
    assert_eq!(get_str(&o, "level"), Some("ERROR"));
    assert_eq!(get_str(&o, "request_id"), Some("abc-123"));
    assert_eq!(
        get_str(&o, "message"),
        Some("something broke\nTraceback...")
    );
    assert_eq!(get_ts_ms(&o, "timestamp"), Some(1_701_252_000_123));
    // Timeout and Log4j.
    let o = parse_one(b"2023-11-29T10:00:03.000Z 6bc28136-xmpl-4365-b021-0ce6b2e64ab0 Task timed out after 3.00 seconds");
    assert_eq!(
        get_str(&o, "message"),
        Some("Task timed out after 3.00 seconds")
    );
    assert_eq!(get(&o, "level"), None);
    let records = frame(&read_corpus("lambda-cloudwatch/docs/java-logging-11.log"));
    let o = parse_one(&records[1]);
    assert_eq!(get_str(&o, "level"), Some("INFO"));
    assert_eq!(
        get_str(&o, "request_id"),
        Some("6bc28136-xmpl-4365-b021-0ce6b2e64ab0")
    );
    assert!(get_str(&o, "message")
        .unwrap()
        .starts_with("Handler - ENVIRONMENT VARIABLES:\n{"));
    // Node without level.
    let o = parse_one(b"2019-06-07T19:11:20.562Z\tid-1\thello\tworld");
    assert_eq!(
        (get(&o, "level"), get_str(&o, "message")),
        (None, Some("hello\tworld"))
    );
    // Plain output.
    for plain in [
        &b"## EVENT"[..],
        b"[Information] - ## Event",
        b"{'key': 'value'}",
        b"{\"not\": \"lambda json\"}",
        b"{broken",
        b"2019-06-07 not a time",
    ] {
        let o = parse_one(plain);
        assert_eq!(get_str(&o, "type"), Some("function"));
        assert_eq!(get_str(&o, "message").map(str::as_bytes), Some(plain));
        assert_eq!(get(&o, "timestamp"), None);
    }
}

#[test]
fn json_format() {
    let o = parse_one(br#"{"time":"2023-11-29T10:00:00.000Z","type":"platform.report","record":{"requestId":"r1","metrics":{"durationMs":12.5,"billedDurationMs":13,"memorySizeMB":128,"maxMemoryUsedMB":52,"initDurationMs":100},"tracing":{"spanId":"s","type":"X-Amzn-Trace-Id","value":"Root=1-65;Parent=abc;Sampled=1"},"status":"success"}}"#);
    assert_eq!(get_str(&o, "type"), Some("platform.report"));
    assert_eq!(get_ts_ms(&o, "timestamp"), Some(1_701_252_000_000));
    assert_eq!(get_str(&o, "request_id"), Some("r1"));
    assert_eq!(get_f64(&o, "duration_ms"), Some(12.5));
    assert_eq!(get_i64(&o, "billed_duration_ms"), Some(13));
    assert_eq!(get_i64(&o, "memory_size_mb"), Some(128));
    assert_eq!(get_i64(&o, "max_memory_used_mb"), Some(52));
    assert_eq!(get_f64(&o, "init_duration_ms"), Some(100.0));
    assert_eq!(get_str(&o, "xray_trace_id"), Some("1-65"));
    assert_eq!(get_str(&o, "xray_segment_id"), Some("abc"));
    assert_eq!(get(&o, "xray_sampled"), Some(&Value::Boolean(true)));
    assert_eq!(get_str(&o, "status"), Some("success"));
    assert_eq!(get_str(&o, "record.tracing.spanId"), Some("s"));
    let o = parse_one(br#"{"time":"2023-11-29T10:00:00Z","type":"platform.start","record":{"requestId":"r1","version":"$LATEST"}}"#);
    assert_eq!(
        (get_str(&o, "request_id"), get_str(&o, "version")),
        (Some("r1"), Some("$LATEST"))
    );
    let o = parse_one(br#"{"timestamp":"2023-11-29T10:00:00.5Z","level":"INFO","requestId":"r1","message":{"a":1},"logger":"root"}"#);
    assert_eq!(get_str(&o, "type"), Some("function"));
    assert_eq!(get_str(&o, "level"), Some("INFO"));
    assert_eq!(
        get(&o, "message").map(to_json),
        Some(serde_json::json!({"a":1}))
    );
    assert_eq!(get_str(&o, "record.logger"), Some("root"));
    assert_eq!(get_ts_ms(&o, "timestamp"), Some(1_701_252_000_500));
}

#[test]
fn errors_and_malformed_input() {
    let cases: &[(&[u8], &str)] = &[
        (b"REPORT RequestId: a\tDuration: abc ms", "duration_ms"),
        (
            b"REPORT RequestId: a\tBilled Duration: 1.5 ms",
            "billed_duration_ms",
        ),
        (
            b"REPORT RequestId: a\tMemory Size: lots MB",
            "memory_size_mb",
        ),
        (b"REPORT RequestId: a\tSampled: maybe", "xray_sampled"),
        (b"REPORT Duration: 1 ms", "request_id"),
        (b"START Version: 1", "request_id"),
        (b"END ", "request_id"),
        (
            br#"{"time":"noon","type":"platform.start","record":{}}"#,
            "timestamp",
        ),
        (
            br#"{"timestamp":"noon","level":"INFO","message":"x"}"#,
            "timestamp",
        ),
    ];
    for (rec, field) in cases {
        let e = parse_err(&mut LambdaParser, rec);
        assert_eq!((e.format, e.field.as_str()), ("lambda", *field), "{e}");
    }
    let e = parse_err(&mut LambdaParser, b"REPORT RequestId: a\tDuration: abc ms");
    assert_eq!(e.offset, 30);
    for path in input_files("lambda-cloudwatch") {
        for m in mutations(&read(&path)) {
            no_panic(&mut LambdaParser, &m);
        }
    }
    for m in mutations(br#"{"time":"2023-11-29T10:00:00.000Z","type":"platform.report","record":{"requestId":"r1","metrics":{"durationMs":12.5},"tracing":{"value":"Root=1;Sampled=1"}}}"#) {
        no_panic(&mut LambdaParser, &m);
    }
}

/// JSON-format lines and a line with its origin (the function's log group): the classes,
/// activities and `faas` fields, valid in both schemas.
#[test]
fn mappings_in_both_schemas() {
    use crate::normalize::validate::{ecs::EcsFields, ocsf::OcsfSchema};
    use crate::normalize::{fields, normalize, OutputSchema};
    let ocsf = OcsfSchema::load_shared().unwrap();
    let ecs = EcsFields::load_shared().unwrap();
    let report = br#"{"time":"2023-11-29T10:00:00.000Z","type":"platform.report","record":{"requestId":"r1","metrics":{"durationMs":12.5,"billedDurationMs":13,"memorySizeMB":128,"maxMemoryUsedMB":52,"initDurationMs":100},"status":"timeout","errorType":"Sandbox.Timedout"}}"#;
    let init = br#"{"time":"2023-11-29T10:00:00Z","type":"platform.initStart","record":{"initializationType":"on-demand","phase":"init","runtimeVersion":"python:3.12.v18","functionName":"checkout","functionVersion":"$LATEST"}}"#;
    let app = br#"{"timestamp":"2023-11-29T10:00:00.5Z","level":"ERROR","requestId":"r1","message":"boom"}"#;
    let mut end = parse_one(b"END RequestId: r1");
    let mut origin = ObjectMap::new();
    origin.insert("type".into(), Value::from("function"));
    origin.insert("name".into(), Value::from("checkout"));
    if let Some(Value::Object(aws)) = end.get_mut("aws") {
        aws.insert("resource".into(), Value::Object(origin));
    }
    for (native, class, activity, severity) in [
        (parse_one(report), 6002, 99, 1),
        (parse_one(init), 6002, 3, 1),
        (end, 6002, 4, 1),
        (parse_one(app), 0, 99, 3),
    ] {
        let event = normalize(OutputSchema::Ocsf, native.clone());
        assert_eq!(ocsf.check(&event), vec![], "{event:?}");
        assert_eq!(fields::get_int(&event, "class_uid"), Some(class));
        assert_eq!(fields::get_int(&event, "activity_id"), Some(activity));
        assert_eq!(fields::get_int(&event, "severity_id"), Some(severity));
        assert_eq!(
            fields::get_str(&event, "metadata.correlation_uid").is_some(),
            class != 6002 || activity != 3
        );
        let event = normalize(OutputSchema::Ecs, native);
        assert_eq!(ecs.check(&event), vec![], "{event:?}");
    }
    let event = normalize(OutputSchema::Ocsf, parse_one(report));
    assert_eq!(fields::get_int(&event, "duration"), Some(13));
    assert_eq!(fields::get_int(&event, "status_id"), Some(2));
    assert_eq!(fields::get_str(&event, "status_code"), Some("timeout"));
    assert_eq!(
        fields::get_str(&event, "status_detail"),
        Some("Sandbox.Timedout")
    );
    assert_eq!(fields::get_str(&event, "app.name"), Some("AWS Lambda"));
    let event = normalize(OutputSchema::Ecs, parse_one(report));
    assert_eq!(fields::get_int(&event, "event.duration"), Some(12_500_000));
    assert_eq!(fields::get_str(&event, "event.outcome"), Some("failure"));
    assert_eq!(
        fields::get(&event, "faas.coldstart"),
        Some(&Value::Boolean(true))
    );
    assert_eq!(fields::get_str(&event, "faas.execution"), Some("r1"));
    let event = normalize(OutputSchema::Ecs, parse_one(init));
    assert_eq!(fields::get_str(&event, "faas.name"), Some("checkout"));
    assert_eq!(
        fields::get_str(&event, "aws.lambda.record.functionName"),
        Some("checkout")
    );
    let event = normalize(OutputSchema::Ecs, parse_one(app));
    assert_eq!(fields::get_str(&event, "log.level"), Some("ERROR"));
    assert_eq!(fields::get_str(&event, "message"), Some("boom"));
    assert_eq!(fields::get_str(&event, "aws.lambda.type"), Some("function"));
}
