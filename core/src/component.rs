//! The traits every plugin implements, and the spec by which it registers itself.
//!
//! A plugin is a config struct (serde, `deny_unknown_fields`, doc-commented: it *is* the reference
//! documentation) implementing [`SourceConfig`], [`TransformConfig`] or [`SinkConfig`], which builds the
//! running component. A [`ComponentSpec`] names the type and says how to parse its config, so the
//! registry, `weir list` and validation come from one place.

use std::fmt::Debug;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;

use crate::buffer::BufferReceiver;
use crate::event::Event;
use crate::metrics::ComponentMetrics;
use crate::output::Outputs;
use crate::shutdown::ShutdownSignal;

/// The three kinds of component.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ComponentKind {
    /// Reads from the outside world.
    Source,
    /// Changes, splits, drops or routes events.
    Transform,
    /// Writes to the outside world.
    Sink,
}

impl ComponentKind {
    /// `source`, `transform` or `sink`.
    pub fn as_str(self) -> &'static str {
        match self {
            ComponentKind::Source => "source",
            ComponentKind::Transform => "transform",
            ComponentKind::Sink => "sink",
        }
    }
}

/// A component failed while running.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ComponentError(pub String);

/// A component config could not be built into a running component.
#[derive(Debug, thiserror::Error)]
#[error("{key}: {message}")]
pub struct BuildError {
    /// The config key at fault (empty when it is the component as a whole).
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl BuildError {
    /// An error about one key.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// What a component gets to build itself.
#[derive(Clone, Debug)]
pub struct BuildContext {
    /// The component id.
    pub id: Arc<str>,
    /// The pipeline's `data_dir` (checkpoints live below it).
    pub data_dir: PathBuf,
    /// The component's metrics (for transforms, which count their own errors).
    pub metrics: ComponentMetrics,
    /// The pipeline's enrichment tables (`enrichment_tables`), by name.
    pub tables: crate::enrichment::EnrichmentTables,
}

impl BuildContext {
    /// A context with a private metrics registry, for tools and tests that build one component.
    pub fn standalone(id: &str, kind: ComponentKind, type_name: &str, data_dir: PathBuf) -> Self {
        Self::standalone_with(id, kind, type_name, data_dir, Default::default())
    }

    /// [`Self::standalone`] with enrichment tables.
    pub fn standalone_with(
        id: &str,
        kind: ComponentKind,
        type_name: &str,
        data_dir: PathBuf,
        tables: crate::enrichment::EnrichmentTables,
    ) -> Self {
        let metrics = crate::metrics::Metrics::new("standalone")
            .map(|m| m.component(id, kind, type_name))
            .expect("a fresh registry has no name clashes");
        Self {
            id: Arc::from(id),
            data_dir,
            metrics,
            tables,
        }
    }
}

/// What a running source gets.
pub struct SourceContext {
    /// The component id.
    pub id: Arc<str>,
    /// Where to send events. Drop it before waiting for outstanding acknowledgements at shutdown,
    /// so downstream can drain.
    pub out: Outputs,
    /// Fires when the source must stop taking new input.
    pub shutdown: ShutdownSignal,
    /// The source's metrics.
    pub metrics: ComponentMetrics,
    /// `weir run --once`: read what is there, then finish instead of waiting for more.
    pub once: bool,
}

/// What a running sink gets besides its input.
pub struct SinkContext {
    /// The component id.
    pub id: Arc<str>,
    /// Named outputs (e.g. `dead_letter`); the default output is unused for sinks.
    pub out: Outputs,
    /// The sink's metrics.
    pub metrics: ComponentMetrics,
}

/// A running source.
#[async_trait]
pub trait Source: Send {
    /// Reads until shut down (or, with `once`, until its input is exhausted), then waits for the
    /// acknowledgements of what it sent and saves its checkpoints.
    async fn run(self: Box<Self>, cx: SourceContext) -> Result<(), ComponentError>;
}

/// Where a transform puts its results.
#[derive(Default)]
pub struct TransformOutput {
    /// Events for the default output.
    pub primary: Vec<Event>,
    /// Events for named outputs, by name.
    pub named: Vec<(Arc<str>, Vec<Event>)>,
}

impl TransformOutput {
    /// Adds an event to a named output.
    pub fn push_named(&mut self, name: &str, event: Event) {
        match self.named.iter_mut().find(|(n, _)| &**n == name) {
            Some((_, events)) => events.push(event),
            None => self.named.push((Arc::from(name), vec![event])),
        }
    }

    /// Adds events to a named output (a `route` hands over each route's events at once).
    pub fn extend_named(&mut self, name: &Arc<str>, events: Vec<Event>) {
        if events.is_empty() {
            return;
        }
        match self.named.iter_mut().find(|(n, _)| n == name) {
            Some((_, queued)) => queued.extend(events),
            None => self.named.push((Arc::clone(name), events)),
        }
    }

    /// The events of a named output (tests and tools).
    pub fn named(&self, name: &str) -> &[Event] {
        self.named
            .iter()
            .find(|(n, _)| &**n == name)
            .map_or(&[], |(_, events)| events.as_slice())
    }
}

/// The part of a batch's work that may run on any worker thread: see [`Transform::transform`].
pub type TransformJob = Box<dyn FnOnce(&mut TransformOutput) + Send>;

/// A running transform: a synchronous function over batches, driven by the runtime.
///
/// A batch is handled in two steps so that one transform uses every core while the events of a
/// stream keep their order: [`Transform::transform`] runs on the transform's own task, batch after
/// batch, and does what needs the transform's state (per-stream parser context, a counter); the
/// job it returns holds the rest (parsing, running a program) and runs on any worker thread, many
/// batches' jobs at once. The runtime sends the jobs' results on in the order of the batches.
pub trait Transform: Send {
    /// Takes one batch, in input order, and returns the work left to do on it. Events dropped on
    /// purpose must be finalized with [`crate::ack::EventStatus::Dropped`] (here or in the job).
    fn transform(&mut self, events: Vec<Event>) -> TransformJob;

    /// Hands out anything held back across batches (a multi-line record still waiting for its next
    /// line). Called when the input has been idle for [`Transform::flush_interval`] and when it ends.
    fn flush(&mut self) -> Option<TransformJob> {
        None
    }

    /// How long the input may be idle before [`Transform::flush`] is called; `None` (the default):
    /// the transform holds nothing back.
    fn flush_interval(&self) -> Option<std::time::Duration> {
        None
    }
}

/// A transform that keeps no state between batches (`remap`, `filter`, `route`): every batch's
/// job is [`BatchTransform::run_batch`] on the one value all jobs share. Wrap it in [`Stateless`].
pub trait BatchTransform: Send + Sync + 'static {
    /// Processes one batch, on whichever worker thread its job runs.
    fn run_batch(&self, events: Vec<Event>, out: &mut TransformOutput);
}

/// A [`BatchTransform`] as a [`Transform`]: its sequential step only hands the batch to a job.
pub struct Stateless<T>(std::sync::Arc<T>);

impl<T: BatchTransform> Stateless<T> {
    /// The running transform of `batch`, boxed as builders return it.
    pub fn boxed(batch: T) -> Box<dyn Transform> {
        Box::new(Self(std::sync::Arc::new(batch)))
    }
}

impl<T: BatchTransform> Transform for Stateless<T> {
    fn transform(&mut self, events: Vec<Event>) -> TransformJob {
        let batch = std::sync::Arc::clone(&self.0);
        Box::new(move |out| batch.run_batch(events, out))
    }
}

/// Runs one batch through a transform on the calling thread, job included (tools and tests).
pub fn transform_now(transform: &mut dyn Transform, events: Vec<Event>) -> TransformOutput {
    let mut out = TransformOutput::default();
    transform.transform(events)(&mut out);
    out
}

/// [`Transform::flush`] on the calling thread, job included (tools and tests).
pub fn flush_now(transform: &mut dyn Transform) -> TransformOutput {
    let mut out = TransformOutput::default();
    if let Some(job) = transform.flush() {
        job(&mut out);
    }
    out
}

/// A sink's input: batches from its buffer, counted as received.
pub struct SinkInput {
    receiver: BufferReceiver,
    metrics: ComponentMetrics,
}

impl SinkInput {
    /// Wraps a buffer receiver.
    pub fn new(receiver: BufferReceiver, metrics: ComponentMetrics) -> Self {
        Self { receiver, metrics }
    }

