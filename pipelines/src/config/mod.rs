//! Loading pipeline files: read, interpolate `${VAR}`, parse TOML or YAML (by extension), merge
//! several files, parse every component through the registry, check the graph — and report every
//! problem at once, each with file, line/column (where known), component and key.

pub mod interpolate;
pub mod locate;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value as Json};
use weir_core::buffer::BufferConfig;
use weir_core::component::{
    deserialize_config, BuildContext, ComponentKind, ConfigProblem, ParseConfig,
};
use weir_core::topology::graph::{self, Node};
use weir_core::topology::{ApiConfig, ComponentConfig, PipelineConfig, PluginConfig};

use crate::registry;
use locate::Syntax;

/// Error or warning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// The pipeline cannot run.
    Error,
    /// The pipeline runs, but this is probably a mistake.
    Warning,
}

/// One finding about a pipeline file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The file, when the finding belongs to one.
    pub file: Option<PathBuf>,
    /// 1-based line and column, where known.
    pub position: Option<(usize, usize)>,
    /// The component concerned.
    pub component: Option<(ComponentKind, String)>,
    /// The key concerned (dotted path), if any.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.severity {
            Severity::Error => f.write_str("error: ")?,
            Severity::Warning => f.write_str("warning: ")?,
        }
        if let Some(file) = &self.file {
            write!(f, "{}", file.display())?;
            if let Some((line, column)) = self.position {
                write!(f, ":{line}:{column}")?;
            }
            f.write_str(": ")?;
        }
        if let Some((kind, id)) = &self.component {
            write!(f, "{} `{id}`: ", kind.as_str())?;
        }
        if let Some(key) = self.key.as_deref().filter(|k| !k.is_empty()) {
            write!(f, "`{key}`: ")?;
        }
        f.write_str(&self.message)
    }
}

/// A loaded pipeline and its warnings.
#[derive(Debug)]
pub struct Loaded {
    /// The validated pipeline.
    pub config: PipelineConfig,
    /// Things that work but are probably mistakes.
    pub warnings: Vec<Diagnostic>,
}

/// One pipeline file's text.
#[derive(Clone, Debug)]
pub struct PipelineFile {
    /// Its path (or a name, for embedded files).
    pub path: PathBuf,
    /// Its contents.
    pub text: String,
}

impl PipelineFile {
    /// Reads a file from disk.
    pub fn read(path: &Path) -> Result<Self, Box<Diagnostic>> {
        std::fs::read_to_string(path)
            .map(|text| Self {
                path: path.to_path_buf(),
                text,
            })
            .map_err(|e| {
                Box::new(Diagnostic {
                    severity: Severity::Error,
                    file: Some(path.to_path_buf()),
                    position: None,
                    component: None,
                    key: None,
                    message: format!("cannot read pipeline file: {e}"),
                })
            })
    }
}

/// Whether loading also builds every component (without starting it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Build {
    /// Parse and check only: nothing outside the pipeline files is touched.
    No,
    /// Also build each component, so problems only building shows (a TLS file that does not
    /// exist, a certificate that does not parse) are reported at the component's file:line.
    Yes,
}

