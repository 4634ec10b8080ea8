//! Keeping enrichment tables current while the pipeline runs: each local file is watched (its
//! directory, as for pipeline files: a save by rename replaces the inode) and each `s3://` object
//! checked every `refresh_secs` for a new ETag; a change is read and checked completely on a
//! blocking thread and only then swapped into the table's handle, which every component holding
//! it sees from its next lookup. No component is rebuilt, nothing pauses.
//!
//! A replacement that cannot be read or does not check (a missing file, a truncated or corrupt
//! database, a bad CSV cell) keeps the table in use, logs one error and counts it in
//! `weir_enrichment_table_reload_errors_total`; the next change is tried again.
//!
//! Handles live as long as their table's name stays in the pipeline: a pipeline reload reuses
//! the handle of an unchanged table (nothing is read again) and swaps a changed definition's new
//! table into the same handle, so components left running by the reload see it too.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinHandle;
use weir_core::enrichment::{EnrichmentTables, TableHandle};
use weir_core::metrics::{Metrics, TableMetrics};
use weir_transforms::enrichment::fetch::{self, Version};
use weir_transforms::enrichment::{TableConfig, TableError, TableLocation};

use crate::config::TableProvider;
use crate::reload::{ConfigWatcher, DEBOUNCE};

/// One running table.
struct Entry {
    config: TableConfig,
    handle: TableHandle,
    watch: JoinHandle<()>,
}

/// Every running table and its watch.
pub struct TableSet {
    entries: Mutex<BTreeMap<String, Entry>>,
    /// The version each table read by [`TableProvider::provide`] was read at, until
    /// [`TableSet::adopt`] starts its watch from it (a change made between the load and the
    /// first check is then not missed).
    read_at: Mutex<BTreeMap<String, Version>>,
    metrics: Arc<Metrics>,
}

impl TableSet {
    /// No tables yet; [`Self::adopt`] takes those of the loaded pipeline.
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Self {
            entries: Mutex::new(BTreeMap::new()),
            read_at: Mutex::new(BTreeMap::new()),
            metrics,
        }
    }

    /// Takes the tables of a pipeline that was just started or reloaded: watches new and
    /// changed ones, stops watching those no longer defined.
    pub fn adopt(&self, configs: &BTreeMap<String, TableConfig>, tables: &EnrichmentTables) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let mut read_at =
            std::mem::take(&mut *self.read_at.lock().unwrap_or_else(|e| e.into_inner()));
        entries.retain(|name, entry| {
            let keep = configs.get(name) == Some(&entry.config);
            if !keep {
                entry.watch.abort();
            }
            keep
        });
        for (name, config) in configs {
            if entries.contains_key(name) {
                continue;
            }
            let Some(handle) = tables.get(name) else {
                continue;
            };
            let metrics = self.metrics.enrichment_table(name);
            metrics.mark_loaded();
            let version = read_at.remove(name);
            let watch = tokio::spawn(watch(config.clone(), handle.clone(), version, metrics));
            let entry = Entry {
                config: config.clone(),
                handle: handle.clone(),
                watch,
            };
            entries.insert(name.clone(), entry);
        }
    }
}

impl Drop for TableSet {
    fn drop(&mut self) {
        let entries = self.entries.get_mut().unwrap_or_else(|e| e.into_inner());
        for entry in entries.values() {
            entry.watch.abort();
        }
    }
}

impl TableProvider for TableSet {
    /// An unchanged table's running handle; a changed one's new table, swapped into the running
    /// handle of that name (or a new handle for a new name).
    fn provide(&self, name: &str, config: &TableConfig) -> Result<TableHandle, TableError> {
        let running = {
            let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            entries
                .get(name)
                .map(|e| (e.config == *config, e.handle.clone()))
        };
        if let Some((true, handle)) = running {
            return Ok(handle);
        }
        let (table, version) = config.load()?;
        self.read_at
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), version);
        match running {
            Some((_, handle)) => {
                handle.replace(table);
                self.metrics.enrichment_table(name).reloads.inc();
                Ok(handle)
            }
            None => Ok(TableHandle::new(name, table)),
        }
    }
}