    /// The next batch; `None` when every upstream is finished and the buffer is empty.
    pub async fn next_batch(&mut self) -> Option<Vec<Event>> {
        let batch = self.receiver.recv().await?;
        self.count(&batch);
        Some(batch)
    }

    /// The next batch if one is queued right now (for sinks that coalesce batches).
    pub fn try_next_batch(&mut self) -> Option<Vec<Event>> {
        let batch = self.receiver.try_recv()?;
        self.count(&batch);
        Some(batch)
    }

    /// A round for a sink that writes several batches at once: `first`, then the batches queued
    /// right now, until the round holds `max_events` or `max_bytes` of messages (which bounds the
    /// memory of raw-line rounds).
    pub fn gather_round(
        &mut self,
        first: Vec<Event>,
        max_events: usize,
        max_bytes: u64,
        round: &mut Vec<Vec<Event>>,
    ) {
        let mut events = first.len();
        round.push(first);
        let bytes_before = self.metrics.received_bytes.get();
        while events < max_events
            && self
                .metrics
                .received_bytes
                .get()
                .saturating_sub(bytes_before)
                < max_bytes
        {
            match self.try_next_batch() {
                Some(batch) => {
                    events += batch.len();
                    round.push(batch);
                }
                None => break,
            }
        }
    }

