//! Transform `remap`: runs a VRL program on every event — rename, delete, add, redact, reshape,
//! parse with `parse_aws` — as Vector's `remap` does, with the same defaults.
//!
//! * The program is compiled once, when the component is built (and by `weir validate`, which
//!   reports compile errors with their line, column and VRL's diagnostic).
//! * `.` is the event; `%source_id`, `%source_type`, `%ingest_timestamp`, `%stream`, `%offset`,
//!   `%record_id` and `%error` are its metadata (read-only: writes last for the run).
//! * A program that sets `.` to an array emits one event per element (a CloudTrail `Records`
//!   document becomes its records), each carrying a share of the input's acknowledgement.
//! * A runtime error: with `drop_on_error = false` (default) the event goes on unmodified, the
//!   error counted (`error_type="program_failed"`) and kept in the event's metadata (`%error`);
//!   with `true` it is dropped. `abort` drops the event unless `drop_on_abort = false`. Dropped
//!   events are acknowledged as dropped — or, with `reroute_dropped`, sent to `<id>.errors` with
//!   an `error` object.
//! * The batch's programs run on any worker thread (see [`weir_core::component::Transform`]):
//!   a program has no state across events.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use weir_core::ack::EventStatus;
use weir_core::component::{
    BatchTransform, BuildContext, BuildError, ComponentSpec, ConfigProblem, ParseConfig,
    PluginCommon, Stateless, Transform, TransformConfig, TransformOutput,
};
use weir_core::enrichment::EnrichmentTables;
use weir_core::event::Event;
use weir_core::metrics::ComponentMetrics;
use weir_core::output::ERRORS;

use crate::error_object;
use crate::errors::ErrorType;
use crate::program::{CompileOptions, Outcome, Program, Runner};
use crate::program_source::{self, ProgramKind, ProgramSource};

/// Configuration of the `remap` transform.
///
/// ```toml
/// [transforms.shape]
/// type = "remap"
/// inputs = ["parsed"]
/// source = '''
/// .http_status = del(.elb_status_code)
/// del(.ssl_cipher)
/// .env = "prod"
/// '''
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RemapConfig {
    /// The program: `source` (inline) or `file` (a `.vrl` file).
    #[serde(flatten)]
    pub program: ProgramSource,
    /// Drop events the program fails on (a runtime error). Default `false`: such an event goes on
    /// unmodified, the error counted and kept in its metadata (`%error`).
    #[serde(default)]
    pub drop_on_error: bool,
    /// Drop events the program calls `abort` on. Default `true`; `false`: they go on unmodified.
    #[serde(default = "default_true")]
    pub drop_on_abort: bool,
    /// Send dropped events (errors under `drop_on_error`, aborts) to `<id>.errors` with an
    /// `error` object instead of acknowledging them as dropped.
    #[serde(default)]
    pub reroute_dropped: bool,
    /// Time zone of the program's local-time functions (`parse_timestamp`, `format_timestamp`):
    /// an IANA name (`Europe/Paris`) or `local`. Default UTC.
    #[serde(default)]
    pub timezone: Option<String>,
}

fn default_true() -> bool {
    true
}

impl RemapConfig {
    fn compile(&self, tables: Option<&EnrichmentTables>) -> Result<Program, ConfigProblem> {
        let (text, key) = self.program.text()?;
        let options = CompileOptions {
            timezone: self.timezone.clone(),
            tables: tables.cloned(),
        };
        program_source::compile(&text, key, ProgramKind::Remap, &options)
    }
}

impl PluginCommon for RemapConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        match self.compile(None) {
            Ok(_) => Vec::new(),
            Err(problem) => vec![problem],
        }
    }

    fn outputs(&self) -> Vec<String> {
        if self.reroute_dropped {
            vec![ERRORS.to_string()]
        } else {
            Vec::new()
        }
    }
}

