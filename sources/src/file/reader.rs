//! The `file` source's read loop: discovery, reading, framing, acknowledgements and checkpoints.

use crate::errors::ErrorType;
use std::collections::{BTreeMap, HashMap};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeekExt, BufReader};
use tokio::sync::mpsc;
use tokio::time::Instant;
use vrl::value::{KeyString, ObjectMap, Value};
use weir_core::ack::{BatchNotifier, BatchStatus, OrderedCheckpoints};
use weir_core::component::{ComponentError, SourceContext};
use weir_core::event::{Event, EventMetadata, MESSAGE, TIMESTAMP};
use weir_core::metrics::ComponentMetrics;
use weir_core::source_kit::SourceBatch;

use super::checkpoint::{Checkpoint, CheckpointStore, FileKey};
use super::{FileSource, Framing, OnRejected, ReadFrom};
use crate::decompress::{Capped, Codec, StreamError};
use crate::framing::{FileFramer, Position, Start, Unit};
use crate::utf8::{keep_invalid, Checked, InvalidUtf8};

/// Bytes read from one file per turn; one turn is one acknowledgement batch.
const READ_CHUNK: usize = 256 * 1024;
/// Bytes hashed to identify a file when its first line is longer.
const HEAD_BYTES: usize = 256;
/// Pause when no file had new data.
const IDLE_SLEEP: Duration = Duration::from_millis(100);
/// How often dirty checkpoints are written: a small atomic file write; often enough that a crash
/// re-reads little.
const SAVE_INTERVAL: Duration = Duration::from_millis(250);
/// `framing = "auto"` looks this far into a file for its first non-whitespace byte.
const SNIFF_BYTES: usize = 64 * 1024;

/// A decoded compressed file, capped at `max_decompressed_bytes`.
type Decoded = Capped<Box<dyn AsyncRead + Unpin + Send>>;

enum Input {
    Plain(tokio::fs::File),
    /// gzip or zstd: read once, whole, from the start.
    Compressed(Box<Decoded>),
}

impl Input {
    fn reader(&mut self) -> &mut (dyn AsyncRead + Unpin + Send) {
        match self {
            Input::Plain(f) => f,
            Input::Compressed(d) => d.as_mut(),
        }
    }

    fn is_compressed(&self) -> bool {
        matches!(self, Input::Compressed(_))
    }

    /// The decoder stack of a compressed file: file (its errors tagged as transport) → buffer →
    /// decoder → decompressed-size cap.
    fn compressed(file: tokio::fs::File, codec: Codec, max_decompressed_bytes: u64) -> Self {
        let file = Capped::new(file, u64::MAX, ErrorType::ReadFailed, Vec::new(), true);
        let decoder = codec.decoder(BufReader::with_capacity(READ_CHUNK, file));
        Input::Compressed(Box::new(Capped::new(
            decoder,
            max_decompressed_bytes,
            ErrorType::DecompressedTooLarge,
            Vec::new(),
            false,
        )))
    }
}

/// Why a compressed file could not be read to its end: reported on `<id>.errors` after the
/// lines decoded before the break.
struct Broken {
    error_type: ErrorType,
    message: String,
    /// Decompressed bytes read before the break.
    offset: u64,
}

impl Broken {
    /// The break of a compressed file after `offset` decompressed bytes.
    fn of(error: io::Error, offset: u64) -> Self {
        let (error_type, what) = match StreamError::of(error) {
            StreamError::Transport(m) => (ErrorType::ReadFailed, format!("cannot read it: {m}")),
            StreamError::Cap(kind, m) => (kind, format!("it {m}")),
            StreamError::Corrupt(m) => (
                ErrorType::DecompressionFailed,
                format!("cannot decompress it (truncated or corrupt): {m}"),
            ),
        };
        Self {
            error_type,
            message: format!(
                "compressed file broke off after {offset} decompressed bytes: {what}; the \
                 complete lines before were delivered, the rest of the file is skipped"
            ),
            offset,
        }
    }
}

/// What one turn of a file yields.
struct Frames {
    units: Vec<Unit>,
    broken: Option<Broken>,
}

