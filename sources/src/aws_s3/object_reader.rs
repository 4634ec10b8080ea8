//! Reading one S3 object: streamed body → stored-size cap → decompression → decompressed-size cap
//! → framing → events. Memory is one read chunk plus one line or record, whatever the object size.

use crate::errors::ErrorType;
use std::io;
use std::sync::Arc;

use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use vrl::value::{KeyString, ObjectMap, Value};
use weir_core::ack::BatchNotifier;
use weir_core::event::{Event, EventMetadata, MESSAGE, TIMESTAMP};
use weir_core::metrics::ComponentMetrics;
use weir_core::shutdown::ShutdownSignal;
use weir_core::source_kit::{BatchSender, SourceBatch};

use super::ids::record_id;
use super::metrics::S3Metrics;
use super::{Compression, Framing};
use crate::decompress::{Capped, Codec, StreamError};
use crate::framing::{FileFramer, Unit};
use crate::utf8::{keep_invalid, Checked, InvalidUtf8};
use weir_aws::client::errors::{AwsError, AwsErrorKind};

/// Decompressed bytes read per turn; one turn's events are sent as one batch.
const READ_CHUNK: usize = 256 * 1024;
/// Buffer between the S3 body and the decompressor.
const BODY_BUFFER: usize = 64 * 1024;

/// How objects are read (from the config).
#[derive(Clone, Debug)]
pub(super) struct ReadSettings {
    pub compression: Compression,
    pub framing: Framing,
    pub max_line_bytes: usize,
    pub max_object_bytes: u64,
    pub max_decompressed_bytes: u64,
    pub invalid_utf8: InvalidUtf8,
}

/// Everything a reader needs besides the object.
pub(super) struct ReaderContext {
    pub id: Arc<str>,
    pub metrics: ComponentMetrics,
    pub s3_metrics: S3Metrics,
    pub settings: ReadSettings,
    pub tx: BatchSender,
    pub shutdown: ShutdownSignal,
}

/// The object to read, from a notification.
#[derive(Clone, Debug)]
pub(super) struct ObjectRef {
    pub bucket: String,
    pub key: String,
    pub region: Option<String>,
    pub version_id: Option<String>,
    pub etag: Option<String>,
}

