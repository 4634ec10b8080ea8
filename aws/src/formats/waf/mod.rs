//! AWS WAF (v2, and the older WAF Classic variant) web ACL traffic logs: one JSON object per
//! record (newline-delimited in S3, Firehose and CloudWatch Logs `aws-waf-logs-*`; the AWS docs
//! pretty-print them, which is accepted too).
//!
//! Keys are **kept as WAF writes them** (camelCase, nested), like CloudTrail: WAF's schema is
//! nested and open-ended (`ruleGroupList`, `httpRequest.headers` as `[{name, value}]`, match
//! details), and WAF tooling queries these names. Values keep their JSON types, with these
//! documented normalisations:
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `timestamp` | timestamp | WAF's `timestamp` (epoch milliseconds; a numeric string is accepted), converted in place |
//! | `aws.log_type` | string | `waf` |
//! | `rateBasedRuleList[].evaluationWindowSec` | integer | normalised to an integer (observed as number and as string) |
//! | `formatVersion` | integer | log format version (1) |
//! | `webaclId` | string | web ACL ARN (v2) or id (Classic) |
//! | `terminatingRuleId`, `terminatingRuleType` | string | the rule that ended inspection, its type (REGULAR, RATE_BASED, GROUP, MANAGED_RULE_GROUP) |
//! | `action` | string | ALLOW, BLOCK, CAPTCHA, CHALLENGE, COUNT |
//! | `terminatingRuleMatchDetails` | array | match details of the terminating rule |
//! | `httpSourceName`, `httpSourceId` | string | source type (CF, ALB, APIGW, APPSYNC, COGNITOIDP, ...) and id |
//! | `ruleGroupList`, `rateBasedRuleList`, `nonTerminatingMatchingRules` | array | rule evaluation details |
//! | `requestHeadersInserted`, `responseCodeSent` | array / integer / null | custom request headers and response code |
//! | `httpRequest` | object | `clientIp`, `country`, `headers` [{`name`, `value`}], `uri`, `args`, `httpVersion`, `httpMethod`, `requestId`, `fragment`, `scheme`, `host` |
//! | `labels` | array | [{`name`}] labels added by matching rules |
//! | `captchaResponse`, `challengeResponse` | object | token evaluation results |
//! | `ja3Fingerprint`, `ja4Fingerprint` | string | TLS client fingerprints |
//! | `oversizeFields`, `requestBodySize`, `requestBodySizeInspectedByWAF` | as in JSON | body inspection details |
//!
//! Any other key is kept unchanged. Errors: not a JSON object, `timestamp` missing or not epoch
//! milliseconds.

use bytes::Bytes;
use chrono::DateTime;
use vrl::value::{KeyString, ObjectMap, Value};

use crate::formats::json_reader::value::{key_offset, parse_object, value_as_i64};
use crate::formats::{set_log_type, ParseError, RecordParser};

/// `aws.log_type` of WAF logs.
pub const LOG_TYPE: &str = "waf";

/// Parser for WAF logs; see the [module docs](self).
#[derive(Clone, Debug, Default)]
pub struct WafParser;

impl RecordParser for WafParser {
    fn log_type(&self) -> &'static str {
        LOG_TYPE
    }

    fn parse(&mut self, record: &Bytes, out: &mut Vec<ObjectMap>) -> Result<(), ParseError> {
        let mut map = parse_object(LOG_TYPE, record)?;
        let time = map
            .get("timestamp")
            .and_then(value_as_i64)
            .and_then(DateTime::from_timestamp_millis)
            .ok_or_else(|| {
                ParseError::new(
                    LOG_TYPE,
                    "timestamp",
                    key_offset(record, "timestamp"),
                    "missing or invalid timestamp (epoch milliseconds)",
                )
            })?;
        map.insert(KeyString::from("timestamp"), Value::Timestamp(time));
        if let Some(Value::Array(rules)) = map.get_mut("rateBasedRuleList") {
            for rule in rules.iter_mut() {
                if let Value::Object(rule) = rule {
                    if let Some(w) = rule.get_mut("evaluationWindowSec") {
                        if let Some(i) = value_as_i64(w) {
                            *w = Value::Integer(i);
                        }
                    }
                }
            }
        }
        set_log_type(&mut map, LOG_TYPE);
        out.push(map);
        Ok(())
    }
}

/// Registry content check: a top-level `webaclId`.
pub fn detect_json(members: &crate::formats::detect::JsonMembers<'_>) -> bool {
    members.has("webaclId")
}

mod ecs;
mod ocsf;

/// ECS `aws.waf` and OCSF HTTP Activity (see [`ecs`] and [`ocsf`]).
pub const MAPPINGS: crate::normalize::Mappings = crate::normalize::Mappings {
    ecs: crate::normalize::EcsMapping {
        dataset: "aws.waf",
        native_path: "aws.waf",
        map: Some(ecs::map),
    },
    ocsf: crate::normalize::OcsfMapping {
        product: "AWS WAF",
        map: Some(ocsf::map),
        classes: "HTTP Activity 4002",
    },
};

/// The value of the request header `name` (any case), from `httpRequest.headers`.
fn header<'a>(native: &'a impl crate::normalize::fields::Lookup, name: &str) -> Option<&'a str> {
    let Some(Value::Array(headers)) = crate::normalize::fields::get(native, "httpRequest.headers")
    else {
        return None;
    };
    headers.iter().find_map(|h| match h {
        Value::Object(h) => {
            let named = crate::normalize::fields::get_str(h, "name")?;
            if named.eq_ignore_ascii_case(name) {
                crate::normalize::fields::get_str(h, "value")
            } else {
                None
            }
        }
        _ => None,
    })
}

