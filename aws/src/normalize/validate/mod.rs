//! Checks of normalized events against the schemas themselves: OCSF's compiled `schema.json`
//! and ECS's `ecs_flat.yml` (both in `shared/schemas`). The tests of this crate run every corpus
//! record through them; the `schema-validation` feature makes them public for end-to-end tests
//! of other crates (events from a whole pipeline).
//!
//! A validator returns every [`Violation`] it finds, not just the first, so one run shows all
//! that is wrong.

pub mod ecs;
pub mod ocsf;

use std::path::{Path, PathBuf};

/// One way an event breaks its schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Where: the dotted path of the attribute or field (`src_endpoint.port`, `http.version`).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl Violation {
    pub(crate) fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// A schema file that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `schema.json` is not the JSON expected.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// Why.
        source: serde_json::Error,
    },
    /// `ecs_flat.yml` is not the YAML expected.
    #[error("{path}: {source}")]
    Yaml {
        /// The file.
        path: PathBuf,
        /// Why.
        source: serde_yaml::Error,
    },
}

/// `shared/schemas`, located from this crate's manifest directory (the layout of the project's
/// checkouts: `shared/` beside the repository).
pub fn schemas_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/schemas")
}

fn read(path: &Path) -> Result<Vec<u8>, SchemaError> {
    std::fs::read(path).map_err(|source| SchemaError::Io {
        path: path.to_owned(),
        source,
    })
}

/// `path` joined with `name` by a dot (or `name` at the top).
fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

/// Whether a value is an RFC 3339 date-time.
fn is_rfc3339(text: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(text).is_ok()
}
