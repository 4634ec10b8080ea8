//! A small fault-injecting HTTP/1.1 proxy to put in front of a real server (osmem-server) for the
//! paths the server cannot produce: whole-request `429`/`5xx`/`401` answers, per-item `429`s in
//! `_bulk` responses, and slowness. Everything not faulted is forwarded to the real server.
//!
//! One thread per client connection; each request is forwarded on a fresh upstream connection and
//! answered with `Connection: close` (clients reconnect), which keeps the proxy simple.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the proxy does to requests; change it at any time through [`FaultProxy::rules`].
#[derive(Default, Debug)]
pub struct Rules {
    /// Answer every request with this status (and a JSON error body) instead of forwarding it.
    pub answer_all: Option<u16>,
    /// The next `n` requests whose path starts with the prefix get this status, not forwarded.
    pub fail_next: Option<(String, usize, u16)>,
    /// `_bulk` documents whose source line contains the needle fail with this item status, this
    /// many times each (they are not forwarded while failing).
    pub fail_items: Option<(String, usize, u16)>,
    /// Delay before forwarding each request.
    pub delay: Duration,
}

/// What the proxy did.
#[derive(Default, Debug, Clone)]
pub struct Stats {
    /// Requests received.
    pub requests: usize,
    /// Requests answered with an injected status.
    pub request_faults: usize,
    /// `_bulk` items answered with an injected status.
    pub item_faults: usize,
}

#[derive(Default)]
struct State {
    rules: Rules,
    stats: Stats,
    item_failures: HashMap<String, usize>,
}

/// A running proxy on `127.0.0.1:<port>`, forwarding to `upstream` (`host:port`).
pub struct FaultProxy {
    /// The proxy's port.
    pub port: u16,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (`127.0.0.1:<port>`).
    pub fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let upstream = upstream.to_string();
        let (s, st) = (Arc::clone(&state), Arc::clone(&stop));
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (s, upstream) = (Arc::clone(&s), upstream.clone());
                std::thread::spawn(move || {
                    let _ = serve(conn, &upstream, &s);
                });
            }
        });
        Self { port, state, stop }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Changes the rules.
    pub fn rules(&self, change: impl FnOnce(&mut Rules)) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        change(&mut state.rules);
    }

    /// What happened so far.
    pub fn stats(&self) -> Stats {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .stats
            .clone()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn read_request(reader: &mut BufReader<TcpStream>) -> std::io::Result<Option<Request>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or("/").to_string();
    let mut headers = Vec::new();
    let mut length = 0;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            let (k, v) = (k.trim().to_string(), v.trim().to_string());
            if k.eq_ignore_ascii_case("content-length") {
                length = v.parse().unwrap_or(0);
            }
            headers.push((k, v));
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(Some(Request {
        method,
        path,
        headers,
        body,
    }))
}

