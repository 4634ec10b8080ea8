//! The running topology: one tokio task per component, bounded buffers between them.
//!
//! Shutdown is a cascade: the runtime cancels the sources' shutdown signal; each source stops
//! reading and drops its outputs; each transform finishes when all its inputs are closed and then
//! drops its own outputs; each sink drains its buffer, flushes and returns; sources, still alive,
//! receive the last acknowledgements and write their checkpoints.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::graph::OutputRef;
use super::{PipelineConfig, PluginConfig, TRANSFORM_BUFFER_EVENTS};
use crate::buffer::{buffer, BufferConfig, BufferReceiver, BufferSender};
use crate::component::{
    BuildContext, BuildError, ComponentError, ComponentKind, SinkContext, SinkInput, SourceContext,
    Transform, TransformOutput,
};
use crate::event::Event;
use crate::metrics::{ComponentMetrics, Metrics, DEFAULT_OUTPUT};
use crate::output::{Fanout, FanoutControl, Outputs};
use crate::shutdown::ShutdownSignal;

/// How the topology runs.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunOptions {
    /// Sources read what is there and finish (`weir run --once`).
    pub once: bool,
}

/// The topology did not stop within its deadline.
#[derive(Debug, thiserror::Error)]
#[error("shutdown deadline passed; still in flight: {}", .in_flight.join("; "))]
pub struct StopError {
    /// What was still running or buffered, one entry per component.
    pub in_flight: Vec<String>,
}

struct Task {
    id: String,
    kind: ComponentKind,
    metrics: ComponentMetrics,
    handle: JoinHandle<Result<(), ComponentError>>,
    reported: bool,
}

/// A started pipeline.
pub struct RunningTopology {
    tasks: Vec<Task>,
    shutdown: ShutdownSignal,
    /// Control channels of every output, for rewiring.
    #[allow(dead_code)]
    fanout_controls: HashMap<OutputRef, mpsc::UnboundedSender<FanoutControl>>,
}

