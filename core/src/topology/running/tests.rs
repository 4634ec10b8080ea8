//! The running topology's tests: fan-out and acknowledgements, and reloads under traffic.

use crate::component::PluginCommon;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use async_trait::async_trait;

use super::*;
use crate::ack::{BatchNotifier, BatchStatus, EventFinalizers, EventStatus};
use crate::component::{Sink, SinkConfig, Source, SourceConfig, TransformConfig};
use crate::event::{Event, EventMetadata};
use crate::topology::{ComponentConfig, PluginConfig};

/// Waits for every batch's status (after the source dropped its outputs) and records it.
async fn record_statuses(
    pending: Vec<tokio::sync::oneshot::Receiver<BatchStatus>>,
    into: &Mutex<Vec<BatchStatus>>,
) {
    for status in pending {
        if let Ok(status) = status.await {
            into.lock().unwrap().push(status);
        }
    }
}

/// Emits `events` events in batches of 10, then waits for every batch's status.
#[derive(Debug)]
struct Emit {
    events: usize,
    statuses: Arc<Mutex<Vec<BatchStatus>>>,
}

struct EmitSource(usize, Arc<Mutex<Vec<BatchStatus>>>);

impl PluginCommon for Emit {}

impl SourceConfig for Emit {
    fn build(&self, _: &BuildContext) -> Result<Box<dyn Source>, BuildError> {
        Ok(Box::new(EmitSource(
            self.events,
            Arc::clone(&self.statuses),
        )))
    }
}

#[async_trait]
impl Source for EmitSource {
    async fn run(self: Box<Self>, mut cx: SourceContext) -> Result<(), ComponentError> {
        let mut pending = Vec::new();
        for chunk in 0..self.0.div_ceil(10) {
            let (batch, status) = BatchNotifier::with_receiver();
            let events = (0..10.min(self.0 - chunk * 10))
                .map(|i| {
                    let mut meta =
                        EventMetadata::new(Arc::clone(&cx.id), "test", chrono::Utc::now());
                    meta.finalizers = EventFinalizers::one(batch.finalizer());
                    Event::from_message(format!("{chunk}-{i}"), meta)
                })
                .collect();
            drop(batch);
            cx.out.send(events).await;
            pending.push(status);
        }
        drop(cx.out);
        record_statuses(pending, &self.1).await;
        Ok(())
    }
}

/// Finalizes everything with one status, optionally slowly; counts what it saw.
#[derive(Debug)]
struct Finish {
    status: EventStatus,
    delay_ms: u64,
    seen: Arc<AtomicUsize>,
}

struct FinishSink(EventStatus, u64, Arc<AtomicUsize>);

impl PluginCommon for Finish {}

impl SinkConfig for Finish {
    fn build(&self, _: &BuildContext) -> Result<Box<dyn Sink>, BuildError> {
        Ok(Box::new(FinishSink(
            self.status,
            self.delay_ms,
            Arc::clone(&self.seen),
        )))
    }
}

#[async_trait]
impl Sink for FinishSink {
    async fn run(
        self: Box<Self>,
        mut input: SinkInput,
        _cx: SinkContext,
    ) -> Result<(), ComponentError> {
        while let Some(events) = input.next_batch().await {
            tokio::time::sleep(Duration::from_millis(self.1)).await;
            self.2.fetch_add(events.len(), Ordering::Relaxed);
            crate::event::finalize_all(events, self.0);
        }
        Ok(())
    }
}

fn component(inputs: &[&str], max_events: usize, plugin: PluginConfig) -> ComponentConfig {
    ComponentConfig {
        type_name: "test".into(),
        inputs: inputs.iter().map(|s| s.to_string()).collect(),
        buffer: BufferConfig {
            max_events,
            ..BufferConfig::default()
        },
        plugin,
        raw: serde_json::Value::Null,
    }
}

