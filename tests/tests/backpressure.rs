//! Acceptance: with a deliberately slow sink, backpressure reaches the file source: the sink's buffer
//! never holds more than its maximum, the process's memory stays bounded although the input is far
//! larger, and every line arrives.

use std::time::{Duration, Instant};
use weir_tests::{free_port, http_get, metric, wait_for_metrics, write_numbered_lines, Weir};

const LINES: usize = 200_000;
const WIDTH: usize = 400; // 80 MB of input: 200x the buffer, far more than the RSS bound below
const BUFFER: usize = 1_000;

#[test]
fn slow_sink_slows_the_source_without_growing_memory() {
    let dir = tempfile::tempdir().unwrap();
    write_numbered_lines(&dir.path().join("input.log"), LINES, WIDTH);
    let port = free_port();
    std::fs::write(
        dir.path().join("pipeline.toml"),
        format!(
            r#"
data_dir = "data"
[api]
address = "127.0.0.1:{port}"
[sources.in]
type = "file"
include = ["input.log"]
[sinks.slow]
type = "blackhole"
inputs = ["in"]
rate_limit_events_per_sec = 50000
buffer.max_events = {BUFFER}
"#
        ),
    )
    .unwrap();
    let mut weir = Weir::start(
        dir.path(),
        &["run", "-c", "pipeline.toml", "--threads", "2"],
        &[],
    );
    let buffered = |t: &str| metric(t, "weir_buffer_events", &[("component_id", "slow")]);
    let delivered = |t: &str| {
        metric(
            t,
            "weir_component_sent_events_total",
            &[("component_id", "slow")],
        )
    };
    let started = Instant::now();
    let (mut max_buffered, mut max_rss_kib, mut max_anon_kib, mut samples) =
        (0.0f64, 0u64, 0u64, 0);
    let mut final_text = String::new();
    while started.elapsed() < Duration::from_secs(120) {
        if let Some((200, text)) = http_get(port, "/metrics") {
            samples += 1;
            max_buffered = max_buffered.max(buffered(&text).unwrap_or(0.0));
            assert_eq!(
                metric(&text, "weir_buffer_max_events", &[("component_id", "slow")]),
                Some(BUFFER as f64)
            );
            if delivered(&text) == Some(LINES as f64) {
                final_text = text;
                break;
            }
        }
        max_rss_kib = max_rss_kib.max(weir.rss_kib().unwrap_or(0));
        max_anon_kib = max_anon_kib.max(weir.anon_rss_kib().unwrap_or(0));
        std::thread::sleep(Duration::from_millis(25));
    }
    let elapsed = started.elapsed();
    eprintln!(
        "backpressure: {samples} scrapes, max buffered {max_buffered} / {BUFFER}, max RSS {} MiB (anonymous {} MiB), {LINES} lines in {elapsed:?}",
        max_rss_kib / 1024,
        max_anon_kib / 1024
    );
    assert_eq!(
        delivered(&final_text),
        Some(LINES as f64),
        "every line arrives\n{}",
        weir.log_text()
    );
    assert_eq!(
        metric(
            &final_text,
            "weir_component_received_events_total",
            &[("component_id", "in")]
        ),
        Some(LINES as f64)
    );
    assert!(
        max_buffered <= BUFFER as f64,
        "buffer gauge exceeded its max: {max_buffered}"
    );
    assert!(max_buffered > 0.0, "the buffer was used at all");
    assert!(samples > 20, "the run was long enough to observe");
    // The input is 80 MB; a source that did not stop reading would hold most of it. Measured as
    // anonymous memory: the whole RSS is mostly the (debug) binary's own pages (~36 MiB of ~47),
    // which grow with the binary, not with what is buffered.
    assert!(
        max_anon_kib < 24 * 1024,
        "allocated memory grew to {} MiB (RSS {} MiB)",
        max_anon_kib / 1024,
        max_rss_kib / 1024
    );
    // At 50,000 events/s the sink needs ~4 s: the source was held back, not the sink skipped.
    assert!(
        elapsed >= Duration::from_secs(3),
        "finished too fast for a rate-limited sink: {elapsed:?}"
    );
    let _ = wait_for_metrics(port, Duration::from_millis(1), |_| true);
    weir.signal(libc::SIGTERM);
    assert!(weir.wait(Duration::from_secs(30)).success());
}
