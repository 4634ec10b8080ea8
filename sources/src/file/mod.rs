//! Source `file`: tails files matched by globs, line by line or record by record, and checkpoints
//! only what was delivered.
//!
//! * Files are found with `include`/`exclude` globs, rescanned every `glob_interval_ms`.
//! * A file is identified by device, inode and a hash of its first line (see [`checkpoint`]): a
//!   rotated file (renamed, then a new file created at the path) is read to its end under its new
//!   name while the new file is read from its beginning; a truncated file starts over at offset 0.
//! * Compressed files (gzip or zstd: by the name's extension, `.gz` `.gzip` `.zst` `.zstd`, else
//!   by the magic bytes) are decompressed and read once, whole, up to `max_decompressed_bytes`. A
//!   file that breaks off (truncated, corrupt, over the cap) has its complete lines before the
//!   break delivered and the break reported on `<id>.errors` (file, decompressed offset).
//! * A line that is not valid UTF-8 goes to `<id>.errors` with its exact bytes (base64), or with
//!   `invalid_utf8 = "replace"` is delivered with U+FFFD; counted either way.
//! * `framing` cuts a file into lines, or into the elements of `{"Records":[...]}` documents
//!   (CloudTrail log files) streamed one element at a time, never holding a whole document; `auto`
//!   decides per file from its first non-whitespace byte (see [`Framing`]).
//! * Lines longer than `max_line_bytes` (records larger, under records framing) are reported
//!   (error metric, log, and an event on the `<id>.errors` output) and skipped — never cut
//!   silently, never a crash.
//! * Each read chunk is one acknowledgement batch. The checkpoint of a file advances only over
//!   batches that were delivered, in file order ([`weir_core::ack::OrderedCheckpoints`]), and is
//!   written under `data_dir` every 250 ms and at shutdown. Inside a records document the
//!   checkpoint is the document's first byte plus the number of its records already delivered: a
//!   restart reads the document again from its start and skips those.

pub mod checkpoint;
mod reader;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use weir_core::component::PluginCommon;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use weir_core::component::{
    BuildContext, BuildError, ComponentError, ConfigProblem, Source, SourceConfig, SourceContext,
};
use weir_core::output::ERRORS;

pub use crate::framing::Framing;
pub use crate::utf8::InvalidUtf8;
pub use weir_core::source_kit::OnRejected;

/// Where to start reading a file that has no checkpoint when Weir starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReadFrom {
    /// From the first byte (default).
    #[default]
    Beginning,
    /// From the current end: only lines written from now on.
    End,
}

/// Configuration of the `file` source.
///
/// ```toml
/// [sources.app]
/// type = "file"
/// include = ["/var/log/app/*.log", "/var/log/app/*.log.gz"]
/// exclude = ["/var/log/app/debug.log"]
/// read_from = "beginning"
/// framing = "auto"
/// ```
///
/// Each event has the fields `message` (the line, without its newline, or the record's raw JSON),
/// `file` (the path it was read from) and `timestamp` (when it was read); its stream identity is
/// the path and its offset the byte offset of the line's or record's first byte (in the
/// decompressed stream for compressed files).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileSourceConfig {
    /// Glob patterns of files to read (required, at least one).
    #[schemars(length(min = 1), example = INCLUDE_EXAMPLE)]
    pub include: Vec<String>,
    /// Glob patterns of files to skip even though `include` matches them. Default: none.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// `beginning` (default) or `end`, for files without a checkpoint present at startup. Files that
    /// appear later are always read from their beginning.
    #[serde(default)]
    pub read_from: ReadFrom,
    /// `auto` (default), `newline` or `json_records`: how files are cut into events (see
    /// [`Framing`]). `auto` looks at each file's first non-whitespace byte: `{` or `[` →
    /// `json_records` (one event per element of `{"Records":[...]}` documents, falling back to
    /// lines for files that turn out not to be records documents), anything else → `newline`.
    #[serde(default)]
    pub framing: Framing,
    /// Longest accepted line in bytes — and, under records framing, largest
    /// accepted record. Longer ones are errors, not cut.
    #[serde(default = "default_max_line_bytes")]
    #[schemars(range(min = MAX_LINE_BYTES_MIN))]
    pub max_line_bytes: usize,
    /// Most decompressed bytes read from one compressed file: a decompression bomb stops there,
    /// reported as `decompressed_too_large` after the lines before it.
    #[serde(default = "default_max_decompressed_bytes")]
    #[schemars(range(min = MAX_DECOMPRESSED_BYTES_MIN))]
    pub max_decompressed_bytes: u64,
    /// `error` (default) or `replace`: a line that is not valid UTF-8 goes to `<id>.errors` with
    /// its exact bytes in `message_base64`, or is delivered with U+FFFD in place of the invalid
    /// bytes (see [`InvalidUtf8`]). Counted either way.
    #[serde(default)]
    pub invalid_utf8: InvalidUtf8,
    /// How often to look for new, rotated or removed files, in milliseconds.
    #[serde(default = "default_glob_interval_ms")]
    #[schemars(range(min = GLOB_INTERVAL_MS_MIN))]
    pub glob_interval_ms: u64,
    /// Start from scratch, ignoring saved checkpoints. New checkpoints are still
    /// written.
    #[serde(default)]
    pub ignore_checkpoints: bool,
    /// What a batch a sink rejected for good does to the file's checkpoint (see
    /// [`OnRejected`]): `retry` (default) does not advance past it, so after a restart its lines
    /// are read and offered again; `skip` advances past it: the rejected lines are given up
    /// (counted, and dead-lettered by the sink if it has a dead-letter output). The deprecated
    /// `hold` means `retry`.
    #[serde(default)]
    pub on_rejected: OnRejected,
}

