//! What a reload changes: each component of the new pipeline compared with the running one by id
//! and by its parsed configuration (see [`Shape::of`]).

use std::collections::BTreeMap;

use serde_json::Value;

use super::ComponentConfig;

/// How one component of the new pipeline relates to the running one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// New id: build and start it.
    Added,
    /// Same id, different configuration (type, options or buffer): replace it.
    Changed,
    /// Same configuration, different `inputs`: rewire it, do not restart it.
    Rewired,
    /// Nothing changed: leave it running untouched.
    Unchanged,
}

/// A component as far as the diff cares: what decides between changed and not, and its inputs.
#[derive(Clone, Debug, PartialEq)]
pub struct Shape {
    /// Its type, buffer and parsed config, normalized (see [`Shape::of`]).
    pub settings: Value,
    /// Its inputs: a change here alone only rewires.
    pub inputs: Vec<String>,
}

impl Shape {
    /// The shape of a component config. Its settings are what was parsed, not what was written:
    /// type, buffer and the plugin's config serialized back to JSON
    /// ([`PluginConfig::normalized`](super::PluginConfig::normalized)), so writing out a default
    /// (or reordering keys, or quoting differently) changes nothing, while any parsed value that
    /// differs is a change. A plugin config without a normalized form (built in code) falls back
    /// to its table as written, without `inputs`.
    pub fn of(config: &ComponentConfig) -> Self {
        let settings = match config.plugin.normalized() {
            Some(options) => serde_json::json!({
                "type": config.type_name,
                "buffer": config.buffer,
                "options": options,
            }),
            None => without_inputs(&config.raw),
        };
        Self {
            settings,
            inputs: config.inputs.clone(),
        }
    }
}

/// A table as written, without `inputs` (which only rewire).
fn without_inputs(raw: &Value) -> Value {
    match raw {
        Value::Object(table) => {
            let mut table = table.clone();
            table.remove("inputs");
            Value::Object(table)
        }
        other => other.clone(),
    }
}

/// The plan of a reload.
#[derive(Debug, Default, PartialEq)]
pub struct Diff {
    /// Every component of the new pipeline and what happens to it.
    pub changes: BTreeMap<String, Change>,
    /// Running components the new pipeline no longer has: drained and stopped.
    pub removed: Vec<String>,
}

impl Diff {
    /// Ids with a given change.
    pub fn ids(&self, change: Change) -> impl Iterator<Item = &str> {
        self.changes
            .iter()
            .filter(move |(_, c)| **c == change)
            .map(|(id, _)| id.as_str())
    }

    /// Whether the reload changes nothing at all.
    pub fn is_empty(&self) -> bool {
        self.removed.is_empty() && self.changes.values().all(|c| *c == Change::Unchanged)
    }

    /// A one-line summary for the log.
    pub fn summary(&self) -> String {
        let count = |change| self.ids(change).count();
        format!(
            "{} added, {} changed, {} rewired, {} removed, {} unchanged",
            count(Change::Added),
            count(Change::Changed),
            count(Change::Rewired),
            self.removed.len(),
            count(Change::Unchanged)
        )
    }
}

/// Shapes of every component of a pipeline.
pub fn shapes(components: &BTreeMap<String, ComponentConfig>) -> BTreeMap<String, Shape> {
    components
        .iter()
        .map(|(id, c)| (id.clone(), Shape::of(c)))
        .collect()
}

