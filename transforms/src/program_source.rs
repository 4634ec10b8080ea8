//! Where a transform's VRL program comes from (`source` or `file`), and how its compile errors
//! reach `weir validate`: the config part `remap` shares, and the compile step `remap`, `filter`
//! and `route` share, so a program is checked the same way everywhere.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use weir_core::component::{BuildError, ConfigProblem};

use crate::program::{CompileError, CompileOptions, Program};

/// A VRL program, inline or in a file (exactly one of the two).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgramSource {
    /// The program, inline (VRL; TOML's `'''` strings keep it readable).
    #[serde(default)]
    pub source: Option<String>,
    /// A file holding the program (`.vrl`), read when the pipeline is loaded; relative paths are
    /// relative to the working directory.
    #[serde(default)]
    pub file: Option<PathBuf>,
}

impl ProgramSource {
    /// The program's text, and the key it came from; a problem if neither or both are set or the
    /// file cannot be read.
    pub fn text(&self) -> Result<(String, &'static str), ConfigProblem> {
        match (&self.source, &self.file) {
            (Some(source), None) => Ok((source.clone(), "source")),
            (None, Some(path)) => std::fs::read_to_string(path)
                .map(|text| (text, "file"))
                .map_err(|e| {
                    ConfigProblem::new("file", format!("cannot read `{}`: {e}", path.display()))
                }),
            (Some(_), Some(_)) => Err(ConfigProblem::new(
                "source",
                "set `source` or `file`, not both",
            )),
            (None, None) => Err(ConfigProblem::new(
                "source",
                "a VRL program is needed: set `source` (inline) or `file`",
            )),
        }
    }
}

/// What a program is compiled as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgramKind {
    /// A `remap` program: any result.
    Remap,
    /// A condition: the result must be a boolean.
    Condition,
}

/// Compiles `text` (from config key `key`); a compile error becomes a problem of that key whose
/// message has the line, column and VRL's diagnostic.
pub fn compile(
    text: &str,
    key: &str,
    kind: ProgramKind,
    options: &CompileOptions,
) -> Result<Program, ConfigProblem> {
    let result = match kind {
        ProgramKind::Remap => Program::compile(text, options),
        ProgramKind::Condition => Program::compile_condition(text, options),
    };
    result.map_err(|e| ConfigProblem::new(key, describe(&e)))
}

/// `line L, column C: <VRL's diagnostic>` (just the diagnostic when it is not about the text).
pub fn describe(error: &CompileError) -> String {
    let diagnostic = error.diagnostic.trim_end();
    if error.line == 0 {
        format!("VRL: {diagnostic}")
    } else {
        format!(
            "VRL program, line {}, column {}:\n{diagnostic}",
            error.line, error.column
        )
    }
}

/// A config problem as a build error (building compiles again, so `weir run` fails the same way
/// `weir validate` reports).
pub fn build_error(problem: ConfigProblem) -> BuildError {
    BuildError::new(problem.key, problem.message)
}
