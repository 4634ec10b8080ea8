//! Graph checks that need no plugin knowledge: inputs that name nothing, cycles, components without
//! inputs, outputs nothing consumes.

use std::collections::{BTreeMap, BTreeSet};

use crate::component::ComponentKind;
use crate::output::ERRORS;

/// A reference to a component's output: `id` (default output) or `id.name`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OutputRef {
    /// The producing component.
    pub component: String,
    /// The named output, or `None` for the default one.
    pub port: Option<String>,
}

impl OutputRef {
    /// Parses `id` or `id.port` (component ids cannot contain dots).
    pub fn parse(input: &str) -> Self {
        match input.split_once('.') {
            Some((component, port)) => Self {
                component: component.to_string(),
                port: Some(port.to_string()),
            },
            None => Self {
                component: input.to_string(),
                port: None,
            },
        }
    }
}

impl std::fmt::Display for OutputRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.port {
            Some(port) => write!(f, "{}.{}", self.component, port),
            None => f.write_str(&self.component),
        }
    }
}

/// What the graph checks need to know of a component.
#[derive(Clone, Debug)]
pub struct Node {
    /// Its kind.
    pub kind: ComponentKind,
    /// Its `inputs`.
    pub inputs: Vec<String>,
    /// Its named outputs; `None` when unknown (its config did not parse), which skips port checks.
    pub outputs: Option<Vec<String>>,
    /// Whether it has a default output (see
    /// [`PluginCommon::default_output`](crate::component::PluginCommon::default_output)).
    pub default_output: bool,
    /// What happens to the events of a named output when nothing consumes it, by output (see
    /// [`PluginCommon::unconsumed_output`](crate::component::PluginCommon::unconsumed_output)).
    pub unconsumed: BTreeMap<String, String>,
}

/// One finding of the graph checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphIssue {
    /// The component concerned.
    pub component: String,
    /// The key concerned (`inputs`, or empty).
    pub key: String,
    /// What is wrong.
    pub message: String,
}

/// Errors and warnings of a graph.
#[derive(Clone, Debug, Default)]
pub struct GraphReport {
    /// Problems that stop the pipeline from running.
    pub errors: Vec<GraphIssue>,
    /// Things that work but are probably mistakes.
    pub warnings: Vec<GraphIssue>,
}

