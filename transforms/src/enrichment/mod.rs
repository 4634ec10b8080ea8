//! Enrichment tables: the kinds there are (`mmdb`, `csv`), their config (`enrichment_tables.
//! <name>` of a pipeline file), and reading one from a local file or an S3 object.
//!
//! The interface components use (a [`Table`](weir_core::enrichment::Table) behind a
//! [`TableHandle`](weir_core::enrichment::TableHandle)) is in `weir-core`; watching files and
//! objects for changes and swapping tables in is the binary's job (`weir`'s `tables` module),
//! which uses [`TableConfig::load`] for every (re)load: one path from bytes to a checked table.
//!
//! ```toml
//! [enrichment_tables.geo]
//! type = "mmdb"
//! path = "/var/lib/GeoIP/GeoLite2-City.mmdb"
//!
//! [enrichment_tables.accounts]
//! type = "csv"
//! path = "s3://my-config-bucket/weir/accounts.csv"
//! refresh_secs = 300
//! schema = { id = "string", created = "timestamp" }
//! ```

pub mod csv_table;
pub mod fetch;
pub mod mmdb;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use weir_aws::client::AwsAuth;
use weir_core::component::ConfigProblem;
use weir_core::enrichment::Table;

pub use csv_table::CsvTable;
pub use mmdb::MmdbTable;

/// A table could not be read or is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    /// The file or object could not be read.
    #[error("cannot read {location}: {message}")]
    Read {
        /// The path or `s3://` URL.
        location: String,
        /// Why.
        message: String,
    },
    /// The content is not a valid table of its type.
    #[error("{0}")]
    Invalid(String),
}

/// `type`: the kind of table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TableKind {
    /// A MaxMind DB file (GeoIP2/GeoLite2 City, Country, ASN, ISP, Anonymous IP, …): looked up
    /// by IP address (`geoip` transform, `geoip()` and the enrichment-table VRL functions with
    /// `{"ip": …}`).
    Mmdb,
    /// A CSV file with a header row: looked up by equality on any columns (`lookup` transform,
    /// the enrichment-table VRL functions).
    Csv,
}

impl TableKind {
    /// The `type` word.
    pub fn as_str(self) -> &'static str {
        match self {
            TableKind::Mmdb => "mmdb",
            TableKind::Csv => "csv",
        }
    }
}

/// `enrichment_tables.<name>`: a table every component can use by its name.
///
/// Local files are watched and reloaded when they change; `s3://` objects are checked every
/// `refresh_secs` and reloaded when their ETag changes. A reload reads and checks the whole new
/// table first: a missing or corrupt replacement keeps the table in use, logs one error and
/// counts it in `weir_enrichment_table_reload_errors_total`. A table that cannot be read when
/// the pipeline starts is an error at its line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TableConfig {
    /// `mmdb` or `csv` (required).
    #[serde(rename = "type")]
    pub kind: TableKind,
    /// A local file, or an object as `s3://bucket/key` (required).
    #[schemars(length(min = 1), example = "/var/lib/GeoIP/GeoLite2-City.mmdb")]
    pub path: String,
    /// `s3://` tables: seconds between checks of the object's ETag. Local files are watched
    /// instead.
    #[serde(default = "default_refresh_secs")]
    #[schemars(range(min = 1))]
    pub refresh_secs: u64,
    /// `csv`: column types by column name: `string` (the default), `integer`, `float`,
    /// `boolean`, `timestamp` (RFC 3339 or `YYYY-MM-DD`) or `timestamp|<strftime format>`
    /// (`date` is a synonym of `timestamp`). An empty cell of a typed column is `null`.
    #[serde(default)]
    pub schema: BTreeMap<String, ColumnType>,
    /// `csv`: the field delimiter, one ASCII character.
    #[serde(default = "default_delimiter")]
    pub delimiter: char,
    /// `mmdb`: how many decoded records to keep, so that an address seen again (or another
    /// address of the same network) is answered without decoding its record again; 0 keeps
    /// none. Each kept record costs about 1 KiB. A reload starts with an empty cache.
    #[serde(default = "default_cache_size")]
    pub cache_size: usize,
    /// `s3://` tables: region of the bucket. Default: the SDK's region chain.
    #[serde(default)]
    pub region: Option<String>,
    /// `s3://` tables: endpoint override (an S3-compatible store; moto in tests). Path-style
    /// addressing is used when it is set.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// `s3://` tables: credentials (the standard chain plus an optional `assume_role`).
    #[serde(default)]
    pub auth: AwsAuth,
}

