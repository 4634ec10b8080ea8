//! Dead letters of the sinks that deliver to a remote server and may refuse events for good
//! (`kafka`, `elasticsearch`): the [`Rejection`] a sink collects for a refused event, the
//! dead-letter event made of it, and [`DeadLetters`], which hands them to the `dead_letter` output
//! or, when nothing consumes that, keeps them in [files](files) under
//! `<data_dir>/dead_letter/<sink id>/` (unless the sink's [`DeadLetterConfig::discard`] says
//! otherwise). Either way nothing the destination refuses is gone without a trace.

pub mod files;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use prometheus::{IntCounter, IntCounterVec, IntGauge, IntGaugeVec};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use weir_core::ack::EventStatus;
use weir_core::component::{BuildContext, BuildError};
use weir_core::metrics::{ComponentMetrics, PluginFamilies};
use weir_core::output::Outputs;
use weir_core::{Event, KeyString, ObjectMap, Value};

use crate::errors::ErrorType;
use files::DeadLetterFiles;
use weir_core::throttle::LogThrottle;

/// The name of the dead-letter output of the delivering sinks (core's [`weir_core::output::DEAD_LETTER`]).
pub use weir_core::output::DEAD_LETTER;

/// Where a delivering sink keeps the events its destination rejects for good when nothing
/// consumes its `<id>.dead_letter` output.
///
/// ```toml
/// dead_letter = { max_bytes = 1073741824 }   # the default: kept in files, at most 1 GiB
/// dead_letter = { discard = true }           # only logged and counted
/// ```
///
/// Each rejected event is appended as one NDJSON line — `event` (the original fields), `reason`
/// (the server's), `sink` (the sink's id), `timestamp` (when it was rejected) — to files of at
/// most 64 MiB under `<data_dir>/dead_letter/<sink id>/`, and fsynced before the source hears of
/// it (an SQS message is deleted, a checkpoint advanced only then). Past `max_bytes` (all files of
/// the directory, earlier runs' included; delete files to make room) rejected events are
/// discarded with a warning and counted as `dead_letter_full` errors; events that cannot be
/// written end `Errored` (the source keeps them) and count as `dead_letter_write_failed`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct DeadLetterConfig {
    /// Discard rejected events nothing consumes instead of keeping them (they are still logged,
    /// and counted as `weir_component_discarded_events_total`). Kept (the default), each is one
    /// NDJSON line — `event` (the original fields), `reason` (the server's), `sink`, `timestamp`
    /// — in files of at most 64 MiB, written and fsynced before the source is acknowledged (an
    /// SQS message deleted, a checkpoint advanced); `weir validate` names the directory.
    pub discard: bool,
    /// Most bytes the sink's dead-letter files may hold together, earlier runs' files included
    /// (delete files to make room). Past it rejected events are discarded with a warning and
    /// counted as `dead_letter_full` errors; events that cannot be written end `Errored` (the
    /// source keeps them) and count as `dead_letter_write_failed`.
    #[schemars(range(min = 1))]
    pub max_bytes: u64,
}

impl Default for DeadLetterConfig {
    fn default() -> Self {
        Self {
            discard: false,
            max_bytes: 1024 * 1024 * 1024,
        }
    }
}

impl DeadLetterConfig {
    /// The directory of sink `id`'s dead-letter files.
    pub fn dir(data_dir: &Path, id: &str) -> PathBuf {
        data_dir.join("dead_letter").join(id)
    }

    /// What happens to rejected events when nothing consumes `<id>.dead_letter`, in words, for
    /// `weir validate`.
    pub fn fate(&self, data_dir: &Path, id: &str) -> String {
        if self.discard {
            return "events the destination rejects for good are discarded \
                    (`dead_letter.discard = true`)"
                .into();
        }
        format!(
            "events the destination rejects for good are kept in `{}` (at most {} bytes; wire \
             `{id}.{DEAD_LETTER}` to send them elsewhere)",
            Self::dir(data_dir, id).display(),
            self.max_bytes
        )
    }

    /// The sink's handling of its rejections, built with the sink.
    pub fn build(&self, cx: &BuildContext) -> Result<DeadLetters, BuildError> {
        let files = (!self.discard).then(|| {
            let dir = Self::dir(&cx.data_dir, &cx.id);
            Arc::new(Mutex::new(DeadLetterFiles::new(dir, self.max_bytes)))
        });
        let families = families(&cx.metrics)
            .map_err(|e| BuildError::new("", format!("cannot register metrics: {e}")))?;
        let labels = cx.metrics.label_values();
        Ok(DeadLetters {
            sink: Arc::clone(&cx.id),
            throttle: LogThrottle::default(),
            full_throttle: LogThrottle::default(),
            files,
            metrics: cx.metrics.clone(),
            kept: families.kept.with_label_values(&labels),
            bytes: families.bytes.with_label_values(&labels),
        })
    }
}

/// The dead-letter families, shared by every delivering sink.
#[derive(Clone)]
struct Families {
    kept: IntCounterVec,
    bytes: IntGaugeVec,
}

fn families(metrics: &ComponentMetrics) -> prometheus::Result<Families> {
    metrics.plugin_families(|registry| {
        let f = PluginFamilies::new(registry);
        Ok(Families {
            kept: f.counter(
                "weir_dead_letter_kept_events_total",
                "Rejected events written to the sink's dead-letter files.",
                &[],
            )?,
            bytes: f.gauge(
                "weir_dead_letter_bytes",
                "Bytes in the sink's dead-letter files.",
                &[],
            )?,
        })
    })
}

