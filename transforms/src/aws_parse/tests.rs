//! `aws_parse` through its `Transform` interface: detection, per-stream headers, multi-line
//! assembly, envelopes, the errors output and acknowledgements.

use std::sync::Arc;

use weir_core::ack::{BatchNotifier, BatchStatus, EventFinalizers, EventStatus};
use weir_core::component::PluginCommon;
use weir_core::component::{
    flush_now, transform_now, BuildContext, ComponentKind, Transform, TransformConfig,
};
use weir_core::event::{Event, EventMetadata, StreamPosition};
use weir_core::Value;

use super::AwsParseConfig;

fn config(format: &str) -> AwsParseConfig {
    AwsParseConfig {
        format: format.into(),
        ..AwsParseConfig::default()
    }
}

fn build(config: AwsParseConfig) -> (Box<dyn Transform>, weir_core::metrics::ComponentMetrics) {
    assert!(config.validate().is_empty(), "{:?}", config.validate());
    let cx = BuildContext::standalone("parse", ComponentKind::Transform, "aws_parse", ".".into());
    (config.build(&cx).unwrap(), cx.metrics)
}

fn line_event(stream: &str, offset: u64, line: &str, batch: Option<&BatchNotifier>) -> Event {
    let mut meta = EventMetadata::new("src".into(), "file", chrono::Utc::now());
    meta.stream = Some(StreamPosition {
        stream: Arc::from(stream),
        offset,
    });
    if let Some(b) = batch {
        meta.finalizers = EventFinalizers::one(b.finalizer());
    }
    let mut event = Event::from_message(line.to_string(), meta);
    event.fields.insert("file".into(), Value::from(stream));
    event
}

fn lines(stream: &str, text: &str) -> Vec<Event> {
    text.lines()
        .enumerate()
        .map(|(i, l)| line_event(stream, i as u64, l, None))
        .collect()
}

fn get<'a>(event: &'a Event, path: &str) -> Option<&'a Value> {
    let path: Vec<&str> = path.split('.').collect();
    event.get_path(&path)
}

fn text(event: &Event, path: &str) -> String {
    get(event, path)
        .map(|v| v.to_string_lossy().into_owned())
        .unwrap_or_default()
}

const ALB: &str = r#"https 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.086 0.048 0.037 200 200 0 57 "GET https://www.example.com:443/ HTTP/1.1" "curl/7.46.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337281-1d84f3d73c47ec4e58577259" "www.example.com" "arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012" 1 2018-07-02T22:22:48.364000Z "authenticate,forward" "-" "-" "10.0.0.1:80" "200" "-" "-""#;

#[test]
fn parses_into_the_root_keeping_other_fields_and_dropping_the_raw_line() {
    let (mut t, _) = build(config("auto"));
    let out = transform_now(t.as_mut(), lines("/var/log/alb.log", ALB));
    assert!(
        out.named.is_empty(),
        "{:?}",
        out.named.first().map(|(_, e)| text(&e[0], "error.message"))
    );
    let e = &out.primary[0];
    assert_eq!(text(e, "aws.log_type"), "alb");
    assert_eq!(get(e, "elb_status_code"), Some(&Value::Integer(200)));
    assert_eq!(text(e, "file"), "/var/log/alb.log");
    assert!(get(e, "message").is_none());
    assert!(
        matches!(get(e, "timestamp"), Some(Value::Timestamp(ts)) if ts.to_rfc3339() == "2018-07-02T22:23:00.186641+00:00")
    );
}

#[test]
fn target_keeps_the_event_and_nests_the_parse() {
    let mut c = config("alb");
    c.target = Some("alb".into());
    let (mut t, _) = build(c);
    let out = transform_now(t.as_mut(), lines("x", ALB));
    let e = &out.primary[0];
    assert_eq!(text(e, "message"), ALB);
    assert_eq!(get(e, "alb.elb_status_code"), Some(&Value::Integer(200)));
}

