//! The examples of Weir's VRL functions: real AWS records (from the AWS docs samples of the
//! corpus) and the results Weir gives. `tests.rs` runs every one through `Program::compile` and
//! `run` and compares, so the docs cannot drift from the code.

use vrl::compiler::prelude::*;

/// The examples of `parse_aws` (run by the tests, so they cannot drift).
pub(super) const PARSE_AWS: &[Example] = &[
    example! {
        title: "Parse an ALB access log line",
        source: r#"parse_aws!(s'http 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.46.0" - - arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337262-36d228ad5d99923122bbe354" "-" "-" 0 2018-07-02T22:22:48.364000Z "forward" "-" "-" "10.0.0.1:80" "200" "-" "-"')"#,
        result: Ok(r#"{
  "actions_executed": "forward",
  "aws": {
    "log_type": "alb"
  },
  "client_ip": "192.168.131.39",
  "client_port": 2817,
  "elb": "app/my-loadbalancer/50dc6c495c0c9188",
  "elb_status_code": 200,
  "matched_rule_priority": 0,
  "received_bytes": 34,
  "request": "GET http://www.example.com:80/ HTTP/1.1",
  "request_creation_time": "2018-07-02T22:22:48.364Z",
  "request_method": "GET",
  "request_processing_time": 0.0,
  "request_protocol": "HTTP/1.1",
  "request_url": "http://www.example.com:80/",
  "response_processing_time": 0.0,
  "sent_bytes": 366,
  "target_group_arn": "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067",
  "target_ip": "10.0.0.1",
  "target_port": 80,
  "target_port_list": [
    "10.0.0.1:80"
  ],
  "target_processing_time": 0.001,
  "target_status_code": 200,
  "target_status_code_list": [
    200
  ],
  "timestamp": "2018-07-02T22:23:00.186641Z",
  "trace_id": "Root=1-58337262-36d228ad5d99923122bbe354",
  "type": "http",
  "user_agent": "curl/7.46.0"
}"#),
    },
    example! {
        title: "Parse a VPC Flow Logs record (default format)",
        source: r#"parse_aws!("2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK")"#,
        result: Ok(r#"{
  "account_id": "123456789010",
  "action": "ACCEPT",
  "aws": {
    "log_type": "vpc_flow"
  },
  "bytes": 4249,
  "dstaddr": "172.31.16.21",
  "dstport": 22,
  "end": 1418530070,
  "interface_id": "eni-1235b8ca123456789",
  "log_status": "OK",
  "packets": 20,
  "protocol": 6,
  "srcaddr": "172.31.16.139",
  "srcport": 20641,
  "start": 1418530010,
  "timestamp": "2014-12-14T04:06:50Z",
  "version": 2
}"#),
    },
    example! {
        title: "Parse a custom-format VPC Flow Logs record",
        source: r#"parse_aws!(
    "5 52.95.128.179 10.0.0.71 80 34210 6 1616729292 1616729349 IPv4 14 15044 123456789012 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-0c50d5961bcb2d47b eni-1235b8ca123456789 ap-southeast-2 apse2-az3 - - ACCEPT 19 52.95.128.179 10.0.0.71 S3 - - ingress OK",
    format: "vpc_flow",
    vpc_flow_format: "version srcaddr dstaddr srcport dstport protocol start end type packets bytes account-id vpc-id subnet-id instance-id interface-id region az-id sublocation-type sublocation-id action tcp-flags pkt-srcaddr pkt-dstaddr pkt-src-aws-service pkt-dst-aws-service traffic-path flow-direction log-status"
)"#,
        result: Ok(r#"{
  "account_id": "123456789012",
  "action": "ACCEPT",
  "aws": {
    "log_type": "vpc_flow"
  },
  "az_id": "apse2-az3",
  "bytes": 15044,
  "dstaddr": "10.0.0.71",
  "dstport": 34210,
  "end": 1616729349,
  "flow_direction": "ingress",
  "instance_id": "i-0c50d5961bcb2d47b",
  "interface_id": "eni-1235b8ca123456789",
  "log_status": "OK",
  "packets": 14,
  "pkt_dstaddr": "10.0.0.71",
  "pkt_src_aws_service": "S3",
  "pkt_srcaddr": "52.95.128.179",
  "protocol": 6,
  "region": "ap-southeast-2",
  "srcaddr": "52.95.128.179",
  "srcport": 80,
  "start": 1616729292,
  "subnet_id": "subnet-aaaaaaaa012345678",
  "tcp_flags": 19,
  "timestamp": "2021-03-26T03:28:12Z",
  "type": "IPv4",
  "version": 5,
  "vpc_id": "vpc-abcdefab012345678"
}"#),
    },
    example! {
        title: "Parse a CloudTrail `Records` document into an array",
        source: r#"parse_aws!(s'{"Records":[{"eventVersion":"1.08","eventTime":"2014-03-24T21:11:59Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","awsRegion":"us-east-2","sourceIPAddress":"127.0.0.1","userIdentity":{"type":"IAMUser","userName":"Alice"},"requestParameters":{"userName":"Bob"}},{"eventVersion":"1.08","eventTime":"2014-03-24T21:12:03Z","eventSource":"iam.amazonaws.com","eventName":"AddUserToGroup","awsRegion":"us-east-2","sourceIPAddress":"127.0.0.1","userIdentity":{"type":"IAMUser","userName":"Alice"},"requestParameters":{"userName":"Bob","groupName":"admin"}}]}')"#,
        result: Ok(r#"[
  {
    "aws": {
      "cloudtrail_kind": "event",
      "log_type": "cloudtrail"
    },
    "awsRegion": "us-east-2",
    "eventName": "CreateUser",
    "eventSource": "iam.amazonaws.com",
    "eventTime": "2014-03-24T21:11:59Z",
    "eventVersion": "1.08",
    "requestParameters": {
      "userName": "Bob"
    },
    "sourceIPAddress": "127.0.0.1",
    "timestamp": "2014-03-24T21:11:59Z",
    "userIdentity": {
      "type": "IAMUser",
      "userName": "Alice"
    }
  },
  {
    "aws": {
      "cloudtrail_kind": "event",
      "log_type": "cloudtrail"
    },
    "awsRegion": "us-east-2",
    "eventName": "AddUserToGroup",
    "eventSource": "iam.amazonaws.com",
    "eventTime": "2014-03-24T21:12:03Z",
    "eventVersion": "1.08",
    "requestParameters": {
      "groupName": "admin",
      "userName": "Bob"
    },
    "sourceIPAddress": "127.0.0.1",
    "timestamp": "2014-03-24T21:12:03Z",
    "userIdentity": {
      "type": "IAMUser",
      "userName": "Alice"
    }
  }
]"#),
    },
    example! {
        title: "Parse a CloudWatch Logs subscription message (log events by their log group)",
        source: r#"parse_aws!(s'{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"/aws/lambda/my-function","logStream":"2024/05/01/[$LATEST]0123456789abcdef","subscriptionFilters":["to-weir"],"logEvents":[{"id":"eventId1","timestamp":1714557600000,"message":"START RequestId: 6bc28136-xmpl-4365-b021-0ce6b2e64ab0 Version: $LATEST"}]}')"#,
        result: Ok(r#"[
  {
    "aws": {
      "log_type": "lambda"
    },
    "cloudwatch": {
      "id": "eventId1",
      "log_group": "/aws/lambda/my-function",
      "log_stream": "2024/05/01/[$LATEST]0123456789abcdef",
      "message": "START RequestId: 6bc28136-xmpl-4365-b021-0ce6b2e64ab0 Version: $LATEST",
      "owner": "123456789012",
      "subscription_filters": [
        "to-weir"
      ],
      "timestamp": "2024-05-01T10:00:00Z"
    },
    "request_id": "6bc28136-xmpl-4365-b021-0ce6b2e64ab0",
    "timestamp": "2024-05-01T10:00:00Z",
    "type": "platform.start",
    "version": "$LATEST"
  }
]"#),
    },
    example! {
        title: "A VPC Flow Logs header line is an error",
        source: r#"parse_aws!("version srcaddr dstaddr srcport dstport protocol start end type packets bytes account-id vpc-id subnet-id instance-id interface-id region az-id sublocation-type sublocation-id action tcp-flags pkt-srcaddr pkt-dstaddr pkt-src-aws-service pkt-dst-aws-service traffic-path flow-direction log-status")"#,
        result: Err(r#"function call error for "parse_aws" at (0:309): vpc_flow: a header line names the columns of the records after it and is no record: pass its columns as `vpc_flow_format`, or parse whole streams with the `aws_parse` transform"#),
    },
];

