//! Reload benchmark: a 50-component pipeline with events flowing, reloaded repeatedly.
//!
//! `cargo run --release -p weir-benches --bin weir-reload -- [--rounds N]`
//!
//! Pipeline: one file source fed at ~20,000 lines/s → 24 `sample` transforms (rate 1) → 24 file
//! sinks, plus a `blackhole` sink on the source: 50 components. Each round changes 10-15 sinks
//! paths, 5 transforms' settings and rewires 5 sinks, then sends SIGHUP. Reported per round: the
//! in-process reload time (`weir_config_reload_duration_seconds`: load, validate, build, apply) and
//! the time until every replaced component has drained its predecessor and started
//! (`weir_component_start_timestamp_seconds`). At the end every written line must have reached
//! the blackhole sink.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};

const TRANSFORMS: usize = 24;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn http_get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    Some(text.split_once("\r\n\r\n")?.1.to_string())
}

/// The value of the first sample of `name` whose line contains every `labels` part.
fn metric(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .filter(|l| labels.iter().all(|p| l.contains(p)))
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
}

fn pipeline(port: u16, round: usize) -> String {
    let mut text = format!(
        "data_dir = \"data\"\napi.address = \"127.0.0.1:{port}\"\n\
         [sources.in]\ntype = \"file\"\ninclude = [\"input.log\"]\n\
         [sinks.all]\ntype = \"blackhole\"\ninputs = [\"in\"]\n"
    );
    for i in 0..TRANSFORMS {
        // Rounds change a rotating set: 5 transforms' settings, 10 sinks' paths, 5 sinks' inputs.
        let shift = round * 5;
        let transform_changed = (i + TRANSFORMS - shift % TRANSFORMS) % TRANSFORMS < 5;
        let key = if transform_changed && round % 2 == 1 {
            "\nkey_field = \"message\""
        } else {
            ""
        };
        text.push_str(&format!(
            "[transforms.t{i}]\ntype = \"sample\"\ninputs = [\"in\"]\nrate = 1{key}\n"
        ));
        let path_generation = if (i + shift) % TRANSFORMS < 10 {
            round
        } else {
            0
        };
        let input = if (i + shift + 10) % TRANSFORMS < 5 && round % 2 == 1 {
            "in".to_string()
        } else {
            format!("t{i}")
        };
        text.push_str(&format!(
            "[sinks.s{i}]\ntype = \"file\"\ninputs = [\"{input}\"]\npath = \"out/{i}-{path_generation}.ndjson\"\n"
        ));
    }
    text
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// `--rounds N` (default 10).
fn rounds_arg() -> usize {
    let args: Vec<String> = std::env::args().skip(1).collect();
    args.windows(2)
        .find(|w| w[0] == "--rounds")
        .and_then(|w| w[1].parse().ok())
        .unwrap_or(10)
}

/// Builds the release `weir` binary the benchmark runs.
fn build_weir(root: &Path) -> Result<()> {
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "build",
            "--release",
            "--quiet",
            "-p",
            "weir",
            "--bin",
            "weir",
        ])
        .current_dir(root)
        .status()?;
    if !status.success() {
        bail!("building weir failed");
    }
    Ok(())
}

