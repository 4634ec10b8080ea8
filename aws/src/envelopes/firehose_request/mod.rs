//! Firehose HTTP endpoint delivery request bodies (`{"requestId", "timestamp", "records":[{"data"}]}`)
//! as a record format, so a captured request can be parsed like any log file: each record's data is
//! base64-decoded; CloudWatch Logs subscription envelopes inside expand into their log events
//! (which `aws_parse` then parses by log group), anything else becomes one event with the decoded
//! data as `message`.
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `message` | string | a record's decoded data (non-envelope records) |
//! | `firehose.request_id` | string | the request's `requestId` |
//! | `timestamp` | timestamp | the request's `timestamp` (envelope log events keep their own) |
//! | (envelope log events) | | the fields of [`super::cloudwatch`] |

mod request;
pub use request::{parse_http_endpoint_request, HttpEndpointRequest, HTTP_ENDPOINT_FORMAT};

use bytes::Bytes;
use vrl::value::{KeyString, ObjectMap, Value};

use super::cloudwatch::{CloudWatchLogsParser, DEFAULT_MAX_DECOMPRESSED_SIZE};
use crate::formats::{set_log_type, ParseError, RecordParser};

/// `aws.log_type` of the records of a Firehose request body parsed as a format.
pub const LOG_TYPE: &str = "firehose_http_request";

/// Parser for Firehose HTTP endpoint request bodies.
#[derive(Default)]
pub struct FirehoseHttpRequestParser {
    envelopes: CloudWatchLogsParser,
}

impl RecordParser for FirehoseHttpRequestParser {
    fn log_type(&self) -> &'static str {
        LOG_TYPE
    }

    fn parse(&mut self, record: &Bytes, out: &mut Vec<ObjectMap>) -> Result<(), ParseError> {
        let request = parse_http_endpoint_request(record, DEFAULT_MAX_DECOMPRESSED_SIZE)?;
        let mut firehose = ObjectMap::new();
        if let Some(id) = &request.request_id {
            firehose.insert(KeyString::from("request_id"), Value::from(id.as_str()));
        }
        for data in &request.records {
            let start = out.len();
            let is_envelope = super::cloudwatch::is_gzip(data)
                || memchr::memmem::find(data, b"\"messageType\"").is_some();
            if is_envelope {
                self.envelopes.parse(data, out)?;
            } else {
                let mut map = ObjectMap::new();
                map.insert(KeyString::from("message"), Value::Bytes(data.clone()));
                if let Some(ts) = request.timestamp {
                    map.insert(KeyString::from("timestamp"), Value::Timestamp(ts));
                }
                set_log_type(&mut map, LOG_TYPE);
                out.push(map);
            }
            for map in out.get_mut(start..).unwrap_or_default() {
                map.insert(KeyString::from("firehose"), Value::Object(firehose.clone()));
            }
        }
        Ok(())
    }
}

/// Registry content check: a request body has `requestId` and `records` at its top level.
pub fn detect_json(members: &crate::formats::detect::JsonMembers<'_>) -> bool {
    members.has("requestId") && members.has("records")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_records_and_expands_envelopes() {
        let envelope = r#"{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"/aws/lambda/f","logStream":"s","subscriptionFilters":[],"logEvents":[{"id":"1","timestamp":1714521600000,"message":"hello"}]}"#;
        let b64 = |s: &str| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, s);
        let body = format!(
            r#"{{"requestId":"r-1","timestamp":1714521600000,"records":[{{"data":"{}"}},{{"data":"{}"}}]}}"#,
            b64("plain record"),
            b64(envelope)
        );
        let mut out = Vec::new();
        FirehoseHttpRequestParser::default()
            .parse(&Bytes::from(body), &mut out)
            .unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].get("message"), Some(&Value::from("plain record")));
        assert_eq!(out[1].get("log_group"), Some(&Value::from("/aws/lambda/f")));
        let Some(Value::Object(f)) = out[1].get("firehose") else {
            panic!()
        };
        assert_eq!(f.get("request_id"), Some(&Value::from("r-1")));
        assert!(FirehoseHttpRequestParser::default()
            .parse(&Bytes::from_static(b"{"), &mut out)
            .is_err());
    }
}
