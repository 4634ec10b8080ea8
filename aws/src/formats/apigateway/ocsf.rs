//! API Gateway execution logs in OCSF: Base Event 0, `activity_id` 99 Other.
//!
//! A record is one step of one request's execution (`HTTP Method: GET, Resource Path: /pets`,
//! `Method completed with status: 200`, `Endpoint request URI: …`), not the request: HTTP
//! Activity 4002 requires the source and destination endpoints, the request and the response,
//! and no line has more than a method or a status (the request's access log has them all). So
//! each line is a Base Event: `message` ← `message`; `metadata.correlation_uid` ← `request_id`,
//! which every step of the request shares; on a `Method completed with status: …` line
//! `status_code` ← `status` and `status_id` success below 400. The method, resource path and
//! extended request id stay in `unmapped`.

use weir_core::fields::Fields;
use weir_core::path_record::PathRecordBuilder;

use crate::normalize::fields::{get_int, move_str, put, take_int, text};
use crate::normalize::ocsf::{set_class, set_status, OcsfClass, ACTIVITY_OTHER};

/// See the [module docs](self).
pub(crate) fn map(native: &mut Fields, out: &mut PathRecordBuilder) {
    set_class(out, OcsfClass::BaseEvent, ACTIVITY_OTHER);
    move_str(native, "message", out, "message");
    move_str(native, "request_id", out, "metadata.correlation_uid");
    if let Some(status) = get_int(native, "status") {
        set_status(out, status < 400);
        // `status_code` is text in OCSF; the number is the same.
        take_int(native, "status");
        put(out, "status_code", text(&status.to_string()));
    }
}
