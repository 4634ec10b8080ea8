//! API Gateway execution logs in ECS (`aws.apigateway_logs`). Each record is one step of one
//! request's execution, so `event.{category: [web], type: [info]}`: `http.request.id` ←
//! `request_id` (the request every step of it shares), `message` ← `message`;
//! `http.request.method` ← `http_method` (`HTTP Method: …` lines); `http.response.status_code`
//! ← `status` (`Method completed with status: …`), with `event.outcome` success below 400.
//! `resource_path` stays under `aws.apigateway.*`: it names the API's resource, which may be a
//! template (`/{proxy+}`) rather than the path requested that `url.path` holds, and ECS has no
//! field for a route; so does `extended_request_id`.

use weir_core::fields::Fields;
use weir_core::path_record::PathRecordBuilder;

use crate::normalize::ecs::keywords;
use crate::normalize::fields::{get_int, move_int, move_str, put, static_text};

/// See the [module docs](self).
pub(crate) fn map(native: &mut Fields, out: &mut PathRecordBuilder) {
    put(out, "event.category", keywords(&["web"]));
    put(out, "event.type", keywords(&["info"]));
    if let Some(status) = get_int(native, "status") {
        let outcome = if status < 400 { "success" } else { "failure" };
        put(out, "event.outcome", static_text(outcome));
    }
    move_str(native, "request_id", out, "http.request.id");
    move_str(native, "message", out, "message");
    move_str(native, "http_method", out, "http.request.method");
    move_int(native, "status", out, "http.response.status_code");
}