/// The dead-letter event for a rejected event: `event` (the original fields), `reason`, `sink`
/// (the sink's id), `timestamp` (when it was rejected), plus the original metadata, so whatever
/// writes the dead letter acknowledges the original batch.
pub fn dead_letter_event(event: Event, reason: &str, sink: &str) -> Event {
    let Event { fields, metadata } = event;
    let mut out = ObjectMap::new();
    out.insert(KeyString::from("event"), Value::Object(fields.into_map()));
    out.insert(KeyString::from("reason"), Value::from(reason));
    out.insert(KeyString::from("sink"), Value::from(sink));
    out.insert(
        KeyString::from("timestamp"),
        Value::Timestamp(chrono::Utc::now()),
    );
    Event::new(out, metadata)
}

/// Rejected events waiting to be handed to the dead-letter output.
pub struct Rejection {
    /// The event as the sink received it.
    pub event: Event,
    /// Why the server (or the sink) refused it.
    pub reason: String,
}

/// Hands rejected events to the `dead_letter` output, or keeps them in the sink's files (or
/// discards them, if so configured) when nothing consumes it. The sink's own copy is finalized
/// as `Rejected` once the dead letter is in place.
pub struct DeadLetters {
    sink: Arc<str>,
    throttle: LogThrottle,
    full_throttle: LogThrottle,
    /// `None`: `dead_letter.discard = true`.
    files: Option<Arc<Mutex<DeadLetterFiles>>>,
    metrics: ComponentMetrics,
    /// `weir_dead_letter_kept_events_total`.
    kept: IntCounter,
    /// `weir_dead_letter_bytes`.
    bytes: IntGauge,
}

impl DeadLetters {
    /// Sends `rejected` on (or keeps them), finalizing each original copy.
    pub async fn send(&mut self, out: &mut Outputs, rejected: Vec<Rejection>) {
        if rejected.is_empty() {
            return;
        }
        let n = rejected.len() as u64;
        self.metrics.error(ErrorType::Rejected.as_str(), n);
        let consumed = out.named_has_consumers(DEAD_LETTER);
        if let Some(suppressed) = self.throttle.check() {
            let first = &rejected[0].reason;
            tracing::warn!(
                component = %self.sink,
                events = n,
                suppressed,
                reason = %first,
                dead_letter = consumed,
                "events rejected by the server"
            );
        }
        if consumed {
            let mut letters = Vec::with_capacity(rejected.len());
            for Rejection { event, reason } in rejected {
                // The sink's copy ends Rejected; the dead letter carries the batch on until it is
                // written, so the source hears about the batch only after that.
                let mut own = event.metadata.finalizers.clone();
                own.finalize(EventStatus::Rejected);
                letters.push(dead_letter_event(event, &reason, &self.sink));
            }
            out.send_named(DEAD_LETTER, letters).await;
            return;
        }
        match self.files.clone() {
            Some(files) => self.keep(files, rejected).await,
            None => {
                self.metrics.discarded.inc_by(n);
                for Rejection { mut event, .. } in rejected {
                    event.metadata.finalizers.finalize(EventStatus::Rejected);
                }
            }
        }
    }

    /// Writes the dead letters to the files, then finalizes them: kept (or discarded for lack of
    /// room, warned and counted) → `Rejected`; not written → `Errored`, so the source keeps them.
    async fn keep(&mut self, files: Arc<Mutex<DeadLetterFiles>>, rejected: Vec<Rejection>) {
        let mut finalizers = Vec::with_capacity(rejected.len());
        let mut lines = Vec::with_capacity(rejected.len());
        for Rejection { mut event, reason } in rejected {
            finalizers.push(std::mem::take(&mut event.metadata.finalizers));
            let letter = dead_letter_event(event, &reason, &self.sink);
            let mut line = Vec::new();
            weir_core::json::write_fields(&letter.fields, &mut line);
            line.push(b'\n');
            lines.push(line);
        }
        let dir = {
            let files = files.lock().unwrap_or_else(|e| e.into_inner());
            files.dir().to_path_buf()
        };
        let kept = tokio::task::spawn_blocking(move || {
            files.lock().unwrap_or_else(|e| e.into_inner()).keep(&lines)
        })
        .await
        .map_err(|e| e.to_string())
        .and_then(|kept| kept.map_err(|e| e.to_string()));
        let total = finalizers.len();
        let status = match kept {
            Ok(kept) => {
                self.kept.inc_by(kept.written as u64);
                self.bytes
                    .set(i64::try_from(kept.bytes).unwrap_or(i64::MAX));
                let full = total - kept.written;
                if full > 0 {
                    self.metrics
                        .error(ErrorType::DeadLetterFull.as_str(), full as u64);
                    if let Some(suppressed) = self.full_throttle.check() {
                        tracing::warn!(
                            component = %self.sink,
                            events = full,
                            suppressed,
                            dir = %dir.display(),
                            "dead-letter files are full (dead_letter.max_bytes): rejected events discarded"
                        );
                    }
                }
                EventStatus::Rejected
            }
            Err(error) => {
                self.metrics
                    .error(ErrorType::DeadLetterWriteFailed.as_str(), total as u64);
                tracing::error!(
                    component = %self.sink,
                    events = total,
                    %error,
                    dir = %dir.display(),
                    "cannot write dead letters; the rejected events are not acknowledged"
                );
                EventStatus::Errored
            }
        };
        for mut finalizer in finalizers {
            finalizer.finalize(status);
        }
    }
}
