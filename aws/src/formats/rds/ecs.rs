//! RDS logs in ECS (`aws.rds_postgresql`, `aws.rds_mysql`; native fields under `aws.rds.*`).
//! ECS 9.4 has no `db.*` field set: database and user names of a session go where ECS puts
//! them for any service (`user.name`), the database name stays native.
//!
//! **PostgreSQL**: `log.level` ← `error_severity`; `message` ← `message`; `process.pid` ←
//! `process_id` (the backend serving the session); `user.name` ← `user_name` (not PostgreSQL's
//! `[unknown]` of a connection not yet authenticated); `source.{address, ip, port}` ←
//! `remote_host`, `remote_port` (see [`source`]); `related.{ip, user}`. `event.category` /
//! `event.type` by what the line reports ([`PgEntry`]): a login authorized or refused
//! `authentication`/`start` (outcome success / failure), a disconnection `session`/`end`, a
//! statement `database`/`access`, other lines `database`/`info`, or `error` for the levels that
//! report a failure (`ERROR`, `FATAL`, `PANIC`: outcome failure). `event.duration` ← the
//! milliseconds of a `duration: … ms` message, in nanoseconds (a copy: the message stays whole).
//!
//! **MySQL error log**: `log.level` ← `priority`; `message` ← `message`; `event.code` ←
//! `error_code` (`MY-010116`); `event.provider` ← `subsystem` (`Server`, `InnoDB`: the part of
//! the server that wrote the line); `event.{category: [database], type: [info] or [error]}`
//! (`ERROR` lines). `thread_id` stays native: it is MySQL's connection id, not an OS thread.
//!
//! A `geoip` transform's result (`remote_host_geo`) lands in `source.{geo, as}`
//! ([`geo`](crate::normalize::ecs::geo)).

use vrl::value::Value;
use weir_core::fields::Fields;
use weir_core::path_record::PathRecordBuilder;

use super::{is_error_level, known, statement_duration_ms, PgEntry};
use crate::normalize::ecs::{geo, keywords, related_ip, related_user, SOURCE_GEO};
use crate::normalize::fields::{
    copy_to, get, get_str, is_ip, move_int, move_str, put, static_text,
};

/// PostgreSQL; see the [module docs](self).
pub(crate) fn postgresql(native: &mut Fields, out: &mut PathRecordBuilder) {
    let entry = PgEntry::of(native);
    let failed = is_error_level(native, "error_severity");
    let (category, kind, outcome) = match entry {
        PgEntry::Authorized => ("authentication", "start", Some("success")),
        PgEntry::Refused => ("authentication", "start", Some("failure")),
        PgEntry::Disconnection => ("session", "end", Some("success")),
        _ if failed => ("database", "error", Some("failure")),
        PgEntry::Statement => ("database", "access", None),
        PgEntry::Other => ("database", "info", None),
    };
    put(out, "event.category", keywords(&[category]));
    put(out, "event.type", keywords(&[kind]));
    if let Some(outcome) = outcome {
        put(out, "event.outcome", static_text(outcome));
    }
    if let Some(millis) = statement_duration_ms(native) {
        let nanos = (millis * 1_000_000.0).round() as i64;
        put(out, "event.duration", Value::Integer(nanos));
    }
    move_str(native, "error_severity", out, "log.level");
    move_str(native, "message", out, "message");
    move_int(native, "process_id", out, "process.pid");
    if known(native, "user_name").is_some() {
        related_user(out, get(native, "user_name"));
        move_str(native, "user_name", out, "user.name");
    }
    source(
        native,
        ["remote_host", "remote_port", "remote_host_geo"],
        out,
    );
}

/// MySQL error log; see the [module docs](self).
pub(crate) fn mysql(native: &mut Fields, out: &mut PathRecordBuilder) {
    let kind = if is_error_level(native, "priority") {
        "error"
    } else {
        "info"
    };
    put(out, "event.category", keywords(&["database"]));
    put(out, "event.type", keywords(&[kind]));
    move_str(native, "priority", out, "log.level");
    move_str(native, "message", out, "message");
    move_str(native, "error_code", out, "event.code");
    move_str(native, "subsystem", out, "event.provider");
}

/// `source.address` ← a database client's host as logged (an address, a host name, or
/// `[local]` for the server's Unix socket, which ECS asks to keep raw in `.address` too), and
/// `source.ip` and `related.ip` when it is an address; `source.port` ← the port. `[host, port]`
/// name the native fields (PostgreSQL's `remote_host`, Redshift's `remotehost`); `host_geo` is
/// where a `geoip` transform wrote what it found for the host (`source.geo`, `source.as`).
pub(crate) fn source(
    native: &mut Fields,
    [host, port, host_geo]: [&str; 3],
    out: &mut PathRecordBuilder,
) {
    if get_str(native, host).is_some_and(is_ip) {
        related_ip(out, get(native, host));
        copy_to(native, host, out, "source.ip");
    }
    move_str(native, host, out, "source.address");
    move_int(native, port, out, "source.port");
    geo(native, host_geo, out, &SOURCE_GEO);
}