/// One file being read.
struct Tracked {
    key: FileKey,
    path: PathBuf,
    path_field: Bytes,
    stream: Arc<str>,
    input: Input,
    framer: FileFramer,
    /// Bytes read from the (decompressed) stream so far.
    read_pos: u64,
    /// For compressed files resumed from a checkpoint: decompressed bytes to skip.
    skip_to: u64,
    checkpoints: OrderedCheckpoints<Position>,
    /// Bumped on truncation so acknowledgements of the old content are ignored.
    generation: u32,
    /// A batch failed: the checkpoint stays put until a restart re-reads from it.
    held: bool,
    at_eof: bool,
    /// Seen in the latest scan.
    seen: bool,
    /// Read to the end for good (compressed files).
    finished: bool,
}

impl Tracked {
    /// The file was truncated: read it again from its start, ignoring acknowledgements of the old
    /// content. Returns the checkpoint to store (offset 0).
    fn restart(&mut self, start: Start, max_line_bytes: usize) -> Checkpoint {
        self.framer = FileFramer::new(start, 0, max_line_bytes);
        self.read_pos = 0;
        self.generation += 1;
        self.checkpoints = OrderedCheckpoints::new();
        self.held = false;
        self.at_eof = false;
        Checkpoint {
            key: self.key,
            path: self.path.clone(),
            offset: 0,
            skip_records: 0,
            line_fallback: false,
            finished: false,
        }
    }

    /// `n` bytes were read into the framer's buffer; when resuming a compressed file, the decompressed
    /// bytes before the checkpoint are dropped.
    fn consumed(&mut self, n: u64) {
        let before = self.read_pos;
        self.read_pos += n;
        if self.skip_to > before {
            let skip = (self.skip_to - before).min(n) as usize;
            let _ = self.framer.buffer_mut().split_to(skip);
        }
    }
}

struct BatchRef {
    key: FileKey,
    generation: u32,
    seq: u64,
}

struct State {
    id: Arc<str>,
    metrics: ComponentMetrics,
    store: CheckpointStore,
    files: BTreeMap<(u64, u64), Tracked>,
    batches: HashMap<u64, BatchRef>,
    next_batch: u64,
    ack_tx: Option<mpsc::UnboundedSender<(u64, BatchStatus)>>,
    dirty: bool,
    on_rejected: OnRejected,
    framing: Framing,
    max_line_bytes: usize,
    max_decompressed_bytes: u64,
    invalid_utf8: InvalidUtf8,
    /// Events sent downstream so far.
    emitted: u64,
}

pub(super) async fn run(source: FileSource, cx: SourceContext) -> Result<(), ComponentError> {
    let SourceContext {
        id,
        mut out,
        shutdown,
        metrics,
        once,
    } = cx;
    let store = if source.config.ignore_checkpoints {
        CheckpointStore::empty(&source.checkpoint_dir)
    } else {
        CheckpointStore::load(&source.checkpoint_dir)
            .map_err(|e| ComponentError(format!("cannot load checkpoints: {e}")))?
    };
    let (ack_tx, mut ack_rx) = mpsc::unbounded_channel();
    let mut state = State {
        id,
        metrics,
        store,
        files: BTreeMap::new(),
        batches: HashMap::new(),
        next_batch: 0,
        ack_tx: Some(ack_tx),
        dirty: false,
        on_rejected: source.config.on_rejected,
        framing: source.config.framing,
        max_line_bytes: source.config.max_line_bytes,
        max_decompressed_bytes: source.config.max_decompressed_bytes,
        invalid_utf8: source.config.invalid_utf8,
        emitted: 0,
    };
    let scan_interval = Duration::from_millis(source.config.glob_interval_ms);
    let mut next_scan = Instant::now();
    let mut first_scan = true;
    let mut last_save = Instant::now();

    loop {
        if shutdown.is_cancelled() {
            break;
        }
        while let Ok((batch, status)) = ack_rx.try_recv() {
            state.acknowledge(batch, status);
        }
        if Instant::now() >= next_scan {
            state.scan(&source, first_scan).await;
            first_scan = false;
            next_scan = Instant::now() + scan_interval;
        }
        let mut progressed = false;
        let keys: Vec<(u64, u64)> = state.files.keys().copied().collect();
        for key in keys {
            let Some(batch) = state.read_turn(key, once).await else {
                continue;
            };
            progressed = true;
            batch.send(&mut out).await;
        }
        state.forget_gone_files();
        if state.dirty && last_save.elapsed() >= SAVE_INTERVAL {
            state.save();
            last_save = Instant::now();
        }
        if !progressed {
            if once && state.all_read() {
                break;
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                Some((batch, status)) = ack_rx.recv() => state.acknowledge(batch, status),
                _ = tokio::time::sleep(IDLE_SLEEP) => {}
            }
        }
    }

    // Stop taking input; let downstream drain; collect the last acknowledgements.
    drop(out);
    state.ack_tx = None;
    while let Some((batch, status)) = ack_rx.recv().await {
        state.acknowledge(batch, status);
    }
    state.save();
    tracing::info!(source = %state.id, events = state.emitted, "file source stopped; checkpoints saved");
    Ok(())
}

