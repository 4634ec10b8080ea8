//! `format = "auto"`: which format a record is, decided in this order:
//!
//! 1. **Stream identity** (S3 key or file path), by AWS's object layouts;
//! 2. **CloudWatch Logs group** (events from subscriptions carry `log_group`/`log_stream`), then
//!    the log stream;
//! 3. **Content** of the record: for a JSON record, its top-level members only (and those of the
//!    first element of a top-level `Records` array) — a key nested in `requestParameters` never
//!    decides; for anything else, its first bytes.
//!
//! What each format matches at each step is declared in its [registry](super::registry) entry and
//! tried in registry order; the generated reference (`weir docs`) lists every pattern.

use super::registry::{Format, FORMATS};

/// Detection from a stream identity (S3 key, `s3://bucket/key`, or a file path).
pub fn by_stream(identity: &str) -> Option<&'static Format> {
    FORMATS
        .iter()
        .find(|f| f.detect.stream.iter().any(|p| p.matches(identity)))
}

/// Detection from a CloudWatch Logs group and stream.
pub fn by_log_group(group: &str, stream: Option<&str>) -> Option<&'static Format> {
    FORMATS
        .iter()
        .find(|f| f.detect.log_group.iter().any(|p| p.matches(group)))
        .or_else(|| {
            let stream = stream?;
            FORMATS
                .iter()
                .find(|f| f.detect.log_stream.iter().any(|p| p.matches(stream)))
        })
}

/// How much of a non-JSON record content detection looks at.
pub const SNIFF_BYTES: usize = 4096;

/// How much of a JSON record is scanned for its top-level members: enough for a CloudTrail event
/// with large `requestParameters` before its later top-level keys.
pub const JSON_SCAN_BYTES: usize = 256 * 1024;

/// Detection from the record itself.
pub fn by_content(record: &[u8]) -> Option<&'static Format> {
    let record = trim_start(record);
    match record.first()? {
        b'{' | b'[' => {
            let members = JsonMembers::scan(record.get(..JSON_SCAN_BYTES.min(record.len()))?);
            FORMATS
                .iter()
                .find(|f| f.detect.json.is_some_and(|check| check(&members)))
        }
        _ => {
            let head = record.get(..SNIFF_BYTES.min(record.len()))?;
            FORMATS
                .iter()
                .find(|f| f.detect.text.is_some_and(|check| check(head)))
        }
    }
}

fn trim_start(mut bytes: &[u8]) -> &[u8] {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        bytes = rest;
    }
    let skip = bytes.iter().take_while(|b| b.is_ascii_whitespace()).count();
    bytes.get(skip..).unwrap_or(b"")
}

/// The top-level members of a JSON object (for a top-level array: of its first element), and
/// those of the first element of a top-level `Records` array. Keys are compared as written
/// (AWS's keys need no escapes); string values are kept raw, other values as absent.
#[derive(Debug, Default)]
pub struct JsonMembers<'a> {
    top: Vec<(&'a [u8], Option<&'a [u8]>)>,
    first_record: Vec<(&'a [u8], Option<&'a [u8]>)>,
}

impl<'a> JsonMembers<'a> {
    /// Scans `json` (possibly cut short: members read before the cut count).
    pub fn scan(json: &'a [u8]) -> Self {
        let mut scanner = Scanner { json, pos: 0 };
        let mut members = JsonMembers::default();
        scanner.skip_ws();
        if scanner.peek() == Some(b'[') {
            scanner.pos += 1;
            scanner.skip_ws();
        }
        scanner.object(&mut members.top, Some(&mut members.first_record));
        members
    }

    /// Whether the record has the top-level key `key`.
    pub fn has(&self, key: &str) -> bool {
        self.top.iter().any(|(k, _)| *k == key.as_bytes())
    }

    /// The top-level string value of `key`, raw (escapes not decoded).
    pub fn str(&self, key: &str) -> Option<&'a [u8]> {
        self.top
            .iter()
            .find(|(k, _)| *k == key.as_bytes())
            .and_then(|(_, v)| *v)
    }

    /// The string value of `key` in the first element of a top-level `Records` array.
    pub fn first_record_str(&self, key: &str) -> Option<&'a [u8]> {
        self.first_record
            .iter()
            .find(|(k, _)| *k == key.as_bytes())
            .and_then(|(_, v)| *v)
    }
}

