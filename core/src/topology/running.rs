//! The running topology: one tokio task per component, bounded buffers between them; a
//! transform's work spread over the worker threads (see [`transform_task`]).
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
//!   their buffers close and they drain and finish; added components start;
//! - a removed producer keeps feeding the consumers it had (the old instance of a replaced one
//!   included) until it finishes, so the events it still holds are delivered, not dropped.
//!
//! Nothing is touched unless every new or changed component builds.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use super::diff::{self, Change, Diff, Shape};
use super::graph::OutputRef;
use super::{PipelineConfig, PluginConfig, TRANSFORM_BUFFER_EVENTS};
use crate::buffer::{buffer, BufferConfig, BufferReceiver, BufferSender, WeakBufferSender};
use crate::component::{
    BuildContext, BuildError, ComponentError, ComponentKind, SinkContext, SinkInput, SourceContext,
    Transform,
};
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

/// A component's run, ready to be spawned.
type RunFuture = Pin<Box<dyn Future<Output = Result<(), ComponentError>> + Send>>;

impl Built {
    fn kind(&self) -> ComponentKind {
        match self {
            Built::Source(_) => ComponentKind::Source,
            Built::Transform(_) => ComponentKind::Transform,
            Built::Sink(_) => ComponentKind::Sink,
        }
    }

    /// The component's run over its input (transforms and sinks) and outputs; `stop` is a
    /// source's stop signal.
    fn into_run(
        self,
        id: &str,
        input: Option<BufferReceiver>,
        out: Outputs,
        stop: Option<ShutdownSignal>,
        m: &ComponentMetrics,
        once: bool,
    ) -> RunFuture {
        match self {
            Built::Source(source) => source.run(SourceContext {
                id: Arc::from(id),
                out,
                shutdown: stop.expect("sources get a stop signal"),
                metrics: m.clone(),
                once,
            }),
            Built::Transform(transform) => {
                let Some(input) = input else {
                    unreachable!("every built transform got a buffer")
                };
                Box::pin(transform_task::run_transform(
                    transform,
                    input,
                    out,
                    m.clone(),
                ))
            }
            Built::Sink(sink) => {
                let Some(input) = input else {
                    unreachable!("every built sink got a buffer")
                };
                let cx = SinkContext {
                    id: Arc::from(id),
                    out,
                    metrics: m.clone(),
                };
                sink.run(SinkInput::new(input, m.clone()), cx)
            }
        }
    }
}

/// The new pipeline's buffers and consumer lists, from [`RunningTopology::wire`] to the steps
/// after it.
struct Wiring {
    /// The input buffers of the consumers about to start, taken by each as it is spawned.
    receivers: BTreeMap<String, BufferReceiver>,
    /// Every consumer's input buffer, without keeping it open.
    inputs: BTreeMap<String, WeakBufferSender>,
    /// Every output port's consumer list.
    lists: BTreeMap<OutputRef, Consumers>,
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
    ///
    /// The steps run in this order because each one relies on the one before: nothing is touched
    /// until everything builds; every consumer is wired in before any source is stopped or
    /// anything is started, so no event has nowhere to go; and what is remembered is what was
    /// actually started.
    pub fn reload(&mut self, config: PipelineConfig) -> Result<Diff, ReloadError> {
        let plan = self.plan(&config)?;
        let built = self.build(&config, &plan)?;
        self.data_dir = Some(config.data_dir.clone());
        let mut wiring = self.wire(&config, &plan, &built);
        self.stop_sources(&plan);
        let new_stops = self.spawn(&config, built, &mut wiring);
        self.remember(&config, wiring, new_stops);
        Ok(plan)
    }

