//! VRL programs on Weir events: compile once, run per event.
//!
//! Why a module of its own: `remap`, `filter`, `route` and `weir vrl` all run VRL, and each must
//! behave the same — the same functions (VRL's stdlib without network calls, plus Weir's
//! [`functions`]), the same time zone rule, the same error text with a position, the same
//! treatment of a program that replaces `.` with an array (a split) or a non-object value.
//!
//! Why a target of our own (`target.rs`) instead of converting fields to a `vrl` object and back:
//! most AWS records are positional [`Record`](weir_core::fields::Record)s, and a program that
//! renames or drops a few fields must not turn 30 record slots into 30 map entries per event. The
//! target reads and writes top-level fields in place; only a program that touches `.` as a whole
//! (`. = …`, `encode_json(.)`) makes one object of the fields.
//!
//! One [`Program`] is shared by all threads (it is an `Arc`); each thread or job keeps its own
//! [`Runner`] (the variables of the run in progress).
//!
//! ## `%`: the event's metadata
//!
//! `%` paths read the event's metadata (built only if a program reads it):
//!
//! | path | value |
//! |---|---|
//! | `%source_id` | the source component's id |
//! | `%source_type` | the source's type (`file`, `aws_s3`, …) |
//! | `%ingest_timestamp` | when the source read the event (a timestamp) |
//! | `%stream` | the stream identity (a file path, `s3://bucket/key`); absent if none |
//! | `%offset` | the record's offset in that stream (an integer); absent if no stream |
//! | `%record_id` | the source's deterministic record id; absent if none |
//! | `%error` | the last error a transform let the event continue with; absent if none |
//!
//! Writes to `%` paths live only for that run: they are never written back to the event's
//! metadata (a program cannot change where an event came from or how it is acknowledged).
//!
//! Secrets (`get_secret`, `set_secret`) are kept for the run only, too.

pub mod functions;
mod target;
#[cfg(test)]
mod tests;

use std::sync::{Arc, LazyLock};

use vrl::compiler::runtime::Terminate;
use vrl::compiler::state::{ExternalEnv, RuntimeState, TypeState};
use vrl::compiler::{CompileConfig, Context, ExpressionError, Function, TimeZone};
use vrl::diagnostic::{Diagnostic, DiagnosticList, Formatter, Span};
use vrl::value::kind::Collection;
use vrl::value::{KeyString, Kind, ObjectMap, Value};
use weir_core::event::{Event, MESSAGE};
use weir_core::fields::Fields;

use target::{EventTarget, Root};

/// Options of a compilation.
#[derive(Clone, Debug, Default)]
pub struct CompileOptions {
    /// The time zone of local times without an offset (`parse_timestamp`, `get_timezone_name`,
    /// …): an IANA name such as `Europe/Paris`, or `local` for the host's. `None`: UTC. (VRL's
    /// `format_timestamp` takes a `timezone` argument of its own, default UTC.)
    pub timezone: Option<String>,
    /// The enrichment tables the program's table functions may name (`get_enrichment_table_record`,
    /// `find_enrichment_table_records`, `geoip`). `None`: not known yet (a config is checked
    /// before its tables are read): any name is accepted, and building checks it.
    pub tables: Option<weir_core::enrichment::EnrichmentTables>,
}

/// A compiled VRL program, cheap to clone and shared between threads.
#[derive(Clone, Debug)]
pub struct Program {
    inner: Arc<vrl::compiler::Program>,
    timezone: TimeZone,
    fallible: bool,
    abortable: bool,
}

/// What running a program on an event did (see [`Program::run`]).
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The event holds the program's result (an object root).
    Done,
    /// The program set `.` to an array: one event's fields per element (objects as they are; any
    /// other element value becomes `{"message": value}`). `event` keeps its metadata (its fields
    /// are left empty); the caller builds the events.
    Split(Vec<Fields>),
    /// A runtime error (message). The event's fields may be partly changed (a root that is not
    /// an object then lies under `message`): callers that need the original must clone before
    /// running when [`Program::fallible`].
    Failed(String),
    /// `abort` was called (message). The event's fields may be partly changed, as for
    /// [`Outcome::Failed`].
    Aborted(String),
}