impl State {
    /// Finds new, renamed and vanished files.
    async fn scan(&mut self, source: &FileSource, first_scan: bool) {
        for file in self.files.values_mut() {
            file.seen = false;
        }
        let mut paths = Vec::new();
        for pattern in &source.config.include {
            match glob::glob(pattern) {
                Ok(entries) => paths.extend(entries.filter_map(Result::ok)),
                Err(e) => {
                    tracing::warn!(source = %self.id, pattern, error = %e, "bad include glob")
                }
            }
        }
        paths.sort();
        paths.dedup();
        for path in paths {
            if source.exclude.iter().any(|p| p.matches_path(&path)) {
                continue;
            }
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            if !meta.is_file() {
                continue;
            }
            let inode = (meta.dev(), meta.ino());
            if let Some(file) = self.files.get_mut(&inode) {
                file.seen = true;
                if file.path != path {
                    tracing::info!(source = %self.id, from = %file.path.display(), to = %path.display(), "file renamed; following it");
                    file.path = path;
                }
                continue;
            }
            match self
                .open(
                    &path,
                    inode,
                    meta.len(),
                    first_scan && source.config.read_from == ReadFrom::End,
                )
                .await
            {
                Ok(Some(file)) => {
                    tracing::info!(source = %self.id, path = %path.display(), offset = file.read_pos.max(file.skip_to), "watching file");
                    self.files.insert(inode, file);
                }
                Ok(None) => {}
                Err(e) => {
                    self.metrics.error(ErrorType::OpenFailed.as_str(), 1);
                    tracing::warn!(source = %self.id, path = %path.display(), error = %e, "cannot open file");
                }
            }
        }
    }

    /// Opens a newly found file at its checkpoint (or start/end). `None`: not identifiable yet.
    async fn open(
        &mut self,
        path: &Path,
        inode: (u64, u64),
        len: u64,
        start_at_end: bool,
    ) -> io::Result<Option<Tracked>> {
        let head_bytes = read_head(path).await?;
        let codec = path
            .to_str()
            .and_then(Codec::from_name)
            .or_else(|| Codec::sniff(&head_bytes));
        let compressed = codec.is_some();
        let Some(head) = head_hash(&head_bytes, compressed) else {
            return Ok(None);
        };
        let key = FileKey {
            dev: inode.0,
            ino: inode.1,
            head,
        };
        let saved = self.store.get(&key).cloned();
        let mut offset = match &saved {
            Some(cp) => cp.offset,
            None if start_at_end && !compressed => len,
            None => 0,
        };
        let mut skip_records = saved.as_ref().map_or(0, |cp| cp.skip_records);
        let mut line_fallback = saved.as_ref().is_some_and(|cp| cp.line_fallback);
        let finished = saved.as_ref().is_some_and(|cp| cp.finished)
            || (start_at_end && compressed && saved.is_none());
        if !compressed && offset > len {
            tracing::info!(source = %self.id, path = %path.display(), "file is shorter than its checkpoint; reading from the start");
            offset = 0;
            skip_records = 0;
            line_fallback = false;
        }
        let start = match self.framing {
            Framing::Newline => Start::Lines {
                fallback: line_fallback,
            },
            _ if line_fallback => Start::Lines { fallback: true },
            Framing::JsonRecords => Start::Records { skip: skip_records },
            Framing::Auto if skip_records > 0 => Start::Records { skip: skip_records },
            Framing::Auto if finished => Start::Lines { fallback: false },
            // Decided by the file's first non-whitespace byte, wherever reading resumes; a file
            // without one yet is decided by the first one read.
            Framing::Auto => match first_non_whitespace(path, codec).await {
                Some(b'{' | b'[') => Start::Records { skip: 0 },
                Some(_) => Start::Lines { fallback: false },
                None => Start::Undecided,
            },
        };
        let mut file = tokio::fs::File::open(path).await?;
        let (input, read_pos, skip_to) = match codec {
            Some(codec) => (
                Input::compressed(file, codec, self.max_decompressed_bytes),
                0,
                offset,
            ),
            None => {
                file.seek(io::SeekFrom::Start(offset)).await?;
                (Input::Plain(file), offset, 0)
            }
        };
        let path_text = path.to_string_lossy().into_owned();
        Ok(Some(Tracked {
            key,
            path: path.to_path_buf(),
            path_field: Bytes::from(path_text.clone().into_bytes()),
            stream: Arc::from(path_text),
            input,
            framer: FileFramer::new(start, offset, self.max_line_bytes),
            read_pos,
            skip_to,
            checkpoints: OrderedCheckpoints::new(),
            generation: 0,
            held: false,
            at_eof: finished,
            seen: true,
            finished,
        }))
    }

