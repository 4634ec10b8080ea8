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
//!   (`message`, `component`, `type`, `format`, `field`, `offset`), counted in
//!   `weir_component_errors_total{error_type="parse_failed"}`; it is never dropped silently (with
//!   nothing consuming `<id>.errors`, it continues on the main output, tagged).
//! * `aws_context` (see [`context`]): `cloud.*` and `aws.service`/`aws.resource.*` from where each
//!   record was delivered (S3 key, file path, CloudWatch log group), read once per stream.
//! * `schema = "ecs" | "ocsf"`: each event is rewritten by its format's mapping
//!   ([`weir_aws::normalize`]) after the context is added, so `cloud.*` lands in its place.
//! * Every core: the per-stream work above runs in stream order in [`AwsParse`]'s sequential
//!   step; parsing runs in the batch's [`job`] on any worker thread, with forks of stateful
//!   parsers taken after the header lines before each record.

mod context;
mod job;
mod streams;

use std::sync::Arc;
use std::time::Duration;
use weir_core::component::PluginCommon;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use vrl::value::{KeyString, Value};
use weir_core::ack::EventStatus;
use weir_core::component::{
    BuildContext, BuildError, ComponentSpec, ConfigProblem, ParseConfig, Transform,
    TransformConfig, TransformJob,
};
use weir_core::event::Event;
use weir_core::metrics::ComponentMetrics;
use weir_core::output::ERRORS;

use context::{Context, Origin};
use job::{new_parser, Job, Shared};
use streams::Streams;
use weir_aws::formats::registry::{self, Format};
use weir_aws::formats::{detect, vpc_flow, ParseError};
use weir_aws::normalize::OutputSchema;

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
    /// Add fields saying where each record came from, read from where it was delivered rather
    /// than from its content: `cloud.provider` (`aws`), `cloud.account.id`, `cloud.region`,
    /// `aws.service` (the service namespace: `cloudtrail`, `elasticloadbalancing`, `ec2` for VPC
    /// Flow Logs, `wafv2`, `lambda`, …), `aws.resource.type` and `aws.resource.name` (such as
    /// `loadbalancer`/`my-lb`, `function`/`checkout`, `db`/`orders`) and, for organization
    /// trails, `aws.organization.id`. Read from, first wins: a CloudWatch Logs subscription
    /// event's log group (`/aws/lambda/<function>`, `/aws/rds/instance/<db>/<log>`, …), log
    /// stream (CloudTrail's `<account>_CloudTrail_<region>`) and owner; the S3 key or file path
    /// (`AWSLogs/[<org-id>/]<account>/<service>/<region>/…`, load balancer, Redshift, WAF,
    /// CloudFront and S3 access log object names); then, only to fill what a known origin
    /// lacks, the ARN of the record's own resource (ALB `target_group_arn`, WAF `webaclId`,
    /// Firehose `deliveryStreamARN`) when it is of the same account. A stream of no known
    /// layout gets no field at all. Fields the event already has are kept, never replaced;
    /// context goes to the event's root, also with `target`.
    #[serde(default = "default_aws_context")]
    pub aws_context: bool,
    /// The schema events come out in: `native` (the parsers' own field names), `ecs` (Elastic
    /// Common Schema 9.x, with `data_stream.*` named as Elastic's `aws` integration names its
    /// data streams) or `ocsf` (OCSF 1.1.0, as Amazon Security Lake writes it). Each format
    /// declares its mappings next to its parser; a format without one for the schema gets the
    /// schema's base fields (`weir parse --list-formats` says which). Nothing is dropped: native
    /// fields without a place in the schema are kept under `aws.<name>.*` (ECS) or `unmapped`
    /// (OCSF). Needs the parsed fields at the event's root (no `target`).
    #[serde(default)]
    pub schema: OutputSchema,
}

impl Default for AwsParseConfig {
    fn default() -> Self {
        Self {
            format: default_format(),
            field: default_field(),
            target: None,
            keep_message: false,
            vpc_flow_format: None,
            aws_context: default_aws_context(),
            schema: OutputSchema::Native,
        }
    }
}

fn default_aws_context() -> bool {
    true
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
        if self.schema != OutputSchema::Native && self.target.is_some() {
            problems.push(ConfigProblem::new(
                "schema",
                format!(
                    "`{}` output is a whole document: it needs the parsed fields at the root (remove `target`)",
                    self.schema
                ),
            ));
        }
        if let Some(format) = &self.vpc_flow_format {
            if let Err(e) = vpc_flow::VpcFlowParser::with_format(format) {
                problems.push(ConfigProblem::new("vpc_flow_format", e.message));
            }
        }
        problems
    }
    fn outputs(&self) -> Vec<String> {
        vec![ERRORS.to_string()]
    }
}

impl TransformConfig for AwsParseConfig {
    fn build(&self, cx: &BuildContext) -> Result<Box<dyn Transform>, BuildError> {
        Ok(Box::new(AwsParse::new(self, cx.metrics.clone())?))
    }
}

