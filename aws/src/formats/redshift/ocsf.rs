//! Redshift audit logs in OCSF. Security Lake has no Redshift source; each log gets the class
//! of what its records report, where they have what the class requires. Every record:
//! `metadata.log_name` is the log's name in Redshift (`connectionlog`, `userlog`,
//! `useractivitylog`).
//!
//! **Connection log** → Authentication 3002, by `event` ([`ConnectionEvent`]): `authenticated`
//! and `initiating session` are `activity_id` 1 Logon (success), `authentication failure` 1
//! Logon (failure), `disconnecting session` 2 Logoff (success), others 99 Other (no status).
//! `metadata.event_code` ← `event`; `user.name` ← `username` (required: a record without one
//! is a Base Event 0 with the rest in `unmapped`); `service.name` ← `dbname`, the database the
//! connection logs on to (Redshift authenticates per database), or `Amazon Redshift` when the
//! record names none (the class needs a service or a destination endpoint);
//! `logon_process.pid` ← `pid` (the process that checked the credentials); `session.uid` ←
//! `sessionid`; `auth_protocol` ← `authmethod` (`password`, `Ident`, `IAM`, …) with
//! `auth_protocol_id` 99 Other, since OCSF lists none of Redshift's methods;
//! `src_endpoint.{ip, port}` ← `remotehost`, `remoteport`, and `is_remote` false for
//! `[local]` (see [`src_endpoint`]); `duration` ← `duration` (microseconds) in whole
//! milliseconds on a disconnection, a copy. Authentication has no `tls`: TLS version and
//! cipher, application, driver, OS and MTU stay in `unmapped`.
//!
//! **User log** → Account Change 3001: `activity_id` 1 Create (`create`), 6 Delete (`drop`), 99
//! Other (`alter`, whose change the log does not say, and `rename`); `metadata.event_code` ←
//! `action`; `user.{name, uid}` ← `username`, `userid` (after a rename, the new name: the old
//! one stays in `unmapped`); `user.type_id` 2 Admin when `usesuper` is 1, else 1 User (a copy).
//! The log does not say who made the change (no `actor`); `pid`, `xid` and the other flags stay
//! in `unmapped`.
//!
//! **User activity log** → Base Event 0, `activity_id` 99 Other, `message` ← `query`: a record
//! is a statement run, what Datastore Activity 6005 is for, but that class requires the source
//! endpoint, and the log names no client (the connection log has it, under the same `pid`).
//! `db`, `user`, `userid`, `pid` and `xid` stay in `unmapped`.

use vrl::value::Value;
use weir_core::fields::Fields;
use weir_core::path_record::PathRecordBuilder;

use super::{take_id, ConnectionEvent, UserAction, PRODUCT};
use crate::formats::rds::ocsf::{is_remote, src_endpoint, LOGOFF, LOGON};
use crate::normalize::fields::{
    get, get_int, get_str, move_int, move_str, put, put_some, static_text,
};
use crate::normalize::ocsf::{set_class, set_status, OcsfClass, ACTIVITY_OTHER};

/// Account Change's `activity_id` 1 Create.
const CREATE: i64 = 1;
/// Account Change's `activity_id` 6 Delete.
const DELETE: i64 = 6;
/// `user.type_id` 1 User.
const USER: i64 = 1;
/// `user.type_id` 2 Admin.
const ADMIN: i64 = 2;
/// `auth_protocol_id` 99 Other.
const AUTH_PROTOCOL_OTHER: i64 = 99;

/// The connection log; see the [module docs](self).
pub(crate) fn connection(native: &mut Fields, out: &mut PathRecordBuilder) {
    put(out, "metadata.log_name", static_text("connectionlog"));
    let event = ConnectionEvent::of(native);
    move_str(native, "event", out, "metadata.event_code");
    if get_str(native, "username").is_none() {
        set_class(out, OcsfClass::BaseEvent, ACTIVITY_OTHER);
        return;
    }
    let (activity, success) = match event {
        ConnectionEvent::Authenticated | ConnectionEvent::InitiatingSession => (LOGON, Some(true)),
        ConnectionEvent::AuthenticationFailure => (LOGON, Some(false)),
        ConnectionEvent::DisconnectingSession => (LOGOFF, Some(true)),
        ConnectionEvent::Other => (ACTIVITY_OTHER, None),
    };
    set_class(out, OcsfClass::Authentication, activity);
    if let Some(success) = success {
        set_status(out, success);
    }
    move_str(native, "username", out, "user.name");
    if get_str(native, "dbname").is_some() {
        move_str(native, "dbname", out, "service.name");
    } else {
        put(out, "service.name", static_text(PRODUCT));
    }
    move_int(native, "pid", out, "logon_process.pid");
    move_str(native, "sessionid", out, "session.uid");
    if get_str(native, "authmethod").is_some() {
        put(out, "auth_protocol_id", Value::Integer(AUTH_PROTOCOL_OTHER));
        move_str(native, "authmethod", out, "auth_protocol");
    }
    if let Some(remote) = is_remote(native, "remotehost") {
        put(out, "is_remote", Value::Boolean(remote));
    }
    src_endpoint(native, ["remotehost", "remoteport"], out);
    if event == ConnectionEvent::DisconnectingSession {
        if let Some(micros) = get_int(native, "duration") {
            put(
                out,
                "duration",
                Value::Integer(micros.saturating_add(500) / 1000),
            );
        }
    }
}

/// The user log; see the [module docs](self).
pub(crate) fn user(native: &mut Fields, out: &mut PathRecordBuilder) {
    put(out, "metadata.log_name", static_text("userlog"));
    let activity = match UserAction::of(native) {
        UserAction::Create => CREATE,
        UserAction::Drop => DELETE,
        UserAction::Rename | UserAction::Alter => ACTIVITY_OTHER,
    };
    set_class(out, OcsfClass::AccountChange, activity);
    move_str(native, "action", out, "metadata.event_code");
    move_str(native, "username", out, "user.name");
    put_some(out, "user.uid", take_id(native, "userid"));
    let kind = match get(native, "usesuper") {
        Some(Value::Integer(1)) => Some((ADMIN, "Admin")),
        Some(Value::Integer(0)) => Some((USER, "User")),
        _ => None,
    };
    if let Some((id, name)) = kind {
        put(out, "user.type_id", Value::Integer(id));
        put(out, "user.type", static_text(name));
    }
}

/// The user activity log; see the [module docs](self).
pub(crate) fn user_activity(native: &mut Fields, out: &mut PathRecordBuilder) {
    put(out, "metadata.log_name", static_text("useractivitylog"));
    set_class(out, OcsfClass::BaseEvent, ACTIVITY_OTHER);
    move_str(native, "query", out, "message");
}
