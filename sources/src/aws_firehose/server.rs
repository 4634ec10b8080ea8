//! The HTTP side of the Firehose source: accept, authenticate, decode, forward, and answer only
//! once the request's events are delivered.

use crate::errors::ErrorType;
use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, CONTENT_TYPE};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use subtle::ConstantTimeEq;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Mutex;
use tokio::task::JoinSet;
use vrl::value::{KeyString, ObjectMap, Value};
use weir_aws::envelopes::cloudwatch::log_events as cloudwatch;
use weir_aws::envelopes::firehose_request::{parse_http_endpoint_request, HttpEndpointRequest};
use weir_core::ack::{BatchNotifier, BatchStatus};
use weir_core::component::{ComponentError, SourceContext};
use weir_core::event::{Event, EventMetadata};
use weir_core::metrics::ComponentMetrics;
use weir_core::output::Outputs;
use weir_core::shutdown::ShutdownSignal;
use weir_core::source_kit::SourceBatch;

use super::AwsFirehoseConfig;
use crate::decoding::Decoding;

const REQUEST_ID: &str = "x-amz-firehose-request-id";
const ACCESS_KEY: &str = "x-amz-firehose-access-key";
const SOURCE_TYPE: &str = "aws_firehose";

/// What every request handler shares.
struct State {
    config: AwsFirehoseConfig,
    id: Arc<str>,
    out: Mutex<Outputs>,
    metrics: ComponentMetrics,
    shutdown: ShutdownSignal,
}

/// Serves until shut down; then stops accepting, lets in-flight requests finish (their events
/// drain and are acknowledged), and returns.
pub async fn serve(
    config: AwsFirehoseConfig,
    tls: Option<tokio_rustls::TlsAcceptor>,
    cx: SourceContext,
) -> Result<(), ComponentError> {
    let listener = TcpListener::bind(config.address)
        .await
        .map_err(|e| ComponentError(format!("cannot listen on {}: {e}", config.address)))?;
    let address = listener
        .local_addr()
        .map_err(|e| ComponentError(e.to_string()))?;
    tracing::info!(source = %cx.id, %address, tls = tls.is_some(), "Firehose endpoint listening");
    let state = Arc::new(State {
        config,
        id: Arc::clone(&cx.id),
        out: Mutex::new(cx.out),
        metrics: cx.metrics,
        shutdown: cx.shutdown.clone(),
    });
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            _ = cx.shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(conn) => conn,
            Err(error) => {
                tracing::warn!(%error, "Firehose endpoint: accept failed");
                continue;
            }
        };
        let state = Arc::clone(&state);
        let tls = tls.clone();
        connections.spawn(async move {
            match tls {
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(stream) => serve_connection(stream, state).await,
                    Err(error) => {
                        state.metrics.error(ErrorType::TlsHandshake.as_str(), 1);
                        tracing::debug!(%peer, %error, "TLS handshake failed");
                    }
                },
                None => serve_connection(stream, state).await,
            }
        });
        // Reap finished connections as we go.
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
    Ok(())
}

/// One HTTP/1.1 connection; on shutdown it finishes the request in progress and closes.
async fn serve_connection<S>(stream: S, state: Arc<State>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let shutdown = state.shutdown.clone();
    let service = service_fn(move |req| {
        let state = Arc::clone(&state);
        async move { Ok::<_, Infallible>(handle(req, &state).await) }
    });
    let connection =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(error) = result {
                tracing::debug!(%error, "Firehose connection ended with an error");
            }
            return;
        }
        _ = shutdown.cancelled() => connection.as_mut().graceful_shutdown(),
    }
    if let Err(error) = connection.await {
        tracing::debug!(%error, "Firehose connection ended with an error");
    }
}

/// A failed request: its status, the error type counted, and the message for Firehose.
struct Refusal {
    status: StatusCode,
    error_type: ErrorType,
    message: String,
}

impl Refusal {
    fn new(status: StatusCode, error_type: ErrorType, message: impl Into<String>) -> Self {
        Self {
            status,
            error_type,
            message: message.into(),
        }
    }

    /// Whether the request came from an authorized sender but cannot be taken as it is: reported
    /// on `<id>.errors` too (Firehose retries it, then keeps it in its backup bucket). Requests
    /// without the key are not data, and failed deliveries are retried: counted and logged only.
    fn is_bad_input(&self) -> bool {
        matches!(
            self.error_type,
            ErrorType::BodyTooLarge | ErrorType::BodyReadFailed | ErrorType::MalformedRequest
        )
    }
}

