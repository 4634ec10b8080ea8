//! Amazon Data Firehose error records, and the HTTP endpoint delivery request body.
//!
//! [`FirehoseErrorParser`] parses one JSON object of either kind:
//! * an **error log event** (CloudWatch Logs group `/aws/kinesisfirehose/<stream>`, streams
//!   `DestinationDelivery` / `BackupDelivery`): `{deliveryStreamARN, destination,
//!   deliveryStreamVersionId, message, errorCode, processor?, requestId?...}`;
//! * a **failed-record object** written to the S3 error prefix, one per line: `{attemptsMade,
//!   arrivalTimestamp, errorCode, errorMessage, attemptEndingTimestamp, rawData,
//!   EventId | subsequenceNumber | dataId, lambdaArn?...}`.
//!
//! Keys are **kept as Firehose writes them** (camelCase), values keep their JSON types. Added:
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `aws.log_type` | string | `firehose_error` |
//! | `aws.firehose_kind` | string | `error_log` (has `deliveryStreamARN`, or `errorCode` without `rawData`) or `failed_record` (has `rawData` or `attemptsMade`) |
//! | `timestamp` | timestamp | failed records: `arrivalTimestamp` (epoch ms). Error log events carry no time of their own: `timestamp` is absent (use the CloudWatch Logs event time) |
//! | `raw_data` | bytes | failed records: `rawData` base64-decoded (may be binary); absent if `rawData` is not valid base64 (`rawData` itself is always kept) |
//! | `deliveryStreamARN`, `destination`, `deliveryStreamVersionId`, `message`, `errorCode`, `processor`, `requestId` | as in JSON | error log event fields |
//! | `attemptsMade`, `arrivalTimestamp`, `errorCode`, `errorMessage`, `attemptEndingTimestamp`, `rawData`, `EventId`, `subsequenceNumber`, `dataId`, `lambdaArn` | as in JSON | failed-record fields (epoch-ms integers kept as sent) |
//!
//! Errors: not a JSON object (one AWS documentation example is not valid JSON: an unescaped
//! nested JSON string), neither kind recognisable, a failed record whose `arrivalTimestamp` is
//! not epoch milliseconds.
//!
//! The HTTP endpoint delivery request body Firehose POSTs is unwrapped by
//! [`crate::envelopes::firehose_request`].

use base64::Engine as _;
use bytes::Bytes;
use chrono::DateTime;
use vrl::value::{KeyString, ObjectMap, Value};

use crate::formats::json_reader::value::{key_offset, parse_object, value_as_i64, value_bytes};
use crate::formats::{set_log_type, ParseError, RecordParser};

/// `aws.log_type` of Firehose error log events and failed-record objects.
pub const LOG_TYPE: &str = "firehose_error";

/// `aws.firehose_kind` of an error log event.
const ERROR_LOG: &str = "error_log";
/// `aws.firehose_kind` of a failed-record object.
const FAILED_RECORD: &str = "failed_record";

mod ecs;
mod ocsf;

/// ECS `aws.firehose_error` and OCSF Base Event (see [`ecs`] and [`ocsf`]).
pub const MAPPINGS: crate::normalize::Mappings = crate::normalize::Mappings {
    ecs: crate::normalize::EcsMapping {
        dataset: "aws.firehose_error",
        native_path: "aws.firehose_error",
        map: Some(ecs::map),
    },
    ocsf: crate::normalize::OcsfMapping {
        product: "Amazon Data Firehose",
        map: Some(ocsf::map),
        classes: "Base Event 0 (a delivery failure, with its error)",
    },
};

/// A record's error text: an error log event's `message`, a failed record's `errorMessage`.
fn message_field(native: &impl crate::normalize::fields::Lookup) -> &'static str {
    if crate::normalize::fields::get_str(native, "errorMessage").is_some() {
        "errorMessage"
    } else {
        "message"
    }
}

/// When Firehose gave up on a failed record: its `attemptEndingTimestamp` (epoch ms).
fn attempt_end(
    native: &impl crate::normalize::fields::Lookup,
) -> Option<chrono::DateTime<chrono::Utc>> {
    crate::normalize::fields::get_int(native, "attemptEndingTimestamp")
        .and_then(DateTime::from_timestamp_millis)
}

/// Parser for Firehose error log events and failed-record objects; see the [module docs](self).
#[derive(Clone, Debug, Default)]
pub struct FirehoseErrorParser;