    fn count(&self, batch: &[Event]) {
        self.metrics.received_events.inc_by(batch.len() as u64);
        let bytes: usize = batch
            .iter()
            .filter_map(Event::message_bytes)
            .map(<[u8]>::len)
            .sum();
        self.metrics.received_bytes.inc_by(bytes as u64);
    }
}

/// A running sink.
#[async_trait]
pub trait Sink: Send {
    /// Consumes its input until it ends, finalizing every event it takes; flushes before returning.
    async fn run(self: Box<Self>, input: SinkInput, cx: SinkContext) -> Result<(), ComponentError>;
}

/// A problem with one key of a component's config, found before anything runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The key (`max_line_bytes`, `buffer.when_full`).
    pub key: String,
    /// What is wrong with it.
    pub message: String,
}

impl ConfigProblem {
    /// A problem with `key`.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// What every plugin config offers, whatever its kind: what loading, `weir validate` and the
/// reload diff need. A behaviour shared by all kinds is one method here (and one forward in the
/// `parse_*` wrapper below), reached through [`PluginConfig::common`](crate::topology::PluginConfig::common)
/// without a match per kind at each caller.
pub trait PluginCommon: Debug + Send + Sync {
    /// Checks values that serde cannot (ranges, patterns); every problem at once.
    fn validate(&self) -> Vec<ConfigProblem> {
        Vec::new()
    }
    /// Named outputs besides the default one (`errors`, `dead_letter`, a `route`'s routes).
    fn outputs(&self) -> Vec<String> {
        Vec::new()
    }
    /// What happens to the events of the named output `output` of component `id` when nothing
    /// consumes it, in words, for `weir validate` (`data_dir`: the pipeline's); `None`: nothing
    /// to say.
    fn unconsumed_output(
        &self,
        output: &str,
        id: &str,
        data_dir: &std::path::Path,
    ) -> Option<String> {
        let _ = (output, id, data_dir);
        None
    }
    /// Whether the component has a default output (`<id>`): sources and transforms do, but a
    /// `route` has only its named routes. Sinks' answer is not asked.
    fn default_output(&self) -> bool {
        true
    }
    /// This config parsed and serialized back to JSON, every default filled in: what a reload
    /// compares to tell a changed component from an unchanged one, so writing out a default
    /// changes nothing. Set by the `parse_*` functions; `None` (the default) for configs built in
    /// code, which a reload compares by their table as written.
    fn normalized(&self) -> Option<serde_json::Value> {
        None
    }
}

/// A check a source runs before the pipeline starts (see [`SourceConfig::startup_check`]): `Err`
/// is one line saying what cannot be reached and why.
pub type StartupCheck =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send>>;

/// A source's parsed config.
pub trait SourceConfig: PluginCommon {
    /// Builds the running source.
    fn build(&self, cx: &BuildContext) -> Result<Box<dyn Source>, BuildError>;

