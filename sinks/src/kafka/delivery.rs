//! The producer context: librdkafka's delivery reports become event statuses and metrics.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use prometheus::{Histogram, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec};
use rdkafka::client::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{DeliveryResult, ProducerContext};
use tokio::sync::{mpsc, Notify};
use weir_core::ack::EventStatus;
use weir_core::metrics::{ComponentMetrics, PluginFamilies, DEFAULT_OUTPUT, SECONDS_BUCKETS};
use weir_core::Event;

use crate::dead_letter::Rejection;
use weir_core::throttle::LogThrottle;

/// An event waiting for its delivery report (the message's delivery opaque).
pub(super) struct Pending {
    pub(super) event: Event,
    pub(super) queued: Instant,
}

/// Why a message failed (the `reason` label of `weir_kafka_failed_events_total`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Failure {
    /// librdkafka gave up after `message_timeout_ms` (broker unreachable, leader unknown...).
    Timeout,
    /// The message exceeds the broker's or the client's size limit.
    TooLarge,
    /// Not authorized to write the topic.
    Unauthorized,
    /// The broker refused the record as invalid.
    Invalid,
    /// The event could not be turned into a message (topic template, missing `message`).
    Encode,
    /// Anything else (retriable failures that ran out of time included).
    Other,
}

impl Failure {
    /// The metric label.
    pub(super) fn label(self) -> &'static str {
        match self {
            Failure::Timeout => "timeout",
            Failure::TooLarge => "too_large",
            Failure::Unauthorized => "unauthorized",
            Failure::Invalid => "invalid",
            Failure::Encode => "encode",
            Failure::Other => "other",
        }
    }
}

/// Which failure an error is and what status the event gets: `Rejected` when the broker will never
/// take the message, `Errored` (the source may retry later) otherwise.
pub(super) fn classify(error: &KafkaError) -> (Failure, EventStatus) {
    let code = match error {
        KafkaError::MessageProduction(code) => *code,
        _ => return (Failure::Other, EventStatus::Errored),
    };
    use RDKafkaErrorCode as C;
    match code {
        C::MessageTimedOut | C::RequestTimedOut | C::OperationTimedOut => {
            (Failure::Timeout, EventStatus::Errored)
        }
        C::MessageSizeTooLarge | C::InvalidMessageSize | C::MessageBatchTooLarge => {
            (Failure::TooLarge, EventStatus::Rejected)
        }
        C::TopicAuthorizationFailed
        | C::ClusterAuthorizationFailed
        | C::GroupAuthorizationFailed
        | C::TransactionalIdAuthorizationFailed => (Failure::Unauthorized, EventStatus::Rejected),
        C::InvalidMessage | C::InvalidRecord | C::InvalidTopic | C::PolicyViolation => {
            (Failure::Invalid, EventStatus::Rejected)
        }
        _ => (Failure::Other, EventStatus::Errored),
    }
}

/// The sink's own metric families.
#[derive(Clone)]
pub(super) struct KafkaMetrics {
    /// `weir_kafka_produced_events_total`: messages handed to librdkafka.
    pub(super) produced: IntCounter,
    /// `weir_kafka_delivered_events_total`: messages the broker acknowledged.
    pub(super) delivered: IntCounter,
    failed: IntCounterVec,
    /// `weir_kafka_queue_messages`: messages in librdkafka's queue or in flight.
    pub(super) queue_depth: IntGauge,
    /// `weir_kafka_queue_full_waits_total`: times the sink waited for room in the queue.
    pub(super) queue_full_waits: IntCounter,
    latency: Histogram,
    sent_events: IntCounter,
    sent_bytes: IntCounter,
    /// The component metrics, for the labels of `failed`.
    component: ComponentMetrics,
}

/// The sink's families, registered once per registry and shared by every instance.
#[derive(Clone)]
struct Families {
    produced: IntCounterVec,
    delivered: IntCounterVec,
    failed: IntCounterVec,
    queue_depth: IntGaugeVec,
    queue_full_waits: IntCounterVec,
    latency: HistogramVec,
}

