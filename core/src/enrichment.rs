//! Enrichment tables: data loaded once and shared by every component that looks records up in
//! it (a GeoIP database, a CSV file of account names), by name.
//!
//! Core holds only what components need to use a table: the [`Table`] interface, the
//! [`TableHandle`] a component keeps, and the registry of tables by name
//! ([`EnrichmentTables`]). The kinds of tables (MaxMind DB, CSV), where they are read from and
//! how they are reloaded live with the transforms (`weir_transforms::enrichment`).
//!
//! Why a handle that swaps: a reloaded table must reach every component that uses it without
//! rebuilding (or pausing) any of them, and a lookup in progress must finish on the table it
//! started on. A handle is an [`ArcSwap`]: a lookup takes a snapshot (no lock, a reference count
//! at most), a reload stores the new table in one atomic step, and the old table is freed when
//! its last snapshot is dropped. There is never a moment without a table.

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use arc_swap::{ArcSwap, Guard};
use chrono::{DateTime, Utc};
use vrl::value::{ObjectMap, Value};

/// One condition of a lookup: a row matches when every condition holds.
#[derive(Clone, Copy, Debug)]
pub enum Condition<'a> {
    /// The row's `field` equals `value` (strings compare by [`Case`]).
    Equals {
        /// A column (CSV) or `ip` (MaxMind DB).
        field: &'a str,
        /// The value to match.
        value: &'a Value,
    },
    /// The row's `field` is a timestamp within `from..=to`.
    Between {
        /// A timestamp column.
        field: &'a str,
        /// Earliest matching time.
        from: DateTime<Utc>,
        /// Latest matching time.
        to: DateTime<Utc>,
    },
}

impl Condition<'_> {
    /// The field the condition is about.
    pub fn field(&self) -> &str {
        match self {
            Condition::Equals { field, .. } | Condition::Between { field, .. } => field,
        }
    }
}

/// How string values are compared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Case {
    /// Exactly (the default, as in Vector).
    #[default]
    Sensitive,
    /// Ignoring ASCII and Unicode case.
    Insensitive,
}

/// Why a lookup gave no answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    /// A condition names a field the table does not have.
    #[error("table `{table}` has no field `{field}`")]
    UnknownField {
        /// The table.
        table: String,
        /// The field asked for.
        field: String,
    },
    /// The conditions are not ones this kind of table answers (a MaxMind DB is looked up by
    /// `ip` only).
    #[error("{0}")]
    Unsupported(String),
    /// A condition's value cannot be used (an IP field that holds no IP address).
    #[error("{0}")]
    InvalidValue(String),
    /// The table's data could not be read for this row (a corrupt MaxMind DB record).
    #[error("cannot read the row: {0}")]
    Corrupt(String),
}

/// A table rows are looked up in. Implementations must answer from memory: a lookup runs on
/// the event path, for each event.
pub trait Table: Send + Sync + fmt::Debug + 'static {
    /// The kind of table (`mmdb`, `csv`), for messages.
    fn kind(&self) -> &'static str;

    /// The field names the table can be queried by and returns (CSV: its columns).
    fn fields(&self) -> Vec<String>;

    /// Every row matching all `conditions`, with only the `select`ed fields (all when `None`).
    fn find(
        &self,
        conditions: &[Condition<'_>],
        select: Option<&[String]>,
        case: Case,
    ) -> Result<Vec<ObjectMap>, LookupError>;

    /// The table as `Any`, for components that use one kind of table directly (the `geoip`
    /// transform reads a MaxMind DB without going through rows).
    fn as_any(&self) -> &dyn Any;
}

/// A loaded table and when it was loaded.
#[derive(Debug)]
pub struct LoadedTable {
    /// The table.
    pub table: Box<dyn Table>,
    /// How many times the handle's table was replaced before this one (0: the first load).
    pub generation: u64,
}

/// A component's handle on a table: always the latest good version of it.
#[derive(Clone)]
pub struct TableHandle {
    name: Arc<str>,
    current: Arc<ArcSwap<LoadedTable>>,
}

impl TableHandle {
    /// A handle holding its first table.
    pub fn new(name: &str, table: Box<dyn Table>) -> Self {
        Self {
            name: Arc::from(name),
            current: Arc::new(ArcSwap::from_pointee(LoadedTable {
                table,
                generation: 0,
            })),
        }
    }

