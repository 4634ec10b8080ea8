//! Acceptance: `weir` with no arguments runs the embedded quickstart; its metrics show, for every
//! component, received and sent counts equal to the number of sample lines (header lines, which
//! `aws_parse` consumes, are the only difference between what the source reads and what is written).

use std::time::Duration;
use weir_tests::{free_port, metric, wait_for_metrics, workspace_root, Weir};

/// `(lines, header lines)` of the samples.
fn sample_lines() -> (usize, usize) {
    let dir = workspace_root().join("pipelines/samples");
    let mut lines = 0;
    let mut headers = 0;
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        if entry.path().extension().is_some_and(|x| x == "log") {
            for line in std::fs::read_to_string(entry.path()).unwrap().lines() {
                lines += 1;
                if line.starts_with('#') || line.starts_with("version account-id") {
                    headers += 1;
                }
            }
        }
    }
    (lines, headers)
}

#[test]
fn quickstart_counts_every_sample_line_in_every_component() {
    let (lines, headers) = sample_lines();
    let (lines, events) = (lines as f64, (lines - headers) as f64);
    assert!(events > 0.0 && headers > 0);
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    let mut weir = Weir::start(dir.path(), &[], &[("WEIR_API_ADDRESS", &address)]);
    let sent = |text: &str, id: &str| {
        metric(
            text,
            "weir_component_sent_events_total",
            &[("component_id", id), ("output", "_default")],
        )
    };
    let received = |text: &str, id: &str| {
        metric(
            text,
            "weir_component_received_events_total",
            &[("component_id", id)],
        )
    };
    let text = wait_for_metrics(port, Duration::from_secs(60), |t| {
        sent(t, "out") == Some(events)
    });
    let expected = [
        ("samples", lines, lines),
        ("parsed", lines, events),
        ("out", events, events),
    ];
    for (id, received_count, sent_count) in expected {
        assert_eq!(
            received(&text, id),
            Some(received_count),
            "{id} received\n{text}\n{}",
            weir.log_text()
        );
        assert_eq!(sent(&text, id), Some(sent_count), "{id} sent\n{text}");
    }
    assert_eq!(
        received(&text, "unparsed"),
        Some(0.0),
        "every sample parses"
    );
    assert!(text.contains("weir_build_info"));
    assert!(text.contains("weir_uptime_seconds"));
    assert_eq!(
        weir_tests::http_get(port, "/health").map(|(s, _)| s),
        Some(200)
    );

    weir.signal(libc::SIGTERM);
    let status = weir.wait(Duration::from_secs(30));
    assert!(status.success(), "exit {status:?}\n{}", weir.log_text());
    let (out, log_types) = walk(&dir.path().join("weir-out"));
    assert_eq!(
        out as f64, events,
        "every sample record is in the NDJSON output"
    );
    assert_eq!(
        log_types,
        ["alb", "cloudfront", "elb_classic", "s3_access", "vpc_flow"]
            .map(String::from)
            .to_vec(),
        "one file per log type"
    );
    assert!(
        weir.log_text().contains("Weir quickstart"),
        "prints where output and metrics are"
    );
}

/// `(events, log types)` of the NDJSON files under `dir`; each file holds one log type.
fn walk(dir: &std::path::Path) -> (usize, Vec<String>) {
    let mut count = 0;
    let mut types = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            let (c, t) = walk(&path);
            count += c;
            types.extend(t);
        } else {
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            for line in std::fs::read_to_string(&path).unwrap().lines() {
                let event: serde_json::Value = serde_json::from_str(line).expect("NDJSON");
                assert_eq!(event["aws"]["log_type"], stem.as_str(), "{line}");
                assert!(event.get("timestamp").is_some());
                count += 1;
            }
            types.push(stem);
        }
    }
    types.sort();
    (count, types)
}