async fn fan_out(second: EventStatus) -> (Vec<BatchStatus>, usize, usize) {
    let statuses = Arc::new(Mutex::new(Vec::new()));
    let (fast, slow) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut config = PipelineConfig::default();
    let emit = Emit {
        events: 100,
        statuses: Arc::clone(&statuses),
    };
    config.components.insert(
        "src".into(),
        component(&[], 1, PluginConfig::Source(Box::new(emit))),
    );
    let a = Finish {
        status: EventStatus::Delivered,
        delay_ms: 0,
        seen: Arc::clone(&fast),
    };
    let b = Finish {
        status: second,
        delay_ms: 5,
        seen: Arc::clone(&slow),
    };
    config.components.insert(
        "a".into(),
        component(&["src"], 1000, PluginConfig::Sink(Box::new(a))),
    );
    config.components.insert(
        "b".into(),
        component(&["src"], 10, PluginConfig::Sink(Box::new(b))),
    );
    let metrics = Metrics::new("test").unwrap();
    let mut topology = RunningTopology::start(
        config,
        &metrics,
        RunOptions {
            once: true,
            ..RunOptions::default()
        },
    )
    .unwrap();
    tokio::time::timeout(Duration::from_secs(10), topology.wait())
        .await
        .unwrap();
    let statuses = statuses.lock().unwrap().clone();
    (
        statuses,
        fast.load(Ordering::Relaxed),
        slow.load(Ordering::Relaxed),
    )
}

#[tokio::test]
async fn fan_out_delivers_every_event_to_every_consumer() {
    let (statuses, fast, slow) = fan_out(EventStatus::Delivered).await;
    assert_eq!(
        (fast, slow),
        (100, 100),
        "the slow consumer with a small buffer still gets everything"
    );
    assert_eq!(statuses, vec![BatchStatus::Delivered; 10]);
}

#[tokio::test]
async fn fan_out_with_one_rejecting_sink_reports_rejected_to_the_source() {
    let (statuses, fast, slow) = fan_out(EventStatus::Rejected).await;
    assert_eq!((fast, slow), (100, 100));
    assert_eq!(
        statuses,
        vec![BatchStatus::Rejected; 10],
        "a rejection is never a delivery"
    );
}

/// Emits numbered events in batches of 10 until stopped; records every batch's status.
#[derive(Debug)]
struct Counter {
    next: Arc<AtomicUsize>,
    statuses: Arc<Mutex<Vec<BatchStatus>>>,
    builds: Arc<AtomicUsize>,
}

struct CounterSource(Arc<AtomicUsize>, Arc<Mutex<Vec<BatchStatus>>>);

impl PluginCommon for Counter {}

impl SourceConfig for Counter {
    fn build(&self, _: &BuildContext) -> Result<Box<dyn Source>, BuildError> {
        self.builds.fetch_add(1, Ordering::Relaxed);
        Ok(Box::new(CounterSource(
            Arc::clone(&self.next),
            Arc::clone(&self.statuses),
        )))
    }
}

#[async_trait]
impl Source for CounterSource {
    async fn run(self: Box<Self>, mut cx: SourceContext) -> Result<(), ComponentError> {
        let mut pending = Vec::new();
        while !cx.shutdown.is_cancelled() {
            let (batch, status) = BatchNotifier::with_receiver();
            let events = (0..10)
                .map(|_| {
                    let n = self.0.fetch_add(1, Ordering::Relaxed);
                    let mut meta =
                        EventMetadata::new(Arc::clone(&cx.id), "test", chrono::Utc::now());
                    meta.finalizers = EventFinalizers::one(batch.finalizer());
                    Event::from_message(n.to_string(), meta)
                })
                .collect();
            drop(batch);
            cx.out.send(events).await;
            pending.push(status);
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        drop(cx.out);
        record_statuses(pending, &self.1).await;
        Ok(())
    }
}

/// Records the messages it delivers, tagged with its build generation.
#[derive(Debug)]
struct Collect {
    seen: Arc<Mutex<Vec<(usize, String)>>>,
    builds: Arc<AtomicUsize>,
}

struct CollectSink(usize, Arc<Mutex<Vec<(usize, String)>>>);

impl PluginCommon for Collect {}

impl SinkConfig for Collect {
    fn build(&self, _: &BuildContext) -> Result<Box<dyn Sink>, BuildError> {
        let generation = self.builds.fetch_add(1, Ordering::Relaxed);
        Ok(Box::new(CollectSink(generation, Arc::clone(&self.seen))))
    }
}

#[async_trait]
impl Sink for CollectSink {
    async fn run(
        self: Box<Self>,
        mut input: SinkInput,
        _cx: SinkContext,
    ) -> Result<(), ComponentError> {
        while let Some(events) = input.next_batch().await {
            {
                let mut seen = self.1.lock().unwrap();
                for event in &events {
                    let message = event
                        .message_bytes()
                        .map(|b| String::from_utf8_lossy(b).into_owned())
                        .unwrap_or_default();
                    seen.push((self.0, message));
                }
            }
            crate::event::finalize_all(events, EventStatus::Delivered);
        }
        Ok(())
    }
}

/// Never builds.
#[derive(Debug)]
struct Unbuildable;

impl PluginCommon for Unbuildable {}

impl SinkConfig for Unbuildable {
    fn build(&self, _: &BuildContext) -> Result<Box<dyn Sink>, BuildError> {
        Err(BuildError::new("path", "cannot be opened"))
    }
}

struct Rig {
    next: Arc<AtomicUsize>,
    statuses: Arc<Mutex<Vec<BatchStatus>>>,
    source_builds: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<(usize, String)>>>,
    sink_builds: Arc<AtomicUsize>,
}

impl Rig {
    fn new() -> Self {
        Self {
            next: Arc::default(),
            statuses: Arc::default(),
            source_builds: Arc::default(),
            seen: Arc::default(),
            sink_builds: Arc::default(),
        }
    }

