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

/// A CloudTrail KMS `Sign` event (AWS KMS documentation) carries `requestParameters.messageType`,
/// a CloudWatch Logs envelope's marker one level down: `weir parse --format auto` must still take
/// it for CloudTrail, as detection reads only a JSON record's top-level keys.
#[test]
fn a_kms_sign_event_is_cloudtrail_under_auto() {
    let event = r#"{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:user","arn":"arn:aws:sts::111122223333:assumed-role/Admin/user","accountId":"111122223333"},"eventTime":"2022-03-02T21:51:18Z","eventSource":"kms.amazonaws.com","eventName":"Sign","awsRegion":"us-east-1","sourceIPAddress":"192.0.2.0","userAgent":"aws-cli/2.4","requestParameters":{"keyId":"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab","messageType":"RAW","signingAlgorithm":"ECDSA_SHA_256"},"responseElements":null,"requestID":"4d1e2b6c","eventID":"ef1b3d39","readOnly":true,"resources":[{"accountId":"111122223333","type":"AWS::KMS::Key","ARN":"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}],"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}"#;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kms-sign.json");
    std::fs::write(&path, format!("{event}\n")).unwrap();
    let output = Command::new(weir_tests::weir_bin())
        .args(["parse", "--format", "auto"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let parsed: serde_json::Value = serde_json::from_slice(&output.stdout).expect("one JSON event");
    assert_eq!(parsed["aws"]["log_type"], "cloudtrail", "{parsed}");
    assert_eq!(
        parsed["event_name"]
            .as_str()
            .or(parsed["eventName"].as_str()),
        Some("Sign"),
        "{parsed}"
    );
    assert_eq!(
        parsed["request_parameters"]["message_type"]
            .as_str()
            .or(parsed["requestParameters"]["messageType"].as_str()),
        Some("RAW")
    );
}
