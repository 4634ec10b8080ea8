//! The running topology: one tokio task per component, bounded buffers between them.
//!
//! Shutdown is a cascade: the runtime cancels the sources' shutdown signal; each source stops
//! reading and drops its outputs; each transform finishes when all its inputs are closed and then
//! drops its own outputs; each sink drains its buffer, flushes and returns; sources, still alive,
//! receive the last acknowledgements and write their checkpoints.
//!
//! Starting is a reload from nothing: [`RunningTopology::reload`] compares a new pipeline with the
//! running one (see [`super::diff`]) and touches only what changed:
//! - unchanged components keep their task, buffer and in-flight acknowledgements;
//! - a component whose only change is `inputs` is rewired: its buffer is added to the consumer
//!   lists of its new inputs and removed from the old ones, without a restart;
//! - a changed transform or sink gets a new input buffer, and every producer is pointed at it; the
//!   old instance drains what it had queued and finishes, and only then does the new one start (so
//!   two instances never write at once); meanwhile events wait in the new buffer (bounded:
//!   producers block);
//! - a changed source is told to stop (it stops reading, waits for its in-flight acknowledgements
//!   and saves its checkpoint) and the new one starts after it, from that checkpoint;
//! - removed sources are stopped; removed transforms and sinks are unhooked from their inputs, so
//!   their buffers close and they drain and finish; added components start.
//!
//! Nothing is touched unless every new or changed component builds.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use super::diff::{self, Change, Diff, Shape};
use super::graph::OutputRef;
use super::{PipelineConfig, PluginConfig, TRANSFORM_BUFFER_EVENTS};
use crate::buffer::{buffer, BufferConfig, BufferReceiver, BufferSender, WeakBufferSender};
use crate::component::{
    BuildContext, BuildError, ComponentError, ComponentKind, SinkContext, SinkInput, SourceContext,
    Transform, TransformOutput,
};
use crate::event::Event;
use crate::metrics::{ComponentMetrics, Metrics, DEFAULT_OUTPUT};
use crate::output::{Consumers, Fanout, Outputs, WeakConsumers};
use crate::shutdown::ShutdownSignal;

/// How the topology runs.
#[derive(Clone, Copy, Debug)]
pub struct RunOptions {
    /// Sources read what is there and finish (`weir run --once`).
    pub once: bool,
    /// How long a replaced or removed component may take to drain on reload before it is aborted
    /// (its unacknowledged events are then redelivered by their sources, not lost).
    pub drain_timeout: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            once: false,
            drain_timeout: Duration::from_secs(30),
        }
    }
}

/// The topology did not stop within its deadline.
#[derive(Debug, thiserror::Error)]
#[error("shutdown deadline passed; still in flight: {}", .in_flight.join("; "))]
pub struct StopError {
    /// What was still running or buffered, one entry per component.
    pub in_flight: Vec<String>,
}

/// A reload was refused; the running pipeline is unchanged.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// Components that did not build.
    #[error("{}", .0.iter().map(|(id, e)| format!("component `{id}`: {e}")).collect::<Vec<_>>().join("; "))]
    Build(Vec<(String, BuildError)>),
    /// `data_dir` holds every checkpoint; moving it under running sources would lose their state.
    #[error(
        "`data_dir` changed from `{old}` to `{new}`: that needs a restart; nothing was reloaded"
    )]
    DataDirChanged {
        /// The running one.
        old: PathBuf,
        /// The requested one.
        new: PathBuf,
    },
}

struct Task {
    id: String,
    kind: ComponentKind,
    metrics: ComponentMetrics,
    handle: JoinHandle<Result<(), ComponentError>>,
    reported: bool,
}

/// What the topology remembers of a running component.
struct Running {
    shape: Shape,
    /// Its input buffer (transforms and sinks), without keeping it open.
    input: Option<WeakBufferSender>,
    /// Its own stop signal (sources), a child of the topology's.
    stop: Option<ShutdownSignal>,
}

/// A built component, ready to spawn.
enum Built {
    Source(Box<dyn crate::component::Source>),
    Transform(Box<dyn Transform>),
    Sink(Box<dyn crate::component::Sink>),
}

