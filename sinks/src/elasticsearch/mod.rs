//! The `elasticsearch` sink: bulk-writes events to Elasticsearch or OpenSearch and acknowledges
//! each document from its own item of the bulk response.
//!
//! * [`config`] — the config struct (reference documentation).
//! * `request` — events → bulk lines (index template, id, action), bodies, gzip.
//! * `response` — a bulk response → one outcome per document.
//! * `retry` — exponential backoff with jitter up to a total duration.
//! * `client` — HTTP, round-robin endpoints, auth (basic, API key, AWS SigV4), health check.
//! * `metrics` — the sink's metric families.
//!
//! The sink task batches documents and hands each full batch to a request task; at most
//! `concurrency` request tasks run at once, and the sink task waits for a free slot before taking
//! more input (backpressure). A request task retries what can succeed on retry, finalizes the rest,
//! and sends rejected documents back to the sink task for the dead-letter output.

mod client;
mod config;
mod metrics;
mod request;
mod response;
mod retry;

#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::{mpsc, Semaphore};
use weir_core::ack::EventStatus;
use weir_core::component::{
    BuildContext, BuildError, ComponentError, ConfigProblem, Sink, SinkConfig, SinkContext,
    SinkInput,
};
use weir_core::template::Template;

use client::Client;
pub use config::{
    Auth, BatchOptions, BulkAction, BulkOptions, ElasticsearchSinkConfig, EsCompression, EsTls,
    Mode, RetryOptions,
};
use metrics::EsMetrics;
use request::{Doc, DocEncoder};
use response::{ItemOutcome, RequestOutcome};
use retry::Backoff;

use crate::delivery::{DeadLetters, Rejection, DEAD_LETTER};
use crate::throttle::LogThrottle;

impl SinkConfig for ElasticsearchSinkConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        self.problems()
    }

    fn outputs(&self) -> Vec<&'static str> {
        vec![DEAD_LETTER]
    }

    fn build(&self, _cx: &BuildContext) -> Result<Box<dyn Sink>, BuildError> {
        if let Some(problem) = self.problems().into_iter().next() {
            return Err(BuildError::new(problem.key, problem.message));
        }
        let index = Template::parse(&self.index)
            .map_err(|error| BuildError::new("index", format!("invalid template: {error}")))?;
        let client = Client::new(
            &self.endpoints,
            self.auth.clone(),
            &self.tls,
            self.compression,
            Duration::from_secs(self.request_timeout_secs),
        )
        .map_err(|error| BuildError::new("tls", error.to_string()))?;
        Ok(Box::new(ElasticsearchSink {
            client: Arc::new(client),
            encoder: DocEncoder::new(
                index,
                self.id_field.as_deref(),
                self.action(),
                self.mode == Mode::DataStream,
            ),
            config: self.clone(),
        }))
    }
}

/// The running sink.
struct ElasticsearchSink {
    client: Arc<Client>,
    encoder: DocEncoder,
    config: ElasticsearchSinkConfig,
}

/// What the request tasks share.
struct Shared {
    client: Arc<Client>,
    metrics: EsMetrics,
    action: BulkAction,
    compression: EsCompression,
    retry: RetryOptions,
    component: Arc<str>,
    throttle: Mutex<LogThrottle>,
}

/// Documents collected for the next request.
struct Batch {
    docs: Vec<Doc>,
    bytes: usize,
    deadline: Option<tokio::time::Instant>,
}

