//! Acceptance: SIGTERM during a busy run drains what was read: every line the source read before
//! the signal is in the output, nothing twice, the checkpoint covers exactly what was written, and
//! the exit code is 0.

use std::time::Duration;
use weir_tests::{
    free_port, metric, missing_and_duplicates, numbered_lines_in, wait_for_metrics,
    write_numbered_lines, Weir,
};

const LINES: usize = 2_000_000;
const WIDTH: usize = 60;
/// The busy run's pace (a rate-limited `blackhole` beside the file sink; the source's fan-out
/// waits for room in every consumer's buffer, so the slowest sets the pace): the two million
/// lines take at least 8 s however fast the machine, so the signal, sent within a scrape of the
/// 50,000th line, comes while the run is still busy by construction.
const PACE_EVENTS_PER_SEC: usize = 250_000;

#[test]
fn sigterm_drains_in_flight_events_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    write_numbered_lines(&dir.path().join("input.log"), LINES, WIDTH);
    let port = free_port();
    std::fs::write(
        dir.path().join("pipeline.toml"),
        format!(
            r#"
data_dir = "data"
api.address = "127.0.0.1:{port}"
[sources.in]
type = "file"
include = ["input.log"]
[sinks.out]
type = "file"
inputs = ["in"]
path = "out/lines.ndjson"
[sinks.pace]
type = "blackhole"
inputs = ["in"]
rate_limit_events_per_sec = {PACE_EVENTS_PER_SEC}
"#
        ),
    )
    .unwrap();
    let mut weir = Weir::start(dir.path(), &["run", "-c", "pipeline.toml"], &[]);
    let received = |t: &str| {
        metric(
            t,
            "weir_component_received_events_total",
            &[("component_id", "in")],
        )
        .unwrap_or(0.0)
    };
    let text = wait_for_metrics(port, Duration::from_secs(60), |t| received(t) >= 50_000.0);
    let read_before_signal = received(&text) as usize;
    assert!(
        read_before_signal >= 50_000,
        "source too slow to test\n{}",
        weir.log_text()
    );
    weir.signal(libc::SIGTERM);
    let status = weir.wait(Duration::from_secs(60));
    assert!(status.success(), "exit {status:?}\n{}", weir.log_text());
    let log = weir.log_text();

    let numbers = numbered_lines_in(&dir.path().join("out"));
    let written = numbers.len();
    let (missing, duplicates) = missing_and_duplicates(&numbers, written);
    eprintln!(
        "shutdown: {read_before_signal} read at signal, {written} written, {duplicates} duplicates"
    );
    assert!(
        written < LINES,
        "the run was still busy when the signal came"
    );
    assert!(
        written >= read_before_signal,
        "lines read before the signal are missing"
    );
    assert!(
        missing.is_empty() && duplicates == 0,
        "output is the exact prefix of the input"
    );
    // The source's own count at exit equals what was written: nothing read was dropped.
    assert!(
        log.contains(&format!("events={written}")),
        "source stop line missing or different:\n{log}"
    );
    let checkpoints = std::fs::read_to_string(dir.path().join("data/in/checkpoints.json")).unwrap();
    assert!(
        checkpoints.contains(&format!("\"offset\": {}", written * (WIDTH + 1))),
        "{checkpoints}"
    );
}

#[test]
fn shutdown_past_its_deadline_exits_non_zero_and_says_what_is_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    write_numbered_lines(&dir.path().join("input.log"), 5_000, 60);
    let port = free_port();
    std::fs::write(
        dir.path().join("pipeline.toml"),
        format!(
            r#"
data_dir = "data"
api.address = "127.0.0.1:{port}"
[sources.in]
type = "file"
include = ["input.log"]
[sinks.stuck]
type = "blackhole"
inputs = ["in"]
rate_limit_events_per_sec = 10
buffer.max_events = 1000
"#
        ),
    )
    .unwrap();
    let mut weir = Weir::start(
        dir.path(),
        &["run", "-c", "pipeline.toml", "--shutdown-timeout-secs", "2"],
        &[],
    );
    let buffered =
        |t: &str| metric(t, "weir_buffer_events", &[("component_id", "stuck")]).unwrap_or(0.0);
    wait_for_metrics(port, Duration::from_secs(30), |t| buffered(t) > 0.0);
    assert_eq!(
        weir_tests::http_get(port, "/health").map(|(s, _)| s),
        Some(200)
    );
    weir.signal(libc::SIGTERM);
    // While draining, /health says so.
    let mut saw_503 = false;
    for _ in 0..40 {
        if weir_tests::http_get(port, "/health").map(|(s, _)| s) == Some(503) {
            saw_503 = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let status = weir.wait(Duration::from_secs(30));
    let log = weir.log_text();
    assert!(saw_503, "/health did not turn 503 during shutdown");
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(
        log.contains("shutdown deadline passed; still in flight:"),
        "{log}"
    );
    assert!(log.contains("sink `stuck` with"), "{log}");
}
