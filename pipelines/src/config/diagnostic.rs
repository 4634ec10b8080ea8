//! What loading reports: an error or warning with file, line/column (where known), component and
//! key, printed as `file:line:col: kind `id`: `key`: message`.

use std::fmt;
use std::path::PathBuf;

use weir_core::component::ComponentKind;

/// Error or warning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// The pipeline cannot run.
    Error,
    /// The pipeline runs, but this is probably a mistake.
    Warning,
}

/// One finding about a pipeline file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The file, when the finding belongs to one.
    pub file: Option<PathBuf>,
    /// 1-based line and column, where known.
    pub position: Option<(usize, usize)>,
    /// The component concerned.
    pub component: Option<(ComponentKind, String)>,
    /// The key concerned (dotted path), if any.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.severity {
            Severity::Error => f.write_str("error: ")?,
            Severity::Warning => f.write_str("warning: ")?,
        }
        if let Some(file) = &self.file {
            write!(f, "{}", file.display())?;
            if let Some((line, column)) = self.position {
                write!(f, ":{line}:{column}")?;
            }
            f.write_str(": ")?;
        }
        if let Some((kind, id)) = &self.component {
            write!(f, "{} `{id}`: ", kind.as_str())?;
        }
        if let Some(key) = self.key.as_deref().filter(|k| !k.is_empty()) {
            write!(f, "`{key}`: ")?;
        }
        f.write_str(&self.message)
    }
}
