//! Acceptance of `aws_parse`'s `aws_context` through real `weir` processes: for every S3 key
//! layout AWS documents (FORMATS.md) and every CloudWatch Logs group of the corpus, a corpus
//! sample placed at such a path (or sent in such an envelope) comes out with the account, region,
//! service and resource of where it came from. The expected values are taken apart from the path,
//! log group, log stream and owner here, by the layouts as AWS documents them; never from the
//! record (whose own ARNs and account ids are deliberately other than the path's).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value as Json};
use weir_tests::{free_port, http_post, wait_for_port, workspace_root, Weir};

/// The account and region of the paths: unlike any in the corpus records.
const ACCOUNT: &str = "444455556666";
const REGION: &str = "eu-north-1";

fn corpus(path: &str) -> PathBuf {
    workspace_root().join("../shared/corpus").join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(corpus(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A JSON corpus file as one line (the file source frames lines; docs pretty-print).
fn compact(path: &str) -> String {
    let value: Json = serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    value.to_string() + "\n"
}

fn run_once(dir: &Path, pipeline: &str) {
    let config = dir.join("pipeline.toml");
    std::fs::write(&config, pipeline).unwrap();
    let config = config.display().to_string();
    let mut weir = Weir::start(dir, &["run", "--once", "--no-watch", "-c", &config], &[]);
    let status = weir.wait(Duration::from_secs(120));
    assert!(status.success(), "weir failed:\n{}", weir.log_text());
}

fn json_lines(path: &Path) -> Vec<Json> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// A pipeline reading `include` with `aws_parse` (defaults: `aws_context` on) into `out.ndjson`,
/// its errors into `errors.ndjson`.
fn file_pipeline(dir: &Path, include: &str) -> String {
    format!(
        r#"
data_dir = "{dir}/data"
api.enabled = false
[sources.in]
type = "file"
include = ["{include}"]
ignore_checkpoints = true
[transforms.parse]
type = "aws_parse"
inputs = ["in"]
[sinks.out]
type = "file"
inputs = ["parse"]
path = "{dir}/out.ndjson"
[sinks.errors]
type = "file"
inputs = ["parse.errors"]
path = "{dir}/errors.ndjson"
"#,
        dir = dir.display()
    )
}

/// What an origin should be: account, region, service, resource (type, name), organization.
#[derive(Debug, Default, PartialEq, Eq, Clone)]
struct Expected {
    account: Option<String>,
    region: Option<String>,
    service: Option<String>,
    resource: Option<(String, String)>,
    organization: Option<String>,
}

fn some(text: &str) -> Option<String> {
    Some(text.to_string())
}

fn resource(kind: &str, name: &str) -> Option<(String, String)> {
    Some((kind.to_string(), name.to_string()))
}

/// What an event says of its origin.
fn actual(event: &Json) -> Expected {
    let text = |v: &Json| v.as_str().map(str::to_string);
    let kind = text(&event["aws"]["resource"]["type"]);
    let name = text(&event["aws"]["resource"]["name"]);
    Expected {
        account: text(&event["cloud"]["account"]["id"]),
        region: text(&event["cloud"]["region"]),
        service: text(&event["aws"]["service"]),
        resource: kind.zip(name),
        organization: text(&event["aws"]["organization"]["id"]),
    }
}

/// The service namespace of an `AWSLogs/<account>/<folder>/` folder, as AWS's docs name them
/// (the namespace is what ARNs and IAM say: VPC Flow Logs are `ec2`'s, WAF logs `wafv2`'s).
fn service_of_folder(folder: &str) -> Option<&'static str> {
    Some(match folder {
        "CloudTrail" | "CloudTrail-Insight" | "CloudTrail-Digest" => "cloudtrail",
        "elasticloadbalancing" => "elasticloadbalancing",
        "vpcflowlogs" => "ec2",
        "vpcdnsquerylogs" => "route53resolver",
        "WAFLogs" => "wafv2",
        "redshift" => "redshift",
        _ => return None,
    })
}

/// The origin a relative S3 key says, taken apart by the documented layouts:
///
/// * `…AWSLogs/[<o-org>/]<account>/<folder>/<region>/…` (Hive-style `name=value` segments too),
///   except `vpcdnsquerylogs/<vpc-id>/…` (no region) and `WAFLogs/<region|cloudfront>/<acl>/…`;
/// * object names `<account>_elasticloadbalancing_<region>_<app.|net.><lb>…`,
///   `<account>_vpcflowlogs_<region>_<flow log id>_…`, `<account>_redshift_<region>_<cluster>_…`;
/// * `<distribution>.YYYY-MM-DD-HH.<id>` (CloudFront, global);
/// * `<account>/<region>/<bucket>/YYYY/MM/DD/YYYY-MM-DD-HH-MM-SS-<hex>` and a bare
///   `YYYY-MM-DD-HH-MM-SS-<hex>` (S3 access logs).
fn expected_from_key(key: &str) -> Expected {
    let segments: Vec<&str> = key
        .split('/')
        .map(|s| s.split_once('=').map_or(s, |(_, v)| v))
        .collect();
    let name = *segments.last().unwrap();
    let mut expected = Expected::default();
    if let Some(at) = segments.iter().position(|s| *s == "AWSLogs") {
        let mut rest = &segments[at + 1..];
        if rest[0].starts_with("o-") {
            expected.organization = some(rest[0]);
            rest = &rest[1..];
        }
        expected.account = some(rest[0]);
        let folder = rest[1];
        expected.service = service_of_folder(folder).and_then(some);
        match folder {
            "vpcdnsquerylogs" => expected.resource = resource("vpc", rest[2]),
            "WAFLogs" => {
                expected.region = some(rest[2]).filter(|r| r != "cloudfront");
                expected.resource = resource("webacl", rest[3]);
            }
            _ => expected.region = some(rest[2]),
        }
        let fields: Vec<&str> = name.split('_').collect();
        match folder {
            "elasticloadbalancing" => {
                let lb = fields[3];
                let lb = match lb.split_once('.') {
                    Some((_, rest)) => rest.split('.').next().unwrap(),
                    None => lb,
                };
                expected.resource = resource("loadbalancer", lb);
            }
            "vpcflowlogs" => expected.resource = resource("vpc-flow-log", fields[3]),
            "redshift" => expected.resource = resource("cluster", fields[3]),
            _ => {}
        }
    } else if name.split('.').count() == 3 {
        expected.service = some("cloudfront");
        expected.resource = resource("distribution", name.split('.').next().unwrap());
    } else {
        expected.service = some("s3");
        // `<account>/<region>/<bucket>/YYYY/MM/DD/<object>`: seven segments from the end.
        if let [.., account, region, bucket, _, _, _, _] = segments.as_slice() {
            if account.len() == 12 {
                expected.account = some(account);
                expected.region = some(region);
                expected.resource = resource("bucket", bucket);
            }
        }
    }
    expected
}

/// Every S3 key layout, with a corpus sample of what AWS writes there.
fn layouts() -> Vec<(String, String)> {
    let a = ACCOUNT;
    let r = REGION;
    let day = "2026/12/01";
    let trail =
        compact("cloudtrail/docs-records/aws-cloudtrail--cloudtrail-log-file-examples--2.json");
    let waf = compact("waf/docs/example-0.json");
    vec![
        (format!("AWSLogs/{a}/CloudTrail/{r}/{day}/{a}_CloudTrail_{r}_20261201T0005Z_a1b2c3d4.json"), trail.clone()),
        (format!("AWSLogs/o-aa11bb22cc/{a}/CloudTrail/us-west-1/{day}/{a}_CloudTrail_us-west-1_20261201T0005Z_a1b2c3d4.json"), trail.clone()),
        (format!("AWSLogs/{a}/CloudTrail-Insight/{r}/{day}/{a}_CloudTrail-Insight_{r}_20261201T0005Z_a1b2c3d4.json"), trail),
        (format!("AWSLogs/{a}/elasticloadbalancing/{r}/{day}/{a}_elasticloadbalancing_{r}_app.shop-alb.50dc6c495c0c9188_20261201T0005Z_10.0.0.1_2abc.log"), read("alb/docs/https.log")),
        (format!("AWSLogs/{a}/elasticloadbalancing/{r}/{day}/{a}_elasticloadbalancing_{r}_net.tls-nlb.c6e77e28c25b2234_20261201T0005Z_10.0.0.1_2abc.log"), read("nlb/docs/tls-no-alpn.log")),
        (format!("AWSLogs/{a}/elasticloadbalancing/{r}/{day}/{a}_elasticloadbalancing_{r}_classic-lb_20261201T0005Z_10.0.0.1_2abc.log"), read("elb-classic/docs/http.log")),
        (format!("AWSLogs/{a}/vpcflowlogs/{r}/{day}/{a}_vpcflowlogs_{r}_fl-1234abcd_20261201T0005Z_hash.log"), read("vpc-flow-logs/s3-files/otel-valid_vpc_flow_log.log")),
        (format!("AWSLogs/aws-account-id={a}/aws-service=vpcflowlogs/aws-region={r}/year=2026/month=12/day=01/{a}_vpcflowlogs_{r}_fl-5678efgh_20261201T0005Z_hash.log"), read("vpc-flow-logs/s3-files/otel-valid_vpc_flow_log.log")),
        (format!("AWSLogs/{a}/vpcdnsquerylogs/vpc-0abc1234/{day}/{a}_vpcdnsquerylogs_vpc-0abc1234_20261201T0005Z_hash.log"), read("route53-resolver-query-logs/docs/resolver-query-log.json")),
        (format!("AWSLogs/{a}/WAFLogs/{r}/shop-acl/{day}/13/05/{a}_waflogs_{r}_shop-acl_20261201T1305Z_hash.log"), waf.clone()),
        (format!("AWSLogs/{a}/WAFLogs/cloudfront/edge_acl/{day}/13/05/{a}_waflogs_cloudfront_edge_acl_20261201T1305Z_hash.log"), waf),
        (format!("AWSLogs/{a}/redshift/{r}/{day}/{a}_redshift_{r}_warehouse-1_connectionlog_2026-12-01T13:05"), read("redshift-audit/signalfx/redshift_connectionlog.log")),
        ("cdn/E2EXAMPLE1234.2026-12-01-13.a1b2c3d4".to_string(), read("cloudfront-standard/docs/distribution-log.log")),
        ("access/2026-12-01-13-05-09-1A2B3C4D5E6F7A8B".to_string(), read("s3-access-logs/docs/example-log.log")),
        (format!("access-by-date/{a}/{r}/source-bucket/{day}/2026-12-01-13-05-09-2B3C4D5E6F7A8B9C"), read("s3-access-logs/docs/example-log.log")),
    ]
}

#[test]
fn every_s3_key_layout_gives_the_account_region_service_and_resource_of_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("bucket/user-prefix");
    let layouts = layouts();
    for (key, sample) in &layouts {
        let path = root.join(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, sample).unwrap();
    }
    let include = format!("{}/**/*", root.display());
    run_once(dir.path(), &file_pipeline(dir.path(), &include));
    let errors = json_lines(&dir.path().join("errors.ndjson"));
    assert!(
        errors.is_empty(),
        "{} failed, e.g. {}",
        errors.len(),
        errors[0]
    );

    let mut by_file: BTreeMap<String, Vec<Json>> = BTreeMap::new();
    for event in json_lines(&dir.path().join("out.ndjson")) {
        let file = event["file"].as_str().unwrap().to_string();
        by_file.entry(file).or_default().push(event);
    }
    for (key, _) in &layouts {
        let file = root.join(key).display().to_string();
        let events = by_file
            .get(&file)
            .unwrap_or_else(|| panic!("no events from {key}"));
        let expected = expected_from_key(key);
        assert!(
            expected.service.is_some(),
            "{key}: the test knows its service"
        );
        for event in events {
            assert_eq!(actual(event), expected, "{key}: {event}");
            assert_eq!(event["cloud"]["provider"], "aws", "{key}");
        }
    }
    assert_eq!(by_file.len(), layouts.len());
}

/// The service a log group names, by AWS's conventions: `/aws/<service>/…` (the Firehose
/// folder is `kinesisfirehose`), API Gateway's `API-Gateway-Execution-Logs_<api>/<stage>`,
/// WAF's `aws-waf-logs-…`; and its resource, the name after the service's folder.
fn expected_from_log_group(group: &str, stream: &str, owner: &str) -> Expected {
    let mut expected = Expected {
        account: (owner.len() == 12 && owner.bytes().all(|b| b.is_ascii_digit()))
            .then(|| owner.to_string()),
        ..Expected::default()
    };
    let parts: Vec<&str> = group.split('/').collect();
    if let Some(api) = group.strip_prefix("API-Gateway-Execution-Logs_") {
        expected.service = some("apigateway");
        expected.resource = resource("restapi", api.split('/').next().unwrap());
    } else if group.starts_with("aws-waf-logs-") {
        expected.service = some("wafv2");
    } else if group.starts_with("/aws/") {
        let (service, kind, name) = match (parts[2], parts[3]) {
            ("lambda", f) => ("lambda", "function", f),
            ("rds", "instance") => ("rds", "db", parts[4]),
            ("rds", "cluster") => ("rds", "cluster", parts[4]),
            ("redshift", "cluster") => ("redshift", "cluster", parts[4]),
            ("kinesisfirehose", s) => ("firehose", "deliverystream", s),
            ("eks", c) => ("eks", "cluster", c),
            other => panic!("the test knows no log group {other:?}"),
        };
        expected.service = some(service);
        expected.resource = resource(kind, name);
    }
    // CloudTrail's streams: `<account>_<CloudTrail or the group>_<region>`.
    if let Some((account, rest)) = stream.split_once('_') {
        if let Some((middle, region)) = rest.rsplit_once('_') {
            if middle == "CloudTrail" || middle == group {
                expected.account = some(account);
                expected.region = some(region);
                expected.service = some("cloudtrail");
            }
        }
    }
    expected
}

/// Every DATA_MESSAGE envelope of the corpus (found wherever one is written out, decoded), plus
/// envelopes for the AWS log groups the corpus has no envelope of, each carrying a corpus record
/// of its log group's format.
fn envelopes() -> Vec<Json> {
    let mut found = Vec::new();
    let mut stack = vec![corpus("")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            if !text.contains("\"logGroup\"") || path.extension().is_some_and(|e| e == "md") {
                continue;
            }
            let Ok(value) = serde_json::from_str::<Json>(&text) else {
                continue;
            };
            collect_envelopes(&value, &mut found);
        }
    }
    let line = |path: &str| read(path).lines().next().unwrap().to_string();
    let extra = [
        (
            "/aws/rds/cluster/aurora-orders/postgresql",
            "aurora-orders-instance-1",
            line("rds/postgresql/docs-USER_LogAccess.Concepts.PostgreSQL-1.log"),
        ),
        (
            "/aws/redshift/cluster/warehouse-1/connectionlog",
            "warehouse-1",
            line("redshift-audit/signalfx/redshift_connectionlog.log"),
        ),
        (
            "/aws/kinesisfirehose/orders-stream",
            "DestinationDelivery",
            compact("firehose-error-logs/docs/http_troubleshooting-0.json")
                .trim()
                .to_string(),
        ),
        (
            "aws-waf-logs-shop",
            "eu-north-1_shop_0",
            compact("waf/docs/example-0.json").trim().to_string(),
        ),
        (
            "/aws/eks/prod-cluster/cluster",
            "kube-apiserver-audit-0a1b2c",
            "I0818 10:26:30.630359      10 file.go:123] message".to_string(),
        ),
    ];
    for (group, stream, message) in extra {
        found.push(json!({
            "messageType": "DATA_MESSAGE", "owner": ACCOUNT, "logGroup": group, "logStream": stream,
            "subscriptionFilters": ["all"],
            "logEvents": [{"id": "1", "timestamp": 1_764_594_300_000u64, "message": message}],
        }));
    }
    found
}

