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
    metrics: Arc<Metrics>,
}

impl TableSet {
    /// No tables yet; [`Self::adopt`] takes those of the loaded pipeline.
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Self {
            entries: Mutex::new(BTreeMap::new()),
            metrics,
        }
    }

    /// Takes the tables of a pipeline that was just started or reloaded: watches new and
    /// changed ones, stops watching those no longer defined.
    pub fn adopt(&self, configs: &BTreeMap<String, TableConfig>, tables: &EnrichmentTables) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
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
            let watch = tokio::spawn(watch(config.clone(), handle.clone(), metrics));
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
        match running {
            Some((true, handle)) => Ok(handle),
            Some((false, handle)) => {
                let (table, _) = config.load()?;
                handle.replace(table);
                self.metrics.enrichment_table(name).reloads.inc();
                Ok(handle)
            }
            None => Ok(TableHandle::new(name, config.load()?.0)),
        }
    }
}

/// Watches one table until aborted.
async fn watch(config: TableConfig, handle: TableHandle, metrics: TableMetrics) {
    match config.location() {
        Ok(TableLocation::Local(path)) => watch_file(&config, &path, &handle, &metrics).await,
        Ok(TableLocation::S3 { bucket, key }) => {
            poll_s3(&config, &bucket, &key, &handle, &metrics).await
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

/// Checks an S3 table's ETag every `refresh_secs`; reads and swaps it when it changed. An
/// object that failed to load is not read again until its ETag changes again.
async fn poll_s3(
    config: &TableConfig,
    bucket: &str,
    key: &str,
    handle: &TableHandle,
    metrics: &TableMetrics,
) {
    let client = fetch::s3_client(config).await;
    let location = format!("s3://{bucket}/{key}");
    // The version the running table was read at is not known here (it was loaded with the
    // pipeline): the first check reads the ETag to start from.
    let mut seen = match fetch::s3_etag(&client, bucket, key).await {
        Ok(etag) => Some(etag),
        Err(error) => {
            tracing::warn!(table = handle.name(), %error, "cannot check the enrichment table's object");
            None
        }
    };
    let mut interval = tokio::time::interval(Duration::from_secs(config.refresh_secs.max(1)));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    interval.tick().await;
    loop {
        interval.tick().await;
        let etag = match fetch::s3_etag(&client, bucket, key).await {
            Ok(etag) => etag,
            Err(error) => {
                tracing::warn!(table = handle.name(), %error, "cannot check the enrichment table's object; the table in use stays");
                continue;
            }
        };
        if seen.as_deref() == Some(etag.as_str()) {
            continue;
        }
        seen = Some(etag);
        let result = match fetch::read_s3(&client, bucket, key).await {
            Ok(fetched) => {
                let parsing = config.clone();
                let Version::ETag(read) = fetched.version.clone() else {
                    continue;
                };
                seen = Some(read);
                tokio::task::spawn_blocking(move || parsing.parse(fetched.bytes))
                    .await
                    .unwrap_or_else(|_| Err(TableError::Invalid("the reload panicked".into())))
            }
            Err(e) => Err(e),
        };
        swap(handle, metrics, result, &location);
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