fn respond(out: &mut TcpStream, status: u16, body: &[u8]) -> std::io::Result<()> {
    write!(
        out,
        "HTTP/1.1 {status} Injected\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    out.write_all(body)?;
    out.flush()
}

fn serve(conn: TcpStream, upstream: &str, state: &Mutex<State>) -> std::io::Result<()> {
    let mut out = conn.try_clone()?;
    let mut reader = BufReader::new(conn);
    let Some(mut request) = read_request(&mut reader)? else {
        return Ok(());
    };
    let lock = || state.lock().unwrap_or_else(|e| e.into_inner());
    let (delay, injected) = {
        let mut s = lock();
        s.stats.requests += 1;
        let mut injected = s.rules.answer_all;
        if injected.is_none() {
            if let Some((prefix, n, status)) = &mut s.rules.fail_next {
                if *n > 0 && request.path.starts_with(prefix.as_str()) {
                    *n -= 1;
                    injected = Some(*status);
                }
            }
        }
        if injected.is_some() {
            s.stats.request_faults += 1;
        }
        (s.rules.delay, injected)
    };
    if !delay.is_zero() {
        std::thread::sleep(delay);
    }
    if let Some(status) = injected {
        let body = format!(
            r#"{{"error":{{"type":"injected","reason":"fault proxy answered {status}"}},"status":{status}}}"#
        );
        return respond(&mut out, status, body.as_bytes());
    }
    // Per-item faults on bulk requests: take the faulted documents out, forward the rest, then
    // put injected items back in their places.
    let mut faulted: Vec<Option<u16>> = Vec::new();
    if request.method == "POST" && request.path.starts_with("/_bulk") {
        let gz = request
            .headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("content-encoding") && v.contains("gzip"));
        if gz {
            let mut plain = Vec::new();
            flate2::read::MultiGzDecoder::new(&request.body[..]).read_to_end(&mut plain)?;
            request.body = plain;
            request
                .headers
                .retain(|(k, _)| !k.eq_ignore_ascii_case("content-encoding"));
        }
        let text = String::from_utf8_lossy(&request.body).into_owned();
        let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
        let mut kept = String::new();
        let mut s = lock();
        for pair in lines.chunks(2) {
            let source = pair.get(1).copied().unwrap_or_default();
            let mut fault = None;
            if let Some((needle, times, status)) = &s.rules.fail_items {
                if source.contains(needle.as_str()) {
                    let (times, status) = (*times, *status);
                    let seen = s.item_failures.entry(source.to_string()).or_insert(0);
                    if *seen < times {
                        *seen += 1;
                        fault = Some(status);
                    }
                }
            }
            if fault.is_some() {
                s.stats.item_faults += 1;
            } else {
                for l in pair {
                    kept.push_str(l);
                    kept.push('\n');
                }
            }
            faulted.push(fault);
        }
        drop(s);
        request.body = kept.into_bytes();
    }
    let injected_items = faulted.iter().any(Option::is_some);
    let (status, body) = if injected_items && request.body.is_empty() {
        (200, br#"{"errors":false,"items":[],"took":0}"#.to_vec())
    } else {
        forward(upstream, &request)?
    };
    if !injected_items {
        return respond(&mut out, status, &body);
    }
    let mut response: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => return respond(&mut out, status, &body),
    };
    let forwarded: Vec<serde_json::Value> =
        response["items"].as_array().cloned().unwrap_or_default();
    let mut forwarded = forwarded.into_iter();
    let items: Vec<serde_json::Value> = faulted
        .iter()
        .map(|fault| match fault {
            Some(status) => serde_json::json!({ "index": {
                "status": status,
                "error": { "type": "es_rejected_execution_exception", "reason": "injected by the fault proxy" }
            }}),
            None => forwarded.next().unwrap_or(serde_json::Value::Null),
        })
        .collect();
    response["items"] = serde_json::Value::Array(items);
    response["errors"] = serde_json::Value::Bool(true);
    let body = serde_json::to_vec(&response).unwrap_or_default();
    respond(&mut out, status, &body)
}

/// Sends the request to the real server on a fresh connection; returns status and body.
fn forward(upstream: &str, request: &Request) -> std::io::Result<(u16, Vec<u8>)> {
    let mut conn = TcpStream::connect(upstream)?;
    conn.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut head = format!("{} {} HTTP/1.1\r\n", request.method, request.path);
    for (k, v) in &request.headers {
        if ["content-length", "connection", "host"]
            .iter()
            .any(|h| k.eq_ignore_ascii_case(h))
        {
            continue;
        }
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Host: {upstream}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        request.body.len()
    ));
    conn.write_all(head.as_bytes())?;
    conn.write_all(&request.body)?;
    let mut reader = BufReader::new(conn);
    let mut status_line = String::new();
    reader.read_line(&mut status_line)?;
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(502);
    let mut length = None;
    let mut chunked = false;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.trim().eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().ok();
            }
            if k.trim().eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked") {
                chunked = true;
            }
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            let mut chunk = vec![0; n + 2];
            reader.read_exact(&mut chunk)?;
            body.extend_from_slice(&chunk[..n]);
        }
    } else if let Some(n) = length {
        body.resize(n, 0);
        reader.read_exact(&mut body)?;
    } else {
        reader.read_to_end(&mut body)?;
    }
    Ok((status, body))
}