impl std::fmt::Display for ObjectRef {
    /// `s3://bucket/key`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

/// Why an object was not read to its end.
#[derive(Debug)]
pub(super) enum ReadError {
    /// May pass on retry (a broken connection mid-body): keep the message.
    Transient(String),
    /// `GetObject` failed (other than a missing object): keep the message; the receiver reports
    /// it, on `<id>.errors` too when the user must change something (access, credentials,
    /// region).
    Aws(AwsError),
    /// Will fail the same way every time; reported on `<id>.errors`, the message may go.
    Permanent {
        /// `error_type` label.
        kind: ErrorType,
        /// What happened.
        message: String,
    },
    /// Shutdown came first.
    Cancelled,
}

/// Sorts a read error: transport (transient), cap (permanent), else corrupt data (permanent).
fn classify(error: io::Error) -> ReadError {
    match StreamError::of(error) {
        StreamError::Transport(message) => ReadError::Transient(message),
        StreamError::Cap(kind, message) => ReadError::Permanent { kind, message },
        StreamError::Corrupt(error) => ReadError::Permanent {
            kind: ErrorType::DecompressionFailed,
            message: format!("cannot decompress the object: {error}"),
        },
    }
}

/// The compression of an object under `auto`: magic bytes, then `Content-Encoding`, then the key's
/// extension.
pub(super) fn detect_compression(
    head: &[u8],
    content_encoding: Option<&str>,
    key: &str,
) -> Compression {
    let encoding = content_encoding.unwrap_or_default().to_ascii_lowercase();
    let by_encoding = if encoding.contains("gzip") {
        Some(Codec::Gzip)
    } else if encoding.contains("zstd") {
        Some(Codec::Zstd)
    } else {
        None
    };
    match Codec::sniff(head)
        .or(by_encoding)
        .or_else(|| Codec::from_name(key))
    {
        Some(Codec::Gzip) => Compression::Gzip,
        Some(Codec::Zstd) => Compression::Zstd,
        None => Compression::None,
    }
}

/// Per-object data shared by its events.
struct ObjectInfo {
    stream: Arc<str>,
    s3: ObjectMap,
    bucket: String,
    key: String,
    version: String,
}

/// Reads one object, sending its events in batches whose finalizers belong to `notifier`.
/// Returns the number of events emitted.
pub(super) async fn read_object(
    client: &aws_sdk_s3::Client,
    object: &ObjectRef,
    cx: &ReaderContext,
    notifier: &BatchNotifier,
) -> Result<u64, ReadError> {
    let output = get_object(client, object, cx).await?;
    let info = ObjectInfo::new(object, &output);
    let content_encoding = output.content_encoding().map(str::to_string);
    let reader = open_body(output.body, content_encoding.as_deref(), object, cx).await?;
    frame_object(reader, &info, cx, notifier).await
}

/// `GetObject`, its errors sorted (a missing key or bucket is permanent), and the stored-size cap
/// checked against `Content-Length` up front.
async fn get_object(
    client: &aws_sdk_s3::Client,
    object: &ObjectRef,
    cx: &ReaderContext,
) -> Result<GetObjectOutput, ReadError> {
    let mut request = client.get_object().bucket(&object.bucket).key(&object.key);
    if let Some(version) = object.version_id.as_deref().filter(|v| *v != "null") {
        request = request.version_id(version);
    }
    let response = tokio::select! {
        r = request.send() => r,
        _ = cx.shutdown.cancelled() => return Err(ReadError::Cancelled),
    };
    let output = match response {
        Ok(output) => output,
        Err(error) => {
            let aws = AwsError::of(&error);
            let missing = aws.kind == AwsErrorKind::NotFound
                || error.as_service_error().is_some_and(|e| e.is_no_such_key());
            if missing {
                return Err(ReadError::Permanent {
                    kind: ErrorType::ObjectNotFound,
                    message: aws.line("GetObject", &object.to_string()),
                });
            }
            return Err(ReadError::Aws(aws));
        }
    };
    let max = cx.settings.max_object_bytes;
    if let Some(length) = output.content_length().and_then(|l| u64::try_from(l).ok()) {
        if length > max {
            return Err(ReadError::Permanent {
                kind: ErrorType::ObjectTooLarge,
                message: format!(
                    "object of {length} bytes is larger than max_object_bytes ({max})"
                ),
            });
        }
    }
    Ok(output)
}

impl ObjectInfo {
    /// What the object's events share, from the notification and the `GetObject` answer.
    fn new(object: &ObjectRef, output: &GetObjectOutput) -> Self {
        let last_modified = output
            .last_modified()
            .and_then(|t| DateTime::<Utc>::from_timestamp(t.secs(), t.subsec_nanos()));
        let version = output
            .version_id()
            .filter(|v| *v != "null")
            .or(output.e_tag())
            .or(object.version_id.as_deref().filter(|v| *v != "null"))
            .or(object.etag.as_deref())
            .unwrap_or_default()
            .trim_matches('"')
            .to_string();
        let mut s3 = ObjectMap::new();
        s3.insert("bucket".into(), Value::from(object.bucket.as_str()));
        s3.insert("key".into(), Value::from(object.key.as_str()));
        if let Some(region) = &object.region {
            s3.insert("region".into(), Value::from(region.as_str()));
        }
        if let Some(modified) = last_modified {
            s3.insert("last_modified".into(), Value::Timestamp(modified));
        }
        Self {
            stream: Arc::from(format!("s3://{}/{}", object.bucket, object.key)),
            s3,
            bucket: object.bucket.clone(),
            key: object.key.clone(),
            version,
        }
    }
}

/// The decompressed object: body → stored-size cap → decompression (`compression`, or detected
/// from the first bytes under `auto`) → decompressed-size cap.
async fn open_body(
    body: ByteStream,
    content_encoding: Option<&str>,
    object: &ObjectRef,
    cx: &ReaderContext,
) -> Result<Capped<Box<dyn AsyncRead + Unpin + Send>>, ReadError> {
    let settings = &cx.settings;
    let body = Capped::new(
        body.into_async_read(),
        settings.max_object_bytes,
        ErrorType::ObjectTooLarge,
        vec![
            cx.s3_metrics.compressed.clone(),
            cx.metrics.received_bytes.clone(),
        ],
        true,
    );
    let mut body = BufReader::with_capacity(BODY_BUFFER, body);
    let head = body.fill_buf().await.map_err(classify)?;
    let compression = match settings.compression {
        Compression::Auto => detect_compression(head, content_encoding, &object.key),
        other => other,
    };
    let decoder: Box<dyn AsyncRead + Unpin + Send> = match compression {
        Compression::Gzip => Codec::Gzip.decoder(body),
        Compression::Zstd => Codec::Zstd.decoder(body),
        Compression::None | Compression::Auto => Box::new(body),
    };
    Ok(Capped::new(
        decoder,
        settings.max_decompressed_bytes,
        ErrorType::DecompressedTooLarge,
        vec![cx.s3_metrics.decompressed.clone()],
        false,
    ))
}

/// Frames the decompressed object chunk by chunk, sending one batch per chunk. Returns the
/// number of events emitted; a permanent failure midway is reported (after what was decoded
/// before it was sent) and returned.
async fn frame_object(
    mut reader: impl AsyncRead + Unpin,
    info: &ObjectInfo,
    cx: &ReaderContext,
    notifier: &BatchNotifier,
) -> Result<u64, ReadError> {
    let mut framer = FileFramer::new(
        cx.settings.framing.start_fresh(),
        0,
        cx.settings.max_line_bytes,
    );
    let mut ordinal = 0u64;
    let mut emitted = 0u64;
    loop {
        let buffer = framer.buffer_mut();
        buffer.reserve(READ_CHUNK);
        let read = tokio::select! {
            r = reader.read_buf(buffer) => r,
            _ = cx.shutdown.cancelled() => return Err(ReadError::Cancelled),
        };
        let mut units = Vec::new();
        let mut failure = None;
        let done = match read {
            Ok(0) => {
                framer.finish(&mut units);
                true
            }
            Ok(_) => {
                framer.drain(&mut units);
                false
            }
            Err(error) => match classify(error) {
                ReadError::Permanent { kind, message } => {
                    // What was decoded before the failure is good data: hand it out.
                    framer.drain(&mut units);
                    failure = Some((kind, message));
                    true
                }
                other => return Err(other),
            },
        };
        let batch = build_batch(cx, info, units, &mut ordinal, notifier, failure.as_ref());
        emitted += batch.events.len() as u64;
        if !batch.is_empty() && cx.tx.send(batch).await.is_err() {
            return Err(ReadError::Cancelled);
        }
        if let Some((kind, message)) = failure {
            // Already reported on `<id>.errors` by `build_batch`; the caller counts it.
            return Err(ReadError::Permanent {
                kind,
                message: format!("{message} (after {emitted} events)"),
            });
        }
        if done {
            return Ok(emitted);
        }
    }
}

/// Turns framed units into events (valid UTF-8 messages) and error events; a permanent read
/// `failure` becomes one more error event.
fn build_batch(
    cx: &ReaderContext,
    info: &ObjectInfo,
    units: Vec<Unit>,
    ordinal: &mut u64,
    notifier: &BatchNotifier,
    failure: Option<&(ErrorType, String)>,
) -> SourceBatch {
    let chunk = ChunkEvents {
        cx,
        info,
        now: Utc::now(),
        notifier,
    };
    let mut batch = SourceBatch::default();
    batch.events.reserve(units.len());
    for unit in units {
        chunk.push(unit, ordinal, &mut batch);
    }
    if let Some((kind, message)) = failure {
        batch
            .errors
            .push(chunk.error((message.clone(), kind.as_str()), 0));
    }
    cx.metrics.received_events.inc_by(batch.events.len() as u64);
    batch
}

/// What the events of one chunk of an object share, and how framed units become them.
struct ChunkEvents<'a> {
    cx: &'a ReaderContext,
    info: &'a ObjectInfo,
    now: DateTime<Utc>,
    notifier: &'a BatchNotifier,
}