/// Loads and validates pipeline files from disk.
pub fn load_paths(paths: &[PathBuf], build: Build) -> Result<Loaded, Vec<Diagnostic>> {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        match PipelineFile::read(path) {
            Ok(f) => files.push(f),
            Err(d) => errors.push(*d),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    load_with(&files, |name| std::env::var(name).ok(), build)
}

const SECTIONS: [(&str, ComponentKind); 3] = [
    ("sources", ComponentKind::Source),
    ("transforms", ComponentKind::Transform),
    ("sinks", ComponentKind::Sink),
];

struct Parsed {
    file: usize,
    syntax: Syntax,
    text: String,
}

struct Origin {
    file: usize,
    kind: ComponentKind,
}

/// Loads and validates pipeline files given as text; `env` resolves `${VAR}`.
pub fn load(
    files: &[PipelineFile],
    env: impl Fn(&str) -> Option<String>,
) -> Result<Loaded, Vec<Diagnostic>> {
    load_with(files, env, Build::No)
}

/// [`load`], building every component when `build` says so.
///
/// Every problem is reported, in this order: each file's syntax and top-level keys, file by
/// file; then each component's own config, by id; then the graph; and only if all of that is
/// fine, what building shows.
pub fn load_with(
    files: &[PipelineFile],
    env: impl Fn(&str) -> Option<String>,
    build: Build,
) -> Result<Loaded, Vec<Diagnostic>> {
    let mut cx = Checker {
        files,
        parsed: Vec::new(),
        diagnostics: Vec::new(),
    };
    let mut top = TopLevel::default();
    for (index, file) in files.iter().enumerate() {
        let Some(keys) = cx.parse_file(index, file, &env) else {
            continue;
        };
        for (key, value) in keys {
            cx.top_level_key(&mut top, index, key, value);
        }
    }
    let Components {
        components,
        origins,
        nodes,
    } = cx.parse_components(top.tables);
    let warnings = cx.check_graph(&nodes, &origins);
    if !cx.diagnostics.is_empty() {
        return Err(cx.diagnostics);
    }
    let data_dir = PathBuf::from(
        top.data_dir
            .map(|(d, _)| d)
            .unwrap_or_else(|| "./weir-data".into()),
    );
    if build == Build::Yes {
        cx.try_build(&components, &origins, &data_dir);
        if !cx.diagnostics.is_empty() {
            return Err(cx.diagnostics);
        }
    }
    Ok(Loaded {
        config: PipelineConfig {
            data_dir,
            api: top.api.map(|(a, _)| a).unwrap_or_default(),
            components,
        },
        warnings,
    })
}

/// The top-level keys of every file, merged; each with the index of the file it came from.
#[derive(Default)]
struct TopLevel {
    data_dir: Option<(String, usize)>,
    api: Option<(ApiConfig, usize)>,
    tables: BTreeMap<String, (Origin, Map<String, Json>)>,
}

/// Every component of the pipeline, parsed, and the graph they make.
struct Components {
    /// The components whose config parsed and validated.
    components: BTreeMap<String, ComponentConfig>,
    /// Where each component (also one that failed) is defined.
    origins: BTreeMap<String, Origin>,
    /// The graph of every component (also one that failed).
    nodes: BTreeMap<String, Node>,
}

impl Checker<'_> {
    /// Merges one top-level key of file `index` into `top`; records what is wrong with it.
    fn top_level_key(&mut self, top: &mut TopLevel, index: usize, key: String, value: Json) {
        match key.as_str() {
            "data_dir" => self.data_dir(top, index, value),
            "api" => self.api(top, index, value),
            section @ ("sources" | "transforms" | "sinks") => {
                self.add_section(top, index, section, value)
            }
            other => self.top_error(
                index,
                other,
                format!("unknown top-level key `{other}` (expected data_dir, api, sources, transforms or sinks)"),
            ),
        }
    }

    /// `data_dir`: a string, the same in every file that has one.
    fn data_dir(&mut self, top: &mut TopLevel, index: usize, value: Json) {
        let Json::String(dir) = value else {
            self.top_error(index, "data_dir", "must be a string path".into());
            return;
        };
        match &top.data_dir {
            Some((other, other_file)) if *other != dir => {
                let message = format!(
                    "`data_dir` is `{dir}` here but `{other}` in {}",
                    self.files[*other_file].path.display()
                );
                self.top_error(index, "data_dir", message);
            }
            _ => top.data_dir = Some((dir, index)),
        }
    }

    /// `[api]`: parsed, and the same in every file that has one.
    fn api(&mut self, top: &mut TopLevel, index: usize, value: Json) {
        match deserialize_config::<ApiConfig>(value) {
            Ok(parsed) => match &top.api {
                Some((other, other_file)) if *other != parsed => {
                    let message = format!(
                        "`api` differs from the one in {}",
                        self.files[*other_file].path.display()
                    );
                    self.top_error(index, "api", message);
                }
                _ => top.api = Some((parsed, index)),
            },
            Err(e) => {
                let key = if e.key.is_empty() {
                    "api".to_string()
                } else {
                    format!("api.{}", e.key)
                };
                self.top_error(index, &key, e.message);
            }
        }
    }

    /// `sources`, `transforms` or `sinks`: a table of component tables by id, each id defined
    /// once across every file and section.
    fn add_section(&mut self, top: &mut TopLevel, index: usize, section: &str, value: Json) {
        let kind = SECTIONS
            .iter()
            .find(|(s, _)| *s == section)
            .map(|(_, k)| *k)
            .unwrap_or(ComponentKind::Source);
        let Json::Object(components) = value else {
            let message = format!("`{section}` must be a table of components by id");
            self.top_error(index, section, message);
            return;
        };
        for (id, table) in components {
            let Json::Object(table) = table else {
                let message = "a component must be a table".into();
                self.component_error(index, kind, &id, "", message);
                continue;
            };
            if let Some((origin, _)) = top.tables.get(&id) {
                let (line, _) = self
                    .component_position(origin.file, origin.kind, &id)
                    .unwrap_or((0, 0));
                let message = format!(
                    "duplicate component id `{id}`: already defined as a {} at {}:{line}",
                    origin.kind.as_str(),
                    self.files[origin.file].path.display()
                );
                self.component_error(index, kind, &id, "", message);
                continue;
            }
            top.tables.insert(id, (Origin { file: index, kind }, table));
        }
    }

    /// Parses every component's table, by id. The graph covers every component, also those whose
    /// own config failed (their inputs are still known), so one mistake does not cascade into
    /// "unknown input" errors elsewhere.
    fn parse_components(
        &mut self,
        tables: BTreeMap<String, (Origin, Map<String, Json>)>,
    ) -> Components {
        let mut components = BTreeMap::new();
        let mut origins = BTreeMap::new();
        let mut nodes = BTreeMap::new();
        for (id, (origin, table)) in tables {
            let inputs = match table.get("inputs") {
                Some(Json::Array(items)) => items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_string))
                    .collect(),
                _ => Vec::new(),
            };
            let mut node = Node {
                kind: origin.kind,
                inputs,
                outputs: None,
            };
            if let Some(component) = self.component(&origin, &id, table) {
                node.outputs = Some(component.plugin.outputs());
                components.insert(id.clone(), component);
            }
            nodes.insert(id.clone(), node);
            origins.insert(id, origin);
        }
        Components {
            components,
            origins,
            nodes,
        }
    }

    /// Checks the graph: its errors are recorded, its warnings returned.
    fn check_graph(
        &mut self,
        nodes: &BTreeMap<String, Node>,
        origins: &BTreeMap<String, Origin>,
    ) -> Vec<Diagnostic> {
        let report = graph::check(nodes);
        let mut warnings = Vec::new();
        for (issues, severity) in [
            (report.errors, Severity::Error),
            (report.warnings, Severity::Warning),
        ] {
            for issue in issues {
                let Some(origin) = origins.get(&issue.component) else {
                    continue;
                };
                let d = self.located(
                    origin.file,
                    origin.kind,
                    &issue.component,
                    &issue.key,
                    issue.message,
                    severity,
                );
                match severity {
                    Severity::Error => self.diagnostics.push(d),
                    Severity::Warning => warnings.push(d),
                }
            }
        }
        warnings
    }

    /// Builds every component and drops it unstarted ([`Build::Yes`]), recording what fails.
    fn try_build(
        &mut self,
        components: &BTreeMap<String, ComponentConfig>,
        origins: &BTreeMap<String, Origin>,
        data_dir: &Path,
    ) {
        for (id, component) in components {
            let Some(origin) = origins.get(id) else {
                continue;
            };
            let type_name = &component.type_name;
            let bcx = BuildContext::standalone(id, origin.kind, type_name, data_dir.to_path_buf());
            if let Err(e) = component.plugin.try_build(&bcx) {
                let d = self.located(
                    origin.file,
                    origin.kind,
                    id,
                    &e.key,
                    e.message,
                    Severity::Error,
                );
                self.diagnostics.push(d);
            }
        }
    }
}

