//! Acceptance: a catalogue of bad pipeline files in `tests/catalogue/`, each with the exact
//! diagnostics `weir validate` must print (`<name>.expected`) and exit code 1. An entry is a single
//! file or a directory whose files are validated together (merged). New entries are picked up
//! automatically.

use std::path::Path;
use std::process::Command;

#[test]
fn every_bad_pipeline_gives_its_exact_errors() {
    let catalogue = Path::new(env!("CARGO_MANIFEST_DIR")).join("catalogue");
    let mut entries: Vec<_> = std::fs::read_dir(&catalogue)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_none_or(|e| e != "expected"))
        .collect();
    entries.sort();
    assert!(
        entries.len() >= 10,
        "the catalogue has {} entries",
        entries.len()
    );
    let mut failures = Vec::new();
    for entry in &entries {
        let name = entry.file_name().unwrap().to_string_lossy().into_owned();
        let files: Vec<String> = if entry.is_dir() {
            let mut files: Vec<_> = std::fs::read_dir(entry)
                .unwrap()
                .flatten()
                .map(|e| format!("{name}/{}", e.file_name().to_string_lossy()))
                .collect();
            files.sort();
            files
        } else {
            vec![name.clone()]
        };
        let stem = entry.file_stem().unwrap().to_string_lossy().into_owned();
        let expected_path = catalogue.join(format!("{stem}.expected"));
        let expected = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|_| panic!("{} has no {}", name, expected_path.display()));
        let output = Command::new(weir_tests::weir_bin())
            .arg("validate")
            .args(&files)
            .current_dir(&catalogue)
            .env_remove("WEIR_CATALOGUE_UNSET")
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        if output.status.code() != Some(1) {
            failures.push(format!(
                "{name}: exit {:?}, expected 1\n{stderr}",
                output.status.code()
            ));
        } else if stderr != expected {
            failures.push(format!(
                "{name}:\n--- expected\n{expected}--- got\n{stderr}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_good_pipeline_validates_with_warnings_only() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("good.yaml"),
        "sources:\n  app:\n    type: file\n    include: [\"/tmp/*.log\"]\n  unused:\n    type: stdin\nsinks:\n  out:\n    type: console\n    inputs: [app]\n",
    )
    .unwrap();
    let output = Command::new(weir_tests::weir_bin())
        .args(["validate", "good.yaml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "ok: 2 sources, 0 transforms, 1 sinks\n"
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "warning: good.yaml:2:3: source `app`: nothing consumes `app.errors`: records that fail in \
         `app` continue on its main output with an `error` object (wire `app.errors` to keep them \
         apart)\n\
         warning: good.yaml:5:3: source `unused`: nothing consumes the output of source `unused`\n"
    );
}

#[test]
fn list_names_every_component_type_with_a_description() {
    let output = Command::new(weir_tests::weir_bin())
        .arg("list")
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    for (kind, name) in [
        ("source", "file"),
        ("source", "stdin"),
        ("source", "aws_s3"),
        ("transform", "sample"),
        ("sink", "file"),
        ("sink", "console"),
        ("sink", "blackhole"),
    ] {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().take(2).eq([kind, name]))
            .unwrap_or_else(|| panic!("{kind} {name} missing:\n{text}"));
        assert!(
            line.split_whitespace().count() > 3,
            "no description: {line}"
        );
    }
}
