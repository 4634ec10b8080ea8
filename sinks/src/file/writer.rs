//! The blocking half of the file sink: writes each buffer of an encoded [`Round`] with one write
//! call and acknowledges its events; keeps the open files.
//!
//! A [`Writer`] (with the round it writes) is moved into `spawn_blocking` for every round and
//! handed back, so all file I/O runs off the async threads while the sink encodes the next round.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use flate2::write::GzEncoder;
use weir_core::ack::EventStatus;
use weir_core::metrics::{ComponentMetrics, DEFAULT_OUTPUT};

use super::round::{Group, Round};
use super::Compression;
use crate::errors::ErrorType;
use crate::throttle::LogThrottle;

/// At most this many files are kept open; past it the least recently written one is closed.
const MAX_OPEN_FILES: usize = 256;
/// How often idle files are looked for while the sink is busy.
pub(super) const SWEEP_PERIOD: Duration = Duration::from_secs(1);

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

/// Rate-limited warnings of writing, one throttle per kind.
#[derive(Default)]
struct Warnings {
    write: LogThrottle,
    close: LogThrottle,
}

/// What the file sink keeps between rounds: its open files.
pub(super) struct Writer {
    compression: Compression,
    idle_timeout: Duration,
    metrics: ComponentMetrics,
    files: HashMap<String, OpenFile>,
    last_sweep: Instant,
    warnings: Warnings,
}

impl Writer {
    pub(super) fn new(
        compression: Compression,
        idle_timeout: Duration,
        metrics: ComponentMetrics,
    ) -> Self {
        Self {
            compression,
            idle_timeout,
            metrics,
            files: HashMap::new(),
            last_sweep: Instant::now(),
            warnings: Warnings::default(),
        }
    }

    /// Whether any file is open.
    pub(super) fn has_open_files(&self) -> bool {
        !self.files.is_empty()
    }

    /// Writes and flushes an encoded round, then acknowledges its events; closes idle files.
    /// Blocking I/O: call from the blocking pool.
    pub(super) fn write(&mut self, round: &mut Round) {
        self.write_round(round);
        if self.last_sweep.elapsed() >= SWEEP_PERIOD {
            self.close_idle();
        }
    }

    /// Writes every group of the round, then acknowledges its events.
    fn write_round(&mut self, round: &mut Round) {
        let Self {
            files,
            compression,
            metrics,
            warnings,
            ..
        } = self;
        let mut delivered = 0;
        let mut bytes = 0;
        for group in round.groups() {
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
