//! `weir-throughput kinesis`: the `aws_kinesis` source from moto into a `blackhole` sink.
//!
//! Starts a private `moto_server` (from `target/test-venv`), creates a stream of `--shards`
//! shards and puts `--records` ALB-style lines into it with the venv's boto3 (setup only), then
//! runs the release `weir` with `--once` (`aws_kinesis` → `blackhole`, leases and checkpoints in
//! moto's DynamoDB), which exits once every shard is read up to its tip and checkpointed, checks
//! that every shard's checkpoint is its last record, and reports records/s and CPU seconds per
//! million events (rusage of the `weir` process). moto serves GetRecords from one Python process,
//! so the figures are a floor bounded by moto, not Weir's ceiling.

use std::io::Write;
use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::{measure, median};

/// Setup: stream, records; prints `{shard id: last sequence number}` as JSON.
const SETUP: &str = r#"
import boto3, json, sys, time
url, shards, records = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
kw = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
k = boto3.client("kinesis", **kw)
k.create_stream(StreamName="bench", ShardCount=shards)
while k.describe_stream_summary(StreamName="bench")["StreamDescriptionSummary"]["StreamStatus"] != "ACTIVE":
    time.sleep(0.1)
line = ('https 2024-01-01T00:00:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 '
        '10.0.0.1:80 0.086 0.048 0.037 200 200 0 57 "GET https://www.example.com:443/ HTTP/1.1" '
        '"curl/7.46.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2')
last = {}
for start in range(0, records, 500):
    batch = [{"Data": f"{line} {i}".encode(), "PartitionKey": f"k{i}"} for i in range(start, min(start + 500, records))]
    for r in k.put_records(StreamName="bench", Records=batch)["Records"]:
        s, q = r["ShardId"], r["SequenceNumber"]
        if s not in last or (len(q), q) > (len(last[s]), last[s]):
            last[s] = q
print(json.dumps(last))
"#;

/// Prints the lease table's checkpoints as `{shard id: checkpoint}` JSON.
const CHECKPOINTS: &str = r#"
import boto3, json, sys
d = boto3.client("dynamodb", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")
rows = d.scan(TableName="bench-leases")["Items"]
print(json.dumps({r["lease_key"]["S"].split("/", 1)[1]: r.get("checkpoint", {}).get("S") for r in rows}))
"#;

/// Runs the case; `args` are the command line after `kinesis`.
pub fn run(root: &Path, args: &[String]) -> Result<()> {
    let flag = |name: &str, default: usize| crate::cli::flag(args, name, default);
    let shards = flag("--shards", 4);
    let records = flag("--records", 100_000);
    let runs = flag("--runs", 3).max(1);
    let threads = flag("--threads", 2);
    let weir = crate::cli::release_weir(root)?;
    let python = root.join("target/test-venv/bin/python");
    let work = root.join("target/bench-run/kinesis");
    let mut results = Vec::new();
    for run in 0..runs {
        let _ = std::fs::remove_dir_all(&work);
        std::fs::create_dir_all(&work)?;
        let moto = weir_tests::services::moto();
        let url = moto.url();
        let setup = Command::new(&python)
            .args(["-c", SETUP, &url, &shards.to_string(), &records.to_string()])
            .output()
            .context("setup script")?;
        if !setup.status.success() {
            bail!("setup failed: {}", String::from_utf8_lossy(&setup.stderr));
        }
        let expected: serde_json::Value = serde_json::from_slice(&setup.stdout)?;
        let pipeline = format!(
            r#"data_dir = "{data}"
api.enabled = false
[sources.in]
type = "aws_kinesis"
streams = ["bench"]
region = "us-east-1"
endpoint = "{url}"
lease_table = "bench-leases"
start_position = "trim_horizon"
lease_duration_ms = 3000
poll_interval_ms = 200
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
        let checkpoints = Command::new(&python)
            .args(["-c", CHECKPOINTS, &url])
            .output()?;
        let checkpoints: serde_json::Value = serde_json::from_slice(&checkpoints.stdout)
            .with_context(|| String::from_utf8_lossy(&checkpoints.stderr).to_string())?;
        if checkpoints != expected {
            bail!("run {run}: checkpoints {checkpoints} are not the last records {expected}");
        }
        eprintln!("run {run}: {:.2} s wall, {:.2} s CPU", m.wall, m.cpu);
        results.push(m);
    }
    let wall = median(results.iter().map(|m| m.wall).collect());
    let cpu = median(results.iter().map(|m| m.cpu).collect());
    let rss = median(results.iter().map(|m| m.max_rss_kib as f64).collect());
    let events = records as f64;
    println!("case kinesis (aws_kinesis from moto → blackhole), {records} records on {shards} shards, {threads} threads, median of {runs} runs");
    println!("  records           {events}");
    println!("  wall              {wall:.3} s (including start-up, lease table and discovery)");
    println!("  records/s         {:.0}", events / wall);
    println!("  CPU               {cpu:.3} s (user + system)");
    println!("  CPU s / M events  {:.2}", cpu / events * 1e6);
    println!("  peak RSS          {:.1} MB", rss / 1024.0);
    Ok(())
}