/// `data` base64-decoded (standard alphabet), ignoring surrounding whitespace.
pub(crate) fn decode_base64(data: &[u8]) -> Option<Vec<u8>> {
    let trimmed = data.trim_ascii();
    base64::engine::general_purpose::STANDARD
        .decode(trimmed)
        .ok()
}

impl RecordParser for FirehoseErrorParser {
    fn log_type(&self) -> &'static str {
        LOG_TYPE
    }

    fn parse(&mut self, record: &Bytes, out: &mut Vec<ObjectMap>) -> Result<(), ParseError> {
        let mut map = parse_object(LOG_TYPE, record)?;
        let failed = map.contains_key("rawData") || map.contains_key("attemptsMade");
        let error_log =
            !failed && (map.contains_key("deliveryStreamARN") || map.contains_key("errorCode"));
        if failed {
            let time = map
                .get("arrivalTimestamp")
                .and_then(value_as_i64)
                .and_then(DateTime::from_timestamp_millis)
                .ok_or_else(|| {
                    ParseError::new(
                        LOG_TYPE,
                        "arrivalTimestamp",
                        key_offset(record, "arrivalTimestamp"),
                        "failed record without an epoch-milliseconds arrivalTimestamp",
                    )
                })?;
            map.insert(KeyString::from("timestamp"), Value::Timestamp(time));
            if let Some(decoded) = map
                .get("rawData")
                .and_then(value_bytes)
                .and_then(decode_base64)
            {
                map.insert(
                    KeyString::from("raw_data"),
                    Value::Bytes(Bytes::from(decoded)),
                );
            }
        } else if !error_log {
            return Err(ParseError::new(
                LOG_TYPE,
                "record",
                0,
                "neither a Firehose error log event (deliveryStreamARN/errorCode) nor a failed record (rawData/attemptsMade)",
            ));
        }
        set_log_type(&mut map, LOG_TYPE);
        if let Some(Value::Object(aws)) = map.get_mut("aws") {
            let kind = if failed { FAILED_RECORD } else { ERROR_LOG };
            aws.insert(
                KeyString::from("firehose_kind"),
                Value::Bytes(Bytes::from_static(kind.as_bytes())),
            );
        }
        out.push(map);
        Ok(())
    }
}

