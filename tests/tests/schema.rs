//! Acceptance: `weir schema` is a valid JSON Schema that accepts every pipeline file shipped in
//! the repository (and the examples of the reference) and rejects the catalogue's files whose
//! mistakes a schema can see; `weir docs` is the checked-in `docs/reference.md`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;
use weir_tests::{weir_bin, workspace_root};

/// `weir schema`, parsed (run once per test process).
fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let output = Command::new(weir_bin()).arg("schema").output().unwrap();
        assert!(
            output.status.success(),
            "weir schema failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("weir schema prints JSON")
    })
}

fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        jsonschema::validator_for(schema()).unwrap_or_else(|e| panic!("the schema compiles: {e}"))
    })
}

/// A pipeline file as the loader reads it (by extension), as JSON.
fn read_pipeline(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    match path.extension().and_then(|e| e.to_str()) {
        Some("toml") => toml::from_str::<toml::Table>(&text)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::to_value(t).map_err(|e| e.to_string())),
        Some("yaml" | "yml") => serde_yaml::from_str::<Value>(&text).map_err(|e| e.to_string()),
        Some("json") => serde_json::from_str::<Value>(&text).map_err(|e| e.to_string()),
        _ => Err("not a pipeline file extension".into()),
    }
}

fn errors(instance: &Value) -> Vec<String> {
    validator()
        .iter_errors(instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

#[test]
fn weir_schema_is_a_valid_draft_2020_12_schema() {
    let schema = schema();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    if let Err(error) = jsonschema::meta::validate(schema) {
        panic!("not a valid JSON Schema: {error}");
    }
    let _ = validator();
    // Every registered type of every kind is a variant of its section.
    let list = Command::new(weir_bin()).arg("list").output().unwrap();
    let list = String::from_utf8(list.stdout).unwrap();
    for line in list.lines() {
        let mut words = line.split_whitespace();
        let (Some(kind), Some(name)) = (words.next(), words.next()) else {
            continue;
        };
        let variants = schema["properties"][format!("{kind}s")]["additionalProperties"]["oneOf"]
            .as_array()
            .unwrap_or_else(|| panic!("no {kind}s section"));
        assert!(
            variants
                .iter()
                .any(|v| v["properties"]["type"]["const"] == name),
            "{kind} {name} is not in the schema"
        );
    }
}

/// Every TOML/YAML file of the repository that is a pipeline (has `sources`, `transforms` or
/// `sinks` at the top), except the catalogue of bad ones.
fn shipped_pipelines() -> Vec<PathBuf> {
    let root = workspace_root();
    let skip = [
        root.join("target"),
        root.join(".git"),
        root.join("tests").join("catalogue"),
    ];
    let mut found = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if skip.contains(&path) || entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let pipeline_extension = path
                .extension()
                .is_some_and(|e| e == "toml" || e == "yaml" || e == "yml");
            if !pipeline_extension || path.file_name().is_some_and(|n| n == "Cargo.toml") {
                continue;
            }
            let is_pipeline = read_pipeline(&path).is_ok_and(|v| {
                ["sources", "transforms", "sinks"]
                    .iter()
                    .any(|k| v.get(k).is_some())
            });
            if is_pipeline {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

#[test]
fn every_shipped_pipeline_file_validates() {
    let pipelines = shipped_pipelines();
    let quickstart = workspace_root().join("pipelines").join("quickstart.toml");
    assert!(
        pipelines.contains(&quickstart),
        "quickstart.toml not found among {pipelines:?}"
    );
    let mut failures = Vec::new();
    for path in &pipelines {
        let instance = read_pipeline(path).unwrap();
        let errors = errors(&instance);
        if !errors.is_empty() {
            failures.push(format!("{}:\n  {}", path.display(), errors.join("\n  ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_examples_of_every_component_validate() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for section in ["sources", "transforms", "sinks"] {
        let variants = schema()["properties"][section]["additionalProperties"]["oneOf"]
            .as_array()
            .unwrap();
        for variant in variants {
            let name = variant["title"].as_str().unwrap_or("?");
            let description = variant["description"].as_str().unwrap_or("");
            for block in description.split("```toml\n").skip(1) {
                let example = block.split("```").next().unwrap_or("");
                let instance = toml::from_str::<toml::Table>(example)
                    .map(|t| serde_json::to_value(t).unwrap())
                    .unwrap_or_else(|e| panic!("{name}: example is not TOML: {e}\n{example}"));
                let errors = errors(&instance);
                if !errors.is_empty() {
                    failures.push(format!("{name}:\n{example}  {}", errors.join("\n  ")));
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 10, "only {checked} examples found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Catalogue entries whose mistake the schema sees, with the mistake.
const REJECTED: &[(&str, &str)] = &[
    ("02-unknown-source-type.toml", "`type` names no source type"),
    ("03-unknown-key.toml", "unknown key `read_form`"),
    ("06-sink-without-inputs.toml", "`inputs = []`: at least one"),
    ("08-bad-enum-value.toml", "`buffer.when_full` is no variant"),
    (
        "09-bad-range-value.yaml",
        "`max_line_bytes` and `buffer.max_events` below their minimum",
    ),
    (
        "11-unknown-top-level-key.yaml",
        "unknown top-level key `sink`",
    ),
    (
        "12-missing-type-and-wrong-value-type.toml",
        "missing `type`; `max_line_bytes` is a string",
    ),
    (
        "17-many-problems-at-once.toml",
        "`glob_interval_ms` and `rate` below minimum, `encoding` is no variant",
    ),
    (
        "18-aws-s3-bad-compression.toml",
        "`compression` is no variant",
    ),
    (
        "19-aws-s3-ranges.toml",
        "`sqs.*` values out of their ranges",
    ),
];

/// Catalogue entries that are fine as far as one file's schema can tell: their mistakes need the
/// whole pipeline, the environment or a plugin's code. Each must validate (the schema is not
/// stricter than the loader).
const ACCEPTED: &[(&str, &str)] = &[
    ("04-unknown-input.yaml", "an input that names nothing"),
    ("05-input-cycle.toml", "a cycle"),
    (
        "07-duplicate-id-across-files/a.toml",
        "an id used in two files",
    ),
    (
        "07-duplicate-id-across-files/b.toml",
        "an id used in two files",
    ),
    ("10-undefined-env-var.toml", "an unset `${VAR}`"),
    ("13-bad-path-template.toml", "a broken template"),
    (
        "14-unknown-output-port.toml",
        "a named output that does not exist",
    ),
    (
        "20-missing-tls-file.toml",
        "a certificate file that is not there",
    ),
    (
        "15-unsupported-extension.json",
        "the extension (its content is fine)",
    ),
];

/// Catalogue entries that do not parse at all: nothing for a schema to check.
const UNPARSABLE: &[&str] = &["01-toml-syntax.toml", "16-yaml-syntax.yaml"];

#[test]
fn the_catalogue_is_rejected_where_a_schema_can_tell() {
    let catalogue = workspace_root().join("tests").join("catalogue");
    // Every entry is listed above, so a new one needs a decision here.
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&catalogue).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            for inner in std::fs::read_dir(&path).unwrap().flatten() {
                files.push(format!(
                    "{}/{}",
                    entry.file_name().to_string_lossy(),
                    inner.file_name().to_string_lossy()
                ));
            }
        } else if path.extension().is_none_or(|e| e != "expected") {
            files.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    files.sort();
    let listed = |f: &String| {
        REJECTED.iter().any(|(n, _)| n == f)
            || ACCEPTED.iter().any(|(n, _)| n == f)
            || UNPARSABLE.contains(&f.as_str())
    };
    let unlisted: Vec<_> = files.iter().filter(|f| !listed(f)).collect();
    assert!(
        unlisted.is_empty(),
        "catalogue entries not classified in tests/tests/schema.rs: {unlisted:?}"
    );

    let mut failures = Vec::new();
    for (name, mistake) in REJECTED {
        let instance = read_pipeline(&catalogue.join(name)).unwrap();
        if validator().is_valid(&instance) {
            failures.push(format!("{name} passes the schema despite: {mistake}"));
        }
    }
    for (name, mistake) in ACCEPTED {
        let instance = read_pipeline(&catalogue.join(name)).unwrap();
        let errors = errors(&instance);
        if !errors.is_empty() {
            failures.push(format!(
                "{name} (only wrong by {mistake}) fails the schema:\n  {}",
                errors.join("\n  ")
            ));
        }
    }
    for name in UNPARSABLE {
        assert!(
            read_pipeline(&catalogue.join(name)).is_err(),
            "{name} parses"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_schema_sees_each_mistake_where_it_is() {
    // The errors point at the component (or top-level key) at fault, as an editor underlines it.
    let catalogue = workspace_root().join("tests").join("catalogue");
    let cases: [(&str, &[&str]); 5] = [
        ("03-unknown-key.toml", &["/sources/app"]),
        ("08-bad-enum-value.toml", &["/sinks/out"]),
        ("09-bad-range-value.yaml", &["/sinks/out", "/sources/app"]),
        ("11-unknown-top-level-key.yaml", &[""]),
        (
            "17-many-problems-at-once.toml",
            &["/sinks/out", "/sources/app", "/transforms/keep_some"],
        ),
    ];
    for (name, expected) in cases {
        let instance = read_pipeline(&catalogue.join(name)).unwrap();
        let mut paths: Vec<String> = validator()
            .iter_errors(&instance)
            .map(|e| e.instance_path().as_str().to_string())
            .collect();
        paths.sort();
        paths.dedup();
        assert_eq!(paths, expected, "{name}: {:?}", errors(&instance));
    }
}

#[test]
fn docs_reference_md_is_up_to_date() {
    let output = Command::new(weir_bin())
        .args(["docs", "--out", "-"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "weir docs failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let generated = String::from_utf8(output.stdout).unwrap();
    let path = workspace_root().join("docs").join("reference.md");
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    if generated != checked_in {
        let line = generated
            .lines()
            .zip(checked_in.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| generated.lines().count().min(checked_in.lines().count()));
        panic!(
            "{} is stale (first difference at line {}): run `cargo run -- docs` and commit the result",
            path.display(),
            line + 1
        );
    }
}

/// The example pipelines of README.md (its ```toml blocks that declare components) are valid
/// under the schema too, not only under `weir validate` (tests/tests/readme.rs).
#[test]
fn every_readme_pipeline_validates_against_the_schema() {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
    let mut checked = 0;
    let mut failures = Vec::new();
    for block in readme.split("```toml\n").skip(1) {
        let text = block.split("\n```").next().unwrap_or("");
        if !["[sources.", "[transforms.", "[sinks."]
            .iter()
            .any(|s| text.contains(s))
        {
            continue;
        }
        let table: toml::Table = toml::from_str(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let errors = errors(&serde_json::to_value(table).unwrap());
        if !errors.is_empty() {
            failures.push(format!("{errors:?}\n{text}"));
        }
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} README pipelines");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
