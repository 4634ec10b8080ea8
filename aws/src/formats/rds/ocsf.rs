//! RDS logs in OCSF. Security Lake has no RDS source; the classes are chosen by what a line
//! reports and whether it has what the class requires.
//!
//! **PostgreSQL**, by [`PgEntry`]:
//! * a login authorized (`connection authorized:`) or refused (`password authentication failed
//!   for user …`, `no pg_hba.conf entry …`), a disconnection (`disconnection:`), of a known user:
//!   Authentication 3002, `activity_id` 1 Logon (status success / failure) or 2 Logoff
//!   (success). `user.name` ← `user_name`; `service.name` ← `database_name`, the database the
//!   session logs on to (PostgreSQL authenticates per database), or `Amazon RDS` when the line
//!   names none (the class needs a service or a destination endpoint); `logon_process.pid` ←
//!   `process_id` (the backend that checked the credentials); `is_remote` false for `[local]`
//!   (the server's Unix socket), else true.
//! * any other line of a client session — a known user and database, and a client address or
//!   host name: Datastore Activity 6005, `activity_id` 4 Query for statements (`statement:`,
//!   `execute …:`, `duration:`, `STATEMENT` lines), else 99 Other. `actor.user.name` ←
//!   `user_name`; `database.{name ← database_name, type_id 1 Relational}`. Datastore Activity
//!   requires `src_endpoint`: lines of local sessions, background processes (no user) and
//!   connections not yet authenticated (`[unknown]`) have none, and are Base Events 0 (99
//!   Other). `query_info` is not used: OCSF requires it to have a query id or name, which the
//!   log does not have; the statement is in `message`.
//!
//! Every PostgreSQL line: `message` ← `message`; `metadata.log_level` ← `error_severity`, with
//! `severity_id` from it ([`severity_of_level`]: `LOG` Informational, `ERROR` Medium, `FATAL`
//! and `PANIC` Fatal) and `status_id` failure for `ERROR`, `FATAL`, `PANIC`; `duration` ← the
//! milliseconds of a `duration: … ms` message, rounded (a copy). Authentication and Datastore
//! Activity: `src_endpoint.{ip | hostname, port}` ← `remote_host`, `remote_port`
//! ([`src_endpoint`]; Base Event has no endpoints, they stay in `unmapped`).
//!
//! **MySQL error log**: server diagnostics (startup, InnoDB, replication), which name no client
//! or user: Base Event 0, `activity_id` 99 Other; `message` ← `message`; `metadata.log_level` ←
//! `priority` with `severity_id` from it, `status_id` failure for `ERROR`;
//! `metadata.event_code` ← `error_code` (`MY-010116`); `metadata.log_provider` ← `subsystem`
//! (`Server`, `InnoDB`). `thread_id` stays in `unmapped`.

use vrl::value::Value;
use weir_core::fields::Fields;
use weir_core::path_record::PathRecordBuilder;

use super::{is_error_level, known, statement_duration_ms, PgEntry, LOCAL_HOST, PRODUCT};
use crate::normalize::fields::{get_str, is_ip, move_int, move_str, put, static_text};
use crate::normalize::ocsf::{
    set_class, set_severity, set_status, severity_of_level, OcsfClass, ACTIVITY_OTHER,
};

/// Authentication's `activity_id` 1 Logon.
pub(crate) const LOGON: i64 = 1;
/// Authentication's `activity_id` 2 Logoff.
pub(crate) const LOGOFF: i64 = 2;
/// Datastore Activity's `activity_id` 4 Query.
pub(crate) const QUERY: i64 = 4;
/// `database.type_id` 1 Relational.
pub(crate) const RELATIONAL: i64 = 1;

