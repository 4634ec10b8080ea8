//! Acceptance of the `aws_kinesis` source against moto (a private moto_server per test): real
//! `weir` processes read Kinesis streams, keep leases and checkpoints in DynamoDB, and the tests
//! check the output files, the lease table and the metrics.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{PutRecordsRequestEntry, StreamStatus};
use serde_json::Value as Json;
use weir_tests::fault_proxy::{AwsFault, FaultProxy};
use weir_tests::moto_aws::{sdk_config, ACCOUNT, REGION, WEIR_ENV};
use weir_tests::services::{moto, Service};
use weir_tests::{free_port, http_get, metric, Weir};

const TABLE: &str = "weir-leases";

/// SDK clients on one moto server, driven from a private runtime.
struct Aws {
    moto: Service,
    rt: tokio::runtime::Runtime,
    kinesis: aws_sdk_kinesis::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
}

/// One lease row as the test sees it.
#[derive(Clone, Debug)]
struct Row {
    owner: String,
    checkpoint: Option<String>,
}

impl Aws {
    fn start() -> Self {
        let moto = moto();
        let rt = weir_tests::runtime();
        let sdk = sdk_config(&rt, &moto.url());
        Self {
            kinesis: aws_sdk_kinesis::Client::new(&sdk),
            dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
            logs: aws_sdk_cloudwatchlogs::Client::new(&sdk),
            rt,
            moto,
        }
    }