/// A compile error: VRL's own diagnostic text (rendered with [`vrl::diagnostic::Formatter`], no
/// colour) plus the line and column (1-based) of the first error's primary label. Errors that
/// are not about the source (an unknown time zone) have line and column 0.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("{diagnostic}")]
pub struct CompileError {
    /// Line of the first error (1-based; 0 when not about the source).
    pub line: usize,
    /// Column of the first error, in characters (1-based; 0 when not about the source).
    pub column: usize,
    /// VRL's rendering of every diagnostic, with the source excerpts.
    pub diagnostic: String,
}

/// The state of runs in progress (VRL's variables). Reusable: create one per thread, batch or
/// job with `Runner::default()` and pass it to every [`Program::run`] or [`Program::check`].
///
/// It holds VRL's runtime state rather than a `vrl::compiler::runtime::Runtime`, because
/// `Runtime::resolve` first reads the whole target root (`.`) to check there is one, which would
/// copy every event's fields into one object before the program starts.
#[derive(Debug, Default)]
pub struct Runner(RuntimeState);

impl Runner {
    /// Runs `program` on `target`: the program's value, or how it ended. The variables are
    /// cleared afterwards (as Vector does), so a run never sees a previous run's.
    fn resolve(
        &mut self,
        target: &mut EventTarget<'_>,
        program: &vrl::compiler::Program,
        timezone: &TimeZone,
    ) -> Result<Value, Terminate> {
        let result = {
            let mut ctx = Context::new(target, &mut self.0, timezone);
            program.resolve(&mut ctx)
        };
        self.0.clear();
        match result {
            Ok(value) | Err(ExpressionError::Return { value, .. }) => Ok(value),
            Err(error @ ExpressionError::Abort { .. }) => Err(Terminate::Abort(error)),
            Err(error) => Err(Terminate::Error(error)),
        }
    }
}

/// VRL's stdlib (network functions left out by the crate features) plus Weir's functions.
static FUNCTIONS: LazyLock<Vec<Box<dyn Function>>> = LazyLock::new(|| {
    let mut all = vrl::stdlib::all();
    all.extend(functions::all());
    all
});

/// Every function a program may call: VRL's stdlib (without network functions) and Weir's own
/// ([`functions::all`]). For listings and docs (`weir vrl`).
pub fn all_functions() -> &'static [Box<dyn Function>] {
    &FUNCTIONS
}

impl Program {
    /// Compiles with VRL's stdlib plus Weir's functions (`functions::all()`).
    ///
    /// The program runs for its effect on the event, never for its value, so it is compiled
    /// with a `null` after its last expression: VRL resolves every expression but the last
    /// "unused", and an unused assignment moves its value into the event where the last one
    /// clones it (`. = parse_aws!(.message)` copied every parsed object: a fifth of the run).
    /// The program as written is compiled first: its diagnostics are the ones reported.
    pub fn compile(source: &str, options: &CompileOptions) -> Result<Program, CompileError> {
        let program = Self::compile_with(source, options, CompileConfig::default())?;
        let unused_result = format!("{source}\nnull");
        Ok(
            Self::compile_with(&unused_result, options, CompileConfig::default())
                .unwrap_or(program),
        )
    }

    /// Compiles a condition: like [`Self::compile`], but the program's result type must be
    /// boolean (a compile error otherwise, as Vector does), and the event is read-only (an
    /// assignment to `.` or `%` paths is a compile error).
    pub fn compile_condition(
        source: &str,
        options: &CompileOptions,
    ) -> Result<Program, CompileError> {
        let mut config = CompileConfig::default();
        config.set_read_only();
        let program = Self::compile_with(source, options, config)?;
        let result = program.inner.final_type_info().result;
        if result.kind().is_boolean() {
            return Ok(program);
        }
        let message = format!(
            "a condition must return a boolean, this program returns {}",
            result.kind()
        );
        let span = Span::new(0, source.len());
        let diagnostic =
            Diagnostic::error(0, message).with_primary("returns a non-boolean value", span);
        Err(compile_error(source, DiagnosticList::from(diagnostic)))
    }

    fn compile_with(
        source: &str,
        options: &CompileOptions,
        mut config: CompileConfig,
    ) -> Result<Program, CompileError> {
        let timezone = timezone(options.timezone.as_deref())?;
        if let Some(tables) = &options.tables {
            config.set_custom(tables.clone());
        }
        let object = Kind::object(Collection::any());
        let state = TypeState {
            local: Default::default(),
            external: ExternalEnv::new_with_kind(object.clone(), object),
        };
        let compiled = vrl::compiler::compile_with_state(source, &FUNCTIONS, &state, config)
            .map_err(|diagnostics| compile_error(source, diagnostics))?;
        let info = compiled.program.info();
        let (fallible, abortable) = (info.fallible, info.abortable);
        Ok(Program {
            inner: Arc::new(compiled.program),
            timezone,
            fallible,
            abortable,
        })
    }