/// Registry content check: a top-level `deliveryStreamARN` (error log event) or `attemptsMade`
/// (failed record).
pub fn detect_json(members: &crate::formats::detect::JsonMembers<'_>) -> bool {
    members.has("deliveryStreamARN") || members.has("attemptsMade")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelopes::cloudwatch::DEFAULT_MAX_DECOMPRESSED_SIZE;
    use crate::envelopes::firehose_request::{parse_http_endpoint_request, HttpEndpointRequest};

    /// [`parse_http_endpoint_request`] of a byte string, with the default inflate cap.
    fn request(body: &[u8]) -> Result<HttpEndpointRequest, ParseError> {
        parse_http_endpoint_request(&Bytes::copy_from_slice(body), DEFAULT_MAX_DECOMPRESSED_SIZE)
    }
    use crate::envelopes::cloudwatch::CloudWatchLogsParser;
    use crate::formats::json_reader::test_support::*;

    fn parse_ok(data: &Bytes) -> ObjectMap {
        let mut out = Vec::new();
        FirehoseErrorParser
            .parse(data, &mut out)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out.len(), 1);
        out.remove(0)
    }

    #[test]
    fn every_corpus_error_record() {
        let files = input_files("firehose-error-logs");
        assert_eq!(files.len(), 3);
        // basic-deliver-2: failed record (Splunk).
        let o = parse_ok(&read_corpus(
            "firehose-error-logs/docs/basic-deliver-2.json",
        ));
        assert_eq!(log_type(&o), Some("firehose_error"));
        assert_eq!(get_str(&o, "aws.firehose_kind"), Some("failed_record"));
        assert_eq!(get_ts_ms(&o, "timestamp"), Some(1_506_035_354_675));
        assert_eq!(get_str(&o, "errorCode"), Some("Splunk.AckTimeout"));
        assert_eq!(get_i64(&o, "attemptsMade"), Some(0));
        assert_eq!(
            get_str(&o, "raw_data"),
            Some("2 251620272209 eni-05f322d5 218.92.188.214 172.16.1.167 25233 1433 6 1 40 1506034734 1506034794 REJECT OK\n")
        );
        assert_eq!(
            get_str(&o, "EventId"),
            Some("49577193928114147339600778471082492393164139877200035842.0")
        );
        assert_bytes_strings(&Value::Object(o.clone()));
        // basic-deliver-3: SOURCES.md "not valid JSON as printed" → a clear error.
        let data = read_corpus("firehose-error-logs/docs/basic-deliver-3.json");
        let e = parse_err(&mut FirehoseErrorParser, &data);
        assert_eq!((e.format, e.field.as_str()), ("firehose_error", "record"));
        // The unescaped quote inside errorMessage: `..destination. {"requestId"` — the `r`.
        let at = data.windows(11).position(|w| w == b"{\"requestId").unwrap() + 2;
        assert_eq!(e.offset, at, "{e}");
        // http_troubleshooting-0: error log event.
        let o = parse_ok(&read_corpus(
            "firehose-error-logs/docs/http_troubleshooting-0.json",
        ));
        assert_eq!(get_str(&o, "aws.firehose_kind"), Some("error_log"));
        assert_eq!(get(&o, "timestamp"), None);
        assert_eq!(
            get_str(&o, "errorCode"),
            Some("HttpEndpoint.DestinationException")
        );
        assert_eq!(get_i64(&o, "deliveryStreamVersionId"), Some(1));
        assert!(get_str(&o, "message")
            .unwrap()
            .starts_with("The following response"));
    }

    #[test]
    fn http_endpoint_request_body() {
        let files = input_files("firehose-http-endpoint");
        assert_eq!(files.len(), 1);
        let body = read(&files[0]);
        let req = request(&body).unwrap();
        assert_eq!(
            req.request_id.as_deref(),
            Some("ed4acda5-034f-9f42-bba1-f29aea6d7d8f")
        );
        assert_eq!(
            req.timestamp.map(|t| t.timestamp_millis()),
            Some(1_578_090_901_599)
        );
        assert_eq!(req.records.len(), 1);
        // The doc prints `data` already decoded: a CloudWatch Logs envelope with 2 events.
        let mut out = Vec::new();
        CloudWatchLogsParser::default()
            .parse(&req.records[0], &mut out)
            .unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(get_str(&out[1], "message"), Some("log message 2"));
        assert_eq!(get_ts_ms(&out[0], "timestamp"), Some(1_510_109_208_016));

        // As really sent: base64 of the gzip envelope, the body itself gzip-encoded.
        use std::io::Write;
        let envelope = serde_json::to_vec(&read_json(&files[0])["records"][0]["data"]).unwrap();
        let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&envelope).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(z.finish().unwrap());
        let real = format!(
            r#"{{"requestId":"r","timestamp":1,"records":[{{"data":"{b64}"}},{{"data":"aGk="}}]}}"#
        );
        let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(real.as_bytes()).unwrap();
        let req = request(&z.finish().unwrap()).unwrap();
        assert_eq!(req.records.len(), 2);
        assert_eq!(&req.records[1][..], b"hi");
        let mut out = Vec::new();
        CloudWatchLogsParser::default()
            .parse(&req.records[0], &mut out)
            .unwrap();
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn errors_and_malformed_input() {
        let e = parse_err(&mut FirehoseErrorParser, br#"{"hello":1}"#);
        assert_eq!(e.field, "record");
        let e = parse_err(
            &mut FirehoseErrorParser,
            br#"{"rawData":"aGk=","arrivalTimestamp":"x"}"#,
        );
        assert_eq!(e.field, "arrivalTimestamp");
        let mut out = Vec::new();
        FirehoseErrorParser
            .parse(
                &Bytes::from_static(br#"{"rawData":"%%%","arrivalTimestamp":1}"#),
                &mut out,
            )
            .unwrap();
        assert_eq!(get(&out[0], "raw_data"), None);
        assert_eq!(get_str(&out[0], "rawData"), Some("%%%"));
        let e = request(br#"{"records":[{"data":"%%%"}]}"#).unwrap_err();
        assert_eq!(e.field, "records[0].data");
        let e = request(br#"{"records":[{}]}"#).unwrap_err();
        assert_eq!(e.field, "records[0].data");
        let e = request(br#"{"requestId":"x"}"#).unwrap_err();
        assert_eq!(e.field, "records");
        for path in input_files("firehose-error-logs")
            .into_iter()
            .chain(input_files("firehose-http-endpoint"))
        {
            for m in mutations(&read(&path)) {
                no_panic(&mut FirehoseErrorParser, &m);
                let _ = request(&m);
            }
        }
    }
}
