//! The blocking half of the file sink: writes each buffer of an encoded [`Round`] with one write
//! call, hands its events to the [`Syncer`] (acknowledged once on disk), rotates full files;
//! keeps the open files.
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
use weir_core::metrics::ComponentMetrics;

use super::rotation::Rotations;
use super::round::{Group, Round};
use super::sync::{Syncer, Unsynced};
use super::Compression;
use crate::errors::ErrorType;
use weir_core::throttle::LogThrottle;

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
    /// Bytes in the file (what it held when opened, plus what was written).
    size: u64,
}

impl OpenFile {
    /// Opens (appending) or creates the file; a new file's directory entry is synced, so that a
    /// synced file cannot vanish with a power loss.
    fn open(path: &Path, compression: Compression) -> io::Result<Self> {
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
        if let Some(parent) = parent {
            std::fs::create_dir_all(parent)?;
        }
        let existed = path.exists();
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        if !existed {
            sync_dir(parent.unwrap_or(Path::new(".")))?;
        }
        let size = file.metadata()?.len();
        let gzip = match compression {
            Compression::None => None,
            Compression::Gzip => Some(GzEncoder::new(Vec::new(), flate2::Compression::default())),
        };
        Ok(Self {
            file,
            gzip,
            last_write: Instant::now(),
            size,
        })
    }

    /// Writes `data` (compressing it first for gzip, with a sync flush so everything written so far
    /// can be decoded) in one write call; returns the bytes written to the file.
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.last_write = Instant::now();
        let written = match &mut self.gzip {
            None => {
                self.file.write_all(data)?;
                data.len()
            }
            Some(encoder) => {
                encoder.write_all(data)?;
                encoder.flush()?;
                let compressed = encoder.get_mut();
                let written = compressed.len();
                let result = self.file.write_all(compressed);
                compressed.clear();
                result?;
                written
            }
        };
        self.size += written as u64;
        Ok(written)
    }

    /// Finishes the file (the gzip trailer); returns the bytes written and, if there were any,
    /// the file to sync them.
    fn close(mut self) -> io::Result<(usize, Option<File>)> {
        match self.gzip.take() {
            None => Ok((0, None)),
            Some(encoder) => {
                let rest = encoder.finish()?;
                self.file.write_all(&rest)?;
                Ok((rest.len(), Some(self.file)))
            }
        }
    }
}

/// Syncs a directory, making the entries created or renamed in it durable.
pub(super) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Rate-limited warnings of writing, one throttle per kind.
#[derive(Default)]
struct Warnings {
    write: LogThrottle,
    close: LogThrottle,
    rotate: LogThrottle,
}

/// What the file sink keeps between rounds: its open files.
pub(super) struct Writer {
    settings: WriterSettings,
    metrics: ComponentMetrics,
    files: HashMap<String, OpenFile>,
    last_sweep: Instant,
    warnings: Warnings,
    rotations: Rotations,
    /// Declared last: dropped after the files are closed, it waits for their last syncs.
    syncer: Syncer,
}

/// How the writer writes (from the config).
#[derive(Clone, Copy, Debug)]
pub(super) struct WriterSettings {
    pub(super) compression: Compression,
    pub(super) idle_timeout: Duration,
    pub(super) fsync_interval: Duration,
    pub(super) max_file_bytes: Option<u64>,
}

impl Writer {
    pub(super) fn new(settings: WriterSettings, metrics: ComponentMetrics) -> Self {
        Self {
            settings,
            syncer: Syncer::start(metrics.clone(), settings.fsync_interval),
            metrics,
            files: HashMap::new(),
            last_sweep: Instant::now(),
            warnings: Warnings::default(),
            rotations: Rotations::default(),
        }
    }

    /// Whether any file is open.
    pub(super) fn has_open_files(&self) -> bool {
        !self.files.is_empty()
    }

    /// Writes an encoded round and hands its events to the syncer; rotates full files, closes
    /// idle ones.
    /// Blocking I/O: call from the blocking pool.
    pub(super) fn write(&mut self, round: &mut Round) {
        self.write_round(round);
        if self.last_sweep.elapsed() >= SWEEP_PERIOD {
            self.close_idle();
        }
    }

