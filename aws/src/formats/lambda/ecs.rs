//! Lambda logs in ECS (`aws.lambda_logs`), in ECS's `faas` field set, which describes exactly
//! this: a function and one execution of it.
//!
//! `faas.execution` ← `request_id` (the invocation); `faas.version` ← `version` (`START`);
//! `faas.name` copies the function's name from `record.functionName` (JSON `platform.initStart`)
//! or from the record's origin (`aws.resource.name` of a `function`, the log group's
//! `/aws/lambda/<function>`), both left in place; `faas.coldstart` on a `REPORT`: true when it
//! has an init or restore duration (Lambda reports one only for the invocation that started an
//! execution environment), else false. `event.action` ← the platform line's `type`
//! (`platform.start`, …; application output keeps its `type` `function` native);
//! `event.duration` ← `duration_ms` (or `init_duration_ms` of an init report) in nanoseconds,
//! a copy; `event.outcome` from `status` (`success`, else failure; the status stays native);
//! `error.type` ← `error_type`; `log.level` ← `level`; `message` ← `message` (when text);
//! `trace.id`, `span.id` ← the X-Ray trace and segment ids. No `event.category`: ECS has none
//! for a function's own lifecycle or output. Memory sizes, billed durations, runtime versions,
//! `xray_sampled` and the JSON `record` stay under `aws.lambda.*`.

use vrl::value::Value;
use weir_core::fields::Fields;
use weir_core::path_record::PathRecordBuilder;

use super::{duration_ms, event_type};
use crate::context::resource_type;
use crate::normalize::fields::{copy_to, get, get_str, move_str, put, static_text};

/// See the [module docs](self).
pub(crate) fn map(native: &mut Fields, out: &mut PathRecordBuilder) {
    let kind = get_str(native, "type");
    let report = kind == Some(event_type::REPORT);
    if kind.is_some_and(|t| t.starts_with(event_type::PLATFORM_PREFIX)) {
        move_str(native, "type", out, "event.action");
    }
    if let Some(millis) = duration_ms(native) {
        // Whole nanoseconds: the milliseconds Lambda logs have at most two decimals.
        let nanos = (millis * 1_000_000.0).round() as i64;
        put(out, "event.duration", Value::Integer(nanos));
    }
    if let Some(status) = get_str(native, "status") {
        let outcome = if status == "success" {
            "success"
        } else {
            "failure"
        };
        put(out, "event.outcome", static_text(outcome));
    }
    move_str(native, "error_type", out, "error.type");

    move_str(native, "request_id", out, "faas.execution");
    move_str(native, "version", out, "faas.version");
    if get_str(native, "record.functionName").is_some() {
        copy_to(native, "record.functionName", out, "faas.name");
    } else if get_str(native, "aws.resource.type") == Some(resource_type::FUNCTION) {
        copy_to(native, "aws.resource.name", out, "faas.name");
    }
    if report {
        let cold = get(native, "init_duration_ms").is_some()
            || get(native, "restore_duration_ms").is_some();
        put(out, "faas.coldstart", Value::Boolean(cold));
    }

    move_str(native, "level", out, "log.level");
    move_str(native, "message", out, "message");
    move_str(native, "xray_trace_id", out, "trace.id");
    move_str(native, "xray_segment_id", out, "span.id");
}