    /// Reads one chunk of a file and frames it into a batch: events and error events.
    async fn read_turn(&mut self, inode: (u64, u64), once: bool) -> Option<SourceBatch> {
        let Frames { units, broken } = self.read_frames(inode, once).await?;
        let notifier = self.register_batch(inode)?;
        let file = self.files.get(&inode)?;
        let turn = TurnEvents {
            id: &self.id,
            metrics: &self.metrics,
            max_line_bytes: self.max_line_bytes,
            invalid_utf8: self.invalid_utf8,
            file,
            now: Utc::now(),
            notifier: &notifier,
        };
        let mut batch = SourceBatch::default();
        batch.events.reserve(units.len());
        for unit in units {
            turn.push(unit, &mut batch);
        }
        if let Some(broken) = broken {
            turn.broken(broken, &mut batch);
        }
        self.metrics
            .received_events
            .inc_by(batch.events.len() as u64);
        self.emitted += batch.events.len() as u64;
        Some(batch)
    }

    /// Reads one chunk of a file and frames it; `None` when there is nothing to hand out this
    /// turn (no new data, a read error, or a truncation that restarts the file).
    async fn read_frames(&mut self, inode: (u64, u64), once: bool) -> Option<Frames> {
        let file = self.files.get_mut(&inode)?;
        if file.finished {
            return None;
        }
        let buffer = file.framer.buffer_mut();
        buffer.reserve(READ_CHUNK);
        let read = file.input.reader().read_buf(buffer).await;
        let mut units = Vec::new();
        let mut broken = None;
        match read {
            Ok(0) => {
                let compressed = file.input.is_compressed();
                if compressed || once {
                    // The stream is complete: hand out a last line without newline, report a
                    // records document cut short.
                    file.framer.finish(&mut units);
                    file.finished = compressed;
                } else if check_truncation(file).await == Some(true) {
                    tracing::info!(source = %self.id, path = %file.path.display(), "file truncated; reading from the start");
                    let checkpoint = file.restart(self.framing.start_fresh(), self.max_line_bytes);
                    self.store.set(checkpoint);
                    self.dirty = true;
                    return None;
                }
                file.at_eof = true;
                if units.is_empty() && !file.finished {
                    return None;
                }
            }
            Ok(n) => {
                file.at_eof = false;
                self.metrics.received_bytes.inc_by(n as u64);
                file.consumed(n as u64);
                file.framer.drain(&mut units);
            }
            Err(e) if !file.input.is_compressed() => {
                self.metrics.error(ErrorType::ReadFailed.as_str(), 1);
                tracing::warn!(source = %self.id, path = %file.path.display(), error = %e, "read failed");
                file.at_eof = true;
                return None;
            }
            Err(e) => {
                // A broken compressed stream cannot be resumed: the complete lines decoded
                // before the break are handed out, the break is reported, the rest is given up.
                file.at_eof = true;
                file.finished = true;
                file.framer.drain(&mut units);
                broken = Some(Broken::of(e, file.read_pos));
            }
        }
        Some(Frames { units, broken })
    }

    /// Registers one acknowledgement batch for this turn of the file, ending at its current
    /// position; its notifier reports to the acknowledgement channel.
    fn register_batch(&mut self, inode: (u64, u64)) -> Option<BatchNotifier> {
        let file = self.files.get_mut(&inode)?;
        let batch_id = self.next_batch;
        self.next_batch += 1;
        let seq = file.checkpoints.register(file.framer.position());
        let tx = self.ack_tx.as_ref()?.clone();
        self.batches.insert(
            batch_id,
            BatchRef {
                key: file.key,
                generation: file.generation,
                seq,
            },
        );
        Some(BatchNotifier::with_channel(batch_id, tx))
    }

