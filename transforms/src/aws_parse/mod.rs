//! Transform `aws_parse`: parses AWS logs with the [`weir_aws::formats`] registry.
//!
//! * `format = "auto"` picks the format per stream (see [`weir_aws::formats::detect`] for the rules): from
//!   the stream identity (S3 key or file path), then the CloudWatch log group, then the content.
//! * Per-stream context: every stream (file path, S3 object) gets its own parser, so a CloudFront
//!   `#Fields:` line or a VPC Flow header line configures the lines after it; header lines are
//!   consumed (acknowledged, not emitted).
//! * Records that span lines (Redshift user activity SQL, RDS PostgreSQL statements) are assembled
//!   per stream before parsing; the last one is handed out when the stream goes idle (1 s) or ends.
//! * Envelopes expand: a CloudWatch Logs subscription message becomes one event per log event (its
//!   CONTROL_MESSAGEs are dropped and acknowledged) and, with `auto`, each log event is parsed by its
//!   log group's format, the envelope's fields kept under `cloudwatch`; a CloudTrail `Records`
//!   document becomes one event per record.
//! * A record that cannot be parsed goes to the `<id>.errors` output with an `error` object
//!   (`message`, `format`, `field`, `offset`), counted in `weir_component_errors_total{error_type="parse_failed"}`;
//!   it is never dropped silently.

mod streams;

use std::sync::Arc;
use std::time::Duration;
use weir_core::component::PluginCommon;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use vrl::value::{KeyString, ObjectMap, Value};
use weir_core::ack::EventStatus;
use weir_core::component::{
    BuildContext, BuildError, ComponentSpec, ConfigProblem, ParseConfig, Transform,
    TransformConfig, TransformOutput,
};
use weir_core::event::Event;
use weir_core::fields::Fields;
use weir_core::metrics::ComponentMetrics;
use weir_core::output::ERRORS;

use streams::Streams;
use weir_aws::formats::registry::{self, Format, Shape};
use weir_aws::formats::{detect, vpc_flow, ParseError, RecordParser};

use crate::errors::ErrorType;

/// Configuration of the `aws_parse` transform.
///
/// ```toml
/// [transforms.parsed]
/// type = "aws_parse"
/// inputs = ["s3"]
/// format = "auto"          # or a format name, e.g. "alb", "vpc_flow", "cloudtrail"
///
/// [sinks.dead_letter]
/// type = "file"
/// inputs = ["parsed.errors"]
/// path = "./weir-out/unparsed.ndjson"
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AwsParseConfig {
    /// `auto` (default) or one format name of the registry (`weir parse --list-formats`, or the
    /// format table of the reference).
    #[serde(default = "default_format")]
    #[schemars(schema_with = "format_schema")]
    pub format: String,
    /// The field holding the raw record (default `message`; dotted paths allowed).
    #[serde(default = "default_field")]
    #[schemars(length(min = 1))]
    pub field: String,
    /// Where parsed fields go: the event's root (default, merged over the other fields, the raw
    /// field removed) or this named object (the event otherwise unchanged).
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub target: Option<String>,
    /// Keep the raw field next to the parsed fields when parsing into the root.
    #[serde(default)]
    pub keep_message: bool,
    /// The VPC Flow Logs format of streams without a header line (CloudWatch delivery, custom
    /// formats): the flow log's `LogFormat` (`${version} ${vpc-id} ${srcaddr} …`) or field names
    /// separated by spaces. Default: the v2 default format. A header line always wins.
    #[serde(default)]
    pub vpc_flow_format: Option<String>,
}

impl Default for AwsParseConfig {
    fn default() -> Self {
        Self {
            format: default_format(),
            field: default_field(),
            target: None,
            keep_message: false,
            vpc_flow_format: None,
        }
    }
}

fn default_format() -> String {
    "auto".into()
}

/// `format`'s schema: `auto` or a name of the format registry — the same list `validate` checks.
fn format_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let names: Vec<&str> = std::iter::once("auto").chain(registry::names()).collect();
    schemars::json_schema!({ "type": "string", "enum": names })
}

fn default_field() -> String {
    "message".into()
}

impl PluginCommon for AwsParseConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.format != "auto" && registry::find(&self.format).is_none() {
            problems.push(ConfigProblem::new(
                "format",
                format!(
                    "unknown format `{}` (auto, {})",
                    self.format,
                    registry::names().join(", ")
                ),
            ));
        }
        if self.field.is_empty() {
            problems.push(ConfigProblem::new("field", "must not be empty"));
        }
        if self.target.as_deref() == Some("") {
            problems.push(ConfigProblem::new("target", "must not be empty"));
        }
        if let Some(format) = &self.vpc_flow_format {
            if let Err(e) = vpc_flow::VpcFlowParser::with_format(format) {
                problems.push(ConfigProblem::new("vpc_flow_format", e.message));
            }
        }
        problems
    }
    fn outputs(&self) -> Vec<&'static str> {
        vec![ERRORS]
    }
}

