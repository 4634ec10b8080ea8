//! `weir schema`: the JSON Schema (draft 2020-12) of a pipeline file, made from the config structs.
//!
//! Every component's table is the schema its plugin registers ([`ComponentSpec::schema`], derived
//! with `schemars` from its config struct: doc comments are the descriptions, serde's defaults the
//! defaults, `#[schemars(range…)]` the bounds `validate` checks) with the runtime's own keys added:
//! `type` (the discriminator), `inputs` (transforms and sinks) and `buffer` (sinks). A section
//! (`sources`, `transforms`, `sinks`) maps component ids to a `oneOf` over its kind's types. The
//! same schemas feed the generated reference ([`crate::docs`]).
//!
//! The schema checks one file as it is written, before `${VAR}` interpolation and before the
//! checks that need the whole pipeline (inputs that name nothing, cycles, duplicate ids across
//! files) or a plugin's own code (globs, templates): those stay with `weir validate`.

use schemars::generate::SchemaSettings;
use schemars::SchemaGenerator;
use serde_json::{json, Map, Value};
use weir_core::buffer::BufferConfig;
use weir_core::component::{ComponentKind, ComponentSpec};
use weir_core::topology::ApiConfig;

use crate::registry;

/// The dialect of the schema.
pub const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// The pipeline file's sections of components, in file order.
pub const SECTIONS: [(&str, ComponentKind); 3] = [
    ("sources", ComponentKind::Source),
    ("transforms", ComponentKind::Transform),
    ("sinks", ComponentKind::Sink),
];

/// What a component id may look like (the graph check's rule: not empty, no dots, no spaces).
pub const ID_PATTERN: &str = r"^[^.\s]+$";

/// Description of the top-level `enrichment_tables` key.
pub const ENRICHMENT_TABLES_DESCRIPTION: &str = "Tables components look records up in (GeoIP \
    databases, CSV files), by name: `[enrichment_tables.<name>]`. Used by the `geoip` and `lookup` \
    transforms and by VRL's enrichment-table functions; reloaded when their file or object changes.";

/// The default `data_dir`.
pub const DEFAULT_DATA_DIR: &str = "./weir-data";

/// Description of the top-level `data_dir` key.
pub const DATA_DIR_DESCRIPTION: &str = "Directory under which components keep their state \
    (checkpoints), one subdirectory per component id. Several files of one pipeline may set it \
    only to the same value.";

/// Description of a component's `type` key.
pub const TYPE_DESCRIPTION: &str = "The component type (required).";

/// Description of the `inputs` key of transforms and sinks.
pub const INPUTS_DESCRIPTION: &str = "Where the component's events come from (required, at \
    least one, each once): component ids for their default output, or `id.output` for a named \
    output, e.g. `parsed.errors`.";

/// Description of a sink's `buffer` key.
pub const BUFFER_DESCRIPTION: &str = "The sink's input buffer: how many events may wait for it \
    and what happens when it is full.";

/// The section name of a kind.
pub fn section(kind: ComponentKind) -> &'static str {
    SECTIONS
        .iter()
        .find(|(_, k)| *k == kind)
        .map_or("sources", |(s, _)| s)
}

/// The schemas of everything a pipeline file holds, before they are put together.
pub struct Schemas {
    /// Every registered component with its table's schema (without the runtime's keys), by kind,
    /// then type name.
    pub components: Vec<(ComponentSpec, Value)>,
    /// The `api` table (a `$ref`).
    pub api: Value,
    /// A sink's `buffer` table (a `$ref`).
    pub buffer: Value,
    /// One `enrichment_tables.<name>` table (a `$ref`).
    pub enrichment_table: Value,
    /// The definitions the `$ref`s point to, by name.
    pub defs: Map<String, Value>,
}

impl Schemas {
    /// Generates every schema with one generator, so that shared types are defined once.
    pub fn generate() -> Self {
        let mut generator = SchemaGenerator::new(SchemaSettings::draft2020_12());
        let mut specs = registry::all();
        specs.sort_by_key(|s| (s.parse.kind(), s.type_name));
        let mut components = Vec::with_capacity(specs.len());
        for spec in specs {
            let mut schema = (spec.schema)(&mut generator).to_value();
            clean_descriptions(&mut schema);
            components.push((spec, schema));
        }
        let api = generator.subschema_for::<ApiConfig>().to_value();
        let buffer = generator.subschema_for::<BufferConfig>().to_value();
        let enrichment_table = generator
            .subschema_for::<weir_transforms::enrichment::TableConfig>()
            .to_value();
        let mut defs = generator.take_definitions(true);
        for def in defs.values_mut() {
            clean_descriptions(def);
        }
        Self {
            components,
            api,
            buffer,
            enrichment_table,
            defs,
        }
    }

