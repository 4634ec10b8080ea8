//! The blocking half of the file sink: groups a round of events by path, encodes them into one
//! buffer per path, writes each buffer with one write call and acknowledges the events.
//!
//! A [`Writer`] is moved into `spawn_blocking` for every round and handed back, so all per-event
//! work and all file I/O run off the async threads.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use flate2::write::GzEncoder;
use weir_core::ack::{EventFinalizers, EventStatus};
use weir_core::metrics::{ComponentMetrics, DEFAULT_OUTPUT};
use weir_core::template::RenderError;
use weir_core::Event;

use super::path::{PathTemplate, PathViolation};
use super::Compression;
use crate::encoding::{EncodeError, Encoding};
use crate::errors::ErrorType;
use crate::throttle::LogThrottle;

/// At most this many files are kept open; past it the least recently written one is closed.
const MAX_OPEN_FILES: usize = 256;
/// Group buffers larger than this are not kept for reuse after a round.
const MAX_RETAINED_BUFFER: usize = 32 * 1024 * 1024;
/// How often idle files are looked for while the sink is busy.
pub(super) const SWEEP_PERIOD: Duration = Duration::from_secs(1);

/// The events of one round going to one path.
#[derive(Default)]
struct Group {
    path: String,
    buf: Vec<u8>,
    events: usize,
    finalizers: Vec<EventFinalizers>,
}

impl Group {
    fn reset(&mut self) {
        self.path.clear();
        self.buf.clear();
        if self.buf.capacity() > MAX_RETAINED_BUFFER {
            self.buf = Vec::new();
        }
        self.events = 0;
        self.finalizers.clear();
    }

    fn finalize(&mut self, status: EventStatus) {
        for mut finalizers in self.finalizers.drain(..) {
            finalizers.finalize(status);
        }
    }
}

/// Where a rendered path goes within a round.
#[derive(Clone, Copy)]
enum Slot {
    Group(usize),
    Rejected(PathViolation),
}

/// Why an event could not be routed.
enum RouteError {
    Render(RenderError),
    Path(PathViolation),
}

/// An open output file.
struct OpenFile {
    file: File,
    /// For gzip: the compressor, writing into a buffer that goes to `file` in one write per round.
    gzip: Option<GzEncoder<Vec<u8>>>,
    last_write: Instant,
}

impl OpenFile {
    fn open(path: &Path, compression: Compression) -> io::Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let gzip = match compression {
            Compression::None => None,
            Compression::Gzip => Some(GzEncoder::new(Vec::new(), flate2::Compression::default())),
        };
        Ok(Self {
            file,
            gzip,
            last_write: Instant::now(),
        })
    }

    /// Writes `data` (compressing it first for gzip, with a sync flush so everything written so far
    /// can be decoded) in one write call; returns the bytes written to the file.
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.last_write = Instant::now();
        match &mut self.gzip {
            None => {
                self.file.write_all(data)?;
                Ok(data.len())
            }
            Some(encoder) => {
                encoder.write_all(data)?;
                encoder.flush()?;
                let compressed = encoder.get_mut();
                let written = compressed.len();
                let result = self.file.write_all(compressed);
                compressed.clear();
                result.map(|()| written)
            }
        }
    }

    /// Finishes the file (the gzip trailer); returns the bytes written.
    fn close(mut self) -> io::Result<usize> {
        match self.gzip.take() {
            None => Ok(0),
            Some(encoder) => {
                let rest = encoder.finish()?;
                self.file.write_all(&rest)?;
                Ok(rest.len())
            }
        }
    }
}

/// Rate-limited warnings, one throttle per kind.
#[derive(Default)]
struct Warnings {
    render: LogThrottle,
    path: LogThrottle,
    encode: LogThrottle,
    write: LogThrottle,
    close: LogThrottle,
}

/// What the file sink keeps between rounds: the path template, open files and reusable buffers.
pub(super) struct Writer {
    paths: PathTemplate,
    encoding: Encoding,
    compression: Compression,
    idle_timeout: Duration,
    metrics: ComponentMetrics,
    files: HashMap<String, OpenFile>,
    /// Group buffers, reused across rounds; the first `used` belong to the current round.
    groups: Vec<Group>,
    used: usize,
    /// Rendered path → group, for the current round (dynamic templates only).
    index: HashMap<String, Slot>,
    /// The group of the previous event, checked before `index`.
    last_group: Option<usize>,
    render_buf: String,
    last_sweep: Instant,
    warnings: Warnings,
}

