//! Acceptance for the `aws_firehose` source, with requests shaped like AWS's documented ones
//! (moto's HTTP delivery omits the Firehose headers): a real `weir` process with
//! `aws_firehose` → `aws_parse(auto)` → `file`.

use std::io::Write;
use std::time::Duration;

use base64::Engine as _;
use weir_tests::{free_port, http_post, metric, wait_for_metrics, wait_for_port, Weir};

const KEY: &str = "s3cr3t-access-key";

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// A Firehose request body carrying `records`.
fn request(request_id: &str, records: &[Vec<u8>]) -> Vec<u8> {
    let records: Vec<serde_json::Value> = records
        .iter()
        .map(|r| serde_json::json!({ "data": b64(r) }))
        .collect();
    serde_json::json!({
        "requestId": request_id,
        "timestamp": 1_714_521_600_000u64,
        "records": records,
    })
    .to_string()
    .into_bytes()
}

fn post(port: u16, request_id: &str, key: &str, body: &[u8], gzip_encoded: bool) -> (u16, String) {
    let mut headers = vec![
        ("X-Amz-Firehose-Request-Id", request_id),
        ("X-Amz-Firehose-Access-Key", key),
        ("Content-Type", "application/json"),
    ];
    if gzip_encoded {
        headers.push(("Content-Encoding", "gzip"));
    }
    http_post(port, "/", &headers, body).expect("the endpoint answers")
}

/// A CloudWatch Logs subscription envelope from a Lambda function, gzip'd as subscriptions send it.
fn lambda_envelope() -> Vec<u8> {
    gzip(br#"{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"/aws/lambda/checkout","logStream":"2024/05/01/[$LATEST]abc","subscriptionFilters":["to-firehose"],"logEvents":[{"id":"3819","timestamp":1714521600000,"message":"START RequestId: 6f8e2a9c-1b2d-4c3e-8f9a-0b1c2d3e4f5a Version: $LATEST\n"},{"id":"3820","timestamp":1714521600100,"message":"REPORT RequestId: 6f8e2a9c-1b2d-4c3e-8f9a-0b1c2d3e4f5a\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 52 MB\t\n"}]}"#)
}

fn control_envelope() -> Vec<u8> {
    gzip(br#"{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1714521600000,"message":"CWL CONTROL MESSAGE: Checking health of destination"}]}"#)
}

/// A WAF log record as Firehose delivers them (compact JSON, one record each), from the corpus.
fn waf_record() -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/corpus/waf/docs/example-0.json");
    let value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("corpus WAF example")).unwrap();
    assert!(value.get("webaclId").is_some(), "a WAF record");
    value.to_string().into_bytes()
}