impl RunningTopology {
    /// Builds every component and starts it. Nothing starts unless everything builds.
    pub fn start(
        config: PipelineConfig,
        metrics: &Arc<Metrics>,
        options: RunOptions,
    ) -> Result<Self, Vec<(String, BuildError)>> {
        let data_dir: PathBuf = config.data_dir.clone();
        let component_metrics: BTreeMap<String, ComponentMetrics> = config
            .components
            .iter()
            .map(|(id, c)| {
                (
                    id.clone(),
                    metrics.component(id, c.plugin.kind(), &c.type_name),
                )
            })
            .collect();
        // 1. Build every component.
        enum Built {
            Source(Box<dyn crate::component::Source>),
            Transform(Box<dyn Transform>),
            Sink(Box<dyn crate::component::Sink>),
        }
        let mut built = BTreeMap::new();
        let mut errors = Vec::new();
        for (id, component) in &config.components {
            let cx = BuildContext {
                id: Arc::from(id.as_str()),
                data_dir: data_dir.clone(),
                metrics: component_metrics[id].clone(),
            };
            let result = match &component.plugin {
                PluginConfig::Source(c) => c.build(&cx).map(Built::Source),
                PluginConfig::Transform(c) => c.build(&cx).map(Built::Transform),
                PluginConfig::Sink(c) => c.build(&cx).map(Built::Sink),
            };
            match result {
                Ok(b) => {
                    built.insert(id.clone(), b);
                }
                Err(e) => errors.push((id.clone(), e)),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }

        // 2. An input buffer for every consumer.
        let mut senders: BTreeMap<String, BufferSender> = BTreeMap::new();
        let mut receivers: BTreeMap<String, BufferReceiver> = BTreeMap::new();
        for (id, component) in &config.components {
            let buffer_config = match component.plugin.kind() {
                ComponentKind::Source => continue,
                ComponentKind::Transform => BufferConfig {
                    max_events: TRANSFORM_BUFFER_EVENTS,
                    ..BufferConfig::default()
                },
                ComponentKind::Sink => component.buffer.clone(),
            };
            let (tx, rx) = buffer(&buffer_config, component_metrics[id].clone());
            senders.insert(id.clone(), tx);
            receivers.insert(id.clone(), rx);
        }

        // 3. Outputs: each port fans out to the consumers naming it.
        let mut consumers_of: BTreeMap<OutputRef, Vec<(String, BufferSender)>> = BTreeMap::new();
        for (id, component) in &config.components {
            for input in &component.inputs {
                if let Some(sender) = senders.get(id) {
                    consumers_of
                        .entry(OutputRef::parse(input))
                        .or_default()
                        .push((id.clone(), sender.clone()));
                }
            }
        }
        drop(senders);
        let mut fanout_controls = HashMap::new();
        let mut outputs_of = BTreeMap::new();
        for (id, component) in &config.components {
            let m = &component_metrics[id];
            let mut make = |port: Option<&str>| {
                let key = OutputRef {
                    component: id.clone(),
                    port: port.map(str::to_string),
                };
                let (control_tx, control_rx) = mpsc::unbounded_channel();
                let consumers = consumers_of.remove(&key).unwrap_or_default();
                fanout_controls.insert(key, control_tx);
                Fanout::new(
                    consumers,
                    Some(control_rx),
                    m.sent_events(port.unwrap_or(DEFAULT_OUTPUT)),
                    m.discarded.clone(),
                )
            };
            let default = make(None);
            let named = component
                .plugin
                .outputs()
                .into_iter()
                .map(|name| (name.to_string(), make(Some(name))))
                .collect();
            outputs_of.insert(id.clone(), Outputs::new(default, named, m.clone()));
        }

        // 4. Spawn: sinks first, then transforms, then sources, so consumers exist before producers.
        let shutdown = ShutdownSignal::new();
        let mut tasks = Vec::new();
        let mut order: Vec<(String, Built)> = built.into_iter().collect();
        order.sort_by_key(|(_, b)| match b {
            Built::Sink(_) => 0,
            Built::Transform(_) => 1,
            Built::Source(_) => 2,
        });
        for (id, component) in order {
            let m = component_metrics[&id].clone();
            m.mark_started();
            let out = outputs_of
                .remove(&id)
                .expect("outputs were made for every component");
            let arc_id: Arc<str> = Arc::from(id.as_str());
            let (kind, handle) = match component {
                Built::Source(source) => {
                    let cx = SourceContext {
                        id: arc_id,
                        out,
                        shutdown: shutdown.child_token(),
                        metrics: m.clone(),
                        once: options.once,
                    };
                    (ComponentKind::Source, tokio::spawn(source.run(cx)))
                }
                Built::Transform(transform) => {
                    let input = receivers.remove(&id).expect("transforms have buffers");
                    let m2 = m.clone();
                    (
                        ComponentKind::Transform,
                        tokio::spawn(run_transform(transform, input, out, m2)),
                    )
                }
                Built::Sink(sink) => {
                    let input = receivers.remove(&id).expect("sinks have buffers");
                    let cx = SinkContext {
                        id: arc_id,
                        out,
                        metrics: m.clone(),
                    };
                    (
                        ComponentKind::Sink,
                        tokio::spawn(sink.run(SinkInput::new(input, m.clone()), cx)),
                    )
                }
            };
            tracing::debug!(component = %id, kind = kind.as_str(), "started");
            tasks.push(Task {
                id,
                kind,
                metrics: m,
                handle,
                reported: false,
            });
        }
        Ok(Self {
            tasks,
            shutdown,
            fanout_controls,
        })
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
            for status in pending {
                if let Ok(status) = status.await {
                    self.1.lock().unwrap().push(status);
                }
            }
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
        let mut topology =
            RunningTopology::start(config, &metrics, RunOptions { once: true }).unwrap();
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
}