#[tokio::test]
async fn header_lines_configure_their_stream_and_are_acknowledged_not_emitted() {
    let (mut t, _) = build(config("auto"));
    let (batch, status) = BatchNotifier::with_receiver();
    let custom = [
        "srcaddr dstaddr action log-status",
        "10.0.0.1 10.0.0.2 ACCEPT OK",
    ];
    let default = ["version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status", "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK"];
    let mut events = Vec::new();
    // Two interleaved streams with different column orders.
    for i in 0..2 {
        events.push(line_event("a/vpc.log", i, custom[i as usize], Some(&batch)));
        events.push(line_event(
            "b/vpc.log",
            i,
            default[i as usize],
            Some(&batch),
        ));
    }
    drop(batch);
    let out = transform_now(t.as_mut(), events);
    assert!(out.named.is_empty());
    assert_eq!(out.primary.len(), 2, "headers consumed");
    assert_eq!(text(&out.primary[0], "srcaddr"), "10.0.0.1");
    assert_eq!(text(&out.primary[0], "action"), "ACCEPT");
    assert_eq!(get(&out.primary[1], "dstport"), Some(&Value::Integer(22)));
    for e in out.primary {
        e.finalize(EventStatus::Delivered);
    }
    assert_eq!(status.await.unwrap(), BatchStatus::Delivered);
}

