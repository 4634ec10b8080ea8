//! `weir-throughput s3`: the `aws_s3` source from moto into a `blackhole` sink.
//!
//! Starts a private `moto_server` (the tests' own, from `target/test-venv`, installed by
//! `tests/services/install.sh`), creates a bucket whose notifications go to a queue, uploads
//! `--objects` gzip'd ALB-style objects of `--lines` lines with the venv's boto3 (setup only), then
//! runs the release `weir` with `--once` (`aws_s3` → `blackhole`), which exits once the queue is
//! drained, and reports objects/s, events/s and CPU seconds per million events (rusage of the
//! `weir` process). moto answers on loopback in one Python process, so the figures are bounded by
//! moto as much as by Weir: they are a floor, not Weir's ceiling.

use std::io::Write;
use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::{measure, median};

/// Setup script: queue, bucket, notification configuration, objects; prints the queue URL.
const SETUP: &str = r#"
import boto3, gzip, sys
url, objects, lines = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
kw = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
s3, sqs = boto3.client("s3", **kw), boto3.client("sqs", **kw)
queue = sqs.create_queue(QueueName="bench", Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
s3.create_bucket(Bucket="bench-logs")
s3.put_bucket_notification_configuration(Bucket="bench-logs", NotificationConfiguration={
    "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]})
line = ('https 2024-01-01T00:00:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 '
        '10.0.0.1:80 0.086 0.048 0.037 200 200 0 57 "GET https://www.example.com:443/ HTTP/1.1" '
        '"curl/7.46.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 '
        'arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 '
        '"Root=1-58337281-1d84f3d73c47ec4e58577259" "www.example.com" '
        '"arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012" 1 '
        '2024-01-01T00:00:00.186641Z "authenticate,forward" "-" "-" "10.0.0.1:80" "200" "-" "-"\n')
for i in range(objects):
    body = gzip.compress((line * lines).encode())
    key = f"AWSLogs/123456789012/elasticloadbalancing/us-east-1/2024/01/01/123456789012_elasticloadbalancing_us-east-1_app.my-lb.50dc6c495c0c9188_20240101T0000Z_10.0.0.1_{i:06}.log.gz"
    s3.put_object(Bucket="bench-logs", Key=key, Body=body)
print(queue)
"#;

/// Runs the case; `args` are the command line after `s3`.
pub fn run(root: &Path, args: &[String]) -> Result<()> {
    let flag = |name: &str, default: usize| crate::cli::flag(args, name, default);
    let objects = flag("--objects", 200);
    let lines = flag("--lines", 5000);
    let runs = flag("--runs", 3).max(1);
    let threads = flag("--threads", 2);
    let concurrency = flag("--concurrency", 8);
    let weir = crate::cli::release_weir(root)?;
    let python = root.join("target/test-venv/bin/python");
    let work = root.join("target/bench-run/s3");
    let mut results = Vec::new();
    for run in 0..runs {
        let _ = std::fs::remove_dir_all(&work);
        std::fs::create_dir_all(&work)?;
        let moto = weir_tests::services::moto();
        let url = moto.url();
        let setup = Command::new(&python)
            .args(["-c", SETUP, &url, &objects.to_string(), &lines.to_string()])
            .output()
            .context("setup script")?;
        if !setup.status.success() {
            bail!("setup failed: {}", String::from_utf8_lossy(&setup.stderr));
        }
        let queue = String::from_utf8(setup.stdout)?.trim().to_string();
        let pipeline = format!(
            r#"data_dir = "{data}"
api.enabled = false
[sources.in]
type = "aws_s3"
region = "us-east-1"
endpoint = "{url}"
[sources.in.sqs]
queue_url = "{queue}"
poll_secs = 1
concurrency = {concurrency}
[sinks.out]
type = "blackhole"
inputs = ["in"]
"#,
            data = work.join("data").display(),
        );
        let config = work.join("pipeline.toml");
        std::fs::File::create(&config)?.write_all(pipeline.as_bytes())?;
        let m = measure(
            Command::new(&weir)
                .args(["run", "--once", "--threads", &threads.to_string(), "-c"])
                .arg(&config)
                .env("WEIR_LOG", "warn")
                .env("AWS_ACCESS_KEY_ID", "test")
                .env("AWS_SECRET_ACCESS_KEY", "test")
                .env("AWS_EC2_METADATA_DISABLED", "true"),
        )?;
        let left = Command::new(&python)
            .args([
                "-c",
                "import boto3,sys; c=boto3.client('sqs',endpoint_url=sys.argv[1],region_name='us-east-1',aws_access_key_id='t',aws_secret_access_key='t'); a=c.get_queue_attributes(QueueUrl=sys.argv[2],AttributeNames=['All'])['Attributes']; print(int(a['ApproximateNumberOfMessages'])+int(a['ApproximateNumberOfMessagesNotVisible']))",
                &url,
                &queue,
            ])
            .output()?;
        let left = String::from_utf8_lossy(&left.stdout).trim().to_string();
        if left != "0" {
            bail!("run {run}: {left} messages left on the queue");
        }
        eprintln!("run {run}: {:.2} s wall, {:.2} s CPU", m.wall, m.cpu);
        results.push(m);
    }
    let wall = median(results.iter().map(|m| m.wall).collect());
    let cpu = median(results.iter().map(|m| m.cpu).collect());
    let rss = median(results.iter().map(|m| m.max_rss_kib as f64).collect());
    let events = (objects * lines) as f64;
    println!("case s3 (aws_s3 from moto → blackhole), {objects} objects × {lines} lines, {threads} threads, concurrency {concurrency}, median of {runs} runs");
    println!("  events            {events}");
    println!("  wall              {wall:.3} s");
    println!("  objects/s         {:.1}", objects as f64 / wall);
    println!("  events/s          {:.0}", events / wall);
    println!("  CPU               {cpu:.3} s (user + system)");
    println!("  CPU s / M events  {:.2}", cpu / events * 1e6);
    println!("  peak RSS          {:.1} MB", rss / 1024.0);
    Ok(())
}
