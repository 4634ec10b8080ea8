use std::io::Read;
use std::path::Path;
use std::time::Duration;

use weir_core::ack::BatchStatus;
use weir_core::component::PluginCommon;
use weir_core::Value;

use super::*;
use crate::errors::ErrorType;
use crate::test_util::{batch, error_count, event, message, start, status};

fn config(path: &Path, encoding: Encoding) -> FileSinkConfig {
    FileSinkConfig {
        path: path.to_string_lossy().into_owned(),
        encoding,
        compression: Compression::None,
        idle_timeout_secs: 30,
        fsync_interval_ms: 20,
        max_file_bytes: None,
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every file below `dir`, relative, sorted.
fn files_below(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                out.push(
                    path.strip_prefix(base)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

#[tokio::test]
async fn writes_text_and_acknowledges_only_after_writing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out/app.log");
    let sink = start(&config(&path, Encoding::Text), "file");

    let (notifier, rx) = batch();
    let events = (0..1000)
        .map(|i| message(&format!("line {i}"), Some(&notifier)))
        .collect();
    drop(notifier);
    sink.tx.send(events).await.unwrap();
    assert_eq!(status(rx).await, BatchStatus::Delivered);
    // The sink is still running: everything acknowledged must already be in the file.
    let expected: String = (0..1000).map(|i| format!("line {i}\n")).collect();
    assert_eq!(read(&path), expected);

    let metrics = sink.finish().await;
    assert_eq!(
        metrics
            .sent_events(weir_core::metrics::DEFAULT_OUTPUT)
            .get(),
        1000
    );
    assert_eq!(metrics.sent_bytes.get(), expected.len() as u64);
}

#[tokio::test]
async fn ndjson_writes_all_fields_and_appends() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.ndjson");
    std::fs::write(&path, "existing\n").unwrap();
    let sink = start(&config(&path, Encoding::Ndjson), "file");
    let (notifier, rx) = batch();
    sink.tx
        .send(vec![event(
            &[
                ("message", Value::from("hi")),
                ("status", Value::Integer(200)),
            ],
            Some(&notifier),
        )])
        .await
        .unwrap();
    drop(notifier);
    assert_eq!(status(rx).await, BatchStatus::Delivered);
    sink.finish().await;
    assert_eq!(
        read(&path),
        "existing\n{\"message\":\"hi\",\"status\":200}\n"
    );
}

#[tokio::test]
async fn text_without_message_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let sink = start(&config(&path, Encoding::Text), "file");
    let (bad, bad_rx) = batch();
    let (good, good_rx) = batch();
    sink.tx
        .send(vec![
            event(&[("status", Value::Integer(1))], Some(&bad)),
            message("kept", Some(&good)),
        ])
        .await
        .unwrap();
    drop((bad, good));
    assert_eq!(status(bad_rx).await, BatchStatus::Rejected);
    assert_eq!(status(good_rx).await, BatchStatus::Delivered);
    sink.finish().await;
    assert_eq!(read(&path), "kept\n");
}

#[tokio::test]
async fn templated_paths_split_events_into_files() {
    let dir = tempfile::tempdir().unwrap();
    let template = format!(
        "{}/out/%Y/{{{{ app }}}}/{{{{ source_type }}}}.log",
        dir.path().display()
    );
    let config = FileSinkConfig {
        path: template,
        ..config(dir.path(), Encoding::Text)
    };
    let sink = start(&config, "file");
    let (notifier, rx) = batch();
    let ts = chrono::DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let mut events = Vec::new();
    for i in 0..10 {
        let app = if i % 2 == 0 { "web" } else { "api/v2" };
        events.push(event(
            &[
                ("message", Value::from(format!("m{i}"))),
                ("app", Value::from(app)),
                ("timestamp", Value::Timestamp(ts)),
            ],
            Some(&notifier),
        ));
    }
    drop(notifier);
    sink.tx.send(events).await.unwrap();
    assert_eq!(status(rx).await, BatchStatus::Delivered);
    sink.finish().await;
    assert_eq!(
        files_below(dir.path()),
        ["out/2024/api/v2/test.log", "out/2024/web/test.log"]
    );
    assert_eq!(
        read(&dir.path().join("out/2024/web/test.log")),
        "m0\nm2\nm4\nm6\nm8\n"
    );
    assert_eq!(
        read(&dir.path().join("out/2024/api/v2/test.log")),
        "m1\nm3\nm5\nm7\nm9\n"
    );
}

#[tokio::test]
async fn path_traversal_is_rejected_and_nothing_escapes_the_root() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("a/b/root");
    std::fs::create_dir_all(&root).unwrap();
    let config = FileSinkConfig {
        path: format!("{}/{{{{ name }}}}", root.display()),
        ..config(dir.path(), Encoding::Text)
    };
    let sink = start(&config, "file");
    let attacks = [
        "../../etc/x",
        "../x",
        "..",
        "/abs",
        "/etc/passwd",
        "ok/../../../x",
        "nul\0byte",
        "",
    ];
    let mut rejected = Vec::new();
    for name in attacks {
        let (notifier, rx) = batch();
        sink.tx
            .send(vec![event(
                &[
                    ("message", Value::from("evil")),
                    ("name", Value::from(name)),
                ],
                Some(&notifier),
            )])
            .await
            .unwrap();
        drop(notifier);
        rejected.push((name, rx));
    }
    let (notifier, ok_rx) = batch();
    sink.tx
        .send(vec![event(
            &[
                ("message", Value::from("fine")),
                ("name", Value::from("sub/dir/ok.log")),
            ],
            Some(&notifier),
        )])
        .await
        .unwrap();
    drop(notifier);
    for (name, rx) in rejected {
        assert_eq!(status(rx).await, BatchStatus::Rejected, "{name:?}");
    }
    assert_eq!(status(ok_rx).await, BatchStatus::Delivered);
    let metrics = sink.finish().await;
    // Only the legitimate file exists anywhere in the temp dir.
    assert_eq!(files_below(dir.path()), ["a/b/root/sub/dir/ok.log"]);
    let outside = error_count(&metrics, ErrorType::PathOutsideRoot);
    assert_eq!(outside, 7);
}

