//! Tests of the `file` source through its real read loop: a source task whose outputs are real
//! buffers, driven on real files in a temporary directory.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::Duration;
use weir_core::component::PluginCommon;

use weir_core::ack::EventStatus;
use weir_core::buffer::{buffer, BufferConfig, BufferReceiver};
use weir_core::component::{BuildContext, ComponentKind, SourceConfig, SourceContext};
use weir_core::metrics::{ComponentMetrics, Metrics, DEFAULT_OUTPUT};
use weir_core::output::{Fanout, Outputs};
use weir_core::shutdown::ShutdownSignal;
use weir_core::Event;

use super::{FileSourceConfig, Framing, InvalidUtf8, OnRejected, ReadFrom};

/// Compressed files that break off, lines that are not UTF-8.
#[path = "hygiene_tests.rs"]
mod hygiene;

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
        framing: Framing::Auto,
        max_line_bytes: 1024 * 1024,
        max_decompressed_bytes: 1 << 40,
        invalid_utf8: InvalidUtf8::Error,
        glob_interval_ms: 50,
        ignore_checkpoints: false,
        on_rejected: OnRejected::Retry,
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
        metrics.sent_events(DEFAULT_OUTPUT),
        metrics.discarded.clone(),
    );
    let mut named = BTreeMap::new();
    named.insert(
        weir_core::output::ERRORS.to_string(),
        Fanout::new(
            vec![("sink".into(), etx)],
            metrics.sent_events(weir_core::output::ERRORS),
            metrics.discarded.clone(),
        ),
    );
    let source = config
        .build(&BuildContext {
            id: "src".into(),
            data_dir: data_dir.to_path_buf(),
            metrics: metrics.clone(),
            tables: Default::default(),
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

    /// Receives batches (as the source sent them) until there are exactly `n` events.
    async fn take_batches(&mut self, n: usize) -> Vec<Vec<Event>> {
        let mut out = Vec::new();
        let mut count = 0;
        while count < n {
            match tokio::time::timeout(Duration::from_secs(10), self.events.recv()).await {
                Ok(Some(batch)) => {
                    count += batch.len();
                    out.push(batch);
                }
                Ok(None) => panic!("source ended after {count} of {n} events"),
                Err(_) => panic!("timed out after {count} of {n} events"),
            }
        }
        assert_eq!(count, n, "more events than expected");
        out
    }

    /// Receives the next batch of error events (panics after 10 s).
    async fn take_errors(&mut self) -> Vec<Event> {
        tokio::time::timeout(Duration::from_secs(10), self.errors.recv())
            .await
            .expect("an error event")
            .expect("errors output open")
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

/// A source's count of errors of one type.
fn error_count(metrics: &ComponentMetrics, error_type: &str) -> u64 {
    let text = prometheus::TextEncoder::new()
        .encode_to_string(&metrics.registry().gather())
        .unwrap();
    text.lines()
        .filter(|l| l.starts_with("weir_component_errors_total{"))
        .filter(|l| l.contains(&format!("error_type=\"{error_type}\"")))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// The saved checkpoints as JSON values.
fn checkpoints(data_dir: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(data_dir.join("src/checkpoints.json")).unwrap_or_default();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    json["checkpoints"].as_array().cloned().unwrap_or_default()
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

    // Rejected with `retry`: also not past; with `skip`: past.
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

/// A CloudTrail-like record; `pad` bytes of filler make it larger.
fn record(i: usize, pad: usize) -> String {
    format!(
        r#"{{"eventVersion":"1.08","eventID":"id-{i}","eventName":"PutObject","requestParameters":{{"key":"a]b}}c\"d","pad":"{}"}}}}"#,
        "x".repeat(pad)
    )
}

/// A `{"Records":[...]}` document of records `range`.
fn document(range: std::ops::Range<usize>, pad: usize) -> (String, Vec<String>) {
    let records: Vec<String> = range.map(|i| record(i, pad)).collect();
    (format!(r#"{{"Records":[{}]}}"#, records.join(",")), records)
}

/// Writes `text` gzip-compressed.
fn write_gz(path: &Path, text: &str) {
    let mut encoder = flate2::write::GzEncoder::new(
        std::fs::File::create(path).unwrap(),
        flate2::Compression::default(),
    );
    encoder.write_all(text.as_bytes()).unwrap();
    encoder.finish().unwrap();
}

fn offset(event: &Event) -> u64 {
    event.metadata.stream.as_ref().unwrap().offset
}

#[tokio::test]
async fn records_documents_become_one_event_per_record_with_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("trail.json");
    let (first, mut expected) = document(0..3, 10);
    // Documents one per line, with whitespace and a later key, then a bare array.
    let second = format!(
        "{{ \"Records\" : [\n  {} ,\n  {}\n ], \"digest\": {{\"k\": [1, \"]\"]}} }}",
        record(3, 0),
        record(4, 0)
    );
    expected.extend([record(3, 0), record(4, 0), record(5, 0)]);
    let text = format!("{first}\n{second}\n[{}]\n", record(5, 0));
    std::fs::write(&log, &text).unwrap();
    let data = dir.path().join("data");
    let mut h = start(config(&[&log]), &data, true);
    let events = h.take(6).await;
    for (event, want) in events.iter().zip(&expected) {
        assert_eq!(offset(event), text.find(want.as_str()).unwrap() as u64);
        let meta = event.metadata.stream.as_ref().unwrap();
        assert_eq!(&*meta.stream, log.to_str().unwrap());
        assert_eq!(
            event.fields.get("file").unwrap().to_string_lossy(),
            log.to_str().unwrap()
        );
    }
    assert_eq!(deliver(events), expected);
    h.task.await.unwrap().unwrap();
    assert!(h.errors.try_recv().is_none());
    assert_eq!(h.metrics.received_events.get(), 6);
    let saved = checkpoints(&data);
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0]["offset"], text.len() as u64);
    assert!(saved[0].get("skip_records").is_none(), "{saved:?}");

    // `framing = "newline"` reads the same file as lines.
    let mut cfg = config(&[&log]);
    cfg.framing = Framing::Newline;
    cfg.ignore_checkpoints = true;
    let mut h = start(cfg, &dir.path().join("data2"), true);
    let got = deliver(h.take(text.lines().count()).await);
    assert_eq!(got[0], first);
    h.task.await.unwrap().unwrap();
}

/// Reads a file holding a small document and a large one (several read chunks), delivers only
/// the first batch, then restarts: the rest of the large document arrives exactly once.
async fn restart_inside_a_document(path: &Path, text: &str, expected: &[String]) {
    let dir = path.parent().unwrap();
    let data = dir.join("data");
    let mut h = start(config(&[path]), &data, true);
    let mut batches = h.take_batches(expected.len()).await.into_iter();
    let first = batches.next().unwrap();
    let delivered = first.len();
    // The first batch ends inside the large document.
    assert!(
        delivered > 3 && delivered < expected.len(),
        "first batch: {delivered} of {} events",
        expected.len()
    );
    assert_eq!(deliver(first), expected[..delivered]);
    for e in batches.flatten() {
        e.finalize(EventStatus::Errored);
    }
    h.task.await.unwrap().unwrap();
    let saved = checkpoints(&data);
    let large_start = text.rfind("{\"Records\"").unwrap();
    assert_eq!(saved[0]["offset"], large_start as u64, "{saved:?}");
    assert_eq!(
        saved[0]["skip_records"],
        (delivered - 3) as u64,
        "{saved:?}"
    );
    assert_eq!(saved[0]["finished"], false);

    // After a restart: exactly the records not yet delivered, at the same offsets.
    let mut h = start(config(&[path]), &data, true);
    let rest = h.take(expected.len() - delivered).await;
    assert_eq!(
        offset(&rest[0]),
        text.find(expected[delivered].as_str()).unwrap() as u64
    );
    assert_eq!(deliver(rest), expected[delivered..]);
    h.task.await.unwrap().unwrap();
    assert_eq!(
        h.metrics.received_events.get(),
        (expected.len() - delivered) as u64
    );
    let saved = checkpoints(&data);
    assert_eq!(saved[0]["offset"], text.len() as u64, "{saved:?}");
    assert!(saved[0].get("skip_records").is_none(), "{saved:?}");

    // Nothing is left.
    let mut h = start(config(&[path]), &data, true);
    h.task.await.unwrap().unwrap();
    assert!(h.events.try_recv().is_none());
    assert_eq!(h.metrics.received_events.get(), 0);
}

fn small_and_large_documents(large: usize) -> (String, Vec<String>) {
    let (small, mut expected) = document(0..3, 0);
    let (big, records) = document(3..3 + large, 250);
    expected.extend(records);
    (format!("{small}\n{big}\n"), expected)
}

#[tokio::test]
async fn a_restart_inside_a_document_resumes_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("trail.json");
    let (text, expected) = small_and_large_documents(3000);
    std::fs::write(&log, &text).unwrap();
    restart_inside_a_document(&log, &text, &expected).await;
}

#[tokio::test]
async fn gzip_records_files_are_split_and_resume_inside_a_document() {
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("trail.json.gz");
    let (text, expected) = small_and_large_documents(3000);
    write_gz(&gz, &text);
    restart_inside_a_document(&gz, &text, &expected).await;

    // A gzip file of small documents under `framing = "json_records"`, read whole.
    let gz = dir.path().join("small.json.gz");
    let (a, mut expected) = document(0..2, 0);
    let (b, more) = document(2..5, 0);
    expected.extend(more);
    write_gz(&gz, &format!("{a}{b}"));
    let mut cfg = config(&[&gz]);
    cfg.framing = Framing::JsonRecords;
    let mut h = start(cfg, &dir.path().join("data-small"), false);
    assert_eq!(deliver(h.take(5).await), expected);
    h.nothing_more().await;
    h.finish().await;
}

#[tokio::test]
async fn ndjson_under_auto_falls_back_to_lines() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("events.json");
    let lines = [record(0, 0), record(1, 0), record(2, 0)];
    let text = format!("{}\n", lines.join("\n"));
    std::fs::write(&log, &text).unwrap();
    let data = dir.path().join("data");
    let mut h = start(config(&[&log]), &data, true);
    let events = h.take(3).await;
    assert_eq!(offset(&events[1]), lines[0].len() as u64 + 1);
    assert_eq!(deliver(events), lines);
    h.task.await.unwrap().unwrap();
    assert!(h.errors.try_recv().is_none());
    let saved = checkpoints(&data);
    assert_eq!(saved[0]["offset"], text.len() as u64);
    assert_eq!(saved[0]["line_fallback"], true);

    // The fallback is remembered: appended lines are read as lines after a restart, even one
    // that would be a records document on its own.
    let (doc, _) = document(10..11, 0);
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(format!("{}\n{doc}\n", record(3, 0)).as_bytes())
        .unwrap();
    let mut h = start(config(&[&log]), &data, true);
    assert_eq!(deliver(h.take(2).await), [record(3, 0), doc]);
    h.task.await.unwrap().unwrap();

    // A plain text file under `json_records` is read as lines too, even with lines that start
    // with a bracket.
    let txt = dir.path().join("app.log");
    std::fs::write(&txt, "[INFO] plain text\nmore text\n").unwrap();
    let mut cfg = config(&[&txt]);
    cfg.framing = Framing::JsonRecords;
    let mut h = start(cfg, &dir.path().join("data-txt"), true);
    assert_eq!(deliver(h.take(2).await), ["[INFO] plain text", "more text"]);
    h.task.await.unwrap().unwrap();
    assert!(h.errors.try_recv().is_none());
}

#[tokio::test]
async fn records_above_the_size_limit_become_error_events() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("trail.json");
    let (small_a, small_b, large) = (record(0, 0), record(2, 0), record(1, 500));
    let text = format!("{{\"Records\":[{small_a},{large},{small_b}]}}\n");
    std::fs::write(&log, &text).unwrap();
    let mut cfg = config(&[&log]);
    cfg.max_line_bytes = 200;
    let data = dir.path().join("data");
    let mut h = start(cfg, &data, true);
    assert_eq!(deliver(h.take(2).await), [small_a, small_b]);
    let errors = h.take_errors().await;
    assert_eq!(errors.len(), 1);
    let error = &errors[0];
    assert_eq!(
        error.fields.get("error_type").unwrap().to_string_lossy(),
        "record_too_large"
    );
    let large_at = text.find(&large).unwrap() as i64;
    assert_eq!(
        error.fields.get("offset"),
        Some(&weir_core::Value::Integer(large_at))
    );
    assert_eq!(
        error.fields.get("file").unwrap().to_string_lossy(),
        log.to_str().unwrap()
    );
    for e in errors {
        e.finalize(EventStatus::Delivered);
    }
    h.task.await.unwrap().unwrap();
    assert_eq!(error_count(&h.metrics, "record_too_large"), 1);
    assert_eq!(checkpoint_offsets(&data), [text.len() as u64]);
}

#[tokio::test]
async fn a_truncated_document_at_the_end_is_an_error_in_once_mode() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("trail.json");
    let text = format!(
        "{{\"Records\":[\n{},\n{},\n{{\"eventID\":\"cut",
        record(0, 0),
        record(1, 0)
    );
    std::fs::write(&log, &text).unwrap();
    let data = dir.path().join("data");
    let mut h = start(config(&[&log]), &data, true);
    assert_eq!(deliver(h.take(2).await), [record(0, 0), record(1, 0)]);
    let errors = h.take_errors().await;
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0]
            .fields
            .get("error_type")
            .unwrap()
            .to_string_lossy(),
        "truncated_document"
    );
    for e in errors {
        e.finalize(EventStatus::Delivered);
    }
    // The source ends (it does not wait for the rest of the document).
    tokio::time::timeout(Duration::from_secs(10), h.task)
        .await
        .expect("the source ends")
        .unwrap()
        .unwrap();
    assert_eq!(error_count(&h.metrics, "truncated_document"), 1);
    let saved = checkpoints(&data);
    assert_eq!(saved[0]["offset"], text.len() as u64);
    assert_eq!(saved[0]["line_fallback"], true);
}

#[tokio::test]
async fn an_unfinished_document_is_awaited_when_tailing() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("trail.json");
    std::fs::write(&log, format!("{{\"Records\":[\n{},\n", record(0, 0))).unwrap();
    let mut h = start(config(&[&log]), &dir.path().join("data"), false);
    assert_eq!(deliver(h.take(1).await), [record(0, 0)]);
    h.nothing_more().await;
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(format!("{}]}}\n", record(1, 0)).as_bytes())
        .unwrap();
    assert_eq!(deliver(h.take(1).await), [record(1, 0)]);
    h.nothing_more().await;
    assert!(h.errors.try_recv().is_none());
    h.finish().await;
}
