//! Acceptance of the `elasticsearch` sink against a real Elasticsearch-API server (osmem-server):
//! file source → aws_parse → elasticsearch sink in a real `weir` process, checked with `_count` /
//! `_search`. Paths osmem cannot produce (429, 503, 401, slowness) go through the fault proxy in
//! front of it, which forwards everything it does not fault.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use weir_tests::fault_proxy::FaultProxy;
use weir_tests::services::{osmem, Service};
use weir_tests::{free_port, http_get, metric, wait_for_metrics, Weir};

const DAYS: usize = 5;

/// CloudTrail events, one per line: event `n` happens on day `n % DAYS + 1` of March 2024, has
/// `eventID` `ev-<n>` and `bytes` = n. Events whose number is in `bad` carry `"bytes":"oops"`
/// (a mapping error once `bytes` is an integer); events in `tagged` carry `"tag":"slow"`.
fn write_events(path: &Path, count: usize, bad: &[usize], tagged: impl Fn(usize) -> bool) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for n in 0..count {
        let day = n % DAYS + 1;
        let bytes = if bad.contains(&n) {
            "\"oops\"".to_string()
        } else {
            n.to_string()
        };
        let tag = if tagged(n) { r#","tag":"slow""# } else { "" };
        writeln!(
            out,
            r#"{{"eventVersion":"1.08","eventTime":"2024-03-0{day}T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"eu-west-1","eventID":"ev-{n}","bytes":{bytes}{tag}}}"#
        )
        .unwrap();
    }
    out.flush().unwrap();
}

/// The pipeline: file source → aws_parse (CloudTrail) → elasticsearch, dead letters to a file.
fn pipeline(dir: &Path, endpoint: &str, api: Option<u16>, sink_extra: &str) {
    pipeline_with(
        dir,
        endpoint,
        api,
        "parsed",
        "aws-{{ aws.log_type }}-%Y.%m.%d",
        sink_extra,
    );
}

fn pipeline_with(
    dir: &Path,
    endpoint: &str,
    api: Option<u16>,
    input: &str,
    index: &str,
    sink_extra: &str,
) {
    let api = match api {
        Some(port) => format!("[api]\naddress = \"127.0.0.1:{port}\""),
        None => "api.enabled = false".into(),
    };
    std::fs::write(
        dir.join("pipeline.toml"),
        format!(
            r#"
data_dir = "data"
{api}
[sources.in]
type = "file"
include = ["input.log"]
framing = "newline"
[transforms.parsed]
type = "aws_parse"
inputs = ["in"]
format = "cloudtrail"
[sinks.es]
type = "elasticsearch"
inputs = ["{input}"]
endpoints = ["{endpoint}"]
index = "{index}"
{sink_extra}
[sinks.dead]
type = "file"
inputs = ["es.dead_letter"]
path = "dead/es.ndjson"
"#
        ),
    )
    .unwrap();
}

/// A request to osmem; returns the JSON body.
fn es(server: &Service, method: &str, path: &str, body: &str) -> serde_json::Value {
    server.json(method, path, body)
}

/// Maps `bytes` as an integer in the `aws-*` indices, so the `"oops"` events are mapping errors.
fn integer_bytes(server: &Service) {
    es(
        server,
        "PUT",
        "/_index_template/aws",
        r#"{"index_patterns":["aws-*"],"template":{"mappings":{"properties":{"bytes":{"type":"integer"}}}}}"#,
    );
}

fn count(server: &Service, index: &str) -> u64 {
    es(server, "POST", "/_refresh", "");
    es(server, "GET", &format!("/{index}/_count"), "")["count"]
        .as_u64()
        .unwrap_or(0)
}

fn run_once(dir: &Path) {
    let started = Instant::now();
    let mut weir = Weir::start(dir, &["run", "-c", "pipeline.toml", "--once"], &[]);
    let status = weir.wait(Duration::from_secs(300));
    assert!(status.success(), "{status:?}\n{}", weir.log_text());
    eprintln!("elasticsearch: run took {:?}", started.elapsed());
}

