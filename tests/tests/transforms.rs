//! Acceptance of the VRL transforms (`remap`, `filter`, `route`), of unconsumed `errors` outputs
//! and of transforms on every core, through real `weir` processes (`weir run --once`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value as Json;
use weir_tests::{weir_bin, workspace_root, Weir};

fn corpus(path: &str) -> PathBuf {
    workspace_root().join("../shared/corpus").join(path)
}

/// Runs `weir run --once` on `pipeline` (with `{dir}` replaced by `dir`) and waits for it.
fn run_once(dir: &Path, pipeline: &str, threads: usize) -> String {
    let text = pipeline.replace("{dir}", &dir.display().to_string());
    let config = dir.join("pipeline.toml");
    std::fs::write(&config, text).unwrap();
    let threads = threads.to_string();
    let config = config.display().to_string();
    let args = [
        "run",
        "--once",
        "--no-watch",
        "--threads",
        &threads,
        "-c",
        &config,
    ];
    let mut weir = Weir::start(dir, &args, &[]);
    let status = weir.wait(Duration::from_secs(120));
    assert!(status.success(), "weir failed:\n{}", weir.log_text());
    weir.log_text()
}

/// The JSON lines of a file (none if it does not exist).
fn json_lines(path: &Path) -> Vec<Json> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn source(dir: &Path, files: &[PathBuf]) -> String {
    let include: Vec<String> = files
        .iter()
        .map(|f| format!("{:?}", f.display().to_string()))
        .collect();
    format!(
        "data_dir = \"{}/data\"\napi.enabled = false\n[sources.in]\ntype = \"file\"\ninclude = [{}]\nignore_checkpoints = true\n",
        dir.display(),
        include.join(", ")
    )
}

/// Corpus files of single-line records, auto-detected: what `parse_aws` and `aws_parse` must
/// agree on.
fn single_record_corpus() -> Vec<PathBuf> {
    [
        "alb/docs/https.log",
        "alb/docs/h2.log",
        "alb/docs/lambda-failure.log",
        "alb/otel/alb-https-tid.log",
        "alb/vrl-expected",
        "s3-access-logs/docs/example-log.log",
        "waf/docs/example-0.json",
        "waf/docs/example-1.json",
        "elb-classic",
        "nlb",
        "route53-resolver-query-logs",
    ]
    .iter()
    .flat_map(|p| {
        let path = corpus(p);
        if path.is_dir() {
            let mut files: Vec<PathBuf> = walk(&path)
                .into_iter()
                .filter(|f| f.extension().is_some_and(|e| e == "log"))
                .collect();
            files.sort();
            files
        } else {
            vec![path]
        }
    })
    .collect()
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Events grouped by their `file` field, each group in output order.
fn by_file(events: Vec<Json>) -> BTreeMap<String, Vec<Json>> {
    let mut groups: BTreeMap<String, Vec<Json>> = BTreeMap::new();
    for event in events {
        let file = event["file"].as_str().unwrap_or_default().to_string();
        groups.entry(file).or_default().push(event);
    }
    groups
}

#[test]
fn remap_with_parse_aws_gives_aws_parse_events_plus_the_edits() {
    let dir = tempfile::tempdir().unwrap();
    let files = single_record_corpus();
    assert!(files.len() >= 10, "{files:?}");
    let pipeline = source(dir.path(), &files)
        + r#"
[transforms.parse]
type = "aws_parse"
inputs = ["in"]

[sinks.parsed]
type = "file"
inputs = ["parse"]
path = "{dir}/parsed.ndjson"

[transforms.remapped]
type = "remap"
inputs = ["in"]
source = '''
parsed = object!(parse_aws!(.message))
del(.message)
. = merge(., parsed)
.origin = del(.aws)
del(.timestamp)
.env = "test"
'''

[sinks.edited]
type = "file"
inputs = ["remapped"]
path = "{dir}/edited.ndjson"
"#;
    run_once(dir.path(), &pipeline, 2);
    let parsed = by_file(json_lines(&dir.path().join("parsed.ndjson")));
    let edited = by_file(json_lines(&dir.path().join("edited.ndjson")));
    let total: usize = parsed.values().map(Vec::len).sum();
    assert!(total >= 20, "{total} events");
    assert_eq!(
        parsed.keys().collect::<Vec<_>>(),
        edited.keys().collect::<Vec<_>>()
    );
    for (file, events) in parsed {
        let expected: Vec<Json> = events
            .into_iter()
            .map(|mut e| {
                let map = e.as_object_mut().unwrap();
                let aws = map.remove("aws").unwrap();
                map.insert("origin".into(), aws);
                map.remove("timestamp");
                map.insert("env".into(), "test".into());
                e
            })
            .collect();
        assert_eq!(expected, edited[&file], "{file}");
    }
}

/// Mixed inputs: one file per log type, plus a file of lines no format matches.
fn mixed_inputs(dir: &Path) -> Vec<PathBuf> {
    let alb = std::fs::read_to_string(corpus("alb/docs/https.log")).unwrap();
    let vpc = "2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 840 1620000000 1620000060 ACCEPT OK\n\
               2 123456789012 eni-1 10.0.0.3 10.0.0.2 22 49153 6 1 40 1620000000 1620000060 REJECT OK\n\
               2 123456789012 eni-1 10.0.0.4 10.0.0.2 80 49154 6 3 120 1620000000 1620000060 ACCEPT OK\n";
    let trail = r#"{"eventVersion":"1.08","eventTime":"2024-01-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","readOnly":true,"eventID":"a"}
{"eventVersion":"1.08","eventTime":"2024-01-01T00:00:01Z","eventSource":"s3.amazonaws.com","eventName":"PutObject","awsRegion":"us-east-1","readOnly":false,"eventID":"b"}
"#;
    let files = [
        ("alb.log", alb.repeat(4)),
        ("vpc.log", vpc.to_string()),
        ("input-trail.ndjson", trail.to_string()),
        ("junk.log", "not a log line\nnor this one\n".to_string()),
    ];
    files
        .iter()
        .map(|(name, text)| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            path
        })
        .collect()
}