/// PostgreSQL; see the [module docs](self).
pub(crate) fn postgresql(native: &mut Fields, out: &mut PathRecordBuilder) {
    let entry = PgEntry::of(native);
    let user = known(native, "user_name").is_some();
    let session = user && known(native, "database_name").is_some();
    if entry.is_authentication() && user {
        let (activity, success) = match entry {
            PgEntry::Disconnection => (LOGOFF, true),
            PgEntry::Refused => (LOGON, false),
            _ => (LOGON, true),
        };
        set_class(out, OcsfClass::Authentication, activity);
        set_status(out, success);
        move_str(native, "user_name", out, "user.name");
        if known(native, "database_name").is_some() {
            move_str(native, "database_name", out, "service.name");
        } else {
            put(out, "service.name", static_text(PRODUCT));
        }
        move_int(native, "process_id", out, "logon_process.pid");
        if let Some(remote) = is_remote(native, "remote_host") {
            put(out, "is_remote", Value::Boolean(remote));
        }
        src_endpoint(native, ["remote_host", "remote_port"], out);
    } else if session && has_client(native, "remote_host") {
        let activity = if entry == PgEntry::Statement {
            QUERY
        } else {
            ACTIVITY_OTHER
        };
        set_class(out, OcsfClass::DatastoreActivity, activity);
        move_str(native, "user_name", out, "actor.user.name");
        move_str(native, "database_name", out, "database.name");
        put(out, "database.type_id", Value::Integer(RELATIONAL));
        put(out, "database.type", static_text("Relational"));
        src_endpoint(native, ["remote_host", "remote_port"], out);
    } else {
        set_class(out, OcsfClass::BaseEvent, ACTIVITY_OTHER);
    }
    if is_error_level(native, "error_severity") {
        set_status(out, false);
    }
    level(native, "error_severity", out);
    if let Some(millis) = statement_duration_ms(native) {
        put(out, "duration", Value::Integer(millis.round() as i64));
    }
    move_str(native, "message", out, "message");
}

/// MySQL error log; see the [module docs](self).
pub(crate) fn mysql(native: &mut Fields, out: &mut PathRecordBuilder) {
    set_class(out, OcsfClass::BaseEvent, ACTIVITY_OTHER);
    if is_error_level(native, "priority") {
        set_status(out, false);
    }
    level(native, "priority", out);
    move_str(native, "message", out, "message");
    move_str(native, "error_code", out, "metadata.event_code");
    move_str(native, "subsystem", out, "metadata.log_provider");
}

/// `metadata.log_level` ← the level at `from`, and `severity_id` from it.
fn level(native: &mut Fields, from: &str, out: &mut PathRecordBuilder) {
    if let Some(severity) = get_str(native, from).and_then(severity_of_level) {
        set_severity(out, severity);
    }
    move_str(native, from, out, "metadata.log_level");
}

/// Whether the host at `host` names a network client (an address or a host name): what OCSF's
/// `src_endpoint` can hold. `[local]` (the server's Unix socket) does not.
pub(crate) fn has_client(native: &impl crate::normalize::fields::Lookup, host: &str) -> bool {
    get_str(native, host).is_some_and(|h| !h.is_empty() && h != LOCAL_HOST)
}

/// `is_remote`: false for a connection over the server's Unix socket (`[local]`), true for one
/// from a network client.
pub(crate) fn is_remote(
    native: &impl crate::normalize::fields::Lookup,
    host: &str,
) -> Option<bool> {
    get_str(native, host).map(|h| h != LOCAL_HOST)
}

/// `src_endpoint.ip` (an address) or `src_endpoint.hostname` (a host name, as PostgreSQL logs
/// with `log_hostname`) ← the client host at `host`, and `src_endpoint.port` ← `port`; a local
/// connection's `[local]` stays native (it is no endpoint attribute's value).
pub(crate) fn src_endpoint(
    native: &mut Fields,
    [host, port]: [&str; 2],
    out: &mut PathRecordBuilder,
) {
    if !has_client(native, host) {
        return;
    }
    if get_str(native, host).is_some_and(is_ip) {
        move_str(native, host, out, "src_endpoint.ip");
    } else {
        move_str(native, host, out, "src_endpoint.hostname");
    }
    move_int(native, port, out, "src_endpoint.port");
}