struct Checker<'a> {
    files: &'a [PipelineFile],
    parsed: Vec<Parsed>,
    diagnostics: Vec<Diagnostic>,
}

impl Checker<'_> {
    fn parse_file(
        &mut self,
        index: usize,
        file: &PipelineFile,
        env: &impl Fn(&str) -> Option<String>,
    ) -> Option<Map<String, Json>> {
        let error = |position, message| Diagnostic {
            severity: Severity::Error,
            file: Some(file.path.clone()),
            position,
            component: None,
            key: None,
            message,
        };
        let syntax = match file.path.extension().and_then(|e| e.to_str()) {
            Some("toml") => Syntax::Toml,
            Some("yaml" | "yml") => Syntax::Yaml,
            _ => {
                self.diagnostics.push(error(
                    None,
                    "unsupported file extension: use .toml, .yaml or .yml".into(),
                ));
                return None;
            }
        };
        let text = match interpolate::interpolate(&file.text, env) {
            Ok(text) => text,
            Err(errors) => {
                for e in errors {
                    self.diagnostics
                        .push(error(Some((e.line, e.column)), e.message));
                }
                return None;
            }
        };
        let top = match syntax {
            Syntax::Toml => match toml::from_str::<toml::Table>(&text) {
                Ok(table) => serde_json::to_value(table).ok(),
                Err(e) => {
                    let position = e.span().map(|s| locate::line_col(&text, s.start));
                    let message = e.message().trim().replace('\n', "; ");
                    self.diagnostics
                        .push(error(position, format!("invalid TOML: {message}")));
                    return None;
                }
            },
            Syntax::Yaml => match serde_yaml::from_str::<Json>(&text) {
                Ok(Json::Null) => Some(Json::Object(Map::new())),
                Ok(value) => Some(value),
                Err(e) => {
                    let position = e.location().map(|l| (l.line(), l.column()));
                    let message = e.to_string();
                    let message = message
                        .split(" at line ")
                        .next()
                        .unwrap_or(&message)
                        .to_string();
                    self.diagnostics
                        .push(error(position, format!("invalid YAML: {message}")));
                    return None;
                }
            },
        };
        let Some(Json::Object(top)) = top else {
            self.diagnostics.push(error(
                None,
                "a pipeline file must be a table/mapping at the top level".into(),
            ));
            return None;
        };
        self.parsed.push(Parsed {
            file: index,
            syntax,
            text,
        });
        Some(top)
    }

    fn parsed(&self, file: usize) -> Option<&Parsed> {
        self.parsed.iter().find(|p| p.file == file)
    }

    fn top_error(&mut self, file: usize, key: &str, message: String) {
        let root = key.split('.').next().unwrap_or(key);
        let position = self
            .parsed(file)
            .and_then(|p| locate::top_level(&p.text, p.syntax, root));
        self.diagnostics.push(Diagnostic {
            severity: Severity::Error,
            file: Some(self.files[file].path.clone()),
            position,
            component: None,
            key: Some(key.to_string()),
            message,
        });
    }

    fn component_position(
        &self,
        file: usize,
        kind: ComponentKind,
        id: &str,
    ) -> Option<(usize, usize)> {
        let p = self.parsed(file)?;
        locate::component(&p.text, p.syntax, section(kind), id)
    }

    fn located(
        &self,
        file: usize,
        kind: ComponentKind,
        id: &str,
        key: &str,
        message: String,
        severity: Severity,
    ) -> Diagnostic {
        let position = self.parsed(file).and_then(|p| {
            if key.is_empty() {
                locate::component(&p.text, p.syntax, section(kind), id)
            } else {
                locate::key(&p.text, p.syntax, section(kind), id, key)
            }
        });
        Diagnostic {
            severity,
            file: Some(self.files[file].path.clone()),
            position,
            component: Some((kind, id.to_string())),
            key: (!key.is_empty()).then(|| key.to_string()),
            message,
        }
    }

    fn component_error(
        &mut self,
        file: usize,
        kind: ComponentKind,
        id: &str,
        key: &str,
        message: String,
    ) {
        let d = self.located(file, kind, id, key, message, Severity::Error);
        self.diagnostics.push(d);
    }

    /// Parses one component's table; records every problem and returns `None` if there was any.
    /// The runtime's own keys (`type`, `inputs`, `buffer`) are checked first, in that order, then
    /// the plugin's config.
    fn component(
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

fn section(kind: ComponentKind) -> &'static str {
    match kind {
        ComponentKind::Source => "sources",
        ComponentKind::Transform => "transforms",
        ComponentKind::Sink => "sinks",
    }
}