#[test]
fn filter_and_route_over_mixed_log_types_count_per_output() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = mixed_inputs(dir.path());
    let alb_lines = std::fs::read_to_string(&inputs[0]).unwrap().lines().count();
    let pipeline = source(dir.path(), &inputs)
        + r#"
[transforms.parse]
type = "aws_parse"
inputs = ["in"]

[sinks.unparsed]
type = "file"
inputs = ["parse.errors"]
path = "{dir}/unparsed.ndjson"

[transforms.noise]
type = "filter"
inputs = ["parse"]
condition = '!(.aws.log_type == "cloudtrail" && .readOnly == true) && .action != "ACCEPT"'

[sinks.kept]
type = "file"
inputs = ["noise"]
path = "{dir}/kept.ndjson"

[transforms.by_type]
type = "route"
inputs = ["parse"]
route.trail = '.aws.log_type == "cloudtrail"'
route.network = '.aws.log_type == "vpc_flow" || .aws.log_type == "alb"'
route.flows = '.aws.log_type == "vpc_flow"'

[sinks.trail]
type = "file"
inputs = ["by_type.trail"]
path = "{dir}/trail.ndjson"

[sinks.network]
type = "file"
inputs = ["by_type.network"]
path = "{dir}/network.ndjson"

[sinks.flows]
type = "file"
inputs = ["by_type.flows"]
path = "{dir}/flows.ndjson"

[sinks.rest]
type = "file"
inputs = ["by_type._unmatched"]
path = "{dir}/rest.ndjson"
"#;
    run_once(dir.path(), &pipeline, 2);
    let count = |name: &str| json_lines(&dir.path().join(name)).len();
    assert_eq!(count("unparsed.ndjson"), 2);
    // kept: ALB (no `action`), the REJECT flow, the write call.
    assert_eq!(count("kept.ndjson"), alb_lines + 1 + 1);
    assert_eq!(count("trail.ndjson"), 2);
    assert_eq!(count("network.ndjson"), alb_lines + 3);
    assert_eq!(count("flows.ndjson"), 3);
    assert_eq!(count("rest.ndjson"), 0);
}

