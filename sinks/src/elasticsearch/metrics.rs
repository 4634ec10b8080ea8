//! The `elasticsearch` sink's own metric families.

use prometheus::{HistogramVec, IntCounter, IntCounterVec, IntGauge};
use weir_core::metrics::{ComponentMetrics, DEFAULT_OUTPUT};

use crate::delivery::Families;

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

impl EsMetrics {
    pub(super) fn new(metrics: &ComponentMetrics) -> Self {
        let f = Families::new(metrics, "elasticsearch");
        Self {
            sent: f
                .counter(
                    "weir_elasticsearch_documents_sent_total",
                    "Documents put in bulk requests, retries included.",
                    &[],
                )
                .with_label_values::<&str>(&[]),
            accepted: f.counter(
                "weir_elasticsearch_documents_accepted_total",
                "Documents the server accepted, by item status.",
                &["status"],
            ),
            rejected: f.counter(
                "weir_elasticsearch_documents_rejected_total",
                "Documents the server refused for good, by status.",
                &["status"],
            ),
            retried: f.counter(
                "weir_elasticsearch_documents_retried_total",
                "Documents sent again, by the status that made them retry (0: no answer).",
                &["status"],
            ),
            errored: f
                .counter(
                    "weir_elasticsearch_documents_errored_total",
                    "Documents given up after retry.max_duration_secs.",
                    &[],
                )
                .with_label_values::<&str>(&[]),
            latency: f.histogram(
                "weir_elasticsearch_bulk_request_duration_seconds",
                "Bulk request latency, by HTTP status (0: no answer).",
                &["status"],
            ),
            in_flight: f
                .gauge(
                    "weir_elasticsearch_requests_in_flight",
                    "Bulk requests in flight.",
                    &[],
                )
                .with_label_values::<&str>(&[]),
            delivered: metrics.sent_events(DEFAULT_OUTPUT),
            sent_bytes: metrics.sent_bytes.clone(),
            component: metrics.clone(),
        }
    }

    pub(super) fn accepted(&self, status: u16, n: u64) {
        self.accepted
            .with_label_values(&[&status.to_string()])
            .inc_by(n);
        self.delivered.inc_by(n);
    }

    pub(super) fn rejected(&self, status: u16, n: u64) {
        self.rejected
            .with_label_values(&[&status.to_string()])
            .inc_by(n);
    }

    pub(super) fn retried(&self, status: u16, n: u64) {
        self.retried
            .with_label_values(&[&status.to_string()])
            .inc_by(n);
    }

    pub(super) fn latency(&self, status: u16, seconds: f64) {
        self.latency
            .with_label_values(&[&status.to_string()])
            .observe(seconds);
    }
}
