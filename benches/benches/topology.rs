//! Topology throughput: a generator source → a no-op transform → a counting sink, on a runtime with
//! one worker thread. Measures the runtime itself (buffers, fan-out, acknowledgements, metrics),
//! not any plugin: events are pre-built `message` events of ~100 bytes, acknowledged end to end.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir_core::component::PluginCommon;

use async_trait::async_trait;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use weir_core::ack::{BatchNotifier, EventFinalizers, EventStatus};
use weir_core::buffer::BufferConfig;
use weir_core::component::{
    BuildContext, BuildError, ComponentError, Sink, SinkConfig, SinkContext, SinkInput, Source,
    SourceConfig, SourceContext, Transform, TransformConfig, TransformJob,
};
use weir_core::event::{Event, EventMetadata};
use weir_core::metrics::Metrics;
use weir_core::topology::{
    ComponentConfig, PipelineConfig, PluginConfig, RunOptions, RunningTopology,
};

const EVENTS: u64 = 1_000_000;
const BATCH: u64 = 500;

#[derive(Debug)]
struct Generator;
struct GeneratorSource;

impl PluginCommon for Generator {}

impl SourceConfig for Generator {
    fn build(&self, _: &BuildContext) -> Result<Box<dyn Source>, BuildError> {
        Ok(Box::new(GeneratorSource))
    }
}

#[async_trait]
impl Source for GeneratorSource {
    async fn run(self: Box<Self>, mut cx: SourceContext) -> Result<(), ComponentError> {
        let line = bytes::Bytes::from(vec![b'x'; 100]);
        let source_id: Arc<str> = Arc::clone(&cx.id);
        let mut pending = Vec::new();
        for _ in 0..EVENTS / BATCH {
            let (notifier, status) = BatchNotifier::with_receiver();
            let now = chrono::Utc::now();
            let events = (0..BATCH)
                .map(|_| {
                    let mut meta = EventMetadata::new(Arc::clone(&source_id), "generator", now);
                    meta.finalizers = EventFinalizers::one(notifier.finalizer());
                    Event::from_message(line.clone(), meta)
                })
                .collect();
            drop(notifier);
            cx.out.send(events).await;
            pending.push(status);
        }
        drop(cx.out);
        for status in pending {
            let _ = status.await;
        }
        Ok(())
    }
}

#[derive(Debug)]
struct Noop;
struct NoopTransform;

impl PluginCommon for Noop {}

impl TransformConfig for Noop {
    fn build(&self, _: &BuildContext) -> Result<Box<dyn Transform>, BuildError> {
        Ok(Box::new(NoopTransform))
    }
}

impl Transform for NoopTransform {
    fn transform(&mut self, events: Vec<Event>) -> TransformJob {
        Box::new(move |out| out.primary = events)
    }
}

#[derive(Debug)]
struct Counter(Arc<AtomicU64>);
struct CounterSink(Arc<AtomicU64>);

impl PluginCommon for Counter {}

impl SinkConfig for Counter {
    fn build(&self, _: &BuildContext) -> Result<Box<dyn Sink>, BuildError> {
        Ok(Box::new(CounterSink(Arc::clone(&self.0))))
    }
}

#[async_trait]
impl Sink for CounterSink {
    async fn run(
        self: Box<Self>,
        mut input: SinkInput,
        _cx: SinkContext,
    ) -> Result<(), ComponentError> {
        while let Some(events) = input.next_batch().await {
            self.0.fetch_add(events.len() as u64, Ordering::Relaxed);
            for e in events {
                e.finalize(EventStatus::Delivered);
            }
        }
        Ok(())
    }
}

fn component(type_name: &str, inputs: &[&str], plugin: PluginConfig) -> ComponentConfig {
    ComponentConfig {
        type_name: type_name.into(),
        inputs: inputs.iter().map(|s| s.to_string()).collect(),
        buffer: BufferConfig::default(),
        plugin,
        raw: serde_json::Value::Null,
    }
}

fn run_once(runtime: &tokio::runtime::Runtime) -> Duration {
    let count = Arc::new(AtomicU64::new(0));
    let mut config = PipelineConfig::default();
    config.components.insert(
        "gen".into(),
        component("generator", &[], PluginConfig::Source(Box::new(Generator))),
    );
    config.components.insert(
        "noop".into(),
        component("noop", &["gen"], PluginConfig::Transform(Box::new(Noop))),
    );
    config.components.insert(
        "count".into(),
        component(
            "counter",
            &["noop"],
            PluginConfig::Sink(Box::new(Counter(Arc::clone(&count)))),
        ),
    );
    let metrics = Metrics::new("bench").expect("metrics");
    let start = Instant::now();
    runtime.block_on(async {
        let mut topology = RunningTopology::start(
            config,
            &metrics,
            RunOptions {
                once: true,
                ..RunOptions::default()
            },
        )
        .expect("starts");
        topology.wait().await;
    });
    assert_eq!(count.load(Ordering::Relaxed), EVENTS);
    start.elapsed()
}

fn topology_throughput(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("topology");
    group.throughput(Throughput::Elements(EVENTS));
    group.sample_size(10);
    group.bench_function("generator_noop_counter_1_thread", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| run_once(&runtime)).sum())
    });
    group.finish();
}

criterion_group!(benches, topology_throughput);
criterion_main!(benches);
