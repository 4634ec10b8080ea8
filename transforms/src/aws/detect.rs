//! `format = "auto"`: which format a record is, decided in this order:
//!
//! 1. **Stream identity** (S3 key or file path), by AWS's object layouts:
//!
//! | layout | format |
//! |---|---|
//! | `…/CloudTrail/…`, `…/CloudTrail-Insight/…`, `…/CloudTrail-Digest/…`, `…_CloudTrail_…` | `cloudtrail` |
//! | `…/vpcflowlogs/…` | `vpc_flow` |
//! | `…/elasticloadbalancing/…` with file name `…_app.…` / `…_net.…` / other | `alb` / `nlb` / `elb_classic` |
//! | `…/vpcdnsquerylogs/…` | `route53_resolver` |
//! | `…aws-waf-logs-…` | `waf` |
//! | `…_redshift_…_connectionlog_…` / `_userlog_` / `_useractivitylog_` | `redshift_connection` / `redshift_user` / `redshift_user_activity` |
//! | file name `<DIST>.YYYY-MM-DD-HH.<id>[.gz]` | `cloudfront` |
//! | file name ending `YYYY-MM-DD-HH-MM-SS-<16 hex>` | `s3_access` |
//!
//! 2. **CloudWatch Logs group** (events from subscriptions carry `log_group`/`log_stream`):
//!
//! | group (or stream) | format |
//! |---|---|
//! | `/aws/lambda/…` | `lambda` |
//! | `/aws/rds/…/postgresql` | `rds_postgresql` |
//! | `/aws/rds/…/error` | `rds_mysql` |
//! | `API-Gateway-Execution-Logs_…` | `apigateway_execution` |
//! | `/aws/kinesisfirehose/…` | `firehose_error` |
//! | `aws-waf-logs-…` | `waf` |
//! | `/aws/route53/…` | `route53_query` |
//! | `/aws/redshift/…/connectionlog` / `userlog` / `useractivitylog` | `redshift_*` |
//! | stream `<acct>_CloudTrail_<region>…` | `cloudtrail` |
//!
//! 3. **Content** of the record: gzip magic (`cloudwatch_logs`); JSON keys (`messageType` →
//!    `cloudwatch_logs`; `s3:TestEvent`, SNS `Notification`, `"eventSource":"aws:s3"`, EventBridge
//!    `aws.s3` → `s3_notification`; `digestStartTime`/`eventVersion` → `cloudtrail`; `webaclId` →
//!    `waf`; `query_name` → `route53_resolver`; `deliveryStreamARN`/`attemptsMade` →
//!    `firehose_error`; Lambda `platform.*`/`requestId`+`level` → `lambda`); W3C `#Version`/`#Fields`
//!    (`cloudfront`); a VPC Flow header line; Lambda `START/END/REPORT RequestId:`; API Gateway
//!    `(<request id>) `; Redshift `'YYYY-` and `|`-separated shapes; RDS timestamp prefixes; and the
//!    first tokens of the space-delimited formats (`http|https|h2|grpcs|ws|wss <time>` → `alb`,
//!    `tls 2.0` → `nlb`, `<time> <name> <ip:port>` → `elb_classic`, `1.0 <time>` → `route53_query`,
//!    `<64 hex> <bucket> [` → `s3_access`, `<version> <12-digit account>` → `vpc_flow`).

use memchr::memmem;