#[test]
fn unparseable_records_go_to_the_errors_output_with_the_error_attached() {
    let (mut t, metrics) = build(config("alb"));
    let out = transform_now(t.as_mut(), lines("x", "https not-a-time app/x 1.2.3.4:5"));
    assert!(out.primary.is_empty());
    let (name, errors) = &out.named[0];
    assert_eq!(&**name, "errors");
    let e = &errors[0];
    assert_eq!(text(e, "error.format"), "alb");
    assert!(
        text(e, "error.message").starts_with("alb: field `"),
        "{}",
        text(e, "error.message")
    );
    assert_eq!(
        text(e, "message"),
        "https not-a-time app/x 1.2.3.4:5",
        "the raw record is kept"
    );
    let rendered = prometheus::TextEncoder::new()
        .encode_to_string(&metrics.registry().gather())
        .unwrap();
    assert!(
        rendered.contains(r#"error_type="parse_failed"} 1"#),
        "{rendered}"
    );

    // Unknown formats under auto are errors too, never silently dropped.
    let (mut t, _) = build(config("auto"));
    let out = transform_now(t.as_mut(), lines("x", "just some text"));
    assert_eq!(out.named[0].1.len(), 1);
}

#[tokio::test]
async fn multi_line_records_are_assembled_and_carry_every_line_acknowledgement() {
    let (mut t, _) = build(config("auto"));
    let (batch, status) = BatchNotifier::with_receiver();
    let text_lines = [
        "'2020-12-08T22:00:03Z UTC [ db=dev user=rdsdb pid=685 userid=1 xid=245578 ]' LOG: SELECT a,",
        "  b FROM t",
        "  WHERE c = 1;",
        "'2020-12-08T22:00:04Z UTC [ db=dev user=rdsdb pid=685 userid=1 xid=245579 ]' LOG: SET x TO 1",
    ];
    let events = text_lines
        .iter()
        .enumerate()
        .map(|(i, l)| line_event("cluster_useractivitylog_x.log", i as u64, l, Some(&batch)))
        .collect();
    drop(batch);
    let out = transform_now(t.as_mut(), events);
    assert!(out.named.is_empty(), "{:?}", out.named);
    assert_eq!(out.primary.len(), 1, "the second record waits for its end");
    assert!(
        text(&out.primary[0], "query").contains("b FROM t\n  WHERE c = 1;"),
        "{:?}",
        out.primary[0].fields
    );
    let flushed = flush_now(t.as_mut());
    assert_eq!(flushed.primary.len(), 1);
    for e in out.primary.into_iter().chain(flushed.primary) {
        e.finalize(EventStatus::Delivered);
    }
    assert_eq!(status.await.unwrap(), BatchStatus::Delivered);
}

#[test]
fn cloudwatch_envelopes_expand_and_parse_by_log_group() {
    let envelope = r#"{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"/aws/lambda/checkout","logStream":"2024/05/01/[$LATEST]abc","subscriptionFilters":["all"],"logEvents":[{"id":"1","timestamp":1714521600000,"message":"START RequestId: 6f8e2a9c-1b2d-4c3e-8f9a-0b1c2d3e4f5a Version: $LATEST"},{"id":"2","timestamp":1714521600100,"message":"REPORT RequestId: 6f8e2a9c-1b2d-4c3e-8f9a-0b1c2d3e4f5a\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 52 MB\t"}]}"#;
    let control = r#"{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1714521600000,"message":"CWL CONTROL MESSAGE: Checking health of destination"}]}"#;
    let (mut t, _) = build(config("auto"));
    let out = transform_now(
        t.as_mut(),
        vec![
            line_event("k", 0, envelope, None),
            line_event("k", 1, control, None),
        ],
    );
    assert!(out.named.is_empty(), "{:?}", out.named);
    assert_eq!(out.primary.len(), 2);
    let report = &out.primary[1];
    assert_eq!(text(report, "aws.log_type"), "lambda");
    assert_eq!(text(report, "cloudwatch.log_group"), "/aws/lambda/checkout");
    assert!(
        matches!(get(report, "duration_ms"), Some(Value::Float(f)) if (f.into_inner() - 12.34).abs() < 1e-9)
    );
}

#[test]
fn positional_records_in_cloudwatch_events_keep_the_envelope() {
    // VPC Flow Logs published to CloudWatch Logs: the inner lines parse into records (shared
    // field names), with the envelope under `cloudwatch` and the record's own time.
    let envelope = r#"{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"flow-logs","logStream":"eni-0a1b2c3d-all","subscriptionFilters":["all"],"logEvents":[{"id":"1","timestamp":1714521600000,"message":"2 123456789012 eni-0a1b2c3d 10.0.0.5 10.0.1.9 443 49152 6 10 8400 1714521500 1714521560 ACCEPT OK"}]}"#;
    let (mut t, _) = build(config("auto"));
    let out = transform_now(t.as_mut(), vec![line_event("k", 0, envelope, None)]);
    assert!(out.named.is_empty(), "{:?}", out.named);
    assert_eq!(out.primary.len(), 1);
    let flow = &out.primary[0];
    assert!(flow.fields.is_record(), "parsed fields stay a record");
    assert_eq!(text(flow, "aws.log_type"), "vpc_flow");
    assert_eq!(get(flow, "bytes"), Some(&Value::Integer(8400)));
    assert_eq!(text(flow, "cloudwatch.log_stream"), "eni-0a1b2c3d-all");
    assert_eq!(text(flow, "cloudwatch.id"), "1");
    assert!(get(flow, "cloudwatch.aws").is_none());
    assert!(
        matches!(get(flow, "timestamp"), Some(Value::Timestamp(t)) if t.timestamp() == 1714521500),
        "the record's start, not the log event's time"
    );
    let mut json = Vec::new();
    weir_core::json::write_fields(&flow.fields, &mut json);
    let reparsed: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(reparsed["cloudwatch"]["log_group"], "flow-logs");
    assert_eq!(reparsed["srcaddr"], "10.0.0.5");
}

#[test]
fn stream_identity_decides_before_content() {
    // An S3 access log line under a CloudFront-style object name is still sniffed per stream, but a
    // known S3 layout wins over content.
    let (mut t, _) = build(config("auto"));
    let out = transform_now(t.as_mut(), lines("AWSLogs/123456789012/elasticloadbalancing/us-east-2/2018/07/02/123456789012_elasticloadbalancing_us-east-2_app.my-loadbalancer.50dc6c495c0c9188_20180702T2225Z_10.0.0.1_abc.log.gz", ALB));
    assert_eq!(text(&out.primary[0], "aws.log_type"), "alb");
}

#[test]
fn missing_field_is_an_error_not_a_panic() {
    let (mut t, _) = build(config("auto"));
    let mut e = line_event("x", 0, "", None);
    e.fields.remove("message");
    let out = transform_now(t.as_mut(), vec![e]);
    assert_eq!(out.named[0].1.len(), 1);
}

const ALB_KEY: &str = "s3://logs/prefix/AWSLogs/111122223333/elasticloadbalancing/eu-west-1/2026/12/01/111122223333_elasticloadbalancing_eu-west-1_app.my-lb.50dc6c495c0c9188_20261201T0005Z_10.0.0.1_abc.log.gz";

#[test]
fn aws_context_comes_from_the_key_and_stays_out_of_unknown_streams() {
    let (mut t, _) = build(config("auto"));
    let out = transform_now(t.as_mut(), lines(ALB_KEY, &format!("{ALB}\n{ALB}")));
    assert_eq!(out.primary.len(), 2);
    for e in &out.primary {
        assert_eq!(text(e, "cloud.provider"), "aws");
        assert_eq!(text(e, "cloud.account.id"), "111122223333");
        assert_eq!(
            text(e, "cloud.region"),
            "eu-west-1",
            "the key wins over the record's ARN"
        );
        assert_eq!(text(e, "aws.service"), "elasticloadbalancing");
        assert_eq!(text(e, "aws.resource.type"), "loadbalancer");
        assert_eq!(text(e, "aws.resource.name"), "my-lb");
        assert_eq!(
            text(e, "aws.log_type"),
            "alb",
            "the record's own `aws` members stay"
        );
        assert!(e.fields.is_record(), "context keeps the record form");
    }
    // A stream of no known layout gets nothing, its ARNs notwithstanding.
    let out = transform_now(t.as_mut(), lines("/var/log/alb.log", ALB));
    assert!(out.named.is_empty());
    let e = &out.primary[0];
    assert!(get(e, "cloud").is_none(), "{:?}", e.fields);
    assert!(get(e, "aws.service").is_none());

    let mut off = config("auto");
    off.aws_context = false;
    let (mut t, _) = build(off);
    let out = transform_now(t.as_mut(), lines(ALB_KEY, ALB));
    assert!(get(&out.primary[0], "cloud").is_none());
}

#[test]
fn aws_context_never_replaces_a_field_and_goes_to_the_root_with_a_target() {
    let (mut t, _) = build(config("auto"));
    let mut event = line_event(ALB_KEY, 0, ALB, None);
    let mut cloud = vrl::value::ObjectMap::new();
    cloud.insert("region".into(), Value::from("mine"));
    event.fields.insert("cloud".into(), Value::Object(cloud));
    event
        .fields
        .insert("aws".into(), Value::from("not an object"));
    let out = transform_now(t.as_mut(), vec![event]);
    let e = &out.primary[0];
    assert_eq!(text(e, "cloud.region"), "mine");
    assert_eq!(
        text(e, "cloud.account.id"),
        "111122223333",
        "filled in beside it"
    );
    assert_eq!(
        text(e, "aws.log_type"),
        "alb",
        "the record's `aws` wins over the event's"
    );

    let mut nested = config("alb");
    nested.target = Some("parsed".into());
    let (mut t, _) = build(nested);
    let out = transform_now(t.as_mut(), lines(ALB_KEY, ALB));
    let e = &out.primary[0];
    assert_eq!(text(e, "parsed.aws.log_type"), "alb");
    assert_eq!(text(e, "aws.service"), "elasticloadbalancing");
    assert_eq!(text(e, "cloud.region"), "eu-west-1");
    assert!(get(e, "parsed.cloud").is_none());
}

const LAMBDA_ENVELOPE: &str = r#"{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"/aws/lambda/checkout","logStream":"2024/05/01/[$LATEST]abc","subscriptionFilters":["all"],"logEvents":[{"id":"1","timestamp":1714521600000,"message":"START RequestId: 6f8e2a9c-1b2d-4c3e-8f9a-0b1c2d3e4f5a Version: $LATEST"},{"id":"2","timestamp":1714521600100,"message":"not a lambda platform line"}]}"#;

#[test]
fn aws_context_of_cloudwatch_events_comes_from_the_log_group_and_owner() {
    let (mut t, _) = build(config("auto"));
    let out = transform_now(
        t.as_mut(),
        vec![line_event("/tmp/envelopes.json", 0, LAMBDA_ENVELOPE, None)],
    );
    assert!(out.named.is_empty(), "{:?}", out.named);
    assert_eq!(out.primary.len(), 2);
    for e in &out.primary {
        assert_eq!(text(e, "cloud.account.id"), "123456789012");
        assert!(
            get(e, "cloud.region").is_none(),
            "Lambda log groups name no region"
        );
        assert_eq!(text(e, "aws.service"), "lambda");
        assert_eq!(text(e, "aws.resource.type"), "function");
        assert_eq!(text(e, "aws.resource.name"), "checkout");
    }

    // Unpacked by a source (Kinesis, Firehose): the event comes with `cloudwatch`, no stream.
    let mut fields = vrl::value::ObjectMap::new();
    fields.insert(
        "message".into(),
        Value::from("2024-05-01 00:00:00 UTC::@:[560]:LOG:  checkpoint starting: time"),
    );
    let mut cw = vrl::value::ObjectMap::new();
    cw.insert(
        "log_group".into(),
        Value::from("/aws/rds/instance/orders/postgresql"),
    );
    cw.insert("owner".into(), Value::from("123456789012"));
    fields.insert("cloudwatch".into(), Value::Object(cw));
    let meta = EventMetadata::new("src".into(), "aws_kinesis", chrono::Utc::now());
    let out = transform_now(t.as_mut(), vec![Event::new(fields, meta)]);
    assert!(out.named.is_empty(), "{:?}", out.named);
    let e = &out.primary[0];
    assert_eq!(text(e, "aws.log_type"), "rds_postgresql");
    assert_eq!(text(e, "aws.service"), "rds", "{:?}", e.fields);
    assert_eq!(text(e, "aws.resource.name"), "orders");
    assert_eq!(text(e, "cloud.account.id"), "123456789012");

    // An envelope handed over alone is parsed as `parse_aws` parses it: no context.
    let meta = EventMetadata::new("src".into(), "remap", chrono::Utc::now());
    let out = transform_now(
        t.as_mut(),
        vec![Event::from_message(LAMBDA_ENVELOPE.to_string(), meta)],
    );
    assert_eq!(out.primary.len(), 2);
    assert!(get(&out.primary[0], "cloud").is_none());
    assert_eq!(
        text(&out.primary[0], "cloudwatch.log_group"),
        "/aws/lambda/checkout"
    );
}

#[test]
fn record_arns_complete_a_known_origin_of_the_same_account() {
    let waf = r#"{"timestamp":1576280412771,"formatVersion":1,"webaclId":"arn:aws:wafv2:ap-southeast-2:111122223333:regional/webacl/STMTest/1EXAMPLE","terminatingRuleId":"Default_Action","terminatingRuleType":"REGULAR","action":"ALLOW","httpSourceName":"ALB","httpSourceId":"x","ruleGroupList":[],"rateBasedRuleList":[],"nonTerminatingMatchingRules":[],"httpRequest":{"clientIp":"1.1.1.1","country":"AU","headers":[],"uri":"/","args":"","httpVersion":"HTTP/1.1","httpMethod":"GET","requestId":"r"}}"#;
    let envelope = |owner: &str| {
        let event = serde_json::json!({"id": "1", "timestamp": 1576280412771u64, "message": waf});
        serde_json::json!({"messageType": "DATA_MESSAGE", "owner": owner, "logGroup": "aws-waf-logs-edge", "logStream": "s", "subscriptionFilters": [], "logEvents": [event]}).to_string()
    };
    let (mut t, _) = build(config("auto"));
    let events = vec![
        line_event("/tmp/waf.json", 0, &envelope("111122223333"), None),
        line_event("/tmp/waf.json", 1, &envelope("999988887777"), None),
    ];
    let out = transform_now(t.as_mut(), events);
    assert!(out.named.is_empty(), "{:?}", out.named);
    let (same, other) = (&out.primary[0], &out.primary[1]);
    assert_eq!(text(same, "aws.log_type"), "waf");
    assert_eq!(text(same, "aws.service"), "wafv2");
    assert_eq!(
        text(same, "cloud.region"),
        "ap-southeast-2",
        "from the web ACL's ARN"
    );
    assert_eq!(text(same, "aws.resource.type"), "webacl");
    assert_eq!(text(same, "aws.resource.name"), "STMTest");
    assert_eq!(text(other, "cloud.account.id"), "999988887777");
    assert!(
        get(other, "cloud.region").is_none(),
        "another account's ARN is not used"
    );
}

/// `schema = "ecs"` rewrites each parsed event (here an ALB line: ECS names, native fields under
/// `aws.elb`); with a `target` it is refused, since an ECS or OCSF event is a whole document.
#[test]
fn schema_rewrites_events_and_is_refused_with_a_target() {
    use weir_aws::normalize::OutputSchema;
    let alb = "https 2024-05-01T00:00:00.000318Z app/my-lb/50dc6c495c0c9188 81.2.69.142:43942 10.0.18.124:80 0.002 0.005 0.001 200 200 59 3512 \"GET https://www.example.com:443/index.html?a=1 HTTP/1.1\" \"curl/8.0\" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 \"Root=1-66318600-882e909d026a8031af025004\" \"www.example.com\" \"arn:aws:acm:us-east-2:123456789012:certificate/12345678\" 0 2024-04-30T23:59:59.985427Z \"forward\" \"-\" \"-\" \"10.0.18.124:80\" \"200\" \"-\" \"-\" TID_f6c4ee255e5152a47e696cf519288917";
    let (mut transform, _) = build(AwsParseConfig {
        schema: OutputSchema::Ecs,
        ..config("alb")
    });
    let out = transform_now(transform.as_mut(), lines("lb.log", alb));
    assert_eq!(out.primary.len(), 1);
    let event = &out.primary[0];
    assert_eq!(text(event, "source.ip"), "81.2.69.142");
    assert_eq!(text(event, "data_stream.dataset"), "aws.elb_logs");
    assert!(get(event, "aws.elb").is_some(), "{:?}", event.fields);
    let with_target = AwsParseConfig {
        schema: OutputSchema::Ocsf,
        target: Some("parsed".into()),
        ..config("alb")
    };
    let problems = with_target.validate();
    assert!(problems.iter().any(|p| p.key == "schema"), "{problems:?}");
}
