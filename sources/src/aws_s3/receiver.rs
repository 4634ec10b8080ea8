//! The SQS loop: receive (only while fewer than `concurrency` messages are in flight), read each
//! message's objects, keep its visibility extended, and delete it once everything was delivered.

use crate::aws_errors::AwsErrorLog;
use crate::errors::ErrorType;
use std::sync::Arc;
use std::time::Duration;
use weir_aws::client::errors::AwsError;

use aws_sdk_sqs::types::{Message, MessageSystemAttributeName, QueueAttributeName};
use chrono::Utc;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;
use weir_aws::envelopes::s3_notification::{parse_notification, Notification};
use weir_core::ack::{BatchNotifier, BatchStatus};
use weir_core::component::{ComponentError, SourceContext};
use weir_core::metrics::ComponentMetrics;
use weir_core::shutdown::ShutdownSignal;
use weir_core::source_kit::{forward, BatchSender, SourceBatch};

use super::metrics::S3Metrics;
use super::object_reader::{
    object_error_event, read_object, ObjectRef, ReadError, ReadSettings, ReaderContext,
};
use super::{AwsS3Source, AwsS3SourceConfig, OnRejected};
use weir_aws::client::{sqs_client, AwsConnection, S3Clients};

/// Pause after a failed receive before trying again.
const RECEIVE_RETRY: Duration = Duration::from_secs(2);

/// What every message task shares.
struct Shared {
    id: Arc<str>,
    queue_url: String,
    sqs: aws_sdk_sqs::Client,
    s3: S3Clients,
    metrics: ComponentMetrics,
    s3_metrics: S3Metrics,
    settings: ReadSettings,
    visibility_timeout: u32,
    on_rejected: OnRejected,
    include: Vec<glob::Pattern>,
    exclude: Vec<glob::Pattern>,
    shutdown: ShutdownSignal,
    default_region: Option<String>,
    aws_errors: AwsErrorLog,
    /// `queue <url>`, for error lines.
    queue_name: String,
}

pub(super) async fn run(source: AwsS3Source, cx: SourceContext) -> Result<(), ComponentError> {
    let SourceContext {
        id,
        out,
        shutdown,
        metrics,
        once,
    } = cx;
    let config = &source.config;
    let connection = AwsConnection {
        region: config.region.clone(),
        endpoint: config.endpoint.clone(),
        auth: config.auth.clone(),
    };
    let sdk = connection.sdk_config().await;
    let default_region = sdk.region().map(|r| r.to_string());
    let force_path_style = config.force_path_style.unwrap_or(config.endpoint.is_some());
    let s3_metrics = S3Metrics::new(&metrics, "aws_s3")
        .map_err(|e| ComponentError(format!("cannot register metrics: {e}")))?;
    let shared = Arc::new(Shared {
        id: Arc::clone(&id),
        queue_url: config.sqs.queue_url.clone(),
        sqs: sqs_client(&sdk),
        s3: S3Clients::new(sdk, force_path_style),
        metrics: metrics.clone(),
        s3_metrics,
        settings: ReadSettings {
            compression: config.compression,
            framing: config.framing,
            max_line_bytes: config.max_line_bytes,
            max_object_bytes: config.max_object_bytes,
            max_decompressed_bytes: config.max_decompressed_bytes,
            invalid_utf8: config.invalid_utf8,
        },
        visibility_timeout: config.sqs.visibility_timeout_secs,
        on_rejected: config.on_rejected,
        include: source.include.clone(),
        exclude: source.exclude.clone(),
        shutdown: shutdown.clone(),
        default_region,
        aws_errors: AwsErrorLog::new(Arc::clone(&id), metrics.clone()),
        queue_name: format!("queue {}", config.sqs.queue_url),
    });
    tracing::info!(source = %id, queue = %config.sqs.queue_url, "aws_s3 source receiving");

    // Readers send batches here; this task forwards them to the outputs (which it alone owns).
    let (tx, rx) = mpsc::channel::<SourceBatch>(config.sqs.concurrency.max(2));
    let receiver = tokio::spawn(receive_loop(Arc::clone(&shared), config.clone(), tx, once));
    // Once every reader is done, the outputs go: downstream drains while the last messages wait
    // for their acknowledgements and are deleted.
    forward(rx, out).await;
    match receiver.await {
        Ok(()) => {
            tracing::info!(source = %id, "aws_s3 source stopped");
            Ok(())
        }
        Err(e) => Err(ComponentError(format!("aws_s3 receiver failed: {e}"))),
    }
}