/// Detection from a stream identity (S3 key, `s3://bucket/key`, or a file path).
pub fn by_stream(identity: &str) -> Option<&'static str> {
    let name = identity.rsplit('/').next().unwrap_or(identity);
    if identity.contains("/CloudTrail/")
        || identity.contains("/CloudTrail-Insight/")
        || identity.contains("/CloudTrail-Digest/")
        || name.contains("_CloudTrail_")
        || name.contains("_CloudTrail-Digest_")
        || name.contains("_CloudTrail-Insight_")
    {
        return Some("cloudtrail");
    }
    if identity.contains("/vpcflowlogs/") || name.contains("_vpcflowlogs_") {
        return Some("vpc_flow");
    }
    if identity.contains("/elasticloadbalancing/") || name.contains("_elasticloadbalancing_") {
        return Some(if name.contains("_app.") {
            "alb"
        } else if name.contains("_net.") {
            "nlb"
        } else {
            "elb_classic"
        });
    }
    if identity.contains("/vpcdnsquerylogs/") {
        return Some("route53_resolver");
    }
    if identity.contains("aws-waf-logs-") {
        return Some("waf");
    }
    if name.contains("_redshift_") {
        if name.contains("_connectionlog_") {
            return Some("redshift_connection");
        }
        if name.contains("_useractivitylog_") {
            return Some("redshift_user_activity");
        }
        if name.contains("_userlog_") {
            return Some("redshift_user");
        }
    }
    if is_cloudfront_name(name) {
        return Some("cloudfront");
    }
    if is_s3_access_name(name) {
        return Some("s3_access");
    }
    None
}

/// `<DIST>.YYYY-MM-DD-HH.<id>` with an optional `.gz`.
fn is_cloudfront_name(name: &str) -> bool {
    let name = name.strip_suffix(".gz").unwrap_or(name);
    let mut parts = name.split('.');
    let (Some(dist), Some(hour), Some(id), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    !dist.is_empty()
        && dist
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        && shape(hour, "dddd-dd-dd-dd")
        && !id.is_empty()
        && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Ends with `YYYY-MM-DD-HH-MM-SS-<16 hex>`.
fn is_s3_access_name(name: &str) -> bool {
    let name = name.strip_suffix(".gz").unwrap_or(name);
    let Some(start) = name.len().checked_sub(36) else {
        return false;
    };
    let Some(tail) = name.get(start..) else {
        return false;
    };
    shape(tail.get(..19).unwrap_or(""), "dddd-dd-dd-dd-dd-dd")
        && tail.get(19..20) == Some("-")
        && tail
            .get(20..)
            .is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `d` = ASCII digit, anything else must match literally.
fn shape(text: &str, pattern: &str) -> bool {
    text.len() == pattern.len()
        && text.bytes().zip(pattern.bytes()).all(|(t, p)| {
            if p == b'd' {
                t.is_ascii_digit()
            } else {
                t == p
            }
        })
}

/// Detection from a CloudWatch Logs group and stream.
pub fn by_log_group(group: &str, stream: Option<&str>) -> Option<&'static str> {
    if group.starts_with("/aws/lambda/") {
        return Some("lambda");
    }
    if group.starts_with("/aws/rds/") {
        if group.ends_with("/postgresql") {
            return Some("rds_postgresql");
        }
        if group.ends_with("/error") {
            return Some("rds_mysql");
        }
    }
    if group.starts_with("API-Gateway-Execution-Logs_") {
        return Some("apigateway_execution");
    }
    if group.starts_with("/aws/kinesisfirehose/") {
        return Some("firehose_error");
    }
    if group.starts_with("aws-waf-logs-") {
        return Some("waf");
    }
    if group.starts_with("/aws/route53/") {
        return Some("route53_query");
    }
    if group.starts_with("/aws/redshift/") {
        if group.ends_with("/connectionlog") {
            return Some("redshift_connection");
        }
        if group.ends_with("/useractivitylog") {
            return Some("redshift_user_activity");
        }
        if group.ends_with("/userlog") {
            return Some("redshift_user");
        }
    }
    if stream.is_some_and(|s| s.contains("_CloudTrail_")) {
        return Some("cloudtrail");
    }
    None
}

/// How much of a record content detection looks at.
const SNIFF_BYTES: usize = 4096;

/// Detection from the record itself.
pub fn by_content(record: &[u8]) -> Option<&'static str> {
    let record = trim_start(record);
    let head = record.get(..SNIFF_BYTES.min(record.len()))?;
    match head.first()? {
        0x1f if head.get(1) == Some(&0x8b) => return Some("cloudwatch_logs"),
        b'{' | b'[' => return json_kind(head),
        b'#' if head.starts_with(b"#Version:") || head.starts_with(b"#Fields:") => {
            return Some("cloudfront")
        }
        _ => {}
    }
    for prefix in [
        &b"START RequestId:"[..],
        b"END RequestId:",
        b"REPORT RequestId:",
        b"INIT_START ",
        b"INIT_REPORT ",
    ] {
        if head.starts_with(prefix) {
            return Some("lambda");
        }
    }
    if head.first() == Some(&b'(')
        && head
            .iter()
            .position(|b| *b == b')')
            .is_some_and(|p| (20..=40).contains(&p))
    {
        return Some("apigateway_execution");
    }
    if head.first() == Some(&b'\'') && shape(std::str::from_utf8(head.get(1..6)?).ok()?, "dddd-") {
        return Some("redshift_user_activity");
    }
    let pipes = memchr::memchr_iter(b'|', head).count();
    if pipes >= 10 {
        let first = head.split(|b| *b == b'|').next().unwrap_or(b"");
        if !first.is_empty() && first.iter().all(u8::is_ascii_digit) {
            return Some("redshift_user");
        }
        if first
            .iter()
            .all(|b| b.is_ascii_alphabetic() || *b == b' ' || *b == b'_')
        {
            return Some("redshift_connection");
        }
    }
    if let Some(kind) = timestamp_prefixed(head) {
        return Some(kind);
    }
    if is_vpc_header(head) {
        return Some("vpc_flow");
    }
    let mut tokens = head.split(|b| *b == b' ').filter(|t| !t.is_empty());
    let first = tokens.next()?;
    let second = tokens.next().unwrap_or(b"");
    let third = tokens.next().unwrap_or(b"");
    match first {
        b"http" | b"https" | b"h2" | b"grpcs" | b"ws" | b"wss" if is_iso_time(second) => {
            Some("alb")
        }
        b"tls" if second.first().is_some_and(u8::is_ascii_digit) => Some("nlb"),
        b"1.0" if is_iso_time(second) => Some("route53_query"),
        _ if is_iso_time(first) && third.contains(&b':') => Some("elb_classic"),
        _ if first.len() == 64
            && first.iter().all(u8::is_ascii_hexdigit)
            && third.first() == Some(&b'[') =>
        {
            Some("s3_access")
        }
        _ if first.len() <= 2
            && first.iter().all(u8::is_ascii_digit)
            && second.len() == 12
            && second.iter().all(u8::is_ascii_digit) =>
        {
            Some("vpc_flow")
        }
        _ => None,
    }
}

fn trim_start(mut bytes: &[u8]) -> &[u8] {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        bytes = rest;
    }
    let skip = bytes.iter().take_while(|b| b.is_ascii_whitespace()).count();
    bytes.get(skip..).unwrap_or(b"")
}

