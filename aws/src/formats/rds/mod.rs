//! Amazon RDS / Aurora database logs, as exported to CloudWatch Logs or downloaded from the
//! instance: PostgreSQL logs with the default `log_line_prefix` and MySQL error logs.
//!
//! # PostgreSQL (`rds_postgresql`)
//!
//! Default RDS prefix `%t:%r:%u@%d:[%p]:` —
//! `2022-10-05 22:05:52 UTC:52.95.4.1(11335):postgres@labdb:[3639]:LOG:  statement: ...`;
//! background processes have empty host/user/database (`UTC::@:[355]:`), local connections
//! `[local]`. A record is multi-line when the message is (multi-line statements, `! ...`
//! statistics lines): the message keeps its newlines. Field names follow PostgreSQL's csvlog
//! columns where one exists.
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `timestamp` | timestamp | `%t`, log time (`UTC`/`GMT`; fractional seconds accepted) |
//! | `remote_host` | string | `%r` host (IP address, host name or `[local]`); absent for background processes |
//! | `remote_port` | integer | `%r` port; absent when none |
//! | `user_name` | string | `%u`; absent when empty |
//! | `database_name` | string | `%d`; absent when empty |
//! | `process_id` | integer | `%p` |
//! | `error_severity` | string | `LOG`, `ERROR`, `FATAL`, `PANIC`, `WARNING`, `NOTICE`, `INFO`, `DEBUG1`..`5`, `DETAIL`, `HINT`, `STATEMENT`, `CONTEXT`, `QUERY`, `LOCATION` |
//! | `message` | string | text after the severity (leading spaces removed), with continuation lines |
//! | `aws.log_type` | string | `rds_postgresql` |
//!
//! The `----------------------- END OF LOG ----------------------` footer of downloaded log files
//! is consumed without output.
//!
//! # MySQL / MariaDB / Aurora MySQL error log (`rds_mysql`)
//!
//! MySQL 8: `2020-08-26T09:00:05.376465Z 0 [System] [MY-010116] [Server] /rdsdbbin/...`;
//! MySQL 5.7 / Aurora MySQL / MariaDB: `2020-08-25 11:22:34 4890 [Note] InnoDB: ...`. Field names
//! follow `performance_schema.error_log` (`THREAD_ID`, `PRIO`, `ERROR_CODE`, `SUBSYSTEM`, `DATA`).
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `timestamp` | timestamp | log time (UTC on RDS) |
//! | `thread_id` | integer | connection/thread id (`0` for server threads); absent if not printed |
//! | `priority` | string | `System`, `Note`, `Warning`, `ERROR`, ... |
//! | `error_code` | string | `MY-010116` (MySQL 8) |
//! | `subsystem` | string | `Server`, `InnoDB`, `Repl`, ... (MySQL 8) |
//! | `message` | string | the rest, with continuation lines |
//! | `aws.log_type` | string | `rds_mysql` |
//!
//! Slow-query, general and audit logs are not handled (errors).
//!
//! # Framing
//!
//! From CloudWatch Logs each log event is one record. From files and objects, `aws_parse` joins
//! the lines of a record per stream, starting a record where the registry's `record_start`
//! ([`is_postgresql_record_start`] / [`is_mysql_record_start`]) holds.

use bytes::Bytes;
use vrl::value::{KeyString, ObjectMap, Value};

use crate::formats::json_reader::value::slice_or_copy;
use crate::formats::{set_log_type, ParseError, RecordParser};

/// `aws.log_type` of RDS PostgreSQL logs.
pub const POSTGRESQL_LOG_TYPE: &str = "rds_postgresql";
/// `aws.log_type` of RDS MySQL error logs.
pub const MYSQL_LOG_TYPE: &str = "rds_mysql";

pub use crate::formats::delimited::parse_datetime_prefix;

pub(crate) mod ecs;
pub(crate) mod ocsf;

/// `metadata.product.name` of RDS logs.
const PRODUCT: &str = "Amazon RDS";