/// A forgiving walk over JSON text: it never fails, it stops where the text stops making sense.
///
/// Not [`super::json_reader`]'s parser: that one builds every nested value (allocating for each
/// object of a large `requestParameters`) and rejects a record cut at [`JSON_SCAN_BYTES`], while
/// detection needs only the top-level keys, without allocating, on possibly truncated text.
struct Scanner<'a> {
    json: &'a [u8],
    pos: usize,
}

type Members<'a> = Vec<(&'a [u8], Option<&'a [u8]>)>;

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.json.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    /// A string starting at `pos` (a `"`): its raw contents.
    fn string(&mut self) -> Option<&'a [u8]> {
        let start = self.pos + 1;
        let mut i = start;
        loop {
            match self.json.get(i)? {
                b'\\' => i += 2,
                b'"' => {
                    self.pos = i + 1;
                    return self.json.get(start..i);
                }
                _ => i += 1,
            }
        }
    }

    /// The members of the object at `pos`; with `records`, the first element of a `Records`
    /// array member is read into it.
    fn object(&mut self, out: &mut Members<'a>, mut records: Option<&mut Members<'a>>) {
        if self.peek() != Some(b'{') {
            return;
        }
        self.pos += 1;
        loop {
            self.skip_ws();
            match self.peek() {
                Some(b'"') => {}
                Some(b',') => {
                    self.pos += 1;
                    continue;
                }
                _ => return,
            }
            let Some(key) = self.string() else { return };
            self.skip_ws();
            if self.peek() != Some(b':') {
                return;
            }
            self.pos += 1;
            self.skip_ws();
            match self.peek() {
                Some(b'"') => {
                    let value = self.string();
                    out.push((key, value));
                    if value.is_none() {
                        return;
                    }
                }
                Some(b'[') if key == b"Records" && records.is_some() => {
                    out.push((key, None));
                    let start = self.pos;
                    self.pos += 1;
                    self.skip_ws();
                    if let Some(first) = records.take() {
                        self.object(first, None);
                    }
                    self.pos = start;
                    if !self.skip_value() {
                        return;
                    }
                }
                Some(_) => {
                    out.push((key, None));
                    if !self.skip_value() {
                        return;
                    }
                }
                None => return,
            }
        }
    }

    /// Skips one value; false when the text ends first.
    fn skip_value(&mut self) -> bool {
        let mut depth = 0usize;
        loop {
            let Some(b) = self.peek() else { return false };
            match b {
                b'"' => {
                    if self.string().is_none() {
                        return false;
                    }
                    if depth == 0 {
                        return true;
                    }
                    continue;
                }
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    if depth == 0 {
                        return true;
                    }
                    depth -= 1;
                    if depth == 0 {
                        self.pos += 1;
                        return true;
                    }
                }
                b',' if depth == 0 => return true,
                _ => {}
            }
            self.pos += 1;
        }
    }
}

/// `d` = ASCII digit, anything else must match literally.
pub(crate) fn shape(text: &str, pattern: &str) -> bool {
    text.len() == pattern.len()
        && text.bytes().zip(pattern.bytes()).all(|(t, p)| {
            if p == b'd' {
                t.is_ascii_digit()
            } else {
                t == p
            }
        })
}

/// `YYYY-MM-DDTHH:MM:SS…Z` (ALB/ELB/Route 53 times).
pub(crate) fn is_iso_time(token: &[u8]) -> bool {
    token.len() >= 20
        && token.last() == Some(&b'Z')
        && std::str::from_utf8(token.get(..19).unwrap_or(b""))
            .is_ok_and(|t| shape(t, "dddd-dd-ddTdd:dd:dd"))
}

