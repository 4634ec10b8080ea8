//! The parallel half of `aws_parse`: parsing a batch's records, on any worker thread.
//!
//! The sequential step ([`super::AwsParse`]) hands each record over with its format and, for
//! parsers with stream context (VPC Flow, CloudFront), a fork of the stream's parser taken after
//! the context lines before it; parsers without context are made fresh here, once per job. What
//! this half does needs no state beyond the batch: parsing, expanding envelopes, merging the
//! parsed fields over the event's, and sending failures to `<id>.errors`.

use std::sync::Arc;

use bytes::Bytes;
use vrl::value::{KeyString, ObjectMap, Value};
use weir_core::ack::EventStatus;
use weir_core::component::{TransformJob, TransformOutput};
use weir_core::event::Event;
use weir_core::fields::Fields;
use weir_core::metrics::ComponentMetrics;
use weir_core::output::ERRORS;

use weir_aws::formats::registry::{Format, Shape};
use weir_aws::formats::{detect, vpc_flow, ParseError, RecordParser};
use weir_aws::normalize::{normalize_fields, OutputSchema};

use super::context::{self, Contexts, Origin};
use crate::error_object;
use crate::errors::ErrorType;

/// What every job of one `aws_parse` needs from its config.
pub(super) struct Shared {
    /// A fixed format (no content fallback, no envelope expansion by log group).
    pub(super) fixed: bool,
    pub(super) field: Vec<String>,
    pub(super) target: Option<KeyString>,
    pub(super) keep_message: bool,
    pub(super) vpc_flow_format: Option<String>,
    /// Whether to set the `aws_context` fields.
    pub(super) aws_context: bool,
    /// The schema events come out in.
    pub(super) schema: OutputSchema,
    pub(super) metrics: ComponentMetrics,
}

/// Which parser of the job parses a record.
#[derive(Clone, Copy)]
enum ParserRef {
    /// The job's own parser at this index (formats without context, one per format).
    Fresh(usize),
    /// The fork at this index.
    Fork(usize),
}

/// One record's work.
enum Item {
    /// Parse `raw` as `format` with a parser of the job.
    Parse {
        event: Event,
        raw: Bytes,
        format: &'static Format,
        parser: ParserRef,
        origin: Origin,
    },
    /// An event of no stream: detect its format here, then parse it.
    Detect {
        event: Event,
        raw: Bytes,
        log_group: Option<(String, Option<String>)>,
        fixed: Option<&'static Format>,
    },
    /// Already failed in the sequential step.
    Fail(Event, ParseError),
}

