//! Redshift audit logs in ECS (`aws.redshift_connection`, `aws.redshift_user`,
//! `aws.redshift_user_activity`; native fields under `aws.redshift.*`). ECS 9.4 has no `db.*`
//! field set: database names (`dbname`, `db`) stay native.
//!
//! **Connection log**: by `event` ([`ConnectionEvent`]): `authenticated` and `authentication
//! failure` are `authentication`/`start` (outcome success / failure), `initiating session`
//! `session`/`start`, `disconnecting session` `session`/`end` (success), others
//! `session`/`info`; `event.action` ← `event`; `event.duration` ← `duration` (microseconds) in
//! nanoseconds on a disconnection, a copy (other events log 0); `user.name` ← `username`;
//! `process.pid` ← `pid`; `source.{address, ip, port}` ← `remotehost`, `remoteport` (`[local]`
//! kept raw in `source.address`, see [`source`]); `tls.{version, version_protocol}` from
//! `sslversion` (a copy), `tls.cipher` ← `sslcipher`; `related.{ip, user}`. Authentication
//! method, application, driver, OS, session id and MTU stay native.
//!
//! **User log**: `iam`/`user` with `creation` (`create`), `deletion` (`drop`) or `change`
//! (`alter`, `rename`); `event.action` ← `action`; the user changed is `user.target.{name,
//! id}` ← `username`, `userid` (the log does not say who changed it, so there is no
//! `user.name`); a rename's `user.target.name` ← `oldusername` and `user.changes.name` ←
//! `username`; `process.pid` ← `pid`; `related.user`. The privilege flags, password expiry and
//! `xid` stay native.
//!
//! **User activity log** (one SQL statement per record): `database`/`access`; `message` ←
//! `query`; `user.{name, id}` ← `user`, `userid`; `process.pid` ← `pid`; `related.user`. `db`
//! and `xid` stay native.
//!
//! A `geoip` transform's result (`remotehost_geo`) lands in `source.{geo, as}`
//! ([`geo`](crate::normalize::ecs::geo)).

use vrl::value::Value;
use weir_core::fields::Fields;
use weir_core::path_record::PathRecordBuilder;

use super::{take_id, ConnectionEvent, UserAction};
use crate::formats::rds::ecs::source;
use crate::normalize::ecs::{keywords, related_user, tls_version};
use crate::normalize::fields::{get, get_int, get_str, move_int, move_str, put, put_some, text};

/// The connection log; see the [module docs](self).
pub(crate) fn connection(native: &mut Fields, out: &mut PathRecordBuilder) {
    let event = ConnectionEvent::of(native);
    let (category, kind, outcome) = match event {
        ConnectionEvent::Authenticated => ("authentication", "start", Some("success")),
        ConnectionEvent::AuthenticationFailure => ("authentication", "start", Some("failure")),
        ConnectionEvent::InitiatingSession => ("session", "start", Some("success")),
        ConnectionEvent::DisconnectingSession => ("session", "end", Some("success")),
        ConnectionEvent::Other => ("session", "info", None),
    };
    put(out, "event.category", keywords(&[category]));
    put(out, "event.type", keywords(&[kind]));
    if let Some(outcome) = outcome {
        put(out, "event.outcome", text(outcome));
    }
    if event == ConnectionEvent::DisconnectingSession {
        if let Some(micros) = get_int(native, "duration") {
            put(
                out,
                "event.duration",
                Value::Integer(micros.saturating_mul(1000)),
            );
        }
    }
    move_str(native, "event", out, "event.action");
    related_user(out, get(native, "username"));
    move_str(native, "username", out, "user.name");
    move_int(native, "pid", out, "process.pid");
    source(native, ["remotehost", "remoteport", "remotehost_geo"], out);
    if let Some((version, protocol)) = get_str(native, "sslversion").and_then(tls_version) {
        put(out, "tls.version", text(version));
        put(out, "tls.version_protocol", text(protocol));
    }
    move_str(native, "sslcipher", out, "tls.cipher");
}

/// The user log; see the [module docs](self).
pub(crate) fn user(native: &mut Fields, out: &mut PathRecordBuilder) {
    let action = UserAction::of(native);
    let change = match action {
        UserAction::Create => "creation",
        UserAction::Drop => "deletion",
        UserAction::Rename | UserAction::Alter => "change",
    };
    put(out, "event.category", keywords(&["iam"]));
    put(out, "event.type", keywords(&["user", change]));
    move_str(native, "action", out, "event.action");
    related_user(out, get(native, "username"));
    related_user(out, get(native, "oldusername"));
    if action == UserAction::Rename && get_str(native, "oldusername").is_some() {
        move_str(native, "oldusername", out, "user.target.name");
        move_str(native, "username", out, "user.changes.name");
    } else {
        move_str(native, "username", out, "user.target.name");
    }
    put_some(out, "user.target.id", take_id(native, "userid"));
    move_int(native, "pid", out, "process.pid");
}

/// The user activity log; see the [module docs](self).
pub(crate) fn user_activity(native: &mut Fields, out: &mut PathRecordBuilder) {
    put(out, "event.category", keywords(&["database"]));
    put(out, "event.type", keywords(&["access"]));
    move_str(native, "query", out, "message");
    related_user(out, get(native, "user"));
    move_str(native, "user", out, "user.name");
    put_some(out, "user.id", take_id(native, "userid"));
    move_int(native, "pid", out, "process.pid");
}
