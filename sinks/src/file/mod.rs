//! The `file` sink: writes events to files whose names come from a template.
//!
//! Every round the sink takes a batch from its input plus whatever else is already queued (up to a
//! limit), groups the events by rendered path, encodes each group into one buffer and writes each
//! buffer with one write call; the events are acknowledged as delivered once their file is synced
//! to disk (see [`sync`]). Rendered paths are confined to the template's root directory (see
//! [`FileSinkConfig::path`]); full files are renamed aside (see [`rotation`]).

mod path;
mod rotation;
mod round;
mod sync;
mod writer;

#[cfg(test)]
mod tests;

use std::time::Duration;
use weir_core::component::PluginCommon;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::time::MissedTickBehavior;
use weir_core::component::{
    BuildContext, BuildError, ComponentError, ConfigProblem, Sink, SinkConfig, SinkContext,
    SinkInput,
};
use weir_core::template::Template;
use weir_core::Event;

use crate::encoding::Encoding;
use path::PathTemplate;
pub use path::PathViolation;
use round::Round;
use writer::{Writer, WriterSettings, SWEEP_PERIOD};

/// A round (one write call per path) takes queued batches until it holds this many events...
const MAX_ROUND_EVENTS: usize = 2_048;
/// ... or this many bytes (estimated event size).
const MAX_ROUND_BYTES: u64 = 2 * 1024 * 1024;

/// Writes events to local files, one line per event.
///
/// ```toml
/// [sinks.archive]
/// type = "file"
/// inputs = ["app"]
/// path = "./weir-out/%Y-%m-%d/{{ source_type }}.ndjson"
/// encoding = "ndjson"
/// compression = "none"
/// idle_timeout_secs = 30
/// fsync_interval_ms = 20
/// max_file_bytes = 1073741824
/// ```
///
/// Events are acknowledged as delivered only once their bytes are on disk: written, then synced
/// (`fdatasync`, on a thread of its own so writing goes on meanwhile; a new file's directory is
/// synced too). An acknowledgement can delete an SQS message or advance a checkpoint, so a power
/// loss right after it must not lose the data. A failed sync ends the events `Errored`: the source
/// keeps them. Files are opened in append mode and their directories are created as needed.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileSinkConfig {
    /// Where to write (required). A template: strftime specifiers are rendered on the event's
    /// timestamp (UTC) and `{{ field.path }}` parts from the event's fields (`source_type` and
    /// `source_id` fall back to the event's metadata).
    ///
    /// Rendered paths are confined to the *root*: the directory part of the text before the first
    /// `%` or `{{` (`./weir-out` in the example; the file's own directory for a path without
    /// specifiers; the current directory when the template starts with a specifier). Field values
    /// may contain `/` to create subdirectories below the root, but an event whose path would have a
    /// `..` component or an absolute part below the root, or a NUL byte, is rejected (and counted as
    /// `path_outside_root` errors).
    #[schemars(
        length(min = 1),
        example = "./weir-out/%Y-%m-%d/{{ source_type }}.ndjson"
    )]
    pub path: String,
    /// How each event is written: `"ndjson"` (default: the event's fields as one JSON object per
    /// line) or `"text"` (the raw `message` field, one per line; events without a string `message`
    /// are rejected).
    #[serde(default)]
    #[schemars(example = Encoding::Text)]
    pub encoding: Encoding,
    /// `"none"` (default) or `"gzip"`. With gzip each round ends with a sync flush, so everything
    /// acknowledged can be decoded even before the stream is finished; the stream is finished when
    /// the file is closed (idle or shutdown). Reopening an existing file appends a new gzip member.
    #[serde(default)]
    #[schemars(example = Compression::Gzip)]
    pub compression: Compression,
    /// Close files that have not been written for this many seconds.
    #[serde(default = "default_idle_timeout_secs")]
    #[schemars(range(min = IDLE_TIMEOUT_SECS_MIN), example = 300)]
    pub idle_timeout_secs: u64,
    /// Syncs start at most this often, in milliseconds; the events written meanwhile wait for the
    /// next one (an event's acknowledgement waits at most about this long plus the sync). `0`
    /// syncs as soon as the previous sync is done. Writes are never held up by syncing.
    #[serde(default = "default_fsync_interval_ms")]
    #[schemars(example = 100)]
    pub fsync_interval_ms: u64,
    /// Rotate a file once it holds at least this many bytes (compressed bytes for gzip): it is
    /// closed and renamed with a number before its extensions (`app.ndjson` → `app.1.ndjson`,
    /// `app.2.ndjson`, ...: the first number not taken, counting up in the order files filled) and
    /// the next event for the path starts a new file. A file may pass the size by one round's
    /// write (at most 2 MiB before compression). Default: no rotation by size.
    #[serde(default)]
    #[schemars(range(min = MAX_FILE_BYTES_MIN), example = 1_073_741_824)]
    pub max_file_bytes: Option<u64>,
}

/// The smallest `max_file_bytes`, checked by `validate` and stated in the schema.
const MAX_FILE_BYTES_MIN: u64 = 1;

fn default_fsync_interval_ms() -> u64 {
    20
}

/// The smallest `idle_timeout_secs`, checked by `validate` and stated in the schema.
const IDLE_TIMEOUT_SECS_MIN: u64 = 1;

/// Compression of the files written by the file sink.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "FileCompression")]
pub enum Compression {
    /// Plain files (the default).
    #[default]
    None,
    /// gzip (default compression level).
    Gzip,
}