impl ChunkEvents<'_> {
    /// One framed unit → an event, an error event (counted and logged), or nothing. `ordinal`
    /// numbers the object's lines and records (for their ids), rejected ones included.
    fn push(&self, unit: Unit, ordinal: &mut u64, batch: &mut SourceBatch) {
        let (id, object, max) = (
            &self.cx.id,
            &self.info.stream,
            self.cx.settings.max_line_bytes,
        );
        match unit {
            Unit::Message { offset, bytes } => {
                let n = *ordinal;
                *ordinal += 1;
                self.message(offset, bytes, n, batch);
            }
            Unit::NotRecords { offset, reason } => {
                tracing::debug!(source = %id, %object, offset, reason, "not a records document; reading the rest of the object as lines");
            }
            other => {
                let Some(e) = other.error(max) else { return };
                if e.lines_from.is_none() {
                    // A skipped line or record still takes its number, so the ids after it hold.
                    *ordinal += 1;
                }
                self.cx.metrics.error(e.error_type.as_str(), 1);
                let follow = match e.lines_from {
                    Some(from) => {
                        format!("; reading the rest of the object as lines from byte {from}")
                    }
                    None => "; skipped".to_string(),
                };
                tracing::warn!(source = %id, %object, offset = e.offset, error_type = e.error_type.as_str(), "{}{follow}", e.message);
                let mut event = self.error((e.message, e.error_type.as_str()), e.offset);
                if let Some(prefix) = e.line_prefix {
                    event
                        .fields
                        .insert(KeyString::from("line_prefix"), Value::Bytes(prefix));
                }
                batch.errors.push(event);
            }
        }
    }

    /// The event of line or record number `n` at `offset`; an error event if it is not UTF-8
    /// (unless `invalid_utf8 = "replace"`).
    fn message(&self, offset: u64, bytes: Bytes, n: u64, batch: &mut SourceBatch) {
        let info = self.info;
        let bytes = match self.cx.settings.invalid_utf8.check(bytes) {
            Checked::Valid(bytes) => bytes,
            Checked::Replaced(bytes) => {
                self.cx
                    .metrics
                    .error(ErrorType::InvalidUtf8Replaced.as_str(), 1);
                bytes
            }
            Checked::Invalid(bytes) => {
                self.cx.metrics.error(ErrorType::InvalidUtf8.as_str(), 1);
                tracing::warn!(source = %self.cx.id, object = %info.stream, offset, "line is not valid UTF-8; sent to the errors output");
                let mut event = self.error(
                    (
                        "line is not valid UTF-8".into(),
                        ErrorType::InvalidUtf8.as_str(),
                    ),
                    offset,
                );
                keep_invalid(&mut event.fields, &bytes);
                batch.errors.push(event);
                return;
            }
        };
        let id = record_id(&info.bucket, &info.key, &info.version, n);
        let mut s3 = info.s3.clone();
        s3.insert(KeyString::from("record_id"), Value::from(id.as_str()));
        let mut fields = ObjectMap::new();
        fields.insert(KeyString::from(MESSAGE), Value::Bytes(bytes));
        fields.insert(KeyString::from(TIMESTAMP), Value::Timestamp(self.now));
        fields.insert(KeyString::from("s3"), Value::Object(s3));
        let mut meta = self.metadata(offset);
        meta.id = Some(Arc::from(id));
        batch.events.push(Event::new(fields, meta));
    }

    fn metadata(&self, offset: u64) -> EventMetadata {
        EventMetadata::new(Arc::clone(&self.cx.id), "aws_s3", self.now)
            .at(Arc::clone(&self.info.stream), offset)
            .acknowledged_by(self.notifier.finalizer())
    }

    /// An event for `<id>.errors` about the unit at `offset` of an object.
    fn error(&self, (message, error_type): (String, &'static str), offset: u64) -> Event {
        let mut fields = ObjectMap::new();
        fields.insert(KeyString::from("error"), Value::from(message));
        fields.insert(KeyString::from("error_type"), Value::from(error_type));
        fields.insert(KeyString::from("s3"), Value::Object(self.info.s3.clone()));
        fields.insert(
            KeyString::from("offset"),
            Value::Integer(i64::try_from(offset).unwrap_or(i64::MAX)),
        );
        fields.insert(KeyString::from(TIMESTAMP), Value::Timestamp(self.now));
        Event::new(fields, self.metadata(offset))
    }
}