    /// Checks that what the source reads from can be reached (a queue, a stream, a table), run
    /// by `weir` before it starts the pipeline or applies a reload: a wrong name or a missing
    /// permission stops the start with one clear line, instead of a source retrying forever.
    /// Default: nothing to check.
    fn startup_check(&self) -> Option<StartupCheck> {
        None
    }
}

/// A transform's parsed config.
pub trait TransformConfig: PluginCommon {
    /// Builds the running transform.
    fn build(&self, cx: &BuildContext) -> Result<Box<dyn Transform>, BuildError>;
}

/// A sink's parsed config.
pub trait SinkConfig: PluginCommon {
    /// Builds the running sink.
    fn build(&self, cx: &BuildContext) -> Result<Box<dyn Sink>, BuildError>;
}

/// A component's table did not deserialize into its config.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseConfigError {
    /// Dotted path of the offending key (`buffer.when_full`), empty for the table as a whole.
    pub key: String,
    /// What serde said.
    pub message: String,
}

/// Parses a component's table (without the runtime's own keys) into its config.
pub type ParseFn<C> = fn(serde_json::Value) -> Result<Box<C>, ParseConfigError>;

/// Deserializes a config, keeping the path of the key that failed.
pub fn deserialize_config<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
) -> Result<T, ParseConfigError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        // Unknown/missing field errors name the key themselves; put it in the path.
        let named = ["unknown field `", "missing field `"]
            .iter()
            .find_map(|p| inner.strip_prefix(p))
            .and_then(|rest| rest.split('`').next())
            .map(str::to_string);
        let key = match (path.as_str(), named) {
            (".", Some(k)) => k,
            (p, Some(k)) if p == k || p.ends_with(&format!(".{k}")) => p.to_string(),
            (p, Some(k)) => format!("{p}.{k}"),
            (".", None) => String::new(),
            (p, None) => p.to_string(),
        };
        ParseConfigError {
            key,
            message: inner,
        }
    })
}

/// How a component type is parsed, by kind.
#[derive(Clone, Copy)]
pub enum ParseConfig {
    /// A source type.
    Source(ParseFn<dyn SourceConfig>),
    /// A transform type.
    Transform(ParseFn<dyn TransformConfig>),
    /// A sink type.
    Sink(ParseFn<dyn SinkConfig>),
}

impl ParseConfig {
    /// The kind this parser is for.
    pub fn kind(&self) -> ComponentKind {
        match self {
            ParseConfig::Source(_) => ComponentKind::Source,
            ParseConfig::Transform(_) => ComponentKind::Transform,
            ParseConfig::Sink(_) => ComponentKind::Sink,
        }
    }
}

