//! The `aws_s3` source's own metric families, labelled like the component metrics.

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
};
use weir_core::metrics::ComponentMetrics;

const LABELS: [&str; 3] = ["component_id", "component_kind", "component_type"];

/// The families, registered once per registry.
#[derive(Clone)]
struct Families {
    received: IntCounterVec,
    deleted: IntCounterVec,
    failed: IntCounterVec,
    objects: IntCounterVec,
    compressed: IntCounterVec,
    decompressed: IntCounterVec,
    extensions: IntCounterVec,
    lag: IntGaugeVec,
    lag_histogram: HistogramVec,
}

/// One source's handles.
#[derive(Clone)]
pub(super) struct S3Metrics {
    /// SQS messages received.
    pub received: IntCounter,
    /// SQS messages deleted.
    pub deleted: IntCounter,
    /// SQS messages left on the queue because delivery or reading failed.
    pub failed: IntCounter,
    /// Objects read to their end.
    pub objects: IntCounter,
    /// Bytes read from S3 (as stored).
    pub compressed: IntCounter,
    /// Bytes after decompression.
    pub decompressed: IntCounter,
    /// Visibility extensions.
    pub extensions: IntCounter,
    /// Now − S3 event time of the latest object, seconds.
    pub lag: IntGauge,
    /// The same, as a histogram.
    pub lag_histogram: Histogram,
}

fn counter(name: &str, help: &str) -> prometheus::Result<IntCounterVec> {
    IntCounterVec::new(Opts::new(name, help), &LABELS)
}

fn families(metrics: &ComponentMetrics) -> prometheus::Result<Families> {
    metrics.plugin_families(|registry| {
        let families = Families {
            received: counter(
                "weir_aws_s3_messages_received_total",
                "SQS messages the aws_s3 source received.",
            )?,
            deleted: counter(
                "weir_aws_s3_messages_deleted_total",
                "SQS messages the aws_s3 source deleted (done).",
            )?,
            failed: counter(
                "weir_aws_s3_messages_failed_total",
                "SQS messages left on the queue because delivery or reading failed.",
            )?,
            objects: counter(
                "weir_aws_s3_objects_read_total",
                "S3 objects read to their end.",
            )?,
            compressed: counter(
                "weir_aws_s3_compressed_bytes_total",
                "Bytes read from S3, as stored.",
            )?,
            decompressed: counter(
                "weir_aws_s3_decompressed_bytes_total",
                "Bytes read from S3 after decompression.",
            )?,
            extensions: counter(
                "weir_aws_s3_visibility_extensions_total",
                "Visibility timeout extensions of in-flight SQS messages.",
            )?,
            lag: IntGaugeVec::new(
                Opts::new(
                    "weir_aws_s3_lag_seconds",
                    "Now minus the S3 event time of the latest object read.",
                ),
                &LABELS,
            )?,
            lag_histogram: HistogramVec::new(
                HistogramOpts::new(
                    "weir_aws_s3_object_lag_seconds",
                    "Now minus the S3 event time, per object read.",
                )
                .buckets(vec![
                    1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 21600.0, 86400.0,
                ]),
                &LABELS,
            )?,
        };
        registry.register(Box::new(families.received.clone()))?;
        registry.register(Box::new(families.deleted.clone()))?;
        registry.register(Box::new(families.failed.clone()))?;
        registry.register(Box::new(families.objects.clone()))?;
        registry.register(Box::new(families.compressed.clone()))?;
        registry.register(Box::new(families.decompressed.clone()))?;
        registry.register(Box::new(families.extensions.clone()))?;
        registry.register(Box::new(families.lag.clone()))?;
        registry.register(Box::new(families.lag_histogram.clone()))?;
        Ok(families)
    })
}

impl S3Metrics {
    /// The handles for one source (families registered on first use).
    pub fn new(metrics: &ComponentMetrics, type_name: &str) -> prometheus::Result<Self> {
        let f = families(metrics)?;
        let l = [metrics.component_id(), "source", type_name];
        Ok(Self {
            received: f.received.with_label_values(&l),
            deleted: f.deleted.with_label_values(&l),
            failed: f.failed.with_label_values(&l),
            objects: f.objects.with_label_values(&l),
            compressed: f.compressed.with_label_values(&l),
            decompressed: f.decompressed.with_label_values(&l),
            extensions: f.extensions.with_label_values(&l),
            lag: f.lag.with_label_values(&l),
            lag_histogram: f.lag_histogram.with_label_values(&l),
        })
    }
}
