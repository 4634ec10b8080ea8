//! Every example pipeline in README.md is a pipeline `weir validate` accepts: the ```toml blocks
//! that declare components are extracted and validated (with `--no-build`, as they name files
//! such as `/etc/weir/tls.crt` that exist only where they are deployed). The variables they use
//! are given values, as a user would export them.

use std::process::Command;

/// The README's ```toml blocks that declare components, with the line each starts on.
fn pipeline_blocks(readme: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (number, line) in readme.lines().enumerate() {
        match (&mut current, line.trim_end()) {
            (None, "```toml") => current = Some((number + 2, String::new())),
            (Some(_), "```") => {
                if let Some((start, text)) = current.take() {
                    let declares = ["[sources.", "[transforms.", "[sinks."]
                        .iter()
                        .any(|s| text.contains(s));
                    if declares {
                        blocks.push((start, text));
                    }
                }
            }
            (Some((_, text)), _) => {
                text.push_str(line);
                text.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn every_readme_pipeline_validates() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    let blocks = pipeline_blocks(&readme);
    assert!(
        blocks.len() >= 5,
        "found {} pipelines in README.md",
        blocks.len()
    );
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for (line, text) in &blocks {
        let path = dir.path().join(format!("readme-line-{line}.toml"));
        std::fs::write(&path, text).unwrap();
        let output = Command::new(weir_tests::weir_bin())
            .args(["validate", "--no-build"])
            .arg(&path)
            .env("ES_PASSWORD", "secret")
            .env("KAFKA_PASSWORD", "secret")
            .env("FIREHOSE_ACCESS_KEY", "key")
            .output()
            .unwrap();
        if !output.status.success() {
            failures.push(format!(
                "README.md:{line}: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
