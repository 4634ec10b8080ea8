//! The `elasticsearch` sink's own metric families.

use prometheus::{HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec};
use weir_core::metrics::{ComponentMetrics, PluginFamilies, DEFAULT_OUTPUT, SECONDS_BUCKETS};

/// Metric handles of one sink.
#[derive(Clone)]
pub(super) struct EsMetrics {
    /// `weir_elasticsearch_documents_sent_total`: documents put in bulk requests (retries included).
    pub(super) sent: IntCounter,
    accepted: IntCounterVec,
    rejected: IntCounterVec,
    retried: IntCounterVec,
    /// `weir_elasticsearch_documents_errored_total`: documents given up after retrying.
    pub(super) errored: IntCounter,
    latency: HistogramVec,
    /// `weir_elasticsearch_requests_in_flight`.
    pub(super) in_flight: IntGauge,
    /// The component's events sent on its (only) output, i.e. delivered.
    pub(super) delivered: IntCounter,
    /// The component's bytes sent (request bodies as sent, compressed or not).
    pub(super) sent_bytes: IntCounter,
    /// The component metrics, for error counts.
    pub(super) component: ComponentMetrics,
}

/// The sink's families, registered once per registry and shared by every instance.
#[derive(Clone)]
struct Families {
    sent: IntCounterVec,
    accepted: IntCounterVec,
    rejected: IntCounterVec,
    retried: IntCounterVec,
    errored: IntCounterVec,
    latency: HistogramVec,
    in_flight: IntGaugeVec,
}

fn families(metrics: &ComponentMetrics) -> prometheus::Result<Families> {
    metrics.plugin_families(|registry| {
        let f = PluginFamilies::new(registry);
        Ok(Families {
            sent: f.counter(
                "weir_elasticsearch_documents_sent_total",
                "Documents put in bulk requests, retries included.",
                &[],
            )?,
            accepted: f.counter(
                "weir_elasticsearch_documents_accepted_total",
                "Documents the server accepted, by item status.",
                &["status"],
            )?,
            rejected: f.counter(
                "weir_elasticsearch_documents_rejected_total",
                "Documents the server refused for good, by status.",
                &["status"],
            )?,
            retried: f.counter(
                "weir_elasticsearch_documents_retried_total",
                "Documents sent again, by the status that made them retry (0: no answer).",
                &["status"],
            )?,
            errored: f.counter(
                "weir_elasticsearch_documents_errored_total",
                "Documents given up after retry.max_duration_secs.",
                &[],
            )?,
            latency: f.histogram(
                "weir_elasticsearch_bulk_request_duration_seconds",
                "Bulk request latency, by HTTP status (0: no answer).",
                &["status"],
                SECONDS_BUCKETS,
            )?,
            in_flight: f.gauge(
                "weir_elasticsearch_requests_in_flight",
                "Bulk requests in flight.",
                &[],
            )?,
        })
    })
}

impl EsMetrics {
    pub(super) fn new(metrics: &ComponentMetrics) -> prometheus::Result<Self> {
        let f = families(metrics)?;
        let l = metrics.label_values();
        Ok(Self {
            sent: f.sent.with_label_values(&l),
            accepted: f.accepted,
            rejected: f.rejected,
            retried: f.retried,
            errored: f.errored.with_label_values(&l),
            latency: f.latency,
            in_flight: f.in_flight.with_label_values(&l),
            delivered: metrics.sent_events(DEFAULT_OUTPUT),
            sent_bytes: metrics.sent_bytes.clone(),
            component: metrics.clone(),
        })
    }

    /// The component labels and the status, for the by-status families.
    fn by_status<'a>(&'a self, status: &'a str) -> Vec<&'a str> {
        self.component.label_values_with(&[status])
    }

    pub(super) fn accepted(&self, status: u16, n: u64) {
        self.accepted
            .with_label_values(&self.by_status(&status.to_string()))
            .inc_by(n);
        self.delivered.inc_by(n);
    }

    pub(super) fn rejected(&self, status: u16, n: u64) {
        self.rejected
            .with_label_values(&self.by_status(&status.to_string()))
            .inc_by(n);
    }

    pub(super) fn retried(&self, status: u16, n: u64) {
        self.retried
            .with_label_values(&self.by_status(&status.to_string()))
            .inc_by(n);
    }

    pub(super) fn latency(&self, status: u16, seconds: f64) {
        self.latency
            .with_label_values(&self.by_status(&status.to_string()))
            .observe(seconds);
    }
}
