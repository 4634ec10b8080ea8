//! Firehose error records in OCSF: Base Event 0, `activity_id` 99 Other. A record reports that
//! delivering data failed, which no OCSF class describes (they are about the activity itself,
//! not a pipeline's delivery of its logs), so each is a Base Event carrying the error:
//! `status_id` 2 Failure; `status_code` ← `errorCode`; `message` ← `message` (error log events)
//! or `errorMessage` (failed records); `end_time` ← `attemptEndingTimestamp` (a copy: when
//! Firehose stopped retrying; `time` is the record's arrival). `severity_id` by what the record
//! says was lost: 2 Low for an error log event (Firehose retries, or backs the data up), 3
//! Medium for a failed record (the data is in the error prefix, not at the destination, until
//! it is delivered again). The stream ARN, destination, processor, attempts, raw data and record
//! ids stay in `unmapped`.

use weir_core::fields::Fields;
use weir_core::path_record::PathRecordBuilder;

use super::{attempt_end, message_field, FAILED_RECORD};
use crate::normalize::fields::{get_str, move_str};
use crate::normalize::ocsf::{
    set_class, set_severity, set_status, OcsfClass, ACTIVITY_OTHER, SEVERITY_LOW, SEVERITY_MEDIUM,
};
use crate::set_time;

/// See the [module docs](self).
pub(crate) fn map(native: &mut Fields, out: &mut PathRecordBuilder) {
    set_class(out, OcsfClass::BaseEvent, ACTIVITY_OTHER);
    set_status(out, false);
    let severity = if get_str(native, "aws.firehose_kind") == Some(FAILED_RECORD) {
        SEVERITY_MEDIUM
    } else {
        SEVERITY_LOW
    };
    set_severity(out, severity);
    move_str(native, "errorCode", out, "status_code");
    let message = message_field(native);
    move_str(native, message, out, "message");
    if let Some(end) = attempt_end(native) {
        set_time!(out, "end_time", end);
    }
}
