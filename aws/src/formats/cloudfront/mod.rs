//! CloudFront standard (access) logs, W3C format (`aws.log_type` = `cloudfront`).
//!
//! Tab-separated, one record per line. The parser is stateful: a `#Fields:` header line sets the
//! columns for the records that follow; it and `#Version:` (and any other `#` line) are consumed
//! and emit nothing. Until a `#Fields:` line is seen the legacy 33-field order is assumed.
//! Records may have fewer fields than the columns (logs from before the 2019 additions stop
//! after 26) but must reach the `date`/`time` columns; extra fields are kept under
//! `unparsed_trailing`. `-` and empty fields are left out. CloudFront URL-encodes spaces and
//! other special characters in field values, so every string value is decoded once (`%20` →
//! space; `%2520` → `%20`, the `%20` the viewer sent; `+` is kept; values without `%` stay
//! zero-copy). Output names are the W3C names lower-cased with `-` and `(` turned into
//! `_` and `)` dropped (`cs(User-Agent)` → `cs_user_agent`).
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `timestamp` | timestamp | `date` + `time` (UTC), or `timestamp` / `timestamp(ms)` when the format has those instead |
//! | `x_edge_location` | string | edge location that served the request (`LAX1`) |
//! | `sc_bytes` | integer | bytes sent to the viewer, headers included |
//! | `c_ip` | string | viewer address (IPv4 or IPv6) |
//! | `cs_method` | string | HTTP method |
//! | `cs_host` | string | `cs(Host)`: the distribution's CloudFront domain name |
//! | `cs_uri_stem` | string | path of the request, decoded |
//! | `sc_status` | integer | HTTP status code (`000` when the viewer closed early) |
//! | `cs_referer` | string | `cs(Referer)`, decoded |
//! | `cs_user_agent` | string | `cs(User-Agent)`, decoded |
//! | `cs_uri_query` | string | query string, decoded once |
//! | `cs_cookie` | string | `cs(Cookie)`, decoded (when cookie logging is on) |
//! | `x_edge_result_type` | string | `Hit`, `RefreshHit`, `Miss`, `LimitExceeded`, `CapacityExceeded`, `Error`, `Redirect` |
//! | `x_edge_request_id` | string | request id |
//! | `x_host_header` | string | Host header sent by the viewer |
//! | `cs_protocol` | string | `http`, `https`, `ws`, `wss`, `grpcs` |
//! | `cs_bytes` | integer | bytes of the viewer's request, headers included |
//! | `time_taken` | float | seconds from request received to last byte sent |
//! | `x_forwarded_for` | string | `X-Forwarded-For` of the viewer request |
//! | `ssl_protocol` | string | TLS protocol (HTTPS) |
//! | `ssl_cipher` | string | TLS cipher (HTTPS) |
//! | `x_edge_response_result_type` | string | result type of the response to the viewer |
//! | `cs_protocol_version` | string | HTTP version (`HTTP/2.0`) |
//! | `fle_status` | string | field-level encryption status |
//! | `fle_encrypted_fields` | integer | number of field-level-encrypted fields |
//! | `c_port` | integer | viewer's port |
//! | `time_to_first_byte` | float | seconds from request received to first byte of the response |
//! | `x_edge_detailed_result_type` | string | detailed result type (`OriginDnsError`, …) |
//! | `sc_content_type` | string | Content-Type of the response |
//! | `sc_content_len` | integer | Content-Length of the response |
//! | `sc_range_start` | integer | start of a range response |
//! | `sc_range_end` | integer | end of a range response |
//! | `origin_fbl` | float | (v2 logging) seconds of first-byte latency from the origin |
//! | `origin_lbl` | float | (v2 logging) seconds of last-byte latency from the origin |
//! | `asn` | integer | (v2 logging) viewer's autonomous system number |
//! | `c_country` | string | (v2 logging) viewer's country code |
//! | `cache_behavior_path_pattern` | string | (v2 logging) path pattern of the matched cache behavior |
//! | `cs_accept` | string | (v2 logging) Accept header, decoded |
//! | `cs_accept_encoding` | string | (v2 logging) Accept-Encoding header, decoded |
//! | `cs_headers` | string | (v2 logging) request headers, decoded |
//! | `cs_header_names` | string | (v2 logging) request header names, decoded |
//! | `cs_headers_count` | integer | (v2 logging) number of request headers |
//! | *any other column* | string | a field this parser does not know, under its converted name, decoded |
//! | `unparsed_trailing` | array of strings | fields past the columns, verbatim |
//! | `aws.log_type` | string | `cloudfront` |