    /// Creates a stream of `shards` shards and waits until it is active; returns its ARN.
    fn stream(&self, name: &str, shards: i32) -> String {
        self.rt.block_on(async {
            self.kinesis
                .create_stream()
                .stream_name(name)
                .shard_count(shards)
                .send()
                .await
                .expect("create stream");
            loop {
                let d = self
                    .kinesis
                    .describe_stream_summary()
                    .stream_name(name)
                    .send()
                    .await
                    .expect("describe stream");
                let summary = d.stream_description_summary.expect("summary");
                if summary.stream_status == StreamStatus::Active {
                    return summary.stream_arn;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    }

    /// Puts records `(partition key, data)`; returns `(shard id, sequence number)` of each.
    fn put(&self, stream: &str, records: &[(String, Vec<u8>)]) -> Vec<(String, String)> {
        self.rt.block_on(async {
            let mut out = Vec::new();
            for chunk in records.chunks(100) {
                let entries = chunk
                    .iter()
                    .map(|(key, data)| {
                        PutRecordsRequestEntry::builder()
                            .partition_key(key)
                            .data(Blob::new(data.clone()))
                            .build()
                            .expect("entry")
                    })
                    .collect();
                let answer = self
                    .kinesis
                    .put_records()
                    .stream_name(stream)
                    .set_records(Some(entries))
                    .send()
                    .await
                    .expect("put records");
                assert_eq!(answer.failed_record_count, Some(0));
                for r in answer.records {
                    out.push((
                        r.shard_id.expect("shard id"),
                        r.sequence_number.expect("sequence number"),
                    ));
                }
            }
            out
        })
    }

    /// The lease table, by lease key.
    fn leases(&self) -> BTreeMap<String, Row> {
        self.rt.block_on(async {
            let Ok(scan) = self.dynamodb.scan().table_name(TABLE).send().await else {
                return BTreeMap::new();
            };
            scan.items()
                .iter()
                .filter_map(|item| {
                    let text = |k: &str| match item.get(k) {
                        Some(AttributeValue::S(v)) => Some(v.clone()),
                        _ => None,
                    };
                    Some((
                        text("lease_key")?,
                        Row {
                            owner: text("owner").unwrap_or_default(),
                            checkpoint: text("checkpoint"),
                        },
                    ))
                })
                .collect()
        })
    }
}

/// A pipeline: `aws_kinesis` on `stream` → `rest` (sinks, transforms); returns the API port.
fn pipeline(dir: &Path, aws: &Aws, stream: &str, source_extra: &str, rest: &str) -> u16 {
    pipeline_via(dir, &aws.moto.url(), stream, source_extra, rest)
}

/// [`pipeline`] with the source's `endpoint` at `endpoint` (a proxy in front of moto).
fn pipeline_via(dir: &Path, endpoint: &str, stream: &str, source_extra: &str, rest: &str) -> u16 {
    let port = free_port();
    // Test-speed defaults, each unless `source_extra` sets it.
    let defaults: String = [
        ("start_position", "\"trim_horizon\""),
        ("lease_duration_ms", "3000"),
        ("checkpoint_interval_ms", "300"),
        ("discovery_interval_ms", "2000"),
        ("poll_interval_ms", "200"),
    ]
    .iter()
    .filter(|(key, _)| !source_extra.contains(key))
    .map(|(key, value)| format!("{key} = {value}\n"))
    .collect();
    let text = format!(
        r#"
data_dir = "data"
[api]
address = "127.0.0.1:{port}"

[sources.kin]
type = "aws_kinesis"
streams = ["{stream}"]
region = "{REGION}"
endpoint = "{endpoint}"
lease_table = "{TABLE}"
{defaults}{source_extra}
{rest}
"#,
    );
    std::fs::write(dir.join("pipeline.toml"), text).expect("pipeline file");
    port
}

const FILE_SINKS: &str = r#"
[sinks.out]
type = "file"
inputs = ["kin"]
path = "out/events.ndjson"

[sinks.bad]
type = "file"
inputs = ["kin.errors"]
path = "bad/errors.ndjson"
"#;

fn start_weir(dir: &Path) -> Weir {
    Weir::start(dir, &["run", "-c", "pipeline.toml"], &WEIR_ENV)
}

fn stop(mut weir: Weir) -> String {
    weir.signal(libc::SIGTERM);
    let status = weir.wait(Duration::from_secs(60));
    let log = weir.log_text();
    assert!(status.success(), "weir failed: {status:?}\n{log}");
    log
}

/// Every NDJSON object in the file.
fn ndjson(path: &Path) -> Vec<Json> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn wait_until(timeout: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn kin_metric(port: u16, name: &str, labels: &[(&str, &str)]) -> f64 {
    let mut all = vec![("component_id", "kin")];
    all.extend_from_slice(labels);
    http_get(port, "/metrics")
        .and_then(|(_, text)| metric(&text, name, &all))
        .unwrap_or(0.0)
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(data).expect("gzip");
    encoder.finish().expect("gzip")
}

/// Numbered records `n` for `range`, with partition key `k<n>`.
fn numbered(range: std::ops::Range<usize>) -> Vec<(String, Vec<u8>)> {
    range
        .map(|n| (format!("k{n}"), format!("record {n:06}").into_bytes()))
        .collect()
}

/// The number in a `record NNNNNN` message.
fn number_of(event: &Json) -> Option<usize> {
    event["message"]
        .as_str()?
        .strip_prefix("record ")?
        .parse()
        .ok()
}

/// Kinesis sequence numbers are decimal strings of up to 128 bits: compare them as numbers.
fn seq_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// The last sequence number put into each shard, by shard id.
fn last_per_shard(puts: &[(String, String)]) -> HashMap<String, String> {
    let mut last: HashMap<String, String> = HashMap::new();
    for (shard, seq) in puts {
        let entry = last.entry(shard.clone()).or_insert_with(|| seq.clone());
        if seq_cmp(seq, entry).is_gt() {
            *entry = seq.clone();
        }
    }
    last
}

/// Acceptance 1: Lambda, RDS and CloudTrail log events reach a 4-shard stream through real
/// CloudWatch Logs subscriptions (moto), and come out of `aws_kinesis` → `aws_parse(auto)` parsed,
/// with their log group metadata; a CONTROL_MESSAGE produces nothing.
#[test]
fn cloudwatch_subscription_events_are_parsed_by_log_group() {
    let aws = Aws::start();
    let arn = aws.stream("cw-logs", 4);
    let groups: [(&str, &str, Vec<String>); 3] = [
        (
            "/aws/lambda/checkout",
            "2024/05/01/[$LATEST]abc",
            vec![
                "START RequestId: 6f8e2a9c-1b2d-4c3e-8f9a-0b1c2d3e4f5a Version: $LATEST\n".into(),
                "REPORT RequestId: 6f8e2a9c-1b2d-4c3e-8f9a-0b1c2d3e4f5a\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 52 MB\t\n".into(),
            ],
        ),
        (
            "/aws/rds/instance/labdb/postgresql",
            "labdb.0",
            vec![
                "2022-10-05 22:05:52 UTC:52.95.4.1(11335):postgres@labdb:[3639]:LOG: statement: SELECT 1".into(),
                "2022-10-05 22:05:53 UTC:52.95.4.1(11335):postgres@labdb:[3639]:LOG: statement: SELECT 2".into(),
            ],
        ),
        (
            "aws-cloudtrail-logs-123456789012-abcd",
            "123456789012_CloudTrail_us-east-1",
            vec![serde_json::json!({
                "eventVersion": "1.09",
                "eventTime": "2024-05-01T00:00:01Z",
                "eventSource": "s3.amazonaws.com",
                "eventName": "PutObject",
                "awsRegion": "us-east-1",
                "sourceIPAddress": "192.0.2.1",
                "eventID": "c0ffee00-0000-4000-8000-000000000001",
                "eventType": "AwsApiCall",
                "recipientAccountId": ACCOUNT,
            })
            .to_string()],
        ),
    ];
    aws.rt.block_on(async {
        for (group, stream, messages) in &groups {
            aws.logs
                .create_log_group()
                .log_group_name(*group)
                .send()
                .await
                .expect("log group");
            aws.logs
                .create_log_stream()
                .log_group_name(*group)
                .log_stream_name(*stream)
                .send()
                .await
                .expect("log stream");
            aws.logs
                .put_subscription_filter()
                .log_group_name(*group)
                .filter_name("to-kinesis")
                .filter_pattern("")
                .destination_arn(&arn)
                .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/cwl-to-kinesis"))
                .send()
                .await
                .expect("subscription filter");
            let now = chrono_now_ms();
            let events = messages
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                        .timestamp(now + i as i64)
                        .message(m)
                        .build()
                        .expect("log event")
                })
                .collect();
            aws.logs
                .put_log_events()
                .log_group_name(*group)
                .log_stream_name(*stream)
                .set_log_events(Some(events))
                .send()
                .await
                .expect("put log events");
        }
    });
    // A destination health check, as CloudWatch Logs sends when a subscription is created.
    let control = gzip(
        serde_json::json!({
            "messageType": "CONTROL_MESSAGE",
            "owner": "CloudwatchLogs",
            "logGroup": "",
            "logStream": "",
            "subscriptionFilters": [],
            "logEvents": [{"id": "", "timestamp": 1714521600000u64,
                "message": "CWL CONTROL MESSAGE: Checking health of destination Kinesis stream."}],
        })
        .to_string()
        .as_bytes(),
    );
    aws.put("cw-logs", &[("control".into(), control)]);

    let dir = tempfile::tempdir().unwrap();
    let rest = r#"
[transforms.parse]
type = "aws_parse"
inputs = ["kin"]
format = "auto"

[sinks.out]
type = "file"
inputs = ["parse"]
path = "out/events.ndjson"

[sinks.bad]
type = "file"
inputs = ["kin.errors", "parse.errors"]
path = "bad/errors.ndjson"
"#;
    let api = pipeline(dir.path(), &aws, "cw-logs", "", rest);
    let weir = start_weir(dir.path());
    let out = dir.path().join("out/events.ndjson");
    wait_until(Duration::from_secs(60), "5 parsed events", || {
        ndjson(&out).len() >= 5
    });
    // The control record is acknowledged too: every shard's checkpoint reaches its last record.
    wait_until(Duration::from_secs(30), "checkpoints", || {
        kin_metric(api, "weir_aws_kinesis_records_total", &[]) >= 4.0
            && aws
                .leases()
                .values()
                .filter(|r| r.checkpoint.is_some())
                .count()
                >= 1
    });
    std::thread::sleep(Duration::from_secs(1));
    let log = stop(weir);
    let events = ndjson(&out);
    assert_eq!(events.len(), 5, "{events:#?}\n{log}");
    assert!(
        ndjson(&dir.path().join("bad/errors.ndjson")).is_empty(),
        "no parse errors: {log}"
    );
    let by_group = |group: &str| -> Vec<&Json> {
        events
            .iter()
            .filter(|e| e["cloudwatch"]["log_group"] == group)
            .collect()
    };
    let lambda = by_group("/aws/lambda/checkout");
    assert_eq!(lambda.len(), 2);
    assert!(lambda.iter().all(|e| e["aws"]["log_type"] == "lambda"));
    assert!(lambda.iter().any(|e| e["duration_ms"] == 12.34));
    assert!(lambda.iter().all(
        |e| e["cloudwatch"]["log_stream"] == "2024/05/01/[$LATEST]abc"
            && e["cloudwatch"]["owner"] == ACCOUNT
            && e["cloudwatch"]["subscription_filters"][0] == "to-kinesis"
            && e["cloudwatch"]["id"].is_string()
    ));
    let rds = by_group("/aws/rds/instance/labdb/postgresql");
    assert_eq!(rds.len(), 2);
    assert!(rds.iter().all(|e| e["aws"]["log_type"] == "rds_postgresql"
        && e["database_name"] == "labdb"
        && e["process_id"] == 3639));
    let trail = by_group("aws-cloudtrail-logs-123456789012-abcd");
    assert_eq!(trail.len(), 1);
    assert_eq!(trail[0]["aws"]["log_type"], "cloudtrail");
    assert_eq!(trail[0]["eventName"], "PutObject");
    for e in &events {
        assert_eq!(e["kinesis"]["stream"], "cw-logs");
        assert!(e["kinesis"]["shard_id"]
            .as_str()
            .unwrap()
            .starts_with("shardId-"));
        assert!(e["kinesis"]["sequence_number"].is_string());
        assert!(!e.to_string().contains("CONTROL MESSAGE"), "{e}");
    }
}

fn chrono_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Acceptance 4: KPL aggregates come out as their user records (own partition keys,
/// sub-sequence numbers); a corrupted aggregate goes to the errors output, counted, no crash.
#[test]
fn kpl_aggregates_are_deaggregated_and_corrupt_ones_dead_lettered() {
    use weir_aws::envelopes::kpl;
    let aws = Aws::start();
    aws.stream("kpl", 1);
    let users: Vec<(String, Vec<u8>)> = (0..5)
        .map(|i| (format!("user-{i}"), format!("user record {i}").into_bytes()))
        .collect();
    let refs: Vec<(&str, &[u8])> = users
        .iter()
        .map(|(k, d)| (k.as_str(), d.as_slice()))
        .collect();
    let aggregate = kpl::aggregate(&refs).to_vec();
    let mut corrupt = aggregate.clone();
    let middle = corrupt.len() / 2;
    corrupt[middle] ^= 0x55;
    aws.put(
        "kpl",
        &[
            ("agg".into(), aggregate),
            ("agg".into(), corrupt),
            ("plain".into(), b"plain record".to_vec()),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let api = pipeline(dir.path(), &aws, "kpl", "", FILE_SINKS);
    let weir = start_weir(dir.path());
    let out = dir.path().join("out/events.ndjson");
    let bad = dir.path().join("bad/errors.ndjson");
    wait_until(Duration::from_secs(60), "6 events and 1 error", || {
        ndjson(&out).len() >= 6 && !ndjson(&bad).is_empty()
    });
    let invalid = kin_metric(
        api,
        "weir_component_errors_total",
        &[("error_type", "invalid_record")],
    );
    let log = stop(weir);
    let events = ndjson(&out);
    assert_eq!(events.len(), 6, "{events:#?}\n{log}");
    for (i, e) in events.iter().take(5).enumerate() {
        assert_eq!(e["message"], format!("user record {i}"));
        assert_eq!(e["kinesis"]["partition_key"], format!("user-{i}"));
        assert_eq!(e["kinesis"]["sub_sequence_number"], i);
    }
    let first_seq = &events[0]["kinesis"]["sequence_number"];
    assert!(events
        .iter()
        .take(5)
        .all(|e| &e["kinesis"]["sequence_number"] == first_seq));
    let ids: HashSet<&str> = events
        .iter()
        .map(|e| e["kinesis"]["record_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 6, "distinct deterministic ids");
    assert_eq!(events[5]["message"], "plain record");
    assert!(events[5]["kinesis"].get("sub_sequence_number").is_none());
    let errors = ndjson(&bad);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0]["error"].as_str().unwrap().contains("KPL"),
        "{errors:#?}"
    );
    assert_eq!(invalid, 1.0);
}

/// Acceptance 3: while the sink is down no checkpoint moves past undelivered records; after a
/// restart with the sink back, delivery resumes from the checkpoint (and only from there).
#[test]
fn checkpoints_never_pass_undelivered_records() {
    let aws = Aws::start();
    aws.stream("down", 2);
    let dir = tempfile::tempdir().unwrap();
    pipeline(dir.path(), &aws, "down", "", FILE_SINKS);
    let out = dir.path().join("out/events.ndjson");

    // Phase 1: 20 records delivered and checkpointed.
    let first = aws.put("down", &numbered(0..20));
    let weir = start_weir(dir.path());
    wait_until(Duration::from_secs(60), "20 events", || {
        ndjson(&out).len() >= 20
    });
    let phase1 = last_per_shard(&first);
    let checkpoints_are = |expected: &HashMap<String, String>| {
        let rows = aws.leases();
        expected.iter().all(|(shard, seq)| {
            rows.get(&format!("down/{shard}"))
                .and_then(|r| r.checkpoint.as_deref())
                == Some(seq.as_str())
        })
    };
    wait_until(Duration::from_secs(30), "phase 1 checkpoints", || {
        checkpoints_are(&phase1)
    });
    stop(weir);

    // Phase 2: the sink's directory is blocked by a regular file; 30 more records.
    std::fs::rename(dir.path().join("out"), dir.path().join("out-phase1")).unwrap();
    std::fs::write(dir.path().join("out"), "in the way").unwrap();
    let second = aws.put("down", &numbered(20..50));
    let api = pipeline(dir.path(), &aws, "down", "", FILE_SINKS);
    let weir = start_weir(dir.path());
    wait_until(Duration::from_secs(60), "failed deliveries", || {
        kin_metric(
            api,
            "weir_component_errors_total",
            &[("error_type", "delivery_failed")],
        ) >= 2.0
    });
    // Several checkpoint intervals and rewinds later, nothing moved.
    std::thread::sleep(Duration::from_secs(3));
    assert!(checkpoints_are(&phase1), "{:?}", aws.leases());
    let log = stop(weir);
    assert!(checkpoints_are(&phase1), "{:?}\n{log}", aws.leases());

    // Phase 3: the sink is back: exactly the 30 undelivered records come out.
    std::fs::remove_file(dir.path().join("out")).unwrap();
    pipeline(dir.path(), &aws, "down", "", FILE_SINKS);
    let weir = start_weir(dir.path());
    wait_until(Duration::from_secs(60), "30 events", || {
        ndjson(&out).len() >= 30
    });
    let mut expected = phase1.clone();
    expected.extend(last_per_shard(&second));
    wait_until(Duration::from_secs(30), "phase 3 checkpoints", || {
        checkpoints_are(&expected)
    });
    let log = stop(weir);
    let mut numbers: Vec<usize> = ndjson(&out).iter().filter_map(number_of).collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (20..50).collect::<Vec<_>>(), "{log}");
}

/// Acceptance 2: two processes on one 8-shard stream split the shards; after one is killed
/// (SIGKILL) the other takes its shards once the leases expire; the union of both outputs holds
/// every record, and duplicates come only from after the dead process's last checkpoints.
#[test]
fn two_processes_split_shards_and_take_over_after_a_crash() {
    let aws = Aws::start();
    aws.stream("wide", 8);
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    pipeline(dir_a.path(), &aws, "wide", "worker_id = \"a\"", FILE_SINKS);
    // B checkpoints seldom, so it dies with delivered records past its last checkpoint.
    pipeline(
        dir_b.path(),
        &aws,
        "wide",
        "worker_id = \"b\"\ncheckpoint_interval_ms = 2000",
        FILE_SINKS,
    );
    let weir_a = start_weir(dir_a.path());
    let mut weir_b = start_weir(dir_b.path());
    let out_a = dir_a.path().join("out/events.ndjson");
    let out_b = dir_b.path().join("out/events.ndjson");

    let count = |owner: &str| aws.leases().values().filter(|r| r.owner == owner).count();
    wait_until(Duration::from_secs(60), "a 3–5 / 3–5 split", || {
        let (a, b) = (count("a"), count("b"));
        a + b == 8 && (3..=5).contains(&a) && (3..=5).contains(&b)
    });
    // Balancing steals one lease a second until both hold their share: wait until the split has
    // not moved for three rounds, so no steal (which re-reads from the last checkpoint) overlaps
    // the records below.
    let mut split = (count("a"), count("b"));
    let mut settled = Instant::now();
    wait_until(Duration::from_secs(60), "a settled split", || {
        let now = (count("a"), count("b"));
        if now != split {
            split = now;
            settled = Instant::now();
        }
        settled.elapsed() >= Duration::from_secs(3)
    });
    let first = aws.put("wide", &numbered(0..400));
    let union = |outs: &[&Path]| -> Vec<usize> {
        outs.iter()
            .flat_map(|p| ndjson(p))
            .filter_map(|e| number_of(&e))
            .collect()
    };
    wait_until(Duration::from_secs(60), "the first 400 records", || {
        union(&[&out_a, &out_b])
            .iter()
            .collect::<HashSet<_>>()
            .len()
            >= 400
    });
    // Stable for a while: nobody steals back and forth.
    std::thread::sleep(Duration::from_secs(4));
    let split_later = (count("a"), count("b"));

    // More records, 20 every 100 ms; B dies in the middle of reading them, with records
    // delivered after its last checkpoint.
    let mut second = Vec::new();
    let mut dead_rows = None;
    for (i, chunk) in (400..800).step_by(20).enumerate() {
        second.extend(aws.put("wide", &numbered(chunk..chunk + 20)));
        std::thread::sleep(Duration::from_millis(100));
        if i == 12 {
            weir_b.signal(libc::SIGKILL);
            let _ = weir_b.wait(Duration::from_secs(10));
            // B's rows as it left them: read before A can take them over.
            dead_rows = Some(aws.leases());
        }
    }
    let dead_rows = dead_rows.expect("B was killed");
    let b_shards: Vec<String> = dead_rows
        .iter()
        .filter(|(_, r)| r.owner == "b")
        .map(|(k, _)| k.clone())
        .collect();

    wait_until(Duration::from_secs(60), "A holding all 8 leases", || {
        count("a") == 8
    });
    wait_until(Duration::from_secs(60), "every record", || {
        union(&[&out_a, &out_b])
            .iter()
            .collect::<HashSet<_>>()
            .len()
            >= 800
    });
    std::thread::sleep(Duration::from_secs(2));
    let log_a = stop(weir_a);

    let all = union(&[&out_a, &out_b]);
    let distinct: HashSet<usize> = all.iter().copied().collect();
    assert_eq!(distinct.len(), 800, "{log_a}");
    assert!(distinct.iter().all(|n| *n < 800));
    // Duplicates: only records of B's shards after B's last checkpoint.
    let mut seen: HashMap<usize, usize> = HashMap::new();
    for n in &all {
        *seen.entry(*n).or_default() += 1;
    }
    let location: HashMap<usize, (String, String)> =
        first.into_iter().chain(second).enumerate().collect();
    let mut duplicates = 0;
    for (n, times) in &seen {
        if *times < 2 {
            continue;
        }
        duplicates += times - 1;
        let (shard, seq) = &location[n];
        let key = format!("wide/{shard}");
        assert!(
            b_shards.contains(&key),
            "record {n} of {shard} duplicated, not B's"
        );
        if let Some(checkpoint) = dead_rows[&key].checkpoint.as_deref() {
            assert!(
                seq_cmp(seq, checkpoint).is_gt(),
                "record {n} ({seq}) duplicated though B checkpointed {checkpoint}"
            );
        }
    }
    let takeovers = log_a.matches("took over an expired lease").count();
    eprintln!(
        "split at start (a, b) = {split:?}, later {split_later:?}; B held {} shards when killed; \
         {duplicates} duplicate deliveries of {} records; {takeovers} takeovers by A",
        b_shards.len(),
        all.len()
    );
    assert!((3..=5).contains(&split_later.0) && (3..=5).contains(&split_later.1));
    assert!(!b_shards.is_empty());
    assert!(takeovers >= b_shards.len(), "{log_a}");
}

/// A small Kinesis responder for the resharding test (moto's resharding is broken): a closed
/// parent shard and two children, speaking the Kinesis JSON protocol for `ListShards`,
/// `GetShardIterator` and `GetRecords`; DynamoDB calls are relayed to moto. It logs the order
/// in which it handed out records.
mod responder {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::{Arc, Mutex};

    use base64::Engine;
    use serde_json::{json, Value};

    pub const PARENT: &str = "shardId-000000000000";
    pub const CHILDREN: [&str; 2] = ["shardId-000000000001", "shardId-000000000002"];
    /// Records of the parent, handed out two per call so it takes several polls.
    pub const PARENT_RECORDS: usize = 10;
    pub const CHILD_RECORDS: usize = 5;

    /// `(shard, record index)` in the order records were handed out.
    pub type Served = Arc<Mutex<Vec<(String, usize)>>>;

    fn records_of(shard: &str) -> usize {
        if shard == PARENT {
            PARENT_RECORDS
        } else {
            CHILD_RECORDS
        }
    }

    fn shard_number(shard: &str) -> usize {
        shard
            .rsplit('-')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }

    /// Sequence number of record `index` of a shard: 21 digits, ordered within the shard.
    fn sequence(shard: &str, index: usize) -> String {
        format!("4{:04}{:016}", shard_number(shard), index + 1)
    }

    /// Starts the responder; returns its port and the served-records log.
    pub fn start(moto: String) -> (u16, Served) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        let served: Served = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&served);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let log = Arc::clone(&log);
                let moto = moto.clone();
                std::thread::spawn(move || serve(stream, &log, &moto));
            }
        });
        (port, served)
    }