    /// The table's name (its key under `enrichment_tables`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The current table, for one lookup or a batch of them. Cheap (no lock); hold it only
    /// that long, since it keeps a replaced table alive.
    pub fn load(&self) -> Guard<Arc<LoadedTable>> {
        self.current.load()
    }

    /// Replaces the table for every holder of this handle; lookups in progress finish on the
    /// old one. Returns the new generation.
    pub fn replace(&self, table: Box<dyn Table>) -> u64 {
        let generation = self.current.load().generation + 1;
        self.current
            .store(Arc::new(LoadedTable { table, generation }));
        generation
    }
}

impl fmt::Debug for TableHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let current = self.current.load();
        f.debug_struct("TableHandle")
            .field("name", &self.name)
            .field("kind", &current.table.kind())
            .field("generation", &current.generation)
            .finish()
    }
}

/// Every table of a pipeline, by name; cheap to clone. Components get it in their
/// [`BuildContext`](crate::component::BuildContext) and keep the handles they use.
#[derive(Clone, Debug, Default)]
pub struct EnrichmentTables(Arc<BTreeMap<String, TableHandle>>);

impl EnrichmentTables {
    /// A registry of these handles.
    pub fn new(handles: impl IntoIterator<Item = TableHandle>) -> Self {
        Self(Arc::new(
            handles
                .into_iter()
                .map(|h| (h.name().to_string(), h))
                .collect(),
        ))
    }

    /// The table called `name`.
    pub fn get(&self, name: &str) -> Option<&TableHandle> {
        self.0.get(name)
    }

    /// The table called `name`, or an error naming the tables there are (for build errors).
    pub fn require(&self, name: &str) -> Result<&TableHandle, String> {
        self.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.names().collect();
            if known.is_empty() {
                format!(
                    "unknown enrichment table `{name}`: the pipeline has no `enrichment_tables`"
                )
            } else {
                format!(
                    "unknown enrichment table `{name}` (the pipeline has {})",
                    known.join(", ")
                )
            }
        })
    }

    /// Every table's name, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// Every handle, by name.
    pub fn handles(&self) -> impl Iterator<Item = &TableHandle> {
        self.0.values()
    }

    /// Whether there are no tables.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Constant(&'static str);

    impl Table for Constant {
        fn kind(&self) -> &'static str {
            "constant"
        }
        fn fields(&self) -> Vec<String> {
            vec!["value".into()]
        }
        fn find(
            &self,
            _: &[Condition<'_>],
            _: Option<&[String]>,
            _: Case,
        ) -> Result<Vec<ObjectMap>, LookupError> {
            let mut row = ObjectMap::new();
            row.insert("value".into(), Value::from(self.0));
            Ok(vec![row])
        }
        fn as_any(&self) -> &dyn Any {
            self
        }
    }

    fn value_of(handle: &TableHandle) -> Value {
        let loaded = handle.load();
        let rows = loaded.table.find(&[], None, Case::Sensitive).unwrap();
        rows[0]["value"].clone()
    }

    #[test]
    fn a_replaced_table_reaches_every_clone_and_a_snapshot_keeps_the_old_one() {
        let handle = TableHandle::new("t", Box::new(Constant("old")));
        let clone = handle.clone();
        let snapshot = handle.load_full_for_test();
        assert_eq!(handle.replace(Box::new(Constant("new"))), 1);
        assert_eq!(value_of(&clone), Value::from("new"));
        let rows = snapshot.table.find(&[], None, Case::Sensitive).unwrap();
        assert_eq!(rows[0]["value"], Value::from("old"));
        assert!(snapshot.table.as_any().downcast_ref::<Constant>().is_some());
    }

    #[test]
    fn an_unknown_table_is_named_with_the_known_ones() {
        let tables = EnrichmentTables::new([TableHandle::new("geo", Box::new(Constant("x")))]);
        assert!(tables.get("geo").is_some());
        let message = tables.require("asn").unwrap_err();
        assert!(
            message.contains("`asn`") && message.contains("geo"),
            "{message}"
        );
        let message = EnrichmentTables::default().require("asn").unwrap_err();
        assert!(message.contains("no `enrichment_tables`"), "{message}");
    }

    impl TableHandle {
        fn load_full_for_test(&self) -> Arc<LoadedTable> {
            self.current.load_full()
        }
    }
}