impl TransformConfig for AwsParseConfig {
    fn build(&self, cx: &BuildContext) -> Result<Box<dyn Transform>, BuildError> {
        Ok(Box::new(AwsParse::new(self, cx.metrics.clone())?))
    }
}

/// The running transform (also used by `weir parse`).
pub struct AwsParse {
    fixed: Option<&'static Format>,
    field: Vec<String>,
    target: Option<KeyString>,
    keep_message: bool,
    vpc_flow_format: Option<String>,
    streams: Streams,
    metrics: ComponentMetrics,
    scratch: Vec<Fields>,
}

/// How long a stream may be idle before a multi-line record still waiting for its next line is
/// handed out.
const MULTILINE_IDLE: Duration = Duration::from_secs(1);

impl AwsParse {
    /// A parser for a config.
    pub fn new(config: &AwsParseConfig, metrics: ComponentMetrics) -> Result<Self, BuildError> {
        let fixed = match config.format.as_str() {
            "auto" => None,
            name => Some(
                registry::find(name)
                    .ok_or_else(|| BuildError::new("format", format!("unknown format `{name}`")))?,
            ),
        };
        Ok(Self {
            fixed,
            field: config.field.split('.').map(str::to_string).collect(),
            target: config.target.as_deref().map(KeyString::from),
            keep_message: config.keep_message,
            vpc_flow_format: config.vpc_flow_format.clone(),
            streams: Streams::default(),
            metrics,
            scratch: Vec::new(),
        })
    }

    fn process(&mut self, event: Event, out: &mut TransformOutput) {
        let raw = match event.get_path(&self.field) {
            Some(Value::Bytes(b)) => b.clone(),
            Some(Value::String(s)) => Bytes::copy_from_slice(s.as_bytes()),
            _ => {
                let error = ParseError::new(
                    "aws_parse",
                    self.field.join("."),
                    0,
                    "field missing or not a string",
                );
                self.fail(event, &error, out);
                return;
            }
        };
        let log_group = cloudwatch_origin(&event);
        let identity = event
            .metadata
            .stream
            .as_ref()
            .map(|s| Arc::clone(&s.stream));
        let fixed = self.fixed;
        let stream = self.streams.state(identity.as_ref(), || {
            fixed.or_else(|| {
                identity.as_deref().and_then(detect::by_stream).or_else(|| {
                    log_group
                        .as_ref()
                        .and_then(|(g, s)| detect::by_log_group(g, s.as_deref()))
                })
            })
        });
        // Records spanning lines are assembled first (only for line-framed input, not for
        // CloudWatch events, which are whole records already).
        let format = self.streams.format(stream).or_else(|| {
            let found = detect::by_content(&raw);
            if identity.is_some() {
                self.streams.set_format(stream, found);
            }
            found
        });
        let Some(format) = format else {
            let error =
                ParseError::new("auto", "", 0, "no known AWS log format matches this record");
            self.fail(event, &error, out);
            return;
        };
        match (
            format.record_start,
            log_group.is_none() && identity.is_some(),
        ) {
            (Some(is_start), true) => {
                if let Some((record, first)) =
                    self.streams.assemble(stream, raw, event, format, is_start)
                {
                    self.parse(format, stream, record, first, out);
                }
            }
            _ => self.parse(format, stream, raw, event, out),
        }
    }

    fn parse(
        &mut self,
        format: &'static Format,
        stream: usize,
        raw: Bytes,
        event: Event,
        out: &mut TransformOutput,
    ) {
        self.scratch.clear();
        let fixed = self.fixed.is_some();
        let vpc_flow_format = self.vpc_flow_format.as_deref();
        let make = |format: &'static Format| new_parser(format, vpc_flow_format);
        let result = self
            .streams
            .parser(stream, format, make)
            .parse_fields(&raw, &mut self.scratch);
        match result {
            Ok(()) => {
                let mut parsed = std::mem::take(&mut self.scratch);
                if format.shape == Shape::Envelope && !fixed {
                    for item in &mut parsed {
                        self.parse_log_event(item);
                    }
                }
                self.emit(event, &mut parsed, out);
                self.scratch = parsed;
            }
            Err(error) => {
                // A content-detected stream may mix formats: try this record on its own.
                let second = (!fixed)
                    .then(|| detect::by_content(&raw))
                    .flatten()
                    .filter(|f| f.name != format.name);
                if let Some(other) = second {
                    let mut parser = new_parser(other, self.vpc_flow_format.as_deref());
                    self.scratch.clear();
                    if parser.parse_fields(&raw, &mut self.scratch).is_ok() {
                        let mut parsed = std::mem::take(&mut self.scratch);
                        self.emit(event, &mut parsed, out);
                        self.scratch = parsed;
                        return;
                    }
                }
                self.fail(event, &error, out);
            }
        }
    }