use std::borrow::Cow;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use vrl::value::{KeyString, ObjectMap, Value};
use weir_core::fields::{Fields, Record};

use super::delimited::{
    bad_value, decoded_value, excerpt, is_absent, parse_date_time, parse_float, parse_int, slice,
    trimmed_end, Layout, Slots, Span, UNPARSED_TRAILING,
};
use super::{ParseError, RecordParser};

/// Registry content check: a W3C `#Version:` or `#Fields:` header.
pub fn detect_text(head: &[u8]) -> bool {
    head.starts_with(b"#Version:") || head.starts_with(b"#Fields:")
}

/// Registry stream check: `<DISTRIBUTION>.YYYY-MM-DD-HH.<id>` with an optional `.gz`.
pub fn is_object_name(name: &str) -> bool {
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
        && crate::formats::detect::shape(hour, "dddd-dd-dd-dd")
        && !id.is_empty()
        && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

mod ecs;
mod ocsf;
#[cfg(test)]
mod tests;

/// ECS `aws.cloudfront_logs` and OCSF HTTP Activity (see [`ecs`] and [`ocsf`]).
pub const MAPPINGS: crate::normalize::Mappings = crate::normalize::Mappings {
    ecs: crate::normalize::EcsMapping {
        dataset: "aws.cloudfront_logs",
        native_path: "aws.cloudfront",
        map: Some(ecs::map),
    },
    ocsf: crate::normalize::OcsfMapping {
        product: "Amazon CloudFront",
        map: Some(ocsf::map),
        classes: "HTTP Activity 4002",
    },
};

/// The URL the viewer asked for, `<cs-protocol>://<x-host-header><cs-uri-stem>[?<cs-uri-query>]`
/// (all decoded), when the record has the first three.
fn full_url(native: &impl crate::normalize::fields::Lookup) -> Option<String> {
    use crate::normalize::fields::get_str;
    let scheme = get_str(native, "cs_protocol")?;
    let host = get_str(native, "x_host_header")?;
    let path = get_str(native, "cs_uri_stem")?;
    Some(match get_str(native, "cs_uri_query") {
        Some(query) => format!("{scheme}://{host}{path}?{query}"),
        None => format!("{scheme}://{host}{path}"),
    })
}

/// The viewer's `X-Forwarded-For` addresses, when they all are addresses.
fn forwarded_ips(native: &impl crate::normalize::fields::Lookup) -> Option<Vec<&str>> {
    let list = crate::normalize::fields::get_str(native, "x_forwarded_for")?;
    let ips: Vec<&str> = list.split(',').map(str::trim).collect();
    ips.iter()
        .all(|ip| crate::normalize::fields::is_ip(ip))
        .then_some(ips)
}

/// The `aws.log_type` of CloudFront standard logs.
pub const LOG_TYPE: &str = "cloudfront";

/// The legacy default `#Fields:` (33 fields, December 2019 on).
pub const LEGACY_FIELDS: &str = "date time x-edge-location sc-bytes c-ip cs-method cs(Host) \
     cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type \
     x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol \
     ssl-cipher x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields \
     c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len \
     sc-range-start sc-range-end";

/// How a column's value is converted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CfKind {
    Date,
    Time,
    EpochSeconds,
    EpochMillis,
    /// A string, URL-decoded once.
    Decoded,
    Int,
    Float,
}

