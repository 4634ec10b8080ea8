//! Issue 16, item 5: under load, the Elasticsearch server or the Kafka broker is down for 60 s
//! (every connection cut), answers nothing but errors for 30 s (`429` for Elasticsearch,
//! retriable `Produce` errors for Kafka), or accepts connections and never answers for 30 s; then
//! it is back. Pass: peak RSS stays bounded (printed), the source slows instead of reading the
//! whole input into memory, and afterwards every event is delivered, 0 lost: with the default
//! deterministic ids the Elasticsearch index holds exactly the input's count; the Kafka topic,
//! read back whole, holds every input line (copies counted and printed). Each test prints its
//! peak RSS and catch-up time. Real osmem-server and tansu, each behind a fault proxy; the broker
//! keeps running through the outage, so nothing delivered before it is lost from the count.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use weir_tests::fault_proxy::{FaultProxy, Rules};
use weir_tests::kafka::{create_topic, read_topic, topic_size};
use weir_tests::kafka_proxy::{KafkaFault, KafkaProxy, NOT_ENOUGH_REPLICAS};
use weir_tests::services::{osmem, tansu_behind, Service};
use weir_tests::{free_port, http_get, metric, Weir};

fn write_input(path: &Path, events: usize) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for i in 0..events {
        writeln!(out, "outage line {i:08} {}", "x".repeat(80)).unwrap();
    }
    out.flush().unwrap();
}

/// The line number in an `outage line <n> …` message.
fn line_number(message: &str) -> Option<usize> {
    message.strip_prefix("outage line ")?.get(..8)?.parse().ok()
}