/// The examples of `aws_log_type` (run by the tests, so they cannot drift).
pub(super) const AWS_LOG_TYPE: &[Example] = &[
    example! {
        title: "Detect an ALB record by its content",
        source: r#"aws_log_type(s'http 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.46.0" - - arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337262-36d228ad5d99923122bbe354" "-" "-" 0 2018-07-02T22:22:48.364000Z "forward" "-" "-" "10.0.0.1:80" "200" "-" "-"')"#,
        result: Ok(r#""alb""#),
    },
    example! {
        title: "Detect a CloudFront record by its S3 object name",
        source: r#"aws_log_type(
    "2019-12-04\t21:02:31\tLAX1\t392\t192.0.2.100\tGET\td111111abcdef8.cloudfront.net\t/index.html\t200\t-\tMozilla/5.0%20(Windows%20NT%2010.0;%20Win64;%20x64)%20AppleWebKit/537.36%20(KHTML,%20like%20Gecko)%20Chrome/78.0.3904.108%20Safari/537.36\t-\t-\tHit\tSOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==\td111111abcdef8.cloudfront.net\thttps\t23\t0.001\t-\tTLSv1.2\tECDHE-RSA-AES128-GCM-SHA256\tHit\tHTTP/2.0\t-\t-\t11040\t0.001\tHit\ttext/html\t78\t-\t-",
    stream: "s3://my-logs/cdn/E2EXAMPLE1234.2019-12-04-21.a1b2c3d4.gz"
)"#,
        result: Ok(r#""cloudfront""#),
    },
    example! {
        title: "Detect a Lambda log line by its log group",
        source: r#"aws_log_type("[ERROR] connection refused", log_group: "/aws/lambda/my-function")"#,
        result: Ok(r#""lambda""#),
    },
    example! {
        title: "No known format",
        source: r#"aws_log_type("hello world")"#,
        result: Ok(r#"null"#),
    },
];

/// The examples of `get_enrichment_table_record`: Vector's documented examples, on the table
/// `test` of the tests (`id` integer, `firstname`, `surname`, `date_of_birth` date): Bob Smith
/// 1985-05-20, Fred Smith 1985-11-01, John Jones 1990-01-01.
pub(super) const GET_ENRICHMENT_TABLE_RECORD: &[Example] = &[
    example! {
        title: "Exact match",
        source: r#"get_enrichment_table_record!("test", {"surname": "smith", "firstname": "bob"}, case_sensitive: false, select: ["id", "firstname", "surname"])"#,
        result: Ok(r#"{"id": 1, "firstname": "Bob", "surname": "Smith"}"#),
    },
    example! {
        title: "Date range search",
        source: r#"get_enrichment_table_record!("test", {"surname": "Smith", "date_of_birth": {"from": t'1985-01-01T00:00:00Z', "to": t'1985-06-30T00:00:00Z'}}, select: ["id", "firstname", "surname"])"#,
        result: Ok(r#"{"id": 1, "firstname": "Bob", "surname": "Smith"}"#),
    },
];

/// The examples of `find_enrichment_table_records` (same table as above).
pub(super) const FIND_ENRICHMENT_TABLE_RECORDS: &[Example] = &[
    example! {
        title: "Exact match",
        source: r#"find_enrichment_table_records!("test", {"surname": "smith"}, case_sensitive: false, select: ["id", "firstname", "surname"])"#,
        result: Ok(r#"[{"id": 1, "firstname": "Bob", "surname": "Smith"}, {"id": 2, "firstname": "Fred", "surname": "Smith"}]"#),
    },
    example! {
        title: "Date range search",
        source: r#"find_enrichment_table_records!("test", {"surname": "Smith", "date_of_birth": {"from": t'1985-01-01T00:00:00Z', "to": t'1985-12-31T00:00:00Z'}}, select: ["id", "firstname", "surname"])"#,
        result: Ok(r#"[{"id": 1, "firstname": "Bob", "surname": "Smith"}, {"id": 2, "firstname": "Fred", "surname": "Smith"}]"#),
    },
];

/// The examples of `geoip`, on MaxMind's GeoIP2-City test database as the table `city`.
pub(super) const GEOIP: &[Example] = &[
    example! {
        title: "Locate a public address",
        source: r#"geoip!("81.2.69.142:443", "city")"#,
        result: Ok(r#"{"city_name": "London", "continent_code": "EU", "continent_name": "Europe", "country_iso_code": "GB", "country_name": "United Kingdom", "location": {"lat": 51.5142, "lon": -0.0931}, "region_iso_code": "GB-ENG", "region_name": "England", "timezone": "Europe/London"}"#),
    },
    example! {
        title: "A private address is tagged, not looked up",
        source: r#"geoip!("10.0.12.7", "city")"#,
        result: Ok(r#"{"private": true}"#),
    },
];