fn validate(dir: &Path, pipeline: &str) -> (bool, String) {
    let path = dir.join("check.toml");
    std::fs::write(&path, pipeline.replace("{dir}", &dir.display().to_string())).unwrap();
    let output = Command::new(weir_bin())
        .args(["validate", "--no-build"])
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), text)
}

/// `weir vrl` as users run it: NDJSON and raw lines in, each result out as JSON, exit 1 with the
/// place of a runtime error, exit 2 with VRL's diagnostic for a compile error; `--parse` runs
/// `aws_parse` first.
#[test]
fn weir_vrl_prints_each_result_and_reports_errors() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.log");
    std::fs::write(&input, "{\"n\":\"2\"}\nplain line\n").unwrap();
    let vrl = |args: &[&str]| {
        let output = Command::new(weir_bin())
            .arg("vrl")
            .args(args)
            .arg(&input)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        (output.status.code(), stdout, stderr)
    };

    let (code, stdout, stderr) = vrl(&["--program", ".tag = \"x\"\ndel(.n)"]);
    assert_eq!(code, Some(0), "{stderr}");
    let results: Vec<Json> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        results,
        vec![
            serde_json::json!({"tag": "x"}),
            serde_json::json!({"message": "plain line", "tag": "x"}),
        ]
    );

    let (code, stdout, stderr) = vrl(&["--program", ".n = parse_int!(.n)"]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("\"n\":2"), "{stdout}");
    assert!(stderr.contains("in.log"), "names the place: {stderr}");

    let (code, _, stderr) = vrl(&["--program", ".a = nope(.b)"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("error[E105]"), "{stderr}");

    let alb = corpus("alb/docs/https.log");
    let output = Command::new(weir_bin())
        .args([
            "vrl",
            "--parse",
            "--program",
            ".status = del(.elb_status_code)",
        ])
        .arg(&alb)
        .output()
        .unwrap();
    assert!(output.status.success());
    let first: Json =
        serde_json::from_slice(output.stdout.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert_eq!(first["aws"]["log_type"], "alb");
    assert!(first.get("status").is_some() && first.get("elb_status_code").is_none());
}

#[test]
fn vrl_compile_errors_are_reported_with_line_column_and_diagnostic() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = source(dir.path(), &[dir.path().join("x.log")])
        + r#"
[transforms.shape]
type = "remap"
inputs = ["in"]
source = '''
.a = 1
.b = upcase(.a, 3, 4)
'''

[transforms.keep]
type = "filter"
inputs = ["shape"]
condition = '.a + 1'

[sinks.out]
type = "file"
inputs = ["keep"]
path = "{dir}/out.ndjson"
"#;
    let (ok, text) = validate(dir.path(), &pipeline);
    assert!(!ok, "{text}");
    assert!(text.contains("line 2, column"), "{text}");
    assert!(text.contains("error[E"), "VRL's own diagnostic: {text}");
    assert!(text.contains("`shape`") || text.contains("shape"), "{text}");
    assert!(text.contains("condition"), "{text}");
}

#[test]
fn runtime_errors_continue_unmodified_or_are_rerouted_when_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("numbers.log");
    std::fs::write(&input, "1\n2\nthree\n4\n").unwrap();
    let pipeline = source(dir.path(), &[input])
        + r#"
[transforms.lenient]
type = "remap"
inputs = ["in"]
source = '.n = to_int!(.message)'

[sinks.lenient_out]
type = "file"
inputs = ["lenient"]
path = "{dir}/lenient.ndjson"

[transforms.strict]
type = "remap"
inputs = ["in"]
source = '.n = to_int!(.message)'
drop_on_error = true
reroute_dropped = true

[sinks.strict_out]
type = "file"
inputs = ["strict"]
path = "{dir}/strict.ndjson"