/// The sink's and the source's metric samples, for failure messages.
fn sink_metrics(api: u16) -> String {
    let text = http_get(api, "/metrics")
        .map(|(_, t)| t)
        .unwrap_or_default();
    text.lines()
        .filter(|l| !l.starts_with('#') && (l.contains("\"out\"") || l.contains("\"in\"")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Where the events go, behind its fault.
trait Destination {
    /// The `[sinks.out]` table.
    fn sink(&self) -> String;
    /// Events delivered so far, as far as the test can tell cheaply while weir runs (`api` is
    /// weir's API port).
    fn delivered(&self, api: u16) -> u64;
    /// Starts (`true`) or ends the fault.
    fn fault(&self, on: bool);
    /// The bound on weir's peak RSS, in MiB (debug build).
    fn rss_limit_mib(&self) -> u64;
    /// After catch-up: checks that every one of `events` input lines is there, once (for
    /// Elasticsearch) or at least once (for Kafka); says what it found.
    fn check_all_there(&self, name: &str, events: usize) -> String;
}

/// What [`outage`] saw.
struct Seen {
    before: u64,
    read: usize,
    peak_kib: u64,
    catch_up: Duration,
}

/// Runs an outage of `length`, started once delivery started, then waits for catch-up.
fn outage(name: &str, events: usize, length: Duration, to: &dyn Destination) {
    let dir = tempfile::tempdir().unwrap();
    write_input(&dir.path().join("input.log"), events);
    let api = free_port();
    let pipeline = format!(
        "data_dir = \"data\"\n[api]\naddress = \"127.0.0.1:{api}\"\n\
         [sources.in]\ntype = \"file\"\ninclude = [\"input.log\"]\nframing = \"newline\"\n{}",
        to.sink()
    );
    std::fs::write(dir.path().join("pipeline.toml"), pipeline).unwrap();
    let mut weir = Weir::start(dir.path(), &["run", "-c", "pipeline.toml"], &[]);
    let started = Instant::now();
    while to.delivered(api) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{}",
            weir.log_text()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // What was delivered when the fault starts, for the report.
    let before = to.delivered(api);
    to.fault(true);
    let fault_started = Instant::now();
    let mut peak_kib = 0;
    while fault_started.elapsed() < length {
        peak_kib = peak_kib.max(weir.rss_kib().unwrap_or(0));
        std::thread::sleep(Duration::from_millis(200));
    }
    let read = http_get(api, "/metrics")
        .and_then(|(_, text)| {
            metric(
                &text,
                "weir_component_received_events_total",
                &[("component_id", "in")],
            )
        })
        .unwrap_or(0.0) as usize;
    to.fault(false);
    let back = Instant::now();
    while to.delivered(api) < events as u64 {
        peak_kib = peak_kib.max(weir.rss_kib().unwrap_or(0));
        assert!(
            back.elapsed() < Duration::from_secs(180),
            "{name}: {} of {events} after the outage\n{}\n{}",
            to.delivered(api),
            sink_metrics(api),
            weir.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let seen = Seen {
        before,
        read,
        peak_kib,
        catch_up: back.elapsed(),
    };
    // Let a last stray retry land, then the exact figures.
    std::thread::sleep(Duration::from_secs(2));
    let found = to.check_all_there(name, events);
    eprintln!(
        "outage {name}: {length:?}; {} delivered before it, the source had read {} of {events} \
         at its end; peak RSS {} MiB; caught up in {:.1?}; {found}",
        seen.before,
        seen.read,
        seen.peak_kib / 1024,
        seen.catch_up
    );
    assert!(
        seen.read < events,
        "{name}: the source read the whole input during the outage"
    );
    assert!(
        seen.peak_kib < to.rss_limit_mib() * 1024,
        "{name}: peak RSS {} MiB",
        seen.peak_kib / 1024
    );
    let text = http_get(api, "/metrics")
        .map(|(_, t)| t)
        .unwrap_or_default();
    let failed: f64 = [
        "weir_kafka_failed_events_total",
        "weir_elasticsearch_documents_rejected_total",
        "weir_elasticsearch_documents_errored_total",
    ]
    .iter()
    .map(|name| {
        // Every sample of the metric (one per reason), not just the first.
        text.lines()
            .filter(|l| l.starts_with(&format!("{name}{{")) && l.contains("component_id=\"out\""))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>()
    })
    .sum();
    assert_eq!(failed, 0.0, "{name}: events failed\n{}", weir.log_text());
    weir.signal(libc::SIGTERM);
    assert!(weir.wait(Duration::from_secs(60)).success());
}

/// osmem-server behind the HTTP fault proxy; `fault` turns one rule on and off.
struct Elasticsearch {
    server: Service,
    proxy: FaultProxy,
    fault: fn(&mut Rules, bool),
}

impl Elasticsearch {
    fn new(fault: fn(&mut Rules, bool)) -> Self {
        let server = osmem();
        let proxy = FaultProxy::start(&server.address());
        Self {
            server,
            proxy,
            fault,
        }
    }
}

fn count(server: &Service) -> u64 {
    server.json("POST", "/_refresh", "");
    server.json("GET", "/outage/_count", "")["count"]
        .as_u64()
        .unwrap_or(0)
}

impl Destination for Elasticsearch {
    fn sink(&self) -> String {
        format!(
            r#"
[sinks.out]
type = "elasticsearch"
inputs = ["in"]
endpoints = ["{}"]
index = "outage"
request_timeout_secs = 5
batch.max_events = 500
retry = {{ initial_backoff_ms = 100, max_backoff_ms = 2000, max_duration_secs = 600 }}
"#,
            self.proxy.url()
        )
    }

    fn delivered(&self, _api: u16) -> u64 {
        count(&self.server)
    }

    /// The sink holds one batch per request in flight; the source waits behind it.
    fn rss_limit_mib(&self) -> u64 {
        150
    }

    fn fault(&self, on: bool) {
        self.proxy.rules(|r| (self.fault)(r, on));
    }

    fn check_all_there(&self, name: &str, events: usize) -> String {
        let total = count(&self.server);
        assert_eq!(total, events as u64, "{name}: lost or doubled");
        format!("index count {total}")
    }
}

/// How many events the Elasticsearch outages send.
const ES_EVENTS: usize = 50_000;

#[test]
fn elasticsearch_down_for_60_s() {
    let to = Elasticsearch::new(|r, on| r.drop_connections = on);
    outage("es down", ES_EVENTS, Duration::from_secs(60), &to);
}

#[test]
fn elasticsearch_429_storm_for_30_s() {
    let to = Elasticsearch::new(|r, on| r.answer_all = on.then_some(429));
    outage("es 429 storm", ES_EVENTS, Duration::from_secs(30), &to);
}

#[test]
fn elasticsearch_never_answers_for_30_s() {
    let to = Elasticsearch::new(|r, on| r.hang = on);
    outage("es no answer", ES_EVENTS, Duration::from_secs(30), &to);
}

/// tansu behind the Kafka fault proxy, a 3-partition topic `outage`.
struct Kafka {
    proxy: KafkaProxy,
    _broker: Service,
    fault: KafkaFault,
}

const PARTITIONS: i32 = 3;

impl Kafka {
    fn new(fault: KafkaFault) -> Self {
        let mut proxy = KafkaProxy::bind();
        let broker = tansu_behind(&mut proxy);
        create_topic(&proxy.address(), "outage", PARTITIONS);
        Self {
            proxy,
            _broker: broker,
            fault,
        }
    }
}

impl Destination for Kafka {
    /// The sink's defaults (idempotent producer, acks=all, 100,000-message queue, 5-minute
    /// message timeout): what bounds memory and holds the source back here is the default queue.
    fn sink(&self) -> String {
        format!(
            "[sinks.out]\ntype = \"kafka\"\ninputs = [\"in\"]\nbootstrap_servers = \"{}\"\ntopic = \"outage\"\n",
            self.proxy.address()
        )
    }

    /// What the broker acknowledged, by the sink's count: tansu's high watermarks lag behind
    /// what a consumer reads (by thousands of records after large batches), so they cannot say
    /// when the catch-up is done. The topic itself is read back whole in `check_all_there`.
    fn delivered(&self, api: u16) -> u64 {
        http_get(api, "/metrics")
            .and_then(|(_, text)| {
                metric(
                    &text,
                    "weir_kafka_delivered_events_total",
                    &[("component_id", "out")],
                )
            })
            .unwrap_or(0.0) as u64
    }

    /// The producer's default queue holds up to 100,000 messages (and 64 MiB), and the sink
    /// keeps each queued message's event until the broker answers for it (to acknowledge it, or
    /// keep it as a dead letter): about 1 KiB a message in a debug build. Three times the input
    /// (30 MB) read into memory would pass 600 MiB.
    fn rss_limit_mib(&self) -> u64 {
        300
    }

    fn fault(&self, on: bool) {
        self.proxy
            .set(if on { self.fault } else { KafkaFault::None });
    }

    fn check_all_there(&self, name: &str, events: usize) -> String {
        let messages = read_topic(
            &self.proxy.address(),
            "outage",
            PARTITIONS,
            usize::MAX,
            Duration::from_secs(5),
        );
        let mut copies: BTreeMap<usize, usize> = BTreeMap::new();
        for m in &messages {
            if let Some(n) = line_number(m.body["message"].as_str().unwrap_or_default()) {
                *copies.entry(n).or_default() += 1;
            }
        }
        let lost = (0..events).filter(|n| !copies.contains_key(n)).count();
        let duplicates: usize = copies.values().map(|c| c - 1).sum();
        let stats = self.proxy.stats();
        assert_eq!(lost, 0, "{name}: {lost} lines lost");
        format!(
            "topic holds {} messages (high watermarks: {}): {} distinct lines, {duplicates} \
             duplicates, 0 lost; proxy: \
             {} connections ({} refused), {} Produce errors injected, {} frames swallowed, \
             Produce versions {:?}",
            messages.len(),
            topic_size(&self.proxy.address(), "outage", PARTITIONS),
            copies.len(),
            stats.connections,
            stats.refused,
            stats.produce_errors,
            stats.swallowed,
            stats.produce_versions
        )
    }
}

/// How many events the Kafka outages send: more than the producer's default queue (100,000)
/// holds, so the source must be held back.
const KAFKA_EVENTS: usize = 300_000;

#[test]
fn kafka_down_for_60_s() {
    let to = Kafka::new(KafkaFault::Down);
    outage("kafka down", KAFKA_EVENTS, Duration::from_secs(60), &to);
}

#[test]
fn kafka_produce_error_storm_for_30_s() {
    let to = Kafka::new(KafkaFault::ProduceErrors {
        error_code: NOT_ENOUGH_REPLICAS,
        throttle_ms: 100,
    });
    outage(
        "kafka produce-error storm",
        KAFKA_EVENTS,
        Duration::from_secs(30),
        &to,
    );
    assert!(
        to.proxy.stats().produce_errors > 0,
        "no Produce was faulted"
    );
}

#[test]
fn kafka_never_answers_for_30_s() {
    let to = Kafka::new(KafkaFault::Hang);
    outage(
        "kafka no answer",
        KAFKA_EVENTS,
        Duration::from_secs(30),
        &to,
    );
    assert!(to.proxy.stats().swallowed > 0, "nothing was swallowed");
}

/// S3/SQS through a 30 s Elasticsearch outage: the visibility heartbeat keeps every message
/// invisible while its events wait (visibility timeout 6 s, five times shorter than the outage),
/// so no message is received twice, and everything is delivered once the server is back.
#[test]
fn sqs_messages_stay_invisible_through_an_elasticsearch_outage() {
    use weir_tests::moto_aws::{put_and_announce, sdk_config, REGION, WEIR_ENV};
    const OBJECTS: usize = 10;
    const LINES: usize = 1000;
    let moto = weir_tests::services::moto();
    let rt = weir_tests::runtime();
    let sdk = sdk_config(&rt, &moto.url());
    let s3 = weir_tests::moto_aws::s3_client(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue = rt.block_on(async {
        s3.create_bucket().bucket("logs").send().await.unwrap();
        let queue = sqs
            .create_queue()
            .queue_name("outage")
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        for o in 0..OBJECTS {
            let key = format!("part-{o}.log");
            let body: String = (0..LINES)
                .map(|i| format!("object {o} line {i}\n"))
                .collect();
            put_and_announce(&s3, &sqs, &queue, ("logs", &key), body.into_bytes()).await;
        }
        queue
    });
    let server = osmem();
    let proxy = FaultProxy::start(&server.address());
    let dir = tempfile::tempdir().unwrap();
    let api = free_port();
    std::fs::write(
        dir.path().join("pipeline.toml"),
        format!(
            r#"
data_dir = "data"
[api]
address = "127.0.0.1:{api}"
[sources.in]
type = "aws_s3"
region = "{REGION}"
endpoint = "{}"
[sources.in.sqs]
queue_url = "{queue}"
poll_secs = 1
visibility_timeout_secs = 6
[sinks.es]
type = "elasticsearch"
inputs = ["in"]
endpoints = ["{}"]
index = "outage"
batch.max_events = 200
retry = {{ initial_backoff_ms = 100, max_backoff_ms = 2000, max_duration_secs = 600 }}
"#,
            moto.url(),
            proxy.url()
        ),
    )
    .unwrap();
    // Down from the start: every message is received and read, then waits through the outage.
    proxy.rules(|r| r.drop_connections = true);
    let mut weir = Weir::start(dir.path(), &["run", "-c", "pipeline.toml"], &WEIR_ENV);
    std::thread::sleep(Duration::from_secs(30));
    let s3_metric = |name: &str| {
        http_get(api, "/metrics")
            .and_then(|(_, text)| metric(&text, name, &[("component_id", "in")]))
            .unwrap_or(0.0)
    };
    let received_during = s3_metric("weir_aws_s3_messages_received_total");
    let extensions = s3_metric("weir_aws_s3_visibility_extensions_total");
    proxy.rules(|r| r.drop_connections = false);
    let back = Instant::now();
    while count(&server) < (OBJECTS * LINES) as u64 {
        assert!(
            back.elapsed() < Duration::from_secs(120),
            "{} delivered\n{}",
            count(&server),
            weir.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(2));
    let received = s3_metric("weir_aws_s3_messages_received_total");
    eprintln!(
        "outage sqs: {received_during} messages received during 30 s down, {extensions} \
         visibility extensions, {received} received in all, caught up in {:.1?}",
        back.elapsed()
    );
    assert!(extensions >= 1.0, "no heartbeat");
    assert_eq!(received, OBJECTS as f64, "a message was received twice");
    assert_eq!(count(&server), (OBJECTS * LINES) as u64);
    weir.signal(libc::SIGTERM);
    assert!(weir.wait(Duration::from_secs(60)).success());
}