    fn acknowledge(&mut self, batch: u64, status: BatchStatus) {
        let Some(batch) = self.batches.remove(&batch) else {
            return;
        };
        let Some(file) = self.files.values_mut().find(|f| f.key == batch.key) else {
            return;
        };
        if file.generation != batch.generation {
            return;
        }
        let advance = match status {
            BatchStatus::Delivered => true,
            BatchStatus::Rejected if self.on_rejected == OnRejected::Skip => {
                self.metrics.error(ErrorType::RejectedSkipped.as_str(), 1);
                tracing::warn!(source = %self.id, path = %file.path.display(), "events rejected downstream; skipping past them (on_rejected = skip)");
                true
            }
            BatchStatus::Rejected | BatchStatus::Errored => {
                if !file.held {
                    self.metrics.error(
                        if status == BatchStatus::Rejected {
                            "rejected_held"
                        } else {
                            ErrorType::DeliveryFailed.as_str()
                        },
                        1,
                    );
                    tracing::warn!(source = %self.id, path = %file.path.display(), ?status, "events not delivered; the checkpoint stays before them until a restart re-reads them");
                }
                file.held = true;
                false
            }
        };
        if !advance || file.held {
            return;
        }
        if let Some(position) = file.checkpoints.complete(batch.seq) {
            let finished = file.finished && file.checkpoints.in_flight() == 0;
            self.store.set(Checkpoint {
                key: file.key,
                path: file.path.clone(),
                offset: position.offset,
                skip_records: position.skip_records,
                line_fallback: position.line_fallback,
                finished,
            });
            self.dirty = true;
        }
    }

    /// Drops files that vanished (rotated away, deleted) once read to their end and acknowledged.
    fn forget_gone_files(&mut self) {
        self.files
            .retain(|_, f| f.seen || !(f.at_eof || f.finished) || f.checkpoints.in_flight() > 0);
    }

    fn all_read(&self) -> bool {
        self.files.values().all(|f| f.at_eof || f.finished)
    }

    fn save(&mut self) {
        if let Err(e) = self.store.save() {
            self.metrics
                .error(ErrorType::CheckpointWriteFailed.as_str(), 1);
            tracing::error!(source = %self.id, error = %e, "cannot write checkpoints");
        } else {
            self.dirty = false;
        }
    }
}

/// What the events of one turn of a file share, and how framed units become them.
struct TurnEvents<'a> {
    id: &'a Arc<str>,
    metrics: &'a ComponentMetrics,
    max_line_bytes: usize,
    invalid_utf8: InvalidUtf8,
    file: &'a Tracked,
    now: DateTime<Utc>,
    notifier: &'a BatchNotifier,
}