#[tokio::test]
async fn missing_template_field_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let config = FileSinkConfig {
        path: format!("{}/{{{{ app }}}}.log", dir.path().display()),
        ..config(dir.path(), Encoding::Text)
    };
    let sink = start(&config, "file");
    let (notifier, rx) = batch();
    sink.tx
        .send(vec![message("no app field", Some(&notifier))])
        .await
        .unwrap();
    drop(notifier);
    assert_eq!(status(rx).await, BatchStatus::Rejected);
    sink.finish().await;
    assert!(files_below(dir.path()).is_empty());
}

#[tokio::test]
async fn gzip_output_decodes_back_to_the_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log.gz");
    let config = FileSinkConfig {
        compression: Compression::Gzip,
        ..config(&path, Encoding::Text)
    };
    let sink = start(&config, "file");
    let mut expected = String::new();
    for round in 0..3 {
        let (notifier, rx) = batch();
        let events = (0..500)
            .map(|i| {
                let line = format!("round {round} line {i}");
                expected.push_str(&line);
                expected.push('\n');
                message(&line, Some(&notifier))
            })
            .collect();
        drop(notifier);
        sink.tx.send(events).await.unwrap();
        assert_eq!(status(rx).await, BatchStatus::Delivered);
        // Acknowledged data is decodable before the stream is finished (sync flush).
        let mut partial = Vec::new();
        let bytes = std::fs::read(&path).unwrap();
        let _ = flate2::read::GzDecoder::new(&bytes[..]).read_to_end(&mut partial);
        assert_eq!(String::from_utf8(partial).unwrap(), expected);
    }
    let metrics = sink.finish().await;
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(metrics.sent_bytes.get(), bytes.len() as u64);
    let mut decoded = String::new();
    flate2::read::MultiGzDecoder::new(&bytes[..])
        .read_to_string(&mut decoded)
        .expect("a finished gzip stream");
    assert_eq!(decoded, expected);
}

#[tokio::test]
async fn idle_files_are_closed_and_gzip_finished() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("idle.log.gz");
    let config = FileSinkConfig {
        compression: Compression::Gzip,
        idle_timeout_secs: 1,
        ..config(&path, Encoding::Text)
    };
    let sink = start(&config, "file");
    let (notifier, rx) = batch();
    sink.tx
        .send(vec![message("only", Some(&notifier))])
        .await
        .unwrap();
    drop(notifier);
    assert_eq!(status(rx).await, BatchStatus::Delivered);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let bytes = std::fs::read(&path).unwrap();
        let mut decoded = String::new();
        // Strict decoding succeeds only once the trailer has been written.
        if flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut decoded)
            .is_ok()
        {
            assert_eq!(decoded, "only\n");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "idle file never finished"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    sink.finish().await;
}

