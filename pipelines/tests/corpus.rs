//! Acceptance: every record file of `../shared/corpus` parses with `auto` detection, except the
//! records SOURCES.md marks invalid, which must fail with a clear error. Files are found by walking
//! the corpus, so new ones are picked up without listing them here. SOURCES.md's record counts are
//! checked too: every record of every file is accounted for (parsed or, if invalid, failed).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use weir_pipelines::parse::{parse_input, read_input};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus")
}

/// `path → (records, invalid, consumed)` from SOURCES.md's tables. `consumed`: records that are
/// recognised and acknowledged without an event (CloudWatch control messages, S3 test events,
/// CloudTrail digest files).
fn sources() -> BTreeMap<String, (u64, bool, bool)> {
    let text = std::fs::read_to_string(corpus().join("SOURCES.md")).expect("SOURCES.md");
    let mut rows = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("| ")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (Some(path), Some(count)) = (cells.get(1), cells.get(2)) else {
            continue;
        };
        let Ok(records) = count.parse::<u64>() else {
            continue;
        };
        let invalid = line.contains("not valid") || line.contains("invalid");
        let covers = cells
            .get(cells.len().saturating_sub(2))
            .copied()
            .unwrap_or("");
        let consumed = ["CONTROL_MESSAGE", "s3:TestEvent", "recognise and skip"]
            .iter()
            .any(|k| covers.contains(k));
        rows.insert(path.to_string(), (records, invalid, consumed));
    }
    rows
}

fn record_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("corpus dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string();
        if path.is_dir() {
            record_files(&path, out);
        } else if !(name.ends_with(".expected.json")
            || name.ends_with(".format.txt")
            || name.ends_with(".md"))
        {
            out.push(path);
        }
    }
}

#[test]
fn every_corpus_record_parses_with_auto_detection() {
    let sources = sources();
    let mut files = Vec::new();
    record_files(&corpus(), &mut files);
    assert!(files.len() > 100, "found only {} corpus files", files.len());
    let mut problems = Vec::new();
    let mut totals = (0u64, 0u64);
    for path in &files {
        let relative = path.strip_prefix(corpus()).unwrap().display().to_string();
        let Some(&(records, invalid, consumed)) = sources.get(&relative) else {
            problems.push(format!("{relative}: not listed in SOURCES.md"));
            continue;
        };
        // A VPC Flow custom format given next to the records (no header line to learn it from).
        let custom = path.with_extension("format.txt");
        let vpc_format = std::fs::read_to_string(&custom)
            .ok()
            .map(|f| f.trim().to_string());
        let format = if vpc_format.is_some() {
            "vpc_flow"
        } else {
            "auto"
        };
        let input = read_input(Some(path)).expect("readable");
        let mut out = Vec::new();
        let mut errors = Vec::new();
        let stats = parse_input(
            &relative,
            input.into(),
            format,
            vpc_format.as_deref(),
            &mut out,
            &mut errors,
        )
        .unwrap();
        let parsed: u64 = stats.parsed.values().sum();
        let failed = stats.failures();
        totals.0 += parsed;
        totals.1 += failed;
        let errors = String::from_utf8_lossy(&errors);
        if invalid {
            if failed == 0 {
                problems.push(format!("{relative}: documented invalid but parsed"));
            } else if !errors.contains("at byte") {
                problems.push(format!("{relative}: unclear error: {errors}"));
            }
        } else if failed > 0 {
            problems.push(format!("{relative}: {failed} failures\n{errors}"));
        } else if consumed {
            if parsed != 0 {
                problems.push(format!(
                    "{relative}: should be consumed without events, gave {parsed}"
                ));
            }
        } else if parsed < records {
            // Console excerpts (Lambda) count fewer "records" than the lines they show, hence `<`.
            problems.push(format!(
                "{relative}: {parsed} events parsed, SOURCES.md counts {records} records ({:?})",
                stats.parsed
            ));
        }
    }
    eprintln!(
        "corpus: {} files, {} events parsed, {} documented-invalid records failed",
        files.len(),
        totals.0,
        totals.1
    );
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
