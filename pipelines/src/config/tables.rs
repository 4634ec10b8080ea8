//! `enrichment_tables.<name>`: parsed with the other top-level keys, each name defined once
//! across the files, and read (checked completely) when the pipeline loads, so a table that
//! cannot be read is an error at its file:line — for `weir validate` as for `weir run`.

use std::collections::BTreeMap;

use serde_json::Value as Json;
use weir_core::component::deserialize_config;
use weir_core::enrichment::{EnrichmentTables, TableHandle};
use weir_transforms::enrichment::{TableConfig, TableError};

use super::{locate, Checker, Diagnostic, Severity, TopLevel};

/// The top-level key.
pub const SECTION: &str = "enrichment_tables";

/// How loading gets each table's handle.
pub trait TableProvider {
    /// The handle of table `name`, defined by `config`.
    fn provide(&self, name: &str, config: &TableConfig) -> Result<TableHandle, TableError>;
}

/// Reads every table afresh (start-up, `weir validate`).
pub struct ReadTables;

impl TableProvider for ReadTables {
    fn provide(&self, name: &str, config: &TableConfig) -> Result<TableHandle, TableError> {
        let (table, _) = config.load()?;
        Ok(TableHandle::new(name, table))
    }
}

/// One table's definition and the file it is in.
pub(super) struct TableEntry {
    pub config: TableConfig,
    pub file: usize,
}

impl Checker<'_> {
    /// `enrichment_tables`: a table of table definitions by name.
    pub(super) fn tables_section(&mut self, top: &mut TopLevel, index: usize, value: Json) {
        let Json::Object(tables) = value else {
            let message = format!("`{SECTION}` must be a table of enrichment tables by name");
            self.top_error(index, SECTION, message);
            return;
        };
        for (name, table) in tables {
            if let Some(other) = top.enrichment_tables.get(&name) {
                let message = format!(
                    "duplicate enrichment table `{name}`: already defined in {}",
                    self.files[other.file].path.display()
                );
                self.table_error(index, &name, "", message);
                continue;
            }
            match deserialize_config::<TableConfig>(table) {
                Ok(config) => {
                    let problems = config.validate();
                    for problem in &problems {
                        self.table_error(index, &name, &problem.key, problem.message.clone());
                    }
                    if problems.is_empty() {
                        let entry = TableEntry {
                            config,
                            file: index,
                        };
                        top.enrichment_tables.insert(name, entry);
                    }
                }
                Err(e) => self.table_error(index, &name, &e.key, e.message),
            }
        }
    }

    /// Reads every table through `provider`; what fails is an error at the table's line.
    pub(super) fn load_tables(
        &mut self,
        tables: &BTreeMap<String, TableEntry>,
        provider: &dyn TableProvider,
    ) -> EnrichmentTables {
        let mut handles = Vec::new();
        for (name, entry) in tables {
            match provider.provide(name, &entry.config) {
                Ok(handle) => handles.push(handle),
                Err(e) => self.table_error(entry.file, name, "path", e.to_string()),
            }
        }
        EnrichmentTables::new(handles)
    }

    fn table_error(&mut self, file: usize, name: &str, key: &str, message: String) {
        let position = self.parsed(file).and_then(|p| {
            if key.is_empty() {
                locate::component(&p.text, p.syntax, SECTION, name)
            } else {
                locate::key(&p.text, p.syntax, SECTION, name, key)
                    .or_else(|| locate::component(&p.text, p.syntax, SECTION, name))
            }
        });
        let key = if key.is_empty() {
            format!("{SECTION}.{name}")
        } else {
            format!("{SECTION}.{name}.{key}")
        };
        self.diagnostics.push(Diagnostic {
            severity: Severity::Error,
            file: Some(self.files[file].path.clone()),
            position,
            component: None,
            key: Some(key),
            message,
        });
    }
}