fn lines(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn pipeline(dir: &std::path::Path, port: u16, api: u16) {
    std::fs::write(
        dir.join("pipeline.toml"),
        format!(
            r#"
data_dir = "data"
api.address = "127.0.0.1:{api}"
[sources.firehose]
type = "aws_firehose"
address = "127.0.0.1:{port}"
access_keys = ["{KEY}"]
max_body_bytes = 1048576
[transforms.parse]
type = "aws_parse"
inputs = ["firehose"]
[sinks.out]
type = "file"
inputs = ["parse"]
path = "out/events.ndjson"
[sinks.bad]
type = "file"
inputs = ["firehose.errors", "parse.errors"]
path = "bad.ndjson"
"#
        ),
    )
    .unwrap();
}

#[test]
fn firehose_requests_are_acknowledged_only_after_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let (port, api) = (free_port(), free_port());
    pipeline(dir.path(), port, api);
    // `out` is a file at first, so the sink cannot create `out/events.ndjson`: delivery fails.
    std::fs::write(dir.path().join("out"), "in the way").unwrap();
    let weir = Weir::start(dir.path(), &["run", "-c", "pipeline.toml"], &[]);
    assert!(
        wait_for_port(port, Duration::from_secs(30)),
        "{}",
        weir.log_text()
    );

    // Sink failure: a non-200 answer, so Firehose retries.
    let body = request(
        "req-1",
        &[lambda_envelope(), control_envelope(), waf_record()],
    );
    let (status, answer) = post(port, "req-1", KEY, &body, false);
    assert_eq!(status, 500, "{answer}");
    assert!(answer.contains("\"requestId\":\"req-1\"") && answer.contains("errorMessage"));

    // The sink recovers; Firehose retries the very same request: delivered once more, 200.
    std::fs::remove_file(dir.path().join("out")).unwrap();
    let (status, answer) = post(port, "req-1", KEY, &body, false);
    assert_eq!(status, 200, "{answer}\n{}", weir.log_text());
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["requestId"], "req-1");
    assert!(answer["timestamp"].as_i64().unwrap() > 1_700_000_000_000);
    let events = lines(&dir.path().join("out/events.ndjson"));
    assert_eq!(
        events.len(),
        3,
        "two Lambda log events and one WAF record; no control message: {events:#?}"
    );
    assert_eq!(events[0]["aws"]["log_type"], "lambda");
    assert_eq!(events[0]["cloudwatch"]["log_group"], "/aws/lambda/checkout");
    assert_eq!(events[0]["cloudwatch"]["id"], "3819");
    assert_eq!(events[1]["duration_ms"], 12.34);
    assert_eq!(events[1]["max_memory_used_mb"], 52);
    assert_eq!(events[2]["aws"]["log_type"], "waf");
    assert_eq!(events[2]["firehose"]["request_id"], "req-1");

    // gzip'd body (Content-Encoding: gzip).
    let (status, answer) = post(
        port,
        "req-2",
        KEY,
        &gzip(&request("req-2", &[waf_record()])),
        true,
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(lines(&dir.path().join("out/events.ndjson")).len(), 4);

    // Wrong or missing access key: 401, nothing delivered.
    let (status, answer) = post(
        port,
        "req-3",
        "wrong",
        &request("req-3", &[waf_record()]),
        false,
    );
    assert_eq!(status, 401, "{answer}");
    let (status, _) = http_post(port, "/", &[], &request("req-4", &[waf_record()])).unwrap();
    assert_eq!(status, 401);

    // Malformed JSON: 400 with a clear error.
    let (status, answer) = post(
        port,
        "req-5",
        KEY,
        b"{\"requestId\": \"req-5\", \"records\": [",
        false,
    );
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("errorMessage"), "{answer}");

    // A body over `max_body_bytes`: 413.
    let big = request("req-7", &[vec![b'x'; 2 * 1024 * 1024]]);
    let (status, answer) = post(port, "req-7", KEY, &big, false);
    assert_eq!(status, 413, "{answer}");

    // A record that claims to be an envelope but is not: dead-lettered, the request still succeeds.
    let mut broken = lambda_envelope();
    broken.truncate(20);
    let (status, answer) = post(
        port,
        "req-6",
        KEY,
        &request("req-6", &[broken, waf_record()]),
        false,
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(lines(&dir.path().join("out/events.ndjson")).len(), 5);
    let bad = lines(&dir.path().join("bad.ndjson"));
    let (refused, records): (Vec<_>, Vec<_>) =
        bad.iter().partition(|e| e["error_type"].is_string());
    assert_eq!(records.len(), 1, "{bad:#?}");
    assert!(records[0]["error"]
        .as_str()
        .unwrap()
        .contains("not a CloudWatch Logs envelope"));
    // The authorized requests that could not be taken are reported too (not the unauthorized).
    let refused: Vec<&str> = refused
        .iter()
        .filter_map(|e| e["error_type"].as_str())
        .collect();
    assert_eq!(refused, ["malformed_request", "body_too_large"], "{bad:#?}");

    let metrics = wait_for_metrics(api, Duration::from_secs(5), |_| true);
    let errors = |kind: &str| {
        metric(
            &metrics,
            "weir_component_errors_total",
            &[("component_id", "firehose"), ("error_type", kind)],
        )
        .unwrap_or(0.0)
    };
    assert_eq!(errors("unauthorized"), 2.0);
    assert_eq!(errors("malformed_request"), 1.0);
    assert_eq!(errors("delivery_failed"), 1.0);
    assert_eq!(errors("invalid_record"), 1.0);
    assert_eq!(errors("body_too_large"), 1.0);
    assert_eq!(
        lines(&dir.path().join("out/events.ndjson")).len(),
        5,
        "nothing else arrived"
    );
}