/// Acceptance 3: 100k events into date-templated indices; `_count` is 100k; rerunning input that
/// was already delivered (from scratch, no checkpoints) overwrites by id and the count stays 100k.
///
/// The events are plain lines (file source → sink) with the default id (the deterministic id from
/// file path and offset), so osmem, which indexes only ~1.5k parsed CloudTrail documents/s on a
/// loaded 2-core machine, is not the whole test; dated indices of parsed events over several days,
/// with `id_field`, are checked in the fault-proxy test below. The rerun covers the first 20k lines:
/// a full second pass would only make the test slower, not stronger.
#[test]
fn hundred_thousand_events_into_dated_indices_idempotently() {
    const EVENTS: usize = 100_000;
    const RERUN: usize = 20_000;
    let server = osmem();
    let dir = tempfile::tempdir().unwrap();
    weir_tests::write_numbered_lines(&dir.path().join("input.log"), EVENTS, 60);
    pipeline_with(
        dir.path(),
        &server.url(),
        None,
        "in",
        "weir-{{ source_type }}-%Y.%m.%d",
        "batch.max_events = 2000\nconcurrency = 4",
    );
    run_once(dir.path());
    let today = chrono_like_today();
    assert_eq!(count(&server, "weir-file-*"), EVENTS as u64);
    assert_eq!(count(&server, &format!("weir-file-{today}")), EVENTS as u64);
    // Delivered events again, from the start: same ids, so nothing is duplicated.
    std::fs::remove_dir_all(dir.path().join("data")).unwrap();
    weir_tests::write_numbered_lines(&dir.path().join("input.log"), RERUN, 60);
    run_once(dir.path());
    assert_eq!(count(&server, "weir-file-*"), EVENTS as u64);
    let hit = es(
        &server,
        "GET",
        "/weir-file-*/_search",
        r#"{"query":{"match_all":{}},"size":1}"#,
    );
    let id = hit["hits"]["hits"][0]["_id"].as_str().unwrap_or_default();
    assert!(
        id.contains('-'),
        "deterministic `<stream hash>-<offset>` id: {hit}"
    );
}

/// Today's date (UTC) as `%Y.%m.%d`, from the system clock (the events' timestamps are read times).
fn chrono_like_today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}.{month:02}.{day:02}")
}

fn sink_metric(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    let mut all = vec![("component_id", "es")];
    all.extend_from_slice(labels);
    metric(text, name, &all).unwrap_or(0.0)
}