async fn handle(req: Request<Incoming>, state: &State) -> Response<Full<Bytes>> {
    let header_id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let content_encoding = req
        .headers()
        .get(hyper::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    match process(req, state).await {
        Ok(request_id) => respond(StatusCode::OK, request_id.or(header_id), None),
        Err(refusal) => {
            state.metrics.error(refusal.error_type.as_str(), 1);
            if refusal.is_bad_input() {
                let event = refusal_event(
                    state,
                    &refusal,
                    header_id.as_deref(),
                    content_encoding.as_deref(),
                );
                SourceBatch::errors(vec![event])
                    .send(&mut *state.out.lock().await)
                    .await;
            }
            tracing::warn!(
                source = %state.id,
                status = refusal.status.as_u16(),
                request_id = header_id.as_deref().unwrap_or("-"),
                error = %refusal.message,
                "Firehose request refused"
            );
            respond(refusal.status, header_id, Some(&refusal.message))
        }
    }
}

/// Handles one request; `Ok` carries the request id once its events are delivered.
async fn process(req: Request<Incoming>, state: &State) -> Result<Option<String>, Refusal> {
    if state.shutdown.is_cancelled() {
        return Err(Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorType::ShuttingDown,
            "shutting down; retry",
        ));
    }
    if req.method() != Method::POST {
        return Err(Refusal::new(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorType::MethodNotAllowed,
            "only POST is accepted",
        ));
    }
    if !authorized(req.headers(), &state.config.access_keys) {
        return Err(Refusal::new(
            StatusCode::UNAUTHORIZED,
            ErrorType::Unauthorized,
            "missing or invalid X-Amz-Firehose-Access-Key",
        ));
    }
    let body = Limited::new(req.into_body(), state.config.max_body_bytes)
        .collect()
        .await
        .map_err(|e| {
            if e.downcast_ref::<LengthLimitError>().is_some() {
                Refusal::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    ErrorType::BodyTooLarge,
                    format!("body over {} bytes", state.config.max_body_bytes),
                )
            } else {
                Refusal::new(
                    StatusCode::BAD_REQUEST,
                    ErrorType::BodyReadFailed,
                    e.to_string(),
                )
            }
        })?
        .to_bytes();
    state.metrics.received_bytes.inc_by(body.len() as u64);
    // `Content-Encoding: gzip` (or a gzip body without it) is inflated by the parser, capped.
    let request =
        parse_http_endpoint_request(&body, state.config.max_decompressed_bytes).map_err(|e| {
            Refusal::new(
                StatusCode::BAD_REQUEST,
                ErrorType::MalformedRequest,
                e.to_string(),
            )
        })?;
    let request_id = request.request_id.clone();
    let (batch, status) = BatchNotifier::with_receiver();
    let (events, errors) = decode(&request, state, &batch);
    drop(batch);
    state.metrics.received_events.inc_by(events.len() as u64);
    if !errors.is_empty() {
        state
            .metrics
            .error(ErrorType::InvalidRecord.as_str(), errors.len() as u64);
    }
    SourceBatch::new(events, errors)
        .send(&mut *state.out.lock().await)
        .await;
    match status.await {
        Ok(BatchStatus::Delivered) => Ok(request_id),
        Ok(other) => Err(Refusal::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorType::DeliveryFailed,
            format!("delivery {other:?}; retry"),
        )),
        Err(_) => Err(Refusal::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorType::DeliveryFailed,
            "acknowledgement lost; retry",
        )),
    }
}

/// Compares the access key with every configured one in constant time.
fn authorized(headers: &HeaderMap, keys: &[weir_core::secret::Secret]) -> bool {
    if keys.is_empty() {
        return true;
    }
    let Some(given) = headers.get(ACCESS_KEY) else {
        return false;
    };
    keys.iter().fold(false, |ok, key| {
        ok | bool::from(key.expose().as_bytes().ct_eq(given.as_bytes()))
    })
}