    /// One request: `(head lines, body)`; `None` at the end of the connection.
    fn read_request(reader: &mut BufReader<TcpStream>) -> Option<(Vec<String>, Vec<u8>)> {
        let mut head = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).ok()? == 0 {
                return None;
            }
            let line = line.trim_end().to_string();
            if line.is_empty() {
                break;
            }
            head.push(line);
        }
        let length = header(&head, "content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body).ok()?;
        Some((head, body))
    }

    fn header(head: &[String], name: &str) -> Option<String> {
        head.iter().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }

    fn serve(stream: TcpStream, log: &Served, moto: &str) {
        let mut writer = stream.try_clone().expect("clone");
        let mut reader = BufReader::new(stream);
        while let Some((head, body)) = read_request(&mut reader) {
            let target = header(&head, "x-amz-target").unwrap_or_default();
            let (status, content_type, answer) = if target.starts_with("DynamoDB") {
                relay(moto, &head, &body)
            } else {
                let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let answer = kinesis(&target, &request, log);
                (
                    200,
                    "application/x-amz-json-1.1".to_string(),
                    answer.to_string().into_bytes(),
                )
            };
            let response = format!(
                "HTTP/1.1 {status} OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nx-amzn-RequestId: r\r\n\r\n",
                answer.len()
            );
            if writer.write_all(response.as_bytes()).is_err() || writer.write_all(&answer).is_err()
            {
                return;
            }
        }
    }

    fn kinesis(target: &str, request: &Value, log: &Served) -> Value {
        match target.rsplit('.').next().unwrap_or("") {
            "ListShards" => {
                let shard = |id: &str, parent: Option<&str>, closed: bool| {
                    let mut range = json!({"StartingSequenceNumber": sequence(id, 0)});
                    if closed {
                        range["EndingSequenceNumber"] = json!(sequence(id, records_of(id) - 1));
                    }
                    let mut s = json!({
                        "ShardId": id,
                        "HashKeyRange": {"StartingHashKey": "0", "EndingHashKey": "340282366920938463463374607431768211455"},
                        "SequenceNumberRange": range,
                    });
                    if let Some(p) = parent {
                        s["ParentShardId"] = json!(p);
                    }
                    s
                };
                json!({"Shards": [
                    shard(PARENT, None, true),
                    shard(CHILDREN[0], Some(PARENT), false),
                    shard(CHILDREN[1], Some(PARENT), false),
                ]})
            }
            "GetShardIterator" => {
                let shard = request["ShardId"].as_str().unwrap_or("");
                let start = match request["ShardIteratorType"].as_str() {
                    Some("AFTER_SEQUENCE_NUMBER") => {
                        let after = request["StartingSequenceNumber"].as_str().unwrap_or("");
                        (0..records_of(shard))
                            .find(|i| sequence(shard, *i).as_str() > after)
                            .unwrap_or(records_of(shard))
                    }
                    _ => 0,
                };
                json!({"ShardIterator": format!("{shard}|{start}")})
            }
            "GetRecords" => {
                let iterator = request["ShardIterator"].as_str().unwrap_or("");
                let (shard, start) = iterator.split_once('|').unwrap_or(("", "0"));
                let start: usize = start.parse().unwrap_or(0);
                let total = records_of(shard);
                let end = (start + 2).min(total);
                let mut records = Vec::new();
                for i in start..end {
                    log.lock().unwrap().push((shard.to_string(), i));
                    let data = format!("{shard} record {i}");
                    records.push(json!({
                        "SequenceNumber": sequence(shard, i),
                        "ApproximateArrivalTimestamp": 1714521600.0,
                        "Data": base64::engine::general_purpose::STANDARD.encode(data),
                        "PartitionKey": "same-key",
                    }));
                }
                let mut answer = json!({"Records": records, "MillisBehindLatest": 0});
                // The parent is closed: past its last record there is no next iterator.
                if !(shard == PARENT && end >= total) {
                    answer["NextShardIterator"] = json!(format!("{shard}|{end}"));
                }
                answer
            }
            other => json!({"__type": "UnknownOperationException", "message": other}),
        }
    }

    /// Relays a DynamoDB request to moto; returns `(status, content type, body)`.
    fn relay(moto: &str, head: &[String], body: &[u8]) -> (u16, String, Vec<u8>) {
        let address = moto.trim_start_matches("http://");
        let mut upstream = TcpStream::connect(address).expect("moto");
        let mut request = format!("{}\r\n", head[0]);
        for line in head.iter().skip(1) {
            let name = line
                .split(':')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if name != "connection" && name != "host" {
                request.push_str(line);
                request.push_str("\r\n");
            }
        }
        request.push_str(&format!("Host: {address}\r\nConnection: close\r\n\r\n"));
        upstream.write_all(request.as_bytes()).expect("relay");
        upstream.write_all(body).expect("relay");
        let mut answer = Vec::new();
        upstream.read_to_end(&mut answer).expect("relay answer");
        let split = answer
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or(answer.len());
        let head_text = String::from_utf8_lossy(&answer[..split]).to_string();
        let lines: Vec<String> = head_text.lines().map(str::to_string).collect();
        let status = lines
            .first()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or(500);
        let content_type =
            header(&lines, "content-type").unwrap_or_else(|| "application/x-amz-json-1.0".into());
        let mut body = answer.get(split + 4..).unwrap_or_default().to_vec();
        if header(&lines, "transfer-encoding").is_some_and(|t| t.contains("chunked")) {
            body = dechunk(&body);
        }
        (status, content_type, body)
    }

    fn dechunk(mut data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let Some(end) = data.windows(2).position(|w| w == b"\r\n") else {
                return out;
            };
            let size = usize::from_str_radix(String::from_utf8_lossy(&data[..end]).trim(), 16)
                .unwrap_or(0);
            if size == 0 {
                return out;
            }
            let start = end + 2;
            out.extend_from_slice(&data[start..(start + size).min(data.len())]);
            data = data.get(start + size + 2..).unwrap_or_default();
        }
    }
}