/// Watches one table until aborted, starting from the version it was read at (if known).
async fn watch(
    config: TableConfig,
    handle: TableHandle,
    version: Option<Version>,
    metrics: TableMetrics,
) {
    match config.location() {
        Ok(TableLocation::Local(path)) => watch_file(&config, &path, &handle, &metrics).await,
        Ok(TableLocation::S3 { bucket, key }) => {
            let etag = match version {
                Some(Version::ETag(etag)) => Some(etag),
                _ => None,
            };
            let object = S3Object {
                bucket: &bucket,
                key: &key,
            };
            poll_s3(&config, object, etag, &handle, &metrics).await
        }
        Err(_) => {}
    }
}

/// Reloads a local table after each burst of changes to its file.
async fn watch_file(
    config: &TableConfig,
    path: &std::path::Path,
    handle: &TableHandle,
    metrics: &TableMetrics,
) {
    let mut watcher = match ConfigWatcher::new(&[path.to_path_buf()], DEBOUNCE) {
        Ok(w) => w,
        Err(error) => {
            tracing::error!(table = handle.name(), %error, "cannot watch the enrichment table's file: changes will not be reloaded");
            return;
        }
    };
    while watcher.next_change().await.is_some() {
        let reading = config.clone();
        let loaded = tokio::task::spawn_blocking(move || reading.load()).await;
        let result = match loaded {
            Ok(result) => result.map(|(table, _)| table),
            Err(_) => Err(TableError::Invalid("the reload panicked".into())),
        };
        swap(handle, metrics, result, &path.display().to_string());
    }
}

/// An S3 table's object.
#[derive(Clone, Copy)]
struct S3Object<'a> {
    bucket: &'a str,
    key: &'a str,
}

/// Checks an S3 table's ETag every `refresh_secs`; reads and swaps it when it changed. A version
/// that was read but did not check is not read again until the ETag changes again; a read that
/// failed (the network, a missing object) is tried again at the next check. A failure is
/// logged and counted once per episode, not once per check.
async fn poll_s3(
    config: &TableConfig,
    object: S3Object<'_>,
    read_at: Option<String>,
    handle: &TableHandle,
    metrics: &TableMetrics,
) {
    let client = fetch::s3_client(config).await;
    let location = format!("s3://{}/{}", object.bucket, object.key);
    let mut seen = read_at;
    let mut failing = false;
    let mut interval = tokio::time::interval(Duration::from_secs(config.refresh_secs.max(1)));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    interval.tick().await;
    loop {
        interval.tick().await;
        let read = match fetch::s3_etag(&client, object.bucket, object.key).await {
            Ok(etag) if seen.as_deref() == Some(etag.as_str()) => Ok(None),
            Ok(_) => fetch::read_s3(&client, object.bucket, object.key)
                .await
                .map(Some),
            Err(error) => Err(error),
        };
        match read {
            Ok(None) => failing = false,
            Ok(Some(fetched)) => {
                failing = false;
                if let Version::ETag(etag) = &fetched.version {
                    seen = Some(etag.clone());
                }
                let parsing = config.clone();
                let result = tokio::task::spawn_blocking(move || parsing.parse(fetched.bytes))
                    .await
                    .unwrap_or_else(|_| Err(TableError::Invalid("the reload panicked".into())));
                swap(handle, metrics, result, &location);
            }
            Err(error) if !failing => {
                failing = true;
                swap(handle, metrics, Err(error), &location);
            }
            Err(error) => {
                tracing::debug!(table = handle.name(), %error, "the enrichment table's object is still unreadable");
            }
        }
    }
}

/// Swaps a successfully read table in, or keeps the old one and reports why.
fn swap(
    handle: &TableHandle,
    metrics: &TableMetrics,
    result: Result<Box<dyn weir_core::enrichment::Table>, TableError>,
    location: &str,
) {
    match result {
        Ok(table) => {
            let generation = handle.replace(table);
            metrics.reloads.inc();
            metrics.mark_loaded();
            tracing::info!(
                table = handle.name(),
                location,
                generation,
                "enrichment table reloaded"
            );
        }
        Err(error) => {
            metrics.reload_errors.inc();
            tracing::error!(table = handle.name(), location, %error, "enrichment table not reloaded: the table in use stays");
        }
    }
}