/// The HTTP status WAF itself answered with: `responseCodeSent` (a custom response), else the
/// status of WAF's own response for its terminating action (403 for BLOCK, 405 for a CAPTCHA
/// puzzle, 202 for a CHALLENGE script, as the WAF developer guide documents). `None` for ALLOW:
/// the protected resource answered, and WAF does not log its status.
fn sent_status(native: &impl crate::normalize::fields::Lookup) -> Option<i64> {
    if let Some(code) = crate::normalize::fields::get_int(native, "responseCodeSent") {
        return Some(code);
    }
    match crate::normalize::fields::get_str(native, "action")? {
        "BLOCK" => Some(403),
        "CAPTCHA" => Some(405),
        "CHALLENGE" => Some(202),
        _ => None,
    }
}

/// The region, account and service of a WAFv2 web ACL ARN
/// (`arn:aws:wafv2:<region>:<account>:<scope>/webacl/<name>/<id>`); WAF Classic ids are not
/// ARNs and give nothing.
fn webacl_arn(native: &impl crate::normalize::fields::Lookup) -> Option<(&str, &str, &str)> {
    let arn = crate::normalize::fields::get_str(native, "webaclId")?;
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_partition), Some(service), Some(region), Some(account)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let known = |s: &str| !s.is_empty();
    (known(service) && known(region) && known(account)).then_some((region, account, service))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::json_reader::test_support::*;

    #[test]
    fn every_corpus_record() {
        let files = input_files("waf");
        assert_eq!(files.len(), 6);
        for path in files {
            let data = read(&path);
            let json = read_json(&path);
            let mut out = Vec::new();
            WafParser
                .parse(&data, &mut out)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(out.len(), 1);
            let o = &out[0];
            assert_eq!(log_type(o), Some("waf"));
            assert_eq!(get_ts_ms(o, "timestamp"), json["timestamp"].as_i64());
            // Everything else is the JSON unchanged.
            let mut rest = o.clone();
            rest.remove("timestamp");
            rest.remove("aws");
            let mut want = json.clone();
            want.as_object_mut().unwrap().remove("timestamp");
            assert_eq!(to_json(&Value::Object(rest)), want, "{}", path.display());
            assert_bytes_strings(&Value::Object(o.clone()));
        }
        let data = read_corpus("waf/otel/cloudfront-allow-ratebased.json");
        let mut out = Vec::new();
        WafParser.parse(&data, &mut out).unwrap();
        assert_eq!(
            get_str(&out[0], "httpRequest.clientIp"),
            Some("178.84.204.171")
        );
        assert_eq!(
            get_str(&out[0], "ja4Fingerprint"),
            Some("t13d1717h2_5b57614c22b0_3cbfd9057e0d")
        );
    }

    #[test]
    fn evaluation_window_as_string_is_normalised() {
        let rec = br#"{"timestamp":"1748208718574","rateBasedRuleList":[{"evaluationWindowSec":"300"},{"evaluationWindowSec":60}]}"#;
        let mut out = Vec::new();
        WafParser.parse(&Bytes::from_static(rec), &mut out).unwrap();
        let Some(Value::Array(rules)) = out[0].get("rateBasedRuleList") else {
            panic!()
        };
        assert_eq!(
            rules[0],
            Value::Object([("evaluationWindowSec".into(), Value::Integer(300))].into())
        );
        assert_eq!(
            rules[1],
            Value::Object([("evaluationWindowSec".into(), Value::Integer(60))].into())
        );
        assert_eq!(get_ts_ms(&out[0], "timestamp"), Some(1_748_208_718_574));
    }

    /// `http_response.code` (required by OCSF) and ECS's status: the custom response's code,
    /// else that of WAF's own response to its action, else 0 in OCSF and none in ECS.
    #[test]
    fn response_code_of_each_action() {
        use crate::normalize::{fields, normalize, OutputSchema};
        for (action, sent, ocsf, ecs) in [
            ("BLOCK", "null", 403, Some(403)),
            ("BLOCK", "429", 429, Some(429)),
            ("CAPTCHA", "null", 405, Some(405)),
            ("CHALLENGE", "null", 202, Some(202)),
            ("ALLOW", "null", 0, None),
        ] {
            let rec = format!(
                r#"{{"timestamp":1,"webaclId":"x","action":"{action}","responseCodeSent":{sent},"httpRequest":{{"clientIp":"1.2.3.4","uri":"/","httpMethod":"GET"}}}}"#
            );
            let mut out = Vec::new();
            WafParser.parse(&Bytes::from(rec), &mut out).unwrap();
            let native = out.remove(0);
            let event = normalize(OutputSchema::Ocsf, native.clone());
            assert_eq!(fields::get_int(&event, "http_response.code"), Some(ocsf));
            assert_eq!(fields::get_str(&event, "dst_endpoint.uid"), Some("x"));
            let event = normalize(OutputSchema::Ecs, native);
            assert_eq!(fields::get_int(&event, "http.response.status_code"), ecs);
        }
    }

    #[test]
    fn errors_and_malformed_input() {
        let e = parse_err(&mut WafParser, br#"{"action":"ALLOW"}"#);
        assert_eq!(e.field, "timestamp");
        let e = parse_err(&mut WafParser, br#"{"timestamp":"soon"}"#);
        assert_eq!((e.field.as_str(), e.offset), ("timestamp", 1));
        let e = parse_err(&mut WafParser, br#"{"timestamp":1,"#);
        assert_eq!((e.field.as_str(), e.offset), ("record", 15));
        for path in input_files("waf") {
            for m in mutations(&read(&path)) {
                no_panic(&mut WafParser, &m);
            }
        }
    }
}