/// The running transform (also used by `weir parse`): the sequential step of each batch (see
/// [`Transform`]) — each event's stream, its format, header lines, multi-line assembly — while
/// the parsing itself is the batch's [`job`], run on any worker thread.
pub struct AwsParse {
    fixed: Option<&'static Format>,
    field: Vec<String>,
    streams: Streams,
    shared: Arc<Shared>,
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
        let field: Vec<String> = config.field.split('.').map(str::to_string).collect();
        Ok(Self {
            fixed,
            field: field.clone(),
            streams: Streams::default(),
            shared: Arc::new(Shared {
                fixed: fixed.is_some(),
                field,
                target: config.target.as_deref().map(KeyString::from),
                keep_message: config.keep_message,
                vpc_flow_format: config.vpc_flow_format.clone(),
                aws_context: config.aws_context,
                schema: config.schema,
                metrics,
            }),
        })
    }

    /// The sequential step for one event: what needs the stream's state.
    fn step(&mut self, event: Event, job: &mut Job) {
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
                job.fail(event, error);
                return;
            }
        };
        let log_group = cloudwatch_origin(&event);
        let Some(identity) = event
            .metadata
            .stream
            .as_ref()
            .map(|s| Arc::clone(&s.stream))
        else {
            // No stream, no state: detection and all happen in the job.
            job.detect(event, raw, log_group, self.fixed);
            return;
        };
        let fixed = self.fixed;
        let stream = self.streams.state(Some(&identity), || {
            fixed.or_else(|| {
                detect::by_stream(&identity).or_else(|| {
                    log_group
                        .as_ref()
                        .and_then(|(g, s)| detect::by_log_group(g, s.as_deref()))
                })
            })
        });
        if self.shared.aws_context {
            self.streams
                .read_context(stream, || Context::of_stream(&identity));
        }
        let format = match self.streams.format(stream) {
            Some(format) => format,
            None => {
                let found = detect::by_content(&raw);
                self.streams.set_format(stream, found);
                let Some(format) = found else {
                    let error = ParseError::new(
                        "auto",
                        "",
                        0,
                        "no known AWS log format matches this record",
                    );
                    job.fail(event, error);
                    return;
                };
                format
            }
        };
        // Records spanning lines are assembled first (only for line-framed input, not for
        // CloudWatch events, which are whole records already).
        match (format.record_start, log_group.is_none()) {
            (Some(is_start), true) => {
                if let Some((record, first)) =
                    self.streams.assemble(stream, raw, event, format, is_start)
                {
                    self.record(stream, format, record, first, job, false);
                }
            }
            (_, plain) => self.record(stream, format, raw, event, job, !plain),
        }
    }

    /// A whole record of a stream: a context line is taken by the stream's parser here, in
    /// order; any other record is parsed by the job, with a fork of that parser if it has context.
    fn record(
        &mut self,
        stream: usize,
        format: &'static Format,
        raw: Bytes,
        event: Event,
        job: &mut Job,
        input_cloudwatch: bool,
    ) {
        let origin = Origin {
            stream: self.streams.context(stream),
            has_stream: true,
            input_cloudwatch,
        };
        let vpc_flow_format = self.shared.vpc_flow_format.as_deref();
        let parser = self
            .streams
            .parser(stream, format, |f| new_parser(f, vpc_flow_format));
        if parser.is_context(&raw) {
            let mut none = Vec::new();
            // A context line sets the parser up and yields nothing: consumed.
            match parser.parse_fields(&raw, &mut none) {
                Ok(()) => event.finalize(EventStatus::Dropped),
                Err(error) => job.fail(event, error),
            }
            job.forget_fork(stream, format);
            return;
        }
        job.parse(stream, format, parser, raw, event, origin);
    }
}

impl Transform for AwsParse {
    fn transform(&mut self, events: Vec<Event>) -> TransformJob {
        let mut job = Job::new(Arc::clone(&self.shared), events.len());
        for event in events {
            self.step(event, &mut job);
        }
        self.streams.evict_idle();
        job.into_transform_job()
    }

    fn flush(&mut self) -> Option<TransformJob> {
        let pending = self.streams.take_pending();
        if pending.is_empty() {
            return None;
        }
        let mut job = Job::new(Arc::clone(&self.shared), pending.len());
        for (stream, format, record, event) in pending {
            self.record(stream, format, record, event, &mut job, false);
        }
        Some(job.into_transform_job())
    }

    fn flush_interval(&self) -> Option<Duration> {
        match self.fixed {
            Some(format) if format.record_start.is_none() => None,
            _ => Some(MULTILINE_IDLE),
        }
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

/// The transform's registration.
pub const SPEC: ComponentSpec = ComponentSpec {
    type_name: "aws_parse",
    description: "Parse AWS logs (CloudTrail, VPC Flow, ALB/NLB/ELB, CloudFront, S3 access, WAF, Route 53, Redshift, RDS, Lambda, …), auto-detected per stream.",
    parse: ParseConfig::Transform(weir_core::component::parse_transform::<AwsParseConfig>),
    schema: weir_core::component::schema_of::<AwsParseConfig>,
};

#[cfg(test)]
mod tests;