    /// Step 1, plan: what happens to each component. A moved `data_dir` is refused here, before
    /// anything else: every checkpoint lives below it, and moving it under running sources would
    /// lose their state.
    fn plan(&self, config: &PipelineConfig) -> Result<Diff, ReloadError> {
        if let Some(old) = &self.data_dir {
            if *old != config.data_dir {
                return Err(ReloadError::DataDirChanged {
                    old: old.clone(),
                    new: config.data_dir.clone(),
                });
            }
        }
        let old_shapes: BTreeMap<String, Shape> = self
            .components
            .iter()
            .map(|(id, r)| (id.clone(), r.shape.clone()))
            .collect();
        Ok(diff::diff(&old_shapes, &diff::shapes(&config.components)))
    }

    /// Step 2, build: every new or changed component, and nothing else. This is where a reload can
    /// still fail, so it comes before anything is touched: any failure (all of them are reported
    /// at once) leaves the running pipeline exactly as it was.
    fn build(
        &self,
        config: &PipelineConfig,
        plan: &Diff,
    ) -> Result<BTreeMap<String, Built>, ReloadError> {
        let mut built = BTreeMap::new();
        let mut errors = Vec::new();
        for id in plan.ids(Change::Added).chain(plan.ids(Change::Changed)) {
            let cx = BuildContext {
                id: Arc::from(id),
                data_dir: config.data_dir.clone(),
                metrics: self.component_metrics(config, id),
                tables: config.enrichment_tables.clone(),
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
        if errors.is_empty() {
            Ok(built)
        } else {
            Err(ReloadError::Build(errors))
        }
    }

    /// Step 3, wire: input buffers and consumer lists for the new pipeline, every consumer hooked
    /// into the lists of its inputs and unhooked from the others. It runs before anything starts
    /// or stops, so the running producers send to the new graph from here on and a replaced
    /// consumer's new buffer fills (bounded) while its predecessor drains. Removed producers are
    /// left as they are: they keep feeding the consumers they had, old instances of replaced ones
    /// included, until they finish, so what they still hold is delivered rather than dropped (and
    /// acknowledged). The strong senders are dropped at the end: from then on only the producers'
    /// lists keep a buffer open, so a buffer closes when its last producer finishes or unhooks it.
    fn wire(
        &self,
        config: &PipelineConfig,
        plan: &Diff,
        built: &BTreeMap<String, Built>,
    ) -> Wiring {
        let (senders, receivers) = self.input_buffers(config, plan, built);
        let lists = self.port_lists(config);
        connect(config, &lists, &senders);
        let inputs = senders
            .iter()
            .map(|(id, sender)| (id.clone(), sender.downgrade()))
            .collect();
        Wiring {
            receivers,
            inputs,
            lists,
        }
    }

    /// Part of [`Self::wire`]: a fresh input buffer for every new or replaced consumer (the
    /// replacement must not read what its predecessor is still draining); unchanged and rewired
    /// consumers keep theirs, with whatever is queued in it.
    fn input_buffers(
        &self,
        config: &PipelineConfig,
        plan: &Diff,
        built: &BTreeMap<String, Built>,
    ) -> (
        BTreeMap<String, BufferSender>,
        BTreeMap<String, BufferReceiver>,
    ) {
        let mut senders = BTreeMap::new();
        let mut receivers = BTreeMap::new();
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
                    let metrics = self.component_metrics(config, id);
                    let (tx, rx) = buffer(&buffer_config, metrics);
                    senders.insert(id.clone(), tx);
                    receivers.insert(id.clone(), rx);
                }
                // An unchanged consumer whose buffer already closed (all its inputs ended).
                None => {}
            }
        }
        (senders, receivers)
    }

    /// Part of [`Self::wire`]: the consumer list of every output port of the new pipeline. A
    /// running producer's lists are kept (also a replaced one's, so its consumers carry on with
    /// the replacement without being rewired); new ports get new lists.
    fn port_lists(&self, config: &PipelineConfig) -> BTreeMap<OutputRef, Consumers> {
        let mut lists = BTreeMap::new();
        for (id, component) in &config.components {
            let ports =
                std::iter::once(None).chain(component.plugin.outputs().into_iter().map(Some));
            for port in ports {
                let key = OutputRef {
                    component: id.clone(),
                    port,
                };
                let list = self
                    .ports
                    .get(&key)
                    .and_then(WeakConsumers::upgrade)
                    .unwrap_or_default();
                lists.insert(key, list);
            }
        }
        lists
    }

    /// Step 4, stop removed and replaced sources: they stop reading, wait for their in-flight
    /// acknowledgements and save their checkpoints on their own; a replacement starts only after
    /// (see [`Self::spawn_task`]), from that checkpoint. Removed transforms and sinks need no
    /// signal: [`Self::wire`] unhooked them from the running producers, so their buffers close
    /// once the removed producers feeding them (if any) have finished too, and they drain and
    /// finish.
    fn stop_sources(&self, plan: &Diff) {
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
    }

    /// Step 5, spawn every built component: consumers before producers, so a buffer is read as
    /// soon as anything is sent to it. Returns each started component's stop signal (sources have
    /// one).
    fn spawn(
        &mut self,
        config: &PipelineConfig,
        built: BTreeMap<String, Built>,
        wiring: &mut Wiring,
    ) -> BTreeMap<String, Option<ShutdownSignal>> {
        let mut order: Vec<(String, Built)> = built.into_iter().collect();
        // Sinks, then transforms, then sources (stable: by id within a kind).
        order.sort_by_key(|(_, b)| std::cmp::Reverse(b.kind()));
        let mut new_stops = BTreeMap::new();
        for (id, component) in order {
            let m = self.component_metrics(config, &id);
            let out = self.outputs_for(&id, config, &wiring.lists, &m);
            let input = wiring.receivers.remove(&id);
            let stop = matches!(component, Built::Source(_)).then(|| self.shutdown.child_token());
            let kind = component.kind();
            let run = component.into_run(&id, input, out, stop.clone(), &m, self.options.once);
            self.spawn_task(id.clone(), kind, m, run);
            new_stops.insert(id, stop);
        }
        new_stops
    }

    /// Part of [`Self::spawn`]: starts a component's task. It first waits for the instance it
    /// replaces — or for a removed one still draining when the same id is added back — so two
    /// instances never share a checkpoint or an output.
    fn spawn_task(&mut self, id: String, kind: ComponentKind, m: ComponentMetrics, run: RunFuture) {
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
            id,
            kind,
            metrics: m,
            handle,
            reported: false,
        });
    }

    /// Step 6, remember the new pipeline: each component's shape (what the next reload compares
    /// with), input buffer and stop signal, and every port's consumer list. All of it weakly, so
    /// the topology itself never keeps a buffer open.
    fn remember(
        &mut self,
        config: &PipelineConfig,
        wiring: Wiring,
        mut new_stops: BTreeMap<String, Option<ShutdownSignal>>,
    ) {
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
                    input: wiring.inputs.get(id).cloned(),
                    stop,
                },
            );
        }
        self.components = components;
        self.ports = wiring
            .lists
            .iter()
            .map(|(key, list)| (key.clone(), list.downgrade()))
            .collect();
    }

    /// A component's metrics (registered once; the same handles on every call).
    fn component_metrics(&self, config: &PipelineConfig, id: &str) -> ComponentMetrics {
        let c = &config.components[id];
        self.metrics.component(id, c.plugin.kind(), &c.type_name)
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
            .map(|name| {
                let fanout = fanout(Some(&name));
                (name, fanout)
            })
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

/// Part of [`RunningTopology::wire`]: hooks each consumer into the lists of its inputs, then out
/// of every other list. Adding comes first, so no buffer sees all its producers go in between
/// (it would close and its consumer would finish).
fn connect(
    config: &PipelineConfig,
    lists: &BTreeMap<OutputRef, Consumers>,
    senders: &BTreeMap<String, BufferSender>,
) {
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
    for (key, list) in lists {
        for consumer in list.ids() {
            let keep = wanted
                .get(key)
                .is_some_and(|ids| ids.contains(&consumer.as_str()));
            if !keep {
                list.remove(&consumer);
            }
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

mod transform_task;

#[cfg(test)]
mod tests;