fn has(head: &[u8], needle: &str) -> bool {
    memmem::find(head, needle.as_bytes()).is_some()
}

/// A JSON key/value pair, with or without a space after the colon.
fn has_pair(head: &[u8], key: &str, value: &str) -> bool {
    has(head, &format!("\"{key}\":\"{value}")) || has(head, &format!("\"{key}\": \"{value}"))
}

fn json_kind(head: &[u8]) -> Option<&'static str> {
    if has(head, "\"requestId\"") && has(head, "\"records\"") {
        return Some("firehose_http_request");
    }
    if has(head, "\"messageType\"") || has(head, "\"awslogs\"") {
        return Some("cloudwatch_logs");
    }
    if has(head, "s3:TestEvent")
        || (has(head, "\"TopicArn\"") && has_pair(head, "Type", "Notification"))
        || has_pair(head, "eventSource", "aws:s3")
        || (has(head, "\"detail-type\"") && has_pair(head, "source", "aws.s3"))
    {
        return Some("s3_notification");
    }
    if has(head, "\"digestStartTime\"") || has(head, "\"eventVersion\"") || has(head, "\"Records\"")
    {
        return Some("cloudtrail");
    }
    if has(head, "\"webaclId\"") {
        return Some("waf");
    }
    if has(head, "\"query_name\"") {
        return Some("route53_resolver");
    }
    if has(head, "\"deliveryStreamARN\"") || has(head, "\"attemptsMade\"") {
        return Some("firehose_error");
    }
    if has_pair(head, "type", "platform.") || (has(head, "\"requestId\"") && has(head, "\"level\""))
    {
        return Some("lambda");
    }
    None
}