/// A started pipeline.
pub struct RunningTopology {
    tasks: Vec<Task>,
    shutdown: ShutdownSignal,
    components: BTreeMap<String, Running>,
    /// Every output port's consumer list, without keeping it alive.
    ports: BTreeMap<OutputRef, WeakConsumers>,
    metrics: Arc<Metrics>,
    options: RunOptions,
    data_dir: Option<PathBuf>,
}

impl RunningTopology {
    /// Builds every component and starts it. Nothing starts unless everything builds.
    pub fn start(
        config: PipelineConfig,
        metrics: &Arc<Metrics>,
        options: RunOptions,
    ) -> Result<Self, Vec<(String, BuildError)>> {
        let mut topology = Self {
            tasks: Vec::new(),
            shutdown: ShutdownSignal::new(),
            components: BTreeMap::new(),
            ports: BTreeMap::new(),
            metrics: Arc::clone(metrics),
            options,
            data_dir: None,
        };
        match topology.reload(config) {
            Ok(_) => Ok(topology),
            Err(ReloadError::Build(errors)) => Err(errors),
            Err(ReloadError::DataDirChanged { .. }) => {
                unreachable!("a new topology has no data_dir")
            }
        }
    }

    /// Applies a new pipeline to the running one, touching only what changed (see the module
    /// docs). On error nothing was touched. Returns what changed.
    pub fn reload(&mut self, config: PipelineConfig) -> Result<Diff, ReloadError> {
        if let Some(old) = &self.data_dir {
            if *old != config.data_dir {
                return Err(ReloadError::DataDirChanged {
                    old: old.clone(),
                    new: config.data_dir,
                });
            }
        }
        let old_shapes: BTreeMap<String, Shape> = self
            .components
            .iter()
            .map(|(id, r)| (id.clone(), r.shape.clone()))
            .collect();
        let plan = diff::diff(&old_shapes, &diff::shapes(&config.components));
        let component_metrics = |id: &str| {
            let c = &config.components[id];
            self.metrics.component(id, c.plugin.kind(), &c.type_name)
        };

        // 1. Build every new or changed component; any failure leaves everything as it was.
        let mut built = BTreeMap::new();
        let mut errors = Vec::new();
        for id in plan.ids(Change::Added).chain(plan.ids(Change::Changed)) {
            let cx = BuildContext {
                id: Arc::from(id),
                data_dir: config.data_dir.clone(),
                metrics: component_metrics(id),
            };
            let result = match &config.components[id].plugin {
                PluginConfig::Source(c) => c.build(&cx).map(Built::Source),
                PluginConfig::Transform(c) => c.build(&cx).map(Built::Transform),
                PluginConfig::Sink(c) => c.build(&cx).map(Built::Sink),
            };
            match result {
                Ok(b) => {
                    built.insert(id.to_string(), b);
                }
                Err(e) => errors.push((id.to_string(), e)),
            }
        }
        if !errors.is_empty() {
            return Err(ReloadError::Build(errors));
        }
        self.data_dir = Some(config.data_dir.clone());

        // 2. A fresh input buffer for every new or replaced consumer; the others keep theirs.
        let mut receivers: BTreeMap<String, BufferReceiver> = BTreeMap::new();
        let mut senders: BTreeMap<String, BufferSender> = BTreeMap::new();
        for (id, component) in &config.components {
            let kind = component.plugin.kind();
            if kind == ComponentKind::Source {
                continue;
            }
            let existing = match plan.changes[id] {
                Change::Unchanged | Change::Rewired => self.components[id]
                    .input
                    .as_ref()
                    .and_then(WeakBufferSender::upgrade),
                Change::Added | Change::Changed => None,
            };
            match existing {
                Some(sender) => {
                    senders.insert(id.clone(), sender);
                }
                None if built.contains_key(id) => {
                    let buffer_config = match kind {
                        ComponentKind::Transform => BufferConfig {
                            max_events: TRANSFORM_BUFFER_EVENTS,
                            ..BufferConfig::default()
                        },
                        _ => component.buffer.clone(),
                    };
                    let (tx, rx) = buffer(&buffer_config, component_metrics(id));
                    senders.insert(id.clone(), tx);
                    receivers.insert(id.clone(), rx);
                }
                // An unchanged consumer whose buffer already closed (all its inputs ended).
                None => {}
            }
        }

        // 3. Every output port's consumer list: kept for running producers (also for a replaced
        //    one, so its consumers carry on with the replacement), new for new ports.
        let mut lists: BTreeMap<OutputRef, Consumers> = BTreeMap::new();
        for (id, component) in &config.components {
            let ports =
                std::iter::once(None).chain(component.plugin.outputs().into_iter().map(Some));
            for port in ports {
                let key = OutputRef {
                    component: id.clone(),
                    port: port.map(str::to_string),
                };
                let list = self
                    .ports
                    .get(&key)
                    .and_then(WeakConsumers::upgrade)
                    .unwrap_or_default();
                lists.insert(key, list);
            }
        }

        // 4. Wire: each consumer into the lists of its inputs (added before anything is removed,
        //    so no buffer sees all its producers go in between), then out of every other list.
        let mut wanted: BTreeMap<OutputRef, Vec<&str>> = BTreeMap::new();
        for (id, component) in &config.components {
            for input in &component.inputs {
                let key = OutputRef::parse(input);
                wanted.entry(key.clone()).or_default().push(id);
                if let (Some(list), Some(sender)) = (lists.get(&key), senders.get(id)) {
                    list.set(id, sender.clone());
                }
            }
        }
        for (key, list) in &lists {
            for consumer in list.ids() {
                let keep = wanted
                    .get(key)
                    .is_some_and(|ids| ids.contains(&consumer.as_str()));
                if !keep {
                    list.remove(&consumer);
                }
            }
        }
        // Removed producers keep feeding their old consumers while they drain, except consumers
        // that are gone or replaced: those must not keep an old buffer open.
        for (key, weak) in &self.ports {
            if config.components.contains_key(&key.component) {
                continue;
            }
            if let Some(list) = weak.upgrade() {
                for consumer in list.ids() {
                    if !matches!(
                        plan.changes.get(&consumer),
                        Some(Change::Unchanged | Change::Rewired)
                    ) {
                        list.remove(&consumer);
                    }
                }
            }
        }
        let weak_inputs: BTreeMap<String, WeakBufferSender> = senders
            .iter()
            .map(|(id, sender)| (id.clone(), sender.downgrade()))
            .collect();
        drop(senders);

        // 5. Stop removed and replaced sources (they drain and checkpoint on their own); removed
        //    transforms and sinks were unhooked above and finish once their buffers are empty.
        for id in plan
            .removed
            .iter()
            .map(String::as_str)
            .chain(plan.ids(Change::Changed))
        {
            if let Some(stop) = self.components.get(id).and_then(|r| r.stop.as_ref()) {
                stop.cancel();
            }
        }

        // 6. Spawn: consumers before producers; a replacement starts once its predecessor is done.
        let mut order: Vec<(String, Built)> = built.into_iter().collect();
        order.sort_by_key(|(_, b)| match b {
            Built::Sink(_) => 0,
            Built::Transform(_) => 1,
            Built::Source(_) => 2,
        });
        let mut new_stops = BTreeMap::new();
        for (id, component) in order {
            let m = component_metrics(&id);
            let arc_id: Arc<str> = Arc::from(id.as_str());
            let out = self.outputs_for(&id, &config, &lists, &m);
            let input = receivers.remove(&id);
            let stop = matches!(component, Built::Source(_)).then(|| self.shutdown.child_token());
            let kind = match component {
                Built::Source(_) => ComponentKind::Source,
                Built::Transform(_) => ComponentKind::Transform,
                Built::Sink(_) => ComponentKind::Sink,
            };
            let once = self.options.once;
            let run: std::pin::Pin<
                Box<dyn std::future::Future<Output = Result<(), ComponentError>> + Send>,
            > = match component {
                Built::Source(source) => {
                    let cx = SourceContext {
                        id: arc_id,
                        out,
                        shutdown: stop.clone().expect("sources get a stop signal"),
                        metrics: m.clone(),
                        once,
                    };
                    source.run(cx)
                }
                Built::Transform(transform) => {
                    let Some(input) = input else {
                        unreachable!("every built transform got a buffer")
                    };
                    Box::pin(run_transform(transform, input, out, m.clone()))
                }
                Built::Sink(sink) => {
                    let Some(input) = input else {
                        unreachable!("every built sink got a buffer")
                    };
                    let cx = SinkContext {
                        id: arc_id,
                        out,
                        metrics: m.clone(),
                    };
                    sink.run(SinkInput::new(input, m.clone()), cx)
                }
            };
            // The instance this one replaces; also a removed one still draining when the same id
            // is added back, so two instances never share a checkpoint or an output.
            let predecessor = self
                .tasks
                .iter()
                .rposition(|t| t.id == id)
                .map(|index| self.tasks.remove(index));
            let drain_timeout = self.options.drain_timeout;
            let started = m.clone();
            let handle = tokio::spawn(async move {
                if let Some(old) = predecessor {
                    await_predecessor(old, drain_timeout).await;
                }
                started.mark_started();
                run.await
            });
            tracing::debug!(component = %id, kind = kind.as_str(), "started");
            self.tasks.push(Task {
                id: id.clone(),
                kind,
                metrics: m,
                handle,
                reported: false,
            });
            new_stops.insert(id, stop);
        }

        // 7. Remember the new pipeline.
        let mut components = BTreeMap::new();
        for (id, component) in &config.components {
            let previous = self.components.remove(id);
            let stop = match new_stops.remove(id) {
                Some(stop) => stop,
                None => previous.as_ref().and_then(|p| p.stop.clone()),
            };
            components.insert(
                id.clone(),
                Running {
                    shape: Shape::of(component),
                    input: weak_inputs.get(id).cloned(),
                    stop,
                },
            );
        }
        self.components = components;
        self.ports = lists
            .iter()
            .map(|(key, list)| (key.clone(), list.downgrade()))
            .collect();
        Ok(plan)
    }

