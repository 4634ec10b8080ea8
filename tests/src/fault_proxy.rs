//! A small fault-injecting HTTP/1.1 proxy to put in front of a real server (osmem-server, moto)
//! for the paths the server cannot produce: whole-request `429`/`5xx`/`401` answers, per-item
//! `429`s in `_bulk` responses, AWS JSON-protocol errors for chosen operations (throttling, an
//! expired shard iterator: see [`AwsFault`]), and slowness. Everything not faulted is forwarded to
//! the real server.
//!
//! One thread per client connection; each request is forwarded on a fresh upstream connection and
//! answered with `Connection: close` (clients reconnect), which keeps the proxy simple.

use std::collections::{BTreeMap, HashMap};
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
    /// AWS JSON-protocol faults, in order. A request whose `X-Amz-Target` header matches goes to
    /// the first matching rule with work left (see [`AwsFault`]); spent rules match nothing.
    /// Requests of other targets (DynamoDB calls behind a Kinesis fault, say) are forwarded
    /// untouched.
    pub aws_faults: Vec<AwsFault>,
    /// Delay before forwarding each request.
    pub delay: Duration,
    /// Close every new connection at once, unanswered: to the client the server is down.
    pub drop_connections: bool,
    /// Read each request and answer nothing while this holds (then close the connection): a
    /// server that accepts connections and never answers.
    pub hang: bool,
    /// Forward one request at a time, so the server never works on two at once. For servers
    /// whose emulation is not atomic under concurrent requests where the real service is: moto's
    /// DynamoDB evaluates a condition and applies the update without a lock, and was seen letting
    /// two of 20 racing conditional updates of one item succeed (real DynamoDB applies the
    /// writes of an item one at a time).
    pub serialize: bool,
}

/// One AWS JSON-protocol fault rule (Kinesis, DynamoDB, ...): of the requests whose `X-Amz-Target`
/// header equals `target` (e.g. `Kinesis_20131202.GetRecords`), the first `skip` are forwarded,
/// and the `times` after them are answered — not forwarded — with status 400 and the error as AWS
/// sends it: body `{"__type": <error_type>, "message": ...}`, header `x-amzn-ErrorType`, and the
/// request's own `application/x-amz-json-1.x` content type.
///
/// ```
/// use weir_tests::fault_proxy::AwsFault;
/// // Two GetRecords answered, then three throttled.
/// let rule = AwsFault::new(
///     "Kinesis_20131202.GetRecords",
///     "ProvisionedThroughputExceededException",
///     3,
/// )
/// .after(2);
/// assert_eq!((rule.skip, rule.times), (2, 3));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsFault {
    /// The `X-Amz-Target` to match, exactly.
    pub target: String,
    /// Matching requests still to forward before the faults start.
    pub skip: usize,
    /// Matching requests still to answer with the error.
    pub times: usize,
    /// The AWS error code: `ProvisionedThroughputExceededException`, `ExpiredIteratorException`…
    pub error_type: String,
}

impl AwsFault {
    /// Answers the next `times` requests for `target` with `error_type`.
    pub fn new(target: &str, error_type: &str, times: usize) -> Self {
        Self {
            target: target.to_string(),
            skip: 0,
            times,
            error_type: error_type.to_string(),
        }
    }

    /// Forwards the first `skip` matching requests before the faults start.
    pub fn after(mut self, skip: usize) -> Self {
        self.skip = skip;
        self
    }
}

/// The `message` AWS gives with an error code (a generic one for codes not listed).
fn aws_error_message(error_type: &str) -> &'static str {
    match error_type {
        "ProvisionedThroughputExceededException" => "Rate exceeded",
        "ExpiredIteratorException" => "Iterator expired",
        "LimitExceededException" => "Limit exceeded",
        "AccessDenied" | "AccessDeniedException" => {
            "User: arn:aws:iam::123456789012:user/weir is not authorized to perform this action"
        }
        _ => "injected by the fault proxy",
    }
}

/// What the proxy did.
#[derive(Default, Debug, Clone)]
pub struct Stats {
    /// Requests received.
    pub requests: usize,
    /// Requests answered with an injected status (AWS faults included).
    pub request_faults: usize,
    /// `_bulk` items answered with an injected status.
    pub item_faults: usize,
    /// Requests received, by `X-Amz-Target` (AWS JSON-protocol requests only).
    pub aws_requests: BTreeMap<String, usize>,
    /// AWS faults answered, by error type.
    pub aws_faults: BTreeMap<String, usize>,
}

#[derive(Default)]
struct State {
    rules: Rules,
    stats: Stats,
    item_failures: HashMap<String, usize>,
}

/// What every connection's thread shares.
#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    /// Held while forwarding under [`Rules::serialize`].
    forwarding: Mutex<()>,
}

/// A running proxy on `127.0.0.1:<port>`, forwarding to `upstream` (`host:port`).
pub struct FaultProxy {
    /// The proxy's port.
    pub port: u16,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (`127.0.0.1:<port>`).
    pub fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let shared = Arc::new(Shared::default());
        let stop = Arc::new(AtomicBool::new(false));
        let upstream = upstream.to_string();
        let (s, st) = (Arc::clone(&shared), Arc::clone(&stop));
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
        Self { port, shared, stop }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Changes the rules.
    pub fn rules(&self, change: impl FnOnce(&mut Rules)) {
        let mut state = self.shared.state.lock().unwrap_or_else(|e| e.into_inner());
        change(&mut state.rules);
    }