/// One batch's records, in order, and the parsers to parse them with.
pub(super) struct Job {
    shared: Arc<Shared>,
    items: Vec<Item>,
    fresh: Vec<(&'static str, Box<dyn RecordParser>)>,
    /// Forks of stream parsers, by `(stream slot, format name)`; a context line retires its
    /// stream's fork (later records get a new one).
    forks: Vec<Box<dyn RecordParser>>,
    current_forks: Vec<((usize, &'static str), usize)>,
    contexts: Contexts,
}

impl Job {
    pub(super) fn new(shared: Arc<Shared>, capacity: usize) -> Self {
        Self {
            shared,
            items: Vec::with_capacity(capacity),
            fresh: Vec::new(),
            forks: Vec::new(),
            current_forks: Vec::new(),
            contexts: Contexts::default(),
        }
    }

    pub(super) fn fail(&mut self, event: Event, error: ParseError) {
        self.items.push(Item::Fail(event, error));
    }

    pub(super) fn detect(
        &mut self,
        event: Event,
        raw: Bytes,
        log_group: Option<(String, Option<String>)>,
        fixed: Option<&'static Format>,
    ) {
        self.items.push(Item::Detect {
            event,
            raw,
            log_group,
            fixed,
        });
    }

    /// Queues a record of `stream`; `parser` is the stream's parser, as its context stands now;
    /// `origin` what the stream says of where its records came from.
    pub(super) fn parse(
        &mut self,
        stream: usize,
        format: &'static Format,
        parser: &dyn RecordParser,
        raw: Bytes,
        event: Event,
        origin: Origin,
    ) {
        let key = (stream, format.name);
        let parser = match self.current_forks.iter().find(|(k, _)| *k == key) {
            Some((_, i)) => ParserRef::Fork(*i),
            None => match parser.fork() {
                Some(fork) => {
                    self.forks.push(fork);
                    let i = self.forks.len() - 1;
                    self.current_forks.push((key, i));
                    ParserRef::Fork(i)
                }
                None => ParserRef::Fresh(self.fresh_index(format)),
            },
        };
        self.items.push(Item::Parse {
            event,
            raw,
            format,
            parser,
            origin,
        });
    }

    /// The stream's context changed: later records need a new fork.
    pub(super) fn forget_fork(&mut self, stream: usize, format: &'static Format) {
        self.current_forks
            .retain(|(key, _)| *key != (stream, format.name));
    }

    fn fresh_index(&mut self, format: &'static Format) -> usize {
        match self.fresh.iter().position(|(name, _)| *name == format.name) {
            Some(i) => i,
            None => {
                let parser = new_parser(format, self.shared.vpc_flow_format.as_deref());
                self.fresh.push((format.name, parser));
                self.fresh.len() - 1
            }
        }
    }

    pub(super) fn into_transform_job(self) -> TransformJob {
        Box::new(move |out| self.run(out))
    }

    fn run(mut self, out: &mut TransformOutput) {
        out.primary.reserve(self.items.len());
        let mut scratch = Vec::new();
        for item in std::mem::take(&mut self.items) {
            match item {
                Item::Parse {
                    event,
                    raw,
                    format,
                    parser,
                    origin,
                } => {
                    let parser = match parser {
                        ParserRef::Fresh(i) => self.fresh[i].1.as_mut(),
                        ParserRef::Fork(i) => self.forks[i].as_mut(),
                    };
                    let mut emit = Emit {
                        shared: &self.shared,
                        origin: &origin,
                        contexts: &mut self.contexts,
                        out,
                    };
                    parse(&mut emit, format, parser, raw, event, &mut scratch);
                }
                Item::Detect {
                    event,
                    raw,
                    log_group,
                    fixed,
                } => {
                    let found = fixed.or_else(|| {
                        log_group
                            .as_ref()
                            .and_then(|(g, s)| detect::by_log_group(g, s.as_deref()))
                            .or_else(|| detect::by_content(&raw))
                    });
                    let Some(format) = found else {
                        let error = ParseError::new(
                            "auto",
                            "",
                            0,
                            "no known AWS log format matches this record",
                        );
                        fail(&self.shared, event, &error, out);
                        continue;
                    };
                    let i = self.fresh_index(format);
                    let parser = self.fresh[i].1.as_mut();
                    let origin = Origin {
                        input_cloudwatch: log_group.is_some(),
                        ..Origin::default()
                    };
                    let mut emit = Emit {
                        shared: &self.shared,
                        origin: &origin,
                        contexts: &mut self.contexts,
                        out,
                    };
                    parse(&mut emit, format, parser, raw, event, &mut scratch);
                }
                Item::Fail(event, error) => fail(&self.shared, event, &error, out),
            }
        }
    }
}

/// Where a record's events go, with what they need for their context.
struct Emit<'a> {
    shared: &'a Shared,
    origin: &'a Origin,
    contexts: &'a mut Contexts,
    out: &'a mut TransformOutput,
}

/// Parses one record and emits its events, or sends it to `errors`.
fn parse(
    emit: &mut Emit<'_>,
    format: &'static Format,
    parser: &mut dyn RecordParser,
    raw: Bytes,
    event: Event,
    scratch: &mut Vec<Fields>,
) {
    let shared = emit.shared;
    scratch.clear();
    match parser.parse_fields(&raw, scratch) {
        Ok(()) => {
            if format.shape == Shape::Envelope && !shared.fixed {
                for item in scratch.iter_mut() {
                    parse_log_event(item, shared.vpc_flow_format.as_deref());
                }
            }
            emit.records(event, format, scratch);
        }
        Err(error) => {
            // A content-detected stream may mix formats: try this record on its own.
            let second = (!shared.fixed)
                .then(|| detect::by_content(&raw))
                .flatten()
                .filter(|f| f.name != format.name);
            if let Some(other) = second {
                let mut parser = new_parser(other, shared.vpc_flow_format.as_deref());
                scratch.clear();
                if parser.parse_fields(&raw, scratch).is_ok() {
                    emit.records(event, other, scratch);
                    return;
                }
            }
            fail(shared, event, &error, emit.out);
        }
    }
}

/// With `auto`, parses one CloudWatch log event's message by its log group's format (VPC Flow
/// with the configured `vpc_flow_format`: CloudWatch delivery has no header line); the envelope
/// fields move under `cloudwatch`.
fn parse_log_event(item: &mut Fields, vpc_flow_format: Option<&str>) {
    let group = item
        .get("log_group")
        .map(|v| v.to_string_lossy().into_owned());
    let stream = item
        .get("log_stream")
        .map(|v| v.to_string_lossy().into_owned());
    let Some(format) = group
        .as_deref()
        .and_then(|g| detect::by_log_group(g, stream.as_deref()))
        .or_else(|| match item.get("message") {
            Some(Value::Bytes(m)) => detect::by_content(m),
            _ => None,
        })
    else {
        return;
    };
    let Some(Value::Bytes(message)) = item.get("message") else {
        return;
    };
    let mut inner = Vec::new();
    if new_parser(format, vpc_flow_format)
        .parse_fields(message, &mut inner)
        .is_err()
        || inner.len() != 1
    {
        return;
    }
    let Some(parsed) = inner.pop() else {
        return;
    };
    let mut envelope = std::mem::take(item).into_map();
    envelope.remove("aws");
    // The record's own time wins over the log event's.
    let mut others = ObjectMap::new();
    if let Some(ts) = envelope.get("timestamp").cloned() {
        others.insert(KeyString::from("timestamp"), ts);
    }
    others.insert(KeyString::from("cloudwatch"), Value::Object(envelope));
    *item = parsed.or_insert_all(others);
}

impl Emit<'_> {
    /// Turns parsed records into events carrying the input event's other fields and
    /// acknowledgement, and their origin's context.
    fn records(&mut self, event: Event, format: &'static Format, parsed: &mut Vec<Fields>) {
        let count = parsed.len();
        if count == 0 {
            // A header line or a control message: consumed.
            event.finalize(EventStatus::Dropped);
            return;
        }
        let unpacked = format.shape == Shape::Envelope;
        // Every output but the last gets a copy (its own stake in the acknowledgement); the last
        // takes the input's fields and metadata as they are.
        let Event { fields, metadata } = event;
        let (mut fields, mut metadata) = (Some(fields), Some(metadata));
        for (i, record) in parsed.drain(..).enumerate() {
            let last = i + 1 == count;
            let context = match (&fields, self.shared.aws_context) {
                (Some(input), true) => self.contexts.of(self.origin, unpacked, &record, input),
                _ => None,
            };
            let (base, meta) = if last {
                (fields.take(), metadata.take())
            } else {
                (fields.clone(), metadata.clone())
            };
            if let Some(meta) = meta {
                let mut merged = merge(self.shared, record, base.unwrap_or_default());
                context::apply(context.as_deref(), &mut merged);
                if self.shared.schema != OutputSchema::Native {
                    merged = normalize_fields(self.shared.schema, merged);
                }
                self.out.primary.push(Event::new(merged, meta));
            }
        }
    }
}

fn merge(shared: &Shared, record: Fields, original: Fields) -> Fields {
    let mut original = original.into_map();
    match &shared.target {
        Some(target) => {
            original.insert(target.clone(), Value::Object(record.into_map()));
            original.into()
        }
        None => {
            if !shared.keep_message {
                remove_path(&mut original, &shared.field);
            }
            record.or_insert_all(original)
        }
    }
}

fn fail(shared: &Shared, mut event: Event, error: &ParseError, out: &mut TransformOutput) {
    shared.metrics.error(ErrorType::ParseFailed.as_str(), 1);
    let extra = [
        ("format", Value::from(error.format)),
        ("field", Value::from(error.field.clone())),
        ("offset", Value::Integer(error.offset as i64)),
    ];
    error_object::attach(
        &mut event,
        shared.metrics.component_id(),
        ErrorType::ParseFailed,
        error.to_string(),
        extra,
    );
    out.push_named(ERRORS, event);
}

/// A parser for a format, honouring the configured VPC Flow Logs format.
pub(super) fn new_parser(
    format: &'static Format,
    vpc_flow_format: Option<&str>,
) -> Box<dyn RecordParser> {
    match (format.name, vpc_flow_format) {
        ("vpc_flow", Some(custom)) => match vpc_flow::VpcFlowParser::with_format(custom) {
            Ok(parser) => Box::new(parser),
            Err(_) => (format.new_parser)(),
        },
        _ => (format.new_parser)(),
    }
}

fn remove_path(map: &mut ObjectMap, path: &[String]) {
    match path {
        [] => {}
        [only] => {
            map.remove(only.as_str());
        }
        [first, rest @ ..] => {
            if let Some(Value::Object(inner)) = map.get_mut(first.as_str()) {
                remove_path(inner, rest);
            }
        }
    }
}
