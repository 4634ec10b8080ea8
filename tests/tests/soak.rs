//! Issue 16, item 8: the soak. Sustained S3/SQS → Kafka load for `WEIR_SOAK_SECS` (default 1,200
//! s), alternating slow phases (one object of 200 ALB records every 2 s) and fast ones (5 objects
//! a second), each `WEIR_SOAK_PHASE_SECS` long (default 300 s); `weir`'s RSS is sampled every
//! 10 s. Passes when no sample after the warm-up (the first slow and fast phases) is higher than
//! the warm-up's peak (plus 10 % for the allocator's slack), and every record reached the topic
//! at least once. It prints the whole series.
//!
//! Not part of the test command (it takes 20 minutes): run it with `tests/soak.sh`, which builds
//! the release `weir` and runs this test with `--ignored`.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::QueueAttributeName;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Message};
use weir_tests::moto_aws::{put_and_announce, sdk_config, REGION, WEIR_ENV};
use weir_tests::services::{moto, tansu};
use weir_tests::{runtime, workspace_root, Weir};

const LINES_PER_OBJECT: usize = 200;

fn env_secs(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The distinct records (`weirsoak-<object>-<line>` user agents) in the topic so far, read from
/// the beginning by `consumer` (assigned once; repeated calls read on).
fn read_records(consumer: &BaseConsumer, seen: &mut std::collections::HashSet<String>) {
    let mut idle = 0;
    while idle < 10 {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                idle = 0;
                let text = String::from_utf8_lossy(m.payload().unwrap_or_default());
                if let Some(at) = text.find("weirsoak-") {
                    let id: String = text[at..]
                        .chars()
                        .take_while(|c| *c != '"' && *c != ' ')
                        .collect();
                    seen.insert(id);
                }
            }
            _ => idle += 1,
        }
    }
}

#[test]
#[ignore = "20 minutes: run with tests/soak.sh"]
fn soak_s3_to_kafka_rss_does_not_grow() {
    let total = Duration::from_secs(env_secs("WEIR_SOAK_SECS", 1200));
    let phase = Duration::from_secs(env_secs("WEIR_SOAK_PHASE_SECS", 300));
    let moto = moto();
    let broker = tansu();
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", broker.address())
        .create()
        .expect("admin");
    runtime()
        .block_on(admin.create_topics(
            &[NewTopic::new("soak", 1, TopicReplication::Fixed(1))],
            &AdminOptions::new(),
        ))
        .expect("create topic");
    let rt = runtime();
    let sdk = sdk_config(&rt, &moto.url());
    let s3 = weir_tests::moto_aws::s3_client(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue = rt.block_on(async {
        s3.create_bucket().bucket("soak").send().await.unwrap();
        sqs.create_queue()
            .queue_name("soak")
            .attributes(QueueAttributeName::VisibilityTimeout, "30")
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap()
    });
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("pipeline.toml"),
        format!(
            r#"
data_dir = "data"
api.enabled = false
[sources.s3]
type = "aws_s3"
region = "{REGION}"
endpoint = "{}"
[sources.s3.sqs]
queue_url = "{queue}"
poll_secs = 1
[transforms.parse]
type = "aws_parse"
inputs = ["s3"]
[sinks.kafka]
type = "kafka"
inputs = ["parse"]
bootstrap_servers = "{}"
topic = "soak"
"#,
            moto.url(),
            broker.address()
        ),
    )
    .unwrap();
    let template =
        std::fs::read_to_string(workspace_root().join("../shared/corpus/alb/docs/h2.log"))
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .to_string();
    let mut weir = Weir::start(dir.path(), &["run", "-c", "pipeline.toml"], &WEIR_ENV);

    // The producer: objects and their notifications, slow and fast phases in turn.
    let stop = Arc::new(AtomicBool::new(false));
    let objects = Arc::new(AtomicUsize::new(0));
    let producer = {
        let (stop, objects) = (Arc::clone(&stop), Arc::clone(&objects));
        std::thread::spawn(move || {
            let started = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                let fast = (started.elapsed().as_secs() / phase.as_secs().max(1)) % 2 == 1;
                let n = objects.fetch_add(1, Ordering::Relaxed);
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                for i in 0..LINES_PER_OBJECT {
                    writeln!(
                        gz,
                        "{}",
                        template.replace("curl/7.46.0", &format!("weirsoak-{n}-{i}"))
                    )
                    .unwrap();
                }
                let key = format!("AWSLogs/soak/{n:07}.log.gz");
                let body = gz.finish().unwrap();
                rt.block_on(async {
                    put_and_announce(&s3, &sqs, &queue, ("soak", &key), body).await;
                });
                std::thread::sleep(Duration::from_millis(if fast { 200 } else { 2000 }));
            }
        })
    };

    let started = Instant::now();
    let mut series: Vec<(u64, u64)> = Vec::new();
    while started.elapsed() < total {
        std::thread::sleep(Duration::from_secs(10));
        assert!(
            weir.child.try_wait().unwrap().is_none(),
            "weir died:\n{}",
            weir.log_text()
        );
        let rss = weir.rss_kib().unwrap_or(0);
        let at = started.elapsed().as_secs();
        eprintln!(
            "soak: t={at:>5} s  rss={rss} KiB  objects={}",
            objects.load(Ordering::Relaxed)
        );
        series.push((at, rss));
    }
    stop.store(true, Ordering::Relaxed);
    producer.join().unwrap();
    let produced = objects.load(Ordering::Relaxed) * LINES_PER_OBJECT;
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker.address())
        .set("group.id", "soak")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut assignment = rdkafka::TopicPartitionList::new();
    assignment
        .add_partition_offset("soak", 0, rdkafka::Offset::Beginning)
        .unwrap();
    consumer.assign(&assignment).expect("assign");
    let mut seen = std::collections::HashSet::new();
    let drained = Instant::now();
    loop {
        read_records(&consumer, &mut seen);
        if seen.len() >= produced {
            break;
        }
        if drained.elapsed() > Duration::from_secs(180) {
            let missing: Vec<String> = (0..produced / LINES_PER_OBJECT)
                .flat_map(|n| (0..LINES_PER_OBJECT).map(move |i| format!("weirsoak-{n}-{i}")))
                .filter(|id| !seen.contains(id))
                .take(10)
                .collect();
            panic!(
                "{} of {produced} records in the topic; missing e.g. {missing:?}\n{}",
                seen.len(),
                weir.log_text()
            );
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    weir.signal(libc::SIGTERM);
    assert!(weir.wait(Duration::from_secs(60)).success());

    // Warm-up: the first slow and fast phases. After it, no sample may pass the warm-up's peak
    // (plus 10 % for the allocator's slack).
    let warm_up = 2 * phase.as_secs();
    let window = |from: u64, to: u64| -> Vec<u64> {
        series
            .iter()
            .filter(|(t, _)| (from..to).contains(t))
            .map(|(_, r)| *r)
            .collect()
    };
    let end = series.last().map_or(0, |(t, _)| *t);
    let peak = window(0, warm_up).into_iter().max().unwrap_or(0);
    let after = window(warm_up, end + 1);
    let first = window(warm_up, warm_up + 60);
    let last = window(end.saturating_sub(59), end + 1);
    eprintln!(
        "soak: {produced} records; warm-up peak {peak} KiB; first minute after warm-up \
         {first:?} KiB; last minute {last:?} KiB"
    );
    let ceiling = peak * 11 / 10;
    assert!(
        after.iter().all(|r| *r <= ceiling),
        "RSS grew past the warm-up peak {peak} KiB: {after:?}"
    );
}