/// Compares the running components with the new ones.
pub fn diff(old: &BTreeMap<String, Shape>, new: &BTreeMap<String, Shape>) -> Diff {
    let changes = new
        .iter()
        .map(|(id, next)| {
            let change = match old.get(id) {
                None => Change::Added,
                Some(running) => {
                    if running.settings != next.settings {
                        Change::Changed
                    } else if running.inputs != next.inputs {
                        Change::Rewired
                    } else {
                        Change::Unchanged
                    }
                }
            };
            (id.clone(), change)
        })
        .collect();
    let removed = old
        .keys()
        .filter(|id| !new.contains_key(*id))
        .cloned()
        .collect();
    Diff { changes, removed }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};
    use serde_json::json;

    use super::*;
    use crate::buffer::BufferConfig;
    use crate::component::{
        parse_sink, BuildContext, BuildError, ParseConfigError, Sink, SinkConfig,
    };
    use crate::topology::PluginConfig;

    fn shape(raw: Value) -> Shape {
        let inputs = raw["inputs"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        Shape {
            settings: without_inputs(&raw),
            inputs,
        }
    }

    fn compare(old: &[(&str, Value)], new: &[(&str, Value)]) -> Diff {
        let shapes = |list: &[(&str, Value)]| {
            list.iter()
                .map(|(id, raw)| (id.to_string(), shape(raw.clone())))
                .collect::<BTreeMap<_, _>>()
        };
        diff(&shapes(old), &shapes(new))
    }

    #[test]
    fn classifies_every_kind_of_edit() {
        let old = [
            ("src", json!({"type": "file", "include": ["a.log"]})),
            ("parse", json!({"type": "aws_parse", "inputs": ["src"]})),
            (
                "out",
                json!({"type": "file", "inputs": ["parse"], "path": "x"}),
            ),
            ("gone", json!({"type": "console", "inputs": ["src"]})),
        ];
        let new = [
            ("src", json!({"type": "file", "include": ["a.log"]})),
            (
                "parse",
                json!({"type": "aws_parse", "inputs": ["src", "extra"]}),
            ),
            (
                "out",
                json!({"type": "file", "inputs": ["parse"], "path": "y"}),
            ),
            ("extra", json!({"type": "stdin"})),
        ];
        let plan = compare(&old, &new);
        assert_eq!(plan.changes["src"], Change::Unchanged);
        assert_eq!(plan.changes["parse"], Change::Rewired);
        assert_eq!(plan.changes["out"], Change::Changed);
        assert_eq!(plan.changes["extra"], Change::Added);
        assert_eq!(plan.removed, vec!["gone".to_string()]);
        assert_eq!(
            plan.summary(),
            "1 added, 1 changed, 1 rewired, 1 removed, 1 unchanged"
        );
        assert!(!plan.is_empty());
    }

    #[test]
    fn a_buffer_change_is_a_change_and_identical_files_change_nothing() {
        let old = [("out", json!({"type": "file", "inputs": ["a"]}))];
        let bigger = [(
            "out",
            json!({"type": "file", "inputs": ["a"], "buffer": {"max_events": 10}}),
        )];
        assert_eq!(compare(&old, &bigger).changes["out"], Change::Changed);
        assert!(compare(&old, &old).is_empty());
    }

    /// A sink config with defaults, parsed like a registered plugin's.
    #[derive(Debug, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Knobs {
        path: String,
        #[serde(default)]
        read_from: ReadFrom,
        #[serde(default = "default_batch")]
        batch: usize,
    }

    #[derive(Debug, Default, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum ReadFrom {
        #[default]
        Beginning,
        End,
    }

    fn default_batch() -> usize {
        100
    }

    use crate::component::PluginCommon;

    impl PluginCommon for Knobs {}

    impl SinkConfig for Knobs {
        fn build(&self, _: &BuildContext) -> Result<Box<dyn Sink>, BuildError> {
            Err(BuildError::new("", "never built here"))
        }
    }

    /// A component parsed from its table the way the loader does it: the runtime's keys taken
    /// out, the rest through the plugin's parse function.
    fn parsed(table: Value) -> Result<ComponentConfig, ParseConfigError> {
        let raw = table.clone();
        let Value::Object(mut table) = table else {
            panic!("a table")
        };
        let type_name = table.remove("type").unwrap().as_str().unwrap().to_string();
        let inputs = match table.remove("inputs") {
            Some(inputs) => serde_json::from_value(inputs).unwrap(),
            None => Vec::new(),
        };
        let buffer = match table.remove("buffer") {
            Some(buffer) => serde_json::from_value(buffer).unwrap(),
            None => BufferConfig::default(),
        };
        Ok(ComponentConfig {
            type_name,
            inputs,
            buffer,
            plugin: PluginConfig::Sink(parse_sink::<Knobs>(Value::Object(table))?),
            raw,
        })
    }

    fn change(old: Value, new: Value) -> Change {
        let shapes = |table: Value| {
            BTreeMap::from([("out".to_string(), Shape::of(&parsed(table).unwrap()))])
        };
        diff(&shapes(old), &shapes(new)).changes["out"]
    }

    #[test]
    fn parsed_configs_are_compared_not_tables_as_written() {
        let old = json!({"type": "file", "inputs": ["a"], "path": "x"});
        let defaults_written = json!({
            "type": "file",
            "inputs": ["a"],
            "path": "x",
            "read_from": "beginning",
            "batch": 100,
            "buffer": serde_json::to_value(BufferConfig::default()).unwrap(),
        });
        assert_ne!(old, defaults_written, "the tables differ as written");
        assert_eq!(
            change(old.clone(), defaults_written.clone()),
            Change::Unchanged,
            "writing out defaults changes nothing"
        );
        assert_eq!(change(defaults_written, old.clone()), Change::Unchanged);

        let mut end = old.clone();
        end["read_from"] = json!("end");
        assert_eq!(change(old.clone(), end.clone()), Change::Changed);
        assert_eq!(change(end, old.clone()), Change::Changed);

        let mut batch = old.clone();
        batch["batch"] = json!(101);
        assert_eq!(change(old.clone(), batch), Change::Changed);

        let mut buffer = old.clone();
        buffer["buffer"] = json!({"max_events": 7});
        assert_eq!(change(old.clone(), buffer), Change::Changed);

        let mut retyped = old.clone();
        retyped["type"] = json!("other");
        assert_eq!(change(old.clone(), retyped), Change::Changed);

        let mut rewired = old.clone();
        rewired["inputs"] = json!(["a", "b"]);
        rewired["read_from"] = json!("beginning");
        assert_eq!(
            change(old, rewired),
            Change::Rewired,
            "new inputs and a default written out: rewired, not restarted"
        );
    }
}
