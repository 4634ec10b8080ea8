//! Loading pipeline files: read, interpolate `${VAR}`, parse TOML or YAML (by extension), merge
//! several files, parse every component through the registry, check the graph — and report every
//! problem at once, each with file, line/column (where known), component and key.

mod component;
mod diagnostic;
pub mod interpolate;
pub mod locate;
pub mod tables;

pub use diagnostic::{Diagnostic, Severity};
pub use tables::{ReadTables, TableProvider};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value as Json};
use weir_core::component::{deserialize_config, BuildContext, ComponentKind};
use weir_core::topology::graph::{self, Node};
use weir_core::topology::{ApiConfig, ComponentConfig, PipelineConfig};

use locate::Syntax;

/// A loaded pipeline and its warnings.
#[derive(Debug)]
pub struct Loaded {
    /// The validated pipeline.
    pub config: PipelineConfig,
    /// Things that work but are probably mistakes.
    pub warnings: Vec<Diagnostic>,
    /// The enrichment tables' definitions, by name (their loaded handles are in `config`).
    pub tables: BTreeMap<String, weir_transforms::enrichment::TableConfig>,
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
    /// Parse and check only: nothing outside the pipeline files is touched (enrichment tables
    /// are not read; the config's `enrichment_tables` is empty).
    No,
    /// Also read the enrichment tables: what running needs before the topology builds the
    /// components.
    Tables,
    /// Also build each component, so problems only building shows (a TLS file that does not
    /// exist, a certificate that does not parse) are reported at the component's file:line.
    Yes,
}

/// Loads and validates pipeline files from disk, reading their enrichment tables.
pub fn load_paths(paths: &[PathBuf], build: Build) -> Result<Loaded, Vec<Diagnostic>> {
    load_paths_with(paths, build, &ReadTables)
}

/// [`load_paths`], getting enrichment tables from `provider` (a reload reuses running ones).
pub fn load_paths_with(
    paths: &[PathBuf],
    build: Build,
    provider: &dyn TableProvider,
) -> Result<Loaded, Vec<Diagnostic>> {
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
    load_with_tables(&files, |name| std::env::var(name).ok(), build, provider)
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

/// Loads and validates pipeline files given as text, reading their enrichment tables (to run
/// them); `env` resolves `${VAR}`.
pub fn load(
    files: &[PipelineFile],
    env: impl Fn(&str) -> Option<String>,
) -> Result<Loaded, Vec<Diagnostic>> {
    load_with(files, env, Build::Tables)
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
    load_with_tables(files, env, build, &ReadTables)
}

/// [`load_with`], getting enrichment tables from `provider`. Tables are read once everything
/// else is valid (reading a large database for a file with a typo elsewhere helps nobody), and
/// before components are built, which need them.
pub fn load_with_tables(
    files: &[PipelineFile],
    env: impl Fn(&str) -> Option<String>,
    build: Build,
    provider: &dyn TableProvider,
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
    let data_dir = PathBuf::from(
        top.data_dir
            .take()
            .map(|(d, _)| d)
            .unwrap_or_else(|| "./weir-data".into()),
    );
    let Components {
        components,
        origins,
        nodes,
    } = cx.parse_components(top.tables, &data_dir);
    let warnings = cx.check_graph(&nodes, &origins);
    if !cx.diagnostics.is_empty() {
        return Err(cx.diagnostics);
    }
    let enrichment_tables = if build == Build::No {
        Default::default()
    } else {
        cx.load_tables(&top.enrichment_tables, provider)
    };
    if !cx.diagnostics.is_empty() {
        return Err(cx.diagnostics);
    }
    if build == Build::Yes {
        cx.try_build(&components, &origins, &data_dir, &enrichment_tables);
        if !cx.diagnostics.is_empty() {
            return Err(cx.diagnostics);
        }
    }
    Ok(Loaded {
        config: PipelineConfig {
            data_dir,
            api: top.api.map(|(a, _)| a).unwrap_or_default(),
            components,
            enrichment_tables,
        },
        warnings,
        tables: top
            .enrichment_tables
            .into_iter()
            .map(|(name, entry)| (name, entry.config))
            .collect(),
    })
}

/// The enrichment tables of pipeline files, read; every other key is ignored (`weir vrl
/// --tables`: try a program with the tables of the pipeline it is for).
pub fn load_tables_only(
    paths: &[PathBuf],
) -> Result<weir_core::enrichment::EnrichmentTables, Vec<Diagnostic>> {
    let mut files = Vec::new();
    for path in paths {
        files.push(PipelineFile::read(path).map_err(|d| vec![*d])?);
    }
    let mut cx = Checker {
        files: &files,
        parsed: Vec::new(),
        diagnostics: Vec::new(),
    };
    let mut top = TopLevel::default();
    let env = |name: &str| std::env::var(name).ok();
    for (index, file) in files.iter().enumerate() {
        for (key, value) in cx.parse_file(index, file, &env).unwrap_or_default() {
            if key == tables::SECTION {
                cx.tables_section(&mut top, index, value);
            }
        }
    }
    let tables = if cx.diagnostics.is_empty() {
        cx.load_tables(&top.enrichment_tables, &ReadTables)
    } else {
        Default::default()
    };
    if cx.diagnostics.is_empty() {
        Ok(tables)
    } else {
        Err(cx.diagnostics)
    }
}

/// The top-level keys of every file, merged; each with the index of the file it came from.
#[derive(Default)]
struct TopLevel {
    data_dir: Option<(String, usize)>,
    api: Option<(ApiConfig, usize)>,
    tables: BTreeMap<String, (Origin, Map<String, Json>)>,
    enrichment_tables: BTreeMap<String, tables::TableEntry>,
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
            tables::SECTION => self.tables_section(top, index, value),
            other => self.top_error(
                index,
                other,
                format!("unknown top-level key `{other}` (expected data_dir, api, enrichment_tables, sources, transforms or sinks)"),
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
        data_dir: &Path,
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
                default_output: true,
                unconsumed: BTreeMap::new(),
            };
            if let Some(component) = self.component(&origin, &id, table) {
                let common = component.plugin.common();
                let outputs = component.plugin.outputs();
                node.unconsumed = outputs
                    .iter()
                    .filter_map(|o| Some((o.clone(), common.unconsumed_output(o, &id, data_dir)?)))
                    .collect();
                node.outputs = Some(outputs);
                node.default_output = common.default_output();
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
        tables: &weir_core::enrichment::EnrichmentTables,
    ) {
        for (id, component) in components {
            let Some(origin) = origins.get(id) else {
                continue;
            };
            let type_name = &component.type_name;
            let bcx = BuildContext::standalone_with(
                id,
                origin.kind,
                type_name,
                data_dir.to_path_buf(),
                tables.clone(),
            );
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
}

fn section(kind: ComponentKind) -> &'static str {
    match kind {
        ComponentKind::Source => "sources",
        ComponentKind::Transform => "transforms",
        ComponentKind::Sink => "sinks",
    }
}

#[cfg(test)]
mod tests;
