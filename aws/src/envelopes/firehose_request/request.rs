//! The body Amazon Data Firehose POSTs to an HTTP endpoint
//! (`{"requestId", "timestamp", "records": [{"data": "<base64>"}]}`, optionally gzip-encoded),
//! unwrapped into the decoded record payloads for the `aws_firehose` source; each payload is then
//! framed/parsed by the format it carries (for a CloudWatch Logs subscription: a gzip-compressed
//! envelope for [`crate::envelopes::cloudwatch::CloudWatchLogsParser`]).

use bytes::Bytes;
use chrono::{DateTime, Utc};
use vrl::value::Value;

use crate::envelopes::cloudwatch::{gunzip, is_gzip};
use crate::formats::firehose_error::decode_base64;
use crate::formats::json_reader::value::{
    key_offset, kind_name, parse_value, value_as_i64, value_bytes,
};
use crate::formats::ParseError;

/// `ParseError::format` used by [`parse_http_endpoint_request`].
pub const HTTP_ENDPOINT_FORMAT: &str = "firehose_http_endpoint";

/// A Firehose HTTP endpoint delivery request body, unwrapped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpEndpointRequest {
    /// `requestId` (also sent as the `X-Amz-Firehose-Request-Id` header); echo it in the response.
    pub request_id: Option<String>,
    /// `timestamp` (epoch milliseconds) of the request.
    pub timestamp: Option<DateTime<Utc>>,
    /// Each `records[].data`, base64-decoded (still compressed if the producer compressed it).
    /// A `data` that is a JSON value rather than a base64 string (as printed in the AWS docs) is
    /// given as that value's JSON text.
    pub records: Vec<Bytes>,
}

/// Parses a Firehose HTTP endpoint request body. A gzip-encoded body is detected and inflated up
/// to `max_decompressed_bytes`; records are slices of `body` (or of the inflated copy), not copies.
pub fn parse_http_endpoint_request(
    body: &Bytes,
    max_decompressed_bytes: usize,
) -> Result<HttpEndpointRequest, ParseError> {
    let f = HTTP_ENDPOINT_FORMAT;
    let data = if is_gzip(body) {
        Bytes::from(gunzip(f, body, max_decompressed_bytes)?)
    } else {
        body.clone()
    };
    let map = match parse_value(f, &data)? {
        Value::Object(m) => m,
        other => {
            return Err(ParseError::new(
                f,
                "record",
                0,
                format!("expected an object, found {}", kind_name(&other)),
            ))
        }
    };
    let request_id = match map.get("requestId") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            value_bytes(v)
                .and_then(|b| std::str::from_utf8(b).ok())
                .ok_or_else(|| {
                    ParseError::new(
                        f,
                        "requestId",
                        key_offset(&data, "requestId"),
                        "not a string",
                    )
                })?
                .to_owned(),
        ),
    };
    let timestamp = map
        .get("timestamp")
        .and_then(value_as_i64)
        .and_then(DateTime::from_timestamp_millis);
    let Some(Value::Array(items)) = map.get("records") else {
        return Err(ParseError::new(
            f,
            "records",
            key_offset(&data, "records"),
            "missing records array",
        ));
    };
    let mut records = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let field = || format!("records[{i}].data");
        let data_value = match item {
            Value::Object(m) => m.get("data"),
            _ => None,
        }
        .ok_or_else(|| ParseError::new(f, field(), key_offset(&data, "records"), "missing data"))?;
        let payload = match value_bytes(data_value) {
            Some(b64) => Bytes::from(decode_base64(b64).ok_or_else(|| {
                ParseError::new(f, field(), key_offset(&data, "data"), "invalid base64")
            })?),
            None => Bytes::from(serde_json::to_vec(data_value).map_err(|e| {
                ParseError::new(f, field(), key_offset(&data, "data"), e.to_string())
            })?),
        };
        records.push(payload);
    }
    Ok(HttpEndpointRequest {
        request_id,
        timestamp,
        records,
    })
}
