//! Amazon API Gateway REST API execution logs (CloudWatch Logs group
//! `API-Gateway-Execution-Logs_<apiId>/<stage>`): each log event is `(<request-id>) <text>`,
//! e.g. `(7a90…) HTTP Method: GET, Resource Path: /pets/`.
//!
//! The text is free-form; a few well-known messages are decoded into extra fields. The record has
//! no time of its own: `timestamp` is absent (use the CloudWatch Logs event time).
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `request_id` | string | the API Gateway request id between the parentheses |
//! | `message` | string | the text after `) ` (trailing newline removed) |
//! | `http_method` | string | from `HTTP Method: GET, Resource Path: /pets/` |
//! | `resource_path` | string | from the same message |
//! | `status` | integer | from `Method completed with status: 200` |
//! | `extended_request_id` | string | from `Extended Request Id: <id>` |
//! | `aws.log_type` | string | `apigateway_execution` |
//!
//! Access logs have a user-defined format and are not handled here.
//!
//! Errors: the record does not start with `(`, no closing `)`, an empty request id.

use bytes::Bytes;
use vrl::value::{KeyString, ObjectMap, Value};

use crate::formats::json_reader::value::slice_or_copy;
use crate::formats::{set_log_type, ParseError, RecordParser};

/// `aws.log_type` of API Gateway execution logs.
pub const LOG_TYPE: &str = "apigateway_execution";

mod ecs;
mod ocsf;

/// ECS `aws.apigateway_logs` and OCSF Base Event (see [`ecs`] and [`ocsf`]).
pub const MAPPINGS: crate::normalize::Mappings = crate::normalize::Mappings {
    ecs: crate::normalize::EcsMapping {
        dataset: "aws.apigateway_logs",
        native_path: "aws.apigateway",
        map: Some(ecs::map),
    },
    ocsf: crate::normalize::OcsfMapping {
        product: "Amazon API Gateway",
        map: Some(ocsf::map),
        classes: "Base Event 0 (each line is one step of a request's execution)",
    },
};

/// Parser for API Gateway execution log events; see the [module docs](self).
#[derive(Clone, Debug, Default)]
pub struct ApiGatewayExecutionParser;

fn put(map: &mut ObjectMap, record: &Bytes, key: &'static str, v: &[u8]) {
    map.insert(KeyString::from(key), Value::Bytes(slice_or_copy(record, v)));
}

impl RecordParser for ApiGatewayExecutionParser {
    fn log_type(&self) -> &'static str {
        LOG_TYPE
    }

    fn parse(&mut self, record: &Bytes, out: &mut Vec<ObjectMap>) -> Result<(), ParseError> {
        let mut text: &[u8] = record;
        while let Some((b'\n' | b'\r', rest)) = text.split_last() {
            text = rest;
        }
        if text.first() != Some(&b'(') {
            return Err(ParseError::new(
                LOG_TYPE,
                "request_id",
                0,
                "expected `(<request-id>)` at the start",
            ));
        }
        let close = memchr::memchr(b')', text).ok_or_else(|| {
            ParseError::new(
                LOG_TYPE,
                "request_id",
                text.len(),
                "missing `)` after the request id",
            )
        })?;
        let id = text.get(1..close).unwrap_or_default();
        if id.is_empty() || id.iter().any(u8::is_ascii_whitespace) {
            return Err(ParseError::new(
                LOG_TYPE,
                "request_id",
                1,
                "empty or malformed request id",
            ));
        }
        let mut message = text.get(close + 1..).unwrap_or_default();
        if let Some(rest) = message.strip_prefix(b" ") {
            message = rest;
        }
        let mut map = ObjectMap::new();
        put(&mut map, record, "request_id", id);
        put(&mut map, record, "message", message);
        if let Some(rest) = message.strip_prefix(b"HTTP Method: ") {
            if let Some(comma) = memchr::memmem::find(rest, b", Resource Path: ") {
                put(
                    &mut map,
                    record,
                    "http_method",
                    rest.get(..comma).unwrap_or_default(),
                );
                put(
                    &mut map,
                    record,
                    "resource_path",
                    rest.get(comma + 17..).unwrap_or_default(),
                );
            }
        } else if let Some(rest) = message.strip_prefix(b"Method completed with status: ") {
            if let Some(status) = std::str::from_utf8(rest)
                .ok()
                .and_then(|s| s.trim().parse::<i64>().ok())
            {
                map.insert(KeyString::from("status"), Value::Integer(status));
            }
        } else if let Some(rest) = message.strip_prefix(b"Extended Request Id: ") {
            put(&mut map, record, "extended_request_id", rest.trim_ascii());
        }
        set_log_type(&mut map, LOG_TYPE);
        out.push(map);
        Ok(())
    }
}

