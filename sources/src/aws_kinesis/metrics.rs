//! The `aws_kinesis` source's own metric families, registered once per registry (a reload
//! rebuilds the source; a second registration would fail).

use prometheus::{IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts};
use weir_core::metrics::ComponentMetrics;

const LABELS: [&str; 3] = ["component_id", "component_kind", "component_type"];
const SHARD_LABELS: [&str; 5] = [
    "component_id",
    "component_kind",
    "component_type",
    "stream",
    "shard_id",
];

#[derive(Clone)]
struct Families {
    records: IntCounterVec,
    bytes: IntCounterVec,
    behind: IntGaugeVec,
    leases: IntGaugeVec,
    takeovers: IntCounterVec,
    checkpoints: IntCounterVec,
    throttles: IntCounterVec,
    control_messages: IntCounterVec,
}

/// One source's handles.
#[derive(Clone)]
pub(super) struct KinesisMetrics {
    labels: [String; 3],
    behind: IntGaugeVec,
    /// Kinesis records read (before de-aggregation).
    pub records: IntCounter,
    /// Bytes of the records read.
    pub bytes: IntCounter,
    /// Leases this source holds.
    pub leases: IntGauge,
    /// Leases taken from another owner (expired or stolen for balance).
    pub takeovers: IntCounter,
    /// Checkpoint writes.
    pub checkpoints: IntCounter,
    /// Throttled calls (`ProvisionedThroughputExceeded`, `LimitExceeded`).
    pub throttles: IntCounter,
    /// CloudWatch Logs envelopes without log events (`CONTROL_MESSAGE` health checks),
    /// acknowledged and dropped.
    pub control_messages: IntCounter,
}

fn counter(name: &str, help: &str) -> prometheus::Result<IntCounterVec> {
    IntCounterVec::new(Opts::new(name, help), &LABELS)
}

fn families(metrics: &ComponentMetrics) -> prometheus::Result<Families> {
    metrics.plugin_families(|registry| {
        let families = Families {
            records: counter(
                "weir_aws_kinesis_records_total",
                "Kinesis records read (before KPL de-aggregation).",
            )?,
            bytes: counter(
                "weir_aws_kinesis_bytes_total",
                "Bytes of Kinesis records read.",
            )?,
            behind: IntGaugeVec::new(
                Opts::new(
                    "weir_aws_kinesis_millis_behind_latest",
                    "MillisBehindLatest of the last GetRecords of a shard.",
                ),
                &SHARD_LABELS,
            )?,
            leases: IntGaugeVec::new(
                Opts::new("weir_aws_kinesis_leases_held", "Shard leases held."),
                &LABELS,
            )?,
            takeovers: counter(
                "weir_aws_kinesis_lease_takeovers_total",
                "Leases taken from another owner (expired or stolen for balance).",
            )?,
            checkpoints: counter(
                "weir_aws_kinesis_checkpoint_writes_total",
                "Shard checkpoints written to the lease table.",
            )?,
            throttles: counter(
                "weir_aws_kinesis_throttles_total",
                "Throttled Kinesis calls.",
            )?,
            control_messages: counter(
                "weir_aws_kinesis_control_messages_total",
                "CloudWatch Logs envelopes without log events (CONTROL_MESSAGE health checks), \
                 acknowledged and dropped.",
            )?,
        };
        registry.register(Box::new(families.records.clone()))?;
        registry.register(Box::new(families.bytes.clone()))?;
        registry.register(Box::new(families.behind.clone()))?;
        registry.register(Box::new(families.leases.clone()))?;
        registry.register(Box::new(families.takeovers.clone()))?;
        registry.register(Box::new(families.checkpoints.clone()))?;
        registry.register(Box::new(families.throttles.clone()))?;
        registry.register(Box::new(families.control_messages.clone()))?;
        Ok(families)
    })
}

impl KinesisMetrics {
    /// The handles for one source (families registered on first use).
    pub fn new(metrics: &ComponentMetrics) -> prometheus::Result<Self> {
        let f = families(metrics)?;
        let l = [metrics.component_id(), "source", "aws_kinesis"];
        Ok(Self {
            labels: l.map(str::to_string),
            behind: f.behind.clone(),
            records: f.records.with_label_values(&l),
            bytes: f.bytes.with_label_values(&l),
            leases: f.leases.with_label_values(&l),
            takeovers: f.takeovers.with_label_values(&l),
            checkpoints: f.checkpoints.with_label_values(&l),
            throttles: f.throttles.with_label_values(&l),
            control_messages: f.control_messages.with_label_values(&l),
        })
    }

    /// The `millis_behind_latest` gauge of one shard.
    pub fn behind(&self, stream: &str, shard_id: &str) -> IntGauge {
        let l = &self.labels;
        self.behind.with_label_values(&[
            l[0].as_str(),
            l[1].as_str(),
            l[2].as_str(),
            stream,
            shard_id,
        ])
    }

    /// Drops a shard's gauge (the shard is no longer read here).
    pub fn forget_shard(&self, stream: &str, shard_id: &str) {
        let l = &self.labels;
        let _ = self.behind.remove_label_values(&[
            l[0].as_str(),
            l[1].as_str(),
            l[2].as_str(),
            stream,
            shard_id,
        ]);
    }
}