/// The request's records as events (and the undecodable ones as error events).
fn decode(
    request: &HttpEndpointRequest,
    state: &State,
    batch: &BatchNotifier,
) -> (Vec<Event>, Vec<Event>) {
    let request_id = request.request_id.as_deref().unwrap_or("");
    let received = Utc::now();
    let timestamp = request.timestamp.unwrap_or(received);
    let (mut events, mut errors) = (Vec::new(), Vec::new());
    let metadata = |id: String| {
        let mut meta = EventMetadata::new(Arc::clone(&state.id), SOURCE_TYPE, received)
            .acknowledged_by(batch.finalizer());
        meta.id = Some(Arc::from(id));
        meta
    };
    for (index, record) in request.records.iter().enumerate() {
        let base_id = format!("{request_id}:{index}");
        let envelope = match state.config.decoding {
            Decoding::Raw => false,
            Decoding::Auto => cloudwatch::looks_like_envelope(record),
            Decoding::CloudwatchLogs => true,
        };
        // Built once per record; each of its log events gets a copy.
        let mut fields = firehose_fields(request_id, index, timestamp);
        if !envelope {
            fields.insert(KeyString::from("message"), Value::Bytes(record.clone()));
            fields.insert(KeyString::from("timestamp"), Value::Timestamp(timestamp));
            events.push(Event::new(fields, metadata(base_id)));
            continue;
        }
        match cloudwatch::decode(record, state.config.max_decompressed_bytes) {
            Ok(log_events) => {
                for (position, log_event) in log_events.into_iter().enumerate() {
                    let mut log_fields = log_event.fields;
                    log_fields.extend(fields.clone());
                    // A log event without an id (not AWS's, but seen) is told apart by position.
                    let id = if log_event.id.is_empty() {
                        format!("{base_id}:#{position}")
                    } else {
                        format!("{base_id}:{}", log_event.id)
                    };
                    events.push(Event::new(log_fields, metadata(id)));
                }
            }
            Err(error) => {
                fields.insert(KeyString::from("message"), Value::Bytes(record.clone()));
                fields.insert(
                    KeyString::from("error"),
                    Value::from(format!(
                        "record {index}: not a CloudWatch Logs envelope: {error}"
                    )),
                );
                errors.push(Event::new(fields, metadata(base_id)));
            }
        }
    }
    (events, errors)
}

/// The `<id>.errors` event of a refused request: `error`, `error_type`, the HTTP `status`,
/// `firehose.request_id` and the request's `content_encoding`. The body is not kept (it may be
/// what was too large); Firehose keeps it in its backup bucket once it gives up retrying.
fn refusal_event(
    state: &State,
    refusal: &Refusal,
    request_id: Option<&str>,
    content_encoding: Option<&str>,
) -> Event {
    let now = Utc::now();
    let mut firehose = ObjectMap::new();
    firehose.insert(
        KeyString::from("request_id"),
        Value::from(request_id.unwrap_or_default()),
    );
    let mut fields = ObjectMap::new();
    fields.insert(KeyString::from("firehose"), Value::Object(firehose));
    fields.insert(
        KeyString::from("error"),
        Value::from(refusal.message.as_str()),
    );
    fields.insert(
        KeyString::from("error_type"),
        Value::from(refusal.error_type.as_str()),
    );
    fields.insert(
        KeyString::from("status"),
        Value::Integer(i64::from(refusal.status.as_u16())),
    );
    if let Some(encoding) = content_encoding {
        fields.insert(KeyString::from("content_encoding"), Value::from(encoding));
    }
    fields.insert(KeyString::from("timestamp"), Value::Timestamp(now));
    Event::new(
        fields,
        EventMetadata::new(Arc::clone(&state.id), SOURCE_TYPE, now),
    )
}

/// `firehose.request_id`, `firehose.record_index`, `firehose.timestamp`.
fn firehose_fields(request_id: &str, index: usize, timestamp: DateTime<Utc>) -> ObjectMap {
    let mut firehose = ObjectMap::new();
    firehose.insert(KeyString::from("request_id"), Value::from(request_id));
    firehose.insert(KeyString::from("record_index"), Value::from(index as i64));
    firehose.insert(KeyString::from("timestamp"), Value::Timestamp(timestamp));
    let mut fields = ObjectMap::new();
    fields.insert(KeyString::from("firehose"), Value::Object(firehose));
    fields
}

/// Firehose's response body: `{"requestId", "timestamp"[, "errorMessage"]}`.
fn respond(
    status: StatusCode,
    request_id: Option<String>,
    error: Option<&str>,
) -> Response<Full<Bytes>> {
    let mut body = serde_json::json!({
        "requestId": request_id.unwrap_or_default(),
        "timestamp": Utc::now().timestamp_millis(),
    });
    if let Some(message) = error {
        body["errorMessage"] = serde_json::Value::from(message);
    }
    Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}
