//! The seed corpora, generated: [`for_target`] gives a target's seeds (name, bytes), built here
//! and taken from the shared sample corpus (`$WEIR_CORPUS`, default `../../shared/corpus` from
//! this crate; skipped when absent) and, for `enrichment_table`, from MaxMind's test databases
//! (`../target/maxmind`, unpacked by `tests/services/install.sh`; skipped when absent).
//! `src/seed.rs` (run by `run-all.sh`, `smoke.sh`, `seeds.sh`) writes them to `corpus/<target>/`;
//! `tests/seeds.rs` runs every target over them.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use weir_aws::envelopes::kpl;
use weir_aws::formats::registry::FORMATS;

/// A seed: a file name (unique within its target) and its contents.
pub type Seed = (String, Vec<u8>);

/// Samples larger than this are left out (libFuzzer's default `-max_len` would cut them anyway).
const MAX_SAMPLE: usize = 64 * 1024;

/// The shared sample corpus (read-only; files are copied into seeds, never changed).
pub fn shared_corpus() -> PathBuf {
    std::env::var_os("WEIR_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"))
}

fn maxmind() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/maxmind")
}

/// Every file under `dir` (sorted; none if it does not exist), without the `.md` documentation.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    fn go(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                go(&path, out);
            } else if path.extension().is_none_or(|e| e != "md") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    go(dir, &mut out);
    out.sort();
    out
}

/// The shared corpus samples under `folder` (small enough), with their names.
fn samples(folder: &str) -> Vec<(String, Vec<u8>)> {
    let root = shared_corpus();
    walk(&root.join(folder))
        .into_iter()
        .filter_map(|path| {
            let data = std::fs::read(&path).ok()?;
            let name = path
                .strip_prefix(&root)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('/', "_");
            (data.len() < MAX_SAMPLE).then_some((name, data))
        })
        .collect()
}

/// `first` followed by `rest`.
fn cat(first: u8, rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rest.len() + 1);
    out.push(first);
    out.extend_from_slice(rest);
    out
}

/// The seeds of target `target` (empty for an unknown name).
pub fn for_target(target: &str) -> Vec<Seed> {
    match target {
        "aws_format" => aws_format(),
        "aws_parse_auto" => samples("."),
        "json_records_splitter" => samples("cloudtrail"),
        "enrichment_table" => enrichment_table(),
        "kpl" => kpl_seeds(),
        "firehose_request" => firehose_request(),
        "pipeline_config" => pipeline_config(),
        "template" => template(),
        "parse_aws_vrl" => parse_aws_vrl(),
        _ => Vec::new(),
    }
}

/// `<format name>\n<sample>` for every sample of every registered format's corpus folders.
fn aws_format() -> Vec<Seed> {
    let mut seeds = Vec::new();
    for format in FORMATS {
        for folder in format.corpus {
            for (i, (_, data)) in samples(folder).into_iter().enumerate() {
                let mut seed = format!("{}\n", format.name).into_bytes();
                seed.extend_from_slice(&data);
                seeds.push((format!("{}-{folder}-{i}", format.name).replace('/', "_"), seed));
            }
        }
    }
    seeds
}