/// Known W3C names → output name and kind.
const KNOWN: &[(&str, &str, CfKind)] = &[
    ("date", "date", CfKind::Date),
    ("time", "time", CfKind::Time),
    ("timestamp", "timestamp", CfKind::EpochSeconds),
    ("timestamp(ms)", "timestamp_ms", CfKind::EpochMillis),
    ("x-edge-location", "x_edge_location", CfKind::Decoded),
    ("sc-bytes", "sc_bytes", CfKind::Int),
    ("c-ip", "c_ip", CfKind::Decoded),
    ("cs-method", "cs_method", CfKind::Decoded),
    ("cs(host)", "cs_host", CfKind::Decoded),
    ("cs-uri-stem", "cs_uri_stem", CfKind::Decoded),
    ("sc-status", "sc_status", CfKind::Int),
    ("cs(referer)", "cs_referer", CfKind::Decoded),
    ("cs(user-agent)", "cs_user_agent", CfKind::Decoded),
    ("cs-uri-query", "cs_uri_query", CfKind::Decoded),
    ("cs(cookie)", "cs_cookie", CfKind::Decoded),
    ("x-edge-result-type", "x_edge_result_type", CfKind::Decoded),
    ("x-edge-request-id", "x_edge_request_id", CfKind::Decoded),
    ("x-host-header", "x_host_header", CfKind::Decoded),
    ("cs-protocol", "cs_protocol", CfKind::Decoded),
    ("cs-bytes", "cs_bytes", CfKind::Int),
    ("time-taken", "time_taken", CfKind::Float),
    ("x-forwarded-for", "x_forwarded_for", CfKind::Decoded),
    ("ssl-protocol", "ssl_protocol", CfKind::Decoded),
    ("ssl-cipher", "ssl_cipher", CfKind::Decoded),
    (
        "x-edge-response-result-type",
        "x_edge_response_result_type",
        CfKind::Decoded,
    ),
    (
        "cs-protocol-version",
        "cs_protocol_version",
        CfKind::Decoded,
    ),
    ("fle-status", "fle_status", CfKind::Decoded),
    ("fle-encrypted-fields", "fle_encrypted_fields", CfKind::Int),
    ("c-port", "c_port", CfKind::Int),
    ("time-to-first-byte", "time_to_first_byte", CfKind::Float),
    (
        "x-edge-detailed-result-type",
        "x_edge_detailed_result_type",
        CfKind::Decoded,
    ),
    ("sc-content-type", "sc_content_type", CfKind::Decoded),
    ("sc-content-len", "sc_content_len", CfKind::Int),
    ("sc-range-start", "sc_range_start", CfKind::Int),
    ("sc-range-end", "sc_range_end", CfKind::Int),
    ("origin-fbl", "origin_fbl", CfKind::Float),
    ("origin-lbl", "origin_lbl", CfKind::Float),
    ("asn", "asn", CfKind::Int),
    ("c-country", "c_country", CfKind::Decoded),
    (
        "cache-behavior-path-pattern",
        "cache_behavior_path_pattern",
        CfKind::Decoded,
    ),
    ("cs-accept", "cs_accept", CfKind::Decoded),
    ("cs-accept-encoding", "cs_accept_encoding", CfKind::Decoded),
    ("cs-headers", "cs_headers", CfKind::Decoded),
    ("cs-header-names", "cs_header_names", CfKind::Decoded),
    ("cs-headers-count", "cs_headers_count", CfKind::Int),
];

/// One column of the current `#Fields:`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Column {
    name: Cow<'static, str>,
    kind: CfKind,
}

/// `cs(User-Agent)` → `cs_user_agent`.
fn snake(w3c: &str) -> String {
    let mut out = String::with_capacity(w3c.len());
    for c in w3c.chars() {
        match c {
            '-' | '(' => out.push('_'),
            ')' => {}
            c => out.push(c.to_ascii_lowercase()),
        }
    }
    out
}

fn column(w3c: &str) -> Column {
    let lower = w3c.to_ascii_lowercase();
    match KNOWN.iter().find(|(k, _, _)| *k == lower) {
        Some(&(_, name, kind)) => Column {
            name: Cow::Borrowed(name),
            kind,
        },
        None => Column {
            name: Cow::Owned(snake(w3c)),
            kind: CfKind::Decoded,
        },
    }
}