/// A plugin's registration: its type name, a one-line description, its config parser and its
/// config's JSON Schema.
#[derive(Clone, Copy)]
pub struct ComponentSpec {
    /// The `type = "…"` name.
    pub type_name: &'static str,
    /// One line for `weir list`.
    pub description: &'static str,
    /// The config parser.
    pub parse: ParseConfig,
    /// The JSON Schema of the component's own table (without the runtime's keys `type`, `inputs`
    /// and `buffer`), inline, its nested types as `$ref`s into the generator's definitions: what
    /// `weir schema` and `weir docs` are made of. Normally [`schema_of`] of the config type.
    pub schema: fn(&mut schemars::SchemaGenerator) -> schemars::Schema,
}

/// `ComponentSpec::schema` for a config type: its schema inline (an object schema, so the pipeline
/// schema can add the runtime's keys to it), nested types registered in the generator.
pub fn schema_of<C: schemars::JsonSchema>(
    generator: &mut schemars::SchemaGenerator,
) -> schemars::Schema {
    C::json_schema(generator)
}

/// A parsed config and its normalized form (see [`PluginCommon::normalized`]), as the `parse_*`
/// functions return it: they alone know the concrete type, so they serialize it. Every trait
/// method forwards to the config (a method added to the traits must be forwarded here too), and
/// `Debug` shows the config alone.
struct Normalized<C> {
    config: C,
    json: Option<serde_json::Value>,
}

impl<C: serde::Serialize> Normalized<C> {
    fn new(config: C) -> Self {
        let json = serde_json::to_value(&config).ok();
        Self { config, json }
    }
}

impl<C: Debug> Debug for Normalized<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.config.fmt(f)
    }
}

impl<C: PluginCommon> PluginCommon for Normalized<C> {
    fn validate(&self) -> Vec<ConfigProblem> {
        self.config.validate()
    }
    fn outputs(&self) -> Vec<String> {
        self.config.outputs()
    }
    fn default_output(&self) -> bool {
        self.config.default_output()
    }
    fn unconsumed_output(
        &self,
        output: &str,
        id: &str,
        data_dir: &std::path::Path,
    ) -> Option<String> {
        self.config.unconsumed_output(output, id, data_dir)
    }
    fn normalized(&self) -> Option<serde_json::Value> {
        self.json.clone()
    }
}

impl<C: SourceConfig> SourceConfig for Normalized<C> {
    fn build(&self, cx: &BuildContext) -> Result<Box<dyn Source>, BuildError> {
        self.config.build(cx)
    }
    fn startup_check(&self) -> Option<StartupCheck> {
        self.config.startup_check()
    }
}

impl<C: TransformConfig> TransformConfig for Normalized<C> {
    fn build(&self, cx: &BuildContext) -> Result<Box<dyn Transform>, BuildError> {
        self.config.build(cx)
    }
}

impl<C: SinkConfig> SinkConfig for Normalized<C> {
    fn build(&self, cx: &BuildContext) -> Result<Box<dyn Sink>, BuildError> {
        self.config.build(cx)
    }
}

/// `ParseFn` for a source config type.
pub fn parse_source<C>(value: serde_json::Value) -> Result<Box<dyn SourceConfig>, ParseConfigError>
where
    C: SourceConfig + serde::de::DeserializeOwned + serde::Serialize + 'static,
{
    Ok(Box::new(Normalized::new(deserialize_config::<C>(value)?)))
}

/// `ParseFn` for a transform config type.
pub fn parse_transform<C>(
    value: serde_json::Value,
) -> Result<Box<dyn TransformConfig>, ParseConfigError>
where
    C: TransformConfig + serde::de::DeserializeOwned + serde::Serialize + 'static,
{
    Ok(Box::new(Normalized::new(deserialize_config::<C>(value)?)))
}

/// `ParseFn` for a sink config type.
pub fn parse_sink<C>(value: serde_json::Value) -> Result<Box<dyn SinkConfig>, ParseConfigError>
where
    C: SinkConfig + serde::de::DeserializeOwned + serde::Serialize + 'static,
{
    Ok(Box::new(Normalized::new(deserialize_config::<C>(value)?)))
}
