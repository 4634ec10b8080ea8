use vrl::value::Value;

use super::*;
use crate::formats::json_reader::test_support::*;
use crate::formats::json_reader::value::parse_rfc3339;

fn objects(body: &[u8]) -> Vec<S3ObjectEvent> {
    match parse_notification(body).unwrap_or_else(|e| panic!("{e}")) {
        Notification::Objects(o) => o,
        Notification::Test => panic!("unexpected test event"),
    }
}

/// Checks a direct (`Records`) event against its JSON, with the name map
/// `s3.bucket.name` → bucket, `s3.object.key` (URL-decoded) → key, `s3.object.size` → size,
/// `s3.object.eTag` → etag, `s3.object.versionId` → version_id, `s3.object.sequencer` →
/// sequencer, `eventName` → event_name, `eventTime` → event_time/timestamp, `awsRegion` → region,
/// `responseElements.x-amz-request-id` → request_id, `requestParameters.sourceIPAddress` →
/// source_ip_address, `userIdentity.principalId` → requester, `s3.configurationId` →
/// configuration_id.
fn check_record(e: &S3ObjectEvent, r: &serde_json::Value, delivery: Delivery) {
    let o = &r["s3"]["object"];
    assert_eq!(e.bucket, r["s3"]["bucket"]["name"].as_str().unwrap());
    assert_eq!(Some(e.key.clone()), decode_key(o["key"].as_str().unwrap()));
    if let Some(decoded) = o["urlDecodedKey"].as_str() {
        assert_eq!(e.key, decoded);
    }
    assert_eq!(e.size, o["size"].as_u64());
    assert_eq!(e.etag.as_deref(), o["eTag"].as_str());
    assert_eq!(e.version_id.as_deref(), o["versionId"].as_str());
    assert_eq!(e.sequencer.as_deref(), o["sequencer"].as_str());
    assert_eq!(e.event_name, r["eventName"].as_str().unwrap());
    assert_eq!(
        e.event_time,
        parse_rfc3339(r["eventTime"].as_str().unwrap())
    );
    assert_eq!(e.region.as_deref(), r["awsRegion"].as_str());
    assert_eq!(
        e.request_id.as_deref(),
        r["responseElements"]["x-amz-request-id"].as_str()
    );
    assert_eq!(
        e.source_ip_address.as_deref(),
        r["requestParameters"]["sourceIPAddress"].as_str()
    );
    assert_eq!(
        e.requester.as_deref(),
        r["userIdentity"]["principalId"].as_str()
    );
    assert_eq!(
        e.configuration_id.as_deref(),
        r["s3"]["configurationId"].as_str()
    );
    assert_eq!(e.delivery, delivery);
}

#[test]
fn every_corpus_file() {
    let files = input_files("s3-event-notifications");
    assert_eq!(files.len(), 13);
    let mut records = 0;
    let mut tests = 0;
    for path in &files {
        let body = read(path);
        let json = read_json(path);
        let mut out = Vec::new();
        S3NotificationParser
            .parse(&body, &mut out)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        match parse_notification(&body).unwrap() {
            Notification::Test => {
                tests += 1;
                assert!(out.is_empty());
            }
            Notification::Objects(events) => {
                assert_eq!(events.len(), out.len());
                records += events.len();
                if let Some(recs) = json["Records"].as_array() {
                    assert_eq!(recs.len(), events.len());
                    for (e, r) in events.iter().zip(recs) {
                        check_record(e, r, Delivery::Direct);
                    }
                } else {
                    // EventBridge; name map: detail.bucket.name → bucket, detail.object.key
                    // (as is) → key, .size → size, .etag → etag, .version-id → version_id,
                    // .sequencer → sequencer, detail-type → event_name, time → event_time,
                    // region → region, detail.request-id → request_id, detail.requester →
                    // requester, detail.source-ip-address → source_ip_address, detail.reason →
                    // reason, detail.deletion-type → deletion_type.
                    let d = &json["detail"];
                    let e = &events[0];
                    assert_eq!(e.delivery, Delivery::EventBridge);
                    assert_eq!(e.bucket, d["bucket"]["name"].as_str().unwrap());
                    assert_eq!(e.key, d["object"]["key"].as_str().unwrap());
                    assert_eq!(e.size, d["object"]["size"].as_u64());
                    assert_eq!(e.etag.as_deref(), d["object"]["etag"].as_str());
                    assert_eq!(e.version_id.as_deref(), d["object"]["version-id"].as_str());
                    assert_eq!(e.sequencer.as_deref(), d["object"]["sequencer"].as_str());
                    assert_eq!(e.event_name, json["detail-type"].as_str().unwrap());
                    assert_eq!(e.event_time, parse_rfc3339(json["time"].as_str().unwrap()));
                    assert_eq!(e.region.as_deref(), json["region"].as_str());
                    assert_eq!(e.request_id.as_deref(), d["request-id"].as_str());
                    assert_eq!(e.requester.as_deref(), d["requester"].as_str());
                    assert_eq!(
                        e.source_ip_address.as_deref(),
                        d["source-ip-address"].as_str()
                    );
                    assert_eq!(e.reason.as_deref(), d["reason"].as_str());
                    assert_eq!(e.deletion_type.as_deref(), d["deletion-type"].as_str());
                }
                for o in &out {
                    assert_eq!(log_type(o), Some("s3_notification"));
                    assert_eq!(get(o, "timestamp"), get(o, "event_time"));
                    assert_bytes_strings(&Value::Object(o.clone()));
                }
            }
        }
    }
    // SOURCES.md counts 13 records (one per file): 11 object events and 2 s3:TestEvent messages
    // (one direct, one SNS-wrapped).
    assert_eq!((records, tests), (11, 2));
}