#[async_trait]
impl Sink for ElasticsearchSink {
    async fn run(
        self: Box<Self>,
        mut input: SinkInput,
        mut cx: SinkContext,
    ) -> Result<(), ComponentError> {
        let ElasticsearchSink {
            client,
            mut encoder,
            config,
        } = *self;
        let metrics = EsMetrics::new(&cx.metrics);
        if config.healthcheck {
            health_check(&client, &cx.id, &metrics).await;
        }
        let shared = Arc::new(Shared {
            client,
            metrics,
            action: config.action(),
            compression: config.compression,
            retry: config.retry.clone(),
            component: Arc::clone(&cx.id),
            throttle: Mutex::new(LogThrottle::default()),
        });
        let slots = Arc::new(Semaphore::new(config.concurrency));
        let (rejected_tx, mut rejected_rx) = mpsc::unbounded_channel::<Rejection>();
        let mut dead_letters = DeadLetters::new(Arc::clone(&cx.id), cx.metrics.clone());
        let mut dead = Vec::new();
        let timeout = Duration::from_secs_f64(config.batch.timeout_secs);
        let mut batch = Batch {
            docs: Vec::new(),
            bytes: 0,
            deadline: None,
        };
        let dispatch = |docs: Vec<Doc>| {
            let shared = Arc::clone(&shared);
            let slots = Arc::clone(&slots);
            let rejected_tx = rejected_tx.clone();
            async move {
                // Waiting for a free slot is the backpressure: no input is taken meanwhile.
                let Ok(permit) = slots.acquire_owned().await else {
                    return;
                };
                tokio::spawn(async move {
                    deliver(&shared, docs, &rejected_tx).await;
                    drop(permit);
                });
            }
        };
        loop {
            let deadline = batch.deadline;
            tokio::select! {
                events = input.next_batch() => {
                    let Some(events) = events else { break };
                    for event in events {
                        let doc = match encoder.encode(event) {
                            Ok(doc) => doc,
                            Err(rejection) => {
                                dead.push(*rejection);
                                continue;
                            }
                        };
                        if !batch.docs.is_empty() && batch.bytes + doc.lines.len() > config.batch.max_bytes {
                            dispatch(take(&mut batch)).await;
                        }
                        if batch.docs.is_empty() {
                            batch.deadline = Some(tokio::time::Instant::now() + timeout);
                        }
                        batch.bytes += doc.lines.len();
                        batch.docs.push(doc);
                        if batch.docs.len() >= config.batch.max_events {
                            dispatch(take(&mut batch)).await;
                        }
                    }
                }
                _ = sleep_until(deadline), if deadline.is_some() => {
                    dispatch(take(&mut batch)).await;
                }
                Some(rejection) = rejected_rx.recv() => dead.push(rejection),
            }
            while let Ok(rejection) = rejected_rx.try_recv() {
                dead.push(rejection);
            }
            if !dead.is_empty() {
                dead_letters
                    .send(&mut cx.out, std::mem::take(&mut dead))
                    .await;
            }
        }
        if !batch.docs.is_empty() {
            dispatch(take(&mut batch)).await;
        }
        drop(rejected_tx);
        // Every request task holds a clone of the sender: the channel closes when the last ends.
        while let Some(rejection) = rejected_rx.recv().await {
            dead.push(rejection);
            while let Ok(rejection) = rejected_rx.try_recv() {
                dead.push(rejection);
            }
            dead_letters
                .send(&mut cx.out, std::mem::take(&mut dead))
                .await;
        }
        dead_letters.send(&mut cx.out, dead).await;
        Ok(())
    }
}

