//! VPC Flow Logs, default and custom formats, and Transit Gateway flow logs
//! (`aws.log_type` = `vpc_flow`).
//!
//! Space-separated, one record per line; runs of spaces count as one separator. The columns are
//! given by the flow log's format, in any order:
//! * [`VpcFlowParser::default`] assumes the default (version 2) format
//!   `version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes
//!   start end action log-status`;
//! * [`VpcFlowParser::with_format`] takes the flow log's `LogFormat` (`${version} ${vpc-id} …`,
//!   or plain names, hyphens or underscores);
//! * either way, the parser is stateful: a header line as written at the top of S3-delivered
//!   objects (`version account-id interface-id …`, the field names joined by spaces) is consumed
//!   (emits nothing) and sets the column order for the records that follow.
//!
//! A record must have a value for every column (flow log formats are fixed, so fewer fields mean
//! a truncated record); extra fields are kept under `unparsed_trailing`. `-` leaves a field out
//! (NODATA/SKIPDATA records, `instance-id` of requester-managed ENIs, …). Output names are AWS's
//! field names with `-` replaced by `_`. `timestamp` is `start` (or `end` when the format has no
//! `start`); a format with neither gives no `timestamp`.
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `version` | integer | flow log version (highest version among the format's fields) |
//! | `account_id` | string | account id of the interface's owner |
//! | `interface_id` | string | network interface id |
//! | `srcaddr` | string | source address (IPv4 or IPv6) |
//! | `dstaddr` | string | destination address |
//! | `srcport` | integer | source port |
//! | `dstport` | integer | destination port |
//! | `protocol` | integer | IANA protocol number |
//! | `packets` | integer | packets transferred in the window |
//! | `bytes` | integer | bytes transferred in the window |
//! | `start` | integer | Unix seconds of the first packet of the window |
//! | `end` | integer | Unix seconds of the end of the window |
//! | `action` | string | `ACCEPT` / `REJECT` |
//! | `log_status` | string | `OK` / `NODATA` / `SKIPDATA` |
//! | `vpc_id` | string | (v3) VPC id |
//! | `subnet_id` | string | (v3) subnet id |
//! | `instance_id` | string | (v3) instance id |
//! | `tcp_flags` | integer | (v3) OR of TCP flags seen (FIN 1, SYN 2, RST 4, SYN-ACK 18, …) |
//! | `type` | string | (v3) `IPv4` / `IPv6` / `EFA` |
//! | `pkt_srcaddr` | string | (v3) packet-level source address |
//! | `pkt_dstaddr` | string | (v3) packet-level destination address |
//! | `region` | string | (v4) region of the interface |
//! | `az_id` | string | (v4) availability zone id |
//! | `sublocation_type` | string | (v4) `wavelength` / `outpost` / `localzone` |
//! | `sublocation_id` | string | (v4) sublocation id |
//! | `pkt_src_aws_service` | string | (v5) AWS service of `pkt_srcaddr` |
//! | `pkt_dst_aws_service` | string | (v5) AWS service of `pkt_dstaddr` |
//! | `flow_direction` | string | (v5) `ingress` / `egress` |
//! | `traffic_path` | integer | (v5) egress path, 1–8 |
//! | `ecs_cluster_arn` | string | (v7) ECS cluster ARN |
//! | `ecs_cluster_name` | string | (v7) ECS cluster name |
//! | `ecs_container_instance_arn` | string | (v7) ECS container instance ARN |
//! | `ecs_container_instance_id` | string | (v7) ECS container instance id |
//! | `ecs_container_id` | string | (v7) Docker id of the task's first container |
//! | `ecs_second_container_id` | string | (v7) Docker id of the task's second container |
//! | `ecs_service_name` | string | (v7) ECS service name |
//! | `ecs_task_definition_arn` | string | (v7) ECS task definition ARN |
//! | `ecs_task_arn` | string | (v7) ECS task ARN |
//! | `ecs_task_id` | string | (v7) ECS task id |
//! | `reject_reason` | string | (v8) why traffic was rejected (`BPA`) |
//! | `resource_id` | string | (newer) id of the resource (NAT gateway, …) the interface belongs to |
//! | `encryption_status` | integer | (newer) VPC encryption status code |
//! | `resource_type` | string | (Transit Gateway) `TransitGateway` / `TransitGatewayAttachment` |
//! | `tgw_id` | string | (Transit Gateway) transit gateway id |
//! | `tgw_attachment_id` | string | (Transit Gateway) attachment id |
//! | `tgw_src_vpc_account_id` | string | (Transit Gateway) source VPC account id |
//! | `tgw_dst_vpc_account_id` | string | (Transit Gateway) destination VPC account id |
//! | `tgw_src_vpc_id` | string | (Transit Gateway) source VPC id |
//! | `tgw_dst_vpc_id` | string | (Transit Gateway) destination VPC id |
//! | `tgw_src_subnet_id` | string | (Transit Gateway) source subnet id |
//! | `tgw_dst_subnet_id` | string | (Transit Gateway) destination subnet id |
//! | `tgw_src_eni` | string | (Transit Gateway) source attachment ENI |
//! | `tgw_dst_eni` | string | (Transit Gateway) destination attachment ENI |
//! | `tgw_src_az_id` | string | (Transit Gateway) source availability zone id |
//! | `tgw_dst_az_id` | string | (Transit Gateway) destination availability zone id |
//! | `tgw_pair_attachment_id` | string | (Transit Gateway) peer attachment id |
//! | `packets_lost_no_route` | integer | (Transit Gateway) packets lost: no route |
//! | `packets_lost_blackhole` | integer | (Transit Gateway) packets lost: blackhole route |
//! | `packets_lost_mtu_exceeded` | integer | (Transit Gateway) packets lost: MTU exceeded |
//! | `packets_lost_ttl_expired` | integer | (Transit Gateway) packets lost: TTL expired |
//! | *any other column* | string | a field this parser does not know, under its snake_case name |
//! | `timestamp` | timestamp | `start` (else `end`) as an instant |
//! | `unparsed_trailing` | array of strings | fields past the format's columns, verbatim |
//! | `aws.log_type` | string | `vpc_flow` |

use std::borrow::Cow;

use bytes::Bytes;
use vrl::value::{KeyString, ObjectMap, Value};
use weir_core::fields::{Fields, Record};

use super::delimited::{
    bad_value, collect_trailing, from_unix_seconds, is_absent, parse_int, slice, Layout, Tokenizer,
    UNPARSED_TRAILING,
};
use super::{ParseError, RecordParser};

/// Registry content check: a header line of VPC field names, or `<version> <12-digit account>`.
pub fn detect_text(head: &[u8]) -> bool {
    let [first, second, _] = crate::formats::detect::first_tokens(head);
    is_header_line(head)
        || (!first.is_empty()
            && first.len() <= 2
            && first.iter().all(u8::is_ascii_digit)
            && second.len() == 12
            && second.iter().all(u8::is_ascii_digit))
}

/// A VPC Flow Logs header line: field names only, several of them VPC's.
fn is_header_line(head: &[u8]) -> bool {
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

mod ecs;
mod ocsf;
#[cfg(test)]
mod tests;

/// ECS `aws.vpcflow` and OCSF Network Activity (see [`ecs`] and [`ocsf`]).
pub const MAPPINGS: crate::normalize::Mappings = crate::normalize::Mappings {
    ecs: crate::normalize::EcsMapping {
        dataset: "aws.vpcflow",
        native_path: "aws.vpcflow",
        map: Some(ecs::map),
    },
    ocsf: crate::normalize::OcsfMapping {
        product: "Amazon VPC",
        map: Some(ocsf::map),
        classes:
            "Network Activity 4001; records without addresses (NODATA, SKIPDATA): Base Event 0",
    },
};

/// The `aws.log_type` of VPC Flow Logs.
pub const LOG_TYPE: &str = "vpc_flow";

/// The default (version 2) format.
pub const DEFAULT_FORMAT: &str = "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} \
     ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}";

/// Known fields (snake_case) and whether they are integers.
const KNOWN: &[(&str, bool)] = &[
    ("version", true),
    ("account_id", false),
    ("interface_id", false),
    ("srcaddr", false),
    ("dstaddr", false),
    ("srcport", true),
    ("dstport", true),
    ("protocol", true),
    ("packets", true),
    ("bytes", true),
    ("start", true),
    ("end", true),
    ("action", false),
    ("log_status", false),
    ("vpc_id", false),
    ("subnet_id", false),
    ("instance_id", false),
    ("tcp_flags", true),
    ("type", false),
    ("pkt_srcaddr", false),
    ("pkt_dstaddr", false),
    ("region", false),
    ("az_id", false),
    ("sublocation_type", false),
    ("sublocation_id", false),
    ("pkt_src_aws_service", false),
    ("pkt_dst_aws_service", false),
    ("flow_direction", false),
    ("traffic_path", true),
    ("ecs_cluster_arn", false),
    ("ecs_cluster_name", false),
    ("ecs_container_instance_arn", false),
    ("ecs_container_instance_id", false),
    ("ecs_container_id", false),
    ("ecs_second_container_id", false),
    ("ecs_service_name", false),
    ("ecs_task_definition_arn", false),
    ("ecs_task_arn", false),
    ("ecs_task_id", false),
    ("reject_reason", false),
    ("resource_id", false),
    ("encryption_status", true),
    ("resource_type", false),
    ("tgw_id", false),
    ("tgw_attachment_id", false),
    ("tgw_src_vpc_account_id", false),
    ("tgw_dst_vpc_account_id", false),
    ("tgw_src_vpc_id", false),
    ("tgw_dst_vpc_id", false),
    ("tgw_src_subnet_id", false),
    ("tgw_dst_subnet_id", false),
    ("tgw_src_eni", false),
    ("tgw_dst_eni", false),
    ("tgw_src_az_id", false),
    ("tgw_dst_az_id", false),
    ("tgw_pair_attachment_id", false),
    ("packets_lost_no_route", true),
    ("packets_lost_blackhole", true),
    ("packets_lost_mtu_exceeded", true),
    ("packets_lost_ttl_expired", true),
];

/// What a column means for the record's time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TimeRole {
    None,
    Start,
    End,
}

/// One column of the format.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Column {
    name: Cow<'static, str>,
    int: bool,
    time: TimeRole,
}