    /// With `auto`, parses one CloudWatch log event's message by its log group's format; the
    /// envelope fields move under `cloudwatch`.
    fn parse_log_event(&mut self, item: &mut Fields) {
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
        if (format.new_parser)()
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

    /// Turns parsed records into events carrying the input event's other fields and acknowledgement.
    fn emit(&mut self, event: Event, parsed: &mut Vec<Fields>, out: &mut TransformOutput) {
        let count = parsed.len();
        if count == 0 {
            // A header line or a control message: consumed.
            event.finalize(EventStatus::Dropped);
            return;
        }
        // Every output but the last gets a copy (its own stake in the acknowledgement); the last
        // takes the input's fields and metadata as they are.
        let Event { fields, metadata } = event;
        let (mut fields, mut metadata) = (Some(fields), Some(metadata));
        for (i, record) in parsed.drain(..).enumerate() {
            let last = i + 1 == count;
            let (base, meta) = if last {
                (fields.take(), metadata.take())
            } else {
                (fields.clone(), metadata.clone())
            };
            if let Some(meta) = meta {
                let merged = self.merge(record, base.unwrap_or_default());
                out.primary.push(Event::new(merged, meta));
            }
        }
    }

    fn merge(&self, record: Fields, original: Fields) -> Fields {
        let mut original = original.into_map();
        match &self.target {
            Some(target) => {
                original.insert(target.clone(), Value::Object(record.into_map()));
                original.into()
            }
            None => {
                if !self.keep_message {
                    remove_path(&mut original, &self.field);
                }
                record.or_insert_all(original)
            }
        }
    }

    fn fail(&mut self, mut event: Event, error: &ParseError, out: &mut TransformOutput) {
        self.metrics.error(ErrorType::ParseFailed.as_str(), 1);
        let mut detail = ObjectMap::new();
        detail.insert("message".into(), Value::from(error.to_string()));
        detail.insert("format".into(), Value::from(error.format));
        detail.insert("field".into(), Value::from(error.field.clone()));
        detail.insert("offset".into(), Value::Integer(error.offset as i64));
        event.fields.insert("error".into(), Value::Object(detail));
        out.push_named(ERRORS, event);
    }
}

/// A parser for a format, honouring the configured VPC Flow Logs format.
fn new_parser(format: &'static Format, vpc_flow_format: Option<&str>) -> Box<dyn RecordParser> {
    match (format.name, vpc_flow_format) {
        ("vpc_flow", Some(custom)) => match vpc_flow::VpcFlowParser::with_format(custom) {
            Ok(parser) => Box::new(parser),
            Err(_) => (format.new_parser)(),
        },
        _ => (format.new_parser)(),
    }
}

/// The CloudWatch log group and stream of an event that came from a subscription, if any
/// (`log_group`/`log_stream` or `cloudwatch.log_group`/`cloudwatch.log_stream` fields).
fn cloudwatch_origin(event: &Event) -> Option<(String, Option<String>)> {
    let text = |v: &Value| v.to_string_lossy().into_owned();
    if let Some(group) = event.fields.get("log_group") {
        return Some((text(group), event.fields.get("log_stream").map(text)));
    }
    match event.fields.get("cloudwatch") {
        Some(Value::Object(cw)) => {
            Some((text(cw.get("log_group")?), cw.get("log_stream").map(text)))
        }
        _ => None,
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

impl Transform for AwsParse {
    fn transform(&mut self, events: Vec<Event>, out: &mut TransformOutput) {
        out.primary.reserve(events.len());
        for event in events {
            self.process(event, out);
        }
        self.streams.evict_idle();
    }

    fn flush(&mut self, out: &mut TransformOutput) {
        for (stream, format, record, event) in self.streams.take_pending() {
            self.parse(format, stream, record, event, out);
        }
    }

    fn flush_interval(&self) -> Option<Duration> {
        match self.fixed {
            Some(format) if format.record_start.is_none() => None,
            _ => Some(MULTILINE_IDLE),
        }
    }
}

/// The transform's registration.
pub const SPEC: ComponentSpec = ComponentSpec {
    type_name: "aws_parse",
    description: "Parse AWS logs (CloudTrail, VPC Flow, ALB/NLB/ELB, CloudFront, S3 access, WAF, Route 53, Redshift, RDS, Lambda, …), auto-detected per stream.",
    parse: ParseConfig::Transform(weir_core::component::parse_transform::<AwsParseConfig>),
    schema: weir_core::component::schema_of::<AwsParseConfig>,
};

#[cfg(test)]
mod tests;