/// ECS `aws.rds_postgresql` and OCSF Authentication / Datastore Activity / Base Event (see
/// [`ecs`] and [`ocsf`]).
pub const POSTGRESQL_MAPPINGS: crate::normalize::Mappings = crate::normalize::Mappings {
    ecs: crate::normalize::EcsMapping {
        dataset: "aws.rds_postgresql",
        native_path: "aws.rds",
        map: Some(ecs::postgresql),
    },
    ocsf: crate::normalize::OcsfMapping {
        product: PRODUCT,
        map: Some(ocsf::postgresql),
        classes: "Authentication 3002 (connections authorized, failed logins, disconnections); Datastore Activity 6005 (other lines of client sessions); Base Event 0 (server processes, local sessions)",
    },
};

/// ECS `aws.rds_mysql` and OCSF Base Event (see [`ecs`] and [`ocsf`]).
pub const MYSQL_MAPPINGS: crate::normalize::Mappings = crate::normalize::Mappings {
    ecs: crate::normalize::EcsMapping {
        dataset: "aws.rds_mysql",
        native_path: "aws.rds",
        map: Some(ecs::mysql),
    },
    ocsf: crate::normalize::OcsfMapping {
        product: PRODUCT,
        map: Some(ocsf::mysql),
        classes: "Base Event 0 (server diagnostics, which name no client or user)",
    },
};

/// `remote_host` (PostgreSQL's `%r`, Redshift's `remotehost`) of a connection over the
/// server's Unix socket rather than the network.
pub(crate) const LOCAL_HOST: &str = "[local]";

/// What `user_name` and `database_name` are before a connection has authenticated
/// (`connection received:` lines).
const UNKNOWN: &str = "[unknown]";

/// What a PostgreSQL line reports, read from its message: the texts PostgreSQL writes for
/// `log_connections`, `log_disconnections`, rejected logins and `log_statement` /
/// `log_min_duration_statement`, which are fixed (not translated on RDS, whose `lc_messages`
/// is English).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PgEntry {
    /// `connection authorized: user=… database=…`: a login succeeded.
    Authorized,
    /// `password authentication failed for user "…"` (and the other methods'), `no pg_hba.conf
    /// entry for host …`, `pg_hba.conf rejects connection …`: a login was refused.
    Refused,
    /// `disconnection: session time: …`: a session ended.
    Disconnection,
    /// `statement: …`, `execute <name>: …`, `duration: …`, or a `STATEMENT` line (the statement
    /// of the message before it): a statement run.
    Statement,
    /// Anything else (checkpoints, temporary files, errors, …).
    Other,
}

impl PgEntry {
    /// The entry a parsed PostgreSQL record reports.
    pub(crate) fn of(native: &impl crate::normalize::fields::Lookup) -> Self {
        use crate::normalize::fields::get_str;
        let message = get_str(native, "message").unwrap_or_default();
        let severity = get_str(native, "error_severity").unwrap_or_default();
        if message.starts_with("connection authorized: ") {
            Self::Authorized
        } else if severity == "FATAL"
            && (message.contains("authentication failed for user ")
                || message.starts_with("no pg_hba.conf entry for host ")
                || message.starts_with("pg_hba.conf rejects connection for host "))
        {
            Self::Refused
        } else if message.starts_with("disconnection: ") {
            Self::Disconnection
        } else if severity == "STATEMENT"
            || ["statement: ", "execute ", "duration: "]
                .iter()
                .any(|p| message.starts_with(p))
        {
            Self::Statement
        } else {
            Self::Other
        }
    }

    /// Whether the entry is about a login or logout.
    pub(crate) fn is_authentication(self) -> bool {
        matches!(self, Self::Authorized | Self::Refused | Self::Disconnection)
    }
}

/// A text field naming a user or database, unless it is PostgreSQL's `[unknown]` (not yet
/// authenticated).
fn known<'a>(native: &'a impl crate::normalize::fields::Lookup, name: &str) -> Option<&'a str> {
    crate::normalize::fields::get_str(native, name).filter(|v| *v != UNKNOWN)
}

/// The milliseconds of a `duration: 167.754 ms[  statement: …]` message
/// (`log_min_duration_statement`, `log_duration`).
fn statement_duration_ms(native: &impl crate::normalize::fields::Lookup) -> Option<f64> {
    let message = crate::normalize::fields::get_str(native, "message")?;
    let (number, _) = message.strip_prefix("duration: ")?.split_once(" ms")?;
    number
        .parse::<f64>()
        .ok()
        .filter(|ms| ms.is_finite() && *ms >= 0.0)
}