/// Acceptance 6: against the in-test responder (a closed parent and two children whose records
/// are all available from the start), no child record is read or emitted before the parent's
/// last one.
#[test]
fn child_shards_are_read_only_after_their_parent_is_finished() {
    let moto = moto();
    let (port, served) = responder::start(moto.url());
    let dir = tempfile::tempdir().unwrap();
    let api = free_port();
    std::fs::write(
        dir.path().join("pipeline.toml"),
        format!(
            r#"
data_dir = "data"
[api]
address = "127.0.0.1:{api}"

[sources.kin]
type = "aws_kinesis"
streams = ["resharded"]
region = "{REGION}"
endpoint = "http://127.0.0.1:{port}"
lease_table = "{TABLE}"
start_position = "trim_horizon"
lease_duration_ms = 3000
checkpoint_interval_ms = 300
discovery_interval_ms = 1000
poll_interval_ms = 200
{FILE_SINKS}
"#
        ),
    )
    .unwrap();
    let weir = start_weir(dir.path());
    let out = dir.path().join("out/events.ndjson");
    let total = responder::PARENT_RECORDS + 2 * responder::CHILD_RECORDS;
    wait_until(Duration::from_secs(60), "every record", || {
        ndjson(&out).len() >= total
    });
    let log = stop(weir);
    let events = ndjson(&out);
    assert_eq!(events.len(), total, "{log}");
    let shard_of = |e: &Json| e["kinesis"]["shard_id"].as_str().unwrap_or("").to_string();
    let last_parent = events
        .iter()
        .rposition(|e| shard_of(e) == responder::PARENT)
        .expect("parent records");
    let first_child = events
        .iter()
        .position(|e| shard_of(e) != responder::PARENT)
        .expect("child records");
    assert!(
        last_parent < first_child,
        "a child record was emitted before the parent's last: {events:#?}"
    );
    // Parent records in order.
    let parent: Vec<String> = events
        .iter()
        .filter(|e| shard_of(e) == responder::PARENT)
        .map(|e| e["message"].as_str().unwrap_or("").to_string())
        .collect();
    let expected: Vec<String> = (0..responder::PARENT_RECORDS)
        .map(|i| format!("{} record {i}", responder::PARENT))
        .collect();
    assert_eq!(parent, expected);
    // Server side too: no child record was even handed out before the parent's last.
    let served = served.lock().unwrap().clone();
    let last_parent_served = served
        .iter()
        .rposition(|(s, _)| s == responder::PARENT)
        .expect("parent served");
    let first_child_served = served
        .iter()
        .position(|(s, _)| s != responder::PARENT)
        .expect("children served");
    assert!(last_parent_served < first_child_served, "{served:?}");
    assert!(responder::CHILDREN
        .iter()
        .all(|c| served.iter().any(|(s, _)| s == c)));
}