const INCLUDE_EXAMPLE: &[&str] = &["/var/log/*.log"];

/// The smallest `max_line_bytes`, checked by `validate` and stated in the schema.
const MAX_LINE_BYTES_MIN: usize = 1;
/// The smallest `max_decompressed_bytes`, checked by `validate` and stated in the schema.
const MAX_DECOMPRESSED_BYTES_MIN: u64 = 1;
/// The smallest `glob_interval_ms`, checked by `validate` and stated in the schema.
const GLOB_INTERVAL_MS_MIN: u64 = 1;

fn default_max_line_bytes() -> usize {
    1024 * 1024
}

fn default_max_decompressed_bytes() -> u64 {
    crate::decompress::DEFAULT_MAX_DECOMPRESSED_BYTES
}

fn default_glob_interval_ms() -> u64 {
    1000
}

impl PluginCommon for FileSourceConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.include.is_empty() {
            problems.push(ConfigProblem::new(
                "include",
                "at least one glob pattern is required",
            ));
        }
        for (key, patterns) in [("include", &self.include), ("exclude", &self.exclude)] {
            for pattern in patterns {
                if let Err(e) = glob::Pattern::new(pattern) {
                    problems.push(ConfigProblem::new(
                        key,
                        format!("invalid glob `{pattern}`: {e}"),
                    ));
                }
            }
        }
        if self.max_line_bytes < MAX_LINE_BYTES_MIN {
            problems.push(ConfigProblem::new(
                "max_line_bytes",
                format!("must be greater than {}", MAX_LINE_BYTES_MIN - 1),
            ));
        }
        if self.max_decompressed_bytes < MAX_DECOMPRESSED_BYTES_MIN {
            problems.push(ConfigProblem::new(
                "max_decompressed_bytes",
                format!("must be greater than {}", MAX_DECOMPRESSED_BYTES_MIN - 1),
            ));
        }
        if self.glob_interval_ms < GLOB_INTERVAL_MS_MIN {
            problems.push(ConfigProblem::new(
                "glob_interval_ms",
                format!("must be greater than {}", GLOB_INTERVAL_MS_MIN - 1),
            ));
        }
        problems
    }
    fn outputs(&self) -> Vec<String> {
        vec![ERRORS.to_string()]
    }
}

impl SourceConfig for FileSourceConfig {
    fn build(&self, cx: &BuildContext) -> Result<Box<dyn Source>, BuildError> {
        let exclude = self
            .exclude
            .iter()
            .map(|p| glob::Pattern::new(p).map_err(|e| BuildError::new("exclude", e.to_string())))
            .collect::<Result<_, _>>()?;
        Ok(Box::new(FileSource {
            config: self.clone(),
            exclude,
            checkpoint_dir: cx.data_dir.join(&*cx.id),
        }))
    }
}

/// The running `file` source.
struct FileSource {
    config: FileSourceConfig,
    exclude: Vec<glob::Pattern>,
    checkpoint_dir: PathBuf,
}

#[async_trait]
impl Source for FileSource {
    async fn run(self: Box<Self>, cx: SourceContext) -> Result<(), ComponentError> {
        reader::run(*self, cx).await
    }
}

/// The source's registration.
pub const SPEC: weir_core::component::ComponentSpec = weir_core::component::ComponentSpec {
    type_name: "file",
    description:
        "Tail files matched by globs (rotation, truncation, gzip and zstd), checkpointed after delivery.",
    parse: weir_core::component::ParseConfig::Source(
        weir_core::component::parse_source::<FileSourceConfig>,
    ),
    schema: weir_core::component::schema_of::<FileSourceConfig>,
};