#[tokio::test]
async fn write_failures_are_errored() {
    let dir = tempfile::tempdir().unwrap();
    // The parent "directory" is a regular file: opening fails.
    std::fs::write(dir.path().join("blocker"), "").unwrap();
    let path = dir.path().join("blocker/app.log");
    let sink = start(&config(&path, Encoding::Text), "file");
    let (notifier, rx) = batch();
    sink.tx
        .send(vec![message("x", Some(&notifier))])
        .await
        .unwrap();
    drop(notifier);
    assert_eq!(status(rx).await, BatchStatus::Errored);
    let metrics = sink.finish().await;
    assert_eq!(
        metrics
            .sent_events(weir_core::metrics::DEFAULT_OUTPUT)
            .get(),
        0
    );
}

#[test]
fn validate_reports_every_problem_with_its_key() {
    let bad = FileSinkConfig {
        path: "./out/{{ x".into(),
        encoding: Encoding::Ndjson,
        compression: Compression::None,
        idle_timeout_secs: 0,
        fsync_interval_ms: 20,
        max_file_bytes: Some(0),
    };
    let keys: Vec<_> = bad.validate().into_iter().map(|p| p.key).collect();
    assert_eq!(keys, ["path", "max_file_bytes", "idle_timeout_secs"]);
    let dir = FileSinkConfig {
        path: "./out/".into(),
        ..bad.clone()
    };
    assert_eq!(dir.validate()[0].key, "path");
    let parsed: FileSinkConfig =
        serde_json::from_value(serde_json::json!({ "path": "./o/%Y.log" })).unwrap();
    assert!(parsed.validate().is_empty());
    assert_eq!(parsed.encoding, Encoding::Ndjson);
    assert_eq!(parsed.compression, Compression::None);
    assert_eq!(parsed.idle_timeout_secs, 30);
    assert_eq!(parsed.fsync_interval_ms, 20);
    assert_eq!(parsed.max_file_bytes, None);
    assert!(serde_json::from_value::<FileSinkConfig>(
        serde_json::json!({ "path": "x", "compression": "zstd" })
    )
    .is_err());
}

#[tokio::test]
async fn acknowledgements_wait_for_the_sync_and_syncs_are_spaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let mut cfg = config(&path, Encoding::Text);
    cfg.fsync_interval_ms = 1500;
    let sink = start(&cfg, "file");
    // The first sync starts at once.
    let (notifier, rx) = batch();
    sink.tx
        .send(vec![message("first", Some(&notifier))])
        .await
        .unwrap();
    drop(notifier);
    assert_eq!(status(rx).await, BatchStatus::Delivered);
    // Written at once, but acknowledged only with the next sync, a whole interval later.
    let (notifier, mut rx) = batch();
    sink.tx
        .send(vec![message("second", Some(&notifier))])
        .await
        .unwrap();
    drop(notifier);
    assert!(
        tokio::time::timeout(Duration::from_millis(500), &mut rx)
            .await
            .is_err(),
        "acknowledged before the sync"
    );
    assert_eq!(read(&path), "first\nsecond\n");
    assert_eq!(status(rx).await, BatchStatus::Delivered);
    let metrics = sink.finish().await;
    assert_eq!(
        metrics
            .sent_events(weir_core::metrics::DEFAULT_OUTPUT)
            .get(),
        2
    );
}

#[tokio::test]
async fn full_files_are_renamed_aside_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out/app.log");
    let mut cfg = config(&path, Encoding::Text);
    cfg.max_file_bytes = Some(1000);
    let sink = start(&cfg, "file");
    for round in 0..11 {
        let (notifier, rx) = batch();
        let events = (0..50)
            .map(|i| message(&format!("round {round:02} line {i:02}"), Some(&notifier)))
            .collect();
        drop(notifier);
        sink.tx.send(events).await.unwrap();
        assert_eq!(status(rx).await, BatchStatus::Delivered);
    }
    sink.finish().await;
    let out = dir.path().join("out");
    let files = files_below(&out);
    // 17-byte lines, 50 a round: every second round fills a file; 11 rounds leave one open.
    assert_eq!(
        files,
        [
            "app.1.log",
            "app.2.log",
            "app.3.log",
            "app.4.log",
            "app.5.log",
            "app.log"
        ]
    );
    let mut all = String::new();
    for name in [
        "app.1.log",
        "app.2.log",
        "app.3.log",
        "app.4.log",
        "app.5.log",
    ] {
        let text = read(&out.join(name));
        assert_eq!(text.len(), 1700, "{name}");
        all.push_str(&text);
    }
    all.push_str(&read(&out.join("app.log")));
    let expected: String = (0..11)
        .flat_map(|r| (0..50).map(move |i| format!("round {r:02} line {i:02}\n")))
        .collect();
    assert_eq!(all, expected);
}
