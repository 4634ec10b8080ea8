//! Hot reload of the pipeline files: watch them, debounce bursts of file events into one reload,
//! validate the new pipeline with the same code as `weir validate`, and hand it to the running
//! topology, which applies only what changed (see `weir_core::topology::running`).
//!
//! The directory holding each file is watched, not the file: editors that save by writing a
//! temporary file and renaming it over the original replace the inode, which a watch on the file
//! itself would lose.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use prometheus::{Gauge, Histogram, HistogramOpts, IntCounterVec, IntGauge, Opts, Registry};
use tokio::sync::mpsc;

/// How long the files must be quiet before a burst of changes becomes one reload.
pub const DEBOUNCE: Duration = Duration::from_millis(300);

/// The reload metrics (`weir_config_*`).
#[derive(Clone)]
pub struct ReloadMetrics {
    reloads: IntCounterVec,
    last_successful: IntGauge,
    last_timestamp: Gauge,
    duration: Histogram,
}

impl ReloadMetrics {
    /// Registers the metrics; the last reload counts as successful at start (the pipeline runs).
    pub fn new(registry: &Registry) -> Result<Self, prometheus::Error> {
        let reloads = IntCounterVec::new(
            Opts::new(
                "weir_config_reloads_total",
                "Pipeline reloads, by result (success or failure).",
            ),
            &["result"],
        )?;
        let last_successful = IntGauge::new(
            "weir_config_last_reload_successful",
            "1 if the last reload was applied, 0 if it was refused (the old pipeline kept running).",
        )?;
        let last_timestamp = Gauge::new(
            "weir_config_last_reload_timestamp_seconds",
            "When the last reload was attempted (Unix seconds).",
        )?;
        let duration = Histogram::with_opts(
            HistogramOpts::new(
                "weir_config_reload_duration_seconds",
                "Time to load, validate, build and apply a new pipeline.",
            )
            .buckets(vec![0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0]),
        )?;
        registry.register(Box::new(reloads.clone()))?;
        registry.register(Box::new(last_successful.clone()))?;
        registry.register(Box::new(last_timestamp.clone()))?;
        registry.register(Box::new(duration.clone()))?;
        for result in ["success", "failure"] {
            reloads.with_label_values(&[result]);
        }
        last_successful.set(1);
        Ok(Self {
            reloads,
            last_successful,
            last_timestamp,
            duration,
        })
    }

    /// Records one reload attempt.
    pub fn record(&self, success: bool, took: Duration) {
        let result = if success { "success" } else { "failure" };
        self.reloads.with_label_values(&[result]).inc();
        self.last_successful.set(i64::from(success));
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        self.last_timestamp.set(now);
        self.duration.observe(took.as_secs_f64());
    }
}

/// Watches pipeline files; yields one `()` per burst of changes.
pub struct ConfigWatcher {
    /// Kept alive for as long as the watch should last.
    _watcher: RecommendedWatcher,
    changes: mpsc::UnboundedReceiver<()>,
    debounce: Duration,
}

/// The watch could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("cannot watch {path}: {source}")]
pub struct WatchError {
    path: PathBuf,
    source: notify::Error,
}

impl ConfigWatcher {
    /// Watches the directories holding `files`, reporting changes to those files only.
    pub fn new(files: &[PathBuf], debounce: Duration) -> Result<Self, WatchError> {
        let targets: BTreeSet<PathBuf> = files.iter().map(|f| absolute(f)).collect();
        let directories: BTreeSet<PathBuf> = targets
            .iter()
            .filter_map(|f| f.parent().map(Path::to_path_buf))
            .collect();
        let (tx, changes) = mpsc::unbounded_channel();
        let watched = targets.clone();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                let Ok(event) = event else { return };
                if event.kind.is_access() {
                    return;
                }
                if event.paths.iter().any(|p| watched.contains(&absolute(p))) {
                    let _ = tx.send(());
                }
            })
            .map_err(|source| WatchError {
                path: PathBuf::new(),
                source,
            })?;
        for directory in &directories {
            watcher
                .watch(directory, RecursiveMode::NonRecursive)
                .map_err(|source| WatchError {
                    path: directory.clone(),
                    source,
                })?;
        }
        Ok(Self {
            _watcher: watcher,
            changes,
            debounce,
        })
    }

    /// Waits for the next burst of changes to end (no change for the debounce interval).
    pub async fn next_change(&mut self) -> Option<()> {
        self.changes.recv().await?;
        loop {
            match tokio::time::timeout(self.debounce, self.changes.recv()).await {
                Ok(Some(())) => continue,
                Ok(None) => return Some(()),
                Err(_) => return Some(()),
            }
        }
    }
}

/// `path` made absolute against the current directory (the file itself may be missing mid-save,
/// so this does not resolve symlinks).
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn count_bursts(watcher: &mut ConfigWatcher, within: Duration) -> usize {
        let mut bursts = 0;
        while let Ok(Some(())) = tokio::time::timeout(within, watcher.next_change()).await {
            bursts += 1;
        }
        bursts
    }

    #[tokio::test]
    async fn in_place_writes_and_rename_over_saves_are_one_change_each() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pipeline.toml");
        std::fs::write(&file, "a").unwrap();
        let mut watcher = ConfigWatcher::new(std::slice::from_ref(&file), DEBOUNCE).unwrap();

        // An in-place save: truncate and write, in a few syscalls.
        std::fs::write(&file, "b").unwrap();
        assert_eq!(count_bursts(&mut watcher, Duration::from_secs(1)).await, 1);

        // An editor-style save: write a temporary file, rename it over the original.
        let temp = dir.path().join(".pipeline.toml.swp");
        std::fs::write(&temp, "c").unwrap();
        std::fs::rename(&temp, &file).unwrap();
        assert_eq!(count_bursts(&mut watcher, Duration::from_secs(1)).await, 1);

        // Other files in the directory are not ours.
        std::fs::write(dir.path().join("other.toml"), "x").unwrap();
        assert_eq!(count_bursts(&mut watcher, Duration::from_secs(1)).await, 0);
    }
}