/// Whether a record's level says it failed: PostgreSQL's `ERROR`, `FATAL`, `PANIC`, MySQL's
/// `ERROR` (the levels of Medium severity or more).
fn is_error_level(native: &impl crate::normalize::fields::Lookup, level: &str) -> bool {
    crate::normalize::fields::get_str(native, level)
        .and_then(crate::normalize::ocsf::severity_of_level)
        .is_some_and(|s| s >= crate::normalize::ocsf::SEVERITY_MEDIUM)
}

fn trim_newlines(s: &[u8]) -> &[u8] {
    let mut s = s;
    while let Some((last, rest)) = s.split_last() {
        if *last == b'\n' || *last == b'\r' {
            s = rest;
        } else {
            break;
        }
    }
    s
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let h = hay.get(from..)?;
    memchr::memmem::find(h, needle).map(|p| p + from)
}

fn put_bytes(map: &mut ObjectMap, record: &Bytes, key: &'static str, v: &[u8]) {
    if !v.is_empty() {
        map.insert(KeyString::from(key), Value::Bytes(slice_or_copy(record, v)));
    }
}

fn parse_int(
    format: &'static str,
    field: &'static str,
    s: &[u8],
    offset: usize,
) -> Result<i64, ParseError> {
    std::str::from_utf8(s)
        .ok()
        .and_then(|t| t.parse::<i64>().ok())
        .ok_or_else(|| {
            ParseError::new(
                format,
                field,
                offset,
                format!("not an integer: {:?}", String::from_utf8_lossy(s)),
            )
        })
}

/// True for the first line of a PostgreSQL record (starts with `YYYY-MM-DD HH:MM:SS`) and for
/// the `END OF LOG` footer line.
pub fn is_postgresql_record_start(line: &[u8]) -> bool {
    parse_datetime_prefix(line).is_some() || is_end_of_log(line)
}

/// True for the first line of a MySQL error-log record (starts with `YYYY-MM-DD[T ]HH:MM:SS`).
pub fn is_mysql_record_start(line: &[u8]) -> bool {
    parse_datetime_prefix(line).is_some()
}

fn is_end_of_log(line: &[u8]) -> bool {
    line.starts_with(b"-----") && memchr::memmem::find(line, b"END OF LOG").is_some()
}

/// Parser for RDS PostgreSQL log records; see the [module docs](self).
#[derive(Clone, Debug, Default)]
pub struct RdsPostgresqlParser;

impl RecordParser for RdsPostgresqlParser {
    fn log_type(&self) -> &'static str {
        POSTGRESQL_LOG_TYPE
    }

    fn parse(&mut self, record: &Bytes, out: &mut Vec<ObjectMap>) -> Result<(), ParseError> {
        let text = trim_newlines(record);
        if is_end_of_log(text) {
            return Ok(());
        }
        let (ts, mut pos) = parse_datetime_prefix(text).ok_or_else(|| {
            pg_err(
                "timestamp",
                0,
                "record does not start with `YYYY-MM-DD HH:MM:SS`",
            )
        })?;
        let zone = text.get(pos..pos + 5);
        if zone != Some(b" UTC:") && zone != Some(b" GMT:") {
            return Err(pg_err("timestamp", pos, "expected ` UTC:` after the time"));
        }
        pos += 5;
        let mut map = ObjectMap::new();
        let mut line = PgLine {
            record,
            text,
            map: &mut map,
        };
        pos = line.remote_host(pos)?;
        pos = line.user_database(pos)?;
        pos = line.process_id(pos)?;
        pos = line.severity(pos)?;
        while text.get(pos) == Some(&b' ') {
            pos += 1;
        }
        line.put("message", text.get(pos..).unwrap_or_default());
        map.insert(KeyString::from("timestamp"), Value::Timestamp(ts));
        set_log_type(&mut map, POSTGRESQL_LOG_TYPE);
        out.push(map);
        Ok(())
    }
}

fn pg_err(field: &'static str, at: usize, msg: &str) -> ParseError {
    ParseError::new(POSTGRESQL_LOG_TYPE, field, at, msg)
}

