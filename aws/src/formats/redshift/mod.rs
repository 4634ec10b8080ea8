//! Amazon Redshift audit logs: connection log, user log and user activity log (S3 objects
//! `<acct>_redshift_<region>_<cluster>_<connectionlog|userlog|useractivitylog>_<time>.gz`, or
//! CloudWatch Logs groups `/aws/redshift/cluster/<cluster>/<log type>`).
//!
//! Field names are the STL_CONNECTION_LOG / STL_USERLOG column names (already snake-case) and,
//! for the activity log, the `key=` names printed in the record. Values are right-padded with
//! spaces by Redshift: they are trimmed, and empty values are absent. Times like
//! `Mon, 7 Dec 2020 20:01:55:177` (milliseconds after a colon) are UTC.
//!
//! # Connection log (`redshift_connection`), `|`-separated
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `event` | string | `authenticated`, `initiating session`, `disconnecting session`, `authentication failure`, ... |
//! | `timestamp` | timestamp | `recordtime` |
//! | `remotehost` | string | client host or `[local]` |
//! | `remoteport` | integer | client port |
//! | `pid` | integer | process id of the session |
//! | `dbname` | string | database |
//! | `username` | string | user |
//! | `authmethod` | string | authentication method (`password`, `Ident`, `IAM`, ...) |
//! | `duration` | integer | connection duration in microseconds (disconnect events) |
//! | `sslversion`, `sslcipher` | string | TLS version and cipher |
//! | `mtu` | integer | maximum transmission unit |
//! | `sslcompression`, `sslexpansion` | string | TLS compression/expansion type |
//! | `iamauthguid` | string | IAM authentication request id |
//! | `application_name` | string | client application |
//! | `os_version`, `driver_version`, `plugin_name` | string | client details |
//! | `protocol_version` | integer | client/server protocol version |
//! | `sessionid` | string | session GUID |
//! | `compression` | string | compression algorithm |
//! | `unparsed_trailing` | string | non-empty fields after the known ones, `|`-joined |
//!
//! # User log (`redshift_user`), `|`-separated
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `userid` | integer | id of the affected user |
//! | `username` | string | user name |
//! | `oldusername` | string | previous name (rename) |
//! | `action` | string | `create`, `alter`, `drop`, `rename` |
//! | `usecreatedb`, `usesuper`, `usecatupd` | integer | 1 if the user may create databases / is superuser / may update catalogs (kept as the integers Redshift logs) |
//! | `valuntil` | integer or string | password expiry (an integer when the log prints one, e.g. `9223372036854775807` for "never"; otherwise the text) |
//! | `pid` | integer | process id |
//! | `xid` | integer | transaction id |
//! | `timestamp` | timestamp | `recordtime` |
//! | `unparsed_trailing` | string | non-empty fields after the known ones |
//!
//! # User activity log (`redshift_user_activity`)
//!
//! `'2020-12-08T22:00:03Z UTC [ db=dev user=rdsdb pid=685 userid=1 xid=245578 ]' LOG: <sql>` —
//! the SQL keeps its newlines, so one record spans lines (see below).
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `timestamp` | timestamp | the quoted time |
//! | `db` | string | database |
//! | `user` | string | user |
//! | `pid` | integer | process id |
//! | `userid` | integer | user id |
//! | `xid` | integer | transaction id |
//! | `query` | string | the SQL text after `LOG: `, newlines kept |
//! | *other `key=value`* | string | any further key printed in the brackets, under its own name |
//!
//! `aws.log_type` is `redshift_connection`, `redshift_user` or `redshift_user_activity`.
//!
//! # Feeding the user activity log
//!
//! Line-framed input is joined into records before parsing: the registry entry's `record_start`
//! ([`is_user_activity_start`], a line opening with `'YYYY-`) tells the `aws_parse` transform
//! where a record begins, and it joins the lines of each stream (object, file) up to the next
//! start, handing out the last one when the stream goes idle or ends. CloudWatch Logs delivery
//! already has one record per log event: those are parsed directly.

use bytes::Bytes;
use chrono::{DateTime, NaiveDate, Utc};
use vrl::value::{KeyString, ObjectMap, Value};

