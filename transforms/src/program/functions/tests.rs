//! Weir's VRL functions: every documented example runs and gives its documented result, and
//! `parse_aws` gives what the `aws_parse` transform gives on the corpus.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use chrono::Utc;
use vrl::compiler::function::Example;
use vrl::value::{ObjectMap, Value};
use weir_aws::formats::registry;
use weir_core::component::{transform_now, BuildContext, ComponentKind, TransformConfig};
use weir_core::event::{Event, EventMetadata};

use super::parse_aws::{parse, Custom};
use crate::aws_parse::AwsParseConfig;
use crate::program::{CompileOptions, Outcome, Program, Runner};

fn event(fields: ObjectMap) -> Event {
    Event::new(
        fields,
        EventMetadata::new("test".into(), "test", Utc::now()),
    )
}

/// An example's result as JSON text, or its runtime error. A successful example runs as
/// `.result = { <source> }` (a run keeps the event, not the program's value); a failing one runs
/// as written, so its error's position is that of the documented source.
fn run_example(example: &Example) -> Result<serde_json::Value, String> {
    let source = match example.result {
        Ok(_) => format!(".result = {{\n{}\n}}", example.source),
        Err(_) => example.source.to_string(),
    };
    let options = CompileOptions {
        tables: Some(example_tables()),
        ..Default::default()
    };
    let program =
        Program::compile(&source, &options).map_err(|e| format!("compile: {}", e.diagnostic))?;
    let mut event = event(ObjectMap::new());
    match program.run(&mut event, &mut Runner::default()) {
        Outcome::Done => serde_json::to_value(event.fields.get("result").unwrap_or(&Value::Null))
            .map_err(|e| e.to_string()),
        Outcome::Failed(message) | Outcome::Aborted(message) => Err(message),
        Outcome::Split(_) => Err("split".into()),
    }
}

/// The tables the examples name: `test` (the people of Vector's examples) and `city` (MaxMind's
/// GeoIP2-City test database).
fn example_tables() -> weir_core::enrichment::EnrichmentTables {
    use crate::enrichment::{ColumnType, CsvTable};
    let people = "id,firstname,surname,date_of_birth\n\
        1,Bob,Smith,1985-05-20\n\
        2,Fred,Smith,1985-11-01\n\
        3,John,Jones,1990-01-01\n";
    let schema = std::collections::BTreeMap::from([
        ("id".to_string(), ColumnType::Integer),
        ("date_of_birth".to_string(), ColumnType::Timestamp(None)),
    ]);
    let test = CsvTable::from_bytes(people.as_bytes(), b',', &schema).expect("people");
    let city = crate::enrichment::test_database("GeoIP2-City-Test.mmdb");
    super::enrichment::tables_of(std::collections::BTreeMap::from([
        (
            "test",
            Box::new(test) as Box<dyn weir_core::enrichment::Table>,
        ),
        ("city", Box::new(city) as _),
    ]))
}

#[test]
fn every_example_gives_its_documented_result() {
    let mut checked = 0;
    for function in super::all() {
        for example in function.examples() {
            let actual = run_example(example);
            let expected = example
                .result
                .map(|json| serde_json::from_str::<serde_json::Value>(json).expect("example JSON"))
                .map_err(str::to_string);
            assert_eq!(
                actual,
                expected,
                "{}: {}\nactual: {}",
                function.identifier(),
                example.title,
                match &actual {
                    Ok(json) => serde_json::to_string_pretty(json).unwrap_or_default(),
                    Err(message) => message.clone(),
                }
            );
            checked += 1;
        }
    }
    assert!(checked >= 8, "{checked} examples");
}

fn corpus() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus")).to_path_buf()
}