#[test]
fn record_fields_and_key_decoding() {
    let e = objects(&read_corpus(
        "s3-event-notifications/records/aws-lambda-go-s3-event.json",
    ));
    assert_eq!(e[0].key, "Happy Face.jpg");
    assert!(e[0].is_object_created());
    let mut out = Vec::new();
    S3NotificationParser
        .parse(
            &read_corpus("s3-event-notifications/sqs/docs-objectcreated-put.json"),
            &mut out,
        )
        .unwrap();
    let o = &out[0];
    assert_eq!(get_str(o, "bucket"), Some("mybucket"));
    assert_eq!(get_str(o, "key"), Some("HappyFace.jpg"));
    assert_eq!(get_i64(o, "size"), Some(1024));
    assert_eq!(get_str(o, "etag"), Some("d41d8cd98f00b204e9800998ecf8427e"));
    assert_eq!(
        get_str(o, "version_id"),
        Some("096fKKXTRTtl3on89fVO.nfljtsv6qko")
    );
    assert_eq!(get_str(o, "sequencer"), Some("0055AED6DCD90281E5"));
    assert_eq!(get_str(o, "event_name"), Some("ObjectCreated:Put"));
    assert_eq!(get_ts_ms(o, "event_time"), Some(0));
    assert_eq!(get_str(o, "region"), Some("us-west-2"));
    assert_eq!(get_str(o, "delivery"), Some("direct"));
    // `+` is a space, `%2B` a plus.
    let body = br#"{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"my+file%2B1%20%C3%A9.txt"}}}]}"#;
    assert_eq!(objects(body)[0].key, "my file+1 \u{e9}.txt");
    // EventBridge keys are not decoded.
    let e = objects(&read_corpus(
        "s3-event-notifications/eventbridge/docs-1.json",
    ));
    assert_eq!(e[0].size, None);
    assert!(!e[0].is_object_created());
    let eb = br#"{"source":"aws.s3","detail-type":"Object Created","time":"2021-11-12T00:00:00Z","detail":{"bucket":{"name":"b"},"object":{"key":"a+b%20c"}}}"#;
    assert_eq!(objects(eb)[0].key, "a+b%20c");
}

#[test]
fn sns_wrapped_notifications() {
    assert_eq!(
        parse_notification(&read_corpus(
            "s3-event-notifications/sns/vector-sns-wrapped-test-event.json"
        ))
        .unwrap(),
        Notification::Test
    );
    // Wrap a real Records body in an SNS envelope.
    let inner = read_corpus("s3-event-notifications/sqs/docs-objectcreated-put.json");
    let envelope = serde_json::json!({
        "Type": "Notification",
        "MessageId": "1",
        "TopicArn": "arn:aws:sns:us-west-2:123456789012:MyTopic",
        "Message": std::str::from_utf8(&inner).unwrap(),
    });
    let body = serde_json::to_vec(&envelope).unwrap();
    let events = objects(&body);
    let json: serde_json::Value = serde_json::from_slice(&inner).unwrap();
    check_record(&events[0], &json["Records"][0], Delivery::Sns);
}

#[test]
fn errors_and_malformed_input() {
    let cases: &[(&[u8], &str)] = &[
        (br#"{"Type":"SubscriptionConfirmation","Message":"x"}"#, "Type"),
        (br#"{"Type":"Notification"}"#, "Message"),
        (br#"{"Type":"Notification","Message":"{\"Type\":\"Notification\",\"Message\":\"{}\"}"}"#, "Message.Type"),
        (br#"{"Type":"Notification","Message":"nope"}"#, "Message.record"),
        (br#"{"Records":{}}"#, "Records"),
        (br#"{"Records":[{"eventName":"x","s3":{"bucket":{"name":"b"}}}]}"#, "Records[0].s3.object.key"),
        (br#"{"Records":[{"eventName":"x","s3":{"object":{"key":"k"}}}]}"#, "Records[0].s3.bucket.name"),
        (br#"{"Records":[{"s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}]}"#, "Records[0].eventName"),
        (br#"{"Records":[{"eventName":"x","s3":{"bucket":{"name":"b"},"object":{"key":"%FF"}}}]}"#, "Records[0].s3.object.key"),
        (br#"{"Records":[{"eventName":"x","eventTime":"then","s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}]}"#, "Records[0].eventTime"),
        (br#"{"source":"aws.s3","detail":{"bucket":{"name":"b"}}}"#, "detail.object.key"),
        (br#"{"hello":"world"}"#, "record"),
        (b"[1]", "record"),
        (b"{", "record"),
    ];
    for (body, field) in cases {
        let e = parse_notification(body).unwrap_err();
        assert_eq!(
            (e.format, e.field.as_str()),
            ("s3_notification", *field),
            "{e}"
        );
    }
    for path in input_files("s3-event-notifications") {
        for m in mutations(&read(&path)) {
            no_panic(&mut S3NotificationParser, &m);
        }
    }
}