/// Looks a field name up (hyphens or underscores, any case of `${…}` wrapping removed).
fn column(raw: &str) -> Column {
    let snake = raw.replace('-', "_");
    match KNOWN.iter().find(|(k, _)| *k == snake) {
        Some(&(name, int)) => Column {
            name: Cow::Borrowed(name),
            int,
            time: match name {
                "start" => TimeRole::Start,
                "end" => TimeRole::End,
                _ => TimeRole::None,
            },
        },
        None => Column {
            name: Cow::Owned(snake),
            int: false,
            time: TimeRole::None,
        },
    }
}

fn is_known(raw: &[u8]) -> bool {
    KNOWN.iter().any(|(k, _)| {
        k.len() == raw.len()
            && k.bytes()
                .zip(raw)
                .all(|(a, &b)| a == b || (a == b'_' && b == b'-'))
    })
}

fn is_name(raw: &[u8]) -> bool {
    raw.first().is_some_and(u8::is_ascii_lowercase)
        && raw
            .iter()
            .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Whether `line` is a header line (field names joined by spaces): its first word is a known
/// field name and every word looks like a field name.
fn is_header(line: &[u8]) -> bool {
    if !line.first().is_some_and(u8::is_ascii_lowercase) {
        return false;
    }
    let mut tok = Tokenizer::new(line);
    let mut first = true;
    while let Some(span) = tok.next_plain() {
        let word = span.bytes(line);
        if !is_name(word) || (first && !is_known(word)) {
            return false;
        }
        first = false;
    }
    !first
}

/// Parser for VPC Flow Log records of one flow log (stateful: learns the column order from
/// header lines).
#[derive(Clone, Debug)]
pub struct VpcFlowParser {
    columns: Vec<Column>,
    /// Output slots: one per column, then `timestamp`, then `unparsed_trailing`.
    layout: Layout,
}

impl Default for VpcFlowParser {
    /// A parser for the default (version 2) format.
    fn default() -> Self {
        Self::with_format(DEFAULT_FORMAT).unwrap_or_else(|_| Self::from_columns(Vec::new()))
    }
}

impl VpcFlowParser {
    /// A parser for the format `format`: the flow log's `LogFormat` (`${version} ${vpc-id} …`) or
    /// field names separated by spaces (hyphens or underscores). Names this parser does not
    /// know become string fields. Fails on an empty format or a malformed `${…}`.
    pub fn with_format(format: &str) -> Result<Self, ParseError> {
        let mut columns = Vec::new();
        let mut offset = 0;
        for word in format.split(|c: char| c.is_ascii_whitespace()) {
            let at = offset;
            offset += word.len() + 1;
            if word.is_empty() {
                continue;
            }
            let name = match word.strip_prefix("${") {
                Some(rest) => rest.strip_suffix('}').ok_or_else(|| {
                    ParseError::new(
                        LOG_TYPE,
                        "format",
                        at,
                        format!("`{word}` lacks a closing `}}`"),
                    )
                })?,
                None => word,
            };
            if !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                || name.is_empty()
            {
                return Err(ParseError::new(
                    LOG_TYPE,
                    "format",
                    at,
                    format!("`{word}` is not a field name"),
                ));
            }
            columns.push(column(&name.to_ascii_lowercase()));
        }
        if columns.is_empty() {
            return Err(ParseError::new(LOG_TYPE, "format", 0, "empty format"));
        }
        Ok(Self::from_columns(columns))
    }

    fn from_columns(columns: Vec<Column>) -> Self {
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
            layout: Layout::new(keys, LOG_TYPE),
        }
    }

    /// The current column names, in order.
    pub fn columns(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(|c| c.name.as_ref())
    }

    /// Takes the column order from a header line.
    fn learn_header(&mut self, line: &[u8]) {
        let mut tok = Tokenizer::new(line);
        let mut columns = Vec::with_capacity(self.columns.len());
        while let Some(span) = tok.next_plain() {
            // Header words passed `is_name`, so they are ASCII.
            columns.push(column(&String::from_utf8_lossy(span.bytes(line))));
        }
        *self = Self::from_columns(columns);
    }

    /// One line: a record, or `None` for a header line (which sets the columns).
    fn parse_line(&mut self, record: &Bytes) -> Result<Option<Record>, ParseError> {
        if is_header(record) {
            self.learn_header(record);
            return Ok(None);
        }
        self.parse_data(record).map(Some)
    }

    /// Parses one data record with the current columns.
    fn parse_data(&mut self, record: &Bytes) -> Result<Record, ParseError> {
        let ncols = self.columns.len();
        let mut vals = self.layout.slots();
        let mut tok = Tokenizer::new(record);
        let (mut start, mut end) = (None, None);
        for (i, col) in self.columns.iter().enumerate() {
            let Some(span) = tok.next_plain() else {
                let message = if i == 0 {
                    "empty record".to_owned()
                } else {
                    format!(
                        "record has {i} fields, the format has {}",
                        self.columns.len()
                    )
                };
                return Err(ParseError::new(
                    LOG_TYPE,
                    col.name.as_ref(),
                    tok.end(),
                    message,
                ));
            };
            let raw = span.bytes(record);
            if is_absent(raw) {
                continue;
            }
            let value = if col.int {
                let n = parse_int(raw)
                    .ok_or_else(|| bad_value(LOG_TYPE, &col.name, span, record, "an integer"))?;
                match col.time {
                    TimeRole::Start => start = Some((n, span, "start")),
                    TimeRole::End => end = Some((n, span, "end")),
                    TimeRole::None => {}
                }
                Value::Integer(n)
            } else {
                Value::Bytes(slice(record, span))
            };
            vals.set(i, value);
        }
        if let Some((secs, span, name)) = start.or(end) {
            let t = from_unix_seconds(secs)
                .ok_or_else(|| bad_value(LOG_TYPE, name, span, record, "Unix seconds in range"))?;
            vals.set(ncols, Value::Timestamp(t));
        }
        if let Some(trailing) = collect_trailing(&mut tok, record) {
            vals.set(ncols + 1, trailing);
        }
        Ok(vals.into_record())
    }
}

impl RecordParser for VpcFlowParser {
    fn log_type(&self) -> &'static str {
        LOG_TYPE
    }

    fn parse_fields(&mut self, record: &Bytes, out: &mut Vec<Fields>) -> Result<(), ParseError> {
        out.extend(self.parse_line(record)?.map(Fields::from));
        Ok(())
    }

    fn parse(&mut self, record: &Bytes, out: &mut Vec<ObjectMap>) -> Result<(), ParseError> {
        out.extend(self.parse_line(record)?.map(Record::into_map));
        Ok(())
    }

    fn is_context(&self, record: &[u8]) -> bool {
        is_header(record)
    }

    fn fork(&self) -> Option<Box<dyn RecordParser>> {
        Some(Box::new(self.clone()))
    }
}
