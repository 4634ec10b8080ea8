//! Issue 16, item 4: the crash matrix. Every source {file, aws_s3, aws_kinesis, aws_firehose} ×
//! every sink {file, kafka, elasticsearch}, through one harness: load real ALB records (each
//! numbered in its user agent), SIGKILL `weir` at random moments three times while it works,
//! restart it, let it finish. Every record must arrive at least once; every copy of a record must
//! carry the same deterministic id (the Kafka key; the Elasticsearch `_id`, so the index holds
//! exactly one document per record; `%record_id`, or the stream and offset for the file source,
//! in the file sink's output). The Firehose sender retries every request that was not answered
//! 200, with the same request id and body, as Firehose does.
//!
//! Every pipeline is paced by a rate-limited `blackhole` beside the sink (the source's fan-out
//! waits for room in every consumer), so the records take at least [`RECORDS`] / [`PACE`] = 12 s
//! however fast the machine. Each kill comes 100–900 ms after the run first delivered something
//! new, and the test checks that records were still missing then: every kill hits a process at
//! work, mid-run. Each pair prints `records, kills, duplicates, lost`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use aws_sdk_sqs::types::QueueAttributeName;
use base64::Engine as _;
use weir_tests::kafka;
use weir_tests::moto_aws::{create_active_stream, put_and_announce, sdk_config, REGION, WEIR_ENV};
use weir_tests::services::{moto, osmem, tansu, Service};
use weir_tests::{free_port, http_post, runtime, workspace_root, Weir};

/// Records per pair.
const RECORDS: usize = 12_000;
/// Events per second the pacing sink lets through.
const PACE: usize = 1_000;
/// SIGKILLs per pair.
const KILLS: usize = 3;
/// The Firehose access key.
const KEY: &str = "crash-matrix-key";

/// Where the records come from.
#[derive(Clone, Copy, Debug)]
enum From {
    File,
    S3,
    Kinesis,
    Firehose,
}

/// Where they go.
#[derive(Clone, Copy, Debug)]
enum To {
    File,
    Kafka,
    Elasticsearch,
}

/// Record `n`: a real ALB record (the corpus's HTTP/2 example) with `weir-crash/<n>` as its user
/// agent.
fn record(template: &str, n: usize) -> String {
    template.replace("\"curl/7.46.0\"", &format!("\"weir-crash/{n:08}\""))
}

fn template() -> String {
    let path = workspace_root().join("../shared/corpus/alb/docs/h2.log");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let line = text.lines().next().expect("an ALB record").to_string();
    assert!(line.contains("\"curl/7.46.0\""), "{line}");
    line
}

/// The record number in a message.
fn number_of(message: &str) -> Option<usize> {
    let at = message.find("weir-crash/")? + "weir-crash/".len();
    message.get(at..at + 8)?.parse().ok()
}

/// The loaded source: its pipeline table, and what keeps feeding it (the Firehose sender).
struct Loaded {
    source: String,
    env: bool,
    _moto: Option<Service>,
    sender: Option<FirehoseSender>,
}

fn load(from: From, dir: &Path, records: &[String]) -> Loaded {
    match from {
        From::File => load_file(dir, records),
        From::S3 => load_s3(records),
        From::Kinesis => load_kinesis(records),
        From::Firehose => load_firehose(records),
    }
}

fn load_file(dir: &Path, records: &[String]) -> Loaded {
    let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join("input.log")).unwrap());
    for r in records {
        writeln!(out, "{r}").unwrap();
    }
    out.flush().unwrap();
    Loaded {
        source: "[sources.in]\ntype = \"file\"\ninclude = [\"input.log\"]\n".into(),
        env: false,
        _moto: None,
        sender: None,
    }
}