/// `YYYY-MM-DDTHH:MM:SS…Z` (ALB/ELB/Route 53 times).
fn is_iso_time(token: &[u8]) -> bool {
    token.len() >= 20
        && token.last() == Some(&b'Z')
        && std::str::from_utf8(token.get(..19).unwrap_or(b""))
            .is_ok_and(|t| shape(t, "dddd-dd-ddTdd:dd:dd"))
}

/// RDS lines: PostgreSQL `YYYY-MM-DD HH:MM:SS UTC:`; MySQL `YYYY-MM-DD[T ]HH:MM:SS[.f][Z] <thread> [`.
fn timestamp_prefixed(head: &[u8]) -> Option<&'static str> {
    let date = std::str::from_utf8(head.get(..19)?).ok()?;
    if !(shape(date, "dddd-dd-dd dd:dd:dd") || shape(date, "dddd-dd-ddTdd:dd:dd")) {
        return None;
    }
    let rest = head.get(19..)?;
    if rest.starts_with(b" UTC:") {
        return Some("rds_postgresql");
    }
    let after_fraction = rest
        .iter()
        .skip_while(|b| b.is_ascii_digit() || **b == b'.' || **b == b'Z')
        .count();
    let rest = rest.get(rest.len() - after_fraction..)?;
    let mut tokens = rest.split(|b| *b == b' ').filter(|t| !t.is_empty());
    let thread = tokens.next()?;
    let bracket = tokens.next()?;
    (thread.iter().all(u8::is_ascii_digit) && bracket.first() == Some(&b'[')).then_some("rds_mysql")
}

