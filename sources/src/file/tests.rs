//! Tests of the `file` source through its real read loop: a source task whose outputs are real
//! buffers, driven on real files in a temporary directory.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use weir_core::ack::EventStatus;
use weir_core::buffer::{buffer, BufferConfig, BufferReceiver};
use weir_core::component::{BuildContext, ComponentKind, SourceConfig, SourceContext};
use weir_core::metrics::{ComponentMetrics, Metrics, DEFAULT_OUTPUT};
use weir_core::output::{Fanout, Outputs};
use weir_core::shutdown::ShutdownSignal;
use weir_core::Event;

use super::{FileSourceConfig, OnRejected, ReadFrom};

struct Harness {
    events: BufferReceiver,
    errors: BufferReceiver,
    shutdown: ShutdownSignal,
    task: tokio::task::JoinHandle<Result<(), weir_core::component::ComponentError>>,
    metrics: ComponentMetrics,
}

fn config(include: &[&Path]) -> FileSourceConfig {
    FileSourceConfig {
        include: include.iter().map(|p| p.display().to_string()).collect(),
        exclude: Vec::new(),
        read_from: ReadFrom::Beginning,
        max_line_bytes: 1024 * 1024,
        glob_interval_ms: 50,
        ignore_checkpoints: false,
        on_rejected: OnRejected::Hold,
    }
}

fn start(config: FileSourceConfig, data_dir: &Path, once: bool) -> Harness {
    assert!(config.validate().is_empty(), "{:?}", config.validate());
    let registry = Metrics::new("test").unwrap();
    let metrics = registry.component("src", ComponentKind::Source, "file");
    let consumer = registry.component("sink", ComponentKind::Sink, "test");
    let big = BufferConfig {
        max_events: 1_000_000,
        ..BufferConfig::default()
    };
    let (tx, events) = buffer(&big, consumer.clone());
    let (etx, errors) = buffer(&big, consumer);
    let default = Fanout::new(
        vec![("sink".into(), tx)],
        None,
        metrics.sent_events(DEFAULT_OUTPUT),
        metrics.discarded.clone(),
    );
    let mut named = BTreeMap::new();
    named.insert(
        "errors".to_string(),
        Fanout::new(
            vec![("sink".into(), etx)],
            None,
            metrics.sent_events("errors"),
            metrics.discarded.clone(),
        ),
    );
    let source = config
        .build(&BuildContext {
            id: "src".into(),
            data_dir: data_dir.to_path_buf(),
        })
        .unwrap();
    let shutdown = ShutdownSignal::new();
    let cx = SourceContext {
        id: "src".into(),
        out: Outputs::new(default, named, metrics.clone()),
        shutdown: shutdown.clone(),
        metrics: metrics.clone(),
        once,
    };
    Harness {
        events,
        errors,
        shutdown,
        task: tokio::spawn(source.run(cx)),
        metrics,
    }
}

fn message(event: &Event) -> String {
    String::from_utf8_lossy(event.message_bytes().unwrap()).into_owned()
}

impl Harness {
    /// Receives exactly `n` events (panics after 10 s).
    async fn take(&mut self, n: usize) -> Vec<Event> {
        let mut out = Vec::new();
        while out.len() < n {
            match tokio::time::timeout(Duration::from_secs(10), self.events.recv()).await {
                Ok(Some(batch)) => out.extend(batch),
                Ok(None) => panic!("source ended after {} of {n} events", out.len()),
                Err(_) => panic!("timed out after {} of {n} events", out.len()),
            }
        }
        assert_eq!(out.len(), n, "more events than expected");
        out
    }

    /// Asserts nothing more arrives within a short while.
    async fn nothing_more(&mut self) {
        if let Ok(Some(batch)) =
            tokio::time::timeout(Duration::from_millis(300), self.events.recv()).await
        {
            panic!(
                "unexpected events: {:?}",
                batch.iter().map(message).collect::<Vec<_>>()
            );
        }
    }

    async fn finish(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("source stops")
            .unwrap()
            .unwrap();
    }
}

fn deliver(events: Vec<Event>) -> Vec<String> {
    events
        .into_iter()
        .map(|e| {
            let m = message(&e);
            e.finalize(EventStatus::Delivered);
            m
        })
        .collect()
}

fn checkpoint_offsets(data_dir: &Path) -> Vec<u64> {
    let text = std::fs::read_to_string(data_dir.join("src/checkpoints.json")).unwrap_or_default();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    json["checkpoints"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["offset"].as_u64()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn reads_lines_with_metadata_and_resumes_after_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    std::fs::write(&log, "one\r\ntwo\nthree\n").unwrap();
    let data = dir.path().join("data");
    let mut h = start(config(&[&log]), &data, true);
    let events = h.take(3).await;
    let meta = &events[1].metadata;
    assert_eq!(meta.stream.as_ref().unwrap().offset, 5);
    assert_eq!(
        &*meta.stream.as_ref().unwrap().stream,
        log.to_str().unwrap()
    );
    assert_eq!(
        events[1].fields.get("file").unwrap().to_string_lossy(),
        log.to_str().unwrap()
    );
    assert_eq!(deliver(events), ["one", "two", "three"]);
    h.task.await.unwrap().unwrap();
    assert_eq!(h.metrics.received_events.get(), 3);
    assert_eq!(checkpoint_offsets(&data), [15]);

    // A restart resumes after the delivered lines: only new lines arrive.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(b"four\n")
        .unwrap();
    let mut h = start(config(&[&log]), &data, true);
    assert_eq!(deliver(h.take(1).await), ["four"]);
    h.task.await.unwrap().unwrap();
    assert_eq!(checkpoint_offsets(&data), [20]);
}

#[tokio::test]
async fn undelivered_lines_are_read_again_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    std::fs::write(&log, "a\nb\n").unwrap();
    let data = dir.path().join("data");
    let mut h = start(config(&[&log]), &data, true);
    for e in h.take(2).await {
        e.finalize(EventStatus::Errored);
    }
    h.task.await.unwrap().unwrap();
    assert!(checkpoint_offsets(&data).iter().all(|o| *o == 0));
    assert_eq!(h.metrics.received_events.get(), 2);

    // Rejected with `hold`: also not past; with `skip`: past.
    let mut h = start(config(&[&log]), &data, true);
    for e in h.take(2).await {
        e.finalize(EventStatus::Rejected);
    }
    h.task.await.unwrap().unwrap();
    assert!(checkpoint_offsets(&data).iter().all(|o| *o == 0));
    let mut skip = config(&[&log]);
    skip.on_rejected = OnRejected::Skip;
    let mut h = start(skip, &data, true);
    for e in h.take(2).await {
        e.finalize(EventStatus::Rejected);
    }
    h.task.await.unwrap().unwrap();
    assert_eq!(checkpoint_offsets(&data), [4]);
}

