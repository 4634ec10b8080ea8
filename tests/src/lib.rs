//! Support for Weir's end-to-end tests: build and start real `weir` processes, signal them, scrape
//! their metrics, and read what they wrote.

pub mod fault_proxy;
pub mod kafka;
pub mod kafka_proxy;
pub mod moto_aws;
pub mod services;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A current-thread tokio runtime, for the AWS SDK and Kafka admin calls the tests make.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the workspace")
        .to_path_buf()
}

/// Path to a `weir` binary built from this checkout (built once per test process).
///
/// `WEIR_BIN` names one explicitly: `tests/run.sh` points it at the `target/debug/weir` that
/// `cargo test --workspace` itself builds (the `weir` package has integration tests, so its binary
/// is built with them). Without it each test process runs a nested `cargo build -p weir`, which
/// was seen rebuilding for minutes per test binary once the C-based dependencies (librdkafka,
/// aws-lc) arrived.
pub fn weir_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Ok(path) = std::env::var("WEIR_BIN") {
            let bin = PathBuf::from(path);
            assert!(bin.is_file(), "WEIR_BIN={} is not a file", bin.display());
            return bin;
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--quiet", "-p", "weir", "--bin", "weir"])
            .current_dir(workspace_root())
            .status()
            .expect("cargo build runs");
        assert!(status.success(), "building weir failed");
        let target = std::env::var("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| workspace_root().join("target"));
        let bin = target.join("debug").join("weir");
        assert!(bin.is_file(), "{} missing", bin.display());
        bin
    })
    .clone()
}

/// Ports handed out by [`free_port`]: below Linux's ephemeral range (32768–60999), so no outgoing
/// connection can take a server's port while the server is down for a test; a client retrying
/// a stopped server's ephemeral port can even connect to itself and keep the port (the TCP
/// self-connect), which made restarts on the same port fail with "address in use".
const PORTS: std::ops::Range<u16> = 20_000..32_000;

/// A free TCP port on loopback, from [`PORTS`], never the same twice in one process.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let span = u32::from(PORTS.end - PORTS.start);
    // Test binaries run one after another; spreading their starts avoids reusing a port that a
    // previous binary's server may still hold.
    let offset = std::process::id().wrapping_mul(7919) % span;
    for _ in 0..span {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = PORTS.start + ((offset + n) % span) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in {PORTS:?}");
}

/// A running `weir` process.
pub struct Weir {
    /// The child process.
    pub child: Child,
    /// Where its stderr goes.
    pub log: PathBuf,
}

impl Weir {
    /// Starts `weir` with `args` in `dir`; stderr goes to `dir/weir-<n>.log`.
    pub fn start(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Self {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log = dir.join(format!("weir-{n}.log"));
        let stderr = std::fs::File::create(&log).expect("log file");
        let mut command = Command::new(weir_bin());
        command
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        for (k, v) in envs {
            command.env(k, v);
        }
        let child = command.spawn().expect("weir starts");
        Self { child, log }
    }

    /// Sends a signal (SIGTERM, SIGKILL, …).
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) with a pid we own and a valid signal number has no memory effects.
        let rc = unsafe { libc::kill(self.child.id() as i32, signal) };
        assert_eq!(rc, 0, "kill failed");
    }

    /// Waits for exit up to `timeout`; kills the process and panics if it does not exit.
    pub fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            if start.elapsed() > timeout {
                let _ = self.child.kill();
                panic!(
                    "weir did not exit within {timeout:?}; log:\n{}",
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The process's stderr so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Resident set size in KiB, from /proc.
    pub fn rss_kib(&self) -> Option<u64> {
        self.status_kib("VmRSS:")
    }

    /// The process's anonymous resident memory (`RssAnon`: what it allocated, without the
    /// binary's mapped pages, which grow with the binary and say nothing about buffering), in KiB.
    pub fn anon_rss_kib(&self) -> Option<u64> {
        self.status_kib("RssAnon:")
    }

    fn status_kib(&self, field: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status
            .lines()
            .find(|l| l.starts_with(field))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    }
}

impl Drop for Weir {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// GET a path over plain HTTP/1.1; `None` if the server does not answer.
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())?;
    Some((status, body))
}

/// The value of one metric sample whose labels include every `labels` pair.
pub fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .filter(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
}

/// Polls `/metrics` until `done` holds for the text or `timeout` passes; returns the last text.
pub fn wait_for_metrics(port: u16, timeout: Duration, done: impl Fn(&str) -> bool) -> String {
    let start = Instant::now();
    let mut last = String::new();
    while start.elapsed() < timeout {
        if let Some((200, body)) = http_get(port, "/metrics") {
            if done(&body) {
                return body;
            }
            last = body;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    last
}

/// Writes `count` numbered lines (`line-<n> <padding>`), each `width` bytes plus newline.
pub fn write_numbered_lines(path: &Path, count: usize, width: usize) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("create input"));
    for n in 0..count {
        let head = format!("line-{n:09} ");
        let pad = width.saturating_sub(head.len());
        out.write_all(head.as_bytes()).expect("write");
        out.write_all(&vec![b'x'; pad]).expect("write");
        out.write_all(b"\n").expect("write");
    }
    out.flush().expect("flush");
}

/// The line numbers (`line-<n>`) found in every file under `dir`, with repeats.
pub fn numbered_lines_in(dir: &Path) -> Vec<usize> {
    let mut numbers = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for line in text.lines() {
                if let Some(pos) = line.find("line-") {
                    if let Ok(n) = line[pos + 5..pos + 14].parse::<usize>() {
                        numbers.push(n);
                    }
                }
            }
        }
    }
    numbers
}

/// `(missing, duplicates)` of `0..expected` among `numbers`.
pub fn missing_and_duplicates(numbers: &[usize], expected: usize) -> (Vec<usize>, usize) {
    let mut seen = vec![0u32; expected];
    let mut duplicates = 0;
    for &n in numbers {
        if let Some(slot) = seen.get_mut(n) {
            if *slot > 0 {
                duplicates += 1;
            }
            *slot += 1;
        }
    }
    let missing = seen
        .iter()
        .enumerate()
        .filter(|(_, c)| **c == 0)
        .map(|(n, _)| n)
        .collect();
    (missing, duplicates)
}

/// POST `body` over plain HTTP/1.1 with extra headers; `(status, response body)`, `None` if the
/// server does not answer.
pub fn http_post(
    port: u16,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    stream.write_all(body).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())?;
    Some((status, body))
}

/// Waits until something listens on `port`.
pub fn wait_for_port(port: u16, timeout: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}
