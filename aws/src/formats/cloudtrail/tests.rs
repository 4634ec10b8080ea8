use bytes::Bytes;
use vrl::value::{ObjectMap, Value};

use super::*;
use crate::formats::json_reader::test_support::*;
use crate::formats::json_reader::value::parse_rfc3339;
use crate::formats::json_reader::RecordsSplitter;

/// The output without the fields we add, as serde_json, for comparison with the input event.
fn without_added(map: &ObjectMap) -> serde_json::Value {
    let mut m = map.clone();
    m.remove("timestamp");
    m.remove("aws");
    to_json(&Value::Object(m))
}

fn check_event(out: &ObjectMap, input: &serde_json::Value) {
    assert_eq!(&without_added(out), input);
    let kind = if input["eventType"] == "AwsCloudTrailInsight" {
        "insight"
    } else {
        "event"
    };
    assert_eq!(log_type(out), Some("cloudtrail"));
    assert_eq!(get_str(out, "aws.cloudtrail_kind"), Some(kind));
    let want = parse_rfc3339(input["eventTime"].as_str().unwrap()).unwrap();
    assert_eq!(out.get("timestamp"), Some(&Value::Timestamp(want)));
    assert_bytes_strings(&Value::Object(out.clone()));
}

#[test]
fn every_single_event_file() {
    let files = input_files("cloudtrail/docs-events");
    assert!(files.len() >= 100, "{}", files.len());
    for path in files {
        let data = read(&path);
        let mut out = Vec::new();
        CloudTrailParser::new()
            .parse(&data, &mut out)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(out.len(), 1, "{}", path.display());
        check_event(&out[0], &read_json(&path));
        // The form events carry: top-level members in a record, equal to the map.
        let mut fields = Vec::new();
        CloudTrailParser::new()
            .parse_fields(&data, &mut fields)
            .unwrap();
        assert!(fields[0].is_record(), "{}", path.display());
        assert!(fields[0] == out[0], "{}", path.display());
    }
}

#[test]
fn every_records_file_whole_and_streamed() {
    let files = input_files("cloudtrail/docs-records");
    assert!(files.len() >= 20);
    let mut total = 0;
    for path in files {
        let data = read(&path);
        let doc = read_json(&path);
        let want = doc["Records"].as_array().unwrap();
        // Whole document.
        let mut out = Vec::new();
        CloudTrailParser::new().parse(&data, &mut out).unwrap();
        assert_eq!(out.len(), want.len(), "{}", path.display());
        for (o, w) in out.iter().zip(want) {
            check_event(o, w);
        }
        // Streamed: split into elements, parse each.
        let mut elements = Vec::new();
        let mut splitter = RecordsSplitter::default();
        for chunk in data.chunks(97) {
            splitter.push(chunk, &mut elements).unwrap();
        }
        splitter.finish().unwrap();
        let mut streamed = Vec::new();
        for e in &elements {
            CloudTrailParser::new().parse(e, &mut streamed).unwrap();
        }
        assert_eq!(streamed, out);
        total += out.len();
    }
    // SOURCES.md: 165 records in the cloudtrail folder = 120 single events + 36 in Records files
    // + 9 (invalid) CloudWatch Logs messages.
    assert_eq!(total, 36);
}

#[test]
fn insights_events_are_marked() {
    let data =
        read_corpus("cloudtrail/docs-records/aws-cloudtrail--cloudtrail-log-file-examples--9.json");
    let mut out = Vec::new();
    CloudTrailParser::new().parse(&data, &mut out).unwrap();
    assert_eq!(out.len(), 2);
    for o in &out {
        assert_eq!(log_type(o), Some("cloudtrail"));
        assert_eq!(get_str(o, "aws.cloudtrail_kind"), Some("insight"));
        assert!(get_str(o, "insightDetails.state").is_some());
    }
    let data =
        read_corpus("cloudtrail/docs-events/aws-cloudtrail--cloudtrail-event-reference--1.json");
    let mut out = Vec::new();
    CloudTrailParser::new().parse(&data, &mut out).unwrap();
    assert_eq!(get_str(&out[0], "aws.cloudtrail_kind"), Some("insight"));
    assert_eq!(get_ts_ms(&out[0], "timestamp"), Some(1_595_364_960_000));
    assert_eq!(
        get_f64(
            &out[0],
            "insightDetails.insightContext.statistics.baseline.average"
        ),
        Some(0.0000882145)
    );
}

