//! `weir-core`: everything a Weir component needs and nothing about any particular plugin.
//!
//! * [`event`] — the event model (fields as `vrl` values plus metadata).
//! * [`fields`] — an event's fields: a map, or a positional record sharing its field names.
//! * [`ack`] — end-to-end acknowledgements: per-batch finalizers and ordered checkpoints.
//! * [`buffer`] — bounded, event-counted channels between components (backpressure or drop).
//! * [`component`] — the traits sources, transforms and sinks implement, and their configs.
//! * [`topology`] — the graph of components: validation and the running runtime.
//! * [`enrichment`] — enrichment tables shared by components, by name, reloaded in place.
//! * [`metrics`] — the Prometheus registry every component reports into.
//! * [`template`] — `{{ field }}` / strftime templates shared by sinks.
//! * [`framing`] — byte-stream framing shared by sources: lines and streamed JSON records.
#![warn(missing_docs)]

pub mod ack;
pub mod buffer;
pub mod component;
pub mod enrichment;
pub mod event;
pub mod fields;
pub mod framing;
pub mod json;
pub mod metrics;
pub mod output;
pub mod path_record;
pub mod secret;
pub mod shutdown;
pub mod source_kit;
pub mod template;
pub mod throttle;
pub mod topology;

pub use event::{Event, EventMetadata, StreamPosition};
pub use fields::{Fields, Record, Schema};
pub use vrl::value::{KeyString, ObjectMap, Value};