/// Appends ~20,000 lines/s to `path` until `stop` is set; `written` counts the lines written.
fn spawn_writer(
    path: PathBuf,
    written: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Result<()>> {
    std::thread::spawn(move || -> Result<()> {
        let mut file = std::fs::OpenOptions::new().append(true).open(path)?;
        let mut n = 0usize;
        while !stop.load(Ordering::Relaxed) {
            let mut chunk = String::new();
            for _ in 0..200 {
                chunk.push_str(&format!("line-{n:09} {}\n", "x".repeat(60)));
                n += 1;
            }
            file.write_all(chunk.as_bytes())?;
            written.store(n, Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    })
}

/// Events the blackhole sink `all` has received so far (0 if the API does not answer).
fn delivered(port: u16) -> f64 {
    http_get(port, "/metrics")
        .and_then(|t| {
            metric(
                &t,
                "weir_component_sent_events_total",
                &["component_id=\"all\""],
            )
        })
        .unwrap_or(0.0)
}

/// Starts `weir` in `work` and waits until events reach the blackhole sink.
fn start_weir(root: &Path, work: &Path, port: u16) -> Result<Child> {
    let weir = Command::new(root.join("target/release/weir"))
        .args(["run", "-c", "pipeline.toml", "--no-watch"])
        .current_dir(work)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(work.join("weir.log"))?)
        .spawn()
        .context("starting weir")?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while delivered(port) == 0.0 {
        if Instant::now() > deadline {
            bail!(
                "weir did not start flowing; see {}",
                work.join("weir.log").display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(weir)
}

/// Per-round measurements.
#[derive(Default)]
struct Rounds {
    apply_ms: Vec<f64>,
    settle_ms: Vec<f64>,
    replaced_sinks: Vec<usize>,
    /// `weir_config_reload_duration_seconds_sum` after the previous round.
    previous_sum: f64,
}

/// Waits for reload number `round` to be recorded; returns its in-process duration in ms.
fn wait_reload_recorded(
    port: u16,
    round: usize,
    started: Instant,
    previous_sum: &mut f64,
) -> Result<f64> {
    loop {
        let text = http_get(port, "/metrics").unwrap_or_default();
        let count =
            metric(&text, "weir_config_reloads_total", &["result=\"success\""]).unwrap_or(0.0);
        if count >= round as f64 {
            let sum = metric(&text, "weir_config_reload_duration_seconds_sum", &[]).unwrap_or(0.0);
            let apply_ms = (sum - *previous_sum) * 1000.0;
            *previous_sum = sum;
            return Ok(apply_ms);
        }
        if started.elapsed() > Duration::from_secs(30) {
            bail!("reload {round} not recorded");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Metric labels of the sinks that `round` replaces (changed other than in their inputs).
fn replaced_sinks(port: u16, round: usize) -> Vec<String> {
    let before = pipeline(port, round - 1);
    let after = pipeline(port, round);
    (0..TRANSFORMS)
        .filter(|i| {
            let header = format!("[sinks.s{i}]");
            let (old, new) = (section(&before, &header), section(&after, &header));
            old != new && strip_inputs(&old) != strip_inputs(&new)
        })
        .map(|i| format!("component_id=\"s{i}\""))
        .collect()
}

/// Waits until every component in `changed` started after `sent_at`; returns the ms since
/// `started`.
fn wait_started(
    port: u16,
    changed: &[String],
    sent_at: f64,
    started: Instant,
    before_starts: &str,
) -> Result<f64> {
    loop {
        let text = http_get(port, "/metrics").unwrap_or_default();
        let all_started = changed.iter().all(|label| {
            metric(&text, "weir_component_start_timestamp_seconds", &[label]).unwrap_or(0.0)
                >= sent_at
        });
        if all_started {
            return Ok(started.elapsed().as_secs_f64() * 1000.0);
        }
        if started.elapsed() > Duration::from_secs(60) {
            bail!("replaced components did not start; before:\n{before_starts}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// One round: rewrites the pipeline, sends SIGHUP and measures until the reload is applied and
/// every replaced component runs.
fn reload_round(work: &Path, port: u16, weir: &Child, round: usize, r: &mut Rounds) -> Result<()> {
    std::thread::sleep(Duration::from_millis(500));
    std::fs::write(work.join("pipeline.toml"), pipeline(port, round))?;
    let before_starts = http_get(port, "/metrics").unwrap_or_default();
    let sent_at = now();
    let started = Instant::now();
    // SAFETY: kill(2) on our own child with a valid signal.
    unsafe { libc::kill(weir.id() as i32, libc::SIGHUP) };
    // Wait for the reload to be recorded, then for every component whose start time moved
    // (the replaced ones) to have started after the signal.
    let apply_ms = wait_reload_recorded(port, round, started, &mut r.previous_sum)?;
    r.apply_ms.push(apply_ms);
    let changed = replaced_sinks(port, round);
    r.replaced_sinks.push(changed.len());
    let settle_ms = wait_started(port, &changed, sent_at, started, &before_starts)?;
    r.settle_ms.push(settle_ms);
    Ok(())
}

/// Waits until the blackhole sink has every one of the `total` lines written.
fn wait_delivered(port: u16, total: f64) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let delivered = delivered(port);
        if delivered >= total {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("blackhole got {delivered} of {total} lines");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Prints the median and maximum of both measurements.
fn report(rounds: usize, total: f64, r: Rounds) {
    let stats = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[v.len() - 1])
    };
    let (apply_median, apply_max) = stats(r.apply_ms);
    let (settle_median, settle_max) = stats(r.settle_ms);
    let replaced_sinks = r.replaced_sinks;
    println!(
        "reload of a 50-component pipeline under ~20,000 events/s, {rounds} rounds (15-20 components replaced, ~5 rewired each):\n  \
         load+validate+build+apply: median {apply_median:.1} ms, max {apply_max:.1} ms\n  \
         SIGHUP → every replacement running: median {settle_median:.1} ms, max {settle_max:.1} ms\n  \
         {total} lines written, all delivered; sinks replaced per round: {replaced_sinks:?}"
    );
}

fn main() -> Result<()> {
    let rounds = rounds_arg();
    let root = root();
    build_weir(&root)?;
    let work = root.join("target/bench-run/reload");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    std::fs::write(work.join("pipeline.toml"), pipeline(port, 0))?;
    std::fs::write(work.join("input.log"), "")?;

    // Steady traffic.
    let written = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = spawn_writer(
        work.join("input.log"),
        Arc::clone(&written),
        Arc::clone(&stop),
    );
    let mut weir = start_weir(&root, &work, port)?;

    let mut measured = Rounds::default();
    for round in 1..=rounds {
        reload_round(&work, port, &weir, round, &mut measured)?;
    }
    stop.store(true, Ordering::Relaxed);
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("writer panicked"))??;
    let total = written.load(Ordering::Relaxed) as f64;
    wait_delivered(port, total)?;
    // SAFETY: kill(2) on our own child with a valid signal.
    unsafe { libc::kill(weir.id() as i32, libc::SIGTERM) };
    weir.wait()?;
    report(rounds, total, measured);
    Ok(())
}

/// The text of one table of a pipeline file.
fn section(text: &str, header: &str) -> String {
    text.split("\n[")
        .find(|s| format!("[{s}").starts_with(header) || s.starts_with(header))
        .unwrap_or_default()
        .to_string()
}

fn strip_inputs(section: &str) -> String {
    section
        .lines()
        .filter(|l| !l.starts_with("inputs"))
        .collect::<Vec<_>>()
        .join("\n")
}