/// A VPC Flow Logs header line: field names only, several of them VPC's.
fn is_vpc_header(head: &[u8]) -> bool {
    const NAMES: [&[u8]; 8] = [
        b"version",
        b"account-id",
        b"interface-id",
        b"srcaddr",
        b"dstaddr",
        b"log-status",
        b"action",
        b"pkt-srcaddr",
    ];
    let line = head.split(|b| *b == b'\n').next().unwrap_or(head);
    let tokens: Vec<&[u8]> = line
        .split(|b| *b == b' ')
        .filter(|t| !t.is_empty())
        .collect();
    tokens.len() >= 2
        && tokens.iter().all(|t| {
            t.iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-' || *b == b'\r')
        })
        && tokens.iter().filter(|t| NAMES.contains(t)).count() >= 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_layouts() {
        let cases = [
            ("AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/01/111122223333_CloudTrail_us-east-1_20240501T0000Z_abc.json.gz", "cloudtrail"),
            ("AWSLogs/o-abc/111122223333/CloudTrail-Digest/us-east-1/2024/05/01/x.json.gz", "cloudtrail"),
            ("AWSLogs/111122223333/vpcflowlogs/eu-west-1/2024/05/01/111122223333_vpcflowlogs_eu-west-1_fl-1_20240501T0000Z_h.log.gz", "vpc_flow"),
            ("AWSLogs/111122223333/elasticloadbalancing/eu-west-1/2024/05/01/111122223333_elasticloadbalancing_eu-west-1_app.my-alb.0123_20240501T0000Z_10.0.0.1_x.log.gz", "alb"),
            ("AWSLogs/111122223333/elasticloadbalancing/eu-west-1/2024/05/01/111122223333_elasticloadbalancing_eu-west-1_net.my-nlb.0123_20240501T0000Z_x.log.gz", "nlb"),
            ("AWSLogs/111122223333/elasticloadbalancing/eu-west-1/2024/05/01/111122223333_elasticloadbalancing_eu-west-1_my-elb_20240501T0000Z_10.0.0.1_x.log", "elb_classic"),
            ("s3://logs/cf/E2ABCDEFGHIJKL.2024-05-01-13.a1b2c3d4.gz", "cloudfront"),
            ("s3://logs/access/2024-05-01-13-04-05-0A1B2C3D4E5F6071", "s3_access"),
            ("AWSLogs/111122223333/redshift/eu-west-1/2024/05/01/111122223333_redshift_eu-west-1_cl1_useractivitylog_2024-05-01T13:04.gz", "redshift_user_activity"),
            ("firehose/aws-waf-logs-prod/2024/05/01/13/x.gz", "waf"),
        ];
        for (identity, format) in cases {
            assert_eq!(by_stream(identity), Some(format), "{identity}");
        }
        assert_eq!(by_stream("/var/log/app.log"), None);
    }

    #[test]
    fn log_groups() {
        assert_eq!(by_log_group("/aws/lambda/checkout", None), Some("lambda"));
        assert_eq!(
            by_log_group("/aws/rds/instance/db1/postgresql", None),
            Some("rds_postgresql")
        );
        assert_eq!(
            by_log_group("/aws/rds/cluster/c1/error", None),
            Some("rds_mysql")
        );
        assert_eq!(
            by_log_group("API-Gateway-Execution-Logs_abc123/prod", None),
            Some("apigateway_execution")
        );
        assert_eq!(
            by_log_group("trail-logs", Some("111122223333_CloudTrail_us-east-1")),
            Some("cloudtrail")
        );
        assert_eq!(by_log_group("my-app", Some("stream")), None);
    }

    #[test]
    fn content_shapes() {
        let cases: [(&[u8], &str); 14] = [
            (b"https 2018-07-02T22:23:00.186641Z app/my-lb/x 192.168.131.39:2817 10.0.0.1:80 0.086", "alb"),
            (b"tls 2.0 2018-12-20T02:59:40 net/my-nlb/c6e77e28c25b2234 g3d4b5e8bb8464cd 72.21.218.154:51341", "nlb"),
            (b"2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.000086", "elb_classic"),
            (b"2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK", "vpc_flow"),
            (b"version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status", "vpc_flow"),
            (b"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be awsexamplebucket1 [06/Feb/2019:00:00:38 +0000] 192.0.2.3", "s3_access"),
            (b"#Version: 1.0", "cloudfront"),
            (b"1.0 2017-12-13T08:15:50.235Z Z123412341234 example.com A NOERROR UDP IAD12 192.168.3.1 192.168.222.0/24", "route53_query"),
            (b"REPORT RequestId: 3b1e8b3a\tDuration: 1.2 ms", "lambda"),
            (b"(7a90d1f3-3c1e-11e9-9f3e-a1b2c3d4e5f6) HTTP Method: GET, Resource Path: /pets", "apigateway_execution"),
            (b"2022-10-05 22:05:52 UTC:52.95.4.1(11335):postgres@labdb:[3639]:LOG:  statement: SELECT 1", "rds_postgresql"),
            (b"2020-08-26T09:00:05.376465Z 0 [System] [MY-010116] [Server] /rdsdbbin/mysql/bin/mysqld", "rds_mysql"),
            (b"{\"eventVersion\":\"1.08\",\"eventSource\":\"s3.amazonaws.com\"}", "cloudtrail"),
            (b"{\"Records\":[{\"eventVersion\":\"2.1\",\"eventSource\":\"aws:s3\"}]}", "s3_notification"),
        ];
        for (record, format) in cases {
            assert_eq!(
                by_content(record),
                Some(format),
                "{}",
                String::from_utf8_lossy(record)
            );
        }
        assert_eq!(by_content(b"hello world"), None);
        assert_eq!(by_content(b""), None);
        assert_eq!(by_content(b"\x1f"), None);
    }
}
