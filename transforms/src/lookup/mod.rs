//! Transform `lookup`: the row of a CSV enrichment table whose key columns equal fields of the
//! event, merged into the event — account names for account ids, owners for ARNs, tags for
//! hosts.
//!
//! Keys compare as text (see the `csv` table), with `case_sensitive` as the rule for strings.
//! When several rows match, the first one in file order is used. A miss (no row, or a key
//! field the event does not have) leaves the event unchanged; every lookup is counted by result
//! in `weir_lookup_lookups_total`. Lookups keep no state, so batches run on every worker thread.

use std::collections::BTreeMap;

use prometheus::IntCounter;
use serde::{Deserialize, Serialize};
use vrl::value::{KeyString, Value};
use weir_core::component::{
    BatchTransform, BuildContext, BuildError, ComponentSpec, ConfigProblem, ParseConfig,
    PluginCommon, Stateless, Transform, TransformConfig, TransformOutput,
};
use weir_core::enrichment::{Case, Condition, TableHandle};
use weir_core::event::Event;
use weir_core::metrics::{ComponentMetrics, PluginFamilies};

/// Configuration of the `lookup` transform.
///
/// ```toml
/// [enrichment_tables.accounts]
/// type = "csv"
/// path = "/etc/weir/accounts.csv"     # id,name,owner
///
/// [transforms.account_names]
/// type = "lookup"
/// inputs = ["parse"]
/// table = "accounts"
/// keys = { id = "cloud.account.id" }  # column = event field
/// select = ["name"]
/// target = "cloud.account"            # → cloud.account.name
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupConfig {
    /// The `csv` enrichment table (required).
    #[schemars(length(min = 1))]
    pub table: String,
    /// Key columns of the table → the event field (dotted path) each must equal (required; all
    /// must match).
    pub keys: BTreeMap<String, String>,
    /// The columns to merge into the event. Default: every column.
    #[serde(default)]
    pub select: Option<Vec<String>>,
    /// Where the row's columns go: this object (dotted path), created if needed. Default: the
    /// event's root.
    #[serde(default)]
    pub target: Option<String>,
    /// Whether string keys must match in case.
    #[serde(default = "default_case_sensitive")]
    pub case_sensitive: bool,
}

fn default_case_sensitive() -> bool {
    true
}

fn split(path: &str) -> Vec<String> {
    path.split('.').map(str::to_string).collect()
}

impl PluginCommon for LookupConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.keys.is_empty() {
            problems.push(ConfigProblem::new(
                "keys",
                "must name at least one key column",
            ));
        }
        if self
            .keys
            .values()
            .chain(&self.target)
            .any(|p| split(p).iter().any(String::is_empty))
        {
            problems.push(ConfigProblem::new(
                "keys",
                "a field path has an empty segment",
            ));
        }
        if self.select.as_ref().is_some_and(Vec::is_empty) {
            problems.push(ConfigProblem::new(
                "select",
                "must name at least one column, or be left out",
            ));
        }
        problems
    }
}

impl TransformConfig for LookupConfig {
    fn build(&self, cx: &BuildContext) -> Result<Box<dyn Transform>, BuildError> {
        let table = cx
            .tables
            .require(&self.table)
            .map_err(|message| BuildError::new("table", message))?
            .clone();
        {
            let loaded = table.load();
            let columns = loaded.table.fields();
            let wanted = self.keys.keys().map(|k| ("keys", k));
            let selected = self.select.iter().flatten().map(|s| ("select", s));
            for (key, column) in wanted.chain(selected) {
                if !columns.contains(column) {
                    return Err(BuildError::new(
                        key,
                        format!(
                            "enrichment table `{}` has no column `{column}` (it has {})",
                            self.table,
                            columns.join(", ")
                        ),
                    ));
                }
            }
        }
        let counters =
            Counters::new(&cx.metrics).map_err(|e| BuildError::new("", e.to_string()))?;
        Ok(Stateless::boxed(Lookup {
            table,
            keys: self
                .keys
                .iter()
                .map(|(c, f)| (c.clone(), split(f)))
                .collect(),
            select: self.select.clone(),
            target: self.target.as_deref().map(split),
            case: if self.case_sensitive {
                Case::Sensitive
            } else {
                Case::Insensitive
            },
            counters,
        }))
    }
}

#[derive(Clone)]
struct Families {
    lookups: prometheus::IntCounterVec,
}

struct Counters {
    found: IntCounter,
    not_found: IntCounter,
    missing_key: IntCounter,
    failed: IntCounter,
}

impl Counters {
    fn new(metrics: &ComponentMetrics) -> prometheus::Result<Self> {
        let families = metrics.plugin_families(|registry| {
            let f = PluginFamilies::new(registry);
            Ok(Families {
                lookups: f.counter(
                    "weir_lookup_lookups_total",
                    "Table lookups by result: found, not_found (no row), missing_key (the event lacks a key field), failed.",
                    &["result"],
                )?,
            })
        })?;
        let series = |r| {
            families
                .lookups
                .with_label_values(&metrics.label_values_with(&[r]))
        };
        Ok(Self {
            found: series("found"),
            not_found: series("not_found"),
            missing_key: series("missing_key"),
            failed: series("failed"),
        })
    }
}

/// The running transform (see [`Stateless`]).
pub struct Lookup {
    table: TableHandle,
    keys: Vec<(String, Vec<String>)>,
    select: Option<Vec<String>>,
    target: Option<Vec<String>>,
    case: Case,
    counters: Counters,
}

impl Lookup {
    fn enrich(&self, table: &dyn weir_core::enrichment::Table, event: &mut Event) {
        let mut conditions = Vec::with_capacity(self.keys.len());
        for (column, field) in &self.keys {
            match event.get_path(field) {
                Some(value) if !matches!(value, Value::Null) => {
                    conditions.push(Condition::Equals {
                        field: column,
                        value,
                    })
                }
                _ => {
                    self.counters.missing_key.inc();
                    return;
                }
            }
        }
        let row = match table.find(&conditions, self.select.as_deref(), self.case) {
            Ok(rows) => rows.into_iter().next(),
            Err(_) => {
                self.counters.failed.inc();
                return;
            }
        };
        let Some(row) = row else {
            self.counters.not_found.inc();
            return;
        };
        self.counters.found.inc();
        match &self.target {
            Some(target) => event.merge_object_at(target, row),
            None => {
                for (key, value) in row {
                    event.fields.insert(KeyString::from(key.as_str()), value);
                }
            }
        }
    }
}

impl BatchTransform for Lookup {
    fn run_batch(&self, events: Vec<Event>, out: &mut TransformOutput) {
        let loaded = self.table.load();
        out.primary.reserve(events.len());
        for mut event in events {
            self.enrich(loaded.table.as_ref(), &mut event);
            out.primary.push(event);
        }
    }
}

/// The transform's registration.
pub const SPEC: ComponentSpec = ComponentSpec {
    type_name: "lookup",
    description: "Merge the row of a CSV enrichment table whose key columns equal event fields.",
    parse: ParseConfig::Transform(weir_core::component::parse_transform::<LookupConfig>),
    schema: weir_core::component::schema_of::<LookupConfig>,
};

#[cfg(test)]
mod tests;
