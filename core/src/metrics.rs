//! The metrics registry every component reports into, rendered as Prometheus text at `/metrics`.
//!
//! Names follow `weir_<thing>_<unit>`; every component metric carries `component_id`,
//! `component_kind` and `component_type` labels. Components get a [`ComponentMetrics`] with their
//! label values already resolved, so the hot path only increments atomics.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use prometheus::{
    Encoder, Gauge, GaugeVec, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::component::ComponentKind;

const COMPONENT_LABELS: [&str; 3] = ["component_id", "component_kind", "component_type"];

/// The process-wide registry with Weir's own metric families.
pub struct Metrics {
    registry: Registry,
    started: Instant,
    uptime: Gauge,
    received_events: IntCounterVec,
    received_bytes: IntCounterVec,
    sent_events: IntCounterVec,
    sent_bytes: IntCounterVec,
    errors: IntCounterVec,
    discarded: IntCounterVec,
    unconsumed_errors: IntCounterVec,
    buffer_events: IntGaugeVec,
    buffer_max_events: IntGaugeVec,
    component_started: GaugeVec,
    table_reloads: IntCounterVec,
    table_reload_errors: IntCounterVec,
    table_loaded: GaugeVec,
    /// Plugins' own metric families, one value per type (see
    /// [`ComponentMetrics::plugin_families`]).
    plugin_families: Mutex<HashMap<TypeId, Box<dyn Any + Send>>>,
}