fn take(batch: &mut Batch) -> Vec<Doc> {
    batch.bytes = 0;
    batch.deadline = None;
    std::mem::take(&mut batch.docs)
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// `GET /`: logs the server's version, or reports clearly why the cluster cannot be used.
async fn health_check(client: &Client, component: &str, metrics: &EsMetrics) {
    match client.root().await {
        Ok(answer) if (200..300).contains(&answer.status) => {
            let info: serde_json::Value = serde_json::from_slice(&answer.body).unwrap_or_default();
            let version = info
                .pointer("/version/number")
                .and_then(|v| v.as_str())
                .unwrap_or("unknown");
            let distribution = info
                .pointer("/version/distribution")
                .and_then(|v| v.as_str())
                .unwrap_or("elasticsearch");
            tracing::info!(
                component,
                version,
                distribution,
                "elasticsearch health check passed"
            );
        }
        Ok(answer) => {
            metrics.component.error("health_check_failed", 1);
            let hint = match answer.status {
                401 => " (401 Unauthorized: the credentials in `auth` are missing or wrong)",
                403 => " (403 Forbidden: the credentials in `auth` lack permissions)",
                _ => "",
            };
            tracing::error!(
                component,
                status = answer.status,
                body = %response::snippet(&answer.body),
                "elasticsearch health check failed: HTTP {}{hint}; documents will be retried and not acknowledged until the cluster accepts them",
                answer.status
            );
        }
        Err(error) => {
            metrics.component.error("health_check_failed", 1);
            tracing::error!(component, %error, "elasticsearch health check failed: cluster unreachable");
        }
    }
}

/// Sends one batch until every document is accepted, rejected or out of retry time.
async fn deliver(shared: &Shared, mut docs: Vec<Doc>, rejected: &mpsc::UnboundedSender<Rejection>) {
    let metrics = &shared.metrics;
    let mut backoff = Backoff::new(
        Duration::from_millis(shared.retry.initial_backoff_ms),
        Duration::from_millis(shared.retry.max_backoff_ms),
        Duration::from_secs_f64(shared.retry.max_duration_secs),
    );
    loop {
        let raw = request::body(&docs);
        let payload = match shared.compression {
            EsCompression::Gzip => match request::gzip(&raw) {
                Ok(compressed) => compressed,
                Err(error) => {
                    tracing::error!(%error, "cannot gzip a bulk body; sending it uncompressed is not configured");
                    finalize(docs, EventStatus::Errored);
                    return;
                }
            },
            EsCompression::None => raw,
        };
        let n = docs.len() as u64;
        let body_len = payload.len() as u64;
        metrics.sent.inc_by(n);
        metrics.in_flight.inc();
        let started = Instant::now();
        let result = shared.client.bulk(payload).await;
        metrics.in_flight.dec();
        let outcome = match result {
            Ok(answer) => {
                metrics.latency(answer.status, started.elapsed().as_secs_f64());
                metrics.sent_bytes.inc_by(body_len);
                response::classify(answer.status, &answer.body, docs.len(), shared.action)
            }
            Err(error) => {
                metrics.latency(0, started.elapsed().as_secs_f64());
                RequestOutcome::RetryAll(0, error.to_string())
            }
        };
        let retry = match outcome {
            RequestOutcome::Items(items) => {
                let mut retry = Vec::new();
                for (doc, item) in docs.into_iter().zip(items) {
                    match item {
                        ItemOutcome::Accepted(status) => {
                            metrics.accepted(status, 1);
                            doc.event.finalize(EventStatus::Delivered);
                        }
                        ItemOutcome::Retry(status) => {
                            metrics.retried(status, 1);
                            retry.push(doc);
                        }
                        ItemOutcome::Rejected(status, reason) => {
                            metrics.rejected(status, 1);
                            reject(rejected, doc, reason);
                        }
                    }
                }
                retry
            }
            RequestOutcome::RetryAll(status, reason) => {
                metrics.retried(status, n);
                metrics.component.error("request_failed", 1);
                warn(shared, &reason, n);
                docs
            }
            RequestOutcome::RejectAll(status, reason) => {
                metrics.rejected(status, n);
                for doc in docs {
                    reject(rejected, doc, reason.clone());
                }
                Vec::new()
            }
        };
        if retry.is_empty() {
            return;
        }
        match backoff.next_delay() {
            Some(delay) => tokio::time::sleep(delay).await,
            None => {
                metrics.errored.inc_by(retry.len() as u64);
                metrics
                    .component
                    .error("retries_exhausted", retry.len() as u64);
                tracing::error!(
                    component = %shared.component,
                    documents = retry.len(),
                    "elasticsearch: giving up after retry.max_duration_secs; the documents are not acknowledged (Errored)"
                );
                finalize(retry, EventStatus::Errored);
                return;
            }
        }
        docs = retry;
    }
}

fn reject(rejected: &mpsc::UnboundedSender<Rejection>, doc: Doc, reason: String) {
    let rejection = Rejection {
        event: doc.event,
        reason: format!("elasticsearch: {reason}"),
    };
    if let Err(mpsc::error::SendError(rejection)) = rejected.send(rejection) {
        rejection.event.finalize(EventStatus::Rejected);
    }
}

fn finalize(docs: Vec<Doc>, status: EventStatus) {
    for doc in docs {
        doc.event.finalize(status);
    }
}

fn warn(shared: &Shared, reason: &str, documents: u64) {
    let allowed = shared
        .throttle
        .lock()
        .map(|mut t| t.check())
        .unwrap_or(None);
    if let Some(suppressed) = allowed {
        tracing::warn!(component = %shared.component, documents, suppressed, reason, "bulk request failed; retrying");
    }
}