/// Paths moto cannot produce, through the fault proxy in front of it (DynamoDB calls pass
/// untouched): GetRecords is throttled several times, then a shard iterator expires, both in the
/// middle of a 2-shard stream. Every record still comes out exactly once, the throttles are
/// counted, a fresh iterator is asked for, and the checkpoints end at each shard's last record.
#[test]
fn throttled_and_expired_get_records_are_retried_without_loss() {
    const GET_RECORDS: &str = "Kinesis_20131202.GetRecords";
    const GET_SHARD_ITERATOR: &str = "Kinesis_20131202.GetShardIterator";
    const THROTTLED: &str = "ProvisionedThroughputExceededException";
    const EXPIRED: &str = "ExpiredIteratorException";
    const RECORDS: usize = 200;
    const THROTTLES: usize = 5;
    let aws = Aws::start();
    aws.stream("faulty", 2);
    let puts = aws.put("faulty", &numbered(0..RECORDS));
    let shards = last_per_shard(&puts);
    assert_eq!(shards.len(), 2, "records on both shards");
    // At 10 records per GetRecords, each shard (~100 records) takes ~10 calls: 4 answered, 5
    // throttled, 3 answered, 1 expired iterator — 70 records read at most, so whichever shard
    // the expiry hits still has records to read after it.
    let proxy = FaultProxy::start(&aws.moto.address());
    proxy.rules(|r| {
        r.aws_faults = vec![
            AwsFault::new(GET_RECORDS, THROTTLED, THROTTLES).after(4),
            AwsFault::new(GET_RECORDS, EXPIRED, 1).after(3),
        ]
    });
    let dir = tempfile::tempdir().unwrap();
    // Checkpoints are written rarely, so an iterator renewed from the checkpoint instead of the
    // last record read would read records again.
    let api = pipeline_via(
        dir.path(),
        &proxy.url(),
        "faulty",
        "max_records = 10\ncheckpoint_interval_ms = 20000",
        FILE_SINKS,
    );
    let weir = start_weir(dir.path());
    let out = dir.path().join("out/events.ndjson");
    wait_until(Duration::from_secs(90), "every record", || {
        ndjson(&out).len() >= RECORDS
    });
    // Read while weir runs; a shortfall is reported with the other figures below.
    let counted = Instant::now();
    let mut throttles_seen = kin_metric(api, "weir_aws_kinesis_throttles_total", &[]);
    while throttles_seen < THROTTLES as f64 && counted.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(200));
        throttles_seen = kin_metric(api, "weir_aws_kinesis_throttles_total", &[]);
    }
    // A little longer: a re-read after the expiry would show up as more than RECORDS events.
    std::thread::sleep(Duration::from_secs(2));
    let log = stop(weir);
    let stats = proxy.stats();

    let numbers: Vec<usize> = ndjson(&out).iter().filter_map(number_of).collect();
    let (missing, duplicates) = weir_tests::missing_and_duplicates(&numbers, RECORDS);
    let iterators = stats.aws_requests.get(GET_SHARD_ITERATOR).copied();
    eprintln!(
        "{} events for {RECORDS} records ({duplicates} duplicates, {} missing); throttles \
         injected {THROTTLES}, counted {throttles_seen}; faults answered {:?}; GetRecords calls \
         {:?}, GetShardIterator calls {iterators:?}",
        numbers.len(),
        missing.len(),
        stats.aws_faults,
        stats.aws_requests.get(GET_RECORDS),
    );
    assert!(missing.is_empty(), "missing {missing:?}\n{log}");
    assert_eq!(duplicates, 0, "{log}");
    assert_eq!(numbers.len(), RECORDS, "{log}");
    assert!(
        throttles_seen >= THROTTLES as f64,
        "{throttles_seen} of {THROTTLES} throttles counted\n{log}"
    );
    assert_eq!(stats.aws_faults.get(THROTTLED), Some(&THROTTLES));
    assert_eq!(stats.aws_faults.get(EXPIRED), Some(&1));
    // One iterator per shard at the start, and a fresh one after the expiry.
    assert!(iterators.is_some_and(|n| n >= 3), "{stats:?}");
    let rows = aws.leases();
    for (shard, last) in &shards {
        let row = &rows[&format!("faulty/{shard}")];
        assert_eq!(row.checkpoint.as_deref(), Some(last.as_str()), "{rows:?}");
        assert_eq!(row.owner, "", "released at shutdown: {rows:?}");
    }
}

