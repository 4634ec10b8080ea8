//! Issue 16, item 6: the bad-input catalogue, end to end. One test per item, each through a
//! running `weir` that tails a directory: good records are written before and after the bad one,
//! and the test asserts the error event on `<id>.errors` (error type, where), the
//! `weir_component_errors_total` count, that the good records around it are all delivered, and
//! that the pipeline is still running (it reads the file written after the bad one, then stops
//! cleanly on SIGTERM).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;
use weir_tests::{free_port, http_get, metric, Weir};

/// A running pipeline: `file` source on `in/*` (→ `aws_parse` when asked) → `out/`, its errors
/// (and the parser's) → `errors/`.
struct Running {
    dir: tempfile::TempDir,
    weir: Option<Weir>,
    port: u16,
    /// The component whose errors are counted.
    component: &'static str,
}

impl Running {
    fn start(source_extra: &str, parse: Option<&str>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("in")).unwrap();
        let port = free_port();
        let (events, errors) = match parse {
            Some(_) => ("parse", r#"["in.errors", "parse.errors"]"#),
            None => ("in", r#"["in.errors"]"#),
        };
        let parse_table = parse.map_or(String::new(), |extra| {
            format!("[transforms.parse]\ntype = \"aws_parse\"\ninputs = [\"in\"]\n{extra}\n")
        });
        let text = format!(
            r#"
data_dir = "data"
[api]
address = "127.0.0.1:{port}"
[sources.in]
type = "file"
include = ["in/*"]
glob_interval_ms = 100
{source_extra}
{parse_table}
[sinks.out]
type = "file"
inputs = ["{events}"]
path = "out/events.ndjson"
[sinks.errors]
type = "file"
inputs = {errors}
path = "errors/errors.ndjson"
"#
        );
        std::fs::write(dir.path().join("pipeline.toml"), text).unwrap();
        let mut running = Self {
            dir,
            weir: None,
            port,
            component: if parse.is_some() { "parse" } else { "in" },
        };
        running.write("0-before.log", &good("before"));
        running.weir = Some(Weir::start(
            running.dir.path(),
            &["run", "-c", "pipeline.toml"],
            &[],
        ));
        running.wait_for_messages("the good lines before", |m| {
            (0..GOOD).all(|i| m.contains(&format!("good before {i}")))
        });
        running
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join("in").join(name)
    }

    /// Writes a file whole (to a hidden name first, then renamed into the glob's sight).
    fn write(&self, name: &str, bytes: &[u8]) {
        let hidden = self.dir.path().join(format!(".{name}.tmp"));
        std::fs::write(&hidden, bytes).unwrap();
        std::fs::rename(&hidden, self.path(name)).unwrap();
    }

    fn events(&self) -> Vec<serde_json::Value> {
        ndjson(&self.dir.path().join("out/events.ndjson"))
    }

    fn errors(&self) -> Vec<serde_json::Value> {
        ndjson(&self.dir.path().join("errors/errors.ndjson"))
    }

    /// Waits (60 s at most) until the delivered `message`s satisfy `done`.
    fn wait_for_messages(&self, what: &str, done: impl Fn(&Vec<String>) -> bool) {
        let started = Instant::now();
        loop {
            let messages: Vec<String> = self
                .events()
                .iter()
                .filter_map(|e| e["message"].as_str().map(str::to_string))
                .collect();
            if done(&messages) {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "timed out waiting for {what}; {} events:\n{}",
                messages.len(),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The error event of `error_type` (waits for it).
    fn error_event(&self, error_type: &str) -> serde_json::Value {
        let started = Instant::now();
        loop {
            let found = self
                .errors()
                .into_iter()
                .find(|e| e["error_type"] == error_type || e["error"]["error_type"] == error_type);
            if let Some(event) = found {
                return event;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "no {error_type} error event: {:?}\n{}",
                self.errors(),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn error_count(&self, error_type: &str) -> f64 {
        http_get(self.port, "/metrics")
            .and_then(|(_, text)| {
                metric(
                    &text,
                    "weir_component_errors_total",
                    &[("component_id", self.component), ("error_type", error_type)],
                )
            })
            .unwrap_or(0.0)
    }

    fn log(&self) -> String {
        self.weir.as_ref().map(Weir::log_text).unwrap_or_default()
    }

    /// The end of every test: the good lines after the bad file arrive, the error was counted,
    /// and the pipeline stops cleanly.
    fn still_running_and_counted(mut self, error_type: &str) {
        self.write("9-after.log", &good("after"));
        self.wait_for_messages("the good lines after", |m| {
            (0..GOOD).all(|i| m.contains(&format!("good after {i}")))
        });
        assert!(
            self.error_count(error_type) >= 1.0,
            "{error_type} not counted\n{}",
            self.log()
        );
        let mut weir = self.weir.take().unwrap();
        weir.signal(libc::SIGTERM);
        let status = weir.wait(Duration::from_secs(30));
        assert!(status.success(), "{status:?}\n{}", weir.log_text());
    }
}

const GOOD: usize = 20;

/// The sinks of the Firehose, S3 and Kinesis cases: events to `out/`, errors to `errors/`.
const OUT_AND_ERRORS: &str = r#"
[sinks.out]
type = "file"
inputs = ["in"]
path = "out/events.ndjson"
[sinks.errors]
type = "file"
inputs = ["in.errors"]
path = "errors/errors.ndjson"
"#;

/// `GOOD` good lines, tagged.
fn good(tag: &str) -> Vec<u8> {
    (0..GOOD)
        .map(|i| format!("good {tag} {i}\n"))
        .collect::<String>()
        .into_bytes()
}

fn ndjson(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn numbered(n: usize, tag: &str) -> String {
    (0..n).map(|i| format!("{tag} {i:07}\n")).collect()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn zstd(bytes: &[u8]) -> Vec<u8> {
    zstd::encode_all(bytes, 3).unwrap()
}

/// A compressed file cut at ¾: the complete lines before the break, in order, none missing;
/// one error event naming the file.
fn cut_compressed(name: &str, compressed: Vec<u8>) {
    let running = Running::start("", None);
    let cut = compressed.len() * 3 / 4;
    running.write(name, &compressed[..cut]);
    let event = running.error_event("decompression_failed");
    assert_eq!(event["file"].as_str(), Some(format!("in/{name}").as_str()));
    assert!(event["offset"].as_u64().unwrap_or(0) > 0, "{event}");
    let cut_lines: Vec<String> = running
        .events()
        .iter()
        .filter_map(|e| e["message"].as_str())
        .filter(|m| m.starts_with("cut "))
        .map(str::to_string)
        .collect();
    assert!(!cut_lines.is_empty(), "nothing before the break");
    for (i, line) in cut_lines.iter().enumerate() {
        assert_eq!(*line, format!("cut {i:07}"));
    }
    running.still_running_and_counted("decompression_failed");
}

#[test]
fn truncated_gzip() {
    cut_compressed("cut.log.gz", gzip(numbered(200_000, "cut").as_bytes()));
}

#[test]
fn truncated_zstd() {
    cut_compressed("cut.log.zst", zstd(numbered(200_000, "cut").as_bytes()));
}

#[test]
fn gzip_bomb() {
    let running = Running::start("max_decompressed_bytes = 65536", None);
    // 64 MiB of `bomb` lines in about 64 KiB.
    running.write("bomb.log.gz", &gzip(&b"bomb\n".repeat(13 * 1024 * 1024)));
    let event = running.error_event("decompressed_too_large");
    assert!(
        event["error"]
            .as_str()
            .unwrap_or_default()
            .contains("max_decompressed_bytes (65536)"),
        "{event}"
    );
    let bombs = running
        .events()
        .iter()
        .filter(|e| e["message"] == "bomb")
        .count();
    assert!(bombs <= 65536 / 5, "{bombs} lines past the cap");
    running.still_running_and_counted("decompressed_too_large");
}

#[test]
fn invalid_utf8() {
    let running = Running::start("", None);
    running.write(
        "latin1.log",
        b"good latin1 before\ncaf\xe9 cr\xe8me \xff\ngood latin1 after\n",
    );
    let event = running.error_event("invalid_utf8");
    let kept = base64::engine::general_purpose::STANDARD
        .decode(event["message_base64"].as_str().unwrap())
        .unwrap();
    assert_eq!(kept, b"caf\xe9 cr\xe8me \xff");
    assert_eq!(event["offset"], 19);
    running.wait_for_messages("the lines around it", |m| {
        m.iter().any(|l| l == "good latin1 before") && m.iter().any(|l| l == "good latin1 after")
    });
    running.still_running_and_counted("invalid_utf8");
}

#[test]
fn hundred_megabyte_line() {
    let running = Running::start("", None);
    let mut file = b"good huge before\n".to_vec();
    file.extend(std::iter::repeat_n(b'x', 100 * 1024 * 1024));
    file.extend(b"\ngood huge after\n");
    running.write("huge.log", &file);
    let event = running.error_event("line_too_long");
    assert_eq!(event["offset"], 17);
    assert!(event["line_prefix"]
        .as_str()
        .unwrap_or_default()
        .starts_with("xxxx"));
    running.wait_for_messages("the lines around it", |m| {
        m.iter().any(|l| l == "good huge before") && m.iter().any(|l| l == "good huge after")
    });
    running.still_running_and_counted("line_too_long");
}

#[test]
fn malformed_json_document() {
    let running = Running::start("", None);
    running.write(
        "broken.json",
        // The second record's `}` is a `]`: the document's structure breaks there.
        b"{\"Records\":[{\"eventID\":\"r1\"},{\"eventID\":\"r2\"]}\n{\"eventID\":\"next\"}\n",
    );
    let event = running.error_event("invalid_document");
    assert!(event["offset"].as_u64().is_some(), "{event}");
    running.wait_for_messages("the record before and the line after", |m| {
        m.iter().any(|l| l.contains("\"r1\"")) && m.iter().any(|l| l.contains("\"next\""))
    });
    running.still_running_and_counted("invalid_document");
}

#[test]
fn cloudtrail_records_file_cut_mid_record() {
    let running = Running::start("", None);
    let cut = concat!(
        r#"{"Records":[{"eventVersion":"1.08","eventID":"first","eventName":"GetObject"},"#,
        r#"{"eventVersion":"1.08","eventID":"second","eventName":"PutObject"},"#,
        r#"{"eventVersion":"1.08","eventID":"thi"#
    );
    running.write("trail.json.gz", &gzip(cut.as_bytes()));
    let event = running.error_event("truncated_document");
    assert!(event["offset"].as_u64().is_some(), "{event}");
    running.wait_for_messages("the two whole records", |m| {
        m.iter().any(|l| l.contains("\"first\"")) && m.iter().any(|l| l.contains("\"second\""))
    });
    running.still_running_and_counted("truncated_document");
}

/// The Firehose items: an `aws_firehose` endpoint → `out/`, its errors → `errors/`.
struct Firehose {
    dir: tempfile::TempDir,
    weir: Weir,
    port: u16,
    api: u16,
}

const KEY: &str = "catalogue-key";

impl Firehose {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (port, api) = (free_port(), free_port());
        let text = format!(
            r#"
data_dir = "data"
[api]
address = "127.0.0.1:{api}"
[sources.in]
type = "aws_firehose"
address = "127.0.0.1:{port}"
access_keys = ["{KEY}"]
max_body_bytes = 65536
{OUT_AND_ERRORS}"#
        );
        std::fs::write(dir.path().join("pipeline.toml"), text).unwrap();
        let weir = Weir::start(dir.path(), &["run", "-c", "pipeline.toml"], &[]);
        assert!(
            weir_tests::wait_for_port(port, Duration::from_secs(30)),
            "{}",
            weir.log_text()
        );
        Self {
            dir,
            weir,
            port,
            api,
        }
    }

    /// A request of `records` as Firehose sends it.
    fn body(request_id: &str, records: &[&str]) -> Vec<u8> {
        serde_json::json!({
            "requestId": request_id,
            "timestamp": 1_714_521_600_000u64,
            "records": records.iter().map(|r| serde_json::json!({
                "data": base64::engine::general_purpose::STANDARD.encode(r)
            })).collect::<Vec<_>>(),
        })
        .to_string()
        .into_bytes()
    }

    fn post(&self, request_id: &str, key: &str, extra: &[(&str, &str)], body: &[u8]) -> u16 {
        let mut headers = vec![
            ("X-Amz-Firehose-Request-Id", request_id),
            ("X-Amz-Firehose-Access-Key", key),
            ("Content-Type", "application/json"),
        ];
        headers.extend_from_slice(extra);
        weir_tests::http_post(self.port, "/", &headers, body)
            .expect("the endpoint answers")
            .0
    }

    /// A good request, delivered (200).
    fn good(&self, tag: &str) {
        let body = Self::body(tag, &[&format!("good firehose {tag}")]);
        assert_eq!(
            self.post(tag, KEY, &[], &body),
            200,
            "{}",
            self.weir.log_text()
        );
    }

    /// The error events, once there are `n` (10 s at most).
    fn errors(&self, n: usize) -> Vec<serde_json::Value> {
        let started = Instant::now();
        loop {
            let errors = ndjson(&self.dir.path().join("errors/errors.ndjson"));
            if errors.len() >= n || started.elapsed() > Duration::from_secs(10) {
                return errors;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn check(self, error_type: &str, event_expected: bool) {
        self.good("after");
        let messages: Vec<String> = ndjson(&self.dir.path().join("out/events.ndjson"))
            .iter()
            .filter_map(|e| e["message"].as_str().map(str::to_string))
            .collect();
        assert_eq!(messages, ["good firehose before", "good firehose after"]);
        let errors = self.errors(usize::from(event_expected));
        if event_expected {
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert_eq!(errors[0]["error_type"], error_type);
            assert_eq!(errors[0]["firehose"]["request_id"], "bad");
        } else {
            assert!(errors.is_empty(), "{errors:?}");
        }
        let counted = http_get(self.api, "/metrics")
            .and_then(|(_, text)| {
                metric(
                    &text,
                    "weir_component_errors_total",
                    &[("component_id", "in"), ("error_type", error_type)],
                )
            })
            .unwrap_or(0.0);
        assert_eq!(counted, 1.0, "{error_type}\n{}", self.weir.log_text());
        let mut weir = self.weir;
        weir.signal(libc::SIGTERM);
        assert!(weir.wait(Duration::from_secs(30)).success());
    }
}

#[test]
fn firehose_request_with_a_wrong_key() {
    let firehose = Firehose::start();
    firehose.good("before");
    let body = Firehose::body("bad", &["never delivered"]);
    assert_eq!(firehose.post("bad", "wrong-key", &[], &body), 401);
    // Not data: no event keeps what an unauthenticated sender sent.
    firehose.check("unauthorized", false);
}

#[test]
fn firehose_request_with_a_wrong_content_encoding() {
    let firehose = Firehose::start();
    firehose.good("before");
    // A deflate (zlib) body: Firehose sends gzip or nothing.
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    z.write_all(&Firehose::body("bad", &["deflated"])).unwrap();
    let body = z.finish().unwrap();
    assert_eq!(
        firehose.post("bad", KEY, &[("Content-Encoding", "deflate")], &body),
        400
    );
    let errors = firehose.errors(1);
    assert_eq!(errors[0]["content_encoding"], "deflate", "{errors:?}");
    assert_eq!(errors[0]["status"], 400);
    firehose.check("malformed_request", true);
}

#[test]
fn firehose_request_with_an_oversized_body() {
    let firehose = Firehose::start();
    firehose.good("before");
    let big = "x".repeat(100_000);
    let body = Firehose::body("bad", &[&big]);
    assert_eq!(firehose.post("bad", KEY, &[], &body), 413);
    firehose.check("body_too_large", true);
}

/// The S3 items: an `aws_s3` source on a moto queue, behind the fault proxy → `out/`, its errors
/// → `errors/`. Each test sends a good object, the bad message, and a good object after it.
struct S3 {
    _moto: weir_tests::services::Service,
    proxy: weir_tests::fault_proxy::FaultProxy,
    rt: tokio::runtime::Runtime,
    s3: aws_sdk_s3::Client,
    sqs: aws_sdk_sqs::Client,
    queue: String,
    dir: tempfile::TempDir,
    weir: Option<Weir>,
    api: u16,
}

impl S3 {
    fn start() -> Self {
        use weir_tests::moto_aws::{sdk_config, REGION};
        let moto = weir_tests::services::moto();
        let proxy = weir_tests::fault_proxy::FaultProxy::start(&moto.address());
        let rt = weir_tests::runtime();
        let sdk = sdk_config(&rt, &moto.url());
        let s3 = weir_tests::moto_aws::s3_client(&sdk);
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let queue = rt.block_on(async {
            s3.create_bucket().bucket("logs").send().await.unwrap();
            sqs.create_queue()
                .queue_name("catalogue")
                .attributes(
                    aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
                    "2",
                )
                .send()
                .await
                .unwrap()
                .queue_url
                .unwrap()
        });
        let dir = tempfile::tempdir().unwrap();
        let api = free_port();
        let text = format!(
            r#"
data_dir = "data"
[api]
address = "127.0.0.1:{api}"
[sources.in]
type = "aws_s3"
region = "{REGION}"
endpoint = "{endpoint}"
[sources.in.sqs]
queue_url = "{queue}"
poll_secs = 1
visibility_timeout_secs = 2
{OUT_AND_ERRORS}"#,
            endpoint = proxy.url(),
        );
        std::fs::write(dir.path().join("pipeline.toml"), text).unwrap();
        let mut case = Self {
            _moto: moto,
            proxy,
            rt,
            s3,
            sqs,
            queue,
            dir,
            weir: None,
            api,
        };
        case.object("before.log", "good s3 before\n");
        case.weir = Some(Weir::start(
            case.dir.path(),
            &["run", "-c", "pipeline.toml"],
            &weir_tests::moto_aws::WEIR_ENV,
        ));
        case
    }

    /// Puts an object (unless `body` is empty) and sends its notification.
    fn object(&self, key: &str, body: &str) {
        self.rt.block_on(async {
            if !body.is_empty() {
                self.s3
                    .put_object()
                    .bucket("logs")
                    .key(key)
                    .body(aws_sdk_s3::primitives::ByteStream::from(
                        body.as_bytes().to_vec(),
                    ))
                    .send()
                    .await
                    .unwrap();
            }
        });
        self.send(&weir_tests::moto_aws::s3_notification("logs", key));
    }

    fn send(&self, body: &str) {
        self.rt.block_on(async {
            self.sqs
                .send_message()
                .queue_url(&self.queue)
                .message_body(body)
                .send()
                .await
                .unwrap();
        });
    }

    fn error_event(&self, error_type: &str) -> serde_json::Value {
        let started = Instant::now();
        loop {
            let errors = ndjson(&self.dir.path().join("errors/errors.ndjson"));
            if let Some(e) = errors.into_iter().find(|e| e["error_type"] == error_type) {
                return e;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "no {error_type} event\n{}",
                self.weir.as_ref().unwrap().log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The good object after the bad message arrives (and the one before), the error was
    /// counted, and the pipeline stops cleanly.
    fn check(mut self, error_type: &str) {
        self.object("after.log", "good s3 after\n");
        let started = Instant::now();
        let out = self.dir.path().join("out/events.ndjson");
        loop {
            let messages: Vec<String> = ndjson(&out)
                .iter()
                .filter_map(|e| e["message"].as_str().map(str::to_string))
                .collect();
            if messages.contains(&"good s3 before".to_string())
                && messages.contains(&"good s3 after".to_string())
            {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "good objects not delivered: {messages:?}\n{}",
                self.weir.as_ref().unwrap().log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let counted = http_get(self.api, "/metrics")
            .and_then(|(_, text)| {
                metric(
                    &text,
                    "weir_component_errors_total",
                    &[("component_id", "in"), ("error_type", error_type)],
                )
            })
            .unwrap_or(0.0);
        let mut weir = self.weir.take().unwrap();
        assert!(counted >= 1.0, "{error_type}\n{}", weir.log_text());
        weir.signal(libc::SIGTERM);
        assert!(weir.wait(Duration::from_secs(30)).success());
    }
}

#[test]
fn malformed_sqs_body() {
    let case = S3::start();
    case.send("this is not an S3 notification");
    let event = case.error_event("invalid_message");
    assert_eq!(event["message"], "this is not an S3 notification");
    assert!(event["sqs"]["message_id"].as_str().is_some(), "{event}");
    case.check("invalid_message");
}

#[test]
fn s3_object_deleted_before_it_is_read() {
    let case = S3::start();
    case.object("deleted.log", "");
    let event = case.error_event("object_not_found");
    assert_eq!(event["s3"]["key"], "deleted.log");
    assert!(
        event["error"]
            .as_str()
            .unwrap_or_default()
            .starts_with("GetObject on s3://logs/deleted.log: it does not exist"),
        "{event}"
    );
    case.check("object_not_found");
}

#[test]
fn access_denied_on_get_object() {
    let case = S3::start();
    case.proxy
        .rules(|r| r.fail_next = Some(("/logs/denied.log".into(), 1000, 403)));
    case.object("denied.log", "never read\n");
    let event = case.error_event("aws_access_denied");
    assert_eq!(event["s3"]["key"], "denied.log");
    assert!(
        event["error"]
            .as_str()
            .unwrap_or_default()
            .starts_with("GetObject on s3://logs/denied.log: access denied"),
        "{event}"
    );
    case.check("aws_access_denied");
}

/// A default-format (version 2) VPC Flow record on interface `eni`.
fn vpc_default(eni: &str) -> String {
    format!("2 123456789012 {eni} 10.0.1.5 10.0.2.9 443 49152 6 10 840 1714521600 1714521660 ACCEPT OK\n")
}

/// Two records of a custom format (`${version} ${vpc-id} ${subnet-id} ${instance-id}
/// ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes}
/// ${start} ${end} ${action} ${log-status}`) without the header line S3 delivery writes.
const VPC_CUSTOM: &str = "3 vpc-0a1b2c3d subnet-11aa22bb i-0123456789abcdef0 eni-custom1 10.0.1.5 10.0.2.9 443 49152 6 10 840 1714521600 1714521660 ACCEPT OK\n\
3 vpc-0a1b2c3d subnet-11aa22bb i-0123456789abcdef0 eni-custom2 10.0.2.9 10.0.1.5 49152 443 6 8 600 1714521600 1714521660 ACCEPT OK\n";

/// `file` → `aws_parse` (auto) → `out/`, both errors → `errors/`; returns the API port.
fn vpc_pipeline(dir: &Path, parse_extra: &str) -> u16 {
    std::fs::create_dir(dir.join("in")).unwrap();
    let api = free_port();
    let text = format!(
        r#"
data_dir = "data"
[api]
address = "127.0.0.1:{api}"
[sources.in]
type = "file"
include = ["in/*"]
glob_interval_ms = 100
[transforms.parse]
type = "aws_parse"
inputs = ["in"]
{parse_extra}
[sinks.out]
type = "file"
inputs = ["parse"]
path = "out/events.ndjson"
[sinks.errors]
type = "file"
inputs = ["in.errors", "parse.errors"]
path = "errors/errors.ndjson"
"#
    );
    std::fs::write(dir.join("pipeline.toml"), text).unwrap();
    api
}

/// Waits (60 s) until `done` holds for the parsed events and the error events.
fn wait_vpc(
    dir: &Path,
    weir: &Weir,
    done: impl Fn(&[serde_json::Value], &[serde_json::Value]) -> bool,
) {
    let started = Instant::now();
    loop {
        let events = ndjson(&dir.join("out/events.ndjson"));
        let errors = ndjson(&dir.join("errors/errors.ndjson"));
        if done(&events, &errors) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "events {events:?}\nerrors {errors:?}\n{}",
            weir.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn interfaces(events: &[serde_json::Value]) -> Vec<&str> {
    events
        .iter()
        .filter_map(|e| e["interface_id"].as_str())
        .collect()
}

/// A header-less custom-format VPC Flow file is not misread as the default format: its records
/// go to `parse.errors` whole, the default-format files around it parse, the pipeline runs on;
/// and with its format given (`vpc_flow_format`) the same file parses field by field.
#[test]
fn headerless_vpc_flow_file_with_a_custom_format() {
    let dir = tempfile::tempdir().unwrap();
    let api = vpc_pipeline(dir.path(), "");
    std::fs::write(
        dir.path().join("in/0-default.log"),
        vpc_default("eni-before"),
    )
    .unwrap();
    let mut weir = Weir::start(dir.path(), &["run", "-c", "pipeline.toml"], &[]);
    wait_vpc(dir.path(), &weir, |e, _| interfaces(e) == ["eni-before"]);
    std::fs::write(dir.path().join("in/1-custom.log"), VPC_CUSTOM).unwrap();
    wait_vpc(dir.path(), &weir, |_, errors| errors.len() == 2);
    let errors = ndjson(&dir.path().join("errors/errors.ndjson"));
    for (error, line) in errors.iter().zip(VPC_CUSTOM.lines()) {
        assert_eq!(error["message"], line, "the record is kept whole: {error}");
        assert_eq!(error["error"]["type"], "parse_failed", "{error}");
    }
    std::fs::write(
        dir.path().join("in/2-default.log"),
        vpc_default("eni-after"),
    )
    .unwrap();
    wait_vpc(dir.path(), &weir, |e, _| {
        interfaces(e) == ["eni-before", "eni-after"]
    });
    let counted = http_get(api, "/metrics")
        .and_then(|(_, text)| {
            metric(
                &text,
                "weir_component_errors_total",
                &[("component_id", "parse"), ("error_type", "parse_failed")],
            )
        })
        .unwrap_or(0.0);
    assert_eq!(counted, 2.0);
    weir.signal(libc::SIGTERM);
    assert!(weir.wait(Duration::from_secs(30)).success());

    // Told the format, the same file parses.
    let dir = tempfile::tempdir().unwrap();
    // The flow log's format by field names (`${...}` would be interpolated in a pipeline file
    // unless written `$${...}`).
    let format = "version vpc-id subnet-id instance-id interface-id srcaddr dstaddr srcport \
                  dstport protocol packets bytes start end action log-status";
    vpc_pipeline(
        dir.path(),
        &format!("format = \"vpc_flow\"\nvpc_flow_format = \"{format}\""),
    );
    std::fs::write(dir.path().join("in/1-custom.log"), VPC_CUSTOM).unwrap();
    let mut weir = Weir::start(dir.path(), &["run", "-c", "pipeline.toml"], &[]);
    wait_vpc(dir.path(), &weir, |e, _| {
        interfaces(e) == ["eni-custom1", "eni-custom2"]
    });
    let events = ndjson(&dir.path().join("out/events.ndjson"));
    assert_eq!(events[0]["vpc_id"], "vpc-0a1b2c3d");
    assert_eq!(events[0]["srcport"], 443);
    weir.signal(libc::SIGTERM);
    assert!(weir.wait(Duration::from_secs(30)).success());
}

/// The Kinesis items: an `aws_kinesis` source on a moto stream → `out/`, its errors →
/// `errors/`. Each test puts a good record, the bad one and a good record after it.
struct Kinesis {
    _moto: weir_tests::services::Service,
    rt: tokio::runtime::Runtime,
    kinesis: aws_sdk_kinesis::Client,
    dir: tempfile::TempDir,
    weir: Weir,
    api: u16,
}

impl Kinesis {
    fn start() -> Self {
        use weir_tests::moto_aws::{sdk_config, REGION};
        let moto = weir_tests::services::moto();
        let rt = weir_tests::runtime();
        let kinesis = aws_sdk_kinesis::Client::new(&sdk_config(&rt, &moto.url()));
        rt.block_on(weir_tests::moto_aws::create_active_stream(
            &kinesis,
            "catalogue",
            1,
        ));
        let dir = tempfile::tempdir().unwrap();
        let api = free_port();
        let text = format!(
            r#"
data_dir = "data"
[api]
address = "127.0.0.1:{api}"
[sources.in]
type = "aws_kinesis"
streams = ["catalogue"]
region = "{REGION}"
endpoint = "{endpoint}"
lease_table = "catalogue-leases"
start_position = "trim_horizon"
poll_interval_ms = 200
{OUT_AND_ERRORS}"#,
            endpoint = moto.url(),
        );
        std::fs::write(dir.path().join("pipeline.toml"), text).unwrap();
        let weir = Weir::start(
            dir.path(),
            &["run", "-c", "pipeline.toml"],
            &weir_tests::moto_aws::WEIR_ENV,
        );
        Self {
            _moto: moto,
            rt,
            kinesis,
            dir,
            weir,
            api,
        }
    }

    fn put(&self, data: &[u8]) {
        self.rt.block_on(async {
            self.kinesis
                .put_record()
                .stream_name("catalogue")
                .partition_key("k")
                .data(aws_sdk_kinesis::primitives::Blob::new(data))
                .send()
                .await
                .unwrap();
        });
    }

    fn metric(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        http_get(self.api, "/metrics")
            .and_then(|(_, text)| metric(&text, name, labels))
            .unwrap_or(0.0)
    }

    /// Puts `good kinesis before`, `bad`, `good kinesis after`; waits for both good records
    /// and for `errors` error events; checks the good ones are all that was delivered.
    fn around(&self, bad: &[u8], errors: usize) -> Vec<serde_json::Value> {
        self.put(b"good kinesis before");
        self.put(bad);
        self.put(b"good kinesis after");
        let started = Instant::now();
        loop {
            let events = ndjson(&self.dir.path().join("out/events.ndjson"));
            let error_events = ndjson(&self.dir.path().join("errors/errors.ndjson"));
            if events.len() >= 2 && error_events.len() >= errors {
                let messages: Vec<&str> = events
                    .iter()
                    .filter_map(|e| e["message"].as_str())
                    .collect();
                assert_eq!(messages, ["good kinesis before", "good kinesis after"]);
                return error_events;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "{events:?} {error_events:?}\n{}",
                self.weir.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn stop(mut self) {
        self.weir.signal(libc::SIGTERM);
        assert!(self.weir.wait(Duration::from_secs(30)).success());
    }
}

/// The KPL framing: magic, protobuf, MD5 of the protobuf.
fn kpl_framed(protobuf: &[u8], checksum_of: &[u8]) -> Vec<u8> {
    use md5::Digest as _;
    let mut out = vec![0xF3, 0x89, 0x9A, 0xC2];
    out.extend_from_slice(protobuf);
    out.extend_from_slice(&md5::Md5::digest(checksum_of));
    out
}

#[test]
fn cloudwatch_control_message() {
    let case = Kinesis::start();
    let control = gzip(br#"{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1714521600000,"message":"CWL CONTROL MESSAGE: Checking health of destination"}]}"#);
    // Not an error: acknowledged, counted, no event at all.
    let errors = case.around(&control, 0);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        case.metric(
            "weir_aws_kinesis_control_messages_total",
            &[("component_id", "in")]
        ),
        1.0
    );
    case.stop();
}

#[test]
fn kpl_garbage() {
    let case = Kinesis::start();
    // The magic and a valid checksum of bytes that are no AggregatedRecord protobuf.
    let garbage = b"\xff\xff\xff\xff\x0f this is not protobuf";
    let errors = case.around(&kpl_framed(garbage, garbage), 1);
    assert!(
        errors[0]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("KPL"),
        "{errors:?}"
    );
    assert!(
        errors[0]["message"].as_str().is_some(),
        "the record is kept: {errors:?}"
    );
    assert_eq!(
        case.metric(
            "weir_component_errors_total",
            &[("component_id", "in"), ("error_type", "invalid_record")]
        ),
        1.0
    );
    case.stop();
}

#[test]
fn kpl_record_with_a_bad_checksum() {
    let case = Kinesis::start();
    let aggregate = weir_aws::envelopes::kpl::aggregate(&[("user", b"user record".as_slice())]);
    let mut bad = aggregate.to_vec();
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    let errors = case.around(&bad, 1);
    let error = errors[0]["error"].as_str().unwrap_or_default();
    assert!(error.contains("KPL"), "{errors:?}");
    assert_eq!(
        case.metric(
            "weir_component_errors_total",
            &[("component_id", "in"), ("error_type", "invalid_record")]
        ),
        1.0
    );
    case.stop();
}
