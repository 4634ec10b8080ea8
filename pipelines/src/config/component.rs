//! One component's table: the runtime's own keys (`type`, `inputs`, `buffer`) taken out and
//! checked, then the rest parsed by the plugin's registered parser and validated.

use serde_json::{Map, Value as Json};
use weir_core::buffer::BufferConfig;
use weir_core::component::{deserialize_config, ComponentKind, ConfigProblem, ParseConfig};
use weir_core::topology::{ComponentConfig, PluginConfig};

use super::{Checker, Origin};
use crate::registry;

impl Checker<'_> {
    /// Parses one component's table; records every problem and returns `None` if there was any.
    /// The runtime's own keys (`type`, `inputs`, `buffer`) are checked first, in that order, then
    /// the plugin's config.
    pub(super) fn component(
        &mut self,
        origin: &Origin,
        id: &str,
        mut table: Map<String, Json>,
    ) -> Option<ComponentConfig> {
        let raw = Json::Object(table.clone());
        let before = self.diagnostics.len();
        let type_name = self.type_name(origin, id, &mut table);
        let inputs = self.inputs(origin, id, &mut table);
        let buffer = self.buffer(origin, id, &mut table);
        let type_name = type_name?;
        let plugin = self.plugin(origin, id, &type_name, table)?;
        if self.diagnostics.len() > before {
            return None;
        }
        Some(ComponentConfig {
            type_name,
            inputs,
            buffer,
            plugin,
            raw,
        })
    }

    /// Takes `type` out of a component's table.
    fn type_name(
        &mut self,
        origin: &Origin,
        id: &str,
        table: &mut Map<String, Json>,
    ) -> Option<String> {
        let (file, kind) = (origin.file, origin.kind);
        match table.remove("type") {
            Some(Json::String(t)) => Some(t),
            Some(_) => {
                self.component_error(file, kind, id, "type", "must be a string".into());
                None
            }
            None => {
                self.component_error(file, kind, id, "type", "missing `type`".into());
                None
            }
        }
    }

    /// Takes `inputs` out of a transform's or sink's table (a source's is left to its config,
    /// which refuses it as unknown).
    fn inputs(&mut self, origin: &Origin, id: &str, table: &mut Map<String, Json>) -> Vec<String> {
        let (file, kind) = (origin.file, origin.kind);
        let mut inputs = Vec::new();
        if kind == ComponentKind::Source {
            return inputs;
        }
        match table.remove("inputs") {
            Some(Json::Array(items)) => {
                for item in items {
                    match item {
                        Json::String(s) => inputs.push(s),
                        other => self.component_error(
                            file,
                            kind,
                            id,
                            "inputs",
                            format!("inputs must be strings, found {other}"),
                        ),
                    }
                }
            }
            Some(_) => self.component_error(
                file,
                kind,
                id,
                "inputs",
                "must be an array of component ids".into(),
            ),
            None => {}
        }
        inputs
    }

    /// Takes `buffer` out of a sink's table (anyone else's is left to its config, which refuses
    /// it as unknown).
    fn buffer(&mut self, origin: &Origin, id: &str, table: &mut Map<String, Json>) -> BufferConfig {
        let (file, kind) = (origin.file, origin.kind);
        if kind != ComponentKind::Sink {
            return BufferConfig::default();
        }
        let Some(value) = table.remove("buffer") else {
            return BufferConfig::default();
        };
        match deserialize_config::<BufferConfig>(value) {
            Ok(b) if b.max_events < weir_core::buffer::MAX_EVENTS_MIN => {
                let message = format!("must be at least {}", weir_core::buffer::MAX_EVENTS_MIN);
                self.component_error(file, kind, id, "buffer.max_events", message);
            }
            Ok(b) => return b,
            Err(e) => {
                let key = if e.key.is_empty() {
                    "buffer".into()
                } else {
                    format!("buffer.{}", e.key)
                };
                self.component_error(file, kind, id, &key, e.message)
            }
        }
        BufferConfig::default()
    }

    /// Parses the rest of a component's table into its type's config and validates it. `None`
    /// if the type is unknown or the table does not parse; validation problems are recorded and
    /// the config is still returned.
    fn plugin(
        &mut self,
        origin: &Origin,
        id: &str,
        type_name: &str,
        table: Map<String, Json>,
    ) -> Option<PluginConfig> {
        let (file, kind) = (origin.file, origin.kind);
        let Some(spec) = registry::find(kind, type_name) else {
            let message = format!(
                "unknown {} type `{type_name}` (known: {})",
                kind.as_str(),
                registry::names(kind).join(", ")
            );
            self.component_error(file, kind, id, "type", message);
            return None;
        };
        let table = Json::Object(table);
        let parsed = match spec.parse {
            ParseConfig::Source(parse) => parse(table).map(PluginConfig::Source),
            ParseConfig::Transform(parse) => parse(table).map(PluginConfig::Transform),
            ParseConfig::Sink(parse) => parse(table).map(PluginConfig::Sink),
        };
        let plugin = match parsed {
            Ok(p) => p,
            Err(e) => {
                self.component_error(file, kind, id, &e.key, e.message);
                return None;
            }
        };
        let problems: Vec<ConfigProblem> = plugin.common().validate();
        for problem in problems {
            self.component_error(file, kind, id, &problem.key, problem.message);
        }
        Some(plugin)
    }
}
