//! Acceptance for hot reload: a real `weir` process with continuous traffic while its pipeline
//! file is rewritten; unchanged components keep running; invalid edits are refused; editor-style
//! and in-place saves reload once each; a `data_dir` change is refused without partial apply.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use weir_tests::{
    free_port, http_get, metric, missing_and_duplicates, numbered_lines_in, wait_for_metrics, Weir,
};

/// Appends numbered lines (`line-<n> …`) to a file at a steady rate until stopped.
struct Writer {
    written: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    fn start(path: PathBuf, lines_per_sec: usize) -> Self {
        let written = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (w, s) = (Arc::clone(&written), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .unwrap();
            let per_tick = (lines_per_sec / 100).max(1);
            let mut n = 0;
            while !s.load(Ordering::Relaxed) {
                let mut chunk = String::new();
                for _ in 0..per_tick {
                    chunk.push_str(&format!("line-{n:09} {}\n", "x".repeat(40)));
                    n += 1;
                }
                file.write_all(chunk.as_bytes()).unwrap();
                w.store(n, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        Self {
            written,
            stop,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        self.written.load(Ordering::Relaxed)
    }
}

fn reloads(port: u16, result: &str) -> f64 {
    http_get(port, "/metrics")
        .and_then(|(_, text)| metric(&text, "weir_config_reloads_total", &[("result", result)]))
        .unwrap_or(0.0)
}

/// Waits until the reload counter for `result` reaches `n`.
fn wait_reloads(port: u16, result: &str, n: f64, weir: &Weir) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while reloads(port, result) < n {
        assert!(
            Instant::now() < deadline,
            "{result} reloads stuck at {} (want {n})\n{}",
            reloads(port, result),
            weir.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn sent(port: u16, component: &str) -> f64 {
    http_get(port, "/metrics")
        .and_then(|(_, text)| {
            metric(
                &text,
                "weir_component_sent_events_total",
                &[("component_id", component)],
            )
        })
        .unwrap_or(0.0)
}

fn start_time(port: u16, component: &str) -> f64 {
    http_get(port, "/metrics")
        .and_then(|(_, text)| {
            metric(
                &text,
                "weir_component_start_timestamp_seconds",
                &[("component_id", component)],
            )
        })
        .unwrap_or(f64::NAN)
}

/// The basic pipeline: `file` source `in` on `input.log` → `file` sink `out` at `path`.
fn file_to_file(data_dir: &str, port: u16, path: &str) -> String {
    format!(
        "data_dir = \"{data_dir}\"\napi.address = \"127.0.0.1:{port}\"\n\
         [sources.in]\ntype = \"file\"\ninclude = [\"input.log\"]\n\
         [sinks.out]\ntype = \"file\"\ninputs = [\"in\"]\npath = \"{path}\"\n"
    )
}

/// Waits until sink `out` has delivered something.
fn wait_flowing(port: u16) {
    wait_for_metrics(port, Duration::from_secs(30), |t| {
        metric(
            t,
            "weir_component_sent_events_total",
            &[("component_id", "out")],
        )
        .unwrap_or(0.0)
            > 0.0
    });
}

/// Waits until the API serves the reload metrics (weir is up).
fn wait_up(port: u16) {
    wait_for_metrics(port, Duration::from_secs(30), |t| {
        metric(t, "weir_config_reloads_total", &[("result", "success")]).is_some()
    });
}

/// Saves the way most editors do: a temporary file renamed over the original.
fn save_by_rename(path: &Path, text: &str) {
    let temp = path.with_extension("toml.tmp~");
    std::fs::write(&temp, text).unwrap();
    std::fs::rename(&temp, path).unwrap();
}

/// Waits until every one of `0..written` is somewhere under `out`.
fn wait_all_delivered(out: &Path, written: usize, weir: &Weir) -> Vec<usize> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let numbers = numbered_lines_in(out);
        let (missing, _) = missing_and_duplicates(&numbers, written);
        if missing.is_empty() {
            return numbers;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {written} lines never arrived (first {:?})\n{}",
            missing.len(),
            &missing[..missing.len().min(5)],
            weir.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The pipelines the traffic test cycles through.
fn variant(step: usize, port: u16) -> String {
    let head = format!(
        "data_dir = \"data\"\napi.address = \"127.0.0.1:{port}\"\n[sources.in]\ntype = \"file\"\ninclude = [\"input.log\"]\n"
    );
    // A source option that changes every 5th step: the source is replaced.
    let source_option = format!("glob_interval_ms = {}\n", 200 + (step / 5) * 10);
    let with_transform = step % 4 == 1 || step % 4 == 2;
    let sink_input = if with_transform { "keep" } else { "in" };
    let path = format!("out/{}.ndjson", ["a", "b", "c"][step % 3]);
    let buffer = if step.is_multiple_of(2) { 500 } else { 200 };
    let mut text = head + &source_option;
    if with_transform {
        text.push_str("[transforms.keep]\ntype = \"sample\"\ninputs = [\"in\"]\nrate = 1\n");
    }
    // A second sink whose input is rewired between the source and the transform.
    let audit_input = if with_transform && step % 4 == 2 {
        "keep"
    } else {
        "in"
    };
    text.push_str(&format!(
        "[sinks.out]\ntype = \"file\"\ninputs = [\"{sink_input}\"]\npath = \"{path}\"\nbuffer.max_events = {buffer}\n\
         [sinks.audit]\ntype = \"file\"\ninputs = [\"{audit_input}\"]\npath = \"audit/all.ndjson\"\n"
    ));
    text
}

#[test]
fn twenty_rewrites_under_traffic_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let pipeline = dir.path().join("pipeline.toml");
    std::fs::write(&pipeline, variant(0, port)).unwrap();
    let writer = Writer::start(dir.path().join("input.log"), 2_000);
    let mut weir = Weir::start(dir.path(), &["run", "-c", "pipeline.toml"], &[]);
    wait_flowing(port);
    let started = Instant::now();
    for step in 1..=20 {
        let text = variant(step, port);
        if step.is_multiple_of(2) {
            save_by_rename(&pipeline, &text);
        } else {
            std::fs::write(&pipeline, &text).unwrap();
        }
        wait_reloads(port, "success", step as f64, &weir);
        std::thread::sleep(Duration::from_millis(150));
    }
    let reload_secs = started.elapsed().as_secs_f64();
    let written = writer.finish();
    let main = wait_all_delivered(&dir.path().join("out"), written, &weir);
    let audit = wait_all_delivered(&dir.path().join("audit"), written, &weir);
    weir.signal(libc::SIGTERM);
    let status = weir.wait(Duration::from_secs(30));
    assert!(status.success(), "{}", weir.log_text());
    assert_eq!(reloads(port, "failure"), 0.0);
    let (_, main_duplicates) = missing_and_duplicates(&main, written);
    let (_, audit_duplicates) = missing_and_duplicates(&audit, written);
    eprintln!(
        "reload under traffic: {written} lines written during 20 reloads in {reload_secs:.1} s; \
         all delivered to both sinks; duplicates: out {main_duplicates}, audit {audit_duplicates} \
         (the source was replaced 4 times and re-read from its checkpoint)"
    );
    let log = weir.log_text();
    assert_eq!(log.matches("pipeline reloaded").count(), 20, "{log}");
}

#[test]
fn unchanged_components_are_not_restarted_and_changed_ones_are() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let pipeline = dir.path().join("pipeline.toml");
    let text = |audit_path: &str| {
        file_to_file("data", port, "out/lines.ndjson")
            + &format!(
                "[sinks.audit]\ntype = \"file\"\ninputs = [\"in\"]\npath = \"{audit_path}\"\n"
            )
    };
    std::fs::write(&pipeline, text("audit/a.ndjson")).unwrap();
    let writer = Writer::start(dir.path().join("input.log"), 1_000);
    let weir = Weir::start(dir.path(), &["run", "-c", "pipeline.toml"], &[]);
    wait_flowing(port);
    let before = [
        start_time(port, "in"),
        start_time(port, "out"),
        start_time(port, "audit"),
    ];
    let sent_before = sent(port, "out");
    std::thread::sleep(Duration::from_millis(50));
    std::fs::write(&pipeline, text("audit/b.ndjson")).unwrap();
    wait_reloads(port, "success", 1.0, &weir);
    std::thread::sleep(Duration::from_millis(300));
    let after = [
        start_time(port, "in"),
        start_time(port, "out"),
        start_time(port, "audit"),
    ];
    assert_eq!(before[0], after[0], "the unchanged source kept its task");
    assert_eq!(
        before[1], after[1],
        "the unchanged sink kept its task and buffer"
    );
    assert!(after[2] > before[2], "the changed sink was replaced");
    // The unchanged sink's counters continued (same instance), and traffic still flows.
    assert!(sent(port, "out") > sent_before);
    let written = writer.finish();
    wait_all_delivered(&dir.path().join("out"), written, &weir);
    wait_all_delivered(&dir.path().join("audit"), written, &weir);
}

#[test]
fn invalid_edits_keep_the_old_pipeline_flowing_until_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let pipeline = dir.path().join("pipeline.toml");
    let good = file_to_file("data", port, "out/lines.ndjson");
    std::fs::write(&pipeline, &good).unwrap();
    let writer = Writer::start(dir.path().join("input.log"), 1_000);
    let weir = Weir::start(dir.path(), &["run", "-c", "pipeline.toml"], &[]);
    wait_flowing(port);
    let broken = [
        ("syntax error", good.replace("[sinks.out]", "[sinks.out")),
        (
            "unknown component type",
            good.replace("type = \"file\"\ninputs", "type = \"fiel\"\ninputs"),
        ),
        (
            "input cycle",
            good.clone() + "[transforms.a]\ntype = \"sample\"\ninputs = [\"b\"]\nrate = 1\n[transforms.b]\ntype = \"sample\"\ninputs = [\"a\"]\nrate = 1\n",
        ),
        (
            "unknown key",
            good.replace("path = \"out/lines.ndjson\"", "path = \"out/other.ndjson\"\npaht = 1"),
        ),
    ];
    for (n, (what, text)) in broken.iter().enumerate() {
        let flowing = sent(port, "out");
        std::fs::write(&pipeline, text).unwrap();
        wait_reloads(port, "failure", (n + 1) as f64, &weir);
        let metrics = http_get(port, "/metrics").unwrap().1;
        assert_eq!(
            metric(&metrics, "weir_config_last_reload_successful", &[]),
            Some(0.0),
            "{what}"
        );
        std::thread::sleep(Duration::from_millis(200));
        assert!(
            sent(port, "out") > flowing,
            "{what}: the old pipeline still flows"
        );
    }
    let log = weir.log_text();
    assert!(
        log.contains("pipeline.toml:"),
        "errors name the file and line:\n{log}"
    );
    assert!(log.contains("reload refused"), "{log}");
    assert_eq!(reloads(port, "success"), 0.0);
    // Fixing the file reloads successfully (and the edit with the unknown key changed no path).
    std::fs::write(&pipeline, good.replace("lines.ndjson", "fixed.ndjson")).unwrap();
    wait_reloads(port, "success", 1.0, &weir);
    let metrics = http_get(port, "/metrics").unwrap().1;
    assert_eq!(
        metric(&metrics, "weir_config_last_reload_successful", &[]),
        Some(1.0)
    );
    let written = writer.finish();
    wait_all_delivered(&dir.path().join("out"), written, &weir);
    assert!(
        !dir.path().join("out/other.ndjson").exists(),
        "no partial apply"
    );
    assert!(dir.path().join("out/fixed.ndjson").exists());
}

#[test]
fn each_save_reloads_exactly_once_and_sighup_reloads() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let pipeline = dir.path().join("pipeline.toml");
    let text = |n: usize| file_to_file("data", port, &format!("out/{n}.ndjson"));
    std::fs::write(&pipeline, text(0)).unwrap();
    std::fs::write(dir.path().join("input.log"), "").unwrap();
    let mut weir = Weir::start(dir.path(), &["run", "-c", "pipeline.toml"], &[]);
    wait_up(port);
    for n in 1..=6usize {
        if n.is_multiple_of(2) {
            save_by_rename(&pipeline, &text(n));
        } else {
            std::fs::write(&pipeline, text(n)).unwrap();
        }
        wait_reloads(port, "success", n as f64, &weir);
        // Well past the debounce: a second reload for the same save would show up here.
        std::thread::sleep(Duration::from_millis(800));
        assert_eq!(reloads(port, "success"), n as f64, "one reload per save");
    }
    weir.signal(libc::SIGHUP);
    wait_reloads(port, "success", 7.0, &weir);
    weir.signal(libc::SIGTERM);
    assert!(weir.wait(Duration::from_secs(30)).success());
}

#[test]
fn a_data_dir_change_is_refused_and_nothing_is_applied() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let pipeline = dir.path().join("pipeline.toml");
    let text = |data_dir: &str, path: &str| file_to_file(data_dir, port, path);
    std::fs::write(&pipeline, text("data", "out/a.ndjson")).unwrap();
    let writer = Writer::start(dir.path().join("input.log"), 1_000);
    let weir = Weir::start(dir.path(), &["run", "-c", "pipeline.toml"], &[]);
    wait_flowing(port);
    std::fs::write(&pipeline, text("elsewhere", "out/b.ndjson")).unwrap();
    wait_reloads(port, "failure", 1.0, &weir);
    let log = weir.log_text();
    assert!(log.contains("`data_dir` changed"), "{log}");
    assert!(log.contains("needs a restart"), "{log}");
    let written = writer.finish();
    wait_all_delivered(&dir.path().join("out"), written, &weir);
    assert!(
        !dir.path().join("out/b.ndjson").exists(),
        "no partial apply"
    );
    assert!(!dir.path().join("elsewhere").exists());
}

#[test]
fn a_new_api_address_is_bound_and_the_old_one_released() {
    let dir = tempfile::tempdir().unwrap();
    let (old_port, new_port) = (free_port(), free_port());
    let pipeline = dir.path().join("pipeline.toml");
    let text = |port: u16| file_to_file("data", port, "out/lines.ndjson");
    std::fs::write(&pipeline, text(old_port)).unwrap();
    std::fs::write(dir.path().join("input.log"), "").unwrap();
    let weir = Weir::start(dir.path(), &["run", "-c", "pipeline.toml"], &[]);
    wait_up(old_port);
    std::fs::write(&pipeline, text(new_port)).unwrap();
    wait_reloads(new_port, "success", 1.0, &weir);
    assert!(
        http_get(old_port, "/metrics").is_none(),
        "the old address is released"
    );
}