fn default_refresh_secs() -> u64 {
    300
}

fn default_delimiter() -> char {
    ','
}

fn default_cache_size() -> usize {
    10_000
}

/// Where a table is read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TableLocation {
    /// A local file.
    Local(PathBuf),
    /// An S3 object.
    S3 {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
    },
}

impl std::fmt::Display for TableLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TableLocation::Local(path) => write!(f, "{}", path.display()),
            TableLocation::S3 { bucket, key } => write!(f, "s3://{bucket}/{key}"),
        }
    }
}

impl TableConfig {
    /// Where the table is read from (`Err`: an `s3://` path without bucket or key).
    pub fn location(&self) -> Result<TableLocation, String> {
        match self.path.strip_prefix("s3://") {
            None => Ok(TableLocation::Local(PathBuf::from(&self.path))),
            Some(rest) => match rest.split_once('/') {
                Some((bucket, key)) if !bucket.is_empty() && !key.is_empty() => {
                    Ok(TableLocation::S3 {
                        bucket: bucket.to_string(),
                        key: key.to_string(),
                    })
                }
                _ => Err(format!("`{}` is not s3://bucket/key", self.path)),
            },
        }
    }

    /// Problems serde cannot see, keyed relative to the table.
    pub fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.path.trim().is_empty() {
            problems.push(ConfigProblem::new("path", "must not be empty"));
        } else if let Err(message) = self.location() {
            problems.push(ConfigProblem::new("path", message));
        }
        if self.refresh_secs == 0 {
            problems.push(ConfigProblem::new("refresh_secs", "must be at least 1"));
        }
        if self.kind == TableKind::Mmdb {
            if !self.schema.is_empty() {
                problems.push(ConfigProblem::new("schema", "is for `csv` tables only"));
            }
            if self.delimiter != default_delimiter() {
                problems.push(ConfigProblem::new("delimiter", "is for `csv` tables only"));
            }
        } else if self.cache_size != default_cache_size() {
            problems.push(ConfigProblem::new(
                "cache_size",
                "is for `mmdb` tables only",
            ));
        }
        if !self.delimiter.is_ascii() {
            problems.push(ConfigProblem::new(
                "delimiter",
                "must be one ASCII character",
            ));
        }
        problems.extend(self.auth.problems());
        problems
    }

    /// Makes the table from its file's bytes, checked completely.
    pub fn parse(&self, bytes: Vec<u8>) -> Result<Box<dyn Table>, TableError> {
        Ok(match self.kind {
            TableKind::Mmdb => Box::new(MmdbTable::from_bytes(bytes)?.with_cache(self.cache_size)),
            TableKind::Csv => {
                let delimiter = u8::try_from(self.delimiter).unwrap_or(b',');
                Box::new(CsvTable::from_bytes(&bytes, delimiter, &self.schema)?)
            }
        })
    }

    /// Reads and checks the table, blocking (an `s3://` object is fetched on a thread of its
    /// own, so this works inside and outside an async runtime). Returns the table and the
    /// version it was read at (see [`fetch::Version`]).
    pub fn load(&self) -> Result<(Box<dyn Table>, fetch::Version), TableError> {
        let location = self.location().map_err(TableError::Invalid)?;
        let fetched = fetch::fetch_blocking(self, &location)?;
        let table = self.parse(fetched.bytes)?;
        Ok((table, fetched.version))
    }
}

