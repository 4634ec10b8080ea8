//! Firehose error records in ECS (`aws.firehose_error`): each reports a delivery that failed,
//! so `event.outcome` is failure; `error.code` ← `errorCode` (`HttpEndpoint.DestinationException`,
//! `Splunk.AckTimeout`); `error.message` ← `message` (error log events) or `errorMessage`
//! (failed records); `event.end` ← `attemptEndingTimestamp`, when Firehose stopped retrying (a
//! copy; `@timestamp` is the record's arrival). No `event.category`: ECS has none for a
//! pipeline's delivery. The stream ARN, destination, processor, attempts, raw data and record
//! ids stay under `aws.firehose_error.*`.

use vrl::value::Value;
use weir_core::fields::Fields;
use weir_core::path_record::PathRecordBuilder;

use super::{attempt_end, message_field};
use crate::normalize::fields::{move_str, put, static_text};

/// See the [module docs](self).
pub(crate) fn map(native: &mut Fields, out: &mut PathRecordBuilder) {
    put(out, "event.outcome", static_text("failure"));
    move_str(native, "errorCode", out, "error.code");
    let message = message_field(native);
    move_str(native, message, out, "error.message");
    if let Some(end) = attempt_end(native) {
        put(out, "event.end", Value::Timestamp(end));
    }
}
