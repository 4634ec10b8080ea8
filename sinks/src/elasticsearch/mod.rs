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

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use weir_core::component::PluginCommon;

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

use crate::dead_letter::{DeadLetters, Rejection, DEAD_LETTER};
use crate::errors::ErrorType;
use weir_core::throttle::LogThrottle;

impl PluginCommon for ElasticsearchSinkConfig {
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

impl SinkConfig for ElasticsearchSinkConfig {
    fn build(&self, cx: &BuildContext) -> Result<Box<dyn Sink>, BuildError> {
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
            dead_letters: self.dead_letter.build(cx)?,
            config: self.clone(),
        }))
    }
}

/// The running sink.
struct ElasticsearchSink {
    client: Arc<Client>,
    encoder: DocEncoder,
    dead_letters: DeadLetters,
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
    max_events: usize,
    max_bytes: usize,
    timeout: Duration,
}

impl Batch {
    fn new(options: &BatchOptions) -> Self {
        Self {
            docs: Vec::new(),
            bytes: 0,
            deadline: None,
            max_events: options.max_events,
            max_bytes: options.max_bytes,
            timeout: Duration::from_secs_f64(options.timeout_secs),
        }
    }

    /// Adds a document: the batch is sent first when the document would take it past
    /// `batch.max_bytes` (a larger document goes alone), and after when it is full.
    async fn add(&mut self, doc: Doc, dispatcher: &Dispatcher) {
        if !self.docs.is_empty() && self.bytes + doc.lines.len() > self.max_bytes {
            dispatcher.dispatch(self.take()).await;
        }
        if self.docs.is_empty() {
            self.deadline = Some(tokio::time::Instant::now() + self.timeout);
        }
        self.bytes += doc.lines.len();
        self.docs.push(doc);
        if self.docs.len() >= self.max_events {
            dispatcher.dispatch(self.take()).await;
        }
    }

    /// The documents, leaving the batch empty.
    fn take(&mut self) -> Vec<Doc> {
        self.bytes = 0;
        self.deadline = None;
        std::mem::take(&mut self.docs)
    }
}

/// Hands batches to request tasks, at most `concurrency` at once.
struct Dispatcher {
    shared: Arc<Shared>,
    slots: Arc<Semaphore>,
    rejected: mpsc::UnboundedSender<Rejection>,
}

impl Dispatcher {
    /// Starts a request task for `docs` once a slot is free. Waiting for the slot is the
    /// backpressure: no input is taken meanwhile.
    async fn dispatch(&self, docs: Vec<Doc>) {
        let Ok(permit) = Arc::clone(&self.slots).acquire_owned().await else {
            return;
        };
        let shared = Arc::clone(&self.shared);
        let rejected = self.rejected.clone();
        tokio::spawn(async move {
            deliver(&shared, docs, &rejected).await;
            drop(permit);
        });
    }
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
            mut dead_letters,
            config,
        } = *self;
        let metrics = EsMetrics::new(&cx.metrics)
            .map_err(|error| ComponentError(format!("cannot register metrics: {error}")))?;
        if config.healthcheck {
            health_check(&client, &cx.id, &metrics).await;
        }
        let (rejected_tx, mut rejected_rx) = mpsc::unbounded_channel::<Rejection>();
        let dispatcher = Dispatcher {
            shared: Arc::new(Shared {
                client,
                metrics,
                action: config.action(),
                compression: config.compression,
                retry: config.retry.clone(),
                component: Arc::clone(&cx.id),
                throttle: Mutex::new(LogThrottle::default()),
            }),
            slots: Arc::new(Semaphore::new(config.concurrency)),
            rejected: rejected_tx,
        };
        let mut dead = Vec::new();
        let mut batch = Batch::new(&config.batch);
        loop {
            let deadline = batch.deadline;
            tokio::select! {
                events = input.next_batch() => {
                    let Some(events) = events else { break };
                    for event in events {
                        match encoder.encode(event) {
                            Ok(doc) => batch.add(doc, &dispatcher).await,
                            Err(rejection) => dead.push(*rejection),
                        }
                    }
                }
                _ = sleep_until(deadline), if deadline.is_some() => {
                    dispatcher.dispatch(batch.take()).await;
                }
                Some(rejection) = rejected_rx.recv() => dead.push(rejection),
            }
            drain(&mut rejected_rx, &mut dead);
            dead_letters
                .send(&mut cx.out, std::mem::take(&mut dead))
                .await;
        }
        if !batch.docs.is_empty() {
            dispatcher.dispatch(batch.take()).await;
        }
        // Every request task holds a clone of the sender: the channel closes when the last ends.
        drop(dispatcher);
        while let Some(rejection) = rejected_rx.recv().await {
            dead.push(rejection);
            drain(&mut rejected_rx, &mut dead);
            dead_letters
                .send(&mut cx.out, std::mem::take(&mut dead))
                .await;
        }
        dead_letters.send(&mut cx.out, dead).await;
        Ok(())
    }
}

/// Moves the rejections already waiting to `dead`.
fn drain(rejected: &mut mpsc::UnboundedReceiver<Rejection>, dead: &mut Vec<Rejection>) {
    while let Ok(rejection) = rejected.try_recv() {
        dead.push(rejection);
    }
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
            metrics
                .component
                .error(ErrorType::HealthCheckFailed.as_str(), 1);
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
            metrics
                .component
                .error(ErrorType::HealthCheckFailed.as_str(), 1);
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
                metrics
                    .component
                    .error(ErrorType::RequestFailed.as_str(), 1);
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
                    .error(ErrorType::RetriesExhausted.as_str(), retry.len() as u64);
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
