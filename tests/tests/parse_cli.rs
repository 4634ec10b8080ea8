//! Acceptance: `weir parse --stats` over each corpus folder reports 0 failures, except for the
//! records SOURCES.md documents as invalid. VPC Flow records whose custom format sits in a
//! `.format.txt` beside them (there is no header line to learn it from) are parsed with
//! `--format vpc_flow --vpc-flow-format`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn corpus() -> PathBuf {
    weir_tests::workspace_root().join("../shared/corpus")
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let name = path.to_string_lossy().into_owned();
        if path.is_dir() {
            files(&path, out);
        } else if !(name.ends_with(".expected.json")
            || name.ends_with(".format.txt")
            || name.ends_with(".md"))
        {
            out.push(path);
        }
    }
}

/// Documented-invalid records per folder (from SOURCES.md: "not valid").
fn documented_invalid(folder: &str) -> usize {
    let sources = std::fs::read_to_string(corpus().join("SOURCES.md")).unwrap();
    sources
        .lines()
        .filter(|l| l.starts_with(&format!("| {folder}/")) && l.contains("not valid"))
        .filter_map(|l| l.split('|').nth(2)?.trim().parse::<usize>().ok())
        .sum()
}

fn failures(stderr: &str) -> usize {
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("failures: "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(usize::MAX)
}

#[test]
fn weir_parse_stats_reports_no_failures_on_any_corpus_folder() {
    let mut problems = Vec::new();
    let mut folders: Vec<PathBuf> = std::fs::read_dir(corpus())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    folders.sort();
    assert!(folders.len() >= 15);
    for folder in folders {
        let name = folder.file_name().unwrap().to_string_lossy().into_owned();
        let mut all = Vec::new();
        files(&folder, &mut all);
        all.sort();
        let (custom, auto): (Vec<PathBuf>, Vec<PathBuf>) = all
            .into_iter()
            .partition(|p| p.with_extension("format.txt").is_file());
        let run = |args: &[String], files: &[PathBuf]| {
            let output = Command::new(weir_tests::weir_bin())
                .arg("parse")
                .arg("--stats")
                .args(args)
                .args(files)
                .output()
                .unwrap();
            (
                output.status.code(),
                String::from_utf8_lossy(&output.stderr).into_owned(),
                output.stdout.len(),
            )
        };
        let (code, stderr, stdout) = run(&[], &auto);
        let expected = documented_invalid(&name);
        let got = failures(&stderr);
        if got != expected || (expected == 0) != (code == Some(0)) || stdout == 0 {
            problems.push(format!(
                "{name}: {got} failures (expected {expected}), exit {code:?}\n{stderr}"
            ));
        }
        for file in custom {
            let format = std::fs::read_to_string(file.with_extension("format.txt")).unwrap();
            let args = [
                "--format".to_string(),
                "vpc_flow".into(),
                "--vpc-flow-format".into(),
                format.trim().into(),
            ];
            let (code, stderr, _) = run(&args, std::slice::from_ref(&file));
            if code != Some(0) || failures(&stderr) != 0 {
                problems.push(format!("{}: exit {code:?}\n{stderr}", file.display()));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