fn collect_envelopes(value: &Json, out: &mut Vec<Json>) {
    match value {
        Json::Object(map) => {
            if map.contains_key("logGroup")
                && map.get("messageType") == Some(&json!("DATA_MESSAGE"))
            {
                out.push(value.clone());
            }
            map.values().for_each(|v| collect_envelopes(v, out));
        }
        Json::Array(items) => items.iter().for_each(|v| collect_envelopes(v, out)),
        _ => {}
    }
}

fn envelope_key(envelope: &Json) -> (String, String, String) {
    let text = |k: &str| envelope[k].as_str().unwrap_or_default().to_string();
    (text("logGroup"), text("logStream"), text("owner"))
}

/// The log group, stream and owner of an output event (under `cloudwatch`, or flat when no
/// format parsed the message).
fn event_key(event: &Json) -> (String, String, String) {
    let cw = if event["cloudwatch"].is_object() {
        &event["cloudwatch"]
    } else {
        event
    };
    let text = |k: &str| cw[k].as_str().unwrap_or_default().to_string();
    (text("log_group"), text("log_stream"), text("owner"))
}

/// Checks each event against its envelope's log group; returns how many envelopes had events.
fn check_log_group_events(events: &[Json], envelopes: &[Json]) -> usize {
    let mut seen = std::collections::BTreeSet::new();
    for event in events {
        let (group, stream, owner) = event_key(event);
        let envelope = envelopes
            .iter()
            .find(|e| envelope_key(e) == (group.clone(), stream.clone(), owner.clone()));
        assert!(envelope.is_some(), "an event of no envelope: {event}");
        seen.insert((group.clone(), stream.clone(), owner.clone()));
        let mut expected = expected_from_log_group(&group, &stream, &owner);
        if let Some(arn) = event["webaclId"].as_str() {
            // A web ACL's ARN would complete the region a WAF group lacks, but only for the
            // owner's account: the corpus record's is another account's, so nothing is taken.
            assert_ne!(arn.split(':').nth(4), Some(owner.as_str()), "{event}");
        }
        if expected.account.is_none() && expected.service.is_none() {
            assert!(event.get("cloud").is_none(), "{group}: {event}");
            continue;
        }
        assert_eq!(event["cloud"]["provider"], "aws", "{group}");
        let got = actual(event);
        expected.organization = None;
        assert_eq!(got, expected, "{group} / {stream} / {owner}: {event}");
    }
    seen.len()
}

