//! Per-stream state of `aws_parse`: the detected format, the parsers (which may hold header
//! context) and a multi-line record being assembled. Streams are slots in a vector found by their
//! identity; the last one used is remembered, so consecutive events of one stream cost no lookup.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use weir_core::event::Event;

use weir_aws::formats::registry::Format;
use weir_aws::formats::RecordParser;

use super::context::Context;

/// Streams beyond this many are evicted when idle (no record being assembled).
const MAX_STREAMS: usize = 4096;
/// A multi-line record larger than this is handed out as it is.
const MAX_RECORD_BYTES: usize = 1024 * 1024;

struct Pending {
    record: BytesMut,
    event: Event,
    format: &'static Format,
}

struct Slot {
    format: Option<&'static Format>,
    parsers: Vec<(&'static str, Box<dyn RecordParser>)>,
    pending: Option<Pending>,
    /// The `aws_context` of the stream identity, once read (`None` inside: no known origin).
    context: Option<Option<Arc<Context>>>,
    last_used: u64,
}

impl Slot {
    fn new(format: Option<&'static Format>, now: u64) -> Self {
        Self {
            format,
            parsers: Vec::new(),
            pending: None,
            context: None,
            last_used: now,
        }
    }
}

/// All streams seen by one `aws_parse` instance. Slot 0 is for events without a stream identity:
/// its format is never cached (each record is detected on its own).
pub(super) struct Streams {
    index: HashMap<Arc<str>, usize>,
    slots: Vec<Slot>,
    free: Vec<usize>,
    last: Option<(Arc<str>, usize)>,
    clock: u64,
}

impl Default for Streams {
    fn default() -> Self {
        Self {
            index: HashMap::new(),
            slots: vec![Slot::new(None, 0)],
            free: Vec::new(),
            last: None,
            clock: 0,
        }
    }
}

impl Streams {
    /// The slot of a stream, created with `initial()` as its format if new.
    pub(super) fn state(
        &mut self,
        identity: Option<&Arc<str>>,
        initial: impl FnOnce() -> Option<&'static Format>,
    ) -> usize {
        self.clock += 1;
        let Some(key) = identity else {
            self.slots[0].format = initial();
            return 0;
        };
        if let Some((last, slot)) = &self.last {
            if Arc::ptr_eq(last, key) {
                let slot = *slot;
                self.slots[slot].last_used = self.clock;
                return slot;
            }
        }
        let slot = match self.index.get(key) {
            Some(slot) => *slot,
            None => {
                let state = Slot::new(initial(), self.clock);
                let slot = match self.free.pop() {
                    Some(free) => {
                        self.slots[free] = state;
                        free
                    }
                    None => {
                        self.slots.push(state);
                        self.slots.len() - 1
                    }
                };
                self.index.insert(Arc::clone(key), slot);
                slot
            }
        };
        self.slots[slot].last_used = self.clock;
        self.last = Some((Arc::clone(key), slot));
        slot
    }

    pub(super) fn format(&self, slot: usize) -> Option<&'static Format> {
        self.slots.get(slot).and_then(|s| s.format)
    }

    pub(super) fn set_format(&mut self, slot: usize, format: Option<&'static Format>) {
        if let Some(s) = self.slots.get_mut(slot) {
            s.format = format;
        }
    }

    /// Reads the stream's `aws_context` with `read()`, the first time only.
    pub(super) fn read_context(
        &mut self,
        slot: usize,
        read: impl FnOnce() -> Option<Arc<Context>>,
    ) {
        if let Some(s) = self.slots.get_mut(slot) {
            if s.context.is_none() {
                s.context = Some(read());
            }
        }
    }

    /// The stream's `aws_context`, as read by [`Self::read_context`].
    pub(super) fn context(&self, slot: usize) -> Option<Arc<Context>> {
        self.slots
            .get(slot)
            .and_then(|s| s.context.as_ref())
            .and_then(Option::clone)
    }

    /// The stream's parser for a format (made on first use, kept for its header context).
    pub(super) fn parser(
        &mut self,
        slot: usize,
        format: &'static Format,
        make: impl FnOnce(&'static Format) -> Box<dyn RecordParser>,
    ) -> &mut dyn RecordParser {
        let parsers = &mut self.slots[slot].parsers;
        let index = match parsers.iter().position(|(name, _)| *name == format.name) {
            Some(i) => i,
            None => {
                parsers.push((format.name, make(format)));
                parsers.len() - 1
            }
        };
        parsers[index].1.as_mut()
    }

    /// Feeds one line of a multi-line format. Returns a complete record (with the event that carries
    /// the acknowledgements of all its lines) when this line starts the next one.
    pub(super) fn assemble(
        &mut self,
        slot: usize,
        line: Bytes,
        mut event: Event,
        format: &'static Format,
        is_start: fn(&[u8]) -> bool,
    ) -> Option<(Bytes, Event)> {
        let state = &mut self.slots[slot];
        if is_start(&line) {
            let done = state.pending.take().map(|p| (p.record.freeze(), p.event));
            state.pending = Some(Pending {
                record: BytesMut::from(&line[..]),
                event,
                format,
            });
            return done;
        }
        match &mut state.pending {
            Some(pending) if pending.record.len() + line.len() < MAX_RECORD_BYTES => {
                pending.record.extend_from_slice(b"\n");
                pending.record.extend_from_slice(&line);
                let finalizers = std::mem::take(&mut event.metadata.finalizers);
                pending.event.metadata.finalizers.merge(finalizers);
                None
            }
            Some(_) => {
                // Too large: hand out what we have; this line is parsed on its own.
                let done = state.pending.take().map(|p| (p.record.freeze(), p.event));
                state.pending = Some(Pending {
                    record: BytesMut::from(&line[..]),
                    event,
                    format,
                });
                done
            }
            // A continuation line with no record before it: parse it alone (and fail loudly).
            None => Some((line, event)),
        }
    }

    /// Every record still being assembled, for a flush.
    pub(super) fn take_pending(&mut self) -> Vec<(usize, &'static Format, Bytes, Event)> {
        self.slots
            .iter_mut()
            .enumerate()
            .filter_map(|(slot, s)| {
                s.pending
                    .take()
                    .map(|p| (slot, p.format, p.record.freeze(), p.event))
            })
            .collect()
    }

    /// Forgets the least recently used idle streams once there are too many.
    pub(super) fn evict_idle(&mut self) {
        if self.index.len() <= MAX_STREAMS {
            return;
        }
        let mut ages: Vec<u64> = self
            .index
            .values()
            .map(|s| self.slots[*s].last_used)
            .collect();
        ages.sort_unstable();
        let cutoff = ages[ages.len() / 2];
        let slots = &mut self.slots;
        let free = &mut self.free;
        self.index.retain(|_, slot| {
            let s = &mut slots[*slot];
            let keep = s.last_used > cutoff || s.pending.is_some();
            if !keep {
                *s = Slot::new(None, 0);
                free.push(*slot);
            }
            keep
        });
        self.last = None;
    }
}
