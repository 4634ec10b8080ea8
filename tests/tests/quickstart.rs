//! Acceptance: `weir` with no arguments runs the embedded quickstart; its metrics show, for every
//! component, received and sent counts equal to the number of sample lines.

use std::time::Duration;
use weir_tests::{free_port, metric, wait_for_metrics, workspace_root, Weir};

fn sample_lines() -> usize {
    let dir = workspace_root().join("pipelines/samples");
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap().lines().count())
        .sum()
}

#[test]
fn quickstart_counts_every_sample_line_in_every_component() {
    let lines = sample_lines() as f64;
    assert!(lines > 0.0);
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
        sent(t, "out") == Some(lines)
    });
    for id in ["samples", "out"] {
        assert_eq!(
            received(&text, id),
            Some(lines),
            "{id} received\n{text}\n{}",
            weir.log_text()
        );
        assert_eq!(sent(&text, id), Some(lines), "{id} sent");
    }
    assert!(text.contains("weir_build_info"));
    assert!(text.contains("weir_uptime_seconds"));
    assert_eq!(
        weir_tests::http_get(port, "/health").map(|(s, _)| s),
        Some(200)
    );

    weir.signal(libc::SIGTERM);
    let status = weir.wait(Duration::from_secs(30));
    assert!(status.success(), "exit {status:?}\n{}", weir.log_text());
    let written = weir_tests::numbered_lines_in(dir.path()).len();
    assert_eq!(written, 0, "samples are not numbered lines");
    let out: usize = walk(&dir.path().join("weir-out"));
    assert_eq!(
        out as f64, lines,
        "every sample line is in the NDJSON output"
    );
    assert!(
        weir.log_text().contains("Weir quickstart"),
        "prints where output and metrics are"
    );
}

fn walk(dir: &std::path::Path) -> usize {
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            count += walk(&path);
        } else {
            for line in std::fs::read_to_string(&path).unwrap().lines() {
                let event: serde_json::Value = serde_json::from_str(line).expect("NDJSON");
                assert!(event.get("message").is_some());
                count += 1;
            }
        }
    }
    count
}
