//! Per-format parser throughput on one thread, over realistic records: the workloads of
//! `../shared/bench/gen.py` where it makes them (ALB, VPC Flow, CloudTrail, S3 access, CloudFront)
//! and the corpus records, repeated, for the other formats. Side by side in the same run: VRL's own
//! `parse_aws_alb_log`, `parse_aws_vpc_flow_log` and `parse_aws_cloudwatch_log_subscription_message`,
//! compiled as VRL programs and run on the same records.
//!
//! `weir/<format>` parses into the form events carry (records with shared field names for
//! positional formats; see `weir_core::fields`), `weir-as-map/<format>` into maps as VRL does.
//!
//! Each benchmark parses `n` records; criterion reports records/s ("elem/s"). The average record
//! size is printed at start, so MB/s = records/s × size.

use std::path::{Path, PathBuf};
use std::process::Command;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use vrl::compiler::state::RuntimeState;
use vrl::compiler::{Context, TargetValue, TimeZone};
use vrl::value::{ObjectMap, Secrets, Value};
use vrl_stdlib as vrl;
use weir_aws::formats::{registry, ParseError, RecordParser};

const RECORDS: usize = 20_000;

/// jemalloc, the allocator both the `weir` binary and Vector's release builds ship with: parsers
/// allocate many small values, so timing them on another allocator measures the wrong thing.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Lines of a generated workload (generating a small one if the full one is not there).
fn generated(file: &str, only: &str) -> Vec<Bytes> {
    let full = root().join("target/bench-data").join(file);
    let small = root().join("target/bench-data-small").join(file);
    let path = if full.is_file() {
        full
    } else {
        if !small.is_file() {
            let status = Command::new("python3")
                .arg(root().join("../shared/bench/gen.py"))
                .args(["--only", only, "--scale", "0.05", "--out"])
                .arg(root().join("target/bench-data-small"))
                .status()
                .expect("python3 runs gen.py");
            assert!(status.success(), "gen.py failed");
        }
        small
    };
    let text = std::fs::read(&path).expect("workload");
    Bytes::from(text)
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .take(RECORDS)
        .map(Bytes::copy_from_slice)
        .collect()
}

/// Records of a corpus file, repeated to `RECORDS` (JSON files are one record each).
fn corpus(path: &str) -> Vec<Bytes> {
    let full = root().join("../shared/corpus").join(path);
    let text = std::fs::read(&full).expect("corpus file");
    let records: Vec<Bytes> = if path.ends_with(".json") {
        let value: serde_json::Value = serde_json::from_slice(&text).expect("json");
        vec![Bytes::from(serde_json::to_vec(&value).expect("json"))]
    } else {
        text.split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(Bytes::copy_from_slice)
            .collect()
    };
    records.iter().cycle().take(RECORDS).cloned().collect()
}

fn weir_case(c: &mut Criterion, format: &str, records: &[Bytes]) {
    let bytes: usize = records.iter().map(Bytes::len).sum();
    eprintln!(
        "{format}: {} records, {:.0} bytes/record",
        records.len(),
        bytes as f64 / records.len() as f64
    );
    // What `aws_parse` does: the parser's own form (records for positional formats).
    bench_parse(c, "weir", format, records, |parser, record, out| {
        parser.parse_fields(record, out)
    });
}

/// The same parse, as maps (what a transform that rewrites fields turns a record into): the cost
/// of the record form's saving, shown for the formats compared with VRL.
fn weir_as_map_case(c: &mut Criterion, format: &str, records: &[Bytes]) {
    bench_parse(c, "weir-as-map", format, records, |parser, record, out| {
        parser.parse(record, out)
    });
}

