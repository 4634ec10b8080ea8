//! Acceptance of the `aws_s3` source against moto (a private moto_server per test): real `weir`
//! processes read S3 objects announced on SQS (directly, through SNS, as EventBridge events), and
//! the tests check the output files, the queue and the metrics.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_sqs::types::QueueAttributeName;
use base64::Engine as _;
use serde_json::Value as Json;
use weir_tests::moto_aws::{sdk_config, ACCOUNT, REGION, WEIR_ENV};
use weir_tests::services::{moto, Service};
use weir_tests::{free_port, http_get, metric, wait_for_metrics, weir_bin, Weir};

/// SDK clients on one moto server, driven from a private runtime.
struct Aws {
    moto: Service,
    rt: tokio::runtime::Runtime,
    s3: aws_sdk_s3::Client,
    sqs: aws_sdk_sqs::Client,
    sns: aws_sdk_sns::Client,
}

impl Aws {
    fn start() -> Self {
        let moto = moto();
        let rt = weir_tests::runtime();
        let sdk = sdk_config(&rt, &moto.url());
        let s3 = weir_tests::moto_aws::s3_client(&sdk);
        Self {
            sqs: aws_sdk_sqs::Client::new(&sdk),
            sns: aws_sdk_sns::Client::new(&sdk),
            s3,
            rt,
            moto,
        }
    }

    /// Creates a queue; returns `(url, arn)`.
    fn queue(&self, name: &str, visibility_timeout_secs: u32) -> (String, String) {
        self.rt.block_on(async {
            let url = self
                .sqs
                .create_queue()
                .queue_name(name)
                .attributes(
                    QueueAttributeName::VisibilityTimeout,
                    visibility_timeout_secs.to_string(),
                )
                .send()
                .await
                .expect("create queue")
                .queue_url
                .expect("queue url");
            let arn = self
                .sqs
                .get_queue_attributes()
                .queue_url(&url)
                .attribute_names(QueueAttributeName::QueueArn)
                .send()
                .await
                .expect("queue attributes")
                .attributes
                .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
                .expect("queue arn");
            (url, arn)
        })
    }

    fn bucket(&self, name: &str) {
        self.rt.block_on(async {
            self.s3
                .create_bucket()
                .bucket(name)
                .send()
                .await
                .expect("create bucket");
        });
    }

    /// Object-created notifications of `bucket` go to the queue directly.
    fn notify_queue(&self, bucket: &str, queue_arn: &str) {
        use aws_sdk_s3::types::{Event, NotificationConfiguration, QueueConfiguration};
        self.rt.block_on(async {
            let config = NotificationConfiguration::builder()
                .queue_configurations(
                    QueueConfiguration::builder()
                        .queue_arn(queue_arn)
                        .events(Event::from("s3:ObjectCreated:*"))
                        .build()
                        .expect("queue configuration"),
                )
                .build();
            self.s3
                .put_bucket_notification_configuration()
                .bucket(bucket)
                .notification_configuration(config)
                .send()
                .await
                .expect("notification configuration");
        });
    }

    /// Object-created notifications of `bucket` go to an SNS topic the queue subscribes to.
    fn notify_through_sns(&self, bucket: &str, queue_arn: &str) {
        use aws_sdk_s3::types::{Event, NotificationConfiguration, TopicConfiguration};
        self.rt.block_on(async {
            let topic = self
                .sns
                .create_topic()
                .name(format!("{bucket}-topic"))
                .send()
                .await
                .expect("create topic")
                .topic_arn
                .expect("topic arn");
            self.sns
                .subscribe()
                .topic_arn(&topic)
                .protocol("sqs")
                .endpoint(queue_arn)
                .send()
                .await
                .expect("subscribe");
            let config = NotificationConfiguration::builder()
                .topic_configurations(
                    TopicConfiguration::builder()
                        .topic_arn(topic)
                        .events(Event::from("s3:ObjectCreated:*"))
                        .build()
                        .expect("topic configuration"),
                )
                .build();
            self.s3
                .put_bucket_notification_configuration()
                .bucket(bucket)
                .notification_configuration(config)
                .send()
                .await
                .expect("notification configuration");
        });
    }

    fn put(&self, bucket: &str, key: &str, body: Vec<u8>) {
        self.rt.block_on(async {
            self.s3
                .put_object()
                .bucket(bucket)
                .key(key)
                .body(ByteStream::from(body))
                .send()
                .await
                .expect("put object");
        });
    }

    fn send(&self, queue_url: &str, body: &str) {
        self.rt.block_on(async {
            self.sqs
                .send_message()
                .queue_url(queue_url)
                .message_body(body)
                .send()
                .await
                .expect("send message");
        });
    }

    /// `(visible, in flight)` messages of a queue.
    fn queue_counts(&self, queue_url: &str) -> (u64, u64) {
        self.rt.block_on(async {
            let attributes = self
                .sqs
                .get_queue_attributes()
                .queue_url(queue_url)
                .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
                .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
                .send()
                .await
                .expect("queue attributes")
                .attributes
                .unwrap_or_default();
            let get = |name: &QueueAttributeName| {
                attributes
                    .get(name)
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0)
            };
            (
                get(&QueueAttributeName::ApproximateNumberOfMessages),
                get(&QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
            )
        })
    }