/// Registry content check: a line opening with `(<request id>) `.
pub fn detect_text(head: &[u8]) -> bool {
    head.first() == Some(&b'(')
        && head
            .iter()
            .position(|b| *b == b')')
            .is_some_and(|p| (20..=40).contains(&p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::json_reader::test_support::*;

    fn parse_one(rec: &[u8]) -> ObjectMap {
        let mut out = Vec::new();
        ApiGatewayExecutionParser
            .parse(&Bytes::copy_from_slice(rec), &mut out)
            .unwrap();
        out.remove(0)
    }

    #[test]
    fn every_corpus_record() {
        let files = input_files("apigateway");
        assert_eq!(files.len(), 1);
        let messages = envelope_messages(&read(&files[0]));
        assert_eq!(messages.len(), 1);
        let records: Vec<Bytes> = messages.into_iter().map(|(m, _)| m).collect();
        let out = parse_all(&mut ApiGatewayExecutionParser, &records);
        let o = &out[0];
        assert_eq!(log_type(o), Some("apigateway_execution"));
        assert_eq!(
            get_str(o, "request_id"),
            Some("7a903de8-8fa2-4ea4-88c1-8e450af9d69a")
        );
        assert_eq!(
            get_str(o, "message"),
            Some("HTTP Method: GET, Resource Path: /pets/")
        );
        assert_eq!(get_str(o, "http_method"), Some("GET"));
        assert_eq!(get_str(o, "resource_path"), Some("/pets/"));
        assert_eq!(get(o, "timestamp"), None);
        assert_bytes_strings(&Value::Object(o.clone()));
    }

    #[test]
    fn known_messages() {
        let o = parse_one(b"(abc) Method completed with status: 200\n");
        assert_eq!(get_i64(&o, "status"), Some(200));
        let o = parse_one(b"(abc) Extended Request Id: Xyz=\n");
        assert_eq!(get_str(&o, "extended_request_id"), Some("Xyz="));
        let o = parse_one(b"(abc) Endpoint response body before transformations: {\"a\":1}");
        assert_eq!(
            get_str(&o, "message"),
            Some("Endpoint response body before transformations: {\"a\":1}")
        );
        let o = parse_one(b"(abc)");
        assert_eq!(get_str(&o, "message"), Some(""));
    }

    /// A status line and a method line, valid in both schemas: the status, outcome and the
    /// request id every line of the request shares.
    #[test]
    fn mappings_in_both_schemas() {
        use crate::normalize::validate::{ecs::EcsFields, ocsf::OcsfSchema};
        use crate::normalize::{fields, normalize, OutputSchema};
        let ocsf = OcsfSchema::load_shared().unwrap();
        let ecs = EcsFields::load_shared().unwrap();
        let native = parse_one(b"(abc) Method completed with status: 502\n");
        let event = normalize(OutputSchema::Ocsf, native.clone());
        assert_eq!(ocsf.check(&event), vec![], "{event:?}");
        assert_eq!(fields::get_int(&event, "class_uid"), Some(0));
        assert_eq!(fields::get_str(&event, "status_code"), Some("502"));
        assert_eq!(fields::get_int(&event, "status_id"), Some(2));
        assert_eq!(
            fields::get_str(&event, "metadata.correlation_uid"),
            Some("abc")
        );
        let event = normalize(OutputSchema::Ecs, native);
        assert_eq!(ecs.check(&event), vec![], "{event:?}");
        assert_eq!(
            fields::get_int(&event, "http.response.status_code"),
            Some(502)
        );
        assert_eq!(fields::get_str(&event, "event.outcome"), Some("failure"));
        let event = normalize(
            OutputSchema::Ecs,
            parse_one(b"(abc) HTTP Method: GET, Resource Path: /pets/"),
        );
        assert_eq!(fields::get_str(&event, "http.request.method"), Some("GET"));
        assert_eq!(fields::get_str(&event, "http.request.id"), Some("abc"));
        assert_eq!(
            fields::get_str(&event, "aws.apigateway.resource_path"),
            Some("/pets/")
        );
    }

    #[test]
    fn errors_and_malformed_input() {
        for (rec, offset) in [
            (&b"no parens"[..], 0),
            (b"(abc no close", 13),
            (b"() x", 1),
            (b"(a b) x", 1),
            (b"", 0),
        ] {
            let e = parse_err(&mut ApiGatewayExecutionParser, rec);
            assert_eq!((e.field.as_str(), e.offset), ("request_id", offset), "{e}");
        }
        for m in mutations(
            b"(7a903de8-8fa2-4ea4-88c1-8e450af9d69a) HTTP Method: GET, Resource Path: /pets/",
        ) {
            no_panic(&mut ApiGatewayExecutionParser, &m);
        }
    }
}
