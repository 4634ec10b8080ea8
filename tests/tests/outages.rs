//! Issue 16, item 5 (the Elasticsearch half): under load, the server is down for 60 s (every
//! connection cut), answers nothing but `429` for 30 s, or accepts connections and never answers
//! for 30 s; then it is back. Pass: peak RSS stays bounded (printed), the source slows instead of
//! reading the whole input into memory, and afterwards every event is delivered: with the default
//! deterministic ids the index holds exactly the input's count. Each test prints its peak RSS
//! and catch-up time. Real osmem-server behind the fault proxy.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use weir_tests::fault_proxy::{FaultProxy, Rules};
use weir_tests::services::osmem;
use weir_tests::{free_port, http_get, metric, Weir};

const EVENTS: usize = 50_000;

fn write_input(path: &Path) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for i in 0..EVENTS {
        writeln!(out, "outage line {i:08} {}", "x".repeat(80)).unwrap();
    }
    out.flush().unwrap();
}

fn count(server: &weir_tests::services::Service) -> u64 {
    server.json("POST", "/_refresh", "");
    server.json("GET", "/outage/_count", "")["count"]
        .as_u64()
        .unwrap_or(0)
}

/// Runs the outage: `fault` set for `length` once delivery started, then cleared.
fn outage(name: &str, length: Duration, fault: fn(&mut Rules, bool)) {
    let server = osmem();
    let proxy = FaultProxy::start(&server.address());
    let dir = tempfile::tempdir().unwrap();
    write_input(&dir.path().join("input.log"));
    let api = free_port();
    std::fs::write(
        dir.path().join("pipeline.toml"),
        format!(
            r#"
data_dir = "data"
[api]
address = "127.0.0.1:{api}"
[sources.in]
type = "file"
include = ["input.log"]
framing = "newline"
[sinks.es]
type = "elasticsearch"
inputs = ["in"]
endpoints = ["{}"]
index = "outage"
request_timeout_secs = 5
batch.max_events = 500
retry = {{ initial_backoff_ms = 100, max_backoff_ms = 2000, max_duration_secs = 600 }}
"#,
            proxy.url()
        ),
    )
    .unwrap();
    let mut weir = Weir::start(dir.path(), &["run", "-c", "pipeline.toml"], &[]);
    let started = Instant::now();
    while count(&server) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{}",
            weir.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    proxy.rules(|r| fault(r, true));
    let before = count(&server);
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
    proxy.rules(|r| fault(r, false));
    let back = Instant::now();
    while count(&server) < EVENTS as u64 {
        peak_kib = peak_kib.max(weir.rss_kib().unwrap_or(0));
        assert!(
            back.elapsed() < Duration::from_secs(180),
            "{name}: {} of {EVENTS} after the outage\n{}",
            count(&server),
            weir.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let catch_up = back.elapsed();
    // Let a last stray retry land, then the exact count.
    std::thread::sleep(Duration::from_secs(2));
    let total = count(&server);
    eprintln!(
        "outage {name}: {length:?}; {before} delivered before it, the source had read {read} of \
         {EVENTS} at its end; peak RSS {} MiB; caught up in {catch_up:.1?}; index count {total}",
        peak_kib / 1024
    );
    assert_eq!(total, EVENTS as u64, "{name}: lost or doubled");
    assert!(
        read < EVENTS,
        "{name}: the source read the whole input during the outage"
    );
    assert!(
        peak_kib < 150 * 1024,
        "{name}: peak RSS {} MiB",
        peak_kib / 1024
    );
    weir.signal(libc::SIGTERM);
    assert!(weir.wait(Duration::from_secs(60)).success());
}

#[test]
fn elasticsearch_down_for_60_s() {
    outage("down", Duration::from_secs(60), |r, on| {
        r.drop_connections = on
    });
}

#[test]
fn elasticsearch_429_storm_for_30_s() {
    outage("429 storm", Duration::from_secs(30), |r, on| {
        r.answer_all = on.then_some(429)
    });
}

#[test]
fn elasticsearch_never_answers_for_30_s() {
    outage("no answer", Duration::from_secs(30), |r, on| r.hang = on);
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
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
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