    /// Receives what is visible now: `(body, receive count)` per message (they become invisible
    /// for `visibility_timeout_secs`).
    fn receive(&self, queue_url: &str, visibility_timeout_secs: i32) -> Vec<(String, u32)> {
        use aws_sdk_sqs::types::MessageSystemAttributeName;
        self.rt.block_on(async {
            let output = self
                .sqs
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(10)
                .visibility_timeout(visibility_timeout_secs)
                .wait_time_seconds(1)
                .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
                .send()
                .await
                .expect("receive");
            output
                .messages
                .unwrap_or_default()
                .into_iter()
                .map(|m| {
                    let count = m
                        .attributes()
                        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                        .and_then(|c| c.parse().ok())
                        .unwrap_or(0);
                    (m.body.unwrap_or_default(), count)
                })
                .collect()
        })
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).expect("gzip");
    encoder.finish().expect("gzip")
}

fn corpus(path: &str) -> PathBuf {
    weir_tests::workspace_root()
        .join("../shared/corpus")
        .join(path)
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(corpus(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A pipeline file: `aws_s3` on `queue_url` → optional `aws_parse` → sinks; `extra` is appended.
fn pipeline(dir: &Path, aws: &Aws, queue_url: &str, source_extra: &str, rest: &str) -> u16 {
    let port = free_port();
    let text = format!(
        r#"
data_dir = "data"
[api]
address = "127.0.0.1:{port}"

[sources.s3]
type = "aws_s3"
region = "{REGION}"
endpoint = "{endpoint}"
{source_extra}

[sources.s3.sqs]
queue_url = "{queue_url}"
poll_secs = 1
{rest}
"#,
        endpoint = aws.moto.url(),
    );
    std::fs::write(dir.join("pipeline.toml"), text).expect("pipeline file");
    port
}

fn start_weir(dir: &Path) -> Weir {
    Weir::start(dir, &["run", "-c", "pipeline.toml"], &WEIR_ENV)
}

fn stop(mut weir: Weir) -> String {
    weir.signal(libc::SIGTERM);
    let status = weir.wait(Duration::from_secs(30));
    let log = weir.log_text();
    assert!(status.success(), "weir failed: {status:?}\n{log}");
    log
}

/// Every NDJSON object in the files below `dir`.
fn ndjson_in(dir: &Path) -> Vec<Json> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(text) = std::fs::read_to_string(&path) {
                out.extend(text.lines().filter_map(|l| serde_json::from_str(l).ok()));
            }
        }
    }
    out
}

