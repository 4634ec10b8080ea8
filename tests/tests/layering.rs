//! The crate layering of the workspace: `core` ← `aws` ← `sources`, `transforms`, `sinks` ←
//! `pipelines`. A plugin crate never depends on another plugin crate, and `core` knows no plugin
//! and nothing about AWS; read from `cargo metadata`, so a new dependency edge fails here.

use std::process::Command;

const PLUGIN_CRATES: [&str; 3] = ["weir-sources", "weir-transforms", "weir-sinks"];

fn dependencies() -> Vec<(String, Vec<String>)> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            let name = p["name"].as_str().unwrap_or_default().to_string();
            let deps = p["dependencies"]
                .as_array()
                .into_iter()
                .flatten()
                // Normal and build dependencies; dev-dependencies of tests may reach further.
                .filter(|d| d["kind"].is_null() || d["kind"] == "build")
                .filter_map(|d| d["name"].as_str().map(str::to_string))
                .collect();
            (name, deps)
        })
        .collect()
}

#[test]
fn no_plugin_crate_depends_on_another_plugin_crate() {
    let packages = dependencies();
    let mut seen = 0;
    for (name, deps) in &packages {
        if !PLUGIN_CRATES.contains(&name.as_str()) {
            continue;
        }
        seen += 1;
        let plugins: Vec<&String> = deps
            .iter()
            .filter(|d| PLUGIN_CRATES.contains(&d.as_str()))
            .collect();
        assert!(plugins.is_empty(), "{name} depends on {plugins:?}");
        assert!(
            deps.iter().any(|d| d == "weir-core"),
            "{name}: no weir-core"
        );
    }
    assert_eq!(seen, PLUGIN_CRATES.len());
}

#[test]
fn core_and_aws_know_no_plugin() {
    let packages = dependencies();
    for (name, deps) in &packages {
        let allowed: &[&str] = match name.as_str() {
            "weir-core" => &[],
            "weir-aws" => &["weir-core"],
            _ => continue,
        };
        let weir: Vec<&String> = deps.iter().filter(|d| d.starts_with("weir-")).collect();
        assert!(
            weir.iter().all(|d| allowed.contains(&d.as_str())),
            "{name} depends on {weir:?}"
        );
        if name == "weir-core" {
            assert!(
                deps.iter().all(|d| !d.starts_with("aws-")),
                "weir-core depends on an AWS crate: {deps:?}"
            );
        }
    }
}