/// Errors registering metrics (only possible on a name clash, i.e. a programming error).
#[derive(Debug, thiserror::Error)]
#[error("metrics registry: {0}")]
pub struct MetricsError(#[from] prometheus::Error);

fn labelled(name: &str, help: &str, extra: &[&str]) -> (Opts, Vec<String>) {
    let labels = COMPONENT_LABELS
        .iter()
        .chain(extra)
        .map(|s| s.to_string())
        .collect();
    (Opts::new(name, help), labels)
}

fn counter_vec(
    registry: &Registry,
    name: &str,
    help: &str,
    extra: &[&str],
) -> Result<IntCounterVec, MetricsError> {
    let (opts, labels) = labelled(name, help, extra);
    let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
    let metric = IntCounterVec::new(opts, &labels)?;
    registry.register(Box::new(metric.clone()))?;
    Ok(metric)
}

fn gauge_vec(registry: &Registry, name: &str, help: &str) -> Result<IntGaugeVec, MetricsError> {
    let metric = IntGaugeVec::new(Opts::new(name, help), &COMPONENT_LABELS)?;
    registry.register(Box::new(metric.clone()))?;
    Ok(metric)
}

impl Metrics {
    /// A registry with every Weir metric family registered, plus `weir_build_info`.
    pub fn new(version: &str) -> Result<Arc<Self>, MetricsError> {
        let registry = Registry::new();
        let build_info = IntGaugeVec::new(
            Opts::new("weir_build_info", "Weir build information (always 1)."),
            &["version"],
        )?;
        registry.register(Box::new(build_info.clone()))?;
        build_info.with_label_values(&[version]).set(1);
        let uptime = Gauge::new("weir_uptime_seconds", "Seconds since Weir started.")?;
        registry.register(Box::new(uptime.clone()))?;
        let component_started = GaugeVec::new(
            Opts::new(
                "weir_component_start_timestamp_seconds",
                "When the component's current instance started (Unix seconds).",
            ),
            &COMPONENT_LABELS,
        )?;
        registry.register(Box::new(component_started.clone()))?;
        let table_family = |name: &str, help: &str| -> Result<IntCounterVec, MetricsError> {
            let metric = IntCounterVec::new(Opts::new(name, help), &["table"])?;
            registry.register(Box::new(metric.clone()))?;
            Ok(metric)
        };
        let table_reloads = table_family(
            "weir_enrichment_table_reloads_total",
            "Times an enrichment table was replaced by a changed file or object.",
        )?;
        let table_reload_errors = table_family(
            "weir_enrichment_table_reload_errors_total",
            "Replacements of an enrichment table refused (missing, unreadable or corrupt): the old table stays.",
        )?;
        let table_loaded = GaugeVec::new(
            Opts::new(
                "weir_enrichment_table_loaded_timestamp_seconds",
                "When the enrichment table in use was loaded (Unix seconds).",
            ),
            &["table"],
        )?;
        registry.register(Box::new(table_loaded.clone()))?;
        Ok(Arc::new(Self {
            table_reloads,
            table_reload_errors,
            table_loaded,
            received_events: counter_vec(&registry, "weir_component_received_events_total", "Events a component received.", &[])?,
            received_bytes: counter_vec(&registry, "weir_component_received_bytes_total", "Bytes a component received: raw input for sources; the events' `message` field for transforms and sinks.", &[])?,
            sent_events: counter_vec(&registry, "weir_component_sent_events_total", "Events a component sent on (delivered, for sinks).", &["output"])?,
            sent_bytes: counter_vec(&registry, "weir_component_sent_bytes_total", "Bytes a sink wrote to its destination.", &[])?,
            errors: counter_vec(&registry, "weir_component_errors_total", "Errors a component met, by type.", &["error_type"])?,
            discarded: counter_vec(&registry, "weir_component_discarded_events_total", "Events a component discarded (full drop_newest buffer, no consumer, filtered).", &[])?,
            unconsumed_errors: counter_vec(&registry, "weir_component_unconsumed_errors_total", "Events for a component's `errors` output, which nothing consumes, sent on its main output instead with their `error` object.", &[])?,
            buffer_events: gauge_vec(&registry, "weir_buffer_events", "Events waiting in a component's input buffer.")?,
            buffer_max_events: gauge_vec(&registry, "weir_buffer_max_events", "Capacity of a component's input buffer, in events.")?,
            component_started,
            plugin_families: Mutex::new(HashMap::new()),
            uptime,
            started: Instant::now(),
            registry,
        }))
    }

    /// The underlying registry, for plugins that register their own families.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Metrics handles for one component.
    pub fn component(
        self: &Arc<Self>,
        id: &str,
        kind: ComponentKind,
        type_name: &str,
    ) -> ComponentMetrics {
        let labels = [
            id.to_string(),
            kind.as_str().to_string(),
            type_name.to_string(),
        ];
        let l = [labels[0].as_str(), labels[1].as_str(), labels[2].as_str()];
        ComponentMetrics {
            received_events: self.received_events.with_label_values(&l),
            received_bytes: self.received_bytes.with_label_values(&l),
            sent_bytes: self.sent_bytes.with_label_values(&l),
            discarded: self.discarded.with_label_values(&l),
            unconsumed_errors: self.unconsumed_errors.with_label_values(&l),
            buffer_events: self.buffer_events.with_label_values(&l),
            buffer_max_events: self.buffer_max_events.with_label_values(&l),
            sent: Arc::new(Mutex::new(HashMap::new())),
            metrics: Arc::clone(self),
            labels: Arc::new(labels),
        }
    }

    /// Metrics handles for one enrichment table.
    pub fn enrichment_table(&self, name: &str) -> TableMetrics {
        TableMetrics {
            reloads: self.table_reloads.with_label_values(&[name]),
            reload_errors: self.table_reload_errors.with_label_values(&[name]),
            loaded: self.table_loaded.with_label_values(&[name]),
        }
    }

    /// The registry rendered in the Prometheus text format.
    pub fn render(&self) -> String {
        self.uptime.set(self.started.elapsed().as_secs_f64());
        let mut out = Vec::new();
        let encoder = TextEncoder::new();
        if let Err(error) = encoder.encode(&self.registry.gather(), &mut out) {
            tracing::error!(%error, "cannot encode metrics");
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// One enrichment table's metric handles (label `table`), cheap to clone.
#[derive(Clone, Debug)]
pub struct TableMetrics {
    /// Replacements that took effect.
    pub reloads: IntCounter,
    /// Replacements refused; the old table stayed.
    pub reload_errors: IntCounter,
    /// When the table in use was loaded (Unix seconds).
    pub loaded: prometheus::Gauge,
}

impl TableMetrics {
    /// Records that a table was (re)loaded now.
    pub fn mark_loaded(&self) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        self.loaded.set(now);
    }
}

/// One component's metric handles, cheap to clone.
#[derive(Clone)]
pub struct ComponentMetrics {
    metrics: Arc<Metrics>,
    labels: Arc<[String; 3]>,
    /// Events received (read from outside, for sources).
    pub received_events: IntCounter,
    /// Bytes received.
    pub received_bytes: IntCounter,
    /// Bytes written to the destination (sinks).
    pub sent_bytes: IntCounter,
    /// Events discarded on purpose.
    pub discarded: IntCounter,
    /// Events for the `errors` output sent on the main one, as nothing consumes `errors`.
    pub unconsumed_errors: IntCounter,
    /// Events in this component's input buffer.
    pub buffer_events: IntGauge,
    /// Capacity of this component's input buffer.
    pub buffer_max_events: IntGauge,
    sent: Arc<Mutex<HashMap<String, IntCounter>>>,
}

impl ComponentMetrics {
    /// The sent-events counter of one output (`_default` for the main one).
    pub fn sent_events(&self, output: &str) -> IntCounter {
        let mut cache = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .entry(output.to_string())
            .or_insert_with(|| {
                let l = &self.labels;
                self.metrics.sent_events.with_label_values(&[
                    l[0].as_str(),
                    l[1].as_str(),
                    l[2].as_str(),
                    output,
                ])
            })
            .clone()
    }

    /// Counts `n` errors of a kind (`error_type` label, e.g. `line_too_long`, `write_failed`).
    pub fn error(&self, error_type: &str, n: u64) {
        let l = &self.labels;
        self.metrics
            .errors
            .with_label_values(&[l[0].as_str(), l[1].as_str(), l[2].as_str(), error_type])
            .inc_by(n);
    }

    /// Records when this component instance started (for reload introspection).
    pub fn mark_started(&self) {
        let l = &self.labels;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        self.metrics
            .component_started
            .with_label_values(&[l[0].as_str(), l[1].as_str(), l[2].as_str()])
            .set(now);
    }

    /// The component id these handles are labelled with.
    pub fn component_id(&self) -> &str {
        &self.labels[0]
    }

    /// The values of the component labels (`component_id`, `component_kind`, `component_type`),
    /// for a plugin family made with [`PluginFamilies`].
    pub fn label_values(&self) -> [&str; 3] {
        let l = &self.labels;
        [l[0].as_str(), l[1].as_str(), l[2].as_str()]
    }

    /// The component label values followed by `extra` (the values of a family's own labels).
    pub fn label_values_with<'a>(&'a self, extra: &[&'a str]) -> Vec<&'a str> {
        let mut values = Vec::with_capacity(COMPONENT_LABELS.len() + extra.len());
        values.extend(self.label_values());
        values.extend_from_slice(extra);
        values
    }

    /// The shared registry (for plugin-specific metric families).
    pub fn registry(&self) -> &Registry {
        self.metrics.registry()
    }

    /// A plugin's own metric families (a struct of `*Vec` families, told apart by its type),
    /// made and registered by `make` the first time and shared afterwards: every instance of the
    /// plugin, and its rebuilds on reload, use the same families, since registering a name twice
    /// fails. A failed `make` (a name clash: a programming error) is not remembered.
    ///
    /// The families carry the component labels first (see [`PluginFamilies`], which makes and
    /// registers such families); an instance takes its series with [`Self::label_values`] or
    /// [`Self::label_values_with`].
    ///
    /// This is the one way to add plugin metrics: names follow `weir_<plugin>_<thing>_<unit>`.
    pub fn plugin_families<F>(
        &self,
        make: impl FnOnce(&Registry) -> prometheus::Result<F>,
    ) -> prometheus::Result<F>
    where
        F: Clone + Send + 'static,
    {
        let mut known = self
            .metrics
            .plugin_families
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(families) = known
            .get(&TypeId::of::<F>())
            .and_then(|f| f.downcast_ref::<F>())
        {
            return Ok(families.clone());
        }
        let families = make(self.metrics.registry())?;
        known.insert(TypeId::of::<F>(), Box::new(families.clone()));
        Ok(families)
    }
}

impl std::fmt::Debug for ComponentMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ComponentMetrics")
            .field("labels", &self.labels)
            .finish()
    }
}

/// Buckets for latencies in seconds, from 1 ms to 60 s.
pub const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// Makes and registers a plugin's families inside [`ComponentMetrics::plugin_families`]: each one
/// labelled `component_id`, `component_kind`, `component_type`, then its own `extra` labels.
///
/// ```
/// use prometheus::IntCounterVec;
/// use weir_core::component::ComponentKind;
/// use weir_core::metrics::{ComponentMetrics, Metrics, PluginFamilies};
///
/// #[derive(Clone)]
/// struct MyFamilies {
///     sent: IntCounterVec,
///     failed: IntCounterVec,
/// }
///
/// fn families(metrics: &ComponentMetrics) -> prometheus::Result<MyFamilies> {
///     metrics.plugin_families(|registry| {
///         let f = PluginFamilies::new(registry);
///         Ok(MyFamilies {
///             sent: f.counter("weir_my_plugin_sent_total", "Things sent.", &[])?,
///             failed: f.counter("weir_my_plugin_failed_total", "Failures, by reason.", &["reason"])?,
///         })
///     })
/// }
///
/// let metrics = Metrics::new("doc").unwrap().component("out", ComponentKind::Sink, "my_plugin");
/// let f = families(&metrics).unwrap();
/// f.sent.with_label_values(&metrics.label_values()).inc();
/// f.failed.with_label_values(&metrics.label_values_with(&["timeout"])).inc();
/// ```
pub struct PluginFamilies<'a> {
    registry: &'a Registry,
}

impl<'a> PluginFamilies<'a> {
    /// Families registered in `registry` (the one `plugin_families` hands its closure).
    pub fn new(registry: &'a Registry) -> Self {
        Self { registry }
    }

    fn labels<'l>(extra: &[&'l str]) -> Vec<&'l str> {
        COMPONENT_LABELS
            .iter()
            .copied()
            .chain(extra.iter().copied())
            .collect()
    }

    /// A counter family.
    pub fn counter(
        &self,
        name: &str,
        help: &str,
        extra: &[&str],
    ) -> prometheus::Result<IntCounterVec> {
        let family = IntCounterVec::new(Opts::new(name, help), &Self::labels(extra))?;
        self.registry.register(Box::new(family.clone()))?;
        Ok(family)
    }

    /// A gauge family.
    pub fn gauge(&self, name: &str, help: &str, extra: &[&str]) -> prometheus::Result<IntGaugeVec> {
        let family = IntGaugeVec::new(Opts::new(name, help), &Self::labels(extra))?;
        self.registry.register(Box::new(family.clone()))?;
        Ok(family)
    }

    /// A histogram family with these buckets (e.g. [`SECONDS_BUCKETS`]).
    pub fn histogram(
        &self,
        name: &str,
        help: &str,
        extra: &[&str],
        buckets: &[f64],
    ) -> prometheus::Result<HistogramVec> {
        let opts = HistogramOpts::new(name, help).buckets(buckets.to_vec());
        let family = HistogramVec::new(opts, &Self::labels(extra))?;
        self.registry.register(Box::new(family.clone()))?;
        Ok(family)
    }
}

