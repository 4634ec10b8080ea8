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
use weir_core::component::{deserialize_config, ComponentKind, ConfigProblem, ParseConfig};
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

/// Loads and validates pipeline files from disk.
pub fn load_paths(paths: &[PathBuf]) -> Result<Loaded, Vec<Diagnostic>> {
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
    load(&files, |name| std::env::var(name).ok())
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
    let mut cx = Checker {
        files,
        parsed: Vec::new(),
        diagnostics: Vec::new(),
    };
    let mut data_dir: Option<(String, usize)> = None;
    let mut api: Option<(ApiConfig, usize)> = None;
    let mut tables: BTreeMap<String, (Origin, Map<String, Json>)> = BTreeMap::new();

    for (index, file) in files.iter().enumerate() {
        let Some(top) = cx.parse_file(index, file, &env) else {
            continue;
        };
        for (key, value) in top {
            match key.as_str() {
                "data_dir" => match value {
                    Json::String(dir) => match &data_dir {
                        Some((other, other_file)) if *other != dir => {
                            let message = format!(
                                "`data_dir` is `{dir}` here but `{other}` in {}",
                                files[*other_file].path.display()
                            );
                            cx.top_error(index, "data_dir", message);
                        }
                        _ => data_dir = Some((dir, index)),
                    },
                    _ => cx.top_error(index, "data_dir", "must be a string path".into()),
                },
                "api" => match deserialize_config::<ApiConfig>(value) {
                    Ok(parsed) => match &api {
                        Some((other, other_file)) if *other != parsed => {
                            let message = format!("`api` differs from the one in {}", files[*other_file].path.display());
                            cx.top_error(index, "api", message);
                        }
                        _ => api = Some((parsed, index)),
                    },
                    Err(e) => {
                        let key = if e.key.is_empty() { "api".to_string() } else { format!("api.{}", e.key) };
                        cx.top_error(index, &key, e.message);
                    }
                },
                section @ ("sources" | "transforms" | "sinks") => {
                    let kind = SECTIONS.iter().find(|(s, _)| *s == section).map(|(_, k)| *k).unwrap_or(ComponentKind::Source);
                    let Json::Object(components) = value else {
                        cx.top_error(index, section, format!("`{section}` must be a table of components by id"));
                        continue;
                    };
                    for (id, table) in components {
                        let Json::Object(table) = table else {
                            cx.component_error(index, kind, &id, "", "a component must be a table".into());
                            continue;
                        };
                        if let Some((origin, _)) = tables.get(&id) {
                            let (line, _) = cx.component_position(origin.file, origin.kind, &id).unwrap_or((0, 0));
                            let message = format!(
                                "duplicate component id `{id}`: already defined as a {} at {}:{line}",
                                origin.kind.as_str(),
                                files[origin.file].path.display()
                            );
                            cx.component_error(index, kind, &id, "", message);
                            continue;
                        }
                        tables.insert(id, (Origin { file: index, kind }, table));
                    }
                }
                other => cx.top_error(
                    index,
                    other,
                    format!("unknown top-level key `{other}` (expected data_dir, api, sources, transforms or sinks)"),
                ),
            }
        }
    }

    let mut components = BTreeMap::new();
    let mut origins = BTreeMap::new();
    // Graph checks cover every component, also those whose own config failed (their inputs are
    // still known), so one mistake does not cascade into "unknown input" errors elsewhere.
    let mut nodes: BTreeMap<String, Node> = BTreeMap::new();
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
        if let Some(component) = cx.component(&origin, &id, table) {
            node.outputs = Some(component.plugin.outputs());
            components.insert(id.clone(), component);
        }
        nodes.insert(id.clone(), node);
        origins.insert(id, origin);
    }

    let report = graph::check(&nodes);
    let mut warnings = Vec::new();
    for (issues, severity) in [
        (report.errors, Severity::Error),
        (report.warnings, Severity::Warning),
    ] {
        for issue in issues {
            let Some(origin) = origins.get(&issue.component) else {
                continue;
            };
            let d = cx.located(
                origin.file,
                origin.kind,
                &issue.component,
                &issue.key,
                issue.message,
                severity,
            );
            match severity {
                Severity::Error => cx.diagnostics.push(d),
                Severity::Warning => warnings.push(d),
            }
        }
    }

    if !cx.diagnostics.is_empty() {
        return Err(cx.diagnostics);
    }
    Ok(Loaded {
        config: PipelineConfig {
            data_dir: PathBuf::from(
                data_dir
                    .map(|(d, _)| d)
                    .unwrap_or_else(|| "./weir-data".into()),
            ),
            api: api.map(|(a, _)| a).unwrap_or_default(),
            components,
        },
        warnings,
    })
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
    fn component(
        &mut self,
        origin: &Origin,
        id: &str,
        mut table: Map<String, Json>,
    ) -> Option<ComponentConfig> {
        let raw = Json::Object(table.clone());
        let kind = origin.kind;
        let before = self.diagnostics.len();
        let type_name = match table.remove("type") {
            Some(Json::String(t)) => Some(t),
            Some(_) => {
                self.component_error(origin.file, kind, id, "type", "must be a string".into());
                None
            }
            None => {
                self.component_error(origin.file, kind, id, "type", "missing `type`".into());
                None
            }
        };
        let mut inputs = Vec::new();
        if kind != ComponentKind::Source {
            match table.remove("inputs") {
                Some(Json::Array(items)) => {
                    for item in items {
                        match item {
                            Json::String(s) => inputs.push(s),
                            other => self.component_error(
                                origin.file,
                                kind,
                                id,
                                "inputs",
                                format!("inputs must be strings, found {other}"),
                            ),
                        }
                    }
                }
                Some(_) => self.component_error(
                    origin.file,
                    kind,
                    id,
                    "inputs",
                    "must be an array of component ids".into(),
                ),
                None => {}
            }
        }
        let mut buffer = BufferConfig::default();
        if kind == ComponentKind::Sink {
            if let Some(value) = table.remove("buffer") {
                match deserialize_config::<BufferConfig>(value) {
                    Ok(b) if b.max_events == 0 => self.component_error(
                        origin.file,
                        kind,
                        id,
                        "buffer.max_events",
                        "must be at least 1".into(),
                    ),
                    Ok(b) => buffer = b,
                    Err(e) => {
                        let key = if e.key.is_empty() {
                            "buffer".into()
                        } else {
                            format!("buffer.{}", e.key)
                        };
                        self.component_error(origin.file, kind, id, &key, e.message)
                    }
                }
            }
        }
        let type_name = type_name?;
        let Some(spec) = registry::find(kind, &type_name) else {
            let message = format!(
                "unknown {} type `{type_name}` (known: {})",
                kind.as_str(),
                registry::names(kind).join(", ")
            );
            self.component_error(origin.file, kind, id, "type", message);
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
                self.component_error(origin.file, kind, id, &e.key, e.message);
                return None;
            }
        };
        let problems: Vec<ConfigProblem> = match &plugin {
            PluginConfig::Source(c) => c.validate(),
            PluginConfig::Transform(c) => c.validate(),
            PluginConfig::Sink(c) => c.validate(),
        };
        for problem in problems {
            self.component_error(origin.file, kind, id, &problem.key, problem.message);
        }
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
}

fn section(kind: ComponentKind) -> &'static str {
    match kind {
        ComponentKind::Source => "sources",
        ComponentKind::Transform => "transforms",
        ComponentKind::Sink => "sinks",
    }
}
