//! The encoding half of the file sink: one round of events grouped by rendered path and encoded
//! into one buffer per path, with their acknowledgements, ready for [`super::writer::Writer`].
//!
//! Rounds are separate from the writer so the sink can encode the next round while the last one
//! is being written (two rounds alternate): encoding and writing overlap instead of adding up.

use std::collections::HashMap;

use weir_core::ack::{EventFinalizers, EventStatus};
use weir_core::metrics::ComponentMetrics;
use weir_core::template::RenderError;
use weir_core::Event;

use super::path::{PathTemplate, PathViolation};
use crate::encoding::{EncodeError, Encoding};
use crate::errors::ErrorType;
use weir_core::throttle::LogThrottle;

/// Group buffers larger than this are not kept for reuse after a round.
const MAX_RETAINED_BUFFER: usize = 32 * 1024 * 1024;

/// The events of one round going to one path.
#[derive(Default)]
pub(super) struct Group {
    pub(super) path: String,
    pub(super) buf: Vec<u8>,
    pub(super) events: usize,
    finalizers: Vec<EventFinalizers>,
}

impl Group {
    fn reset(&mut self) {
        self.path.clear();
        self.buf.clear();
        if self.buf.capacity() > MAX_RETAINED_BUFFER {
            self.buf = Vec::new();
        }
        self.events = 0;
        self.finalizers.clear();
    }

    /// The events' finalizers, to acknowledge once the group is on disk.
    pub(super) fn take_finalizers(&mut self) -> Vec<EventFinalizers> {
        std::mem::take(&mut self.finalizers)
    }

    pub(super) fn finalize(&mut self, status: EventStatus) {
        for mut finalizers in self.finalizers.drain(..) {
            finalizers.finalize(status);
        }
    }
}

/// Where a rendered path goes within a round.
#[derive(Clone, Copy)]
enum Slot {
    Group(usize),
    Rejected(PathViolation),
}

/// Why an event could not be routed.
enum RouteError {
    Render(RenderError),
    Path(PathViolation),
}

/// Rate-limited warnings of encoding, one throttle per kind.
#[derive(Default)]
struct Warnings {
    render: LogThrottle,
    path: LogThrottle,
    encode: LogThrottle,
}

/// One round: its groups, and the buffers and lookup tables reused from round to round.
pub(super) struct Round {
    /// Each round's own copy: rendering keeps a cache.
    paths: PathTemplate,
    encoding: Encoding,
    metrics: ComponentMetrics,
    /// Group buffers, reused across rounds; the first `used` belong to the current round.
    groups: Vec<Group>,
    used: usize,
    /// Rendered path → group, for the current round (dynamic templates only).
    index: HashMap<String, Slot>,
    /// The group of the previous event, checked before `index`.
    last_group: Option<usize>,
    render_buf: String,
    warnings: Warnings,
}

impl Round {
    pub(super) fn new(paths: PathTemplate, encoding: Encoding, metrics: ComponentMetrics) -> Self {
        Self {
            paths,
            encoding,
            metrics,
            groups: Vec::new(),
            used: 0,
            index: HashMap::new(),
            last_group: None,
            render_buf: String::new(),
            warnings: Warnings::default(),
        }
    }

    /// The groups of the encoded round.
    pub(super) fn groups(&mut self) -> &mut [Group] {
        &mut self.groups[..self.used]
    }

    /// Encodes one round of batches into per-path buffers. Runs on the sink's task, so events are
    /// freed on the thread that made them (cross-thread frees cost the allocator dearly). Leaves
    /// `batches` empty (its allocation is reused by the caller).
    pub(super) fn encode(&mut self, batches: &mut Vec<Vec<Event>>) {
        self.begin_round();
        for batch in batches.drain(..) {
            for event in batch {
                self.add(event);
            }
        }
    }

    fn begin_round(&mut self) {
        for group in &mut self.groups[..self.used] {
            group.reset();
        }
        self.used = 0;
        self.index.clear();
        self.last_group = None;
    }

    fn add(&mut self, mut event: Event) {
        let group = match self.route(&event) {
            Ok(group) => group,
            Err(error) => {
                self.reject_route(error);
                event.finalize(EventStatus::Rejected);
                return;
            }
        };
        let group = &mut self.groups[group];
        match self.encoding.encode_into(&event, &mut group.buf) {
            Ok(()) => {
                group.events += 1;
                let finalizers = std::mem::take(&mut event.metadata.finalizers);
                if !finalizers.is_empty() {
                    group.finalizers.push(finalizers);
                }
            }
            Err(error) => {
                self.reject_encode(&error);
                event.finalize(EventStatus::Rejected);
            }
        }
    }

    /// The group of an event's path, rendering and checking it if the template is dynamic.
    fn route(&mut self, event: &Event) -> Result<usize, RouteError> {
        if !self.paths.is_dynamic() {
            if self.used == 0 {
                let group = self.new_group();
                self.groups[group].path.push_str(self.paths.as_str());
            }
            return Ok(0);
        }
        self.paths
            .render_into(event, &mut self.render_buf)
            .map_err(RouteError::Render)?;
        if let Some(last) = self.last_group {
            if self.groups[last].path == self.render_buf {
                return Ok(last);
            }
        }
        let slot = match self.index.get(self.render_buf.as_str()) {
            Some(slot) => *slot,
            None => {
                let slot = match self.paths.check(&self.render_buf) {
                    Ok(()) => {
                        let group = self.new_group();
                        self.groups[group].path.push_str(&self.render_buf);
                        Slot::Group(group)
                    }
                    Err(violation) => Slot::Rejected(violation),
                };
                self.index.insert(self.render_buf.clone(), slot);
                slot
            }
        };
        match slot {
            Slot::Group(group) => {
                self.last_group = Some(group);
                Ok(group)
            }
            Slot::Rejected(violation) => Err(RouteError::Path(violation)),
        }
    }

    fn new_group(&mut self) -> usize {
        if self.used == self.groups.len() {
            self.groups.push(Group::default());
        }
        self.used += 1;
        self.used - 1
    }

    fn reject_route(&mut self, error: RouteError) {
        match error {
            RouteError::Render(error) => {
                self.metrics
                    .error(ErrorType::TemplateRenderFailed.as_str(), 1);
                if let Some(suppressed) = self.warnings.render.check() {
                    tracing::warn!(
                        component = self.metrics.component_id(),
                        %error,
                        suppressed,
                        "cannot render the file path; event rejected"
                    );
                }
            }
            RouteError::Path(violation) => {
                self.metrics.error(violation.error_type(), 1);
                if let Some(suppressed) = self.warnings.path.check() {
                    tracing::warn!(
                        component = self.metrics.component_id(),
                        path = %self.render_buf.escape_debug(),
                        root = %self.paths.root().display(),
                        error = %violation,
                        suppressed,
                        "rendered file path refused; event rejected"
                    );
                }
            }
        }
    }

    fn reject_encode(&mut self, error: &EncodeError) {
        self.metrics.error(error.error_type(), 1);
        if let Some(suppressed) = self.warnings.encode.check() {
            tracing::warn!(
                component = self.metrics.component_id(),
                %error,
                suppressed,
                "cannot encode event; event rejected"
            );
        }
    }
}