/// The standard output name used in the `output` label.
pub const DEFAULT_OUTPUT: &str = "_default";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_component_metrics_with_labels() {
        let metrics = Metrics::new("test").unwrap();
        let m = metrics.component("app", ComponentKind::Source, "file");
        m.received_events.inc_by(3);
        m.sent_events(DEFAULT_OUTPUT).inc_by(3);
        m.error("line_too_long", 1);
        let text = metrics.render();
        assert!(text.contains(
            r#"weir_component_received_events_total{component_id="app",component_kind="source",component_type="file"} 3"#
        ), "{text}");
        assert!(text.contains(r#"error_type="line_too_long""#));
        assert!(text.contains("weir_build_info{version=\"test\"} 1"));
        assert!(text.contains("weir_uptime_seconds"));
    }

    #[derive(Clone)]
    struct TestFamilies {
        sent: IntCounterVec,
        failed: IntCounterVec,
    }

    fn test_families(m: &ComponentMetrics) -> TestFamilies {
        m.plugin_families(|registry| {
            let f = PluginFamilies::new(registry);
            Ok(TestFamilies {
                sent: f.counter("weir_test_sent_total", "Sent.", &[])?,
                failed: f.counter("weir_test_failed_total", "Failed.", &["reason"])?,
            })
        })
        .unwrap()
    }

    #[test]
    fn plugin_families_are_shared_and_labelled_like_the_component() {
        let metrics = Metrics::new("test").unwrap();
        let a = metrics.component("a", ComponentKind::Sink, "kafka");
        let b = metrics.component("b", ComponentKind::Sink, "kafka");
        // The second instance (or a rebuild on reload) gets the families already registered.
        let (fa, fb) = (test_families(&a), test_families(&b));
        fa.sent.with_label_values(&a.label_values()).inc_by(2);
        fb.sent.with_label_values(&b.label_values()).inc();
        fa.failed
            .with_label_values(&a.label_values_with(&["timeout"]))
            .inc();
        let text = metrics.render();
        assert!(text.contains(
            r#"weir_test_sent_total{component_id="a",component_kind="sink",component_type="kafka"} 2"#
        ), "{text}");
        assert!(text.contains(
            r#"weir_test_sent_total{component_id="b",component_kind="sink",component_type="kafka"} 1"#
        ), "{text}");
        assert!(text.contains(
            r#"weir_test_failed_total{component_id="a",component_kind="sink",component_type="kafka",reason="timeout"} 1"#
        ), "{text}");
    }
}
