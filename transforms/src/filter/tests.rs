//! `filter` through its `Transform` interface.

use weir_core::ack::{BatchNotifier, BatchStatus, EventFinalizers};
use weir_core::component::{transform_now, BuildContext, ComponentKind, PluginCommon};
use weir_core::event::{Event, EventMetadata};
use weir_core::output::ERRORS;
use weir_core::Value;

use super::*;

fn build(condition: &str) -> (Box<dyn Transform>, ComponentMetrics) {
    let config = FilterConfig {
        condition: condition.into(),
        timezone: None,
    };
    assert!(config.validate().is_empty(), "{:?}", config.validate());
    let cx = BuildContext::standalone("f", ComponentKind::Transform, "filter", ".".into());
    (config.build(&cx).unwrap(), cx.metrics)
}

fn event(read_only: Value, batch: &BatchNotifier) -> Event {
    let mut meta = EventMetadata::new("src".into(), "file", chrono::Utc::now());
    meta.finalizers = EventFinalizers::one(batch.finalizer());
    let mut e = Event::from_message("m", meta);
    e.fields.insert("readOnly".into(), read_only);
    e
}

#[tokio::test]
async fn keeps_what_the_condition_holds_for_and_acknowledges_the_rest_as_dropped() {
    let (mut t, metrics) = build(".readOnly != true");
    let (batch, status) = BatchNotifier::with_receiver();
    let events = vec![
        event(Value::Boolean(true), &batch),
        event(Value::Boolean(false), &batch),
        event(Value::Boolean(true), &batch),
    ];
    drop(batch);
    let out = transform_now(t.as_mut(), events);
    assert_eq!(out.primary.len(), 1);
    assert_eq!(metrics.discarded.get(), 2);
    for e in out.primary {
        e.finalize(weir_core::ack::EventStatus::Delivered);
    }
    assert_eq!(status.await.unwrap(), BatchStatus::Delivered);
}

#[test]
fn a_failing_condition_sends_the_event_to_errors() {
    let (mut t, _) = build("to_int!(.readOnly) > 1");
    let (batch, _status) = BatchNotifier::with_receiver();
    let out = transform_now(t.as_mut(), vec![event(Value::from("x"), &batch)]);
    assert!(out.primary.is_empty());
    let failed = &out.named(ERRORS)[0];
    assert_eq!(
        failed.get_path(&["error", "type"]),
        Some(&Value::from("condition_failed"))
    );
}

#[test]
fn a_condition_must_be_boolean() {
    let config = FilterConfig {
        condition: ".a + 1".into(),
        timezone: None,
    };
    let problems = config.validate();
    assert_eq!(problems[0].key, "condition", "{problems:?}");
}