    /// Writes every group of the round; each written group's events wait for the sync of their
    /// file, a group that cannot be written is `Errored`.
    fn write_round(&mut self, round: &mut Round) {
        let mut bytes = 0;
        for group in round.groups() {
            if group.events == 0 {
                continue;
            }
            match self.write_group(group) {
                Ok(written) => bytes += written,
                Err(error) => {
                    self.metrics.error(ErrorType::WriteFailed.as_str(), 1);
                    if let Some(suppressed) = self.warnings.write.check() {
                        tracing::warn!(
                            component = self.metrics.component_id(),
                            path = %group.path,
                            %error,
                            events = group.events,
                            suppressed,
                            "cannot write file; events errored, the file is reopened next time"
                        );
                    }
                    // Drop the handle (without finishing a gzip stream that may be corrupt).
                    self.files.remove(&group.path);
                    group.finalize(EventStatus::Errored);
                }
            }
        }
        if bytes > 0 {
            self.metrics.sent_bytes.inc_by(bytes as u64);
        }
    }

    /// Writes one group to its file (opened, and created, if needed), hands its events to the
    /// syncer, and rotates the file if that filled it.
    fn write_group(&mut self, group: &mut Group) -> io::Result<usize> {
        if !self.files.contains_key(&group.path) {
            if self.files.len() >= MAX_OPEN_FILES {
                self.evict_oldest();
            }
            let file = OpenFile::open(Path::new(&group.path), self.settings.compression)?;
            self.files.insert(group.path.clone(), file);
        }
        let file = self
            .files
            .get_mut(&group.path)
            .ok_or_else(|| io::Error::other("file handle vanished"))?;
        let written = file.write(&group.buf)?;
        let unsynced = Unsynced {
            finalizers: group.take_finalizers(),
            events: group.events,
        };
        match file.file.try_clone() {
            Ok(dup) => self.syncer.sync(&group.path, dup, unsynced),
            Err(error) => {
                // No descriptor to spare: sync here, on the writer's own.
                let status = match file.file.sync_data() {
                    Ok(()) => EventStatus::Delivered,
                    Err(_) => EventStatus::Errored,
                };
                tracing::debug!(component = self.metrics.component_id(), %error, "cannot duplicate a descriptor; synced on the writer");
                unsynced.finalize(status, &self.metrics);
            }
        }
        if self
            .settings
            .max_file_bytes
            .is_some_and(|max| file.size >= max)
        {
            self.rotate(&group.path);
        }
        Ok(written)
    }

    /// Closes a full file and renames it aside (see [`Rotations`]); the next write to its path
    /// starts a new file.
    fn rotate(&mut self, path: &str) {
        let Some(file) = self.files.remove(path) else {
            return;
        };
        self.close_file(path, file);
        if let Err(error) = self.rotations.rotate(Path::new(path)) {
            self.metrics.error(ErrorType::RotateFailed.as_str(), 1);
            if let Some(suppressed) = self.warnings.rotate.check() {
                tracing::warn!(
                    component = self.metrics.component_id(),
                    %path,
                    %error,
                    suppressed,
                    "cannot rename a full file aside; writing on to it"
                );
            }
        }
    }

    /// Closes the files not written for `idle_timeout`.
    pub(super) fn close_idle(&mut self) {
        let now = Instant::now();
        self.last_sweep = now;
        let idle: Vec<String> = self
            .files
            .iter()
            .filter(|(_, file)| now.duration_since(file.last_write) >= self.settings.idle_timeout)
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

    /// Closes a file: finishes a gzip stream and has the trailer synced.
    fn close_file(&mut self, path: &str, file: OpenFile) {
        match file.close() {
            Ok((bytes, to_sync)) => {
                if bytes > 0 {
                    self.metrics.sent_bytes.inc_by(bytes as u64);
                }
                if let Some(file) = to_sync {
                    self.syncer.sync(path, file, Unsynced::new());
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

    /// Closes the least recently written file, to stay under [`MAX_OPEN_FILES`].
    fn evict_oldest(&mut self) {
        let oldest = self
            .files
            .iter()
            .min_by_key(|(_, file)| file.last_write)
            .map(|(path, _)| path.clone());
        if let Some((path, file)) = oldest.and_then(|path| self.files.remove_entry(&path)) {
            self.close_file(&path, file);
        }
    }
}

impl Drop for Writer {
    /// Finishes the files if the sink is torn down without reaching the end of its input; the
    /// syncer, dropped next, waits for the last syncs.
    fn drop(&mut self) {
        self.close_all();
    }
}