/// One PostgreSQL record being read, part by part of its `log_line_prefix`
/// (`%t:%r:%u@%d:[%p]:`); each step takes the offset of its part and returns the next one.
struct PgLine<'a> {
    record: &'a Bytes,
    /// The record without its trailing newlines.
    text: &'a [u8],
    map: &'a mut ObjectMap,
}

impl PgLine<'_> {
    fn put(&mut self, key: &'static str, v: &[u8]) {
        put_bytes(self.map, self.record, key, v);
    }

    /// `%r:`: empty, `[local]`, or `host(port)`.
    fn remote_host(&mut self, pos: usize) -> Result<usize, ParseError> {
        let text = self.text;
        if text.get(pos) == Some(&b':') {
            return Ok(pos + 1);
        }
        if text.get(pos..).is_some_and(|r| r.starts_with(b"[local]:")) {
            self.put("remote_host", b"[local]");
            return Ok(pos + 8);
        }
        let close = find(text, b"):", pos)
            .ok_or_else(|| pg_err("remote_host", pos, "expected `host(port):`"))?;
        let inner = text.get(pos..close).unwrap_or_default();
        let open = memchr::memrchr(b'(', inner)
            .ok_or_else(|| pg_err("remote_port", close, "expected `(port)`"))?;
        let host = inner.get(..open).unwrap_or_default();
        let port = inner.get(open + 1..).unwrap_or_default();
        self.put("remote_host", host);
        if !port.is_empty() {
            let p = parse_int(POSTGRESQL_LOG_TYPE, "remote_port", port, pos + open + 1)?;
            self.map
                .insert(KeyString::from("remote_port"), Value::Integer(p));
        }
        Ok(close + 2)
    }

    /// `%u@%d:`.
    fn user_database(&mut self, pos: usize) -> Result<usize, ParseError> {
        let colon = find(self.text, b":", pos)
            .ok_or_else(|| pg_err("user_name", pos, "expected `user@database:`"))?;
        let ud = self.text.get(pos..colon).unwrap_or_default();
        let at = memchr::memchr(b'@', ud)
            .ok_or_else(|| pg_err("user_name", pos, "expected `user@database`"))?;
        self.put("user_name", ud.get(..at).unwrap_or_default());
        self.put("database_name", ud.get(at + 1..).unwrap_or_default());
        Ok(colon + 1)
    }

    /// `[%p]:`.
    fn process_id(&mut self, pos: usize) -> Result<usize, ParseError> {
        if self.text.get(pos) != Some(&b'[') {
            return Err(pg_err("process_id", pos, "expected `[pid]`"));
        }
        let close = find(self.text, b"]:", pos)
            .ok_or_else(|| pg_err("process_id", pos, "expected `[pid]:`"))?;
        let pid = parse_int(
            POSTGRESQL_LOG_TYPE,
            "process_id",
            self.text.get(pos + 1..close).unwrap_or_default(),
            pos + 1,
        )?;
        self.map
            .insert(KeyString::from("process_id"), Value::Integer(pid));
        Ok(close + 2)
    }

    /// `SEVERITY:` (upper case: `LOG`, `ERROR`, `DEBUG1`, ...).
    fn severity(&mut self, pos: usize) -> Result<usize, ParseError> {
        let colon = find(self.text, b":", pos)
            .ok_or_else(|| pg_err("error_severity", pos, "expected `SEVERITY:`"))?;
        let severity = self.text.get(pos..colon).unwrap_or_default();
        if severity.is_empty()
            || !severity
                .iter()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            return Err(pg_err(
                "error_severity",
                pos,
                "expected an upper-case severity such as `LOG`",
            ));
        }
        self.put("error_severity", severity);
        Ok(colon + 1)
    }
}

/// Parser for RDS MySQL / Aurora MySQL / MariaDB error-log records; see the [module docs](self).
#[derive(Clone, Debug, Default)]
pub struct RdsMysqlParser;

