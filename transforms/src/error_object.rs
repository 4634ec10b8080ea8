//! The `error` object a transform attaches to an event it could not process, before the event
//! goes to `<id>.errors` (or, when nothing consumes that, on along the main output): one shape
//! for every transform, so a dead-letter index or a `route` on `exists(.error)` reads them alike.

use vrl::value::{ObjectMap, Value};
use weir_core::component::TransformOutput;
use weir_core::event::Event;
use weir_core::metrics::ComponentMetrics;
use weir_core::output::ERRORS;

use crate::errors::ErrorType;

/// The field the error object is set in.
pub const ERROR_FIELD: &str = "error";

/// Sets `error` on the event: `message`, `component` (the transform's id), `type` (its
/// `error_type` metric label), plus transform-specific `extra` members (`format`, `offset`, …).
pub fn attach(
    event: &mut Event,
    component: &str,
    error_type: ErrorType,
    message: impl Into<String>,
    extra: impl IntoIterator<Item = (&'static str, Value)>,
) {
    let mut detail = ObjectMap::new();
    detail.insert("message".into(), Value::from(message.into()));
    detail.insert("component".into(), Value::from(component));
    detail.insert("type".into(), Value::from(error_type.as_str()));
    for (key, value) in extra {
        detail.insert(key.into(), value);
    }
    event
        .fields
        .insert(ERROR_FIELD.into(), Value::Object(detail));
}

/// An event a condition failed on (`filter`, `route`): counted, and sent to `<id>.errors` with
/// the error attached.
pub fn condition_failed(
    metrics: &ComponentMetrics,
    mut event: Event,
    message: String,
    out: &mut TransformOutput,
) {
    let kind = ErrorType::ConditionFailed;
    metrics.error(kind.as_str(), 1);
    attach(&mut event, metrics.component_id(), kind, message, []);
    out.push_named(ERRORS, event);
}