fn families(metrics: &ComponentMetrics) -> prometheus::Result<Families> {
    metrics.plugin_families(|registry| {
        let f = PluginFamilies::new(registry);
        Ok(Families {
            produced: f.counter(
                "weir_kafka_produced_events_total",
                "Messages handed to librdkafka.",
                &[],
            )?,
            delivered: f.counter(
                "weir_kafka_delivered_events_total",
                "Messages acknowledged by the broker.",
                &[],
            )?,
            failed: f.counter(
                "weir_kafka_failed_events_total",
                "Messages that failed, by reason.",
                &["reason"],
            )?,
            queue_depth: f.gauge(
                "weir_kafka_queue_messages",
                "Messages in librdkafka's queue or in flight.",
                &[],
            )?,
            queue_full_waits: f.counter(
                "weir_kafka_queue_full_waits_total",
                "Times the sink waited because librdkafka's queue was full.",
                &[],
            )?,
            latency: f.histogram(
                "weir_kafka_delivery_latency_seconds",
                "Time from queueing a message to its delivery report.",
                &[],
                SECONDS_BUCKETS,
            )?,
        })
    })
}

impl KafkaMetrics {
    pub(super) fn new(metrics: &ComponentMetrics) -> prometheus::Result<Self> {
        let f = families(metrics)?;
        let l = metrics.label_values();
        Ok(Self {
            produced: f.produced.with_label_values(&l),
            delivered: f.delivered.with_label_values(&l),
            failed: f.failed,
            queue_depth: f.queue_depth.with_label_values(&l),
            queue_full_waits: f.queue_full_waits.with_label_values(&l),
            latency: f.latency.with_label_values(&l),
            sent_events: metrics.sent_events(DEFAULT_OUTPUT),
            sent_bytes: metrics.sent_bytes.clone(),
            component: metrics.clone(),
        })
    }

    /// Counts one failed message.
    pub(super) fn failed(&self, reason: Failure) {
        self.failed
            .with_label_values(&self.component.label_values_with(&[reason.label()]))
            .inc();
    }
}

/// The producer context: finalizes events from delivery reports.
pub(super) struct DeliveryContext {
    component: Arc<str>,
    metrics: KafkaMetrics,
    rejected: mpsc::UnboundedSender<Rejection>,
    /// Client errors repeat for as long as a broker is unreachable: one warning per interval.
    errors: Mutex<LogThrottle>,
    /// Woken on every delivery report (the sink waits on it when the queue is full).
    pub(super) delivered: Notify,
}

impl DeliveryContext {
    pub(super) fn new(
        component: Arc<str>,
        metrics: KafkaMetrics,
        rejected: mpsc::UnboundedSender<Rejection>,
    ) -> Self {
        Self {
            component,
            metrics,
            rejected,
            errors: Mutex::new(LogThrottle::default()),
            delivered: Notify::new(),
        }
    }
}

impl ClientContext for DeliveryContext {
    fn error(&self, error: KafkaError, reason: &str) {
        let allowed = self.errors.lock().map(|mut t| t.check()).unwrap_or(None);
        match allowed {
            Some(suppressed) => {
                tracing::warn!(component = %self.component, %error, reason, suppressed, "kafka client error");
            }
            None => {
                tracing::debug!(component = %self.component, %error, reason, "kafka client error")
            }
        }
    }
}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = Box<Pending>;

    fn delivery(&self, result: &DeliveryResult<'_>, pending: Box<Pending>) {
        let Pending { event, queued } = *pending;
        self.metrics.latency.observe(queued.elapsed().as_secs_f64());
        match result {
            Ok(message) => {
                use rdkafka::message::Message as _;
                self.metrics.delivered.inc();
                self.metrics.sent_events.inc();
                let bytes = message.payload_len() + message.key().map_or(0, <[u8]>::len);
                self.metrics.sent_bytes.inc_by(bytes as u64);
                event.finalize(EventStatus::Delivered);
            }
            Err((error, _)) => {
                let (failure, status) = classify(error);
                self.metrics.failed(failure);
                if status == EventStatus::Rejected {
                    let rejection = Rejection {
                        event,
                        reason: format!("kafka: {error}"),
                    };
                    if let Err(mpsc::error::SendError(rejection)) = self.rejected.send(rejection) {
                        // The sink task is gone: nobody can dead-letter it any more.
                        rejection.event.finalize(EventStatus::Rejected);
                    }
                } else {
                    tracing::debug!(component = %self.component, %error, "kafka message failed");
                    event.finalize(status);
                }
            }
        }
        self.delivered.notify_waiters();
    }
}