impl TurnEvents<'_> {
    /// One framed unit → an event, an error event (counted and logged), or nothing.
    fn push(&self, unit: Unit, batch: &mut SourceBatch) {
        let (id, path, max) = (self.id, self.file.path.display(), self.max_line_bytes);
        match unit {
            Unit::Message { offset, bytes } => self.checked_message(offset, bytes, batch),
            Unit::NotRecords { offset, reason } => {
                tracing::info!(source = %id, %path, offset, reason, "not a records document; reading the rest of the file as lines");
            }
            other => {
                let Some(e) = other.error(max) else { return };
                self.metrics.error(e.error_type.as_str(), 1);
                let follow = match e.lines_from {
                    Some(from) => {
                        format!("; reading the rest of the file as lines from byte {from}")
                    }
                    None => "; skipped".to_string(),
                };
                tracing::warn!(source = %id, %path, offset = e.offset, error_type = e.error_type.as_str(), "{}{follow}", e.message);
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

    /// A line or record: an event, or (not UTF-8, `invalid_utf8 = "error"`) an error event that
    /// keeps its bytes.
    fn checked_message(&self, offset: u64, bytes: Bytes, batch: &mut SourceBatch) {
        match self.invalid_utf8.check(bytes) {
            Checked::Valid(bytes) => batch.events.push(self.message(offset, bytes)),
            Checked::Replaced(bytes) => {
                self.metrics
                    .error(ErrorType::InvalidUtf8Replaced.as_str(), 1);
                batch.events.push(self.message(offset, bytes));
            }
            Checked::Invalid(bytes) => {
                let error_type = ErrorType::InvalidUtf8.as_str();
                self.metrics.error(error_type, 1);
                tracing::warn!(source = %self.id, path = %self.file.path.display(), offset, "line is not valid UTF-8; sent to the errors output");
                let mut event = self.error(("line is not valid UTF-8".into(), error_type), offset);
                keep_invalid(&mut event.fields, &bytes);
                batch.errors.push(event);
            }
        }
    }

    /// A compressed file that broke off: counted, logged, and an event on `errors`.
    fn broken(&self, broken: Broken, batch: &mut SourceBatch) {
        let error_type = broken.error_type.as_str();
        self.metrics.error(error_type, 1);
        tracing::warn!(source = %self.id, path = %self.file.path.display(), offset = broken.offset, error_type, "{}", broken.message);
        batch
            .errors
            .push(self.error((broken.message, error_type), broken.offset));
    }

    /// An event of the default output: `message`, `file`, `timestamp`.
    fn message(&self, offset: u64, bytes: Bytes) -> Event {
        let mut fields = ObjectMap::new();
        fields.insert(KeyString::from(MESSAGE), Value::Bytes(bytes));
        fields.insert(
            KeyString::from("file"),
            Value::Bytes(self.file.path_field.clone()),
        );
        fields.insert(KeyString::from(TIMESTAMP), Value::Timestamp(self.now));
        Event::new(fields, self.metadata(offset))
    }

    /// An event for the `errors` output: `error` (message, `error_type`) about the unit at
    /// `offset`.
    fn error(&self, (message, error_type): (String, &'static str), offset: u64) -> Event {
        let mut fields = ObjectMap::new();
        fields.insert(KeyString::from("error"), Value::from(message));
        fields.insert(KeyString::from("error_type"), Value::from(error_type));
        fields.insert(
            KeyString::from("file"),
            Value::Bytes(self.file.path_field.clone()),
        );
        fields.insert(
            KeyString::from("offset"),
            Value::Integer(i64::try_from(offset).unwrap_or(i64::MAX)),
        );
        fields.insert(KeyString::from(TIMESTAMP), Value::Timestamp(self.now));
        Event::new(fields, self.metadata(offset))
    }

    fn metadata(&self, offset: u64) -> EventMetadata {
        EventMetadata::new(Arc::clone(self.id), "file", self.now)
            .at(Arc::clone(&self.file.stream), offset)
            .acknowledged_by(self.notifier.finalizer())
    }
}

/// The first non-whitespace byte of a file (decompressed if compressed) within its first
/// [`SNIFF_BYTES`]; `None` if there is none yet (or the file cannot be read: reading it proper will
/// report that).
async fn first_non_whitespace(path: &Path, codec: Option<Codec>) -> Option<u8> {
    let file = tokio::fs::File::open(path).await.ok()?;
    let mut reader: Box<dyn AsyncRead + Unpin + Send> = match codec {
        Some(codec) => codec.decoder(BufReader::new(file)),
        None => Box::new(file),
    };
    let mut buf = vec![0u8; 4096];
    let mut seen = 0usize;
    while seen < SNIFF_BYTES {
        let n = reader.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        seen += n;
        if let Some(b) = buf
            .get(..n)?
            .iter()
            .copied()
            .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            return Some(b);
        }
    }
    None
}

/// `Some(true)` if the file on disk is now shorter than what was read from it.
async fn check_truncation(file: &mut Tracked) -> Option<bool> {
    let Input::Plain(handle) = &mut file.input else {
        return Some(false);
    };
    let len = handle.metadata().await.ok()?.len();
    if len < file.read_pos {
        handle.seek(io::SeekFrom::Start(0)).await.ok()?;
        return Some(true);
    }
    Some(false)
}

/// The file's first [`HEAD_BYTES`] bytes (fewer if it is shorter).
async fn read_head(path: &Path) -> io::Result<Vec<u8>> {
    let mut file = tokio::fs::File::open(path).await?;
    let mut head = Vec::with_capacity(HEAD_BYTES);
    (&mut file)
        .take(HEAD_BYTES as u64)
        .read_to_end(&mut head)
        .await?;
    Ok(head)
}

/// Hash of the file's first line (or first 256 bytes; of a compressed file, its first bytes);
/// `None` while the file is too short to tell.
fn head_hash(head: &[u8], compressed: bool) -> Option<u64> {
    let identified = if compressed {
        (!head.is_empty()).then_some(head)
    } else if let Some(nl) = memchr::memchr(b'\n', head) {
        head.get(..=nl)
    } else if head.len() >= HEAD_BYTES {
        Some(head)
    } else {
        None
    };
    identified.map(xxhash_rust::xxh3::xxh3_64)
}