#[tokio::test]
async fn follows_appends_rotation_and_truncation() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    std::fs::write(&log, "first\n").unwrap();
    let data = dir.path().join("data");
    let mut h = start(config(&[&log]), &data, false);
    assert_eq!(deliver(h.take(1).await), ["first"]);

    // Appends are followed.
    let mut writer = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    writer.write_all(b"second\n").unwrap();
    assert_eq!(deliver(h.take(1).await), ["second"]);

    // Rotation: rename, the old writer finishes its last line, a new file appears at the path.
    std::fs::rename(&log, dir.path().join("app.log.1")).unwrap();
    writer.write_all(b"third (rotated file)\n").unwrap();
    std::fs::write(&log, "new file line\n").unwrap();
    let mut got = deliver(h.take(2).await);
    got.sort();
    assert_eq!(got, ["new file line", "third (rotated file)"]);
    h.nothing_more().await;

    // Truncation: the file starts over; the new content is read from offset 0.
    std::fs::write(&log, "").unwrap();
    tokio::time::sleep(Duration::from_millis(250)).await;
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(b"after truncate\n")
        .unwrap();
    assert_eq!(deliver(h.take(1).await), ["after truncate"]);
    h.nothing_more().await;
    h.finish().await;
}

#[tokio::test]
async fn files_with_the_same_first_line_are_distinct() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.log"), "#Version: 1.0\nfrom a\n").unwrap();
    std::fs::write(dir.path().join("b.log"), "#Version: 1.0\nfrom b\n").unwrap();
    std::fs::write(dir.path().join("skip.log"), "excluded\n").unwrap();
    let mut cfg = config(&[&dir.path().join("*.log")]);
    cfg.exclude = vec![dir.path().join("skip*").display().to_string()];
    let mut h = start(cfg, &dir.path().join("data"), true);
    let mut got = deliver(h.take(4).await);
    got.sort();
    assert_eq!(got, ["#Version: 1.0", "#Version: 1.0", "from a", "from b"]);
    h.task.await.unwrap().unwrap();
}

#[tokio::test]
async fn gzip_files_are_read_whole_once() {
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("old.log.gz");
    let mut encoder = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::default(),
    );
    for i in 0..1000 {
        writeln!(encoder, "compressed line {i}").unwrap();
    }
    write!(encoder, "last line without newline").unwrap();
    encoder.finish().unwrap();
    let data = dir.path().join("data");
    let mut h = start(config(&[&gz]), &data, false);
    let got = deliver(h.take(1001).await);
    assert_eq!(got[999], "compressed line 999");
    assert_eq!(got[1000], "last line without newline");
    h.nothing_more().await;
    h.finish().await;
    // Finished for good: a restart reads nothing.
    let mut h = start(config(&[&gz]), &data, false);
    h.nothing_more().await;
    h.finish().await;
}

#[tokio::test]
async fn oversize_lines_become_error_events_and_good_lines_flow() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    std::fs::write(&log, format!("ok\n{}\nfine\n", "x".repeat(100))).unwrap();
    let mut cfg = config(&[&log]);
    cfg.max_line_bytes = 10;
    let mut h = start(cfg, &dir.path().join("data"), true);
    assert_eq!(deliver(h.take(2).await), ["ok", "fine"]);
    let errors = h.errors.recv().await.unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0]
            .fields
            .get("error_type")
            .unwrap()
            .to_string_lossy(),
        "line_too_long"
    );
    assert_eq!(
        errors[0].fields.get("offset"),
        Some(&weir_core::Value::Integer(3))
    );
    for e in errors {
        e.finalize(EventStatus::Delivered);
    }
    h.task.await.unwrap().unwrap();
}

#[tokio::test]
async fn read_from_end_skips_existing_lines_only_at_startup() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    std::fs::write(&log, "old\n").unwrap();
    let mut cfg = config(&[&dir.path().join("*.log")]);
    cfg.read_from = ReadFrom::End;
    let mut h = start(cfg, &dir.path().join("data"), false);
    h.nothing_more().await;
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(b"new\n")
        .unwrap();
    assert_eq!(deliver(h.take(1).await), ["new"]);
    // A file that appears later is read from its beginning.
    std::fs::write(dir.path().join("later.log"), "later 1\nlater 2\n").unwrap();
    assert_eq!(deliver(h.take(2).await), ["later 1", "later 2"]);
    h.finish().await;
}