/// The first three space-separated tokens of a line (empty where it has fewer).
pub(crate) fn first_tokens(head: &[u8]) -> [&[u8]; 3] {
    let mut tokens = head.split(|b| *b == b' ').filter(|t| !t.is_empty());
    [
        tokens.next().unwrap_or(b""),
        tokens.next().unwrap_or(b""),
        tokens.next().unwrap_or(b""),
    ]
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
            assert_eq!(
                by_stream(identity).map(|f| f.name),
                Some(format),
                "{identity}"
            );
        }
        assert_eq!(by_stream("/var/log/app.log").map(|f| f.name), None);
    }

    #[test]
    fn log_groups() {
        assert_eq!(
            by_log_group("/aws/lambda/checkout", None).map(|f| f.name),
            Some("lambda")
        );
        assert_eq!(
            by_log_group("/aws/rds/instance/db1/postgresql", None).map(|f| f.name),
            Some("rds_postgresql")
        );
        assert_eq!(
            by_log_group("/aws/rds/cluster/c1/error", None).map(|f| f.name),
            Some("rds_mysql")
        );
        assert_eq!(
            by_log_group("API-Gateway-Execution-Logs_abc123/prod", None).map(|f| f.name),
            Some("apigateway_execution")
        );
        assert_eq!(
            by_log_group("trail-logs", Some("111122223333_CloudTrail_us-east-1")).map(|f| f.name),
            Some("cloudtrail")
        );
        assert_eq!(by_log_group("my-app", Some("stream")).map(|f| f.name), None);
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
                by_content(record).map(|f| f.name),
                Some(format),
                "{}",
                String::from_utf8_lossy(record)
            );
        }
        assert_eq!(by_content(b"hello world").map(|f| f.name), None);
        assert!(by_content(b"").is_none());
        assert!(by_content(b"\x1f").is_none());
    }

    /// A KMS `Sign` event (AWS KMS documentation, "Logging AWS KMS API calls"): its
    /// `requestParameters.messageType` is another format's marker one level down, which a
    /// substring search took for a CloudWatch Logs envelope.
    #[test]
    fn nested_keys_never_decide() {
        let sign = br#"{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole"},"eventTime":"2022-03-02T21:51:18Z","eventSource":"kms.amazonaws.com","eventName":"Sign","requestParameters":{"keyId":"arn:aws:kms:us-east-1:111122223333:key/1234abcd","messageType":"RAW","signingAlgorithm":"ECDSA_SHA_256"},"responseElements":null,"eventType":"AwsApiCall"}"#;
        assert_eq!(by_content(sign).map(|f| f.name), Some("cloudtrail"));
        // A WAF key nested in a CloudTrail event, and a CloudTrail key nested in a WAF log.
        let nested =
            br#"{"eventVersion":"1.08","requestParameters":{"webaclId":"x","query_name":"y"}}"#;
        assert_eq!(by_content(nested).map(|f| f.name), Some("cloudtrail"));
        let waf = br#"{"timestamp":1,"httpRequest":{"eventVersion":"x","messageType":"y"},"webaclId":"arn"}"#;
        assert_eq!(by_content(waf).map(|f| f.name), Some("waf"));
        // Top-level members after a large nested value are still seen.
        let big = format!(
            r#"{{"requestParameters":{{"messageType":"{}"}},"eventVersion":"1.08"}}"#,
            "x".repeat(10_000)
        );
        assert_eq!(
            by_content(big.as_bytes()).map(|f| f.name),
            Some("cloudtrail")
        );
    }

    #[test]
    fn json_members_survive_truncation_and_escapes() {
        let m = JsonMembers::scan(
            br#"{"a":"x\"y","b":[1,{"c":2}],"Records":[{"eventSource":"aws:s3"}],"d":"#,
        );
        assert!(m.has("a") && m.has("b") && m.has("Records"));
        assert_eq!(m.str("a"), Some(&br#"x\"y"#[..]));
        assert!(!m.has("c"));
        assert_eq!(m.first_record_str("eventSource"), Some(&b"aws:s3"[..]));
        assert!(!JsonMembers::scan(b"{").has("a"));
        assert!(!JsonMembers::scan(b"[\"a\"]").has("a"));
    }
}