/// Times `parse` of every record by a fresh parser of `format`, as benchmark `<label>/<format>`.
fn bench_parse<T>(
    c: &mut Criterion,
    label: &str,
    format: &str,
    records: &[Bytes],
    parse: fn(&mut dyn RecordParser, &Bytes, &mut Vec<T>) -> Result<(), ParseError>,
) {
    let spec = registry::find(format).expect("format");
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Elements(records.len() as u64));
    group.sample_size(10);
    group.bench_function(format!("{label}/{format}"), |b| {
        let mut out: Vec<T> = Vec::with_capacity(4);
        b.iter(|| {
            let mut parser = (spec.new_parser)();
            let mut parsed = 0usize;
            for record in records {
                out.clear();
                if parse(parser.as_mut(), record, &mut out).is_ok() {
                    parsed += out.len();
                }
            }
            parsed
        })
    });
    group.finish();
}

fn vrl_case(c: &mut Criterion, name: &str, program: &str, records: &[Bytes]) {
    let functions = vrl::stdlib::all();
    let compiled = vrl::compiler::compile(program, &functions).expect("VRL program compiles");
    let timezone = TimeZone::default();
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Elements(records.len() as u64));
    group.sample_size(10);
    group.bench_function(format!("vrl/{name}"), |b| {
        b.iter(|| {
            let mut ok = 0usize;
            for record in records {
                let mut event = ObjectMap::new();
                event.insert("message".into(), Value::Bytes(record.clone()));
                let mut target = TargetValue {
                    value: Value::Object(event),
                    metadata: Value::Object(ObjectMap::new()),
                    secrets: Secrets::new(),
                };
                let mut state = RuntimeState::default();
                let mut cx = Context::new(&mut target, &mut state, &timezone);
                if compiled.program.resolve(&mut cx).is_ok() {
                    ok += 1;
                }
            }
            ok
        })
    });
    group.finish();
}

fn parsers(c: &mut Criterion) {
    let alb = generated("alb.log", "alb");
    weir_case(c, "alb", &alb);
    weir_as_map_case(c, "alb", &alb);
    vrl_case(c, "alb", ". = parse_aws_alb_log!(.message)", &alb);

    // The VRL function takes the default v2 format; skip the S3 header line for it.
    let vpc = generated("vpc.log", "vpc");
    weir_case(c, "vpc_flow", &vpc);
    weir_as_map_case(c, "vpc_flow", &vpc);
    vrl_case(
        c,
        "vpc_flow",
        ". = parse_aws_vpc_flow_log!(.message)",
        &vpc[1..],
    );

    let cloudwatch = corpus("cloudwatch-subscription/vrl-expected/vrl-doc-example.json");
    weir_case(c, "cloudwatch_logs", &cloudwatch);
    vrl_case(
        c,
        "cloudwatch_logs",
        ". = parse_aws_cloudwatch_log_subscription_message!(.message)",
        &cloudwatch,
    );

    weir_case(
        c,
        "cloudtrail",
        &generated("cloudtrail.ndjson", "cloudtrail"),
    );
    weir_case(c, "s3_access", &generated("s3access.log", "s3access"));
    weir_case(c, "cloudfront", &generated("cloudfront.log", "cloudfront"));

    for (format, path) in [
        ("nlb", "nlb/otel/tls-alpn-with-connection-creation-time.log"),
        ("elb_classic", "elb-classic/docs/http.log"),
        ("route53_query", "route53-query-logs/docs/query-log.log"),
        (
            "route53_resolver",
            "route53-resolver-query-logs/docs/resolver-query-log.json",
        ),
        ("waf", "waf/docs/example-1.json"),
        ("lambda", "lambda-cloudwatch/docs/nodejs-logging-1.log"),
        (
            "rds_postgresql",
            "rds/postgresql/docs-USER_LogAccess.Concepts.PostgreSQL-1.log",
        ),
        (
            "redshift_connection",
            "redshift-audit/signalfx/redshift_connectionlog.log",
        ),
        (
            "redshift_user_activity",
            "redshift-audit/signalfx/redshift_useractivitylog.log",
        ),
        (
            "apigateway_execution",
            "apigateway/signalfx/execution-log.json",
        ),
        (
            "s3_notification",
            "s3-event-notifications/sqs/docs-objectcreated-put.json",
        ),
    ] {
        weir_case(c, format, &corpus(path));
    }
}

criterion_group!(benches, parsers);
criterion_main!(benches);