use crate::formats::json_reader::value::slice_or_copy;
use crate::formats::rds::parse_datetime_prefix;
use crate::formats::{set_log_type, ParseError, RecordParser};

/// `aws.log_type` of the connection log.
pub const CONNECTION_LOG_TYPE: &str = "redshift_connection";
/// `aws.log_type` of the user log.
pub const USER_LOG_TYPE: &str = "redshift_user";
/// `aws.log_type` of the user activity log.
pub const USER_ACTIVITY_LOG_TYPE: &str = "redshift_user_activity";

mod ecs;
mod ocsf;

/// `metadata.product.name` of Redshift audit logs.
const PRODUCT: &str = "Amazon Redshift";

/// ECS `aws.redshift_connection` and OCSF Authentication (see [`ecs`] and [`ocsf`]).
pub const CONNECTION_MAPPINGS: crate::normalize::Mappings = crate::normalize::Mappings {
    ecs: crate::normalize::EcsMapping {
        dataset: "aws.redshift_connection",
        native_path: "aws.redshift",
        map: Some(ecs::connection),
    },
    ocsf: crate::normalize::OcsfMapping {
        product: PRODUCT,
        map: Some(ocsf::connection),
        classes: "Authentication 3002; Base Event 0 (records without a user)",
    },
};

/// ECS `aws.redshift_user` and OCSF Account Change (see [`ecs`] and [`ocsf`]).
pub const USER_MAPPINGS: crate::normalize::Mappings = crate::normalize::Mappings {
    ecs: crate::normalize::EcsMapping {
        dataset: "aws.redshift_user",
        native_path: "aws.redshift",
        map: Some(ecs::user),
    },
    ocsf: crate::normalize::OcsfMapping {
        product: PRODUCT,
        map: Some(ocsf::user),
        classes: "Account Change 3001",
    },
};

/// ECS `aws.redshift_user_activity` and OCSF Base Event (see [`ecs`] and [`ocsf`]).
pub const USER_ACTIVITY_MAPPINGS: crate::normalize::Mappings = crate::normalize::Mappings {
    ecs: crate::normalize::EcsMapping {
        dataset: "aws.redshift_user_activity",
        native_path: "aws.redshift",
        map: Some(ecs::user_activity),
    },
    ocsf: crate::normalize::OcsfMapping {
        product: PRODUCT,
        map: Some(ocsf::user_activity),
        classes: "Base Event 0 (Datastore Activity needs the client, which the log does not name)",
    },
};

/// A connection log record's `event`, as STL_CONNECTION_LOG names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ConnectionEvent {
    /// `authenticated`: a login succeeded.
    Authenticated,
    /// `authentication failure`: a login was refused.
    AuthenticationFailure,
    /// `initiating session`: the authenticated connection's session starts.
    InitiatingSession,
    /// `disconnecting session`: the session ends.
    DisconnectingSession,
    /// Any other event (`Set application name`, …).
    Other,
}

impl ConnectionEvent {
    /// The event of a parsed connection log record.
    fn of(native: &impl crate::normalize::fields::Lookup) -> Self {
        match crate::normalize::fields::get_str(native, "event") {
            Some("authenticated") => Self::Authenticated,
            Some("authentication failure") => Self::AuthenticationFailure,
            Some("initiating session") => Self::InitiatingSession,
            Some("disconnecting session") => Self::DisconnectingSession,
            _ => Self::Other,
        }
    }
}

/// A user log record's `action`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum UserAction {
    /// `create`: a user was created.
    Create,
    /// `drop`: a user was dropped.
    Drop,
    /// `rename`: a user was renamed (`oldusername` is the name before).
    Rename,
    /// `alter` (properties changed: which, the log does not say) or anything else.
    Alter,
}

impl UserAction {
    /// The action of a parsed user log record.
    fn of(native: &impl crate::normalize::fields::Lookup) -> Self {
        match crate::normalize::fields::get_str(native, "action") {
            Some("create") => Self::Create,
            Some("drop") => Self::Drop,
            Some("rename") => Self::Rename,
            _ => Self::Alter,
        }
    }
}

/// Takes the integer id at `from` (`userid`) as text, the type ECS's and OCSF's user ids have.
fn take_id(native: &mut weir_core::fields::Fields, from: &str) -> Option<vrl::value::Value> {
    use crate::normalize::fields::{get_int, take_int, text};
    let id = get_int(native, from)?;
    take_int(native, from);
    Some(text(&id.to_string()))
}