fn default_idle_timeout_secs() -> u64 {
    30
}

impl PluginCommon for FileSinkConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.path.is_empty() {
            problems.push(ConfigProblem::new("path", "must not be empty"));
        } else if self.path.contains('\0') {
            problems.push(ConfigProblem::new("path", "must not contain a NUL byte"));
        } else {
            match Template::parse(&self.path) {
                Err(error) => problems.push(ConfigProblem::new(
                    "path",
                    format!("invalid template: {error}"),
                )),
                Ok(template)
                    if !template.is_dynamic()
                        && (self.path.ends_with('/') || self.path.ends_with("/.")) =>
                {
                    problems.push(ConfigProblem::new(
                        "path",
                        "names a directory; it must name a file",
                    ));
                }
                Ok(_) => {}
            }
        }
        if self.max_file_bytes.is_some_and(|m| m < MAX_FILE_BYTES_MIN) {
            problems.push(ConfigProblem::new(
                "max_file_bytes",
                format!("must be at least {MAX_FILE_BYTES_MIN}"),
            ));
        }
        if self.idle_timeout_secs < IDLE_TIMEOUT_SECS_MIN {
            problems.push(ConfigProblem::new(
                "idle_timeout_secs",
                format!("must be at least {IDLE_TIMEOUT_SECS_MIN}"),
            ));
        }
        problems
    }
}

impl SinkConfig for FileSinkConfig {
    fn build(&self, _cx: &BuildContext) -> Result<Box<dyn Sink>, BuildError> {
        if let Some(problem) = self.validate().into_iter().next() {
            return Err(BuildError::new(problem.key, problem.message));
        }
        let template = Template::parse(&self.path)
            .map_err(|error| BuildError::new("path", format!("invalid template: {error}")))?;
        Ok(Box::new(FileSink {
            paths: PathTemplate::new(template),
            encoding: self.encoding,
            settings: WriterSettings {
                compression: self.compression,
                idle_timeout: Duration::from_secs(self.idle_timeout_secs),
                fsync_interval: Duration::from_millis(self.fsync_interval_ms),
                max_file_bytes: self.max_file_bytes,
            },
        }))
    }
}

/// The running file sink.
struct FileSink {
    paths: PathTemplate,
    encoding: Encoding,
    settings: WriterSettings,
}

/// Runs `f` on the blocking pool.
async fn blocking<T, F>(f: F) -> Result<T, ComponentError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|error| ComponentError(format!("file sink writer task failed: {error}")))
}

/// The writer, idle or busy writing a round on the blocking pool (it hands itself and the round
/// back when done).
enum WriterState {
    Idle(Box<Writer>),
    Writing(tokio::task::JoinHandle<(Box<Writer>, Box<Round>)>),
}

impl WriterState {
    /// Waits for the write in progress, if any; returns the idle writer and the written round.
    async fn idle(self) -> Result<(Box<Writer>, Option<Box<Round>>), ComponentError> {
        match self {
            WriterState::Idle(writer) => Ok((writer, None)),
            WriterState::Writing(handle) => {
                let (writer, round) = handle.await.map_err(|error| {
                    ComponentError(format!("file sink writer task failed: {error}"))
                })?;
                Ok((writer, Some(round)))
            }
        }
    }
}

#[async_trait]
impl Sink for FileSink {
    /// Two rounds alternate: while one is written on the blocking pool, the next is gathered and
    /// encoded here, so encoding and writing overlap; writes still happen one at a time, in order.
    async fn run(
        self: Box<Self>,
        mut input: SinkInput,
        cx: SinkContext,
    ) -> Result<(), ComponentError> {
        let FileSink {
            paths,
            encoding,
            settings,
        } = *self;
        let idle_timeout = settings.idle_timeout;
        tracing::debug!(
            component = %cx.id,
            path = paths.as_str(),
            root = %paths.root().display(),
            "file sink started"
        );
        let new_round = || Box::new(Round::new(paths.clone(), encoding, cx.metrics.clone()));
        let mut spare = Some(new_round());
        let mut state = WriterState::Idle(Box::new(Writer::new(settings, cx.metrics.clone())));
        let mut batches: Vec<Vec<Event>> = Vec::new();
        let sweep_period = SWEEP_PERIOD.min(idle_timeout);
        let mut sweep =
            tokio::time::interval_at(tokio::time::Instant::now() + sweep_period, sweep_period);
        sweep.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            let first = tokio::select! {
                biased;
                batch = input.next_batch() => batch,
                _ = sweep.tick() => {
                    // A write still in progress is waited for: the sink is idle between batches.
                    let (writer, written) = state.idle().await?;
                    spare = spare.or(written);
                    state = WriterState::Idle(if writer.has_open_files() {
                        blocking(move || {
                            let mut writer = writer;
                            writer.close_idle();
                            writer
                        })
                        .await?
                    } else {
                        writer
                    });
                    continue;
                }
            };
            let Some(first) = first else { break };
            input.gather_round(first, MAX_ROUND_EVENTS, MAX_ROUND_BYTES, &mut batches);
            let mut round = spare.take().unwrap_or_else(new_round);
            round.encode(&mut batches);
            let (mut writer, written) = state.idle().await?;
            spare = written;
            state = WriterState::Writing(tokio::task::spawn_blocking(move || {
                writer.write(&mut round);
                (writer, round)
            }));
        }
        let (mut writer, _) = state.idle().await?;
        blocking(move || writer.close_all()).await?;
        tracing::debug!(component = %cx.id, "file sink finished");
        Ok(())
    }
}