    /// The outputs of a component about to start, over the shared consumer lists of its ports.
    fn outputs_for(
        &self,
        id: &str,
        config: &PipelineConfig,
        lists: &BTreeMap<OutputRef, Consumers>,
        m: &ComponentMetrics,
    ) -> Outputs {
        let fanout = |port: Option<&str>| {
            let key = OutputRef {
                component: id.to_string(),
                port: port.map(str::to_string),
            };
            Fanout::shared(
                lists.get(&key).cloned().unwrap_or_default(),
                m.sent_events(port.unwrap_or(DEFAULT_OUTPUT)),
                m.discarded.clone(),
            )
        };
        let named = config.components[id]
            .plugin
            .outputs()
            .into_iter()
            .map(|name| (name.to_string(), fanout(Some(name))))
            .collect();
        Outputs::new(fanout(None), named, m.clone())
    }

    /// Waits until every component has finished on its own (all sources exhausted, with `--once`).
    /// Cancel-safe: tasks are forgotten only once they were seen to finish.
    pub async fn wait(&mut self) {
        while let Some(task) = self.tasks.first_mut() {
            let result = (&mut task.handle).await;
            report(&task.id, task.kind, result);
            self.tasks.remove(0);
        }
    }

    /// Whether every component has finished.
    pub fn is_finished(&self) -> bool {
        self.tasks.iter().all(|t| t.handle.is_finished())
    }