    /// `src` → `out`, with `raw` marking the sink's settings (a different value = changed).
    fn pipeline(
        &self,
        sources: &[&str],
        sink_inputs: &[&str],
        sink_setting: i64,
    ) -> PipelineConfig {
        let mut config = PipelineConfig::default();
        for id in sources {
            let counter = Counter {
                next: Arc::clone(&self.next),
                statuses: Arc::clone(&self.statuses),
                builds: Arc::clone(&self.source_builds),
            };
            let mut c = component(&[], 1, PluginConfig::Source(Box::new(counter)));
            c.raw = serde_json::json!({"type": "counter"});
            config.components.insert(id.to_string(), c);
        }
        let collect = Collect {
            seen: Arc::clone(&self.seen),
            builds: Arc::clone(&self.sink_builds),
        };
        let mut sink = component(sink_inputs, 50, PluginConfig::Sink(Box::new(collect)));
        sink.raw =
            serde_json::json!({"type": "collect", "setting": sink_setting, "inputs": sink_inputs});
        config.components.insert("out".into(), sink);
        config
    }

    /// Every emitted number was delivered at least once, and every batch acknowledged delivered.
    fn assert_nothing_lost(&self) -> usize {
        let emitted = self.next.load(Ordering::Relaxed);
        let seen = self.seen.lock().unwrap();
        let mut numbers: Vec<usize> = seen.iter().filter_map(|(_, m)| m.parse().ok()).collect();
        numbers.sort_unstable();
        numbers.dedup();
        assert_eq!(numbers.len(), emitted, "every emitted event arrives");
        let statuses = self.statuses.lock().unwrap();
        assert!(statuses.iter().all(|s| *s == BatchStatus::Delivered));
        assert_eq!(statuses.len() * 10, emitted);
        emitted
    }
}

async fn flow(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replacing_a_sink_under_traffic_loses_nothing_and_keeps_the_source() {
    let rig = Rig::new();
    let metrics = Metrics::new("test").unwrap();
    let mut topology = RunningTopology::start(
        rig.pipeline(&["src"], &["src"], 1),
        &metrics,
        RunOptions::default(),
    )
    .unwrap();
    flow(100).await;
    for setting in 2..6 {
        let plan = topology
            .reload(rig.pipeline(&["src"], &["src"], setting))
            .unwrap();
        assert_eq!(plan.changes["out"], Change::Changed);
        assert_eq!(plan.changes["src"], Change::Unchanged);
        flow(50).await;
    }
    topology.stop(Duration::from_secs(10)).await.unwrap();
    let emitted = rig.assert_nothing_lost();
    assert!(emitted > 100, "traffic flowed: {emitted}");
    assert_eq!(
        rig.source_builds.load(Ordering::Relaxed),
        1,
        "the source was never rebuilt"
    );
    assert_eq!(rig.sink_builds.load(Ordering::Relaxed), 5);
    let generations: std::collections::BTreeSet<usize> =
        rig.seen.lock().unwrap().iter().map(|(g, _)| *g).collect();
    assert!(
        generations.len() >= 2,
        "replacements delivered too: {generations:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_are_replaced_added_removed_and_sinks_rewired_without_loss() {
    let rig = Rig::new();
    let metrics = Metrics::new("test").unwrap();
    let mut topology = RunningTopology::start(
        rig.pipeline(&["a"], &["a"], 1),
        &metrics,
        RunOptions::default(),
    )
    .unwrap();
    flow(50).await;
    // Add a source and rewire the sink to both: the sink is not rebuilt.
    let plan = topology
        .reload(rig.pipeline(&["a", "b"], &["a", "b"], 1))
        .unwrap();
    assert_eq!(plan.changes["out"], Change::Rewired);
    assert_eq!(plan.changes["b"], Change::Added);
    flow(50).await;
    // Remove the first source: it drains; the sink keeps running.
    let plan = topology.reload(rig.pipeline(&["b"], &["b"], 1)).unwrap();
    assert_eq!(plan.removed, vec!["a".to_string()]);
    flow(50).await;
    assert_eq!(
        rig.sink_builds.load(Ordering::Relaxed),
        1,
        "rewiring never rebuilds"
    );
    // Change the source: the old one stops and acknowledges, the new one starts after it.
    let mut changed = rig.pipeline(&["b"], &["b"], 1);
    changed.components.get_mut("b").unwrap().raw = serde_json::json!({"type": "counter", "v": 2});
    let plan = topology.reload(changed).unwrap();
    assert_eq!(plan.changes["b"], Change::Changed);
    flow(50).await;
    topology.stop(Duration::from_secs(10)).await.unwrap();
    rig.assert_nothing_lost();
    assert_eq!(rig.source_builds.load(Ordering::Relaxed), 3);
}

#[tokio::test]
async fn a_reload_that_does_not_build_or_moves_data_dir_changes_nothing() {
    let rig = Rig::new();
    let metrics = Metrics::new("test").unwrap();
    let mut topology = RunningTopology::start(
        rig.pipeline(&["a"], &["a"], 1),
        &metrics,
        RunOptions::default(),
    )
    .unwrap();
    let mut moved = rig.pipeline(&["a"], &["a"], 2);
    moved.data_dir = PathBuf::from("/elsewhere");
    let error = topology.reload(moved).unwrap_err();
    assert!(error.to_string().contains("needs a restart"), "{error}");
    // A changed sink that does not build, beside a source that would be added.
    let mut broken = rig.pipeline(&["a", "b"], &["a", "b"], 2);
    broken.components.get_mut("out").unwrap().plugin = PluginConfig::Sink(Box::new(Unbuildable));
    let error = topology.reload(broken).unwrap_err();
    assert!(
        matches!(&error, ReloadError::Build(errors) if errors.len() == 1 && errors[0].0 == "out"),
        "{error}"
    );
    assert_eq!(
        rig.sink_builds.load(Ordering::Relaxed),
        1,
        "no partial apply"
    );
    assert_eq!(
        rig.source_builds.load(Ordering::Relaxed),
        2,
        "built, never started"
    );
    let plan = topology.reload(rig.pipeline(&["a"], &["a"], 1)).unwrap();
    assert!(
        plan.is_empty(),
        "the running pipeline is the first one: {plan:?}"
    );
    flow(30).await;
    topology.stop(Duration::from_secs(10)).await.unwrap();
    rig.assert_nothing_lost();
}

/// Passes events through, slowly: at a reload, its buffer still holds events.
#[derive(Debug)]
struct Slow;

struct SlowTransform;

impl PluginCommon for Slow {}

impl TransformConfig for Slow {
    fn build(&self, _: &BuildContext) -> Result<Box<dyn Transform>, BuildError> {
        Ok(Box::new(SlowTransform))
    }
}

impl Transform for SlowTransform {
    fn transform(&mut self, events: Vec<Event>) -> crate::component::TransformJob {
        Box::new(move |out| {
            std::thread::sleep(Duration::from_millis(2));
            out.primary.extend(events);
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn removing_a_transform_while_replacing_its_consumer_loses_nothing() {
    let rig = Rig::new();
    let metrics = Metrics::new("test").unwrap();
    // src → slow → out
    let mut through_slow = rig.pipeline(&["src"], &["slow"], 1);
    let mut slow = component(&["src"], 1, PluginConfig::Transform(Box::new(Slow)));
    slow.raw = serde_json::json!({"type": "slow", "inputs": ["src"]});
    through_slow.components.insert("slow".into(), slow);
    let mut topology =
        RunningTopology::start(through_slow, &metrics, RunOptions::default()).unwrap();
    flow(200).await;
    // src → out, `out` changed: what `slow` still holds must reach the old `out`.
    let plan = topology
        .reload(rig.pipeline(&["src"], &["src"], 2))
        .unwrap();
    assert_eq!(plan.removed, vec!["slow".to_string()]);
    assert_eq!(plan.changes["out"], Change::Changed);
    flow(200).await;
    topology.stop(Duration::from_secs(10)).await.unwrap();
    rig.assert_nothing_lost();
}
