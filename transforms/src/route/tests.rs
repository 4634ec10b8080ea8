//! `route` through its `Transform` interface.

use weir_core::ack::{BatchNotifier, BatchStatus, EventFinalizers, EventStatus};
use weir_core::component::{transform_now, BuildContext, ComponentKind, PluginCommon};
use weir_core::event::{Event, EventMetadata};
use weir_core::Value;

use super::*;

fn config(routes: &[(&str, &str)]) -> RouteConfig {
    RouteConfig {
        route: routes
            .iter()
            .map(|(n, c)| (n.to_string(), c.to_string()))
            .collect(),
        timezone: None,
    }
}

fn build(config: &RouteConfig) -> Box<dyn Transform> {
    assert!(config.validate().is_empty(), "{:?}", config.validate());
    let cx = BuildContext::standalone("r", ComponentKind::Transform, "route", ".".into());
    config.build(&cx).unwrap()
}

fn event(log_type: &str, batch: &BatchNotifier) -> Event {
    let mut meta = EventMetadata::new("src".into(), "file", chrono::Utc::now());
    meta.finalizers = EventFinalizers::one(batch.finalizer());
    let mut e = Event::from_message("m", meta);
    e.fields.insert("log_type".into(), Value::from(log_type));
    e
}

#[tokio::test]
async fn each_event_goes_to_every_route_it_matches_or_to_unmatched() {
    let config = config(&[
        ("trail", r#".log_type == "cloudtrail""#),
        (
            "aws",
            r#"starts_with(string!(.log_type), "c") || .log_type == "vpc_flow""#,
        ),
    ]);
    assert_eq!(config.outputs(), ["aws", "trail", UNMATCHED]);
    assert!(!config.default_output());
    let mut t = build(&config);
    let (batch, status) = BatchNotifier::with_receiver();
    let events = ["cloudtrail", "vpc_flow", "alb", "cloudfront", "cloudtrail"]
        .iter()
        .map(|l| event(l, &batch))
        .collect();
    drop(batch);
    let out = transform_now(t.as_mut(), events);
    assert!(out.primary.is_empty());
    assert_eq!(out.named("trail").len(), 2);
    assert_eq!(out.named("aws").len(), 4);
    assert_eq!(out.named(UNMATCHED).len(), 1);
    for (_, events) in out.named {
        for e in events {
            e.finalize(EventStatus::Delivered);
        }
    }
    assert_eq!(status.await.unwrap(), BatchStatus::Delivered);
}

#[test]
fn a_failing_condition_counts_as_false_and_is_recorded() {
    let mut t = build(&config(&[("big", "to_int!(.log_type) > 1")]));
    let (batch, _status) = BatchNotifier::with_receiver();
    let out = transform_now(t.as_mut(), vec![event("x", &batch)]);
    let unmatched = out.named(UNMATCHED);
    assert_eq!(unmatched.len(), 1);
    assert!(unmatched[0].metadata.error.is_some());
}

#[test]
fn route_names_are_checked() {
    let problems = config(&[("_x", "true"), ("a.b", "true"), ("ok", "1")]).validate();
    let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, ["route._x", "route.a.b", "route.ok"], "{problems:?}");
    assert_eq!(config(&[]).validate()[0].key, "route");
}