/// The records of a corpus file: a `.log` file's lines, a `.json` file whole.
fn records(path: &Path) -> Vec<Bytes> {
    let Ok(bytes) = std::fs::read(path) else {
        return Vec::new();
    };
    let name = path.to_string_lossy();
    if name.ends_with(".expected.json") {
        Vec::new()
    } else if name.ends_with(".json") {
        vec![Bytes::from(bytes)]
    } else if name.ends_with(".log") {
        bytes
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| Bytes::copy_from_slice(l.strip_suffix(b"\r").unwrap_or(l)))
            .collect()
    } else {
        Vec::new()
    }
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// `parse_aws` (the parsing behind the function) and `aws_parse` on events without a stream
/// give the same fields for every record of the corpus, with `auto` and with each record's
/// format named; where the transform fails or consumes the record, the function fails or gives
/// no record.
#[test]
fn parse_aws_gives_what_aws_parse_gives_on_the_corpus() {
    let mut compared = 0;
    for format in registry::FORMATS {
        let mut paths = Vec::new();
        for folder in format.corpus {
            files(&corpus().join(folder), &mut paths);
        }
        for name in ["auto", format.name] {
            let config = AwsParseConfig {
                format: name.into(),
                ..AwsParseConfig::default()
            };
            let cx =
                BuildContext::standalone("p", ComponentKind::Transform, "aws_parse", ".".into());
            let mut transform = config.build(&cx).expect("aws_parse builds");
            let fixed = (name != "auto").then_some(format);
            for path in &paths {
                for raw in records(path) {
                    let mut fields = ObjectMap::new();
                    fields.insert("message".into(), Value::Bytes(raw.clone()));
                    let out = transform_now(transform.as_mut(), vec![event(fields)]);
                    let expected: Vec<Value> = out
                        .primary
                        .into_iter()
                        .map(|e| Value::Object(e.fields.into_map()))
                        .collect();
                    let actual = match parse(&raw, fixed, &Custom::default()) {
                        Ok(Value::Array(items)) => items,
                        Ok(object) => vec![object],
                        Err(_) => Vec::new(),
                    };
                    assert_eq!(
                        actual,
                        expected,
                        "{} ({name}): {}",
                        path.display(),
                        String::from_utf8_lossy(&raw)
                    );
                    compared += expected.len();
                }
            }
        }
    }
    assert!(compared > 500, "{compared} records compared");
}

/// The value at `path` (VRL path syntax) under `value`.
fn at<'a>(value: Option<&'a Value>, path: &str) -> Option<&'a Value> {
    let path = vrl::path::parse_value_path(path).ok()?;
    value?.get(&path)
}

fn compile(source: &str) -> Result<Program, String> {
    Program::compile(source, &CompileOptions::default()).map_err(|e| e.diagnostic)
}

/// Runs `source` on an event whose `message` is `message`.
fn run_on(source: &str, message: &str) -> (Outcome, Event) {
    let program = match compile(source) {
        Ok(program) => program,
        Err(diagnostic) => panic!("{diagnostic}"),
    };
    let mut fields = ObjectMap::new();
    fields.insert("message".into(), Value::from(message));
    let mut event = event(fields);
    (program.run(&mut event, &mut Runner::default()), event)
}

const VPC_HEADER: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status";
const VPC_CUSTOM: &str = "5 123456789012 vpc-0abc ACCEPT";

