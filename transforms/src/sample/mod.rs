//! Transform `sample`: keeps one event in `rate`, to cut the volume of noisy logs.
//!
//! Without `key_field` it keeps every `rate`-th event. With `key_field` the decision hashes that
//! field's value, so all events sharing a value (a request id, a trace id) are kept or dropped
//! together. Dropped events are acknowledged as dropped on purpose, so sources still checkpoint.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use weir_core::ack::EventStatus;
use weir_core::component::PluginCommon;
use weir_core::component::{
    BuildContext, BuildError, ComponentSpec, ConfigProblem, ParseConfig, Transform,
    TransformConfig, TransformJob, TransformOutput,
};
use weir_core::event::Event;

/// Configuration of the `sample` transform.
///
/// ```toml
/// [transforms.some_flow_logs]
/// type = "sample"
/// inputs = ["vpc"]
/// rate = 10              # keep 1 in 10
/// key_field = "srcaddr"  # optional: sample by source address
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SampleConfig {
    /// Keep one event in `rate` (required; 1 keeps everything).
    #[schemars(range(min = RATE_MIN), example = 10)]
    pub rate: u64,
    /// Optional field (dotted path) whose value decides, so equal values share a fate.
    #[serde(default)]
    #[schemars(length(min = 1), example = &"srcaddr")]
    pub key_field: Option<String>,
}

/// The smallest `rate`, checked by `validate` and stated in the schema.
const RATE_MIN: u64 = 1;

impl PluginCommon for SampleConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.rate < RATE_MIN {
            problems.push(ConfigProblem::new(
                "rate",
                format!("must be at least {RATE_MIN}"),
            ));
        }
        if self.key_field.as_deref() == Some("") {
            problems.push(ConfigProblem::new("key_field", "must not be empty"));
        }
        problems
    }
}

impl TransformConfig for SampleConfig {
    fn build(&self, _cx: &BuildContext) -> Result<Box<dyn Transform>, BuildError> {
        Ok(Box::new(Sample {
            rate: self.rate.max(1),
            key_path: self
                .key_field
                .as_ref()
                .map(|k| k.split('.').map(str::to_string).collect::<Vec<_>>().into()),
            counter: 0,
        }))
    }
}

/// The running transform. The counter of `rate` mode is state, so its choices are made in the
/// sequential step; a `key_field` choice depends on the event alone and is made in the job (on
/// any worker thread).
struct Sample {
    rate: u64,
    key_path: Option<Arc<[String]>>,
    counter: u64,
}

/// Whether an event's key hashes into the kept share.
fn keep_key(path: &[String], rate: u64, event: &Event) -> bool {
    let hash = match event.get_path(path) {
        Some(value) => xxhash_rust::xxh3::xxh3_64(value.to_string_lossy().as_bytes()),
        None => 0,
    };
    hash.is_multiple_of(rate)
}

/// Puts kept events on the output and acknowledges the others as dropped.
fn split(events: Vec<Event>, mut keep: impl FnMut(&Event) -> bool, out: &mut TransformOutput) {
    for event in events {
        if keep(&event) {
            out.primary.push(event);
        } else {
            event.finalize(EventStatus::Dropped);
        }
    }
}

impl Transform for Sample {
    fn transform(&mut self, events: Vec<Event>) -> TransformJob {
        let rate = self.rate;
        match &self.key_path {
            Some(path) => {
                let path = Arc::clone(path);
                Box::new(move |out| split(events, |e| keep_key(&path, rate, e), out))
            }
            None => {
                let first = self.counter;
                self.counter = self.counter.wrapping_add(events.len() as u64);
                Box::new(move |out| {
                    let mut n = first;
                    split(
                        events,
                        |_| {
                            let keep = n.is_multiple_of(rate);
                            n = n.wrapping_add(1);
                            keep
                        },
                        out,
                    )
                })
            }
        }
    }
}

/// The transform's registration.
pub const SPEC: ComponentSpec = ComponentSpec {
    type_name: "sample",
    description: "Keep one event in `rate` (optionally by the hash of a key field).",
    parse: ParseConfig::Transform(weir_core::component::parse_transform::<SampleConfig>),
    schema: weir_core::component::schema_of::<SampleConfig>,
};

#[cfg(test)]
mod tests {
    use super::*;
    use weir_core::ack::{BatchNotifier, BatchStatus, EventFinalizers};
    use weir_core::event::EventMetadata;

    fn build(rate: u64, key_field: Option<&str>) -> Box<dyn Transform> {
        let config = SampleConfig {
            rate,
            key_field: key_field.map(str::to_string),
        };
        assert!(config.validate().is_empty());
        config
            .build(&BuildContext::standalone(
                "s",
                weir_core::component::ComponentKind::Transform,
                "sample",
                ".".into(),
            ))
            .unwrap()
    }

    #[tokio::test]
    async fn keeps_one_in_rate_and_acknowledges_the_rest_as_dropped() {
        let (batch, status) = BatchNotifier::with_receiver();
        let events: Vec<Event> = (0..10)
            .map(|i| {
                let mut meta = EventMetadata::new("src".into(), "test", chrono::Utc::now());
                meta.finalizers = EventFinalizers::one(batch.finalizer());
                Event::from_message(format!("{i}"), meta)
            })
            .collect();
        drop(batch);
        let mut t = build(3, None);
        let out = weir_core::component::transform_now(t.as_mut(), events);
        let kept: Vec<_> = out
            .primary
            .iter()
            .map(|e| e.message_bytes().unwrap().to_vec())
            .collect();
        assert_eq!(
            kept,
            vec![b"0".to_vec(), b"3".to_vec(), b"6".to_vec(), b"9".to_vec()]
        );
        for e in out.primary {
            e.finalize(EventStatus::Delivered);
        }
        assert_eq!(status.await.unwrap(), BatchStatus::Delivered);
    }

    #[test]
    fn key_field_keeps_equal_values_together() {
        let mut t = build(2, Some("message"));
        let events = (0..40)
            .map(|i| {
                Event::from_message(
                    format!("k{}", i % 4),
                    EventMetadata::new("s".into(), "t", chrono::Utc::now()),
                )
            })
            .collect();
        let out = weir_core::component::transform_now(t.as_mut(), events);
        let kept: std::collections::BTreeSet<_> = out
            .primary
            .iter()
            .map(|e| e.message_bytes().unwrap().to_vec())
            .collect();
        assert_eq!(
            out.primary.len(),
            kept.len() * 10,
            "each key kept all or nothing"
        );
    }

    #[test]
    fn rate_zero_is_a_problem() {
        assert_eq!(
            SampleConfig {
                rate: 0,
                key_field: None
            }
            .validate()[0]
                .key,
            "rate"
        );
    }
}