#[test]
fn every_corpus_log_group_gives_the_service_account_and_resource_of_its_envelope() {
    let envelopes = envelopes();
    let groups: std::collections::BTreeSet<String> =
        envelopes.iter().map(|e| envelope_key(e).0).collect();
    for group in [
        "/aws/lambda/echo-nodejs",
        "/aws/lambda/test_log_producer",
        "/aws/rds/instance/druid-lab0/postgresql",
        "/aws/rds/instance/kh-test-database-1/error",
        "API-Gateway-Execution-Logs_kgiqlx3nok/prod",
        "CloudTrail/logs",
        "CloudTrail",
    ] {
        assert!(
            groups.contains(group),
            "the corpus envelope of {group} was found: {groups:?}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("subscription").join("envelopes.ndjson");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let text: String = envelopes.iter().map(|e| e.to_string() + "\n").collect();
    std::fs::write(&file, text).unwrap();
    run_once(
        dir.path(),
        &file_pipeline(dir.path(), &file.display().to_string()),
    );
    let events = json_lines(&dir.path().join("out.ndjson"));
    let log_events: usize = envelopes
        .iter()
        .map(|e| e["logEvents"].as_array().unwrap().len())
        .sum();
    assert_eq!(events.len(), log_events, "one event per log event");
    assert_eq!(
        check_log_group_events(&events, &envelopes),
        envelopes
            .iter()
            .map(envelope_key)
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    );
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn log_groups_of_envelopes_a_source_unpacked_give_the_same_context() {
    use base64::Engine as _;
    let envelopes = envelopes();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let pipeline = format!(
        r#"
data_dir = "{dir}/data"
api.enabled = false
[sources.firehose]
type = "aws_firehose"
address = "127.0.0.1:{port}"
access_keys = ["key"]
[transforms.parse]
type = "aws_parse"
inputs = ["firehose"]
[sinks.out]
type = "file"
inputs = ["parse"]
path = "{dir}/out.ndjson"
[sinks.errors]
type = "file"
inputs = ["parse.errors", "firehose.errors"]
path = "{dir}/errors.ndjson"
"#,
        dir = dir.path().display()
    );
    std::fs::write(dir.path().join("pipeline.toml"), pipeline).unwrap();
    let weir = Weir::start(dir.path(), &["run", "-c", "pipeline.toml"], &[]);
    assert!(
        wait_for_port(port, Duration::from_secs(30)),
        "{}",
        weir.log_text()
    );
    let records: Vec<Json> = envelopes
        .iter()
        .map(|e| json!({"data": base64::engine::general_purpose::STANDARD.encode(gzip(e.to_string().as_bytes()))}))
        .collect();
    let body = json!({"requestId": "r-1", "timestamp": 1_764_594_300_000u64, "records": records})
        .to_string();
    let headers = [
        ("X-Amz-Firehose-Request-Id", "r-1"),
        ("X-Amz-Firehose-Access-Key", "key"),
        ("Content-Type", "application/json"),
    ];
    let (status, answer) =
        http_post(port, "/", &headers, body.as_bytes()).expect("the endpoint answers");
    assert_eq!(status, 200, "{answer}\n{}", weir.log_text());
    let log_events: usize = envelopes
        .iter()
        .map(|e| e["logEvents"].as_array().unwrap().len())
        .sum();
    let start = Instant::now();
    let (events, errors) = loop {
        let events = json_lines(&dir.path().join("out.ndjson"));
        let errors = json_lines(&dir.path().join("errors.ndjson"));
        if events.len() + errors.len() >= log_events || start.elapsed() > Duration::from_secs(30) {
            break (events, errors);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        events.len() + errors.len(),
        log_events,
        "{}",
        weir.log_text()
    );
    // Here the source unpacked the envelopes: a message no format parses (EKS's klog lines,
    // a doc's elided CloudTrail event) is a parse error, which carries no context.
    for error in &errors {
        assert_eq!(error["error"]["type"], "parse_failed", "{error}");
    }
    assert!(check_log_group_events(&events, &envelopes) >= 8);
}