#[cfg(test)]
mod tests {
    use weir_core::topology::diff::{self, Change};

    use super::*;

    fn pipeline(text: &str) -> PipelineConfig {
        let file = PipelineFile {
            path: PathBuf::from("pipeline.toml"),
            text: text.to_string(),
        };
        load(&[file], |_| None).expect("the pipeline loads").config
    }

    /// What a reload from `old` to `new` does to each component.
    fn changes(old: &str, new: &str) -> BTreeMap<String, Change> {
        let (old, new) = (pipeline(old), pipeline(new));
        diff::diff(
            &diff::shapes(&old.components),
            &diff::shapes(&new.components),
        )
        .changes
    }

    const BASE: &str = r#"
[sources.logs]
type = "file"
include = ["/var/log/*.log"]

[sinks.out]
type = "console"
inputs = ["logs"]
"#;

    #[test]
    fn a_reload_compares_parsed_configs_not_tables_as_written() {
        let defaults_written = r#"
[sources.logs]
include = ["/var/log/*.log"]
read_from = "beginning"
max_line_bytes = 1048576
type = "file"

[sinks.out]
type = "console"
inputs = ["logs"]
encoding = "ndjson"
buffer = { max_events = 500, when_full = "block" }
"#;
        assert_ne!(
            pipeline(BASE).components["logs"].raw,
            pipeline(defaults_written).components["logs"].raw,
            "the tables differ as written"
        );
        for (old, new) in [(BASE, defaults_written), (defaults_written, BASE)] {
            let changes = changes(old, new);
            assert_eq!(changes["logs"], Change::Unchanged, "defaults written out");
            assert_eq!(changes["out"], Change::Unchanged, "defaults written out");
        }

        let changed = BASE
            .replace("include = [", "read_from = \"end\"\ninclude = [")
            .replace(
                "type = \"console\"",
                "type = \"console\"\nbuffer.max_events = 10",
            );
        let changes = changes(BASE, &changed);
        assert_eq!(changes["logs"], Change::Changed, "a value changed");
        assert_eq!(changes["out"], Change::Changed, "the buffer changed");
    }
}
