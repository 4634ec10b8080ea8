//! The `file` source's answers to bad input: compressed files that break off (truncated, corrupt,
//! over `max_decompressed_bytes`) and lines that are not UTF-8.

use super::*;
use base64::Engine as _;

/// `n` numbered lines, newline-terminated.
fn numbered(n: usize) -> String {
    (0..n).map(|i| format!("line number {i:07}\n")).collect()
}

fn zstd(text: &str) -> Vec<u8> {
    zstd::encode_all(text.as_bytes(), 3).unwrap()
}

fn gzip(text: &str) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(text.as_bytes()).unwrap();
    e.finish().unwrap()
}

impl Harness {
    /// Receives events until none arrive for half a second.
    async fn take_until_quiet(&mut self) -> Vec<Event> {
        let mut out = Vec::new();
        while let Ok(Some(batch)) =
            tokio::time::timeout(Duration::from_millis(500), self.events.recv()).await
        {
            out.extend(batch);
        }
        out
    }
}

fn field(event: &Event, name: &str) -> String {
    event
        .fields
        .get(name)
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[tokio::test]
async fn zstd_files_and_unnamed_gzip_files_are_read_whole_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.log.zst"), zstd(&numbered(500))).unwrap();
    // No extension: known by its magic bytes.
    std::fs::write(dir.path().join("b.log"), gzip(&numbered(300))).unwrap();
    let data = dir.path().join("data");
    let mut h = start(config(&[&dir.path().join("*")]), &data, false);
    let got = deliver(h.take(800).await);
    assert_eq!(
        got.iter().filter(|l| *l == "line number 0000499").count(),
        1
    );
    assert_eq!(
        got.iter().filter(|l| *l == "line number 0000299").count(),
        2
    );
    h.nothing_more().await;
    h.finish().await;
    let mut h = start(config(&[&dir.path().join("*")]), &data, false);
    h.nothing_more().await;
    h.finish().await;
}

/// A compressed file cut short: the complete lines before the break are delivered in order, one
/// error event names the file and the decompressed offset, and a restart does not read it again.
async fn a_cut_file_delivers_what_came_before(name: &str, compressed: Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    let cut = compressed.len() * 3 / 4;
    std::fs::write(&path, &compressed[..cut]).unwrap();
    let data = dir.path().join("data");
    let mut h = start(config(&[&path]), &data, false);
    let got = deliver(h.take_until_quiet().await);
    assert!(!got.is_empty(), "{name}: nothing before the break");
    assert!(got.len() < 200_000, "{name}: {} lines", got.len());
    for (i, line) in got.iter().enumerate() {
        assert_eq!(*line, format!("line number {i:07}"), "{name}");
    }
    let errors = h.take_errors().await;
    assert_eq!(errors.len(), 1);
    assert_eq!(field(&errors[0], "error_type"), "decompression_failed");
    assert_eq!(field(&errors[0], "file"), path.display().to_string());
    let Some(weir_core::Value::Integer(offset)) = errors[0].fields.get("offset").cloned() else {
        panic!("no offset")
    };
    let delivered_bytes = got.len() as i64 * 20;
    assert!(
        (delivered_bytes..delivered_bytes + 20 + 1024 * 1024).contains(&offset),
        "{name}: offset {offset}, {delivered_bytes} bytes delivered"
    );
    assert_eq!(error_count(&h.metrics, "decompression_failed"), 1);
    for e in errors {
        e.finalize(EventStatus::Delivered);
    }
    h.nothing_more().await;
    h.finish().await;
    let mut h = start(config(&[&path]), &data, false);
    h.nothing_more().await;
    h.finish().await;
}

#[tokio::test]
async fn truncated_gzip_and_zstd_files_are_reported_after_their_good_lines() {
    let text = numbered(200_000);
    a_cut_file_delivers_what_came_before("cut.log.gz", gzip(&text)).await;
    a_cut_file_delivers_what_came_before("cut.log.zst", zstd(&text)).await;
}

#[tokio::test]
async fn a_decompression_bomb_stops_at_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.log.gz");
    std::fs::write(&path, gzip(&numbered(100_000))).unwrap();
    let mut cfg = config(&[&path]);
    cfg.max_decompressed_bytes = 300_000;
    let mut h = start(cfg, &dir.path().join("data"), false);
    let got = deliver(h.take_until_quiet().await);
    assert!(got.len() <= 15_000, "{} lines past the cap", got.len());
    let errors = h.take_errors().await;
    assert_eq!(field(&errors[0], "error_type"), "decompressed_too_large");
    assert!(field(&errors[0], "error").contains("max_decompressed_bytes (300000)"));
    assert_eq!(error_count(&h.metrics, "decompressed_too_large"), 1);
    for e in errors {
        e.finalize(EventStatus::Delivered);
    }
    h.finish().await;
}

#[tokio::test]
async fn lines_that_are_not_utf8_are_kept_exactly_or_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    std::fs::write(&log, b"ok\ncaf\xe9 \xff\nfine\n").unwrap();
    let mut h = start(config(&[&log]), &dir.path().join("data"), true);
    assert_eq!(deliver(h.take(2).await), ["ok", "fine"]);
    let errors = h.take_errors().await;
    assert_eq!(errors.len(), 1);
    assert_eq!(field(&errors[0], "error_type"), "invalid_utf8");
    assert_eq!(field(&errors[0], "offset"), "3");
    let kept = base64::engine::general_purpose::STANDARD
        .decode(field(&errors[0], "message_base64"))
        .unwrap();
    assert_eq!(kept, b"caf\xe9 \xff");
    assert_eq!(error_count(&h.metrics, "invalid_utf8"), 1);
    for e in errors {
        e.finalize(EventStatus::Delivered);
    }
    h.task.await.unwrap().unwrap();

    let mut cfg = config(&[&log]);
    cfg.invalid_utf8 = InvalidUtf8::Replace;
    let mut h = start(cfg, &dir.path().join("data2"), true);
    assert_eq!(
        deliver(h.take(3).await),
        ["ok", "caf\u{fffd} \u{fffd}", "fine"]
    );
    assert_eq!(error_count(&h.metrics, "invalid_utf8_replaced"), 1);
    h.task.await.unwrap().unwrap();
}
