use std::io::Write;

use bytes::Bytes;
use vrl::value::{ObjectMap, Value};

use super::*;
use crate::formats::json_reader::test_support::*;

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn parse(data: &[u8]) -> Vec<ObjectMap> {
    let mut out = Vec::new();
    CloudWatchLogsParser::default()
        .parse(&Bytes::copy_from_slice(data), &mut out)
        .unwrap_or_else(|e| panic!("{e}"));
    out
}

/// Every envelope in the corpus (all formats delivered through CloudWatch Logs).
fn envelope_files() -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for dir in [
        "cloudwatch-subscription",
        "apigateway",
        "lambda-cloudwatch",
        "rds",
        "cloudtrail/cloudwatch-logs",
    ] {
        files.extend(
            input_files(dir)
                .into_iter()
                .filter(|p| is_envelope(&read(p))),
        );
    }
    files
}

/// Name map, envelope JSON → our fields: logGroup → log_group, logStream → log_stream,
/// owner → owner, subscriptionFilters → subscription_filters, logEvents[i].id → id,
/// logEvents[i].timestamp (epoch ms) → timestamp, logEvents[i].message → message.
fn check_against_envelope(out: &[ObjectMap], env: &serde_json::Value) {
    let events = env["logEvents"].as_array().unwrap();
    if env["messageType"] == "CONTROL_MESSAGE" {
        assert!(out.is_empty());
        return;
    }
    assert_eq!(out.len(), events.len());
    for (o, e) in out.iter().zip(events) {
        assert_eq!(get_str(o, "message"), e["message"].as_str());
        assert_eq!(get_ts_ms(o, "timestamp"), e["timestamp"].as_i64());
        let id = e["id"].as_str().filter(|s| !s.is_empty());
        assert_eq!(get_str(o, "id"), id);
        assert_eq!(get_str(o, "log_group"), env["logGroup"].as_str());
        assert_eq!(get_str(o, "log_stream"), env["logStream"].as_str());
        assert_eq!(get_str(o, "owner"), env["owner"].as_str());
        assert_eq!(
            get(o, "subscription_filters").map(to_json).as_ref(),
            Some(&env["subscriptionFilters"])
        );
        assert_eq!(log_type(o), Some("cloudwatch_logs"));
        assert_bytes_strings(&Value::Object(o.clone()));
    }
}

#[test]
fn every_envelope_in_the_corpus_plain_gzip_and_concatenated() {
    let files = envelope_files();
    assert!(files.len() >= 9, "{}", files.len());
    let mut all_plain = Vec::new();
    let mut all_gzip = Vec::new();
    let mut all_expected = Vec::new();
    for path in &files {
        let data = read(path);
        let env = read_json(path);
        let out = parse(&data);
        check_against_envelope(&out, &env);
        // gzip-compressed, as delivered.
        assert_eq!(parse(&gzip(&data)), out, "{}", path.display());
        all_plain.extend_from_slice(&data);
        all_gzip.extend_from_slice(&gzip(&data));
        all_expected.extend(out);
    }
    // Concatenated envelopes (no separator; the files end with or without newlines).
    assert_eq!(parse(&all_plain), all_expected);
    // Concatenated gzip members.
    assert_eq!(parse(&all_gzip), all_expected);
}

#[test]
fn control_message_is_consumed() {
    let out = parse(&read_corpus(
        "cloudwatch-subscription/otel/control-message.json",
    ));
    assert!(out.is_empty());
}

/// `powertools/lambda-awslogs-event.json` is the Lambda trigger event; its `.expected.json` is
/// the decoded envelope (name map as in `check_against_envelope`).
#[test]
fn lambda_trigger_event_matches_expected() {
    let out = parse(&read_corpus(
        "cloudwatch-subscription/powertools/lambda-awslogs-event.json",
    ));
    let expected = read_json(std::path::Path::new(&format!(
        "{CORPUS}/cloudwatch-subscription/powertools/lambda-awslogs-event.expected.json"
    )));
    assert_eq!(out.len(), 2);
    check_against_envelope(&out, &expected);
    assert_eq!(
        get_str(&out[1], "message"),
        Some("[ERROR] Second test message")
    );
}

