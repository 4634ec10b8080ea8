//! Helpers for driving a sink in tests: a real buffer, `SinkInput` and `SinkContext`.

use std::collections::BTreeMap;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use weir_core::ack::{BatchNotifier, BatchStatus, EventFinalizers};
use weir_core::buffer::{buffer, BufferConfig, BufferSender};
use weir_core::component::{
    BuildContext, ComponentError, ComponentKind, SinkConfig, SinkContext, SinkInput,
};
use weir_core::metrics::{ComponentMetrics, Metrics, DEFAULT_OUTPUT};
use weir_core::output::{Fanout, Outputs};
use weir_core::{Event, EventMetadata, ObjectMap, Value};

use crate::errors::ErrorType;

/// A sink running in a task, fed through a real buffer.
pub(crate) struct Running {
    pub(crate) tx: BufferSender,
    pub(crate) handle: JoinHandle<Result<(), ComponentError>>,
    pub(crate) metrics: ComponentMetrics,
    /// The `data_dir` made for it by [`start`], removed with it.
    data_dir: Option<tempfile::TempDir>,
}

impl Running {
    /// Closes the input and waits for the sink to finish.
    pub(crate) async fn finish(self) -> ComponentMetrics {
        drop(self.tx);
        self.handle.await.expect("sink task").expect("sink run");
        self.metrics
    }
}

/// Test metrics for a sink component.
pub(crate) fn metrics(type_name: &str) -> ComponentMetrics {
    Metrics::new("test")
        .expect("metrics")
        .component("id", ComponentKind::Sink, type_name)
}

/// Builds the sink from its config and starts it, with a `data_dir` of its own that is
/// removed afterwards.
pub(crate) fn start(config: &dyn SinkConfig, type_name: &str) -> Running {
    let data_dir = tempfile::tempdir().expect("data dir");
    let mut running = start_in(config, type_name, data_dir.path());
    running.data_dir = Some(data_dir);
    running
}

/// Builds the sink from its config with `data_dir` (sink id `id`) and starts it; building and
/// running share the component's metrics, as in a running topology.
pub(crate) fn start_in(
    config: &dyn SinkConfig,
    type_name: &str,
    data_dir: &std::path::Path,
) -> Running {
    let metrics = metrics(type_name);
    let cx = BuildContext {
        metrics: metrics.clone(),
        ..BuildContext::standalone(
            "id",
            weir_core::component::ComponentKind::Sink,
            type_name,
            data_dir.to_path_buf(),
        )
    };
    run(config.build(&cx).expect("build"), metrics)
}

/// Starts an already built sink.
pub(crate) fn start_with(sink: Box<dyn weir_core::component::Sink>, type_name: &str) -> Running {
    run(sink, metrics(type_name))
}

fn run(sink: Box<dyn weir_core::component::Sink>, metrics: ComponentMetrics) -> Running {
    let (tx, rx) = buffer(&BufferConfig::default(), metrics.clone());
    let input = SinkInput::new(rx, metrics.clone());
    let out = Outputs::new(
        Fanout::new(
            vec![],
            metrics.sent_events(DEFAULT_OUTPUT),
            metrics.discarded.clone(),
        ),
        BTreeMap::new(),
        metrics.clone(),
    );
    let cx = SinkContext {
        id: "id".into(),
        out,
        metrics: metrics.clone(),
    };
    let handle = tokio::spawn(sink.run(input, cx));
    Running {
        tx,
        handle,
        metrics,
        data_dir: None,
    }
}

/// An event with the given fields, part of `batch` if given.
pub(crate) fn event(fields: &[(&str, Value)], batch: Option<&BatchNotifier>) -> Event {
    let mut map = ObjectMap::new();
    for (key, value) in fields {
        map.insert((*key).into(), value.clone());
    }
    let mut meta = EventMetadata::new("src".into(), "test", chrono::Utc::now());
    if let Some(batch) = batch {
        meta.finalizers = EventFinalizers::one(batch.finalizer());
    }
    Event::new(map, meta)
}

/// A message-only event, part of `batch` if given.
pub(crate) fn message(text: &str, batch: Option<&BatchNotifier>) -> Event {
    event(&[("message", Value::from(text))], batch)
}

/// A batch notifier and its status receiver.
pub(crate) fn batch() -> (BatchNotifier, oneshot::Receiver<BatchStatus>) {
    BatchNotifier::with_receiver()
}

/// Waits (bounded) for a batch status.
pub(crate) async fn status(rx: oneshot::Receiver<BatchStatus>) -> BatchStatus {
    tokio::time::timeout(std::time::Duration::from_secs(10), rx)
        .await
        .expect("batch status within 10s")
        .expect("batch status sent")
}

/// The `weir_component_errors_total` count of one error type.
pub(crate) fn error_count(metrics: &ComponentMetrics, error_type: ErrorType) -> u64 {
    use prometheus::Encoder as _;
    let mut out = Vec::new();
    prometheus::TextEncoder::new()
        .encode(&metrics.registry().gather(), &mut out)
        .expect("encode metrics");
    let label = format!("error_type=\"{error_type}\"");
    String::from_utf8(out)
        .expect("utf-8 metrics")
        .lines()
        .filter(|line| line.starts_with("weir_component_errors_total{") && line.contains(&label))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}