/// The startup check: the queue answers `GetQueueAttributes` (its ARN); `Err` is the line
/// saying why not.
pub(super) async fn check_queue(config: &AwsS3SourceConfig) -> Result<(), String> {
    let connection = AwsConnection {
        region: config.region.clone(),
        endpoint: config.endpoint.clone(),
        auth: config.auth.clone(),
    };
    let sqs = sqs_client(&connection.sdk_config().await);
    sqs.get_queue_attributes()
        .queue_url(&config.sqs.queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map(|_| ())
        .map_err(|error| {
            AwsError::of(&error).line(
                "GetQueueAttributes",
                &format!("queue {}", config.sqs.queue_url),
            )
        })
}

async fn receive_loop(shared: Arc<Shared>, config: AwsS3SourceConfig, tx: BatchSender, once: bool) {
    let permits = Arc::new(Semaphore::new(config.sqs.concurrency));
    let mut tasks = JoinSet::new();
    loop {
        // Backpressure: wait for a free slot before asking SQS for anything.
        let first = tokio::select! {
            p = Arc::clone(&permits).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = shared.shutdown.cancelled() => break,
        };
        let mut slots = vec![first];
        while slots.len() < config.sqs.max_number_of_messages as usize {
            match Arc::clone(&permits).try_acquire_owned() {
                Ok(p) => slots.push(p),
                Err(_) => break,
            }
        }
        while tasks.try_join_next().is_some() {}
        let wait = if once { 1 } else { config.sqs.poll_secs };
        let request = shared
            .sqs
            .receive_message()
            .queue_url(&shared.queue_url)
            .max_number_of_messages(slots.len() as i32)
            .wait_time_seconds(wait as i32)
            .visibility_timeout(shared.visibility_timeout as i32)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send();
        let received = tokio::select! {
            r = request => r,
            _ = shared.shutdown.cancelled() => break,
        };
        let messages = match received {
            Ok(output) => output.messages.unwrap_or_default(),
            Err(error) => {
                shared.aws_errors.report(
                    "ReceiveMessage",
                    &shared.queue_name,
                    &error,
                    "retrying every 3 s",
                );
                tokio::select! {
                    _ = tokio::time::sleep(RECEIVE_RETRY) => {}
                    _ = shared.shutdown.cancelled() => break,
                }
                continue;
            }
        };
        if messages.is_empty() {
            if once && tasks.is_empty() {
                break;
            }
            if once {
                // Wait for in-flight messages before deciding the queue is drained.
                let _ = tasks.join_next().await;
            }
            continue;
        }
        shared.s3_metrics.received.inc_by(messages.len() as u64);
        for message in messages {
            let Some(slot) = slots.pop() else {
                break;
            };
            let shared = Arc::clone(&shared);
            let tx = tx.clone();
            tasks.spawn(async move {
                handle_message(&shared, message, tx).await;
                drop(slot);
            });
        }
    }
    drop(tx);
    while tasks.join_next().await.is_some() {}
}

/// Visibility heartbeat of one message: extends it every third of the timeout until dropped (a
/// third, not a half: a slow `ChangeMessageVisibility` answer must still land before the timeout
/// runs out). Ticks are counted from the start, so slow answers do not push later ones back.
struct Heartbeat(tokio::task::JoinHandle<()>);

impl Heartbeat {
    fn start(shared: &Arc<Shared>, receipt: &str, message_id: &str) -> Self {
        let shared = Arc::clone(shared);
        let receipt = receipt.to_string();
        let message_id = message_id.to_string();
        let timeout = shared.visibility_timeout;
        let period =
            Duration::from_millis(u64::from(timeout) * 1000 / 3).max(Duration::from_millis(500));
        Self(tokio::spawn(async move {
            let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let started = std::time::Instant::now();
                let result = shared
                    .sqs
                    .change_message_visibility()
                    .queue_url(&shared.queue_url)
                    .receipt_handle(&receipt)
                    .visibility_timeout(timeout as i32)
                    .send()
                    .await;
                match result {
                    Ok(_) => {
                        shared.s3_metrics.extensions.inc();
                        tracing::debug!(source = %shared.id, message_id, took_ms = started.elapsed().as_millis() as u64, "visibility extended");
                    }
                    Err(error) => {
                        shared.aws_errors.report(
                            "ChangeMessageVisibility",
                            &shared.queue_name,
                            &error,
                            "the message may be received again when its visibility times out",
                        );
                    }
                }
            }
        }))
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One message: its objects are read, and once their events are delivered it is deleted (or
/// kept, or released at shutdown).
async fn handle_message(shared: &Arc<Shared>, message: Message, tx: BatchSender) {
    let message_id = message.message_id().unwrap_or("<none>").to_string();
    let Some(receipt) = message.receipt_handle().map(str::to_string) else {
        shared.metrics.error(ErrorType::InvalidMessage.as_str(), 1);
        tracing::warn!(source = %shared.id, message_id, "SQS message without receipt handle");
        return;
    };
    let Some(wanted) = objects_to_read(shared, &message, &receipt, &message_id, &tx).await else {
        return;
    };
    if wanted.is_empty() {
        delete(shared, &receipt, &message_id).await;
        return;
    }
    let heartbeat = Heartbeat::start(shared, &receipt, &message_id);
    let (notifier, status) = BatchNotifier::with_receiver();
    let read = read_objects(shared, &wanted, &message_id, tx, &notifier).await;
    // Readers are done with this message (the channel is released so the source can finish).
    drop(notifier);
    if read == MessageRead::Cancelled {
        drop(heartbeat);
        shared.s3_metrics.failed.inc();
        // Let another consumer have it at once rather than after the timeout.
        release(shared, &receipt, &message_id).await;
        return;
    }
    // Wait for every event of every object (the heartbeat keeps the message invisible meanwhile).
    let outcome = status.await.unwrap_or(BatchStatus::Errored);
    drop(heartbeat);
    if read == MessageRead::Keep {
        shared.s3_metrics.failed.inc();
        return;
    }
    settle(shared, outcome, &receipt, &message_id).await;
}

/// The objects of a message to read (object creations whose key is wanted). `None` when the
/// message was dealt with already: a test event (deleted) or not a notification (reported on
/// `<id>.errors` with its body, and left to the queue's redrive policy).
async fn objects_to_read(
    shared: &Arc<Shared>,
    message: &Message,
    receipt: &str,
    message_id: &str,
    tx: &BatchSender,
) -> Option<Vec<ObjectRef>> {
    let body = message.body().unwrap_or_default();
    let objects = match parse_notification(body.as_bytes()) {
        Ok(Notification::Test) => {
            tracing::info!(source = %shared.id, message_id, "s3:TestEvent received; deleting it");
            delete(shared, receipt, message_id).await;
            return None;
        }
        Ok(Notification::Objects(objects)) => objects,
        Err(error) => {
            let receive_count = message
                .attributes()
                .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                .cloned()
                .unwrap_or_default();
            shared.metrics.error(ErrorType::InvalidMessage.as_str(), 1);
            shared.s3_metrics.failed.inc();
            tracing::warn!(source = %shared.id, message_id, receive_count, error = %error, "SQS message is not an S3 notification; leaving it to the queue's redrive policy");
            let event = invalid_message_event(shared, message_id, &receive_count, body, &error);
            // Without acknowledgement: the message stays on the queue whatever happens to it.
            let _ = tx.send(SourceBatch::errors(vec![event])).await;
            return None;
        }
    };
    let mut wanted = Vec::new();
    for object in objects {
        if !object.is_object_created() {
            tracing::debug!(source = %shared.id, message_id, event = %object.event_name, key = %object.key, "not an object creation; skipped");
            continue;
        }
        if !AwsS3SourceConfig::wants_key(&shared.include, &shared.exclude, &object.key) {
            tracing::debug!(source = %shared.id, message_id, key = %object.key, "key not included; skipped");
            continue;
        }
        if let Some(time) = object.event_time {
            let lag = (Utc::now() - time).num_milliseconds().max(0) as f64 / 1000.0;
            shared.s3_metrics.lag.set(lag as i64);
            shared.s3_metrics.lag_histogram.observe(lag);
        }
        wanted.push(ObjectRef {
            bucket: object.bucket,
            key: object.key,
            region: object.region.or_else(|| shared.default_region.clone()),
            version_id: object.version_id,
            etag: object.etag,
        });
    }
    Some(wanted)
}

/// How reading a message's objects went.
#[derive(Debug, PartialEq, Eq)]
enum MessageRead {
    /// Every object was read, or reported as unreadable for good.
    Complete,
    /// An object could not be read for a reason that may pass: the message stays on the queue.
    Keep,
    /// Shutdown came first.
    Cancelled,
}

/// The `<id>.errors` event of a message that is no S3 notification: `error`, `error_type`,
/// `sqs.message_id`, `sqs.receive_count` and the body as `message`.
fn invalid_message_event(
    shared: &Shared,
    message_id: &str,
    receive_count: &str,
    body: &str,
    error: &impl std::fmt::Display,
) -> weir_core::Event {
    use vrl::value::{KeyString, ObjectMap, Value};
    let now = Utc::now();
    let mut sqs = ObjectMap::new();
    sqs.insert(KeyString::from("message_id"), Value::from(message_id));
    sqs.insert(KeyString::from("receive_count"), Value::from(receive_count));
    let mut fields = ObjectMap::new();
    fields.insert(
        KeyString::from("error"),
        Value::from(format!("not an S3 notification: {error}")),
    );
    fields.insert(
        KeyString::from("error_type"),
        Value::from(ErrorType::InvalidMessage.as_str()),
    );
    fields.insert(KeyString::from("sqs"), Value::Object(sqs));
    fields.insert(KeyString::from("message"), Value::from(body));
    fields.insert(KeyString::from("timestamp"), Value::Timestamp(now));
    weir_core::Event::new(
        fields,
        weir_core::EventMetadata::new(Arc::clone(&shared.id), "aws_s3", now),
    )
}

/// Reads the objects of a message, in order, with `notifier`'s finalizers on their events.
async fn read_objects(
    shared: &Arc<Shared>,
    wanted: &[ObjectRef],
    message_id: &str,
    tx: BatchSender,
    notifier: &BatchNotifier,
) -> MessageRead {
    let cx = ReaderContext {
        id: Arc::clone(&shared.id),
        metrics: shared.metrics.clone(),
        s3_metrics: shared.s3_metrics.clone(),
        settings: shared.settings.clone(),
        tx,
        shutdown: shared.shutdown.clone(),
    };
    for object in wanted {
        let client = shared.s3.client(object.region.as_deref());
        match read_object(&client, object, &cx, notifier).await {
            Ok(events) => {
                shared.s3_metrics.objects.inc();
                tracing::debug!(source = %shared.id, message_id, bucket = %object.bucket, key = %object.key, events, "object read");
            }
            Err(ReadError::Permanent { kind, message }) => {
                shared.metrics.error(kind.as_str(), 1);
                tracing::warn!(source = %shared.id, message_id, bucket = %object.bucket, key = %object.key, error_type = kind.as_str(), %message, "object cannot be read; reported on the errors output");
                if kind == ErrorType::ObjectNotFound || kind == ErrorType::ObjectTooLarge {
                    // Nothing was sent for it yet: report it now.
                    let event =
                        object_error_event(&shared.id, object, (&message, kind.as_str()), notifier);
                    if cx.tx.send(SourceBatch::errors(vec![event])).await.is_err() {
                        return MessageRead::Cancelled;
                    }
                }
            }
            Err(ReadError::Aws(aws)) => {
                let resource = object.to_string();
                let then = "the message stays on the queue for a retry";
                shared
                    .aws_errors
                    .report_sorted("GetObject", &resource, &aws, then);
                if !aws.is_transient() {
                    // Only the user can fix this: say so where the data would have gone, too.
                    let line = aws.line("GetObject", &resource);
                    let event = object_error_event(
                        &shared.id,
                        object,
                        (&line, aws.kind.as_str()),
                        notifier,
                    );
                    if cx.tx.send(SourceBatch::errors(vec![event])).await.is_err() {
                        return MessageRead::Cancelled;
                    }
                }
                return MessageRead::Keep;
            }
            Err(ReadError::Transient(message)) => {
                shared
                    .metrics
                    .error(ErrorType::ObjectReadFailed.as_str(), 1);
                tracing::warn!(source = %shared.id, message_id, bucket = %object.bucket, key = %object.key, error = %message, "cannot read object; the message stays on the queue for a retry");
                return MessageRead::Keep;
            }
            Err(ReadError::Cancelled) => return MessageRead::Cancelled,
        }
    }
    MessageRead::Complete
}

/// Deletes a message whose objects were read, once their events are delivered (or rejected
/// under `on_rejected = "skip"`); otherwise it stays on the queue for another try.
async fn settle(shared: &Shared, outcome: BatchStatus, receipt: &str, message_id: &str) {
    match outcome {
        BatchStatus::Delivered => delete(shared, receipt, message_id).await,
        BatchStatus::Rejected if shared.on_rejected == OnRejected::Skip => {
            shared.metrics.error(ErrorType::RejectedDeleted.as_str(), 1);
            tracing::warn!(source = %shared.id, message_id, "events rejected downstream; deleting the message anyway (on_rejected = skip): they are lost");
            delete(shared, receipt, message_id).await;
        }
        status => {
            shared.s3_metrics.failed.inc();
            shared.metrics.error(
                if status == BatchStatus::Rejected {
                    ErrorType::DeliveryRejected.as_str()
                } else {
                    ErrorType::DeliveryFailed.as_str()
                },
                1,
            );
            tracing::warn!(source = %shared.id, message_id, ?status, "events not delivered; the message stays on the queue and is read again after its visibility timeout");
        }
    }
}

async fn delete(shared: &Shared, receipt: &str, message_id: &str) {
    let result = shared
        .sqs
        .delete_message()
        .queue_url(&shared.queue_url)
        .receipt_handle(receipt)
        .send()
        .await;
    match result {
        Ok(_) => shared.s3_metrics.deleted.inc(),
        Err(error) => {
            tracing::debug!(source = %shared.id, message_id, "DeleteMessage failed");
            shared.aws_errors.report(
                "DeleteMessage",
                &shared.queue_name,
                &error,
                "the message will be received and its objects read again",
            );
        }
    }
}

/// Makes a message visible again at once (shutdown mid-read).
async fn release(shared: &Shared, receipt: &str, message_id: &str) {
    let result = shared
        .sqs
        .change_message_visibility()
        .queue_url(&shared.queue_url)
        .receipt_handle(receipt)
        .visibility_timeout(0)
        .send()
        .await;
    if let Err(error) = result {
        let error = AwsError::of(&error).line("ChangeMessageVisibility", &shared.queue_name);
        tracing::debug!(source = %shared.id, message_id, %error, "cannot release the message; it reappears after its timeout");
    }
}