/// 12 gzip'd objects of 1,000 records, one notification each.
fn load_s3(records: &[String]) -> Loaded {
    let moto = moto();
    let rt = runtime();
    let sdk = sdk_config(&rt, &moto.url());
    let s3 = weir_tests::moto_aws::s3_client(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue = rt.block_on(async {
        s3.create_bucket().bucket("logs").send().await.unwrap();
        let queue = sqs
            .create_queue()
            .queue_name("crash")
            .attributes(QueueAttributeName::VisibilityTimeout, "4")
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        for (i, chunk) in records.chunks(1000).enumerate() {
            let key = format!("AWSLogs/alb/part-{i:03}.log.gz");
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            for r in chunk {
                writeln!(gz, "{r}").unwrap();
            }
            let body = gz.finish().unwrap();
            put_and_announce(&s3, &sqs, &queue, ("logs", &key), body).await;
        }
        queue
    });
    Loaded {
        source: format!(
            "[sources.in]\ntype = \"aws_s3\"\nregion = \"{REGION}\"\nendpoint = \"{}\"\n\
             [sources.in.sqs]\nqueue_url = \"{queue}\"\npoll_secs = 1\nvisibility_timeout_secs = 4\n",
            moto.url()
        ),
        env: true,
        _moto: Some(moto),
        sender: None,
    }
}

/// A stream of 2 shards holding every record.
fn load_kinesis(records: &[String]) -> Loaded {
    let moto = moto();
    let rt = runtime();
    let kinesis = aws_sdk_kinesis::Client::new(&sdk_config(&rt, &moto.url()));
    rt.block_on(async {
        create_active_stream(&kinesis, "crash", 2).await;
        for (c, chunk) in records.chunks(500).enumerate() {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    PutRecordsRequestEntry::builder()
                        .partition_key(format!("key-{c}-{i}"))
                        .data(Blob::new(r.as_bytes()))
                        .build()
                        .unwrap()
                })
                .collect();
            let answer = kinesis
                .put_records()
                .stream_name("crash")
                .set_records(Some(entries))
                .send()
                .await
                .unwrap();
            assert_eq!(answer.failed_record_count, Some(0));
        }
    });
    Loaded {
        source: format!(
            "[sources.in]\ntype = \"aws_kinesis\"\nstreams = [\"crash\"]\nregion = \"{REGION}\"\n\
             endpoint = \"{}\"\nlease_table = \"crash-leases\"\nstart_position = \"trim_horizon\"\n\
             lease_duration_ms = 2000\ncheckpoint_interval_ms = 200\n\
             discovery_interval_ms = 1000\npoll_interval_ms = 200\nmax_records = 200\n",
            moto.url()
        ),
        env: true,
        _moto: Some(moto),
        sender: None,
    }
}