    /// The components of one kind.
    pub fn of_kind(&self, kind: ComponentKind) -> impl Iterator<Item = &(ComponentSpec, Value)> {
        self.components
            .iter()
            .filter(move |(spec, _)| spec.parse.kind() == kind)
    }

    /// The definition a `{"$ref": "#/$defs/Name"}` points to; any other schema is itself.
    pub fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        let mut schema = schema;
        // Definitions may refer to definitions; a cycle cannot go on longer than there are defs.
        for _ in 0..=self.defs.len() {
            let Some(target) = schema
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/$defs/"))
                .and_then(|name| self.defs.get(name))
            else {
                break;
            };
            schema = target;
        }
        schema
    }

    /// One component type's variant of its section's `oneOf`: its table's schema with `type`,
    /// `inputs` and `buffer` added as its kind has them.
    pub fn variant(&self, spec: &ComponentSpec, plugin: &Value) -> Value {
        let kind = spec.parse.kind();
        let mut variant = plugin.clone();
        let object = variant
            .as_object_mut()
            .unwrap_or_else(|| panic!("the schema of {} is not an object", spec.type_name));
        let mut runtime = vec![(
            "type",
            json!({ "description": TYPE_DESCRIPTION, "type": "string", "const": spec.type_name }),
        )];
        if kind != ComponentKind::Source {
            runtime.push(("inputs", inputs_schema()));
        }
        if kind == ComponentKind::Sink {
            let mut buffer = self.buffer.clone();
            if let Some(buffer) = buffer.as_object_mut() {
                buffer.insert("description".into(), BUFFER_DESCRIPTION.into());
            }
            runtime.push(("buffer", buffer));
        }
        let properties = object
            .entry("properties")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("`properties` is an object");
        for (key, schema) in &runtime {
            let clash = properties.insert((*key).to_string(), schema.clone());
            assert!(
                clash.is_none(),
                "{} {}: the runtime's key `{key}` is also a config field",
                kind.as_str(),
                spec.type_name
            );
        }
        let required = object
            .entry("required")
            .or_insert_with(|| json!([]))
            .as_array_mut()
            .expect("`required` is an array");
        let mut keys = vec![Value::from("type")];
        if kind != ComponentKind::Source {
            keys.push("inputs".into());
        }
        keys.append(required);
        *required = keys;
        object.insert("additionalProperties".into(), false.into());
        object.insert(
            "title".into(),
            format!("{} {}", spec.type_name, kind.as_str()).into(),
        );
        let description = match object.get("description").and_then(Value::as_str) {
            Some(own) => format!("{}\n\n{own}", spec.description),
            None => spec.description.to_string(),
        };
        object.insert("description".into(), description.into());
        variant
    }

    /// The schema of a whole pipeline file.
    pub fn pipeline(&self) -> Value {
        let mut properties = Map::new();
        properties.insert(
            "data_dir".into(),
            json!({
                "description": DATA_DIR_DESCRIPTION,
                "type": "string",
                "default": DEFAULT_DATA_DIR,
            }),
        );
        properties.insert("api".into(), self.api.clone());
        properties.insert(
            crate::config::tables::SECTION.into(),
            json!({
                "description": ENRICHMENT_TABLES_DESCRIPTION,
                "type": "object",
                "propertyNames": { "pattern": ID_PATTERN },
                "additionalProperties": self.enrichment_table,
            }),
        );
        for (name, kind) in SECTIONS {
            let variants: Vec<Value> = self
                .of_kind(kind)
                .map(|(spec, plugin)| self.variant(spec, plugin))
                .collect();
            properties.insert(
                name.into(),
                json!({
                    "description": format!(
                        "The pipeline's {name}, by component id; `type` says which kind of {}.",
                        kind.as_str()
                    ),
                    "type": "object",
                    "propertyNames": { "pattern": ID_PATTERN },
                    "additionalProperties": { "oneOf": variants },
                }),
            );
        }
        json!({
            "$schema": DIALECT,
            "title": "Weir pipeline file",
            "description": "A Weir pipeline file (TOML or YAML). Several files given together \
                are merged; each holds some of the pipeline's components.",
            "type": "object",
            "properties": properties,
            "additionalProperties": false,
            "$defs": self.defs,
        })
    }
}