/// Parser for one CloudFront standard log stream (stateful: follows `#Fields:` lines).
#[derive(Clone, Debug)]
pub struct CloudFrontParser {
    columns: Vec<Column>,
    /// Fields a record must have: through the last time column.
    mandatory: usize,
    /// Output slots: one per column, then `timestamp`, then `unparsed_trailing`.
    layout: Layout,
}

impl Default for CloudFrontParser {
    /// A parser that assumes the legacy 33-field order until a `#Fields:` line arrives.
    fn default() -> Self {
        Self::with_fields(LEGACY_FIELDS)
    }
}

impl CloudFrontParser {
    /// A parser for the given field list (the part after `#Fields:`, names separated by
    /// spaces), e.g. a standard logging v2 selection or a real-time log configuration.
    pub fn with_fields(fields: &str) -> Self {
        let columns: Vec<Column> = fields.split_ascii_whitespace().map(column).collect();
        let mandatory = columns
            .iter()
            .rposition(|c| {
                matches!(
                    c.kind,
                    CfKind::Date | CfKind::Time | CfKind::EpochSeconds | CfKind::EpochMillis
                )
            })
            .map_or(0, |i| i + 1);
        let keys = columns
            .iter()
            .map(|c| KeyString::from(c.name.as_ref()))
            .chain([
                KeyString::from("timestamp"),
                KeyString::from(UNPARSED_TRAILING),
            ])
            .collect();
        Self {
            columns,
            mandatory,
            layout: Layout::new(keys, LOG_TYPE),
        }
    }

    /// The current column names (output names), in order.
    pub fn columns(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(|c| c.name.as_ref())
    }

    fn parse_data(&mut self, record: &Bytes) -> Result<Record, ParseError> {
        let end = trimmed_end(record, b"\t");
        let line = record.get(..end).unwrap_or(&[]);
        if line.is_empty() {
            let field = self.columns.first().map_or("date", |c| c.name.as_ref());
            return Err(ParseError::new(LOG_TYPE, field, 0, "empty record"));
        }
        let ncols = self.columns.len();
        let mut vals = self.layout.slots();
        let mut fields = TabFields {
            line,
            pos: 0,
            end,
            done: false,
        };
        let mut times = Times::default();
        for (i, col) in self.columns.iter().enumerate() {
            let Some(span) = fields.next() else {
                if i < self.mandatory {
                    return Err(ParseError::new(
                        LOG_TYPE,
                        col.name.as_ref(),
                        end,
                        format!(
                            "record ends after {i} fields, at least {} are required",
                            self.mandatory
                        ),
                    ));
                }
                break;
            };
            convert(record, col, i, span, &mut vals, &mut times)?;
        }
        let mut trailing = Vec::new();
        for span in fields {
            trailing.push(Value::Bytes(slice(record, span)));
        }
        if !trailing.is_empty() {
            vals.set(ncols + 1, Value::Array(trailing));
        }
        if let Some(t) = times.timestamp(record)? {
            vals.set(ncols, Value::Timestamp(t));
        }
        Ok(vals.into_record())
    }
}

/// The tab-separated fields of one line, left to right.
struct TabFields<'a> {
    line: &'a [u8],
    /// Start of the next field.
    pos: usize,
    /// End of the line (trailing tabs and line terminators excluded).
    end: usize,
    /// The last field was returned.
    done: bool,
}

impl Iterator for TabFields<'_> {
    type Item = Span;

    /// The next field; `None` after the last one.
    #[inline]
    fn next(&mut self) -> Option<Span> {
        if self.done {
            return None;
        }
        let start = self.pos;
        let stop = memchr::memchr(b'\t', self.line.get(start..).unwrap_or(&[]))
            .map(|k| start + k)
            .unwrap_or_else(|| {
                self.done = true;
                self.end
            });
        self.pos = stop + 1;
        Some(Span {
            start,
            end: stop,
            quoted: false,
        })
    }
}

