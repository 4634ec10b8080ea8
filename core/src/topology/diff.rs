//! What a reload changes: each component of the new pipeline compared with the running one by id
//! and configuration.

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

/// A component as far as the diff cares: its table as written and its inputs.
#[derive(Clone, Debug, PartialEq)]
pub struct Shape {
    /// The component's table (after interpolation), `inputs` included.
    pub raw: Value,
    /// Its inputs.
    pub inputs: Vec<String>,
}

impl Shape {
    /// The shape of a component config.
    pub fn of(config: &ComponentConfig) -> Self {
        Self {
            raw: config.raw.clone(),
            inputs: config.inputs.clone(),
        }
    }

    /// The table without `inputs`: what decides between changed and rewired.
    fn settings(&self) -> Value {
        match &self.raw {
            Value::Object(table) => {
                let mut table = table.clone();
                table.remove("inputs");
                Value::Object(table)
            }
            other => other.clone(),
        }
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
                    if running.settings() != next.settings() {
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
    use serde_json::json;

    use super::*;

    fn shape(raw: Value) -> Shape {
        let inputs = raw["inputs"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        Shape { raw, inputs }
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
}