/// `vrl-expected/vrl-doc-example.expected.json` uses VRL's names. Name map (VRL → ours):
/// `log_events[i].id` → `id`, `log_events[i].message` → `message`, `log_events[i].timestamp`
/// (RFC 3339 string) → `timestamp` (timestamp), `log_group` → `log_group`, `log_stream` →
/// `log_stream`, `owner` → `owner`, `subscription_filters` → `subscription_filters`,
/// `message_type` → not emitted (`DATA_MESSAGE` ⇒ one output per event).
#[test]
fn vrl_example_matches_expected() {
    let out = parse(&read_corpus(
        "cloudwatch-subscription/vrl-expected/vrl-doc-example.json",
    ));
    let exp = read_json(std::path::Path::new(&format!(
        "{CORPUS}/cloudwatch-subscription/vrl-expected/vrl-doc-example.expected.json"
    )));
    assert_eq!(exp["message_type"], "DATA_MESSAGE");
    let events = exp["log_events"].as_array().unwrap();
    assert_eq!(out.len(), events.len());
    for (o, e) in out.iter().zip(events) {
        assert_eq!(get_str(o, "id"), e["id"].as_str());
        assert_eq!(get_str(o, "message"), e["message"].as_str());
        assert_eq!(
            get(o, "timestamp").map(to_json).as_ref(),
            Some(&e["timestamp"])
        );
        assert_eq!(get_str(o, "log_group"), exp["log_group"].as_str());
        assert_eq!(get_str(o, "log_stream"), exp["log_stream"].as_str());
        assert_eq!(get_str(o, "owner"), exp["owner"].as_str());
        assert_eq!(
            get(o, "subscription_filters").map(to_json).as_ref(),
            Some(&exp["subscription_filters"])
        );
    }
}

#[test]
fn numeric_ids_extracted_fields_and_policy_level() {
    let out = parse(
        br#"{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","subscriptionFilters":["f"],"policyLevel":"ACCOUNT_LEVEL_POLICY","logEvents":[{"id":12345,"timestamp":1000,"message":"a\"b","extractedFields":{"x":"1"}}]}"#,
    );
    assert_eq!(get_str(&out[0], "id"), Some("12345"));
    assert_eq!(get_str(&out[0], "message"), Some("a\"b"));
    assert_eq!(
        get_str(&out[0], "policy_level"),
        Some("ACCOUNT_LEVEL_POLICY")
    );
    assert_eq!(get_str(&out[0], "extracted_fields.x"), Some("1"));
    assert_eq!(get_ts_ms(&out[0], "timestamp"), Some(1000));
}

#[test]
fn errors() {
    let mut p = CloudWatchLogsParser::default();
    let e = parse_err(&mut p, br#"{"owner":"1"}"#);
    assert_eq!(e.field, "messageType");
    let e = parse_err(&mut p, br#"{"messageType":"OTHER"}"#);
    assert_eq!(e.field, "messageType");
    let e = parse_err(&mut p, br#"{"messageType":"DATA_MESSAGE"}"#);
    assert_eq!(e.field, "logEvents");
    let e = parse_err(
        &mut p,
        br#"{"messageType":"DATA_MESSAGE","logEvents":[{"id":"1","message":"x"}]}"#,
    );
    assert_eq!(e.field, "logEvents[0].timestamp");
    let e = parse_err(
        &mut p,
        br#"{"messageType":"DATA_MESSAGE","logEvents":[{"id":"1","timestamp":1}]}"#,
    );
    assert_eq!(e.field, "logEvents[0].message");
    let e = parse_err(
        &mut p,
        br#"{"messageType":"CONTROL_MESSAGE","logEvents":[]} xyz"#,
    );
    assert_eq!((e.field.as_str(), e.offset), ("envelope", 49), "{e}");
    let e = parse_err(&mut p, b"\x1f\x8b\x08\x00not really gzip");
    assert_eq!(e.field, "gzip");
    let e = parse_err(&mut p, br#"{"awslogs":{"data":"!!!"}}"#);
    assert_eq!(e.field, "awslogs.data");
    let e = parse_err(&mut p, b"   ");
    assert_eq!(e.field, "envelope");
    let big = gzip(&vec![b' '; 10_000]);
    let e = parse_err(
        &mut CloudWatchLogsParser::with_max_decompressed_size(1000),
        &big,
    );
    assert!(e.message.contains("limit"), "{e}");
}

#[test]
fn malformed_input_never_panics() {
    let mut p = CloudWatchLogsParser::default();
    for path in envelope_files() {
        let data = read(&path);
        for m in mutations(&data) {
            no_panic(&mut p, &m);
        }
        let z = gzip(&data);
        for m in mutations(&z) {
            no_panic(&mut p, &m);
        }
    }
}
