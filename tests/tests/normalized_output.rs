//! Acceptance of `schema = "ecs"` end to end: file source → `aws_parse` (ECS) → `elasticsearch`
//! sink in `data_stream` mode, against a real Elasticsearch-API server (osmem-server, which
//! enforces mappings): each log type lands in the data stream Elastic's `aws` integration
//! reads, `logs-aws.<dataset>-default`, named from the events' own `data_stream.*` fields.

use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use weir_tests::services::osmem;
use weir_tests::Weir;

const ALB: &str = "https 2024-05-01T00:00:00.000318Z app/my-lb/50dc6c495c0c9188 81.2.69.142:43942 10.0.18.124:80 0.002 0.005 0.001 200 200 59 3512 \"GET https://www.example.com:443/index.html?a=1 HTTP/1.1\" \"curl/8.0\" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 \"Root=1-66318600-882e909d026a8031af025004\" \"www.example.com\" \"arn:aws:acm:us-east-2:123456789012:certificate/12345678\" 0 2024-04-30T23:59:59.985427Z \"forward\" \"-\" \"-\" \"10.0.18.124:80\" \"200\" \"-\" \"-\" TID_f6c4ee255e5152a47e696cf519288917";
const VPC: &str = "2 123456789012 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK";
const CLOUDTRAIL: &str = r#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::123456789012:user/alice","accountId":"123456789012","userName":"alice"},"eventTime":"2024-03-01T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","awsRegion":"eu-west-1","sourceIPAddress":"81.2.69.142","userAgent":"aws-cli/2.15","requestParameters":null,"responseElements":null,"requestID":"R1","eventID":"EV-1","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"123456789012","eventCategory":"Management"}"#;

fn write_lines(path: &Path, line: &str, count: usize) {
    let mut out = std::fs::File::create(path).unwrap();
    for _ in 0..count {
        writeln!(out, "{line}").unwrap();
    }
}

#[test]
fn ecs_events_go_to_elastics_aws_data_streams() {
    let server = osmem();
    let dir = tempfile::tempdir().unwrap();
    // One stream per log type: `auto` detects each file's format from its first record. (In a
    // folder of their own: Weir's log is a `.log` file of the test directory.)
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    write_lines(&input.join("alb.log"), ALB, 30);
    write_lines(&input.join("vpc.log"), VPC, 20);
    write_lines(&input.join("trail.log"), CLOUDTRAIL, 10);
    std::fs::write(
        dir.path().join("pipeline.toml"),
        format!(
            r#"
data_dir = "data"
api.enabled = false
[sources.in]
type = "file"
include = ["in/*.log"]
[transforms.ecs]
type = "aws_parse"
inputs = ["in"]
schema = "ecs"
[sinks.es]
type = "elasticsearch"
inputs = ["ecs"]
endpoints = ["{}"]
mode = "data_stream"
index = "{{{{ data_stream.type }}}}-{{{{ data_stream.dataset }}}}-{{{{ data_stream.namespace }}}}"
[sinks.dead]
type = "file"
inputs = ["es.dead_letter", "ecs.errors"]
path = "dead.ndjson"
"#,
            server.url()
        ),
    )
    .unwrap();
    let mut weir = Weir::start(dir.path(), &["run", "-c", "pipeline.toml", "--once"], &[]);
    let status = weir.wait(Duration::from_secs(120));
    assert!(status.success(), "{status:?}\n{}", weir.log_text());
    let dead = std::fs::read_to_string(dir.path().join("dead.ndjson")).unwrap_or_default();
    assert!(dead.is_empty(), "dead letters: {dead}");
    server.json("POST", "/_refresh", "");
    for (stream, want) in [
        ("logs-aws.elb_logs-default", 30),
        ("logs-aws.vpcflow-default", 20),
        ("logs-aws.cloudtrail-default", 10),
    ] {
        let count = server.json("GET", &format!("/{stream}/_count"), "")["count"].as_u64();
        assert_eq!(count, Some(want), "{stream}");
    }
    let hit = server.json(
        "GET",
        "/logs-aws.elb_logs-default/_search",
        r#"{"query":{"match_all":{}},"size":1}"#,
    );
    let doc = &hit["hits"]["hits"][0]["_source"];
    assert_eq!(doc["source"]["ip"], "81.2.69.142", "{doc}");
    assert_eq!(doc["data_stream"]["dataset"], "aws.elb_logs", "{doc}");
    assert_eq!(doc["http"]["response"]["status_code"], 200, "{doc}");
    assert!(doc["@timestamp"].is_string(), "{doc}");
    assert!(doc["aws"]["elb"].is_object(), "native fields kept: {doc}");
}