    /// Stops gracefully: sources stop reading, in-flight events drain to the sinks, acknowledgements
    /// complete and checkpoints are written. Past `deadline`, whatever still runs is aborted and listed.
    pub async fn stop(mut self, deadline: Duration) -> Result<(), StopError> {
        self.shutdown.cancel();
        let started = tokio::time::Instant::now();
        for task in &mut self.tasks {
            if task.handle.is_finished() && task.reported {
                continue;
            }
            let left = deadline.saturating_sub(started.elapsed());
            match tokio::time::timeout(left, &mut task.handle).await {
                Ok(result) => {
                    task.reported = true;
                    report(&task.id, task.kind, result);
                }
                Err(_) => break,
            }
        }
        let in_flight: Vec<String> = self
            .tasks
            .iter()
            .filter(|t| !t.handle.is_finished())
            .map(|t| {
                let buffered = t.metrics.buffer_events.get();
                if buffered > 0 {
                    format!(
                        "{} `{}` with {buffered} buffered events",
                        t.kind.as_str(),
                        t.id
                    )
                } else {
                    format!("{} `{}`", t.kind.as_str(), t.id)
                }
            })
            .collect();
        for task in &self.tasks {
            task.handle.abort();
        }
        if in_flight.is_empty() {
            Ok(())
        } else {
            Err(StopError { in_flight })
        }
    }
}