[sinks.strict_failed]
type = "file"
inputs = ["strict.errors"]
path = "{dir}/strict-failed.ndjson"
"#;
    run_once(dir.path(), &pipeline, 2);
    let lenient = json_lines(&dir.path().join("lenient.ndjson"));
    assert_eq!(lenient.len(), 4);
    let unmodified: Vec<&Json> = lenient.iter().filter(|e| e.get("n").is_none()).collect();
    assert_eq!(unmodified.len(), 1);
    assert_eq!(unmodified[0]["message"], "three");
    assert_eq!(json_lines(&dir.path().join("strict.ndjson")).len(), 3);
    let failed = json_lines(&dir.path().join("strict-failed.ndjson"));
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["message"], "three");
    assert_eq!(failed[0]["error"]["component"], "strict");
    assert_eq!(failed[0]["error"]["type"], "program_failed");
    assert!(failed[0]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("three"));
}

#[test]
fn unconsumed_errors_continue_on_the_main_output_and_validate_warns() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("mixed.log");
    let alb = std::fs::read_to_string(corpus("alb/docs/https.log")).unwrap();
    std::fs::write(&input, format!("{alb}garbage one\n{alb}garbage two\n")).unwrap();
    let body = r#"
[transforms.parse]
type = "aws_parse"
inputs = ["in"]
format = "alb"

[sinks.out]
type = "file"
inputs = ["parse"]
path = "{dir}/out.ndjson"
"#;
    let without = source(dir.path(), std::slice::from_ref(&input)) + body;
    let (ok, text) = validate(dir.path(), &without);
    assert!(ok, "{text}");
    assert!(text.contains("nothing consumes `parse.errors`"), "{text}");
    run_once(dir.path(), &without, 2);
    let out = json_lines(&dir.path().join("out.ndjson"));
    let alb_lines = alb.lines().count();
    assert_eq!(out.len(), 2 * alb_lines + 2);
    let tagged: Vec<&Json> = out.iter().filter(|e| e.get("error").is_some()).collect();
    assert_eq!(tagged.len(), 2);
    assert_eq!(tagged[0]["message"], "garbage one");
    assert_eq!(tagged[0]["error"]["component"], "parse");
    assert_eq!(tagged[0]["error"]["format"], "alb");
    assert!(tagged[0]["error"]["message"].is_string());

    let with = without.replace("{dir}/out.ndjson", "{dir}/out2.ndjson")
        + r#"
[sinks.failed]
type = "file"
inputs = ["parse.errors"]
path = "{dir}/failed.ndjson"
"#;
    let (ok, text) = validate(dir.path(), &with);
    assert!(ok && !text.contains("parse.errors"), "{text}");
    run_once(dir.path(), &with, 2);
    let out = json_lines(&dir.path().join("out2.ndjson"));
    assert_eq!(out.len(), 2 * alb_lines);
    assert!(out.iter().all(|e| e.get("error").is_none()));
    assert_eq!(json_lines(&dir.path().join("failed.ndjson")).len(), 2);
}