/// Acceptance 4: per-item 429s are retried (only those items) and end accepted; whole-request
/// 503s are retried; a mapping error lands in the dead-letter file with its reason.
#[test]
fn item_429s_and_request_503s_are_retried_and_mapping_errors_dead_lettered() {
    const EVENTS: usize = 2_000;
    let bad = [7, 1234];
    let server = osmem();
    integer_bytes(&server);
    let proxy = FaultProxy::start(&server.address());
    // Every 10th document is refused with 429 twice before it is let through; the first three
    // bulk requests are answered 503 as a whole.
    proxy.rules(|r| {
        r.fail_items = Some((r#""tag":"slow""#.into(), 2, 429));
        r.fail_next = Some(("/_bulk".into(), 3, 503));
    });
    let dir = tempfile::tempdir().unwrap();
    write_events(&dir.path().join("input.log"), EVENTS, &bad, |n| n % 10 == 0);
    let port = free_port();
    pipeline(
        dir.path(),
        &proxy.url(),
        Some(port),
        "id_field = \"eventID\"\nbatch.max_events = 200\nretry = { initial_backoff_ms = 20, max_backoff_ms = 200, max_duration_secs = 60 }",
    );
    let mut weir = Weir::start(dir.path(), &["run", "-c", "pipeline.toml"], &[]);
    let done = |t: &str| {
        sink_metric(t, "weir_elasticsearch_documents_rejected_total", &[])
            + sink_metric(
                t,
                "weir_component_sent_events_total",
                &[("output", "_default")],
            )
            >= EVENTS as f64
    };
    let started = Instant::now();
    let text = wait_for_metrics(port, Duration::from_secs(120), done);
    assert!(done(&text), "not finished:\n{text}\n{}", weir.log_text());
    eprintln!(
        "elasticsearch faults: {EVENTS} events settled in {:?}; proxy {:?}",
        started.elapsed(),
        proxy.stats()
    );
    let accepted = sink_metric(
        &text,
        "weir_component_sent_events_total",
        &[("output", "_default")],
    );
    assert_eq!(accepted, (EVENTS - bad.len()) as f64);
    assert_eq!(
        sink_metric(
            &text,
            "weir_elasticsearch_documents_rejected_total",
            &[("status", "400")]
        ),
        bad.len() as f64
    );
    let tagged = (EVENTS / 10) as f64;
    assert_eq!(
        sink_metric(
            &text,
            "weir_elasticsearch_documents_retried_total",
            &[("status", "429")]
        ),
        2.0 * tagged
    );
    assert!(
        sink_metric(
            &text,
            "weir_elasticsearch_documents_retried_total",
            &[("status", "503")]
        ) >= 3.0
    );
    let stats = proxy.stats();
    assert_eq!(stats.request_faults, 3);
    assert_eq!(stats.item_faults, 2 * EVENTS / 10);
    assert_eq!(
        count(&server, "aws-cloudtrail-*"),
        (EVENTS - bad.len()) as u64
    );

    // The dead-letter file has the two bad documents with the server's reason and the sink id.
    let dead_file = dir.path().join("dead/es.ndjson");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !dead_file.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let dead = std::fs::read_to_string(&dead_file).unwrap_or_default();
    let letters: Vec<serde_json::Value> = dead
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(letters.len(), bad.len(), "{dead}");
    for letter in &letters {
        assert_eq!(letter["sink"], "es");
        let reason = letter["reason"].as_str().unwrap();
        assert!(reason.contains("mapper_parsing_exception"), "{reason}");
        assert_eq!(letter["event"]["bytes"], "oops");
    }
    weir.signal(libc::SIGTERM);
    assert!(weir.wait(Duration::from_secs(30)).success());
}

/// Dead letters are kept by default: with nothing consuming `es.dead_letter`, `weir validate` says
/// where rejected events will go, and mapping errors are appended to
/// `<data_dir>/dead_letter/es/*.ndjson` with the server's reason (not only counted) while the good
/// documents are indexed and the run finishes.
#[test]
fn mapping_errors_are_kept_in_dead_letter_files_when_nothing_consumes_them() {
    const EVENTS: usize = 300;
    let bad = [3, 150, 299];
    let server = osmem();
    integer_bytes(&server);
    let dir = tempfile::tempdir().unwrap();
    write_events(&dir.path().join("input.log"), EVENTS, &bad, |_| false);
    pipeline(dir.path(), &server.url(), None, "id_field = \"eventID\"");
    let file = dir.path().join("pipeline.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    let unconsumed = text.split("[sinks.dead]").next().unwrap().to_string();
    std::fs::write(&file, unconsumed).unwrap();

    let mut validate = Weir::start(
        dir.path(),
        &["validate", "pipeline.toml"],
        &[("NO_COLOR", "1")],
    );
    assert!(validate.wait(Duration::from_secs(60)).success());
    let said = validate.log_text();
    assert!(
        said.contains("nothing consumes `es.dead_letter`: events the destination rejects for good are kept in `data/dead_letter/es`"),
        "{said}"
    );

    run_once(dir.path());
    assert_eq!(
        count(&server, "aws-cloudtrail-*"),
        (EVENTS - bad.len()) as u64
    );
    let kept = dir.path().join("data/dead_letter/es");
    let mut letters: Vec<serde_json::Value> = Vec::new();
    for entry in std::fs::read_dir(&kept).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        letters.extend(
            text.lines()
                .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()),
        );
    }
    let mut ids: Vec<&str> = letters
        .iter()
        .map(|l| l["event"]["eventID"].as_str().unwrap_or_default())
        .collect();
    ids.sort();
    assert_eq!(ids, ["ev-150", "ev-299", "ev-3"], "{letters:?}");
    for letter in &letters {
        assert_eq!(letter["sink"], "es");
        let reason = letter["reason"].as_str().unwrap();
        assert!(reason.contains("mapper_parsing_exception"), "{reason}");
        assert_eq!(letter["event"]["bytes"], "oops");
    }
}

/// Acceptance 4: a 401 is reported clearly by the health check at startup; documents are not
/// acknowledged while the server refuses them, and are delivered once it accepts them.
#[test]
fn unauthorized_is_reported_at_startup_and_nothing_is_acknowledged() {
    const EVENTS: usize = 500;
    let server = osmem();
    let proxy = FaultProxy::start(&server.address());
    proxy.rules(|r| r.answer_all = Some(401));
    let dir = tempfile::tempdir().unwrap();
    write_events(&dir.path().join("input.log"), EVENTS, &[], |_| false);
    let port = free_port();
    pipeline(
        dir.path(),
        &proxy.url(),
        Some(port),
        "auth = { strategy = \"basic\", user = \"weir\", password = \"wrong\" }\nretry = { initial_backoff_ms = 50, max_backoff_ms = 200, max_duration_secs = 120 }",
    );
    let mut weir = Weir::start(dir.path(), &["run", "-c", "pipeline.toml"], &[]);
    let failed = |t: &str| {
        sink_metric(
            t,
            "weir_component_errors_total",
            &[("error_type", "health_check_failed")],
        )
    };
    let text = wait_for_metrics(port, Duration::from_secs(30), |t| failed(t) >= 1.0);
    assert_eq!(failed(&text), 1.0);
    let log = weir.log_text();
    assert!(
        log.contains("elasticsearch health check failed: HTTP 401") && log.contains("Unauthorized"),
        "{log}"
    );
    // Requests keep failing with 401: retried, never acknowledged.
    let text = wait_for_metrics(port, Duration::from_secs(30), |t| {
        sink_metric(
            t,
            "weir_elasticsearch_documents_retried_total",
            &[("status", "401")],
        ) >= 2.0 * EVENTS as f64
    });
    assert_eq!(
        sink_metric(
            &text,
            "weir_component_sent_events_total",
            &[("output", "_default")]
        ),
        0.0
    );
    assert_eq!(count(&server, "aws-cloudtrail-*"), 0);
    // Credentials "fixed": the retries go through.
    proxy.rules(|r| r.answer_all = None);
    let text = wait_for_metrics(port, Duration::from_secs(30), |t| {
        sink_metric(
            t,
            "weir_component_sent_events_total",
            &[("output", "_default")],
        ) >= EVENTS as f64
    });
    assert_eq!(
        sink_metric(
            &text,
            "weir_component_sent_events_total",
            &[("output", "_default")]
        ),
        EVENTS as f64
    );
    assert_eq!(count(&server, "aws-cloudtrail-*"), EVENTS as u64);
    weir.signal(libc::SIGTERM);
    assert!(weir.wait(Duration::from_secs(30)).success());
}

/// Acceptance 5: with the server made slow by the proxy, the sink's requests in flight stay at
/// `concurrency`, the process's memory stays bounded although the input is far larger, and the
/// source is held back (it has read only a part of the input while the sink is busy).
#[test]
fn slow_server_slows_the_source_with_bounded_memory() {
    const EVENTS: usize = 100_000;
    let server = osmem();
    let proxy = FaultProxy::start(&server.address());
    proxy.rules(|r| r.delay = Duration::from_millis(300));
    let dir = tempfile::tempdir().unwrap();
    write_events(&dir.path().join("input.log"), EVENTS, &[], |_| false);
    let input_mib = std::fs::metadata(dir.path().join("input.log"))
        .unwrap()
        .len()
        / (1 << 20);
    let port = free_port();
    pipeline(
        dir.path(),
        &proxy.url(),
        Some(port),
        "batch.max_events = 100\nconcurrency = 2\nbuffer.max_events = 500",
    );
    let mut weir = Weir::start(dir.path(), &["run", "-c", "pipeline.toml"], &[]);
    let started = Instant::now();
    let (mut max_rss_kib, mut max_in_flight, mut samples) = (0u64, 0.0f64, 0);
    let mut read_at_10s = None;
    while started.elapsed() < Duration::from_secs(12) {
        if let Some((200, text)) = http_get(port, "/metrics") {
            samples += 1;
            max_in_flight = max_in_flight.max(sink_metric(
                &text,
                "weir_elasticsearch_requests_in_flight",
                &[],
            ));
            if started.elapsed() >= Duration::from_secs(10) && read_at_10s.is_none() {
                read_at_10s = metric(
                    &text,
                    "weir_component_received_events_total",
                    &[("component_id", "in")],
                );
            }
        }
        max_rss_kib = max_rss_kib.max(weir.rss_kib().unwrap_or(0));
        std::thread::sleep(Duration::from_millis(50));
    }
    let read = read_at_10s.unwrap_or(0.0);
    eprintln!(
        "elasticsearch backpressure: {samples} scrapes, input {input_mib} MiB / {EVENTS} events, read after 10 s: {read}, max in flight {max_in_flight}, max RSS {} MiB",
        max_rss_kib / 1024
    );
    assert!(max_in_flight <= 2.0, "in flight {max_in_flight}");
    assert!(max_in_flight >= 1.0);
    // 2 requests of 100 per 300 ms: ~670 documents/s; the source may be ahead by its buffers
    // only, far from the whole input.
    assert!(
        read > 0.0 && read < (EVENTS / 4) as f64,
        "source read {read} of {EVENTS}"
    );
    assert!(max_rss_kib < 100 * 1024, "RSS {} MiB", max_rss_kib / 1024);
    weir.signal(libc::SIGTERM);
    let _ = weir.wait(Duration::from_secs(60));
}