/// `schema` values: a CSV column's type.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ColumnType {
    /// Text as it is (the default).
    #[default]
    String,
    /// A 64-bit integer.
    Integer,
    /// A float.
    Float,
    /// `true`/`false` (also `t`/`f`, `yes`/`no`, `y`/`n`, `1`/`0`).
    Boolean,
    /// A timestamp: RFC 3339 or `YYYY-MM-DD`, or in this strftime format.
    Timestamp(Option<String>),
}

impl ColumnType {
    fn from_word(word: &str) -> Option<Self> {
        let (head, format) = match word.split_once('|') {
            Some((head, format)) => (head, Some(format)),
            None => (word, None),
        };
        Some(match (head, format) {
            ("string", None) => ColumnType::String,
            ("integer", None) => ColumnType::Integer,
            ("float", None) => ColumnType::Float,
            ("boolean", None) => ColumnType::Boolean,
            ("timestamp" | "date", format) => {
                ColumnType::Timestamp(format.filter(|f| !f.is_empty()).map(str::to_string))
            }
            _ => return None,
        })
    }

    fn word(&self) -> Cow<'static, str> {
        match self {
            ColumnType::String => "string".into(),
            ColumnType::Integer => "integer".into(),
            ColumnType::Float => "float".into(),
            ColumnType::Boolean => "boolean".into(),
            ColumnType::Timestamp(None) => "timestamp".into(),
            ColumnType::Timestamp(Some(format)) => format!("timestamp|{format}").into(),
        }
    }
}

impl Serialize for ColumnType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.word())
    }
}

impl<'de> Deserialize<'de> for ColumnType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let word = String::deserialize(deserializer)?;
        ColumnType::from_word(&word).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown column type `{word}` (string, integer, float, boolean, timestamp or timestamp|<format>)"
            ))
        })
    }
}

impl JsonSchema for ColumnType {
    fn schema_name() -> Cow<'static, str> {
        "ColumnType".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^(string|integer|float|boolean|(timestamp|date)(\\|.+)?)$",
            "examples": ["integer", "timestamp", "timestamp|%d/%m/%Y"],
        })
    }
}

/// One of MaxMind's test databases, which `tests/services/install.sh` unpacks under
/// `target/maxmind/test-data`.
#[cfg(test)]
pub(crate) fn test_database(file: &str) -> MmdbTable {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/maxmind/test-data")
        .join(file);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (tests/services/install.sh fetches MaxMind's test databases)",
            path.display()
        )
    });
    MmdbTable::from_bytes(bytes).expect("a MaxMind test database")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(toml: &str) -> Result<TableConfig, String> {
        let value: serde_json::Value = toml::from_str(toml).map_err(|e| e.to_string())?;
        serde_json::from_value(value).map_err(|e| e.to_string())
    }

    #[test]
    fn paths_and_column_types() {
        let c = config(
            "type = \"csv\"\npath = \"s3://b/k/accounts.csv\"\nschema = { id = \"integer\", d = \"date|%d/%m/%Y\" }",
        )
        .unwrap();
        assert_eq!(
            c.location().unwrap(),
            TableLocation::S3 {
                bucket: "b".into(),
                key: "k/accounts.csv".into()
            }
        );
        assert_eq!(c.schema["id"], ColumnType::Integer);
        assert_eq!(
            c.schema["d"],
            ColumnType::Timestamp(Some("%d/%m/%Y".into()))
        );
        assert_eq!(c.refresh_secs, 300);
        assert!(c.validate().is_empty());
        let error = config("type = \"csv\"\npath = \"x\"\nschema = { id = \"int\" }").unwrap_err();
        assert!(error.contains("unknown column type `int`"), "{error}");
    }

    #[test]
    fn problems_serde_cannot_see() {
        let c =
            config("type = \"mmdb\"\npath = \"s3://bucket-only\"\nschema = { a = \"integer\" }")
                .unwrap();
        let keys: Vec<String> = c.validate().into_iter().map(|p| p.key).collect();
        assert_eq!(keys, vec!["path", "schema"]);
    }
}