/// Waits for the instance a replacement takes over from; aborts it past `timeout` (its
/// unacknowledged events then count as errored and their sources deliver them again).
async fn await_predecessor(mut old: Task, timeout: Duration) {
    match tokio::time::timeout(timeout, &mut old.handle).await {
        Ok(result) => report(&old.id, old.kind, result),
        Err(_) => {
            tracing::warn!(
                component = %old.id,
                timeout_secs = timeout.as_secs(),
                "the replaced instance did not drain in time; aborting it"
            );
            old.handle.abort();
            report(&old.id, old.kind, old.handle.await);
        }
    }
}

fn report(
    id: &str,
    kind: ComponentKind,
    result: Result<Result<(), ComponentError>, tokio::task::JoinError>,
) {
    match result {
        Ok(Ok(())) => tracing::debug!(component = id, kind = kind.as_str(), "finished"),
        Ok(Err(error)) => {
            tracing::error!(component = id, kind = kind.as_str(), %error, "component failed")
        }
        Err(error) => {
            tracing::error!(component = id, kind = kind.as_str(), %error, "component task panicked or was aborted")
        }
    }
}

async fn run_transform(
    mut transform: Box<dyn Transform>,
    mut input: BufferReceiver,
    mut out: Outputs,
    metrics: ComponentMetrics,
) -> Result<(), ComponentError> {
    let flush_interval = transform.flush_interval();
    loop {
        let next = match flush_interval {
            Some(idle) => match tokio::time::timeout(idle, input.recv()).await {
                Ok(next) => next,
                Err(_) => {
                    let mut result = TransformOutput::default();
                    transform.flush(&mut result);
                    send_results(&mut out, result).await;
                    continue;
                }
            },
            None => input.recv().await,
        };
        let Some(events) = next else { break };
        metrics.received_events.inc_by(events.len() as u64);
        let bytes: usize = events
            .iter()
            .filter_map(Event::message_bytes)
            .map(<[u8]>::len)
            .sum();
        metrics.received_bytes.inc_by(bytes as u64);
        let mut result = TransformOutput::default();
        transform.transform(events, &mut result);
        send_results(&mut out, result).await;
    }
    // The input ended: hand out whatever is held back.
    let mut result = TransformOutput::default();
    transform.flush(&mut result);
    send_results(&mut out, result).await;
    Ok(())
}

async fn send_results(out: &mut Outputs, result: TransformOutput) {
    out.send(result.primary).await;
    for (name, events) in result.named {
        out.send_named(name, events).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    use async_trait::async_trait;

    use super::*;
    use crate::ack::{BatchNotifier, BatchStatus, EventFinalizers, EventStatus};
    use crate::component::{Sink, SinkConfig, Source, SourceConfig};
    use crate::event::EventMetadata;
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
            sink.raw = serde_json::json!({"type": "collect", "setting": sink_setting, "inputs": sink_inputs});
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
        changed.components.get_mut("b").unwrap().raw =
            serde_json::json!({"type": "counter", "v": 2});
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
        assert_eq!(
            rig.sink_builds.load(Ordering::Relaxed),
            1,
            "no partial apply"
        );
        flow(30).await;
        topology.stop(Duration::from_secs(10)).await.unwrap();
        rig.assert_nothing_lost();
    }
}