/// Waits until `done` holds, panicking with `what` after `timeout`.
fn wait_until(timeout: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn s3_metric(port: u16, name: &str) -> f64 {
    http_get(port, "/metrics")
        .and_then(|(_, text)| metric(&text, name, &[("component_id", "s3")]))
        .unwrap_or(0.0)
}

fn error_metric(text: &str, kind: &str) -> f64 {
    metric(
        text,
        "weir_component_errors_total",
        &[("component_id", "s3"), ("error_type", kind)],
    )
    .unwrap_or(0.0)
}

/// The corpus objects of acceptance 1: `(key, uncompressed bytes)`.
fn corpus_objects() -> Vec<(String, Vec<u8>)> {
    // CloudTrail: one log file made of the records of several documented examples.
    let mut records = Vec::new();
    for name in [
        "amazon-sqs--sqs-logging-using-cloudtrail--4.json",
        "aws-single-sign-on--understanding-sso-entries--0.json",
        "amazon-dynamodb--understanding-ddb-log-entries--4.json",
    ] {
        let doc: Json = serde_json::from_slice(&read(&format!("cloudtrail/docs-records/{name}")))
            .expect("corpus JSON");
        records.extend(doc["Records"].as_array().cloned().unwrap_or_default());
    }
    let cloudtrail = serde_json::to_vec(&serde_json::json!({ "Records": records })).unwrap();
    let mut alb = Vec::new();
    for name in ["http.log", "https.log", "h2.log", "ws.log"] {
        alb.extend(read(&format!("alb/docs/{name}")));
        if alb.last() != Some(&b'\n') {
            alb.push(b'\n');
        }
    }
    vec![
        (
            format!("AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/2024/01/01/{ACCOUNT}_CloudTrail_us-east-1_20240101T0000Z_a1b2.json.gz"),
            cloudtrail,
        ),
        (
            format!("AWSLogs/{ACCOUNT}/vpcflowlogs/us-east-1/2024/01/01/{ACCOUNT}_vpcflowlogs_us-east-1_fl-0123_20240101T0000Z_c3d4.log.gz"),
            read("vpc-flow-logs/s3-files/otel-valid_vpc_flow_log_multi.log"),
        ),
        (
            format!("AWSLogs/{ACCOUNT}/elasticloadbalancing/us-east-1/2024/01/01/{ACCOUNT}_elasticloadbalancing_us-east-1_app.my-lb.50dc6c495c0c9188_20240101T0000Z_10.0.0.1_e5f6.log.gz"),
            alb,
        ),
        (
            "cloudfront/E2EXAMPLE123.2024-01-01-00.a1b2c3d4.gz".to_string(),
            read("cloudfront-standard/docs/distribution-log.log"),
        ),
    ]
}

/// What `weir parse` makes of an object's content saved under its key: the expected events,
/// as JSON with the fields only the source adds removed.
fn expected_events(dir: &Path, objects: &[(String, Vec<u8>)]) -> Vec<Json> {
    let mut expected = Vec::new();
    for (key, content) in objects {
        let path = dir.join("expected-input").join(key.trim_end_matches(".gz"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        let output = Command::new(weir_bin())
            .arg("parse")
            .arg(&path)
            .output()
            .expect("weir parse");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let text = String::from_utf8(output.stdout).unwrap();
        let events: Vec<Json> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert!(!events.is_empty(), "weir parse found nothing in {key}");
        expected.extend(events.into_iter().map(comparable));
    }
    expected.sort_by_key(|v| v.to_string());
    expected
}

/// An event without the fields that depend on how it was read (`s3`, `file`, ingest time).
fn comparable(mut event: Json) -> Json {
    if let Some(map) = event.as_object_mut() {
        map.remove("s3");
        map.remove("file");
    }
    event
}

fn sorted(events: &[Json]) -> Vec<Json> {
    let mut out: Vec<Json> = events.iter().cloned().map(comparable).collect();
    out.sort_by_key(|v| v.to_string());
    out
}

const PARSE_TO_FILE: &str = r#"
[transforms.parsed]
type = "aws_parse"
inputs = ["s3"]
format = "auto"

[sinks.out]
type = "file"
inputs = ["parsed"]
path = "out/{{ aws.log_type }}.ndjson"

[sinks.unparsed]
type = "file"
inputs = ["parsed.errors", "s3.errors"]
path = "errors/errors.ndjson"
"#;

/// Acceptance 1: gzip'd CloudTrail, VPC Flow (header line), ALB and CloudFront objects announced
/// by direct S3 notifications are parsed into exactly the events `weir parse` makes of them; the
/// queue ends empty.
#[test]
fn corpus_objects_through_direct_notifications() {
    let dir = tempfile::tempdir().unwrap();
    let aws = Aws::start();
    let (queue, arn) = aws.queue("logs", 30);
    aws.bucket("logs-bucket");
    aws.notify_queue("logs-bucket", &arn);
    let objects = corpus_objects();
    for (key, content) in &objects {
        aws.put("logs-bucket", key, gzip(content));
    }
    let expected = expected_events(dir.path(), &objects);
    let port = pipeline(dir.path(), &aws, &queue, "", PARSE_TO_FILE);
    let weir = start_weir(dir.path());
    let out = dir.path().join("out");
    wait_until(Duration::from_secs(60), "every expected event", || {
        ndjson_in(&out).len() >= expected.len() && aws.queue_counts(&queue) == (0, 0)
    });
    std::thread::sleep(Duration::from_millis(500));
    let metrics = http_get(port, "/metrics")
        .map(|(_, t)| t)
        .unwrap_or_default();
    let log = stop(weir);
    let got = ndjson_in(&out);
    assert_eq!(sorted(&got), expected, "log:\n{log}");
    assert!(ndjson_in(&dir.path().join("errors")).is_empty(), "{log}");
    // Every event names its object and carries an id.
    for event in &got {
        assert_eq!(event["s3"]["bucket"], "logs-bucket");
        assert_eq!(event["s3"]["region"], REGION);
        assert!(event["s3"]["key"]
            .as_str()
            .is_some_and(|k| objects.iter().any(|(o, _)| o == k)));
        assert_eq!(event["s3"]["record_id"].as_str().map(str::len), Some(32));
    }
    let ids: std::collections::HashSet<&str> = got
        .iter()
        .filter_map(|e| e["s3"]["record_id"].as_str())
        .collect();
    assert_eq!(ids.len(), got.len(), "ids are unique per record");
    // 4 objects + the s3:TestEvent moto sends when the configuration is set.
    assert_eq!(
        metric(&metrics, "weir_aws_s3_objects_read_total", &[]),
        Some(4.0)
    );
    assert_eq!(
        metric(&metrics, "weir_aws_s3_object_lag_seconds_count", &[]),
        Some(4.0)
    );
    assert_eq!(
        metric(&metrics, "weir_aws_s3_messages_deleted_total", &[]),
        Some(5.0)
    );
    let compressed = metric(&metrics, "weir_aws_s3_compressed_bytes_total", &[]).unwrap_or(0.0);
    assert!(compressed > 0.0);
    assert_eq!(
        metric(
            &metrics,
            "weir_component_received_bytes_total",
            &[("component_id", "s3")]
        ),
        Some(compressed)
    );
    let decompressed: usize = objects.iter().map(|(_, c)| c.len()).sum();
    assert_eq!(
        metric(&metrics, "weir_aws_s3_decompressed_bytes_total", &[]),
        Some(decompressed as f64)
    );
    assert_eq!(aws.queue_counts(&queue), (0, 0));
}

/// A direct S3 notification naming several objects (as S3 would send for each, merged: the
/// source must read every object a message names before deleting it).
fn notification(bucket: &str, keys: &[&str]) -> String {
    let records: Vec<Json> = keys
        .iter()
        .map(|key| {
            serde_json::json!({
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": REGION,
                "eventTime": "2024-01-01T00:00:00.000Z",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": bucket, "arn": format!("arn:aws:s3:::{bucket}")},
                    "object": {"key": key.replace(' ', "+"), "size": 1}
                }
            })
        })
        .collect();
    serde_json::json!({ "Records": records }).to_string()
}

fn eventbridge(bucket: &str, key: &str, detail_type: &str) -> String {
    serde_json::json!({
        "version": "0",
        "id": "17793124-05d4-b198-2fde-7ededc63b103",
        "detail-type": detail_type,
        "source": "aws.s3",
        "account": ACCOUNT,
        "time": "2024-01-01T00:00:00Z",
        "region": REGION,
        "resources": [format!("arn:aws:s3:::{bucket}")],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {"key": key, "size": 10, "etag": "b1946ac92492d2347c6235b4d2611184", "sequencer": "00617F08299329D189"},
            "request-id": "N4N7GDK58NMKJ12R",
            "requester": ACCOUNT,
            "source-ip-address": "203.0.113.15",
            "reason": "PutObject"
        }
    })
    .to_string()
}

/// Acceptance 2: the same through SNS-wrapped notifications and EventBridge events, with test
/// events (from moto through SNS, and one sent directly) and a deletion event in the queue.
#[test]
fn sns_wrapped_and_eventbridge_notifications_with_test_events() {
    let dir = tempfile::tempdir().unwrap();
    let aws = Aws::start();
    let (queue, arn) = aws.queue("logs", 30);
    let objects = corpus_objects();
    // ALB and CloudFront through SNS (moto sends an s3:TestEvent through the topic first).
    aws.bucket("sns-bucket");
    aws.notify_through_sns("sns-bucket", &arn);
    let through_sns = [&objects[2], &objects[3]];
    for (key, content) in through_sns {
        aws.put("sns-bucket", key, gzip(content));
    }
    // CloudTrail and VPC Flow as EventBridge events, sent by the test (moto does not produce them).
    aws.bucket("eb-bucket");
    for (key, content) in [&objects[0], &objects[1]] {
        aws.put("eb-bucket", key, gzip(content));
        aws.send(&queue, &eventbridge("eb-bucket", key, "Object Created"));
    }
    aws.send(
        &queue,
        &eventbridge("eb-bucket", "gone.log", "Object Deleted"),
    );
    aws.send(
        &queue,
        r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2024-01-01T00:00:00.000Z","Bucket":"eb-bucket","RequestId":"5582815E1AEA5ADF","HostId":"8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE"}"#,
    );
    assert_eq!(
        aws.queue_counts(&queue).0,
        7,
        "SNS test event + 2 objects + 4 sent"
    );
    let expected = expected_events(dir.path(), &objects);
    let port = pipeline(dir.path(), &aws, &queue, "", PARSE_TO_FILE);
    let weir = start_weir(dir.path());
    let out = dir.path().join("out");
    wait_until(Duration::from_secs(60), "every expected event", || {
        ndjson_in(&out).len() >= expected.len() && aws.queue_counts(&queue) == (0, 0)
    });
    std::thread::sleep(Duration::from_millis(500));
    let metrics = http_get(port, "/metrics")
        .map(|(_, t)| t)
        .unwrap_or_default();
    let log = stop(weir);
    assert_eq!(sorted(&ndjson_in(&out)), expected, "log:\n{log}");
    assert_eq!(
        metric(&metrics, "weir_aws_s3_messages_received_total", &[]),
        Some(7.0)
    );
    assert_eq!(
        metric(&metrics, "weir_aws_s3_messages_deleted_total", &[]),
        Some(7.0)
    );
    assert_eq!(
        metric(&metrics, "weir_aws_s3_objects_read_total", &[]),
        Some(4.0)
    );
    assert_eq!(error_metric(&metrics, "invalid_message"), 0.0);
}

/// `count` numbered lines for object `object`: `obj-<object> line-<n> <padding>`.
fn numbered_object(object: usize, count: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for n in 0..count {
        writeln!(out, "obj-{object:04} line-{n:06} {}", "p".repeat(40)).unwrap();
    }
    out
}

/// `(object, line)` of every numbered event in `events`, with its record id.
fn numbered(events: &[Json]) -> Vec<((usize, usize), String)> {
    events
        .iter()
        .filter_map(|e| {
            let message = e["message"].as_str()?;
            let mut parts = message.split(' ');
            let object = parts.next()?.strip_prefix("obj-")?.parse().ok()?;
            let line = parts.next()?.strip_prefix("line-")?.parse().ok()?;
            Some(((object, line), e["s3"]["record_id"].as_str()?.to_string()))
        })
        .collect()
}

const RAW_TO_FILE: &str = r#"
[sinks.out]
type = "file"
inputs = ["s3"]
path = "out/events.ndjson"

[sinks.errors]
type = "file"
inputs = ["s3.errors"]
path = "errors/errors.ndjson"
"#;

/// Acceptance 3: SIGKILL while a multi-object batch is being read, restart: every record is in
/// the output at least once, and every duplicate has the id of its first copy.
///
/// The kill lands mid-batch by construction, whatever the machine's speed (unpaced, a fast
/// machine read all 24 objects before the kill): a rate-limited `blackhole` beside the file sink
/// paces the pipeline, since the source's fan-out waits for room in every consumer's buffer.
/// The file sink is then ahead of the pace by at most one source batch (one object, 2,000 lines)
/// plus the pacing sink's buffer and slice, so at 2,000 events/s the 48,000 events take at least
/// 24 s, and no message's 8,000 can all be out within 2.9 s of the first events, while the kill
/// follows them within a poll (200 ms).
#[test]
fn sigkill_mid_batch_then_restart_keeps_every_record_with_stable_ids() {
    const OBJECTS: usize = 24;
    const LINES: usize = 2000;
    const OBJECTS_PER_MESSAGE: usize = 4;
    const PACE_EVENTS_PER_SEC: usize = 2000;
    let paced = format!(
        "\n[sinks.pace]\ntype = \"blackhole\"\ninputs = [\"s3\"]\n\
         rate_limit_events_per_sec = {PACE_EVENTS_PER_SEC}\nbuffer.max_events = 100\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let aws = Aws::start();
    let (queue, _) = aws.queue("logs", 8);
    aws.bucket("logs-bucket");
    let keys: Vec<String> = (0..OBJECTS)
        .map(|i| format!("app/part {i:04}.log.gz"))
        .collect();
    for (i, key) in keys.iter().enumerate() {
        aws.put("logs-bucket", key, gzip(&numbered_object(i, LINES)));
    }
    // Messages naming 4 objects each (a key with a space arrives as `+`).
    for chunk in keys.chunks(OBJECTS_PER_MESSAGE) {
        let names: Vec<&str> = chunk.iter().map(String::as_str).collect();
        aws.send(&queue, &notification("logs-bucket", &names));
    }
    pipeline(
        dir.path(),
        &aws,
        &queue,
        "",
        &format!("visibility_timeout_secs = 8\n{RAW_TO_FILE}{paced}"),
    );
    let out = dir.path().join("out");
    let mut weir = start_weir(dir.path());
    wait_until(Duration::from_secs(60), "the first events", || {
        !ndjson_in(&out).is_empty()
    });
    weir.signal(libc::SIGKILL);
    let _ = weir.wait(Duration::from_secs(10));
    let before_events = ndjson_in(&out);
    let before = before_events.len();
    assert!(
        before < OBJECTS * LINES,
        "the kill came after everything was read ({before} events)"
    );
    // Mid-batch: some message has part, not all, of its objects' records in the output.
    let mut per_message: BTreeMap<usize, std::collections::HashSet<(usize, usize)>> =
        BTreeMap::new();
    for (record, _) in numbered(&before_events) {
        per_message
            .entry(record.0 / OBJECTS_PER_MESSAGE)
            .or_default()
            .insert(record);
    }
    let per_message: BTreeMap<usize, usize> =
        per_message.into_iter().map(|(m, r)| (m, r.len())).collect();
    assert!(
        per_message
            .values()
            .any(|n| *n > 0 && *n < OBJECTS_PER_MESSAGE * LINES),
        "the kill did not land mid-batch: records out per message {per_message:?}"
    );
    eprintln!("aws_s3 crash: SIGKILL after {before} events (per message {per_message:?})");
    let weir = start_weir(dir.path());
    wait_until(
        Duration::from_secs(120),
        "every record after the restart",
        || aws.queue_counts(&queue) == (0, 0),
    );
    std::thread::sleep(Duration::from_millis(500));
    let log = stop(weir);
    let events = ndjson_in(&out);
    let mut first_id: HashMap<(usize, usize), String> = HashMap::new();
    let mut duplicates = 0;
    for (record, id) in numbered(&events) {
        match first_id.get(&record) {
            Some(first) => {
                duplicates += 1;
                assert_eq!(first, &id, "duplicate of {record:?} has another id");
            }
            None => {
                first_id.insert(record, id);
            }
        }
    }
    eprintln!(
        "aws_s3 crash: {} events, {} distinct records, {duplicates} duplicates",
        events.len(),
        first_id.len()
    );
    assert_eq!(first_id.len(), OBJECTS * LINES, "records lost; log:\n{log}");
    let distinct_ids: std::collections::HashSet<&String> = first_id.values().collect();
    assert_eq!(
        distinct_ids.len(),
        OBJECTS * LINES,
        "ids are unique per record"
    );
    // The key arrived URL-encoded and was decoded.
    assert!(events.iter().all(|e| e["s3"]["key"]
        .as_str()
        .is_some_and(|k| k.starts_with("app/part "))));
}

/// Acceptance 4: an object whose delivery takes longer than the visibility timeout (a
/// rate-limited sink) is not redelivered to a second `weir` reading the same queue: the
/// heartbeat extends the visibility.
#[test]
fn heartbeat_keeps_a_slow_object_from_a_second_consumer() {
    let aws = Aws::start();
    let (queue, _) = aws.queue("logs", 4);
    aws.bucket("logs-bucket");
    aws.put("logs-bucket", "slow.log", numbered_object(0, 500));
    aws.send(&queue, &notification("logs-bucket", &["slow.log"]));
    let sink = r#"
[sinks.slow]
type = "blackhole"
inputs = ["s3"]
rate_limit_events_per_sec = 50
"#;
    let extra = format!("visibility_timeout_secs = 4\n{sink}");
    let first_dir = tempfile::tempdir().unwrap();
    let first_port = pipeline(first_dir.path(), &aws, &queue, "", &extra);
    let first = start_weir(first_dir.path());
    wait_for_metrics(first_port, Duration::from_secs(30), |t| {
        metric(t, "weir_aws_s3_messages_received_total", &[]).unwrap_or(0.0) >= 1.0
    });
    let second_dir = tempfile::tempdir().unwrap();
    let second_port = pipeline(second_dir.path(), &aws, &queue, "", &extra);
    let second = start_weir(second_dir.path());
    // The second consumer is up and polling (its source registered its metrics).
    wait_for_metrics(second_port, Duration::from_secs(30), |t| {
        metric(t, "weir_aws_s3_messages_received_total", &[]).is_some()
    });
    // 500 events at 50/s: about 10 s, two and a half visibility timeouts.
    let text = wait_for_metrics(first_port, Duration::from_secs(60), |t| {
        metric(t, "weir_aws_s3_messages_deleted_total", &[]).unwrap_or(0.0) >= 1.0
    });
    let extensions = metric(&text, "weir_aws_s3_visibility_extensions_total", &[]).unwrap_or(0.0);
    let second_received = http_get(second_port, "/metrics")
        .and_then(|(_, t)| metric(&t, "weir_aws_s3_messages_received_total", &[]));
    let log_first = stop(first);
    let log_second = stop(second);
    eprintln!("aws_s3 heartbeat: {extensions} extensions");
    assert_eq!(
        metric(&text, "weir_aws_s3_messages_deleted_total", &[]),
        Some(1.0),
        "{log_first}"
    );
    assert!(extensions >= 3.0, "{extensions} extensions\n{log_first}");
    assert_eq!(
        second_received,
        Some(0.0),
        "second consumer got the message:\n{log_second}"
    );
    assert_eq!(aws.queue_counts(&queue), (0, 0));
}

/// Acceptance 5: a sink that rejects the events: the message is not deleted and is received
/// again (receive count 2); with `on_rejected = "delete"` it is deleted.
#[test]
fn rejected_events_leave_the_message_for_redelivery() {
    let aws = Aws::start();
    let (queue, _) = aws.queue("logs", 2);
    aws.bucket("logs-bucket");
    aws.put("logs-bucket", "app.log", numbered_object(0, 10));
    let body = notification("logs-bucket", &["app.log"]);
    aws.send(&queue, &body);
    // A path template whose field no event has: the file sink rejects every event.
    let sink = r#"
[sinks.out]
type = "file"
inputs = ["s3"]
path = "out/{{ no_such_field }}.log"
"#;
    let dir = tempfile::tempdir().unwrap();
    let port = pipeline(
        dir.path(),
        &aws,
        &queue,
        "",
        &format!("visibility_timeout_secs = 2\n{sink}"),
    );
    let weir = start_weir(dir.path());
    let text = wait_for_metrics(port, Duration::from_secs(30), |t| {
        metric(t, "weir_aws_s3_messages_failed_total", &[]).unwrap_or(0.0) >= 1.0
    });
    let log = stop(weir);
    assert_eq!(error_metric(&text, "delivery_rejected"), 1.0, "{log}");
    assert_eq!(
        metric(&text, "weir_aws_s3_messages_deleted_total", &[]),
        Some(0.0)
    );
    // The message is still there and comes back after its visibility timeout.
    let mut again = Vec::new();
    wait_until(Duration::from_secs(15), "the message to come back", || {
        again = aws.receive(&queue, 1);
        !again.is_empty()
    });
    assert_eq!(again, vec![(body.clone(), 2)]);

    // on_rejected = "delete": the message goes (and the events with it).
    let dir = tempfile::tempdir().unwrap();
    let port = pipeline(
        dir.path(),
        &aws,
        &queue,
        "on_rejected = \"delete\"",
        &format!("visibility_timeout_secs = 2\n{sink}"),
    );
    let weir = start_weir(dir.path());
    let text = wait_for_metrics(port, Duration::from_secs(30), |t| {
        metric(t, "weir_aws_s3_messages_deleted_total", &[]).unwrap_or(0.0) >= 1.0
    });
    stop(weir);
    assert_eq!(error_metric(&text, "rejected_deleted"), 1.0);
    assert_eq!(aws.queue_counts(&queue), (0, 0));
}

/// Acceptance 6: bad input is counted, reported on `s3.errors`, and the pipeline goes on: a
/// truncated gzip object, a gzip bomb over the cap, a body that is not JSON, an event for a
/// missing key, lines that are not UTF-8, a line over `max_line_bytes`.
#[test]
fn bad_input_is_counted_and_the_pipeline_lives_on() {
    let aws = Aws::start();
    let (queue, _) = aws.queue("logs", 30);
    aws.bucket("logs-bucket");
    let mut keys = Vec::new();
    let mut put = |key: &str, body: Vec<u8>| {
        aws.put("logs-bucket", key, body);
        keys.push(key.to_string());
    };
    // Truncated gzip: the first lines are still delivered.
    let whole = gzip(&numbered_object(1, 2000));
    put("truncated.log.gz", whole[..whole.len() / 2].to_vec());
    // A bomb: 64 MiB of zeros in ~64 KiB (16 gzip members of 4 MiB); the cap is 1 MiB.
    put("bomb.log.gz", gzip(&vec![0u8; 4 * 1024 * 1024]).repeat(16));
    // Invalid UTF-8 between good lines.
    put(
        "latin1.log",
        b"obj-0002 line-000000 good\nobj-0002 caf\xe9 \xff\xfe\nobj-0002 line-000002 good\n"
            .to_vec(),
    );
    // A line over max_line_bytes (1000) between good lines.
    let mut long = b"obj-0003 line-000000 good\n".to_vec();
    long.extend(vec![b'x'; 5000]);
    long.extend(b"\nobj-0003 line-000002 good\n");
    put("long.log", long);
    let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    aws.send(&queue, &notification("logs-bucket", &key_refs));
    aws.send(&queue, "this is not JSON");
    aws.send(&queue, &notification("logs-bucket", &["missing/key.log"]));
    let dir = tempfile::tempdir().unwrap();
    let port = pipeline(
        dir.path(),
        &aws,
        &queue,
        "max_line_bytes = 1000\nmax_decompressed_bytes = 1048576",
        RAW_TO_FILE,
    );
    let weir = start_weir(dir.path());
    let text = wait_for_metrics(port, Duration::from_secs(60), |t| {
        metric(t, "weir_aws_s3_messages_deleted_total", &[]).unwrap_or(0.0) >= 2.0
            && error_metric(t, "invalid_message") >= 1.0
    });
    // Alive afterwards: a good object is read.
    aws.put("logs-bucket", "after.log", numbered_object(9, 5));
    aws.send(&queue, &notification("logs-bucket", &["after.log"]));
    let out = dir.path().join("out");
    wait_until(
        Duration::from_secs(30),
        "the object after the bad ones",
        || numbered(&ndjson_in(&out)).iter().any(|((o, _), _)| *o == 9),
    );
    let after = http_get(port, "/metrics")
        .map(|(_, t)| t)
        .unwrap_or_default();
    let log = stop(weir);
    for kind in [
        "decompression_failed",
        "decompressed_too_large",
        "invalid_message",
        "object_not_found",
        "invalid_utf8",
        "line_too_long",
    ] {
        assert!(
            error_metric(&text, kind) >= 1.0,
            "{kind} not counted:\n{text}\n{log}"
        );
    }
    let events = numbered(&ndjson_in(&out));
    let lines_of = |object| events.iter().filter(|((o, _), _)| *o == object).count();
    assert!(
        lines_of(1) > 0 && lines_of(1) < 2000,
        "truncated gzip: {} lines",
        lines_of(1)
    );
    assert_eq!(lines_of(2), 2, "the good lines around invalid UTF-8");
    assert_eq!(lines_of(3), 2, "the good lines around the long line");
    assert_eq!(lines_of(9), 5);
    let errors = ndjson_in(&dir.path().join("errors"));
    for kind in [
        "decompression_failed",
        "decompressed_too_large",
        "object_not_found",
        "invalid_utf8",
        "line_too_long",
    ] {
        assert!(
            errors.iter().any(|e| e["error_type"] == kind),
            "no {kind} on s3.errors: {errors:?}"
        );
    }
    // The line that is not UTF-8 is kept exactly.
    let latin1 = errors
        .iter()
        .find(|e| e["error_type"] == "invalid_utf8")
        .and_then(|e| e["message_base64"].as_str())
        .map(|b| base64::engine::general_purpose::STANDARD.decode(b).unwrap());
    assert_eq!(latin1.as_deref(), Some(&b"obj-0002 caf\xe9 \xff\xfe"[..]));
    // The non-JSON message is left to the queue's redrive policy; everything else is done.
    assert_eq!(
        metric(&after, "weir_aws_s3_messages_deleted_total", &[]),
        Some(3.0)
    );
    let (visible, in_flight) = aws.queue_counts(&queue);
    assert_eq!(visible + in_flight, 1);
}

/// Acceptance 7: two `weir` processes on one queue with 200 objects: together they output every
/// record, no object lost.
#[test]
fn two_processes_share_one_queue() {
    const OBJECTS: usize = 200;
    const LINES: usize = 20;
    let aws = Aws::start();
    let (queue, arn) = aws.queue("logs", 10);
    aws.bucket("logs-bucket");
    aws.notify_queue("logs-bucket", &arn);
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let ports: Vec<u16> = dirs
        .iter()
        .map(|d| {
            pipeline(
                d.path(),
                &aws,
                &queue,
                "",
                &format!("concurrency = 4\n{RAW_TO_FILE}"),
            )
        })
        .collect();
    let weirs: Vec<Weir> = dirs.iter().map(|d| start_weir(d.path())).collect();
    for i in 0..OBJECTS {
        aws.put(
            "logs-bucket",
            &format!("app/{i:04}.log.gz"),
            gzip(&numbered_object(i, LINES)),
        );
    }
    let union = || {
        let mut all = Vec::new();
        for d in &dirs {
            all.extend(numbered(&ndjson_in(&d.path().join("out"))));
        }
        all
    };
    wait_until(
        Duration::from_secs(120),
        "every record in the union",
        || {
            let records: std::collections::HashSet<(usize, usize)> =
                union().into_iter().map(|(r, _)| r).collect();
            records.len() == OBJECTS * LINES && aws.queue_counts(&queue) == (0, 0)
        },
    );
    let objects: Vec<f64> = ports
        .iter()
        .map(|p| s3_metric(*p, "weir_aws_s3_objects_read_total"))
        .collect();
    for weir in weirs {
        stop(weir);
    }
    let mut per_record: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    for (record, _) in union() {
        *per_record.entry(record).or_default() += 1;
    }
    eprintln!("aws_s3 scale-out: objects read per process {objects:?}");
    assert_eq!(per_record.len(), OBJECTS * LINES);
    assert_eq!(
        objects.iter().sum::<f64>(),
        OBJECTS as f64,
        "each object read once"
    );
}

/// Backpressure: with a slow sink and `concurrency = 1`, the source never holds more than one
/// message: the others stay visible on the queue (for other consumers) instead of timing out in
/// Weir's memory.
#[test]
fn a_slow_sink_stops_the_source_from_receiving() {
    let aws = Aws::start();
    let (queue, _) = aws.queue("logs", 30);
    aws.bucket("logs-bucket");
    for i in 0..4 {
        let key = format!("app/{i}.log");
        aws.put("logs-bucket", &key, numbered_object(i, 100));
        aws.send(&queue, &notification("logs-bucket", &[&key]));
    }
    let sink = r#"
[sinks.slow]
type = "blackhole"
inputs = ["s3"]
rate_limit_events_per_sec = 200
"#;
    let dir = tempfile::tempdir().unwrap();
    let port = pipeline(
        dir.path(),
        &aws,
        &queue,
        "",
        &format!("concurrency = 1\n{sink}"),
    );
    let weir = start_weir(dir.path());
    let mut most_in_flight = 0;
    let mut most_received_ahead = 0.0f64;
    wait_until(Duration::from_secs(60), "every message done", || {
        let (visible, in_flight) = aws.queue_counts(&queue);
        most_in_flight = most_in_flight.max(in_flight);
        let received = s3_metric(port, "weir_aws_s3_messages_received_total");
        let deleted = s3_metric(port, "weir_aws_s3_messages_deleted_total");
        most_received_ahead = most_received_ahead.max(received - deleted);
        visible + in_flight == 0 && deleted == 4.0
    });
    stop(weir);
    assert_eq!(most_in_flight, 1, "messages taken while the sink was busy");
    assert!(
        most_received_ahead <= 1.0,
        "{most_received_ahead} messages received ahead"
    );
}

/// `auth.assume_role`: the source assumes the role through STS (moto's) and reads with the
/// role's credentials; a failing STS call would fail every request.
#[test]
fn assume_role_credentials_are_used() {
    let aws = Aws::start();
    let (queue, _) = aws.queue("logs", 30);
    aws.bucket("logs-bucket");
    aws.put("logs-bucket", "app.log", numbered_object(0, 10));
    aws.send(&queue, &notification("logs-bucket", &["app.log"]));
    let dir = tempfile::tempdir().unwrap();
    let port = pipeline(
        dir.path(),
        &aws,
        &queue,
        "[sources.s3.auth.assume_role]\nrole_arn = \"arn:aws:iam::123456789012:role/weir-reader\"\nexternal_id = \"weir-test\"\nsession_name = \"weir-e2e\"",
        RAW_TO_FILE,
    );
    let weir = start_weir(dir.path());
    let text = wait_for_metrics(port, Duration::from_secs(30), |t| {
        metric(t, "weir_aws_s3_messages_deleted_total", &[]).unwrap_or(0.0) >= 1.0
    });
    let log = stop(weir);
    assert_eq!(
        metric(&text, "weir_aws_s3_objects_read_total", &[]),
        Some(1.0),
        "{log}"
    );
    assert_eq!(numbered(&ndjson_in(&dir.path().join("out"))).len(), 10);
    // moto recorded the role session, with our session name and external id.
    let state = http_get(aws.moto.port, "/moto-api/data.json")
        .map(|(_, body)| body)
        .unwrap_or_default();
    assert!(
        state.contains("assumed-role/weir-reader/weir-e2e")
            && state.contains("\"external_id\": \"weir-test\""),
        "no AssumeRole session in moto's state: {state}"
    );
}