/// The time columns seen in a line; they make `timestamp` once the line is read.
#[derive(Default)]
struct Times {
    date: Option<Span>,
    time: Option<Span>,
    epoch: Option<DateTime<Utc>>,
}

impl Times {
    /// `date` + `time` when both are present, else the epoch column's time.
    fn timestamp(&self, record: &[u8]) -> Result<Option<DateTime<Utc>>, ParseError> {
        let (Some(d), Some(t)) = (self.date, self.time) else {
            return Ok(self.epoch);
        };
        parse_date_time(d.bytes(record), t.bytes(record))
            .map(Some)
            .ok_or_else(|| {
                ParseError::new(
                    LOG_TYPE,
                    "date",
                    d.start,
                    format!(
                        "expected a date and time like 2019-12-04 21:02:31, found `{} {}`",
                        excerpt(d.bytes(record)),
                        excerpt(t.bytes(record))
                    ),
                )
            })
    }
}

/// Converts field `i` (column `col`) into its slot, or notes it in `times`.
#[inline]
fn convert(
    record: &Bytes,
    col: &Column,
    i: usize,
    span: Span,
    vals: &mut Slots<'_>,
    times: &mut Times,
) -> Result<(), ParseError> {
    let raw = span.bytes(record);
    if is_absent(raw) {
        return Ok(());
    }
    let name = col.name.as_ref();
    match col.kind {
        CfKind::Date => times.date = Some(span),
        CfKind::Time => times.time = Some(span),
        CfKind::EpochSeconds => {
            let secs = parse_float(raw)
                .and_then(|f| {
                    let ms = (f.into_inner() * 1000.0).round();
                    (ms.abs() < 1e17).then_some(ms as i64)
                })
                .and_then(DateTime::from_timestamp_millis)
                .ok_or_else(|| bad_value(LOG_TYPE, name, span, record, "epoch seconds"))?;
            times.epoch = Some(secs);
        }
        CfKind::EpochMillis => {
            let t = parse_int(raw)
                .and_then(DateTime::from_timestamp_millis)
                .ok_or_else(|| bad_value(LOG_TYPE, name, span, record, "epoch milliseconds"))?;
            times.epoch = Some(t);
        }
        CfKind::Decoded => vals.set(i, decoded_value(record, span, false)),
        CfKind::Int => {
            let n = parse_int(raw)
                .ok_or_else(|| bad_value(LOG_TYPE, name, span, record, "an integer"))?;
            vals.set(i, Value::Integer(n));
        }
        CfKind::Float => {
            let f = parse_float(raw)
                .ok_or_else(|| bad_value(LOG_TYPE, name, span, record, "a number"))?;
            vals.set(i, Value::Float(f));
        }
    }
    Ok(())
}

impl CloudFrontParser {
    /// One line: a record, or `None` for a `#` header line (a `#Fields:` line sets the columns).
    fn parse_line(&mut self, record: &Bytes) -> Result<Option<Record>, ParseError> {
        if record.first() == Some(&b'#') {
            if let Some(fields) = record.strip_prefix(b"#Fields:") {
                let end = trimmed_end(fields, b" \t");
                let fields = String::from_utf8_lossy(fields.get(..end).unwrap_or(&[]));
                *self = Self::with_fields(&fields);
            }
            return Ok(None);
        }
        self.parse_data(record).map(Some)
    }
}

impl RecordParser for CloudFrontParser {
    fn log_type(&self) -> &'static str {
        LOG_TYPE
    }

    fn parse(&mut self, record: &Bytes, out: &mut Vec<ObjectMap>) -> Result<(), ParseError> {
        out.extend(self.parse_line(record)?.map(Record::into_map));
        Ok(())
    }

    fn parse_fields(&mut self, record: &Bytes, out: &mut Vec<Fields>) -> Result<(), ParseError> {
        out.extend(self.parse_line(record)?.map(Fields::from));
        Ok(())
    }

    fn is_context(&self, record: &[u8]) -> bool {
        record.first() == Some(&b'#')
    }

    fn fork(&self) -> Option<Box<dyn RecordParser>> {
        Some(Box::new(self.clone()))
    }
}