/// `start_position = "latest"`: when a shard's iterator expires before any record was read, the
/// new iterator starts from when the shard was first opened, not at the new tip, so records put
/// in between are read (and the records from before the start are not).
#[test]
fn latest_start_reads_records_that_arrived_while_its_iterator_expired() {
    const GET_RECORDS: &str = "Kinesis_20131202.GetRecords";
    const EXPIRED: &str = "ExpiredIteratorException";
    let aws = Aws::start();
    aws.stream("tip", 1);
    aws.put("tip", &numbered(0..5));
    let proxy = FaultProxy::start(&aws.moto.address());
    let dir = tempfile::tempdir().unwrap();
    // A caught-up shard is polled every 5 s: time to put records and arm the fault in between.
    pipeline_via(
        dir.path(),
        &proxy.url(),
        "tip",
        "start_position = \"latest\"\npoll_interval_ms = 5000",
        FILE_SINKS,
    );
    let weir = start_weir(dir.path());
    let polls = || {
        proxy
            .stats()
            .aws_requests
            .get(GET_RECORDS)
            .copied()
            .unwrap_or(0)
    };
    wait_until(Duration::from_secs(60), "the first GetRecords", || {
        polls() >= 1
    });
    let first_polls = polls();
    aws.put("tip", &numbered(5..15));
    proxy.rules(|r| r.aws_faults = vec![AwsFault::new(GET_RECORDS, EXPIRED, 1)]);
    assert_eq!(
        polls(),
        first_polls,
        "records put and fault armed between two polls"
    );
    let out = dir.path().join("out/events.ndjson");
    wait_until(
        Duration::from_secs(60),
        "the 10 records put after the start",
        || ndjson(&out).len() >= 10,
    );
    std::thread::sleep(Duration::from_secs(1));
    let log = stop(weir);
    let mut numbers: Vec<usize> = ndjson(&out).iter().filter_map(number_of).collect();
    numbers.sort_unstable();
    assert_eq!(proxy.stats().aws_faults.get(EXPIRED), Some(&1), "{log}");
    assert_eq!(numbers, (5..15).collect::<Vec<_>>(), "{log}");
}