#[test]
fn bad_literal_arguments_are_compile_errors() {
    let error = compile(r#".a = parse_aws!(.message, format: "albb")"#).err();
    let error = error.unwrap_or_default();
    assert!(error.contains("unknown format `albb` (auto, "), "{error}");
    assert!(
        error.contains("vpc_flow"),
        "the valid names are listed: {error}"
    );
    let error = compile(r#".a = parse_aws!(.message, vpc_flow_format: "${version")"#).err();
    assert!(error.unwrap_or_default().contains("lacks a closing"));
    let error = compile(r#".a = parse_aws!(.message, fields: " ")"#).err();
    assert!(error.unwrap_or_default().contains("no field names"));
}

#[test]
fn arguments_may_be_computed_per_event() {
    let source = r#"
        # Not literals: made per call.
        format = if .message != "" { "vpc_flow" } else { "alb" }
        columns = if .message != "" { "version account-id vpc-id action" } else { null }
        .parsed = parse_aws!(.message, format: format, vpc_flow_format: columns)
    "#;
    let (outcome, event) = run_on(source, VPC_CUSTOM);
    assert_eq!(outcome, Outcome::Done);
    let parsed = event.fields.get("parsed");
    assert_eq!(at(parsed, "vpc_id"), Some(&Value::from("vpc-0abc")));
    assert_eq!(at(parsed, "account_id"), Some(&Value::from("123456789012")));
    let (outcome, _) = run_on(
        r#"f = if .message != "" { "nope" } else { "alb" }
        .parsed = parse_aws!(.message, format: f)"#,
        VPC_CUSTOM,
    );
    assert!(
        matches!(&outcome, Outcome::Failed(m) if m.contains("unknown format `nope`")),
        "{outcome:?}"
    );
}

#[test]
fn a_header_line_is_an_error_that_changes_no_later_call() {
    let (outcome, _) = run_on(".p = parse_aws!(.message)", VPC_HEADER);
    assert!(
        matches!(&outcome, Outcome::Failed(m) if m.contains("header line")),
        "{outcome:?}"
    );
    // The same thread's next call parses with the default columns, not the header's.
    let line = "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK";
    let (outcome, event) = run_on(".p = parse_aws!(.message, format: \"vpc_flow\")", line);
    assert_eq!(outcome, Outcome::Done);
    let p = event.fields.get("p");
    assert_eq!(at(p, "srcport"), Some(&Value::from(20641)));
}

#[test]
fn cloudfront_columns_come_from_the_fields_argument() {
    let source =
        r#".p = parse_aws!(.message, format: "cloudfront", fields: "date time c-ip sc-status")"#;
    let (outcome, event) = run_on(source, "2019-12-04\t21:02:31\t192.0.2.100\t200");
    assert_eq!(outcome, Outcome::Done);
    let p = event.fields.get("p");
    assert_eq!(at(p, "c_ip"), Some(&Value::from("192.0.2.100")));
    assert_eq!(at(p, "sc_status"), Some(&Value::from(200)));
}

#[test]
fn an_envelope_splits_the_event() {
    let records = r#"{"Records":[{"eventVersion":"1.08","eventTime":"2014-03-24T21:11:59Z","eventName":"CreateUser"},{"eventVersion":"1.08","eventTime":"2014-03-24T21:12:03Z","eventName":"AddUserToGroup"}]}"#;
    let (outcome, _) = run_on(". = parse_aws!(.message)", records);
    let Outcome::Split(events) = outcome else {
        panic!("{outcome:?}");
    };
    let names: Vec<_> = events.iter().map(|f| f.get("eventName").cloned()).collect();
    assert_eq!(
        names,
        [
            Some(Value::from("CreateUser")),
            Some(Value::from("AddUserToGroup"))
        ]
    );
}

/// Unlike `aws_parse` (which parses them with the default format), the log events of a
/// CloudWatch Logs message are parsed with the `vpc_flow_format` given.
#[test]
fn custom_formats_apply_to_cloudwatch_log_events() {
    let envelope = format!(
        r#"{{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"flows","logStream":"eni-1","subscriptionFilters":["f"],"logEvents":[{{"id":"1","timestamp":1714557600000,"message":"{VPC_CUSTOM}"}}]}}"#
    );
    let source =
        r#".p = parse_aws!(.message, vpc_flow_format: "version account-id vpc-id action")"#;
    let (outcome, event) = run_on(source, &envelope);
    assert_eq!(outcome, Outcome::Done);
    let first = at(event.fields.get("p"), "[0]");
    assert_eq!(at(first, "vpc_id"), Some(&Value::from("vpc-0abc")));
    assert_eq!(
        at(first, "cloudwatch.log_group"),
        Some(&Value::from("flows"))
    );
}

#[test]
fn aws_log_type_checks_stream_then_log_group_then_content() {
    let alb = std::fs::read_to_string(corpus().join("alb/docs/http.log")).unwrap_or_default();
    let source = r#"
        .by_content = aws_log_type!(.message)
        .by_stream = aws_log_type!(.message, stream: "/logs/123456789012_vpcflowlogs_us-east-1_fl-1_20240101T0000Z_abc.log")
        .by_group = aws_log_type!("plain text", log_group: "aws-waf-logs-prod")
        .by_log_stream = aws_log_type!("{}", log_group: "x", log_stream: "123456789012_CloudTrail_us-east-1")
        .none = aws_log_type!("plain text", stream: null, log_group: null)
    "#;
    let (outcome, event) = run_on(source, alb.trim());
    assert_eq!(outcome, Outcome::Done);
    let get = |k: &str| event.fields.get(k).cloned();
    assert_eq!(get("by_content"), Some(Value::from("alb")));
    assert_eq!(get("by_stream"), Some(Value::from("vpc_flow")));
    assert_eq!(get("by_group"), Some(Value::from("waf")));
    assert_eq!(get("by_log_stream"), Some(Value::from("cloudtrail")));
    assert_eq!(get("none"), Some(Value::Null));
}