/// Checks a graph of components keyed by id.
pub fn check(nodes: &BTreeMap<String, Node>) -> GraphReport {
    let mut report = GraphReport::default();
    let mut consumed: BTreeSet<OutputRef> = BTreeSet::new();
    for (id, node) in nodes {
        if id.is_empty() || id.contains('.') || id.chars().any(char::is_whitespace) {
            report.errors.push(GraphIssue {
                component: id.clone(),
                key: String::new(),
                message: "component ids must be non-empty and contain no dots or spaces".into(),
            });
        }
        if node.kind != ComponentKind::Source && node.inputs.is_empty() {
            report.errors.push(GraphIssue {
                component: id.clone(),
                key: "inputs".into(),
                message: format!("{} has no inputs", node.kind.as_str()),
            });
        }
        let mut seen = BTreeSet::new();
        for input in &node.inputs {
            if !seen.insert(input) {
                report
                    .errors
                    .push(issue(id, format!("input `{input}` is listed twice")));
                continue;
            }
            let output = OutputRef::parse(input);
            let Some(producer) = nodes.get(&output.component) else {
                report.errors.push(issue(
                    id,
                    format!("unknown input `{input}`: no component has that id"),
                ));
                continue;
            };
            match (&output.port, &producer.outputs) {
                (None, outputs) if producer.kind == ComponentKind::Sink => {
                    report.errors.push(issue(
                        id,
                        format!(
                            "input `{input}` is a sink; a sink only has named outputs ({})",
                            outputs.as_deref().map_or("unknown".into(), list)
                        ),
                    ))
                }
                (None, outputs) if !producer.default_output => report.errors.push(issue(
                    id,
                    format!(
                        "input `{input}`: `{input}` has no default output; name one of its \
                             outputs ({})",
                        outputs.as_deref().map_or("unknown".into(), |o| {
                            o.iter()
                                .map(|p| format!("{input}.{p}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        })
                    ),
                )),
                (Some(port), Some(outputs)) if !outputs.contains(port) => {
                    report.errors.push(issue(
                        id,
                        format!(
                            "input `{input}`: `{}` has no output named `{port}` (it has: {})",
                            output.component,
                            list(outputs)
                        ),
                    ))
                }
                _ => {}
            }
            consumed.insert(output);
        }
    }
    if let Some(cycle_member) = find_cycle(nodes) {
        report.errors.push(issue(
            &cycle_member.0,
            format!("input cycle: {}", cycle_member.1),
        ));
    }
    for (id, node) in nodes {
        if node.kind != ComponentKind::Sink
            && node.default_output
            && !consumed.contains(&OutputRef {
                component: id.clone(),
                port: None,
            })
        {
            report.warnings.push(GraphIssue {
                component: id.clone(),
                key: String::new(),
                message: format!(
                    "nothing consumes the output of {} `{id}`",
                    node.kind.as_str()
                ),
            });
        }
        let errors = OutputRef {
            component: id.clone(),
            port: Some(ERRORS.to_string()),
        };
        let has_errors = node
            .outputs
            .as_ref()
            .is_some_and(|o| o.iter().any(|p| p == ERRORS));
        for (port, fate) in &node.unconsumed {
            let output = OutputRef {
                component: id.clone(),
                port: Some(port.clone()),
            };
            if !consumed.contains(&output) {
                report.warnings.push(GraphIssue {
                    component: id.clone(),
                    key: String::new(),
                    message: format!("nothing consumes `{output}`: {fate}"),
                });
            }
        }
        if has_errors && !consumed.contains(&errors) {
            report.warnings.push(GraphIssue {
                component: id.clone(),
                key: String::new(),
                message: format!(
                    "nothing consumes `{errors}`: records that fail in `{id}` continue on its \
                     main output with an `error` object (wire `{errors}` to keep them apart)"
                ),
            });
        }
    }
    report
}

fn issue(id: &str, message: String) -> GraphIssue {
    GraphIssue {
        component: id.to_string(),
        key: "inputs".into(),
        message,
    }
}

fn list(outputs: &[String]) -> String {
    if outputs.is_empty() {
        "none".into()
    } else {
        outputs.join(", ")
    }
}

/// Finds one cycle (if any); returns the component at which it is reported and the path.
fn find_cycle(nodes: &BTreeMap<String, Node>) -> Option<(String, String)> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Visiting,
        Done,
    }
    fn visit(
        id: &str,
        nodes: &BTreeMap<String, Node>,
        marks: &mut BTreeMap<String, Mark>,
        path: &mut Vec<String>,
    ) -> Option<(String, String)> {
        match marks.get(id) {
            Some(Mark::Done) => return None,
            Some(Mark::Visiting) => {
                let start = path.iter().position(|p| p == id).unwrap_or(0);
                let mut cycle: Vec<&str> = path[start..].iter().map(String::as_str).collect();
                cycle.push(id);
                return Some((id.to_string(), cycle.join(" -> ")));
            }
            None => {}
        }
        marks.insert(id.to_string(), Mark::Visiting);
        path.push(id.to_string());
        if let Some(node) = nodes.get(id) {
            for input in &node.inputs {
                let producer = OutputRef::parse(input).component;
                if nodes.contains_key(&producer) {
                    if let Some(found) = visit(&producer, nodes, marks, path) {
                        return Some(found);
                    }
                }
            }
        }
        path.pop();
        marks.insert(id.to_string(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for id in nodes.keys() {
        let mut path = Vec::new();
        if let Some(found) = visit(id, nodes, &mut marks, &mut path) {
            return Some(found);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(kind: ComponentKind, inputs: &[&str], outputs: &[&str]) -> Node {
        Node {
            kind,
            inputs: inputs.iter().map(|s| s.to_string()).collect(),
            outputs: Some(outputs.iter().map(|o| o.to_string()).collect()),
            default_output: true,
            unconsumed: BTreeMap::new(),
        }
    }

    #[test]
    fn valid_graph_has_no_findings() {
        let mut nodes = BTreeMap::new();
        nodes.insert("src".into(), node(ComponentKind::Source, &[], &[]));
        nodes.insert(
            "parse".into(),
            node(ComponentKind::Transform, &["src"], &["errors"]),
        );
        nodes.insert(
            "out".into(),
            node(ComponentKind::Sink, &["parse"], &["dead_letter"]),
        );
        nodes.insert(
            "dlq".into(),
            node(
                ComponentKind::Sink,
                &["parse.errors", "out.dead_letter"],
                &[],
            ),
        );
        let report = check(&nodes);
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    }

    #[test]
    fn finds_unknown_inputs_cycles_and_dangling_outputs() {
        let mut nodes = BTreeMap::new();
        nodes.insert("src".into(), node(ComponentKind::Source, &[], &[]));
        nodes.insert("a".into(), node(ComponentKind::Transform, &["b"], &[]));
        nodes.insert("b".into(), node(ComponentKind::Transform, &["a"], &[]));
        nodes.insert(
            "out".into(),
            node(ComponentKind::Sink, &["nope", "src.errors"], &[]),
        );
        nodes.insert("lonely".into(), node(ComponentKind::Sink, &[], &[]));
        let report = check(&nodes);
        let messages: Vec<_> = report
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.component, e.message))
            .collect();
        assert!(
            messages.contains(&"out: unknown input `nope`: no component has that id".to_string()),
            "{messages:?}"
        );
        assert!(
            messages.contains(
                &"out: input `src.errors`: `src` has no output named `errors` (it has: none)"
                    .to_string()
            ),
            "{messages:?}"
        );
        assert!(
            messages.contains(&"lonely: sink has no inputs".to_string()),
            "{messages:?}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m.starts_with("a: input cycle: a -> b -> a")),
            "{messages:?}"
        );
        assert!(report.warnings.iter().any(|w| w.component == "src"));
    }

    #[test]
    fn warns_of_each_errors_output_nothing_consumes() {
        let mut nodes = BTreeMap::new();
        nodes.insert("src".into(), node(ComponentKind::Source, &[], &["errors"]));
        nodes.insert(
            "parse".into(),
            node(ComponentKind::Transform, &["src"], &["errors"]),
        );
        nodes.insert("out".into(), node(ComponentKind::Sink, &["parse"], &[]));
        let warnings: Vec<_> = check(&nodes)
            .warnings
            .into_iter()
            .map(|w| w.message)
            .collect();
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].starts_with("nothing consumes `parse.errors`"));
        assert!(warnings[1].starts_with("nothing consumes `src.errors`"));
    }

    /// A plugin's word on an output nothing consumes (a sink's dead letters kept in files) is a
    /// warning while nothing consumes it, and nothing once something does.
    #[test]
    fn says_what_happens_to_an_unconsumed_output_the_plugin_describes() {
        let mut nodes = BTreeMap::new();
        nodes.insert("src".into(), node(ComponentKind::Source, &[], &[]));
        let mut es = node(ComponentKind::Sink, &["src"], &["dead_letter"]);
        es.unconsumed
            .insert("dead_letter".into(), "kept in `d/dead_letter/es`".into());
        nodes.insert("es".into(), es);
        let warnings: Vec<_> = check(&nodes)
            .warnings
            .into_iter()
            .map(|w| w.message)
            .collect();
        assert_eq!(
            warnings,
            ["nothing consumes `es.dead_letter`: kept in `d/dead_letter/es`"]
        );
        nodes.insert(
            "dead".into(),
            node(ComponentKind::Sink, &["es.dead_letter"], &[]),
        );
        assert_eq!(check(&nodes).warnings, []);
    }

    #[test]
    fn a_component_without_a_default_output_is_consumed_by_its_named_outputs() {
        let mut nodes = BTreeMap::new();
        nodes.insert("src".into(), node(ComponentKind::Source, &[], &[]));
        let mut route = node(ComponentKind::Transform, &["src"], &["a", "_unmatched"]);
        route.default_output = false;
        nodes.insert("route".into(), route);
        nodes.insert("good".into(), node(ComponentKind::Sink, &["route.a"], &[]));
        nodes.insert("bad".into(), node(ComponentKind::Sink, &["route"], &[]));
        let report = check(&nodes);
        assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
        assert_eq!(report.errors[0].component, "bad");
        assert!(
            report.errors[0]
                .message
                .contains("route.a, route._unmatched"),
            "{:?}",
            report.errors
        );
        assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    }
}