    /// Whether the program can fail at runtime (it calls a fallible function with `!`).
    pub fn fallible(&self) -> bool {
        self.fallible
    }

    /// Whether the program can abort (it contains `abort`).
    pub fn abortable(&self) -> bool {
        self.abortable
    }

    /// Runs on `event` in place (the event's fields become the program's `.`; its metadata is
    /// `%`, see the [module docs](self)). A `.` set to a non-object, non-array value ends as
    /// `{"message": value}` (as Vector does for logs); a `null` root as no fields.
    pub fn run(&self, event: &mut Event, runtime: &mut Runner) -> Outcome {
        let Event { fields, metadata } = event;
        let mut target = EventTarget::new(Root::Fields(fields), metadata);
        let result = runtime.resolve(&mut target, &self.inner, &self.timezone);
        let root = target.into_owned_root();
        match result {
            Ok(_) => match root {
                None => Outcome::Done,
                Some(Value::Array(items)) => {
                    event.fields = Fields::new();
                    Outcome::Split(items.into_iter().map(fields_of).collect())
                }
                Some(value) => {
                    event.fields = fields_of(value);
                    Outcome::Done
                }
            },
            Err(end) => {
                if let Some(value) = root {
                    event.fields = fields_of(value);
                }
                match end {
                    Terminate::Abort(error) => Outcome::Aborted(error.to_string()),
                    other => Outcome::Failed(other.to_string()),
                }
            }
        }
    }

    /// Runs a condition on a read-only view of the event; `Err(message)` on a runtime error, an
    /// `abort`, or a non-boolean result.
    pub fn check(&self, event: &Event, runtime: &mut Runner) -> Result<bool, String> {
        let mut target = EventTarget::new(Root::Borrowed(&event.fields), &event.metadata);
        match runtime.resolve(&mut target, &self.inner, &self.timezone) {
            Ok(Value::Boolean(result)) => Ok(result),
            Ok(other) => Err(format!(
                "the condition returned {}, not a boolean",
                other.kind()
            )),
            Err(end) => Err(end.to_string()),
        }
    }
}

/// The time zone of `name` (see [`CompileOptions::timezone`]).
fn timezone(name: Option<&str>) -> Result<TimeZone, CompileError> {
    let Some(name) = name else {
        return Ok(TimeZone::Named(chrono_tz::UTC));
    };
    match TimeZone::parse(name) {
        Some(timezone) if !name.is_empty() => Ok(timezone),
        _ => Err(CompileError {
            line: 0,
            column: 0,
            diagnostic: format!(
                "unknown time zone `{name}` (an IANA name such as `Europe/Paris`, or `local`)"
            ),
        }),
    }
}

/// The fields an event gets from a root value: an object as it is, `null` as no fields, any
/// other value as `{"message": value}`.
fn fields_of(value: Value) -> Fields {
    match value {
        Value::Object(map) => Fields::from(map),
        Value::Null => Fields::new(),
        other => {
            let mut map = ObjectMap::new();
            map.insert(KeyString::from(MESSAGE), other);
            Fields::from(map)
        }
    }
}

/// A compile error from VRL's diagnostics, positioned at the first error's primary label.
fn compile_error(source: &str, diagnostics: DiagnosticList) -> CompileError {
    let start = diagnostics
        .errors()
        .first()
        .and_then(|d| {
            d.labels
                .iter()
                .find(|l| l.primary)
                .or_else(|| d.labels.first())
        })
        .map(|label| label.span.start());
    let (line, column) = start.map_or((0, 0), |offset| line_column(source, offset));
    let diagnostic = Formatter::new(source, diagnostics).to_string();
    CompileError {
        line,
        column,
        diagnostic: diagnostic.trim_start_matches('\n').to_string(),
    }
}

/// 1-based line and column (in characters) of byte `offset` of `source`.
fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(source.len());
    while !source.is_char_boundary(end) {
        end -= 1;
    }
    let before = source.get(..end).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}