/// An event for `<id>.errors` about an object that could not be read at all.
pub(super) fn object_error_event(
    id: &Arc<str>,
    object: &ObjectRef,
    (message, error_type): (&str, &'static str),
    notifier: &BatchNotifier,
) -> Event {
    let now = Utc::now();
    let mut s3 = ObjectMap::new();
    s3.insert("bucket".into(), Value::from(object.bucket.as_str()));
    s3.insert("key".into(), Value::from(object.key.as_str()));
    if let Some(region) = &object.region {
        s3.insert("region".into(), Value::from(region.as_str()));
    }
    let mut fields = ObjectMap::new();
    fields.insert(KeyString::from("error"), Value::from(message));
    fields.insert(KeyString::from("error_type"), Value::from(error_type));
    fields.insert(KeyString::from("s3"), Value::Object(s3));
    fields.insert(KeyString::from(TIMESTAMP), Value::Timestamp(now));
    let meta =
        EventMetadata::new(Arc::clone(id), "aws_s3", now).acknowledged_by(notifier.finalizer());
    Event::new(fields, meta)
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use async_compression::tokio::bufread::GzipDecoder;
    use prometheus::IntCounter;
    use tokio::io::ReadBuf;

    use super::*;

    /// A body whose transport fails after some bytes.
    struct Failing(Vec<u8>);

    impl AsyncRead for Failing {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            if self.0.is_empty() {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::ConnectionReset,
                    "connection reset",
                )));
            }
            let n = self.0.len().min(buf.remaining());
            let head: Vec<u8> = self.0.drain(..n).collect();
            buf.put_slice(&head);
            Poll::Ready(Ok(()))
        }
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn counter() -> IntCounter {
        IntCounter::new("test_bytes", "test").unwrap()
    }

    fn decoded(
        reader: impl AsyncRead + Unpin + Send + 'static,
        limit: u64,
    ) -> Capped<Box<dyn AsyncRead + Unpin + Send>> {
        let body = Capped::new(
            reader,
            u64::MAX,
            ErrorType::ObjectTooLarge,
            vec![counter()],
            true,
        );
        let mut gz = GzipDecoder::new(BufReader::new(body));
        gz.multiple_members(true);
        Capped::new(
            Box::new(gz),
            limit,
            ErrorType::DecompressedTooLarge,
            vec![counter()],
            false,
        )
    }

    #[tokio::test]
    async fn a_bomb_stops_at_the_decompressed_cap() {
        let bomb = gzip(&vec![b'\n'; 8 * 1024 * 1024]);
        let mut reader = decoded(std::io::Cursor::new(bomb), 1024 * 1024);
        let mut out = Vec::new();
        let error = reader.read_to_end(&mut out).await.unwrap_err();
        assert!(matches!(
            classify(error),
            ReadError::Permanent {
                kind: ErrorType::DecompressedTooLarge,
                ..
            }
        ));
        // Stopped near the cap, not at the end of the bomb.
        assert!(
            reader.bytes_read() <= 1024 * 1024 + 2 * READ_CHUNK as u64,
            "{}",
            reader.bytes_read()
        );
    }

    #[tokio::test]
    async fn corrupt_data_is_permanent_and_a_broken_transport_is_transient() {
        let whole = gzip(b"line one\nline two\n");
        // Truncated object: the body ends cleanly, the gzip stream does not.
        let truncated = whole[..whole.len() - 6].to_vec();
        let mut reader = decoded(std::io::Cursor::new(truncated), u64::MAX);
        let error = reader.read_to_end(&mut Vec::new()).await.unwrap_err();
        assert!(matches!(
            classify(error),
            ReadError::Permanent {
                kind: ErrorType::DecompressionFailed,
                ..
            }
        ));
        // The connection breaks mid-body: worth a retry.
        let mut reader = decoded(Failing(whole[..10].to_vec()), u64::MAX);
        let error = reader.read_to_end(&mut Vec::new()).await.unwrap_err();
        assert!(matches!(classify(error), ReadError::Transient(_)));
    }

    #[tokio::test]
    async fn the_stored_size_cap_counts_body_bytes() {
        let body = vec![b'x'; 1000];
        let count = counter();
        let mut reader = Capped::new(
            &body[..],
            100,
            ErrorType::ObjectTooLarge,
            vec![count.clone()],
            true,
        );
        let error = reader.read_to_end(&mut Vec::new()).await.unwrap_err();
        assert!(matches!(
            classify(error),
            ReadError::Permanent {
                kind: ErrorType::ObjectTooLarge,
                ..
            }
        ));
        assert!(count.get() <= 100);
    }
}