/// The schema of `inputs`.
fn inputs_schema() -> Value {
    json!({
        "description": INPUTS_DESCRIPTION,
        "type": "array",
        "items": { "type": "string", "minLength": 1 },
        "minItems": 1,
        "uniqueItems": true,
    })
}

/// The JSON Schema of a pipeline file.
pub fn pipeline_schema() -> Value {
    Schemas::generate().pipeline()
}

/// Rewrites every `description` below `schema` with [`plain_links`].
fn clean_descriptions(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                match value {
                    Value::String(text) if key == "description" => *text = plain_links(text),
                    _ => clean_descriptions(value),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(clean_descriptions),
        _ => {}
    }
}

/// Doc comments are written for rustdoc: intra-doc links (`` [`Framing`] ``, `[module docs](self)`)
/// mean nothing in an editor or the reference. They become their text; web links and everything in
/// code spans and fenced blocks stay as they are.
pub fn plain_links(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_fence = false;
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            out.push_str(line);
        } else if in_fence {
            out.push_str(line);
        } else {
            plain_links_in_line(line, &mut out);
        }
    }
    out
}

fn plain_links_in_line(line: &str, out: &mut String) {
    let mut rest = line;
    while let Some(at) = rest.find(['`', '[']) {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        if rest.starts_with('`') {
            // A code span: copied whole.
            let end = rest[1..].find('`').map_or(rest.len(), |e| e + 2);
            out.push_str(&rest[..end]);
            rest = &rest[end..];
            continue;
        }
        let Some(close) = closing_bracket(rest) else {
            out.push_str(rest);
            return;
        };
        let label = &rest[1..close];
        let after = &rest[close + 1..];
        if let Some(target) = after.strip_prefix('(').and_then(|t| t.split_once(')')) {
            let (target, tail) = target;
            if target.starts_with("http://") || target.starts_with("https://") {
                out.push_str(&rest[..close + 1 + 1 + target.len() + 1]);
            } else {
                out.push_str(label);
            }
            rest = tail;
        } else if is_intra_doc_label(label) {
            out.push_str(label);
            rest = after;
        } else {
            out.push('[');
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
}

/// The position of the `]` closing the `[` `text` starts with, skipping code spans.
fn closing_bracket(text: &str) -> Option<usize> {
    let mut in_code = false;
    for (i, c) in text.char_indices().skip(1) {
        match c {
            '`' => in_code = !in_code,
            ']' if !in_code => return Some(i),
            '[' if !in_code => return None,
            _ => {}
        }
    }
    None
}

/// `` `Framing` `` or `weir_aws::client::AwsAuth`: what rustdoc resolves as a link.
fn is_intra_doc_label(label: &str) -> bool {
    let inner = label
        .strip_prefix('`')
        .and_then(|l| l.strip_suffix('`'))
        .unwrap_or(label);
    !inner.is_empty()
        && inner
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | ':' | '.' | '(' | ')' | '!'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intra_doc_links_become_text() {
        assert_eq!(
            plain_links("see [`Framing`] and the [module docs](self); [`x`](crate::x)"),
            "see `Framing` and the module docs; `x`"
        );
        assert_eq!(
            plain_links("kept: `[\"a\"]`, [AWS](https://aws.amazon.com), [a b]"),
            "kept: `[\"a\"]`, [AWS](https://aws.amazon.com), [a b]"
        );
        assert_eq!(
            plain_links("```toml\n[sources.x]\n```\n[`A`]"),
            "```toml\n[sources.x]\n```\n`A`"
        );
    }

    #[test]
    fn every_component_has_an_object_schema_with_the_runtime_keys() {
        let schemas = Schemas::generate();
        assert_eq!(schemas.components.len(), registry::all().len());
        for (spec, plugin) in &schemas.components {
            let variant = schemas.variant(spec, plugin);
            assert_eq!(variant["type"], "object", "{}", spec.type_name);
            assert_eq!(variant["additionalProperties"], false, "{}", spec.type_name);
            assert_eq!(variant["properties"]["type"]["const"], spec.type_name);
            let required = variant["required"].as_array().expect("required");
            assert_eq!(required[0], "type");
            let has_inputs = variant["properties"].get("inputs").is_some();
            assert_eq!(has_inputs, spec.parse.kind() != ComponentKind::Source);
        }
        let schema = schemas.pipeline();
        assert_eq!(schema["$schema"], DIALECT);
        assert!(schema["$defs"]["BufferConfig"].is_object());
    }
}