#[test]
fn digest_files() {
    for path in input_files("cloudtrail/digest") {
        let data = read(&path);
        let mut out = Vec::new();
        CloudTrailParser::new().parse(&data, &mut out).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(log_type(&out[0]), Some("cloudtrail_digest"));
        assert_eq!(get_str(&out[0], "aws.cloudtrail_kind"), Some("digest"));
        let json = read_json(&path);
        assert_eq!(without_added(&out[0]), json);
        let end = parse_rfc3339(json["digestEndTime"].as_str().unwrap()).unwrap();
        assert_eq!(out[0].get("timestamp"), Some(&Value::Timestamp(end)));
        // Skipped when not wanted.
        let mut out = Vec::new();
        CloudTrailParser::skip_digests()
            .parse(&data, &mut out)
            .unwrap();
        assert!(out.is_empty());
    }
}

/// SOURCES.md: the CloudWatch Logs examples carry truncated event JSON (`{"eventVersion":"1.03",
/// "userIdentity":{"type":"Root"}` — the closing brace is missing): each must fail clearly.
#[test]
fn cloudwatch_delivered_doc_events_are_invalid() {
    let files = input_files("cloudtrail/cloudwatch-logs");
    assert_eq!(files.len(), 3);
    let mut n = 0;
    for path in files {
        for (message, _) in envelope_messages(&read(&path)) {
            let err = parse_err(&mut CloudTrailParser::new(), &message);
            assert_eq!(err.format, "cloudtrail");
            assert_eq!(err.field, "record");
            assert_eq!(err.offset, message.len(), "{err}");
            assert!(err.message.contains("end of input"), "{err}");
            n += 1;
        }
    }
    assert_eq!(n, 9);
}

#[test]
fn eventbridge_envelope_and_errors() {
    let eb = br#"{"version":"0","id":"1","detail-type":"AWS API Call via CloudTrail","source":"aws.s3","time":"2024-01-01T00:00:00Z","detail":{"eventVersion":"1.09","eventTime":"2024-01-01T00:00:01Z","eventName":"PutObject","requestParameters":{"a.b":{"c":null}}}}"#;
    let mut out = Vec::new();
    CloudTrailParser::new()
        .parse(&Bytes::from_static(eb), &mut out)
        .unwrap();
    assert_eq!(get_str(&out[0], "eventName"), Some("PutObject"));
    assert_eq!(get_ts_ms(&out[0], "timestamp"), Some(1_704_067_201_000));
    assert_eq!(
        get(&out[0], "requestParameters").map(to_json),
        Some(serde_json::json!({"a.b":{"c":null}}))
    );

    let mut p = CloudTrailParser::new();
    let err = parse_err(&mut p, br#"{"eventName":"X"}"#);
    assert_eq!(err.field, "eventTime");
    let err = parse_err(&mut p, br#"{"eventName":"X","eventTime":"yesterday"}"#);
    assert_eq!((err.field.as_str(), err.offset), ("eventTime", 17));
    let err = parse_err(
        &mut p,
        br#"{"Records":[{"eventTime":"2024-01-01T00:00:00Z"},{"eventTime":1}]}"#,
    );
    assert_eq!(err.field, "Records[1].eventTime");
    let err = parse_err(&mut p, br#"{"Records":[1]}"#);
    assert_eq!(err.field, "Records[0]");
    let err = parse_err(&mut p, br#"{"Records":{}}"#);
    assert_eq!(err.field, "Records");
    let err = parse_err(&mut p, br#"{"digestStartTime":"2024-01-01T00:00:00Z"}"#);
    assert_eq!(
        (err.format, err.field.as_str()),
        ("cloudtrail_digest", "digestEndTime")
    );
    let err = parse_err(&mut p, b"[]");
    assert!(err.message.contains("expected a JSON object"));
    // A failed document leaves nothing behind in `out`.
    let mut out = vec![ObjectMap::new()];
    let bad = Bytes::from_static(br#"{"Records":[{"eventTime":"2024-01-01T00:00:00Z"},{}]}"#);
    assert!(p.parse(&bad, &mut out).is_err());
    assert_eq!(out.len(), 1);
}

#[test]
fn malformed_input_never_panics() {
    let mut p = CloudTrailParser::new();
    for path in input_files("cloudtrail/docs-records").into_iter().take(4) {
        for m in mutations(&read(&path)) {
            no_panic(&mut p, &m);
        }
    }
    for m in mutations(&read_corpus("cloudtrail/digest/docs-digest-2.json")) {
        no_panic(&mut p, &m);
    }
}