/// Stateful inputs for the order test: VPC Flow files with different custom headers (one
/// changing mid-file), CloudFront files whose `#Fields:` change, multi-line Redshift and RDS
/// PostgreSQL records.
fn stateful_inputs(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut write = |name: String, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        files.push(path);
    };
    let headers = [
        "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status",
        "version interface-id srcaddr dstaddr srcport dstport protocol bytes start end action log-status",
        "srcaddr dstaddr srcport dstport action start end",
    ];
    for f in 0..6 {
        let mut text = String::new();
        for block in 0..4 {
            let header = headers[(f + block) % headers.len()];
            text.push_str(header);
            text.push('\n');
            for i in 0..700 {
                let line: Vec<String> = header
                    .split(' ')
                    .map(|name| match name {
                        "version" => "2".into(),
                        "account-id" => "123456789012".into(),
                        "interface-id" => format!("eni-{f}"),
                        "srcaddr" => format!("10.{f}.{block}.{}", i % 250),
                        "dstaddr" => "10.9.9.9".into(),
                        "srcport" | "dstport" => (1000 + i).to_string(),
                        "protocol" => "6".into(),
                        "packets" | "bytes" => (i * 3).to_string(),
                        "start" => (1_620_000_000 + i).to_string(),
                        "end" => (1_620_000_060 + i).to_string(),
                        "action" => if i % 3 == 0 { "REJECT" } else { "ACCEPT" }.into(),
                        _ => "OK".into(),
                    })
                    .collect();
                text.push_str(&line.join(" "));
                text.push('\n');
            }
        }
        write(format!("vpc-{f}.log"), text);
    }
    let cloudfront =
        std::fs::read_to_string(corpus("cloudfront-standard/docs/distribution-log.log")).unwrap();
    let (head, records): (Vec<&str>, Vec<&str>) =
        cloudfront.lines().partition(|l| l.starts_with('#'));
    for f in 0..3 {
        let mut text = String::new();
        for block in 0..3 {
            text.push_str(&head.join("\n"));
            text.push('\n');
            if (f + block) % 2 == 1 {
                // A narrower field list for this block: the first four columns only.
                text.push_str("#Fields: date time x-edge-location sc-bytes\n");
                for r in records.iter().cycle().take(400) {
                    let cols: Vec<&str> = r.split('\t').take(4).collect();
                    text.push_str(&cols.join("\t"));
                    text.push('\n');
                }
            } else {
                for r in records.iter().cycle().take(400) {
                    text.push_str(r);
                    text.push('\n');
                }
            }
        }
        write(format!("cloudfront-{f}.log"), text);
    }
    let redshift = std::fs::read_to_string(corpus(
        "redshift-audit/signalfx/redshift_useractivitylog.log",
    ))
    .unwrap();
    for f in 0..2 {
        write(
            format!("cluster_useractivitylog_{f}.log"),
            redshift.repeat(150),
        );
    }
    let rds = std::fs::read_to_string(corpus(
        "rds/postgresql/docs-USER_LogAccess.Concepts.PostgreSQL-1.log",
    ))
    .unwrap();
    write("postgresql.log.2024-01-01-00".into(), rds.repeat(200));
    files
}

#[test]
fn two_threads_give_the_same_streams_in_the_same_order_as_one() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = stateful_inputs(dir.path());
    let mut outputs = Vec::new();
    for threads in [1, 2] {
        let run_dir = dir.path().join(format!("threads-{threads}"));
        std::fs::create_dir_all(&run_dir).unwrap();
        let pipeline = source(&run_dir, &inputs)
            + r#"
[transforms.parse]
type = "aws_parse"
inputs = ["in"]

[transforms.tag]
type = "remap"
inputs = ["parse"]
source = '.seen = true'

[sinks.out]
type = "file"
inputs = ["tag"]
path = "{dir}/out.ndjson"

[sinks.failed]
type = "file"
inputs = ["parse.errors"]
path = "{dir}/failed.ndjson"
"#;
        run_once(&run_dir, &pipeline, threads);
        let failed = json_lines(&run_dir.join("failed.ndjson"));
        assert!(
            failed.is_empty(),
            "{} failed, e.g. {}",
            failed.len(),
            failed[0]
        );
        outputs.push(by_file(json_lines(&run_dir.join("out.ndjson"))));
    }
    let (one, two) = (&outputs[0], &outputs[1]);
    assert_eq!(one.len(), inputs.len(), "every stream has events");
    let total: usize = one.values().map(Vec::len).sum();
    assert!(total > 18_000, "{total}");
    for (file, events) in one {
        let log_types: std::collections::BTreeSet<&str> = events
            .iter()
            .filter_map(|e| e["aws"]["log_type"].as_str())
            .collect();
        assert_eq!(log_types.len(), 1, "{file}: {log_types:?}");
        assert_eq!(Some(events), two.get(file), "{file} differs at --threads 2");
    }
    // The header in effect shows in the fields: each VPC block has its own columns.
    let vpc0 = &one[&inputs[0].display().to_string()];
    assert!(vpc0[0].get("account_id").is_some());
    assert!(vpc0[700].get("account_id").is_none());
}