impl RecordParser for RdsMysqlParser {
    fn log_type(&self) -> &'static str {
        MYSQL_LOG_TYPE
    }

    fn parse(&mut self, record: &Bytes, out: &mut Vec<ObjectMap>) -> Result<(), ParseError> {
        const F: &str = MYSQL_LOG_TYPE;
        let text = trim_newlines(record);
        let err = |field: &'static str, at: usize, msg: &str| ParseError::new(F, field, at, msg);
        let (ts, mut pos) = parse_datetime_prefix(text).ok_or_else(|| {
            err(
                "timestamp",
                0,
                "record does not start with `YYYY-MM-DD[T ]HH:MM:SS`",
            )
        })?;
        let skip_spaces = |mut p: usize| {
            while text.get(p) == Some(&b' ') {
                p += 1;
            }
            p
        };
        if text.get(pos) != Some(&b' ') {
            return Err(err("thread_id", pos, "expected a space after the time"));
        }
        pos = skip_spaces(pos);
        let mut map = ObjectMap::new();
        map.insert(KeyString::from("timestamp"), Value::Timestamp(ts));
        if text.get(pos).is_some_and(u8::is_ascii_digit) {
            let end = text
                .get(pos..)
                .and_then(|r| r.iter().position(|b| !b.is_ascii_digit()))
                .map_or(text.len(), |p| p + pos);
            let id = parse_int(F, "thread_id", text.get(pos..end).unwrap_or_default(), pos)?;
            map.insert(KeyString::from("thread_id"), Value::Integer(id));
            pos = skip_spaces(end);
        }
        // [Priority] [MY-code] [Subsystem]
        let mut bracketed: Vec<(usize, usize)> = Vec::with_capacity(3);
        while bracketed.len() < 3 && text.get(pos) == Some(&b'[') {
            let close =
                find(text, b"]", pos).ok_or_else(|| err("priority", pos, "unterminated `[`"))?;
            bracketed.push((pos + 1, close));
            pos = skip_spaces(close + 1);
        }
        let Some(&(ps, pe)) = bracketed.first() else {
            return Err(err("priority", pos, "expected `[Priority]`"));
        };
        put_bytes(
            &mut map,
            record,
            "priority",
            text.get(ps..pe).unwrap_or_default(),
        );
        let mut rest = bracketed.get(1..).unwrap_or_default().iter();
        // MySQL 8 prints `[MY-nnnnnn] [Subsystem]`; anything else bracketed belongs to the message.
        let mut message_start = pos;
        if let Some(&(cs, ce)) = rest.next() {
            let code = text.get(cs..ce).unwrap_or_default();
            if code.starts_with(b"MY-") {
                put_bytes(&mut map, record, "error_code", code);
                if let Some(&(ss, se)) = rest.next() {
                    put_bytes(
                        &mut map,
                        record,
                        "subsystem",
                        text.get(ss..se).unwrap_or_default(),
                    );
                }
            } else {
                message_start = cs - 1;
            }
        }
        put_bytes(
            &mut map,
            record,
            "message",
            text.get(message_start..).unwrap_or_default(),
        );
        set_log_type(&mut map, F);
        out.push(map);
        Ok(())
    }
}

/// Registry content check: `YYYY-MM-DD HH:MM:SS UTC:` (the default `log_line_prefix`).
pub fn detect_postgresql(head: &[u8]) -> bool {
    timestamp_prefixed(head).is_some_and(|rest| rest.starts_with(b" UTC:"))
}

/// Registry content check: `YYYY-MM-DD[T ]HH:MM:SS[.f][Z] <thread> [`.
pub fn detect_mysql(head: &[u8]) -> bool {
    let Some(rest) = timestamp_prefixed(head) else {
        return false;
    };
    let after_fraction = rest
        .iter()
        .skip_while(|b| b.is_ascii_digit() || **b == b'.' || **b == b'Z')
        .count();
    let rest = rest.get(rest.len() - after_fraction..).unwrap_or(b"");
    let mut tokens = rest.split(|b| *b == b' ').filter(|t| !t.is_empty());
    let (Some(thread), Some(bracket)) = (tokens.next(), tokens.next()) else {
        return false;
    };
    thread.iter().all(u8::is_ascii_digit) && bracket.first() == Some(&b'[')
}

/// What follows a leading `YYYY-MM-DD[T ]HH:MM:SS`, if the line has one.
fn timestamp_prefixed(head: &[u8]) -> Option<&[u8]> {
    let shape = crate::formats::detect::shape;
    let date = std::str::from_utf8(head.get(..19)?).ok()?;
    (shape(date, "dddd-dd-dd dd:dd:dd") || shape(date, "dddd-dd-ddTdd:dd:dd")).then_some(())?;
    head.get(19..)
}

#[cfg(test)]
mod tests;
