//! `weir-sink-throughput`: events/s and MB/s of the `kafka` and `elasticsearch` sinks into real
//! servers (tansu, osmem-server from `target/test-venv`, see `tests/services/install.sh`), from a
//! pre-parsed NDJSON file (file source → sink, no transform), with batch size and concurrency
//! settings. Reports Weir's CPU and the server's CPU next to wall time, which says where the
//! bottleneck is.
//!
//! ```sh
//! cargo build --release -p weir
//! cargo run --release -p weir-benches --bin weir-sink-throughput -- kafka --events 500000 --batch 10000
//! cargo run --release -p weir-benches --bin weir-sink-throughput -- elasticsearch --events 100000 --batch 1000 --concurrency 4
//! ```

use std::io::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use weir_tests::services::{osmem, tansu, Service};

mod cli;

/// CPU seconds (user + system) used so far by a process, from /proc.
fn process_cpu(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name (which is in parentheses and may contain spaces).
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of stat; here 0-based after the name: 11 and 12.
    // SAFETY: sysconf has no memory effects.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    (ticks(11) + ticks(12)) / hz.max(1.0)
}

/// Pre-parsed CloudTrail-like events, one JSON object per line (~330 bytes each).
fn generate(path: &Path, events: usize) -> Result<()> {
    if std::fs::metadata(path)
        .map(|m| m.len() > 0)
        .unwrap_or(false)
    {
        return Ok(());
    }
    std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))?;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for n in 0..events {
        writeln!(
            out,
            r#"{{"aws":{{"log_type":"cloudtrail"}},"timestamp":"2024-03-0{}T10:{:02}:{:02}Z","eventVersion":"1.08","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"eu-west-1","sourceIPAddress":"10.0.{}.{}","userAgent":"aws-sdk-go/1.44","requestID":"REQ{n:012}","eventID":"ev-{n}","readOnly":true,"recipientAccountId":"123456789012"}}"#,
            n % 5 + 1,
            n / 60 % 60,
            n % 60,
            n / 256 % 256,
            n % 256
        )?;
    }
    out.flush()?;
    Ok(())
}

struct Run {
    wall: f64,
    weir_cpu: f64,
    server_cpu: f64,
    rss_kib: u64,
}

fn run_weir(weir: &Path, dir: &Path, server: &Service) -> Result<Run> {
    let server_before = server_pid(server).map(process_cpu).unwrap_or(0.0);
    let start = Instant::now();
    let child = Command::new(weir)
        .args(["run", "--once", "--threads", "2", "-c", "pipeline.toml"])
        .current_dir(dir)
        .env("WEIR_LOG", "warn")
        .spawn()
        .context("spawn weir")?;
    let mut status = 0;
    // SAFETY: rusage is plain old data; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as i32;
    // SAFETY: waiting for our own child pid with valid pointers.
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed().as_secs_f64();
    if rc != pid || !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        bail!("weir failed (status {status})");
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Ok(Run {
        wall,
        weir_cpu: secs(usage.ru_utime) + secs(usage.ru_stime),
        server_cpu: server_pid(server).map(process_cpu).unwrap_or(0.0) - server_before,
        rss_kib: usage.ru_maxrss as u64,
    })
}

/// The server's pid, found by its port on the command line (the service wrapper keeps the child).
fn server_pid(server: &Service) -> Option<u32> {
    let needle = format!("127.0.0.1:{}", server.port);
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(&needle) && (cmdline.contains("tansu") || cmdline.contains("osmem")) {
            return Some(pid);
        }
    }
    None
}

fn http(server: &Service, method: &str, path: &str) -> Result<String> {
    use std::io::Read as _;
    let mut stream = std::net::TcpStream::connect(server.address())?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let sink = args.first().map(String::as_str).unwrap_or("kafka");
    let flag = |name: &str, default: usize| cli::flag(&args, name, default);
    let events = flag("--events", 200_000);
    let batch = flag("--batch", if sink == "kafka" { 10_000 } else { 1_000 });
    let concurrency = flag("--concurrency", 4);
    let runs = flag("--runs", 3).max(1);
    let root = cli::root();
    let weir = cli::release_weir(&root)?;
    let input = root.join(format!("target/bench-data/sink-events-{events}.ndjson"));
    generate(&input, events)?;
    let input_bytes = std::fs::metadata(&input)?.len();
    let work = root.join("target/bench-run/sink").join(sink);
    let mut results = Vec::new();
    let server = match sink {
        "kafka" => tansu(),
        "elasticsearch" => osmem(),
        other => bail!("unknown sink {other}: kafka or elasticsearch"),
    };
    for run in 0..runs {
        let _ = std::fs::remove_dir_all(&work);
        std::fs::create_dir_all(&work)?;
        let sink_config = match sink {
            "kafka" => format!(
                r#"type = "kafka"
bootstrap_servers = "{}"
topic = "bench-{run}"
encoding = "text"
compression = "zstd"
librdkafka_options = {{ "linger.ms" = "20", "batch.num.messages" = "{batch}" }}"#,
                server.address()
            ),
            _ => format!(
                r#"type = "elasticsearch"
endpoints = ["{}"]
index = "bench-{run}-%Y.%m.%d"
batch.max_events = {batch}
concurrency = {concurrency}"#,
                server.url()
            ),
        };
        std::fs::write(
            work.join("pipeline.toml"),
            format!(
                "data_dir = \"data\"\napi.enabled = false\n[sources.in]\ntype = \"file\"\ninclude = [\"{}\"]\nframing = \"newline\"\n[sinks.out]\ninputs = [\"in\"]\n{sink_config}\n",
                input.display()
            ),
        )?;
        let m = run_weir(&weir, &work, &server)?;
        let checkpoints = std::fs::read_to_string(work.join("data/in/checkpoints.json"))?;
        if !checkpoints.contains(&format!("\"offset\": {input_bytes}")) {
            bail!("not everything was acknowledged: {checkpoints}");
        }
        if sink == "elasticsearch" {
            http(&server, "POST", "/_refresh")?;
            let count = http(&server, "GET", &format!("/bench-{run}-*/_count"))?;
            if !count.contains(&format!("\"count\":{events}")) {
                bail!("expected {events} documents: {count}");
            }
        }
        eprintln!(
            "run {run}: {:.2} s wall, weir CPU {:.2} s, server CPU {:.2} s",
            m.wall, m.weir_cpu, m.server_cpu
        );
        results.push(m);
    }
    results.sort_by(|a, b| a.wall.total_cmp(&b.wall));
    let m = &results[results.len() / 2];
    println!(
        "sink {sink}: {events} events ({:.1} MB), batch {batch}{}, median of {runs} runs",
        input_bytes as f64 / 1e6,
        if sink == "kafka" {
            String::new()
        } else {
            format!(", concurrency {concurrency}")
        }
    );
    println!("  wall          {:.3} s", m.wall);
    println!("  events/s      {:.0}", events as f64 / m.wall);
    println!("  MB/s          {:.1}", input_bytes as f64 / 1e6 / m.wall);
    println!(
        "  weir CPU      {:.2} s ({:.0}% of wall)",
        m.weir_cpu,
        100.0 * m.weir_cpu / m.wall
    );
    println!(
        "  server CPU    {:.2} s ({:.0}% of wall)",
        m.server_cpu,
        100.0 * m.server_cpu / m.wall
    );
    println!("  weir peak RSS {:.1} MB", m.rss_kib as f64 / 1024.0);
    Ok(())
}
