//! Issue 16, item 3: failed AWS calls are one readable line (action, resource, what it means,
//! AWS's words), rate-limited and counted by kind; a queue or stream that cannot be reached stops
//! the start with that line unless `startup_check = false`. Against moto, with the fault proxy
//! for what moto does not do (access denied).

use std::path::Path;
use std::time::Duration;

use weir_tests::fault_proxy::{AwsFault, FaultProxy};
use weir_tests::moto_aws::{sdk_config, ACCOUNT, REGION, WEIR_ENV};
use weir_tests::services::moto;
use weir_tests::{free_port, metric, wait_for_metrics, Weir};

/// Writes a pipeline of one AWS source (`source`, the table's body) into a blackhole.
fn pipeline(dir: &Path, source: &str) -> u16 {
    let port = free_port();
    let text = format!(
        r#"
data_dir = "data"
[api]
address = "127.0.0.1:{port}"

{source}

[sinks.out]
type = "blackhole"
inputs = ["src"]
"#
    );
    std::fs::write(dir.join("pipeline.toml"), text).expect("pipeline file");
    port
}

fn run(dir: &Path) -> Weir {
    Weir::start(dir, &["run", "-c", "pipeline.toml"], &WEIR_ENV)
}

fn aws_errors(text: &str, kind: &str) -> f64 {
    metric(
        text,
        "weir_component_errors_total",
        &[("component_id", "src"), ("error_type", kind)],
    )
    .unwrap_or(0.0)
}

#[test]
fn a_missing_queue_or_stream_stops_the_start_with_one_line() {
    let moto = moto();
    let missing_queue = format!("{}/{ACCOUNT}/no-such-queue", moto.url());
    let cases = [
        (
            format!(
                "[sources.src]\ntype = \"aws_s3\"\nregion = \"{REGION}\"\nendpoint = \"{}\"\n\
                 [sources.src.sqs]\nqueue_url = \"{missing_queue}\"",
                moto.url()
            ),
            format!(
                "error: source `src`: GetQueueAttributes on queue {missing_queue}: it does not exist"
            ),
        ),
        (
            format!(
                "[sources.src]\ntype = \"aws_kinesis\"\nregion = \"{REGION}\"\nendpoint = \"{}\"\n\
                 streams = [\"no-such-stream\"]\nlease_table = \"weir-leases\"",
                moto.url()
            ),
            "error: source `src`: DescribeStreamSummary on stream no-such-stream: it does not exist"
                .to_string(),
        ),
    ];
    for (source, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        pipeline(dir.path(), &source);
        let mut weir = run(dir.path());
        let status = weir.wait(Duration::from_secs(60));
        let log = weir.log_text();
        assert!(!status.success(), "started anyway:\n{log}");
        let lines: Vec<&str> = log.lines().filter(|l| l.starts_with("error: ")).collect();
        assert_eq!(lines.len(), 1, "{log}");
        assert!(lines[0].starts_with(&expected), "{log}");
        assert!(!log.contains("SdkError"), "a debug dump:\n{log}");
    }
}

#[test]
fn without_the_check_failures_are_counted_and_logged_once_per_interval() {
    let moto = moto();
    let missing_queue = format!("{}/{ACCOUNT}/no-such-queue", moto.url());
    let dir = tempfile::tempdir().unwrap();
    let port = pipeline(
        dir.path(),
        &format!(
            "[sources.src]\ntype = \"aws_s3\"\nregion = \"{REGION}\"\nendpoint = \"{}\"\n\
             startup_check = false\n[sources.src.sqs]\nqueue_url = \"{missing_queue}\"",
            moto.url()
        ),
    );
    let mut weir = run(dir.path());
    // ReceiveMessage is retried every 3 s: three failures, one line.
    wait_for_metrics(port, Duration::from_secs(60), |t| {
        aws_errors(t, "aws_not_found") >= 3.0
    });
    weir.signal(libc::SIGTERM);
    weir.wait(Duration::from_secs(30));
    let log = weir.log_text();
    let expected = format!("ReceiveMessage on queue {missing_queue}: it does not exist");
    assert_eq!(
        log.lines().filter(|l| l.contains(&expected)).count(),
        1,
        "{log}"
    );
}

#[test]
fn access_denied_is_one_readable_line_naming_action_and_resource() {
    let moto = moto();
    let rt = weir_tests::runtime();
    let sqs = aws_sdk_sqs::Client::new(&sdk_config(&rt, &moto.url()));
    let queue = rt
        .block_on(sqs.create_queue().queue_name("denied").send())
        .unwrap()
        .queue_url
        .unwrap();
    let proxy = FaultProxy::start(&moto.address());
    proxy.rules(|r| {
        r.aws_faults.push(AwsFault::new(
            "AmazonSQS.ReceiveMessage",
            "AccessDenied",
            1000,
        ))
    });
    let dir = tempfile::tempdir().unwrap();
    let port = pipeline(
        dir.path(),
        &format!(
            "[sources.src]\ntype = \"aws_s3\"\nregion = \"{REGION}\"\nendpoint = \"{}\"\n\
             [sources.src.sqs]\nqueue_url = \"{queue}\"",
            proxy.url()
        ),
    );
    // The startup check (GetQueueAttributes) passes; receiving is denied.
    let mut weir = run(dir.path());
    wait_for_metrics(port, Duration::from_secs(60), |t| {
        aws_errors(t, "aws_access_denied") >= 1.0
    });
    weir.signal(libc::SIGTERM);
    weir.wait(Duration::from_secs(30));
    let log = weir.log_text();
    let expected = format!(
        "ReceiveMessage on queue {queue}: access denied: the credentials lack the permission \
         (AccessDenied: User: arn:aws:iam::123456789012:user/weir is not authorized to perform \
         this action); retrying every 3 s"
    );
    assert!(log.contains(&expected), "{log}");
}