/// `\0<file>` for every MaxMind test database (good and broken), `\x01…` CSV files.
fn enrichment_table() -> Vec<Seed> {
    let mut seeds = Vec::new();
    let root = maxmind();
    for dir in ["test-data", "bad-data"] {
        for (i, path) in walk(&root.join(dir)).into_iter().enumerate() {
            if path.extension().is_none_or(|e| e != "mmdb") {
                continue;
            }
            let Ok(data) = std::fs::read(&path) else { continue };
            if data.len() >= 256 * 1024 {
                continue;
            }
            let mut seed = vec![0u8];
            seed.extend(data);
            seeds.push((format!("mmdb-{dir}-{i}"), seed));
        }
    }
    // Kind byte: odd = CSV; bits 1-2 the delimiter (`,;\t|`), bit 3 a schema for `id`, bits 4+
    // its type (integer, float, boolean, timestamp, timestamp with a format).
    let csv: &[(u8, &[u8])] = &[
        (0x01, b"id,name\n1,a\n2,\"b,c\"\n"),
        (0x09, b"id,name\n1,a\n2,b\n,empty\n"),
        (0x03, b"id;name;when\n1;x;2024-05-01\n"),
        (0x39, b"id,when\n2024-05-01T00:00:00Z,a\n1970-01-01,b\n"),
        (0x49, b"id,x\n01/05/2024 10:00,1\n"),
        (0x29, b"id,flag\nyes,1\nn,0\n"),
        (0x19, b"id,v\n1.5,a\nNaN,b\n"),
        (0x05, b"id\tname\n1\t\xc3\xa9\n"),
        (0x07, b"id|name\n\"1\"|\"a\"\"b\"\n"),
        (0x01, b"\n"),
        (0x01, b"a,a,b\n1,2\n1,2,3,4\n"),
    ];
    for (i, (kind, body)) in csv.iter().enumerate() {
        let mut seed = vec![*kind];
        seed.extend_from_slice(body);
        seeds.push((format!("csv-{i}"), seed));
    }
    seeds
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn pb_bytes(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    varint(out, (field << 3) | 2);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn pb_varint(out: &mut Vec<u8>, field: u64, value: u64) {
    varint(out, field << 3);
    varint(out, value);
}

/// KPL aggregates (magic + protobuf + MD5): built with `kpl::aggregate`, and by hand with explicit
/// hash keys, tags and unknown fields; each also as its bare protobuf message (what the target
/// wraps in magic and digest itself).
fn kpl_seeds() -> Vec<Seed> {
    use md5::{Digest, Md5};
    let mut aggregates = vec![
        kpl::aggregate(&[("a", b"one")]).to_vec(),
        kpl::aggregate(&[("a", b"one"), ("b", b"two"), ("a", b"")]).to_vec(),
        kpl::aggregate(&[(
            "shard-key",
            br#"{"messageType":"DATA_MESSAGE","logEvents":[]}"#.as_slice(),
        )])
        .to_vec(),
    ];
    // By hand: two partition keys, one explicit hash key, a tag, an unknown varint and fixed
    // fields (skipped), a record without a hash key.
    let mut tag = Vec::new();
    pb_bytes(&mut tag, 1, b"key");
    pb_bytes(&mut tag, 2, b"value");
    let mut r1 = Vec::new();
    pb_varint(&mut r1, 1, 1);
    pb_varint(&mut r1, 2, 0);
    pb_bytes(&mut r1, 3, b"2024-05-01T00:00:00Z hello");
    pb_bytes(&mut r1, 4, &tag);
    let mut r2 = Vec::new();
    pb_varint(&mut r2, 1, 0);
    pb_bytes(&mut r2, 3, b"");
    varint(&mut r2, (9 << 3) | 1);
    r2.extend_from_slice(&[0; 8]);
    varint(&mut r2, (10 << 3) | 5);
    r2.extend_from_slice(&[0; 4]);
    let mut message = Vec::new();
    pb_bytes(&mut message, 1, b"pk-0");
    pb_bytes(&mut message, 1, b"pk-1");
    pb_bytes(&mut message, 2, b"340282366920938463463374607431768211455");
    pb_bytes(&mut message, 3, &r1);
    pb_bytes(&mut message, 3, &r2);
    pb_varint(&mut message, 7, 300);
    let mut hand = kpl::MAGIC.to_vec();
    hand.extend_from_slice(&message);
    hand.extend_from_slice(&Md5::digest(&message));
    aggregates.push(hand);
    let mut seeds = Vec::new();
    for (i, aggregate) in aggregates.iter().enumerate() {
        seeds.push((format!("aggregate-{i}"), aggregate.clone()));
        let bare = &aggregate[kpl::MAGIC.len()..aggregate.len() - 16];
        seeds.push((format!("message-{i}"), bare.to_vec()));
    }
    seeds.push(("plain".into(), b"not an aggregate".to_vec()));
    seeds
}

/// Standard base64 (the seeds only; the code under test has its own decoder).
pub fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] =
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Gzip (for seeds).
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// Firehose request bodies (flag byte first: bit 0 gzips the body, bit 1 forces envelope
/// decoding): plain records, CloudWatch Logs envelopes base64'd plain and gzip'd, the AWS docs'
/// request with JSON `data`, broken ones.
fn firehose_request() -> Vec<Seed> {
    let mut seeds = Vec::new();
    let mut envelopes: Vec<Vec<u8>> = samples("cloudwatch-subscription")
        .into_iter()
        .filter(|(name, _)| !name.contains("expected"))
        .map(|(_, d)| d)
        .collect();
    envelopes.push(
        br#"{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"/aws/lambda/f","logStream":"s","subscriptionFilters":["f"],"logEvents":[{"id":"1","timestamp":1714521600000,"message":"hello"},{"timestamp":1714521600001,"message":"no id"}]}"#.to_vec(),
    );
    envelopes.push(br#"{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1,"message":"CWL CONTROL MESSAGE: Checking health of destination Firehose."}]}"#.to_vec());
    for (i, envelope) in envelopes.iter().enumerate() {
        let plain = base64(envelope);
        let zipped = base64(&gzip(envelope));
        let body = format!(
            r#"{{"requestId":"r-{i}","timestamp":1714521600000,"records":[{{"data":"{zipped}"}},{{"data":"{plain}"}},{{"data":"{}"}}]}}"#,
            base64(b"plain record")
        );
        seeds.push((format!("envelopes-{i}"), cat(0u8, body.as_bytes())));
        seeds.push((format!("envelopes-{i}-gzip"), cat(1u8, body.as_bytes())));
    }
    for (name, data) in samples("firehose-http-endpoint") {
        seeds.push((name.clone(), cat(0u8, data.as_slice())));
        seeds.push((format!("{name}-forced"), cat(2u8, data.as_slice())));
    }
    let waf = br#"{"timestamp":1714521600000,"formatVersion":1,"webaclId":"arn","action":"ALLOW"}"#;
    let extra: &[&str] = &[
        r#"{"requestId":"r","timestamp":1714521600000,"records":[]}"#,
        r#"{"requestId":null,"records":[{"data":""}]}"#,
        r#"{"requestId":7,"records":[{"data":"!!"}]}"#,
        r#"{"records":[{"nodata":1},2]}"#,
        r#"[]"#,
        r#"{"requestId":"r","records":[{"data":"aGVsbG8="},{"data":"aGVsbG8"}]}"#,
    ];
    for (i, body) in extra.iter().enumerate() {
        seeds.push((format!("extra-{i}"), cat(0u8, body.as_bytes())));
    }
    let body = format!(r#"{{"requestId":"w","timestamp":1,"records":[{{"data":"{}"}}]}}"#, base64(waf));
    seeds.push(("waf".into(), cat(0u8, body.as_bytes())));
    seeds
}

/// Pipeline files (kind byte first: even TOML, odd YAML): the repository's (quickstart, the
/// diagnostics catalogue) and small ones using `${VAR}`, `${VAR:-default}`, `$$` and comments.
fn pipeline_config() -> Vec<Seed> {
    let mut seeds = Vec::new();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = vec![repo.join("pipelines/quickstart.toml")];
    files.extend(walk(&repo.join("tests/catalogue")));
    for path in files {
        let Some(ext) = path.extension().and_then(|e| e.to_str()) else { continue };
        let kind = match ext {
            "toml" => 0u8,
            "yaml" | "yml" => 1,
            _ => continue,
        };
        let Ok(text) = std::fs::read(&path) else { continue };
        if text.len() >= MAX_SAMPLE {
            continue;
        }
        let name = path.strip_prefix(&repo).unwrap_or(&path).to_string_lossy().replace('/', "_");
        seeds.push((name, cat(kind, text.as_slice())));
    }
    let toml = r#"data_dir = "${HOME}/data"
# a comment with ${UNDEFINED} is left alone
[sources.in]
type = "file"
include = ["/var/log/${NAME:-app}/*.log"]

[transforms.parse]
type = "remap"
inputs = ["in"]
source = '''
.port = ${PORT}
.cost = "$$5"
'''

[sinks.out]
type = "file"
inputs = ["parse"]
path = "./out/%Y-%m-%d/{{ source_type }}.ndjson"
"#;
    let yaml = r#"data_dir: ${HOME}/data
sources:
  in:
    type: file
    include: ${LIST}
transforms:
  parse:
    type: aws_parse
    inputs: [in]
sinks:
  out:
    type: console
    inputs: ["parse"]
    encoding: "${EMPTY:-json}" # ${UNDEFINED}
"#;
    seeds.push(("inline-toml".into(), cat(0, toml.as_bytes())));
    seeds.push(("inline-yaml".into(), cat(1, yaml.as_bytes())));
    seeds.push(("interpolation".into(), b"\0a = \"${QUOTE}\"\nb = ${DOLLAR}\nc = \"${UNSET}\"\nd = \"${}\"\ne = \"${bad name}\"\nf = \"${OPEN\n".to_vec()));
    seeds
}

/// Templates: `<template>\n<field value>`.
fn template() -> Vec<Seed> {
    let templates: &[&str] = &[
        "./out/%Y-%m-%d/{{ source_type }}.ndjson\nvalue",
        "aws-{{ aws.log_type }}-%Y.%m.%d\nvpc_flow",
        "/var/log/weir/{{ f }}/{{ message }}.log\n../x",
        "topic-{{aws.region}}\n",
        "logs/%H/%M/%S/%s/%j/%G-W%V/%a %b %p %Z %z/file-%.3f.log\n",
        "static/path.log\n",
        "{{ missing }}\n",
        "{{ list }}-{{ aws }}\n",
        "%%-%Y\n",
        "{{\n",
        "{{ }}\n",
        "%Q\n",
        "out/{{ message }}%Y\n\u{0}/../..",
    ];
    templates
        .iter()
        .enumerate()
        .map(|(i, t)| (format!("template-{i}"), t.as_bytes().to_vec()))
        .collect()
}

/// `parse_aws` inputs: `\0<line>` (format `auto`) for lines of every shared sample, and
/// `\x01<format>\n<vpc_flow_format>\n<fields>\n<line>`.
fn parse_aws_vrl() -> Vec<Seed> {
    let mut seeds = Vec::new();
    for (name, data) in samples(".") {
        if name.contains("expected") {
            continue;
        }
        seeds.push((format!("auto-{name}"), cat(0u8, data.as_slice())));
        for (i, line) in data.split(|b| *b == b'\n').filter(|l| !l.is_empty()).take(3).enumerate() {
            seeds.push((format!("auto-{name}-{i}"), cat(0u8, line)));
        }
    }
    let formats = samples("vpc-flow-logs");
    let vpc_format = formats
        .iter()
        .find(|(n, _)| n.ends_with(".format.txt"))
        .map(|(_, d)| String::from_utf8_lossy(d).trim().to_string())
        .unwrap_or_else(|| "version account-id interface-id".into());
    let dynamic: &[(&str, &str, &str, &str)] = &[
        ("vpc_flow", "", "", "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK"),
        ("vpc_flow", vpc_format.as_str(), "", "3 eni-1 ACCEPT"),
        ("cloudfront_standard", "", "date time x-edge-location sc-bytes c-ip cs-method", "2019-12-04\t21:02:31\tLAX1\t392\t192.0.2.100\tGET"),
        ("auto", "", "", r#"{"eventVersion":"1.08","eventSource":"s3.amazonaws.com"}"#),
        ("nosuchformat", "", "", "x"),
        ("alb", "", "", "http 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 \"GET http://www.example.com:80/ HTTP/1.1\" \"curl/7.46.0\" - - arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 \"Root=1-58337262-36d228ad5d99923122bbe354\" \"-\" \"-\" 0 2018-07-02T22:22:48.364000Z \"forward\" \"-\" \"-\" \"10.0.0.1:80\" \"200\" \"-\" \"-\""),
    ];
    for (i, (format, vpc, fields, line)) in dynamic.iter().enumerate() {
        seeds.push((
            format!("dynamic-{i}"),
            format!("\x01{format}\n{vpc}\n{fields}\n{line}").into_bytes(),
        ));
    }
    seeds
}