/// True for the first line of a user activity record: `'` followed by a four-digit year and `-`.
pub fn is_user_activity_start(line: &[u8]) -> bool {
    matches!(line, [b'\'', y1, y2, y3, y4, b'-', ..] if [y1, y2, y3, y4].iter().all(|x| x.is_ascii_digit()))
}

fn month_number(m: &[u8]) -> Option<u32> {
    const MONTHS: [&[u8]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    MONTHS
        .iter()
        .position(|x| x.eq_ignore_ascii_case(m))
        .and_then(|i| u32::try_from(i + 1).ok())
}

fn num(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 9 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// Parses a Redshift `recordtime` such as `Mon, 7 Dec 2020 20:01:55:177` (UTC; the weekday and
/// the milliseconds are optional; `.` is accepted before the milliseconds too).
pub fn parse_recordtime(s: &[u8]) -> Option<DateTime<Utc>> {
    let s = s.trim_ascii();
    let s = match memchr::memchr(b',', s) {
        Some(p) => s.get(p + 1..)?.trim_ascii_start(),
        None => s,
    };
    let mut parts = s.split(|b| *b == b' ').filter(|p| !p.is_empty());
    let day = num(parts.next()?)?;
    let month = month_number(parts.next()?)?;
    let year = num(parts.next()?)?;
    let time = parts.next()?;
    if parts.next().is_some() {
        return None;
    }
    let mut t = time.split(|b| *b == b':' || *b == b'.');
    let h = num(t.next()?)?;
    let m = num(t.next()?)?;
    let sec = num(t.next()?)?;
    let millis = match t.next() {
        Some(ms) if ms.len() <= 3 => num(ms)? * 10u32.pow(3 - u32::try_from(ms.len()).ok()?),
        Some(_) => return None,
        None => 0,
    };
    if t.next().is_some() {
        return None;
    }
    NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?
        .and_hms_milli_opt(h, m, sec, millis)
        .map(|t| t.and_utc())
}

#[derive(Clone, Copy)]
enum Kind {
    Str,
    Int,
    /// Integer if it parses as one, else the text.
    IntOrStr,
    Time,
}

/// Parses a `|`-separated record against `(name, kind)` columns.
fn parse_pipe(
    format: &'static str,
    columns: &[(&'static str, Kind)],
    record: &Bytes,
    map: &mut ObjectMap,
) -> Result<(), ParseError> {
    let text = record.strip_suffix(b"\n").unwrap_or(record);
    let text = text.strip_suffix(b"\r").unwrap_or(text);
    let mut pos = 0usize;
    let mut trailing: Vec<u8> = Vec::new();
    for (i, raw) in text.split(|b| *b == b'|').enumerate() {
        let start = pos;
        pos += raw.len() + 1;
        let value = raw.trim_ascii();
        let Some(&(name, kind)) = columns.get(i) else {
            if !value.is_empty() {
                if !trailing.is_empty() {
                    trailing.push(b'|');
                }
                trailing.extend_from_slice(value);
            }
            continue;
        };
        if value.is_empty() {
            continue;
        }
        let v = match kind {
            Kind::Str => Value::Bytes(slice_or_copy(record, value)),
            Kind::Int => Value::Integer(
                std::str::from_utf8(value)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| ParseError::new(format, name, start, "not an integer"))?,
            ),
            Kind::IntOrStr => match std::str::from_utf8(value).ok().and_then(|s| s.parse().ok()) {
                Some(i) => Value::Integer(i),
                None => Value::Bytes(slice_or_copy(record, value)),
            },
            Kind::Time => {
                let t = parse_recordtime(value).ok_or_else(|| {
                    ParseError::new(
                        format,
                        name,
                        start,
                        "expected a time like `Mon, 7 Dec 2020 20:01:55:177`",
                    )
                })?;
                map.insert(KeyString::from("timestamp"), Value::Timestamp(t));
                continue;
            }
        };
        map.insert(KeyString::from(name), v);
    }
    if !trailing.is_empty() {
        map.insert(
            KeyString::from("unparsed_trailing"),
            Value::Bytes(Bytes::from(trailing)),
        );
    }
    Ok(())
}

const CONNECTION_COLUMNS: &[(&str, Kind)] = &[
    ("event", Kind::Str),
    ("recordtime", Kind::Time),
    ("remotehost", Kind::Str),
    ("remoteport", Kind::Int),
    ("pid", Kind::Int),
    ("dbname", Kind::Str),
    ("username", Kind::Str),
    ("authmethod", Kind::Str),
    ("duration", Kind::Int),
    ("sslversion", Kind::Str),
    ("sslcipher", Kind::Str),
    ("mtu", Kind::Int),
    ("sslcompression", Kind::Str),
    ("sslexpansion", Kind::Str),
    ("iamauthguid", Kind::Str),
    ("application_name", Kind::Str),
    ("os_version", Kind::Str),
    ("driver_version", Kind::Str),
    ("plugin_name", Kind::Str),
    ("protocol_version", Kind::Int),
    ("sessionid", Kind::Str),
    ("compression", Kind::Str),
];

const USER_COLUMNS: &[(&str, Kind)] = &[
    ("userid", Kind::Int),
    ("username", Kind::Str),
    ("oldusername", Kind::Str),
    ("action", Kind::Str),
    ("usecreatedb", Kind::Int),
    ("usesuper", Kind::Int),
    ("usecatupd", Kind::Int),
    ("valuntil", Kind::IntOrStr),
    ("pid", Kind::Int),
    ("xid", Kind::Int),
    ("recordtime", Kind::Time),
];

/// Parser for the connection log; see the [module docs](self).
#[derive(Clone, Debug, Default)]
pub struct RedshiftConnectionParser;

impl RecordParser for RedshiftConnectionParser {
    fn log_type(&self) -> &'static str {
        CONNECTION_LOG_TYPE
    }

    fn parse(&mut self, record: &Bytes, out: &mut Vec<ObjectMap>) -> Result<(), ParseError> {
        let mut map = ObjectMap::new();
        parse_pipe(CONNECTION_LOG_TYPE, CONNECTION_COLUMNS, record, &mut map)?;
        if !map.contains_key("event") {
            return Err(ParseError::new(
                CONNECTION_LOG_TYPE,
                "event",
                0,
                "empty event",
            ));
        }
        if !map.contains_key("timestamp") {
            let at = memchr::memchr(b'|', record).unwrap_or(record.len());
            return Err(ParseError::new(
                CONNECTION_LOG_TYPE,
                "recordtime",
                at,
                "missing recordtime",
            ));
        }
        set_log_type(&mut map, CONNECTION_LOG_TYPE);
        out.push(map);
        Ok(())
    }
}

/// Parser for the user log; see the [module docs](self).
#[derive(Clone, Debug, Default)]
pub struct RedshiftUserParser;

impl RecordParser for RedshiftUserParser {
    fn log_type(&self) -> &'static str {
        USER_LOG_TYPE
    }

    fn parse(&mut self, record: &Bytes, out: &mut Vec<ObjectMap>) -> Result<(), ParseError> {
        let mut map = ObjectMap::new();
        parse_pipe(USER_LOG_TYPE, USER_COLUMNS, record, &mut map)?;
        if !map.contains_key("userid") {
            return Err(ParseError::new(
                USER_LOG_TYPE,
                "userid",
                0,
                "missing userid",
            ));
        }
        set_log_type(&mut map, USER_LOG_TYPE);
        out.push(map);
        Ok(())
    }
}

/// Parser for user activity log records (lines joined by `aws_parse`, see the module docs); see the
/// [module docs](self).
#[derive(Clone, Debug, Default)]
pub struct RedshiftUserActivityParser;

impl RecordParser for RedshiftUserActivityParser {
    fn log_type(&self) -> &'static str {
        USER_ACTIVITY_LOG_TYPE
    }

    fn parse(&mut self, record: &Bytes, out: &mut Vec<ObjectMap>) -> Result<(), ParseError> {
        const F: &str = USER_ACTIVITY_LOG_TYPE;
        let mut text: &[u8] = record;
        while let Some((b'\n' | b'\r', rest)) = text.split_last() {
            text = rest;
        }
        let err = |field: &'static str, at: usize, msg: &str| ParseError::new(F, field, at, msg);
        if text.first() != Some(&b'\'') {
            return Err(err("timestamp", 0, "record does not start with `'`"));
        }
        let (ts, n) = parse_datetime_prefix(text.get(1..).unwrap_or_default())
            .ok_or_else(|| err("timestamp", 1, "expected `'YYYY-MM-DDTHH:MM:SSZ`"))?;
        let mut pos = 1 + n;
        if text.get(pos..).is_some_and(|r| r.starts_with(b" UTC")) {
            pos += 4;
        }
        while text.get(pos) == Some(&b' ') {
            pos += 1;
        }
        if text.get(pos) != Some(&b'[') {
            return Err(err("db", pos, "expected `[ db=... ]`"));
        }
        let close = text
            .get(pos..)
            .and_then(|r| memchr::memmem::find(r, b"]'"))
            .map(|p| p + pos)
            .ok_or_else(|| err("db", pos, "expected `]'` closing the context"))?;
        let mut map = ObjectMap::new();
        map.insert(KeyString::from("timestamp"), Value::Timestamp(ts));
        let ctx_start = pos + 1;
        let mut tok_pos = ctx_start;
        for tok in text
            .get(ctx_start..close)
            .unwrap_or_default()
            .split(|b| *b == b' ')
        {
            let at = tok_pos;
            tok_pos += tok.len() + 1;
            if tok.is_empty() {
                continue;
            }
            let Some(eq) = memchr::memchr(b'=', tok) else {
                return Err(err("db", at, "expected `key=value` in the context"));
            };
            let (k, v) = (
                tok.get(..eq).unwrap_or_default(),
                tok.get(eq + 1..).unwrap_or_default(),
            );
            let Ok(key) = std::str::from_utf8(k) else {
                return Err(err("db", at, "context key is not UTF-8"));
            };
            if v.is_empty() || key.is_empty() {
                continue;
            }
            let value = match key {
                "pid" | "userid" | "xid" => Value::Integer(
                    std::str::from_utf8(v)
                        .ok()
                        .and_then(|s| s.parse().ok())
                        .ok_or_else(|| {
                            ParseError::new(F, key.to_owned(), at + eq + 1, "not an integer")
                        })?,
                ),
                _ => Value::Bytes(slice_or_copy(record, v)),
            };
            map.insert(KeyString::from(key), value);
        }
        pos = close + 2;
        while text.get(pos) == Some(&b' ') {
            pos += 1;
        }
        let Some(rest) = text.get(pos..).filter(|r| r.starts_with(b"LOG:")) else {
            return Err(err("query", pos, "expected `LOG:`"));
        };
        let mut q = 4;
        if rest.get(q) == Some(&b' ') {
            q += 1;
        }
        let query = rest.get(q..).unwrap_or_default();
        map.insert(
            KeyString::from("query"),
            Value::Bytes(slice_or_copy(record, query)),
        );
        set_log_type(&mut map, F);
        out.push(map);
        Ok(())
    }
}

/// Registry content check: a user activity record opens with `'YYYY-`.
pub fn detect_user_activity(head: &[u8]) -> bool {
    head.first() == Some(&b'\'')
        && std::str::from_utf8(head.get(1..6).unwrap_or(b""))
            .is_ok_and(|t| crate::formats::detect::shape(t, "dddd-"))
}

/// The first `|`-separated field of a line with at least ten `|`, the shape of the user and
/// connection logs.
fn first_piped_field(head: &[u8]) -> Option<&[u8]> {
    (memchr::memchr_iter(b'|', head).count() >= 10)
        .then(|| head.split(|b| *b == b'|').next().unwrap_or(b""))
}

/// Registry content check: a user log line (`|`-separated, opening with a number).
pub fn detect_user(head: &[u8]) -> bool {
    first_piped_field(head).is_some_and(|f| !f.is_empty() && f.iter().all(u8::is_ascii_digit))
}

/// Registry content check: a connection log line (`|`-separated, opening with the event name).
pub fn detect_connection(head: &[u8]) -> bool {
    first_piped_field(head).is_some_and(|f| {
        f.iter()
            .all(|b| b.is_ascii_alphabetic() || *b == b' ' || *b == b'_')
    })
}

#[cfg(test)]
mod tests;