/// The lease table's conditional take: 20 tasks race to take the same lease (free in even rounds,
/// held by a dead worker in odd ones) through Weir's own [`LeaseTable`] against moto's DynamoDB;
/// exactly one wins each round, and the row names it.
///
/// moto's DynamoDB checks a condition and applies the update without a lock, so two racers may
/// both pass (seen in about one round of 200). Real DynamoDB applies the writes of an item one
/// at a time; the fault proxy restores that (`serialize`): the 20 requests are in flight together,
/// the server applies them one by one, and only Weir's condition on the counter it saw decides.
///
/// [`LeaseTable`]: weir_sources::aws_kinesis::leases::LeaseTable
#[test]
fn racing_lease_takes_have_exactly_one_winner() {
    use weir_sources::aws_kinesis::leases::LeaseTable;
    const RACERS: usize = 20;
    const ROUNDS: usize = 10;
    let aws = Aws::start();
    let proxy = FaultProxy::start(&aws.moto.address());
    proxy.rules(|r| r.serialize = true);
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws.dynamodb
            .config()
            .to_builder()
            .endpoint_url(proxy.url())
            .build(),
    );
    let table = LeaseTable::new(dynamodb, TABLE);
    aws.rt.block_on(async {
        table.ensure().await.expect("lease table");
        for round in 0..ROUNDS {
            let key = format!("race/shardId-{round:012}");
            assert!(table.create(&key).await.expect("create"), "new row");
            let mut seen = 0;
            if round % 2 == 1 {
                // Taken by a worker that then died: expired for everyone watching it.
                seen = table
                    .take(&key, "dead-worker", 0)
                    .await
                    .expect("take")
                    .expect("the only taker wins");
            }
            let start = Arc::new(tokio::sync::Barrier::new(RACERS));
            let mut racers = tokio::task::JoinSet::new();
            for i in 0..RACERS {
                let (table, key, start) = (table.clone(), key.clone(), Arc::clone(&start));
                racers.spawn(async move {
                    start.wait().await;
                    let me = format!("racer-{i:02}");
                    let taken = table.take(&key, &me, seen).await;
                    (me, taken)
                });
            }
            let mut winners = Vec::new();
            let mut losers = 0;
            while let Some(joined) = racers.join_next().await {
                let (me, taken) = joined.expect("racer task");
                match taken.expect("a lost race is not an error") {
                    Some(counter) => winners.push((me, counter)),
                    None => losers += 1,
                }
            }
            eprintln!(
                "round {round} ({}): winners {winners:?}, {losers} lost",
                if seen == 0 { "free" } else { "expired" }
            );
            assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
            assert_eq!(losers, RACERS - 1);
            let (winner, counter) = &winners[0];
            assert_eq!(*counter, seen + 1);
            let rows = table.scan().await.expect("scan");
            let row = rows.iter().find(|r| r.key == key).expect("row");
            assert_eq!((&row.owner, row.counter), (winner, seen + 1), "{rows:?}");
        }
    });
}
