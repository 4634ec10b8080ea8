//! `remap` through its `Transform` interface: edits, splits, errors, aborts, acknowledgements.

use weir_core::ack::{BatchNotifier, BatchStatus, EventFinalizers, EventStatus};
use weir_core::component::{transform_now, BuildContext, ComponentKind, PluginCommon};
use weir_core::event::{Event, EventMetadata};
use weir_core::output::ERRORS;
use weir_core::Value;

use super::*;

fn config(table: serde_json::Value) -> RemapConfig {
    weir_core::component::deserialize_config(table).unwrap()
}

fn build(config: &RemapConfig) -> (Box<dyn Transform>, ComponentMetrics) {
    assert!(config.validate().is_empty(), "{:?}", config.validate());
    let cx = BuildContext::standalone("shape", ComponentKind::Transform, "remap", ".".into());
    (config.build(&cx).unwrap(), cx.metrics)
}

fn event(json: &str, batch: Option<&BatchNotifier>) -> Event {
    let value: serde_json::Value = serde_json::from_str(json).unwrap();
    let fields: Value = value.into();
    let Value::Object(map) = fields else {
        panic!("not an object")
    };
    let mut meta = EventMetadata::new("src".into(), "file", chrono::Utc::now());
    if let Some(batch) = batch {
        meta.finalizers = EventFinalizers::one(batch.finalizer());
    }
    Event::new(map, meta)
}

fn json(event: &Event) -> String {
    serde_json::to_string(&event.fields).unwrap()
}

#[test]
fn renames_deletes_and_adds_fields() {
    let (mut t, _) = build(&config(serde_json::json!({
        "source": ".status = del(.code)\ndel(.secret)\n.env = \"prod\""
    })));
    let out = transform_now(
        t.as_mut(),
        vec![event(r#"{"code":500,"secret":"x","a":1}"#, None)],
    );
    assert_eq!(
        json(&out.primary[0]),
        r#"{"a":1,"env":"prod","status":500}"#
    );
}

#[tokio::test]
async fn an_array_result_splits_the_event_and_shares_its_acknowledgement() {
    let (mut t, _) = build(&config(serde_json::json!({"source": ". = .Records"})));
    let (batch, status) = BatchNotifier::with_receiver();
    let input = event(r#"{"Records":[{"n":1},{"n":2},3]}"#, Some(&batch));
    drop(batch);
    let out = transform_now(t.as_mut(), vec![input]);
    let texts: Vec<String> = out.primary.iter().map(json).collect();
    assert_eq!(texts, [r#"{"n":1}"#, r#"{"n":2}"#, r#"{"message":3}"#]);
    for e in out.primary {
        e.finalize(EventStatus::Delivered);
    }
    assert_eq!(status.await.unwrap(), BatchStatus::Delivered);
}

#[test]
fn a_runtime_error_leaves_the_event_unmodified_counted_and_marked() {
    let (mut t, metrics) = build(&config(serde_json::json!({
        "source": ".touched = true\n.n = to_int!(.text)"
    })));
    let out = transform_now(t.as_mut(), vec![event(r#"{"text":"abc"}"#, None)]);
    assert_eq!(json(&out.primary[0]), r#"{"text":"abc"}"#, "unmodified");
    let error = out.primary[0].metadata.error.as_deref().unwrap_or_default();
    assert!(error.contains("abc"), "{error}");
    let rendered = metrics.registry().gather();
    let text = format!("{rendered:?}");
    assert!(text.contains("program_failed"), "{text}");
}

#[tokio::test]
async fn drop_on_error_acknowledges_as_dropped_or_reroutes() {
    let program = ".n = to_int!(.text)";
    let (mut t, _) = build(&config(serde_json::json!({
        "source": program, "drop_on_error": true
    })));
    let (batch, status) = BatchNotifier::with_receiver();
    let out = transform_now(t.as_mut(), vec![event(r#"{"text":"abc"}"#, Some(&batch))]);
    drop(batch);
    assert!(out.primary.is_empty() && out.named.is_empty());
    assert_eq!(
        status.await.unwrap(),
        BatchStatus::Delivered,
        "dropped on purpose"
    );

    let rerouting = config(serde_json::json!({
        "source": program, "drop_on_error": true, "reroute_dropped": true
    }));
    assert_eq!(rerouting.outputs(), vec![ERRORS.to_string()]);
    let (mut t, _) = build(&rerouting);
    let out = transform_now(t.as_mut(), vec![event(r#"{"text":"abc"}"#, None)]);
    let failed = &out.named(ERRORS)[0];
    assert_eq!(failed.get_path(&["text"]), Some(&Value::from("abc")));
    assert_eq!(
        failed.get_path(&["error", "component"]),
        Some(&Value::from("shape"))
    );
    assert_eq!(
        failed.get_path(&["error", "type"]),
        Some(&Value::from("program_failed"))
    );
}

#[test]
fn abort_drops_unless_told_not_to() {
    let source = r#"if .level == "debug" { abort }
.kept = true"#;
    let (mut t, _) = build(&config(serde_json::json!({ "source": source })));
    let out = transform_now(
        t.as_mut(),
        vec![
            event(r#"{"level":"debug"}"#, None),
            event(r#"{"level":"info"}"#, None),
        ],
    );
    assert_eq!(out.primary.len(), 1);
    assert_eq!(json(&out.primary[0]), r#"{"kept":true,"level":"info"}"#);

    let (mut t, _) = build(&config(serde_json::json!({
        "source": source, "drop_on_abort": false
    })));
    let out = transform_now(t.as_mut(), vec![event(r#"{"level":"debug"}"#, None)]);
    assert_eq!(json(&out.primary[0]), r#"{"level":"debug"}"#);
}

#[test]
fn compile_errors_name_the_key_line_and_column() {
    let problems = config(serde_json::json!({"source": ".a = 1\n.b = nope("})).validate();
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].key, "source");
    assert!(
        problems[0]
            .message
            .starts_with("VRL program, line 2, column"),
        "{}",
        problems[0].message
    );

    let both = config(serde_json::json!({"source": ".", "file": "x.vrl"})).validate();
    assert!(both[0].message.contains("not both"), "{both:?}");
    let missing = config(serde_json::json!({"file": "/nonexistent/x.vrl"})).validate();
    assert_eq!(missing[0].key, "file");
}

#[test]
fn the_program_can_come_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.vrl");
    std::fs::write(&path, ".from_file = true\n").unwrap();
    let (mut t, _) = build(&config(serde_json::json!({ "file": path })));
    let out = transform_now(t.as_mut(), vec![event("{}", None)]);
    assert_eq!(json(&out.primary[0]), r#"{"from_file":true}"#);
}
