//! The file sink's durability: events are acknowledged only once their bytes are on disk.
//!
//! The writer hands each file's written-but-unsynced events to a [`Syncer`] (a duplicate of the
//! file's descriptor and the events' finalizers). The syncer's thread `fsync`s (`fdatasync`) and
//! then acknowledges them; meanwhile the writer goes on writing. Jobs that queue up while a sync
//! runs are merged, one sync per file, and syncs start at most every `fsync_interval_ms`: a busy
//! sink syncs a few times a second however fast it writes, an idle one acknowledges a lone event
//! within one interval. A failed sync ends its events `Errored` (the source keeps them: they
//! may arrive twice, never zero times).

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use weir_core::ack::{EventFinalizers, EventStatus};
use weir_core::metrics::{ComponentMetrics, DEFAULT_OUTPUT};

use crate::errors::ErrorType;
use weir_core::throttle::LogThrottle;

/// Written events of one file waiting for their sync.
pub(super) struct Unsynced {
    pub(super) finalizers: Vec<EventFinalizers>,
    pub(super) events: usize,
}

impl Unsynced {
    pub(super) fn new() -> Self {
        Self {
            finalizers: Vec::new(),
            events: 0,
        }
    }

    /// Acknowledges every event with `status`; counts the delivered ones.
    pub(super) fn finalize(self, status: EventStatus, metrics: &ComponentMetrics) {
        for mut finalizers in self.finalizers {
            finalizers.finalize(status);
        }
        if status == EventStatus::Delivered && self.events > 0 {
            metrics
                .sent_events(DEFAULT_OUTPUT)
                .inc_by(self.events as u64);
        }
    }
}

/// One file to sync and the events that wait for it.
struct Job {
    path: String,
    file: File,
    unsynced: Unsynced,
}

/// The syncing thread and the queue to it.
pub(super) struct Syncer {
    tx: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
    metrics: ComponentMetrics,
}

impl Syncer {
    /// Starts the syncing thread; syncs start at most every `interval`.
    pub(super) fn start(metrics: ComponentMetrics, interval: Duration) -> Self {
        let (tx, rx) = mpsc::channel();
        let thread_metrics = metrics.clone();
        let thread = std::thread::Builder::new()
            .name("weir-file-sync".into())
            .spawn(move || run(&rx, interval, &thread_metrics));
        match thread {
            Ok(thread) => Self {
                tx: Some(tx),
                thread: Some(thread),
                metrics,
            },
            Err(error) => {
                // Without a thread every sync runs on the writer (see `sync`).
                tracing::warn!(component = metrics.component_id(), %error, "cannot start the file sync thread; syncing on the writer");
                Self {
                    tx: None,
                    thread: None,
                    metrics,
                }
            }
        }
    }

    /// Syncs `file` and then acknowledges `unsynced`, on the syncing thread. `file` is a
    /// duplicate of the written file's descriptor: the writer keeps writing to its own.
    pub(super) fn sync(&self, path: &str, file: File, unsynced: Unsynced) {
        let job = Job {
            path: path.to_string(),
            file,
            unsynced,
        };
        let job = match &self.tx {
            Some(tx) => match tx.send(job) {
                Ok(()) => return,
                Err(mpsc::SendError(job)) => job,
            },
            None => job,
        };
        sync_all(vec![job], &self.metrics, &mut LogThrottle::default());
    }
}

impl Drop for Syncer {
    /// Waits for every queued sync: nothing written is left unacknowledged.
    fn drop(&mut self) {
        self.tx = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The syncing thread: takes a job, waits out the interval since the last sync started, then
/// takes every job queued behind it and syncs each file once.
fn run(rx: &mpsc::Receiver<Job>, interval: Duration, metrics: &ComponentMetrics) {
    let mut warnings = LogThrottle::default();
    let mut last: Option<Instant> = None;
    while let Ok(first) = rx.recv() {
        if let Some(wait) = last.and_then(|l| (l + interval).checked_duration_since(Instant::now()))
        {
            std::thread::sleep(wait);
        }
        last = Some(Instant::now());
        let mut jobs = vec![first];
        jobs.extend(rx.try_iter());
        sync_all(jobs, metrics, &mut warnings);
    }
}

/// Syncs the files of `jobs` (one sync per file: by device and inode, as a rotated path names
/// two) and acknowledges their events: `Delivered`, or `Errored` if the sync failed.
fn sync_all(jobs: Vec<Job>, metrics: &ComponentMetrics, warnings: &mut LogThrottle) {
    let mut by_file: HashMap<(u64, u64), (String, File, Vec<Unsynced>)> = HashMap::new();
    let mut unknown = Vec::new();
    for job in jobs {
        match job.file.metadata() {
            Ok(meta) => {
                by_file
                    .entry((meta.dev(), meta.ino()))
                    .or_insert_with(|| (job.path, job.file, Vec::new()))
                    .2
                    .push(job.unsynced);
            }
            Err(_) => unknown.push((job.path, job.file, vec![job.unsynced])),
        }
    }
    for (path, file, waiting) in by_file.into_values().chain(unknown) {
        let status = match file.sync_data() {
            Ok(()) => EventStatus::Delivered,
            Err(error) => {
                metrics.error(ErrorType::SyncFailed.as_str(), 1);
                if let Some(suppressed) = warnings.check() {
                    tracing::warn!(
                        component = metrics.component_id(),
                        %path,
                        %error,
                        suppressed,
                        "cannot sync file to disk; its events since the last sync errored (the source keeps them)"
                    );
                }
                EventStatus::Errored
            }
        };
        for unsynced in waiting {
            unsynced.finalize(status, metrics);
        }
    }
}