impl TransformConfig for RemapConfig {
    fn build(&self, cx: &BuildContext) -> Result<Box<dyn Transform>, BuildError> {
        let program = self
            .compile(Some(&cx.tables))
            .map_err(program_source::build_error)?;
        Ok(Stateless::boxed(Remap {
            keep_original: program.fallible() || program.abortable(),
            program,
            drop_on_error: self.drop_on_error,
            drop_on_abort: self.drop_on_abort,
            reroute_dropped: self.reroute_dropped,
            metrics: cx.metrics.clone(),
        }))
    }
}

/// The running transform (see [`Stateless`]).
pub struct Remap {
    program: Program,
    /// Whether a run can end early, leaving the fields half-changed: then the event is copied
    /// first, so it can go on unmodified.
    keep_original: bool,
    drop_on_error: bool,
    drop_on_abort: bool,
    reroute_dropped: bool,
    metrics: ComponentMetrics,
}

impl BatchTransform for Remap {
    fn run_batch(&self, events: Vec<Event>, out: &mut TransformOutput) {
        let mut runner = Runner::default();
        out.primary.reserve(events.len());
        for mut event in events {
            // The fields alone: a copy of the event would hold a second share of its
            // acknowledgement.
            let original = self.keep_original.then(|| event.fields.clone());
            match self.program.run(&mut event, &mut runner) {
                Outcome::Done => out.primary.push(event),
                Outcome::Split(records) => split(event, records, out),
                Outcome::Failed(message) => {
                    self.metrics.error(ErrorType::ProgramFailed.as_str(), 1);
                    restore(&mut event, original);
                    if self.drop_on_error {
                        self.drop(event, ErrorType::ProgramFailed, message, out);
                    } else {
                        event.metadata.error = Some(Arc::from(message));
                        out.primary.push(event);
                    }
                }
                Outcome::Aborted(message) => {
                    self.metrics.error(ErrorType::ProgramAborted.as_str(), 1);
                    restore(&mut event, original);
                    if self.drop_on_abort {
                        self.drop(event, ErrorType::ProgramAborted, message, out);
                    } else {
                        out.primary.push(event);
                    }
                }
            }
        }
    }
}

impl Remap {
    fn drop(&self, mut event: Event, kind: ErrorType, message: String, out: &mut TransformOutput) {
        if self.reroute_dropped {
            let component = self.metrics.component_id();
            error_object::attach(&mut event, component, kind, message, []);
            out.push_named(ERRORS, event);
        } else {
            self.metrics.discarded.inc();
            event.finalize(EventStatus::Dropped);
        }
    }
}

/// Puts back the fields an unfinished run may have half changed.
fn restore(event: &mut Event, original: Option<weir_core::fields::Fields>) {
    if let Some(fields) = original {
        event.fields = fields;
    }
}

/// One event per element of the array the program set `.` to; every one but the last carries a
/// copy of the metadata (its own share of the acknowledgement). None: the event is consumed.
fn split(event: Event, records: Vec<weir_core::fields::Fields>, out: &mut TransformOutput) {
    let Some(last) = records.len().checked_sub(1) else {
        event.finalize(EventStatus::Dropped);
        return;
    };
    let mut metadata = Some(event.metadata);
    for (i, fields) in records.into_iter().enumerate() {
        let meta = if i == last {
            metadata.take()
        } else {
            metadata.clone()
        };
        if let Some(meta) = meta {
            out.primary.push(Event::new(fields, meta));
        }
    }
}

/// The transform's registration.
pub const SPEC: ComponentSpec = ComponentSpec {
    type_name: "remap",
    description: "Change events with a VRL program (rename, delete, add, redact; `parse_aws`); an array result splits the event.",
    parse: ParseConfig::Transform(weir_core::component::parse_transform::<RemapConfig>),
    schema: weir_core::component::schema_of::<RemapConfig>,
};

#[cfg(test)]
mod tests;
