//! The `kafka` sink: produces events with librdkafka (the `rdkafka` crate, statically built) and
//! acknowledges each event from its delivery report.
//!
//! * [`config`] — the config struct (reference documentation) and its librdkafka properties.
//! * `record` — turning an event into topic, key, headers and payload.
//! * `delivery` — the producer context: delivery reports → event statuses, metrics.
//!
//! The sink hands each message to librdkafka's queue together with the event (as the message's
//! delivery opaque). librdkafka batches, compresses, retries retriable errors until
//! `message_timeout_ms` and then reports each message once; the report decides the event's status.
//! Rejected events come back to the sink task, which hands them to the dead-letter output.

mod config;
mod delivery;
mod record;

#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir_core::component::PluginCommon;

use async_trait::async_trait;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};
use tokio::sync::mpsc;
use weir_core::ack::EventStatus;
use weir_core::component::{
    BuildContext, BuildError, ComponentError, ConfigProblem, Sink, SinkConfig, SinkContext,
    SinkInput,
};
use weir_core::template::Template;

pub use config::{Acks, KafkaCompression, KafkaSasl, KafkaSinkConfig, KafkaTls, SaslMechanism};
use delivery::{classify, DeliveryContext, Failure, KafkaMetrics, Pending};
use record::RecordBuilder;

use crate::dead_letter::{DeadLetters, Rejection, DEAD_LETTER};

/// How long to wait before offering a message again when librdkafka's queue is full (also woken
/// early by any delivery report).
const QUEUE_FULL_WAIT: Duration = Duration::from_millis(50);

impl PluginCommon for KafkaSinkConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        self.problems()
    }
    fn outputs(&self) -> Vec<String> {
        vec![DEAD_LETTER.to_string()]
    }
    fn unconsumed_output(&self, output: &str, id: &str, data_dir: &Path) -> Option<String> {
        (output == DEAD_LETTER).then(|| self.dead_letter.fate(data_dir, id))
    }
}

impl SinkConfig for KafkaSinkConfig {
    fn build(&self, cx: &BuildContext) -> Result<Box<dyn Sink>, BuildError> {
        if let Some(problem) = self.problems().into_iter().next() {
            return Err(BuildError::new(problem.key, problem.message));
        }
        let topic = Template::parse(&self.topic)
            .map_err(|error| BuildError::new("topic", format!("invalid template: {error}")))?;
        let mut client = ClientConfig::new();
        for (key, value) in self.librdkafka_properties() {
            client.set(key, value);
        }
        let (rejected_tx, rejected_rx) = mpsc::unbounded_channel();
        let metrics = KafkaMetrics::new(&cx.metrics)
            .map_err(|error| BuildError::new("", format!("cannot register metrics: {error}")))?;
        let context = DeliveryContext::new(Arc::clone(&cx.id), metrics.clone(), rejected_tx);
        let producer: ThreadedProducer<DeliveryContext> = client
            .create_with_context(context)
            .map_err(|error| BuildError::new("librdkafka_options", error.to_string()))?;
        Ok(Box::new(KafkaSink {
            producer,
            records: RecordBuilder::new(
                topic,
                self.key_field.as_deref(),
                &self.headers,
                self.encoding,
            ),
            rejected_rx,
            metrics,
            flush_timeout: Duration::from_millis(self.message_timeout_ms) + Duration::from_secs(5),
            dead_letters: self.dead_letter.build(cx)?,
        }))
    }
}

/// The running sink.
struct KafkaSink {
    producer: ThreadedProducer<DeliveryContext>,
    records: RecordBuilder,
    rejected_rx: mpsc::UnboundedReceiver<Rejection>,
    metrics: KafkaMetrics,
    flush_timeout: Duration,
    dead_letters: DeadLetters,
}

impl KafkaSink {
    /// Queues one event, waiting while librdkafka's queue is full.
    async fn produce(&mut self, event: weir_core::Event, dead: &mut Vec<Rejection>) {
        let fields = match self.records.build(&event) {
            Ok(fields) => fields,
            Err(reason) => {
                self.metrics.failed(Failure::Encode);
                dead.push(Rejection { event, reason });
                return;
            }
        };
        let mut pending = Box::new(Pending {
            event,
            queued: Instant::now(),
        });
        loop {
            let mut record = BaseRecord::with_opaque_to(&fields.topic, pending)
                .payload(&fields.payload)
                .headers(fields.headers.clone());
            if let Some(key) = &fields.key {
                record = record.key(key);
            }
            match self.producer.send(record) {
                Ok(()) => {
                    self.metrics.produced.inc();
                    return;
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), record)) => {
                    pending = record.delivery_opaque;
                    self.metrics.queue_full_waits.inc();
                    let notified = self.producer.context().delivered.notified();
                    let _ = tokio::time::timeout(QUEUE_FULL_WAIT, notified).await;
                }
                Err((error, record)) => {
                    let Pending { event, .. } = *record.delivery_opaque;
                    let (failure, status) = classify(&error);
                    self.metrics.failed(failure);
                    if status == EventStatus::Rejected {
                        dead.push(Rejection {
                            event,
                            reason: format!("kafka: {error}"),
                        });
                    } else {
                        tracing::warn!(%error, "cannot queue message for kafka");
                        event.finalize(status);
                    }
                    return;
                }
            }
        }
    }
}

#[async_trait]
impl Sink for KafkaSink {
    async fn run(
        mut self: Box<Self>,
        mut input: SinkInput,
        mut cx: SinkContext,
    ) -> Result<(), ComponentError> {
        let mut dead = Vec::new();
        loop {
            tokio::select! {
                batch = input.next_batch() => {
                    let Some(batch) = batch else { break };
                    for event in batch {
                        self.produce(event, &mut dead).await;
                    }
                    self.metrics.queue_depth.set(i64::from(self.producer.in_flight_count()));
                }
                Some(rejection) = self.rejected_rx.recv() => dead.push(rejection),
            }
            while let Ok(rejection) = self.rejected_rx.try_recv() {
                dead.push(rejection);
            }
            if !dead.is_empty() {
                self.dead_letters
                    .send(&mut cx.out, std::mem::take(&mut dead))
                    .await;
            }
        }
        // Input is done: wait for every delivery report (librdkafka gives up on a message after
        // `message_timeout_ms`, so this ends), handing on rejections as they come.
        let started = Instant::now();
        while self.producer.in_flight_count() > 0 && started.elapsed() < self.flush_timeout {
            let notified = self.producer.context().delivered.notified();
            let _ = tokio::time::timeout(Duration::from_millis(100), notified).await;
            while let Ok(rejection) = self.rejected_rx.try_recv() {
                dead.push(rejection);
            }
            if !dead.is_empty() {
                self.dead_letters
                    .send(&mut cx.out, std::mem::take(&mut dead))
                    .await;
            }
            self.metrics
                .queue_depth
                .set(i64::from(self.producer.in_flight_count()));
        }
        let left = self.producer.in_flight_count();
        if left > 0 {
            // Dropping the producer purges them; their events end Errored (unfinalized drop).
            tracing::error!(
                messages = left,
                "kafka sink stopped with undelivered messages; they are not acknowledged"
            );
        }
        let KafkaSink {
            producer,
            mut rejected_rx,
            mut dead_letters,
            ..
        } = *self;
        drop(producer);
        while let Ok(rejection) = rejected_rx.try_recv() {
            dead.push(rejection);
        }
        dead_letters.send(&mut cx.out, dead).await;
        Ok(())
    }
}