    /// What happened so far.
    pub fn stats(&self) -> Stats {
        self.shared
            .state
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

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
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

/// Answers an AWS JSON-protocol request with status 400 and the error `error_type`.
fn respond_aws_error(
    out: &mut TcpStream,
    request: &Request,
    error_type: &str,
) -> std::io::Result<()> {
    let content_type = request
        .header("content-type")
        .filter(|t| t.starts_with("application/x-amz-json"))
        .unwrap_or("application/x-amz-json-1.1");
    let body = serde_json::json!({
        "__type": error_type,
        "message": aws_error_message(error_type),
    })
    .to_string();
    write!(
        out,
        "HTTP/1.1 400 Bad Request\r\nContent-Type: {content_type}\r\nx-amzn-ErrorType: {error_type}\r\nx-amzn-RequestId: fault-proxy\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    out.write_all(body.as_bytes())?;
    out.flush()
}

/// The AWS fault `request` gets, if any: consumes one step of the first matching rule with work
/// left (a forwarded `skip` or an answered `times`).
fn aws_fault(rules: &mut [AwsFault], request: &Request) -> Option<String> {
    let target = request.header("x-amz-target")?;
    let rule = rules
        .iter_mut()
        .find(|r| r.target == target && r.skip + r.times > 0)?;
    if rule.skip > 0 {
        rule.skip -= 1;
        return None;
    }
    rule.times -= 1;
    Some(rule.error_type.clone())
}

/// What the rules decide for one request, taken under the state lock.
struct Decision {
    delay: Duration,
    serialize: bool,
    /// A whole-request status to answer with.
    injected: Option<u16>,
    /// An AWS error type to answer with.
    aws_error: Option<String>,
}

/// Counts `request` and picks its whole-request fault, if any (one lock for both, so the stats
/// and the rules' counters move together).
fn decide(state: &Mutex<State>, request: &Request) -> Decision {
    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
    s.stats.requests += 1;
    if let Some(target) = request.header("x-amz-target") {
        *s.stats.aws_requests.entry(target.to_string()).or_default() += 1;
    }
    let mut injected = s.rules.answer_all;
    if injected.is_none() {
        if let Some((prefix, n, status)) = &mut s.rules.fail_next {
            if *n > 0 && request.path.starts_with(prefix.as_str()) {
                *n -= 1;
                injected = Some(*status);
            }
        }
    }
    let aws_error = match injected {
        Some(_) => None,
        None => aws_fault(&mut s.rules.aws_faults, request),
    };
    if let Some(error_type) = &aws_error {
        *s.stats.aws_faults.entry(error_type.clone()).or_default() += 1;
    }
    if injected.is_some() || aws_error.is_some() {
        s.stats.request_faults += 1;
    }
    Decision {
        delay: s.rules.delay,
        serialize: s.rules.serialize,
        injected,
        aws_error,
    }
}

fn serve(conn: TcpStream, upstream: &str, shared: &Shared) -> std::io::Result<()> {
    let rules = |check: fn(&Rules) -> bool| {
        let state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
        check(&state.rules)
    };
    if rules(|r| r.drop_connections) {
        return Ok(());
    }
    let mut out = conn.try_clone()?;
    let mut reader = BufReader::new(conn);
    let Some(mut request) = read_request(&mut reader)? else {
        return Ok(());
    };
    if rules(|r| r.hang) {
        while rules(|r| r.hang) {
            std::thread::sleep(Duration::from_millis(100));
        }
        return Ok(());
    }
    let decision = decide(&shared.state, &request);
    if !decision.delay.is_zero() {
        std::thread::sleep(decision.delay);
    }
    if let Some(error_type) = decision.aws_error {
        return respond_aws_error(&mut out, &request, &error_type);
    }
    if let Some(status) = decision.injected {
        let body = format!(
            r#"{{"error":{{"type":"injected","reason":"fault proxy answered {status}"}},"status":{status}}}"#
        );
        return respond(&mut out, status, body.as_bytes());
    }
    // Per-item faults on bulk requests: take the faulted documents out, forward the rest, then
    // put injected items back in their places.
    let faulted = if request.method == "POST" && request.path.starts_with("/_bulk") {
        take_faulted_items(&shared.state, &mut request)?
    } else {
        Vec::new()
    };
    let injected_items = faulted.iter().any(Option::is_some);
    let (status, body) = if injected_items && request.body.is_empty() {
        (200, br#"{"errors":false,"items":[],"took":0}"#.to_vec())
    } else {
        let _one_at_a_time = decision
            .serialize
            .then(|| shared.forwarding.lock().unwrap_or_else(|e| e.into_inner()));
        forward(upstream, &request)?
    };
    if !injected_items {
        return respond(&mut out, status, &body);
    }
    match with_injected_items(&body, &faulted) {
        Some(merged) => respond(&mut out, status, &merged),
        None => respond(&mut out, status, &body),
    }
}

/// Removes the `_bulk` documents that [`Rules::fail_items`] fails from `request` (gunzipping its
/// body first if needed); returns, per document in order, its injected status or `None` if it
/// was kept.
fn take_faulted_items(
    state: &Mutex<State>,
    request: &mut Request,
) -> std::io::Result<Vec<Option<u16>>> {
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
    let mut faulted = Vec::new();
    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
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
    Ok(faulted)
}

/// The upstream `_bulk` response `body` with the injected item failures put back in their
/// places; `None` if the body is not JSON (it is then passed on as it is).
fn with_injected_items(body: &[u8], faulted: &[Option<u16>]) -> Option<Vec<u8>> {
    let mut response: serde_json::Value = serde_json::from_slice(body).ok()?;
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
    Some(serde_json::to_vec(&response).unwrap_or_default())
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