/// Posts requests of 200 records to the Firehose endpoint, one after another, each until it is
/// answered 200 (a refused connection, a cut one or any other status: the same request again),
/// as Firehose retries.
struct FirehoseSender {
    done: Arc<AtomicBool>,
    retries: Arc<AtomicUsize>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FirehoseSender {
    fn start(port: u16, records: Vec<String>) -> Self {
        let done = Arc::new(AtomicBool::new(false));
        let retries = Arc::new(AtomicUsize::new(0));
        let (d, r) = (Arc::clone(&done), Arc::clone(&retries));
        let thread = std::thread::spawn(move || {
            for (i, chunk) in records.chunks(200).enumerate() {
                let request_id = format!("crash-request-{i:04}");
                let body = serde_json::json!({
                    "requestId": request_id,
                    "timestamp": 1_714_521_600_000u64,
                    "records": chunk.iter().map(|rec| serde_json::json!({
                        "data": base64::engine::general_purpose::STANDARD.encode(rec)
                    })).collect::<Vec<_>>(),
                })
                .to_string();
                let headers = [
                    ("X-Amz-Firehose-Request-Id", request_id.as_str()),
                    ("X-Amz-Firehose-Access-Key", KEY),
                    ("Content-Type", "application/json"),
                ];
                while !matches!(
                    http_post(port, "/", &headers, body.as_bytes()),
                    Some((200, _))
                ) {
                    r.fetch_add(1, Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
            d.store(true, Ordering::Relaxed);
        });
        Self {
            done,
            retries,
            thread: Some(thread),
        }
    }

    fn finished(&self) -> bool {
        self.done.load(Ordering::Relaxed)
    }
}

fn load_firehose(records: &[String]) -> Loaded {
    let port = free_port();
    Loaded {
        source: format!(
            "[sources.in]\ntype = \"aws_firehose\"\naddress = \"127.0.0.1:{port}\"\n\
             access_keys = [\"{KEY}\"]\n"
        ),
        env: false,
        _moto: None,
        sender: Some(FirehoseSender::start(port, records.to_vec())),
    }
}

/// The sink side: its pipeline table and how the delivered records are read back.
struct Destination {
    sink: String,
    server: Option<Service>,
}

fn destination(to: To) -> Destination {
    match to {
        To::File => Destination {
            sink:
                "[sinks.out]\ntype = \"file\"\ninputs = [\"ids\"]\npath = \"out/events.ndjson\"\n"
                    .into(),
            server: None,
        },
        To::Kafka => {
            let broker = tansu();
            create_topic(&broker.address());
            Destination {
                sink: format!(
                    "[sinks.out]\ntype = \"kafka\"\ninputs = [\"ids\"]\n\
                     bootstrap_servers = \"{}\"\ntopic = \"crash\"\n",
                    broker.address()
                ),
                server: Some(broker),
            }
        }
        To::Elasticsearch => {
            let server = osmem();
            // Room to read every document back in one search.
            server.json(
                "PUT",
                "/crash",
                &format!(
                    r#"{{"settings": {{"index": {{"max_result_window": {}}}}}}}"#,
                    RECORDS * 2
                ),
            );
            Destination {
                sink: format!(
                    "[sinks.out]\ntype = \"elasticsearch\"\ninputs = [\"ids\"]\n\
                     endpoints = [\"{}\"]\nindex = \"crash\"\n",
                    server.url()
                ),
                server: Some(server),
            }
        }
    }
}

fn create_topic(broker: &str) {
    kafka::create_topic(broker, "crash", 1);
}

/// What arrived: for each record number, the ids of its copies (one entry per copy).
type Arrived = BTreeMap<usize, Vec<String>>;

fn arrived(to: To, dir: &Path, server: Option<&Service>) -> Arrived {
    let mut out = Arrived::new();
    match to {
        To::File => {
            let text = std::fs::read_to_string(dir.join("out/events.ndjson")).unwrap_or_default();
            for line in text.lines() {
                let Ok(json) = serde_json::from_str::<serde_json::Value>(line) else {
                    continue;
                };
                let message = json["message"].as_str().unwrap_or_default();
                if let Some(n) = number_of(message) {
                    let id = json["weir_id"].as_str().unwrap_or("-").to_string();
                    out.entry(n).or_default().push(id);
                }
            }
        }
        To::Kafka => {
            let broker = server.expect("broker").address();
            for (n, id) in consume(&broker) {
                out.entry(n).or_default().push(id);
            }
        }
        To::Elasticsearch => {
            // One document per `_id`: read them all back.
            let server = server.expect("osmem");
            server.json("POST", "/_refresh", "");
            let body = server.json(
                "POST",
                "/crash/_search",
                &format!(r#"{{"size": {}, "_source": ["message"]}}"#, RECORDS * 2),
            );
            for hit in body["hits"]["hits"].as_array().into_iter().flatten() {
                let message = hit["_source"]["message"].as_str().unwrap_or_default();
                if let Some(n) = number_of(message) {
                    let id = hit["_id"].as_str().unwrap_or("-").to_string();
                    out.entry(n).or_default().push(id);
                }
            }
        }
    }
    out
}

/// Every message of the topic: `(record number, key)`, until nothing came for 3 s.
fn consume(broker: &str) -> Vec<(usize, String)> {
    kafka::read_topic(broker, "crash", 1, usize::MAX, Duration::from_secs(3))
        .into_iter()
        .filter_map(|m| {
            let n = number_of(m.body["message"].as_str().unwrap_or_default())?;
            Some((n, m.key.unwrap_or_else(|| "-".into())))
        })
        .collect()
}

/// Distinct records that arrived (cheap enough to poll while waiting).
fn distinct(to: To, dir: &Path, server: Option<&Service>) -> usize {
    match to {
        To::Elasticsearch => {
            let server = server.expect("osmem");
            server.json("POST", "/_refresh", "");
            server.json("GET", "/crash/_count", "")["count"]
                .as_u64()
                .unwrap_or(0) as usize
        }
        _ => arrived(to, dir, server).len(),
    }
}

/// Copies delivered so far (duplicates included): cheap enough to poll.
fn progress(to: To, dir: &Path, server: Option<&Service>) -> usize {
    match to {
        To::File => std::fs::read(dir.join("out/events.ndjson"))
            .map(|b| b.iter().filter(|c| **c == b'\n').count())
            .unwrap_or(0),
        To::Kafka => kafka::topic_size(&server.expect("broker").address(), "crash", 1) as usize,
        To::Elasticsearch => distinct(to, dir, server),
    }
}

/// 100 to 900 ms.
fn random_delay_ms(round: usize) -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    100 + (nanos
        .wrapping_mul(6364136223846793005)
        .wrapping_add(round as u64)
        >> 20)
        % 800
}

/// Waits until this run delivered something new (the kill must hit a process at work, not one
/// still taking its leases or waiting for a message to reappear).
fn wait_for_progress(to: To, dir: &Path, server: Option<&Service>, weir: &mut Weir) {
    let before = progress(to, dir, server);
    let started = Instant::now();
    while progress(to, dir, server) <= before {
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "no progress in 90 s:\n{}",
            weir.log_text()
        );
        assert!(
            weir.child.try_wait().unwrap().is_none(),
            "weir exited early:\n{}",
            weir.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn write_pipeline(dir: &Path, source: &str, sink: &str) {
    let text = format!(
        r#"
data_dir = "data"
api.enabled = false
{source}
# The deterministic id, where the file sink can show it: the source's record id, else (the file
# source) the stream and offset, which the Kafka and Elasticsearch sinks derive theirs from.
[transforms.ids]
type = "remap"
inputs = ["in"]
source = '.weir_id = string(%record_id) ?? (string!(%stream) + "@" + to_string!(%offset))'
{sink}
[sinks.pace]
type = "blackhole"
inputs = ["in"]
rate_limit_events_per_sec = {PACE}
buffer.max_events = 100
"#
    );
    std::fs::write(dir.join("pipeline.toml"), text).unwrap();
}

/// One pair: load, kill three times mid-run, finish, check. Returns the report line.
fn crash_pair(from: From, to: To) -> String {
    let template = template();
    let records: Vec<String> = (0..RECORDS).map(|n| record(&template, n)).collect();
    let dir = tempfile::tempdir().unwrap();
    let destination = destination(to);
    let loaded = load(from, dir.path(), &records);
    write_pipeline(dir.path(), &loaded.source, &destination.sink);
    let env: &[(&str, &str)] = if loaded.env { &WEIR_ENV } else { &[] };
    let args = ["run", "-c", "pipeline.toml", "--threads", "1"];
    let server = destination.server.as_ref();
    let mut kills = 0;
    for round in 0..KILLS {
        let mut weir = Weir::start(dir.path(), &args, env);
        wait_for_progress(to, dir.path(), server, &mut weir);
        std::thread::sleep(Duration::from_millis(random_delay_ms(round)));
        assert!(
            weir.child.try_wait().unwrap().is_none(),
            "{from:?} → {to:?}: weir exited early:\n{}",
            weir.log_text()
        );
        weir.signal(libc::SIGKILL);
        let _ = weir.wait(Duration::from_secs(10));
        let so_far = distinct(to, dir.path(), server);
        assert!(
            so_far < RECORDS,
            "{from:?} → {to:?}: kill {round} came after the end"
        );
        kills += 1;
        eprintln!("crash matrix {from:?} → {to:?}: kill {round}: {so_far} records delivered");
    }
    let mut weir = Weir::start(dir.path(), &args, env);
    let started = Instant::now();
    while distinct(to, dir.path(), server) < RECORDS
        || loaded.sender.as_ref().is_some_and(|s| !s.finished())
    {
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "{from:?} → {to:?}: {} of {RECORDS} records after 240 s:\n{}",
            distinct(to, dir.path(), server),
            weir.log_text()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    weir.signal(libc::SIGTERM);
    let status = weir.wait(Duration::from_secs(60));
    assert!(status.success(), "{status:?}\n{}", weir.log_text());
    if let Some(mut sender) = loaded.sender {
        if let Some(thread) = sender.thread.take() {
            thread.join().unwrap();
        }
        eprintln!(
            "crash matrix {from:?} → {to:?}: firehose requests retried {} times",
            sender.retries.load(Ordering::Relaxed)
        );
    }
    check(from, to, &arrived(to, dir.path(), server), kills)
}

/// Every record at least once, every copy with one id; the report line.
fn check(from: From, to: To, arrived: &Arrived, kills: usize) -> String {
    let lost: Vec<usize> = (0..RECORDS).filter(|n| !arrived.contains_key(n)).collect();
    let copies: usize = arrived.values().map(Vec::len).sum();
    let duplicates = copies - arrived.len();
    let split: Vec<(&usize, BTreeSet<&String>)> = arrived
        .iter()
        .map(|(n, ids)| (n, ids.iter().collect::<BTreeSet<_>>()))
        .filter(|(_, ids)| ids.len() > 1 || ids.contains(&"-".to_string()))
        .collect();
    let line = format!(
        "crash matrix {from:?} → {to:?}: records {RECORDS}, kills {kills}, duplicates \
         {duplicates}, lost {}",
        lost.len()
    );
    eprintln!("{line}");
    assert!(
        lost.is_empty(),
        "{line}; first lost {:?}",
        &lost[..lost.len().min(5)]
    );
    assert!(
        split.is_empty(),
        "{line}; records whose copies carry different (or no) ids: {:?}",
        &split[..split.len().min(3)]
    );
    if matches!(to, To::Elasticsearch) {
        assert_eq!(copies, RECORDS, "{line}: one document per record");
    }
    line
}

macro_rules! pairs {
    ($($name:ident: $from:ident to $to:ident;)*) => {
        $(
            #[test]
            fn $name() {
                crash_pair(From::$from, To::$to);
            }
        )*
    };
}

pairs! {
    file_to_file: File to File;
    file_to_kafka: File to Kafka;
    file_to_elasticsearch: File to Elasticsearch;
    s3_to_file: S3 to File;
    s3_to_kafka: S3 to Kafka;
    s3_to_elasticsearch: S3 to Elasticsearch;
    kinesis_to_file: Kinesis to File;
    kinesis_to_kafka: Kinesis to Kafka;
    kinesis_to_elasticsearch: Kinesis to Elasticsearch;
    firehose_to_file: Firehose to File;
    firehose_to_kafka: Firehose to Kafka;
    firehose_to_elasticsearch: Firehose to Elasticsearch;
}