impl Writer {
    pub(super) fn new(
        paths: PathTemplate,
        encoding: Encoding,
        compression: Compression,
        idle_timeout: Duration,
        metrics: ComponentMetrics,
    ) -> Self {
        Self {
            paths,
            encoding,
            compression,
            idle_timeout,
            metrics,
            files: HashMap::new(),
            groups: Vec::new(),
            used: 0,
            index: HashMap::new(),
            last_group: None,
            render_buf: String::new(),
            last_sweep: Instant::now(),
            warnings: Warnings::default(),
        }
    }

    /// Whether any file is open.
    pub(super) fn has_open_files(&self) -> bool {
        !self.files.is_empty()
    }

    /// Encodes one round of batches into per-path buffers. Runs on the sink's task, so events are
    /// freed on the thread that made them (cross-thread frees cost the allocator dearly). Leaves
    /// `batches` empty (its allocation is reused by the caller).
    pub(super) fn encode(&mut self, batches: &mut Vec<Vec<Event>>) {
        self.begin_round();
        for batch in batches.drain(..) {
            for event in batch {
                self.add(event);
            }
        }
    }

    /// Writes and flushes the encoded round, then acknowledges its events; closes idle files.
    /// Blocking I/O: call from the blocking pool.
    pub(super) fn write(&mut self) {
        self.write_round();
        if self.last_sweep.elapsed() >= SWEEP_PERIOD {
            self.close_idle();
        }
    }

    fn begin_round(&mut self) {
        for group in &mut self.groups[..self.used] {
            group.reset();
        }
        self.used = 0;
        self.index.clear();
        self.last_group = None;
    }

    fn add(&mut self, mut event: Event) {
        let group = match self.route(&event) {
            Ok(group) => group,
            Err(error) => {
                self.reject_route(error);
                event.finalize(EventStatus::Rejected);
                return;
            }
        };
        let group = &mut self.groups[group];
        match self.encoding.encode_into(&event, &mut group.buf) {
            Ok(()) => {
                group.events += 1;
                let finalizers = std::mem::take(&mut event.metadata.finalizers);
                if !finalizers.is_empty() {
                    group.finalizers.push(finalizers);
                }
            }
            Err(error) => {
                self.reject_encode(&error);
                event.finalize(EventStatus::Rejected);
            }
        }
    }

    /// The group of an event's path, rendering and checking it if the template is dynamic.
    fn route(&mut self, event: &Event) -> Result<usize, RouteError> {
        if !self.paths.is_dynamic() {
            if self.used == 0 {
                let group = self.new_group();
                self.groups[group].path.push_str(self.paths.as_str());
            }
            return Ok(0);
        }
        self.paths
            .render_into(event, &mut self.render_buf)
            .map_err(RouteError::Render)?;
        if let Some(last) = self.last_group {
            if self.groups[last].path == self.render_buf {
                return Ok(last);
            }
        }
        let slot = match self.index.get(self.render_buf.as_str()) {
            Some(slot) => *slot,
            None => {
                let slot = match self.paths.check(&self.render_buf) {
                    Ok(()) => {
                        let group = self.new_group();
                        self.groups[group].path.push_str(&self.render_buf);
                        Slot::Group(group)
                    }
                    Err(violation) => Slot::Rejected(violation),
                };
                self.index.insert(self.render_buf.clone(), slot);
                slot
            }
        };
        match slot {
            Slot::Group(group) => {
                self.last_group = Some(group);
                Ok(group)
            }
            Slot::Rejected(violation) => Err(RouteError::Path(violation)),
        }
    }

    fn new_group(&mut self) -> usize {
        if self.used == self.groups.len() {
            self.groups.push(Group::default());
        }
        self.used += 1;
        self.used - 1
    }

    fn reject_route(&mut self, error: RouteError) {
        match error {
            RouteError::Render(error) => {
                self.metrics
                    .error(ErrorType::TemplateRenderFailed.as_str(), 1);
                if let Some(suppressed) = self.warnings.render.check() {
                    tracing::warn!(
                        component = self.metrics.component_id(),
                        %error,
                        suppressed,
                        "cannot render the file path; event rejected"
                    );
                }
            }
            RouteError::Path(violation) => {
                self.metrics.error(violation.error_type(), 1);
                if let Some(suppressed) = self.warnings.path.check() {
                    tracing::warn!(
                        component = self.metrics.component_id(),
                        path = %self.render_buf.escape_debug(),
                        root = %self.paths.root().display(),
                        error = %violation,
                        suppressed,
                        "rendered file path refused; event rejected"
                    );
                }
            }
        }
    }

