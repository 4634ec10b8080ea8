//! Lambda logs in OCSF. Security Lake has no mapping for them (it takes Lambda's data events
//! from CloudTrail), so the classes are chosen by what each line reports:
//!
//! * **Platform lines** (`type` `platform.*`) report the lifecycle of the function's execution
//!   environment and invocations: Application Lifecycle 6002. `activity_id` 3 Start for
//!   `platform.initStart` (an environment starts) and `platform.start` (an invocation starts);
//!   4 Stop for `platform.end` and `platform.runtimeDone`; 99 Other for the reports
//!   (`platform.report`, `platform.initReport`: a summary of a phase that ended, not a start or
//!   stop of their own) and the other platform events. `app` (required) is AWS Lambda, vendor
//!   AWS: the platform these lines come from. OCSF's `product` needs a vendor, and a function's
//!   (its owner's) is in no log, so the function is not named as the app: its name, version and
//!   the runtime versions stay in `unmapped`. `metadata.event_code` ← `type`; `duration` ←
//!   `duration_ms` (an init report's `init_duration_ms`) in whole milliseconds, a copy (the
//!   fraction stays native); `status_code` ← `status` (`success`, `error`, `timeout`), with
//!   `status_id` success only for `success`; `status_detail` ← `error_type`.
//! * **Function output** (`type` `function`): a log line, not an activity OCSF has a class for:
//!   Base Event 0, `activity_id` 99 Other; `message` ← `message` (when text: a JSON record's
//!   object message stays in `unmapped`), `metadata.log_level` ← `level`, and `severity_id`
//!   from it ([`severity_of_level`]).
//!
//! Both: `metadata.correlation_uid` ← `request_id` (every line of one invocation shares it).
//! Memory sizes, billed durations, X-Ray ids and the JSON `record` stay in `unmapped`.

use vrl::value::Value;
use weir_core::fields::Fields;
use weir_core::path_record::PathRecordBuilder;

use super::{duration_ms, event_type, PRODUCT};
use crate::normalize::fields::{get_str, move_str, put, static_text};
use crate::normalize::ocsf::{
    set_class, set_severity, set_status, severity_of_level, OcsfClass, ACTIVITY_OTHER, VENDOR,
};

/// Application Lifecycle's `activity_id` 3 Start.
const START: i64 = 3;
/// Application Lifecycle's `activity_id` 4 Stop.
const STOP: i64 = 4;

/// See the [module docs](self).
pub(crate) fn map(native: &mut Fields, out: &mut PathRecordBuilder) {
    match get_str(native, "type").and_then(lifecycle_activity) {
        Some(activity) => platform(native, out, activity),
        None => {
            set_class(out, OcsfClass::BaseEvent, ACTIVITY_OTHER);
            if let Some(severity) = get_str(native, "level").and_then(severity_of_level) {
                set_severity(out, severity);
            }
            move_str(native, "level", out, "metadata.log_level");
            move_str(native, "message", out, "message");
        }
    }
    move_str(native, "request_id", out, "metadata.correlation_uid");
}

/// Application Lifecycle's activity of a platform event type; `None` for application output.
fn lifecycle_activity(kind: &str) -> Option<i64> {
    Some(match kind {
        event_type::INIT_START | event_type::START => START,
        event_type::END | event_type::RUNTIME_DONE => STOP,
        k if k.starts_with(event_type::PLATFORM_PREFIX) => ACTIVITY_OTHER,
        _ => return None,
    })
}

/// A platform line: Application Lifecycle of AWS Lambda's execution of the function.
fn platform(native: &mut Fields, out: &mut PathRecordBuilder, activity: i64) {
    set_class(out, OcsfClass::ApplicationLifecycle, activity);
    put(out, "app.name", static_text(PRODUCT));
    put(out, "app.vendor_name", static_text(VENDOR));
    if let Some(millis) = duration_ms(native) {
        put(out, "duration", Value::Integer(millis.round() as i64));
    }
    move_str(native, "type", out, "metadata.event_code");
    if let Some(status) = get_str(native, "status") {
        set_status(out, status == "success");
    }
    move_str(native, "status", out, "status_code");
    move_str(native, "error_type", out, "status_detail");
}
