//! The transforms on the same ALB records, one thread, in the form the runtime drives them
//! (`transform_now`: the sequential step and the job, batches of 1,024 events):
//!
//! * `aws_parse/alb` — the `aws_parse` transform, format `alb`;
//! * `remap_parse_aws/alb` — a `remap` whose program is `. = parse_aws!(.message, format: "alb")`:
//!   the same parser called as a VRL function (the ratio of the two is what VRL costs);
//! * `aws_parse+remap/alb-remap` — `aws_parse` then the edit program of case `alb-remap` of
//!   `../shared/bench/README.md`, as two transforms.
//!
//! `cargo bench -p weir-benches --bench transforms`; criterion reports events/s ("elem/s").

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use weir_core::component::TransformConfig;
use weir_core::component::{transform_now, BuildContext, ComponentKind, Transform};
use weir_core::event::{Event, EventMetadata};
use weir_transforms::aws_parse::AwsParseConfig;
use weir_transforms::remap::RemapConfig;

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const RECORDS: usize = 20_000;
const BATCH: usize = 1024;

/// The edit program of case `alb-remap`, in Weir's field names.
const ALB_REMAP: &str = r#"
.http_status = del(.elb_status_code)
.client = del(.client_ip)
del(.ssl_cipher)
del(.ssl_protocol)
.env = "prod"
.severity = if (to_int(.http_status) ?? 0) >= 500 { "error" } else { "info" }
"#;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// ALB lines: the generated workload if there, else the corpus's lines repeated.
fn alb_lines() -> Vec<Bytes> {
    let generated = root().join("target/bench-data/alb.log");
    let text = std::fs::read(&generated).unwrap_or_else(|_| {
        let corpus = root().join("../shared/corpus/alb/docs/https.log");
        std::fs::read(corpus).expect("corpus ALB file")
    });
    let lines: Vec<Bytes> = Bytes::from(text)
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(Bytes::copy_from_slice)
        .collect();
    lines.iter().cycle().take(RECORDS).cloned().collect()
}

fn events(lines: &[Bytes]) -> Vec<Vec<Event>> {
    let stream: Arc<str> = Arc::from("/var/log/alb.log");
    let now = chrono::Utc::now();
    lines
        .chunks(BATCH)
        .map(|chunk| {
            chunk
                .iter()
                .enumerate()
                .map(|(i, line)| {
                    let meta = EventMetadata::new(Arc::from("in"), "file", now)
                        .at(Arc::clone(&stream), i as u64);
                    Event::from_message(line.clone(), meta)
                })
                .collect()
        })
        .collect()
}

fn build(config: &dyn TransformConfig, type_name: &str) -> Box<dyn Transform> {
    let cx = BuildContext::standalone("t", ComponentKind::Transform, type_name, ".".into());
    config.build(&cx).expect("transform builds")
}

fn remap(source: &str) -> Box<dyn Transform> {
    let config: RemapConfig =
        weir_core::component::deserialize_config(serde_json::json!({ "source": source }))
            .expect("remap config");
    build(&config, "remap")
}

fn alb_parse() -> Box<dyn Transform> {
    let config = AwsParseConfig {
        format: "alb".into(),
        ..AwsParseConfig::default()
    };
    build(&config, "aws_parse")
}

/// Transforms applied one after the other.
type Chain = Vec<Box<dyn Transform>>;

/// A benchmark's name and how to make its chain.
type Case = (&'static str, fn() -> Chain);

/// Runs the batches through the chain of transforms; returns the events out of the last.
fn run(chain: &mut [Box<dyn Transform>], batches: Vec<Vec<Event>>) -> usize {
    let mut out = 0;
    for batch in batches {
        let mut events = batch;
        for transform in chain.iter_mut() {
            events = transform_now(transform.as_mut(), events).primary;
        }
        out += events.len();
    }
    out
}

fn transforms(c: &mut Criterion) {
    let lines = alb_lines();
    let mut group = c.benchmark_group("transform");
    group.throughput(Throughput::Elements(lines.len() as u64));
    group.sample_size(10);
    let cases: [Case; 3] = [
        ("aws_parse/alb", || vec![alb_parse()]),
        ("remap_parse_aws/alb", || {
            vec![remap(r#". = parse_aws!(.message, format: "alb")"#)]
        }),
        ("aws_parse+remap/alb-remap", || {
            vec![alb_parse(), remap(ALB_REMAP)]
        }),
    ];
    for (name, make) in cases {
        let mut chain = make();
        assert_eq!(run(&mut chain, events(&lines)), lines.len(), "{name}");
        group.bench_function(name, |b| {
            b.iter_batched(
                || events(&lines),
                |batches| run(&mut chain, batches),
                criterion::BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, transforms);
criterion_main!(benches);