    fn reject_encode(&mut self, error: &EncodeError) {
        self.metrics.error(error.error_type(), 1);
        if let Some(suppressed) = self.warnings.encode.check() {
            tracing::warn!(
                component = self.metrics.component_id(),
                %error,
                suppressed,
                "cannot encode event; event rejected"
            );
        }
    }

    /// Writes every group of the round, then acknowledges its events.
    fn write_round(&mut self) {
        let Self {
            files,
            groups,
            used,
            compression,
            metrics,
            warnings,
            ..
        } = self;
        let mut delivered = 0;
        let mut bytes = 0;
        for group in &mut groups[..*used] {
            if group.events == 0 {
                continue;
            }
            match write_group(files, group, *compression, metrics) {
                Ok(written) => {
                    delivered += group.events;
                    bytes += written;
                    group.finalize(EventStatus::Delivered);
                }
                Err(error) => {
                    metrics.error(ErrorType::WriteFailed.as_str(), 1);
                    if let Some(suppressed) = warnings.write.check() {
                        tracing::warn!(
                            component = metrics.component_id(),
                            path = %group.path,
                            %error,
                            events = group.events,
                            suppressed,
                            "cannot write file; events errored, the file is reopened next time"
                        );
                    }
                    // Drop the handle (without finishing a gzip stream that may be corrupt).
                    files.remove(&group.path);
                    group.finalize(EventStatus::Errored);
                }
            }
        }
        if delivered > 0 {
            metrics.sent_events(DEFAULT_OUTPUT).inc_by(delivered as u64);
        }
        if bytes > 0 {
            metrics.sent_bytes.inc_by(bytes as u64);
        }
    }

    /// Closes the files not written for `idle_timeout`.
    pub(super) fn close_idle(&mut self) {
        let now = Instant::now();
        self.last_sweep = now;
        let idle: Vec<String> = self
            .files
            .iter()
            .filter(|(_, file)| now.duration_since(file.last_write) >= self.idle_timeout)
            .map(|(path, _)| path.clone())
            .collect();
        for path in idle {
            if let Some(file) = self.files.remove(&path) {
                tracing::debug!(component = self.metrics.component_id(), %path, "closing idle file");
                self.close_file(&path, file);
            }
        }
    }

    /// Closes every file (gzip streams are finished).
    pub(super) fn close_all(&mut self) {
        for (path, file) in std::mem::take(&mut self.files) {
            self.close_file(&path, file);
        }
    }

    fn close_file(&mut self, path: &str, file: OpenFile) {
        match file.close() {
            Ok(bytes) => {
                if bytes > 0 {
                    self.metrics.sent_bytes.inc_by(bytes as u64);
                }
            }
            Err(error) => {
                self.metrics.error(ErrorType::CloseFailed.as_str(), 1);
                if let Some(suppressed) = self.warnings.close.check() {
                    tracing::warn!(
                        component = self.metrics.component_id(),
                        %path,
                        %error,
                        suppressed,
                        "cannot finish file"
                    );
                }
            }
        }
    }
}

impl Drop for Writer {
    /// Finishes the files if the sink is torn down without reaching the end of its input.
    fn drop(&mut self) {
        self.close_all();
    }
}

/// Writes one group to its file, opening (and creating) the file if needed.
fn write_group(
    files: &mut HashMap<String, OpenFile>,
    group: &Group,
    compression: Compression,
    metrics: &ComponentMetrics,
) -> io::Result<usize> {
    if !files.contains_key(&group.path) {
        if files.len() >= MAX_OPEN_FILES {
            evict_oldest(files, metrics);
        }
        let file = OpenFile::open(Path::new(&group.path), compression)?;
        files.insert(group.path.clone(), file);
    }
    match files.get_mut(&group.path) {
        Some(file) => file.write(&group.buf),
        None => Err(io::Error::other("file handle vanished")),
    }
}

/// Closes the least recently written file.
fn evict_oldest(files: &mut HashMap<String, OpenFile>, metrics: &ComponentMetrics) {
    let oldest = files
        .iter()
        .min_by_key(|(_, file)| file.last_write)
        .map(|(path, _)| path.clone());
    let Some((path, file)) = oldest.and_then(|path| files.remove_entry(&path)) else {
        return;
    };
    match file.close() {
        Ok(bytes) => metrics.sent_bytes.inc_by(bytes as u64),
        Err(error) => {
            metrics.error(ErrorType::CloseFailed.as_str(), 1);
            tracing::warn!(
                component = metrics.component_id(),
                %path,
                %error,
                "cannot finish a file closed to stay under the open-file limit"
            );
        }
    }
}
