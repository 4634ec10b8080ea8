//! `parse_aws(value, format: "auto", vpc_flow_format: null, fields: null)`: one AWS log record
//! parsed by Weir's format registry, exactly as the `aws_parse` transform parses it.
//!
//! Why a function as well as the transform: a `remap` program can parse a field that is not the
//! event's root record (a message inside a JSON wrapper), choose the format from other fields, or
//! keep both raw and parsed fields, while the fields it gets are those `aws_parse` gives.
//!
//! Parsing state: `aws_parse` keeps a parser per stream, so header lines (VPC Flow, CloudFront
//! `#Fields:`) configure the lines after them, and it assembles records that span lines. A
//! function call sees one value only: a header line is an error (pass the columns as
//! `vpc_flow_format` or `fields` instead), and multi-line records (Redshift user activity, RDS
//! PostgreSQL statements) parse only when the value holds the whole record.

use std::borrow::Cow;
use std::cell::RefCell;

use vrl::compiler::prelude::*;
use weir_aws::formats::cloudfront::{self, CloudFrontParser};
use weir_aws::formats::registry::{self, Format, Shape};
use weir_aws::formats::vpc_flow::{self, VpcFlowParser};
use weir_aws::formats::{detect, RecordParser};
use weir_core::fields::Fields;

use super::ArgumentError;

const PARAMETERS: &[Parameter] = &[
    Parameter::required(
        "value",
        kind::BYTES,
        "One raw record: a log line, or one JSON document (a CloudTrail event or `Records` \
         document, a CloudWatch Logs subscription message, …).",
    ),
    Parameter::optional(
        "format",
        kind::BYTES,
        "`auto` (the default: detected from the record's content) or a format name of the \
         registry (`alb`, `vpc_flow`, `cloudtrail`, … — `weir parse --list-formats`).",
    ),
    Parameter::optional(
        "vpc_flow_format",
        kind::BYTES | kind::NULL,
        "The VPC Flow Logs format of custom-format records: the flow log's `LogFormat` \
         (`${version} ${vpc-id} …`) or field names separated by spaces. Default: the v2 \
         default format.",
    ),
    Parameter::optional(
        "fields",
        kind::BYTES | kind::NULL,
        "The columns of CloudFront records: the text after `#Fields:` of the log file's header. \
         Default: the 33 legacy standard-log columns.",
    ),
];

/// The `parse_aws` VRL function.
#[derive(Clone, Copy, Debug)]
pub struct ParseAws;

impl Function for ParseAws {
    fn identifier(&self) -> &'static str {
        "parse_aws"
    }

    fn summary(&self) -> &'static str {
        "parse one AWS log record with Weir's format registry"
    }

    fn usage(&self) -> &'static str {
        "Parses `value`, one AWS log record, into the fields Weir's `aws_parse` transform gives \
         it: AWS's field names in snake_case, typed values, `timestamp` and `aws.log_type`. With \
         `format: \"auto\"` the format is detected from the content (use `aws_log_type` with a \
         `stream` or `log_group` to detect it from those, then pass it as `format`), and the log \
         events of a CloudWatch Logs subscription message are parsed by their log group's format \
         (the envelope's fields under `cloudwatch`). Envelopes that carry several records (a \
         CloudWatch Logs subscription message, a CloudTrail or S3 notification `Records` \
         document, a Firehose request) give an array of objects, so `. = parse_aws!(.message)` \
         splits the event; any other record gives one object. A header line (VPC Flow Logs, \
         CloudFront `#` lines) is an error: pass its columns as `vpc_flow_format` or `fields`. \
         Records that span lines (Redshift user activity, RDS PostgreSQL statements) parse only \
         if `value` holds the whole record: whole multi-line streams need the `aws_parse` \
         transform."
    }

    fn category(&self) -> &'static str {
        Category::Parse.as_ref()
    }

    fn internal_failure_reasons(&self) -> &'static [&'static str] {
        &[
            "`value` matches no known AWS log format (with `format: \"auto\"`).",
            "`value` is not a valid record of the format.",
            "`value` is a header line, which carries no record.",
        ]
    }

    fn return_kind(&self) -> u16 {
        kind::OBJECT | kind::ARRAY
    }

    fn examples(&self) -> &'static [Example] {
        super::examples::PARSE_AWS
    }

    fn compile(
        &self,
        state: &TypeState,
        _ctx: &mut FunctionCompileContext,
        arguments: ArgumentList,
    ) -> Compiled {
        let format = compile_arg(&arguments, "format", state, None, format_named)?;
        let vpc_flow = compile_arg(&arguments, "vpc_flow_format", state, None, vpc_flow_parser)?;
        let cloudfront = compile_arg(&arguments, "fields", state, None, cloudfront_parser)?;
        Ok(ParseAwsFn {
            value: arguments.required("value"),
            format,
            vpc_flow,
            cloudfront,
        }
        .as_expr())
    }

    fn parameters(&self) -> &'static [Parameter] {
        PARAMETERS
    }
}

/// An argument known at compile time, or an expression to resolve per call.
#[derive(Clone, Debug)]
enum Arg<T> {
    Fixed(T),
    Dynamic(Box<dyn Expression>),
}

/// The argument `keyword` (`absent` if not given): made now if it is a literal, so that a bad
/// one is a compile error; else made per call.
fn compile_arg<T>(
    arguments: &ArgumentList,
    keyword: &'static str,
    state: &TypeState,
    absent: T,
    make: fn(Value) -> Result<T, String>,
) -> Result<Arg<T>, Box<dyn DiagnosticMessage>> {
    let Some(expr) = arguments.optional(keyword) else {
        return Ok(Arg::Fixed(absent));
    };
    match expr.resolve_constant(state) {
        None => Ok(Arg::Dynamic(expr)),
        Some(value) => make(value)
            .map(Arg::Fixed)
            .map_err(|message| Box::new(ArgumentError { keyword, message }) as _),
    }
}

impl<T: Clone> Arg<T> {
    /// The argument's value for this call (borrowed when fixed).
    fn resolve(
        &self,
        ctx: &mut Context,
        make: fn(Value) -> Result<T, String>,
    ) -> Result<Cow<'_, T>, ExpressionError> {
        match self {
            Arg::Fixed(value) => Ok(Cow::Borrowed(value)),
            Arg::Dynamic(expr) => Ok(Cow::Owned(make(expr.resolve(ctx)?)?)),
        }
    }
}

#[derive(Clone, Debug)]
struct ParseAwsFn {
    value: Box<dyn Expression>,
    /// `None`: `auto`.
    format: Arg<Option<&'static Format>>,
    vpc_flow: Arg<Option<VpcFlowParser>>,
    cloudfront: Arg<Option<CloudFrontParser>>,
}

impl FunctionExpression for ParseAwsFn {
    fn resolve(&self, ctx: &mut Context) -> Resolved {
        let raw = self.value.resolve(ctx)?.try_bytes()?;
        let format = self.format.resolve(ctx, format_named)?;
        let vpc_flow = self.vpc_flow.resolve(ctx, vpc_flow_parser)?;
        let cloudfront = self.cloudfront.resolve(ctx, cloudfront_parser)?;
        let custom = Custom {
            vpc_flow: Option::as_ref(&vpc_flow),
            cloudfront: Option::as_ref(&cloudfront),
        };
        Ok(parse(&raw, *format, &custom)?)
    }

    fn type_def(&self, _: &TypeState) -> TypeDef {
        match &self.format {
            // Formats that never carry several records give one object.
            Arg::Fixed(Some(format)) if matches!(format.shape, Shape::Positional | Shape::Text) => {
                TypeDef::object(Collection::any()).fallible()
            }
            _ => TypeDef::object(Collection::any())
                .or_array(Collection::any())
                .fallible(),
        }
    }
}

/// The format `format` names (`None` for `auto`).
fn format_named(value: Value) -> Result<Option<&'static Format>, String> {
    let name = value.try_bytes_utf8_lossy().map_err(|e| e.to_string())?;
    if name == "auto" {
        return Ok(None);
    }
    registry::find(&name).map(Some).ok_or_else(|| {
        format!(
            "unknown format `{name}` (auto, {})",
            registry::names().join(", ")
        )
    })
}

fn vpc_flow_parser(value: Value) -> Result<Option<VpcFlowParser>, String> {
    match value {
        Value::Null => Ok(None),
        value => {
            let text = value.try_bytes_utf8_lossy().map_err(|e| e.to_string())?;
            VpcFlowParser::with_format(&text)
                .map(Some)
                .map_err(|e| e.to_string())
        }
    }
}

fn cloudfront_parser(value: Value) -> Result<Option<CloudFrontParser>, String> {
    match value {
        Value::Null => Ok(None),
        value => {
            let text = value.try_bytes_utf8_lossy().map_err(|e| e.to_string())?;
            if text.split_ascii_whitespace().next().is_none() {
                return Err("no field names".into());
            }
            Ok(Some(CloudFrontParser::with_fields(&text)))
        }
    }
}

/// The parsers the `vpc_flow_format` and `fields` arguments ask for.
#[derive(Clone, Copy, Default)]
pub(super) struct Custom<'a> {
    pub(super) vpc_flow: Option<&'a VpcFlowParser>,
    pub(super) cloudfront: Option<&'a CloudFrontParser>,
}

/// Parses one record (see the function's usage text): one object, or an array for envelopes;
/// `Err(message)` when it does not parse or carries no record.
pub(super) fn parse(
    raw: &Bytes,
    format: Option<&'static Format>,
    custom: &Custom,
) -> Result<Value, String> {
    let auto = format.is_none();
    let format = match format {
        Some(format) => format,
        None => detect::by_content(raw)
            .ok_or_else(|| "no known AWS log format matches this record".to_string())?,
    };
    let mut records = Vec::new();
    parse_with(format, custom, raw, &mut records)?;
    if format.shape == Shape::Envelope && auto {
        for item in &mut records {
            parse_log_event(item, custom);
        }
    }
    let many =
        format.shape == Shape::Envelope || (format.shape == Shape::Json && carries_records(raw));
    match (many, records.pop()) {
        (false, Some(record)) if records.is_empty() => Ok(Value::Object(record.into_map())),
        (false, None) => Err(no_record(format)),
        (_, last) => Ok(Value::Array(
            records
                .into_iter()
                .chain(last)
                .map(|f| Value::Object(f.into_map()))
                .collect(),
        )),
    }
}

/// Why a record that parsed gave nothing.
fn no_record(format: &Format) -> String {
    match format.name {
        vpc_flow::LOG_TYPE => "vpc_flow: a header line names the columns of the records after it \
            and is no record: pass its columns as `vpc_flow_format`, or parse whole streams with \
            the `aws_parse` transform"
            .into(),
        cloudfront::LOG_TYPE => "cloudfront: a `#` header line is no record: pass the `#Fields:` \
            columns as `fields`, or parse whole streams with the `aws_parse` transform"
            .into(),
        name => format!("{name}: the record carries no log record (a header, a digest file)"),
    }
}

/// Whether a JSON record is a `Records` document (many records, as an array).
fn carries_records(raw: &[u8]) -> bool {
    let start = raw
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(raw.len());
    let json = raw.get(start..).unwrap_or_default();
    let json = json
        .get(..detect::JSON_SCAN_BYTES.min(json.len()))
        .unwrap_or_default();
    detect::JsonMembers::scan(json).has("Records")
}

/// With `auto`, parses one CloudWatch log event's message by its log group's format (else its
/// content); the envelope's fields move under `cloudwatch`. As `aws_parse` does, except that the
/// `vpc_flow_format` and `fields` arguments apply to the log events too.
fn parse_log_event(item: &mut Fields, custom: &Custom) {
    let text = |key: &str| item.get(key).map(|v| v.to_string_lossy().into_owned());
    let (group, stream) = (text("log_group"), text("log_stream"));
    let Some(Value::Bytes(message)) = item.get("message") else {
        return;
    };
    let Some(format) = group
        .as_deref()
        .and_then(|g| detect::by_log_group(g, stream.as_deref()))
        .or_else(|| detect::by_content(message))
    else {
        return;
    };
    let mut inner = Vec::new();
    let parsed = parse_with(format, custom, message, &mut inner);
    if parsed.is_err() || inner.len() != 1 {
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

thread_local! {
    /// One parser per format and thread, made once (a new parser builds its format's schema).
    /// They only ever parse records, never context lines (headers), so they stay as new.
    static PARSERS: RefCell<Vec<(&'static str, Box<dyn RecordParser>)>> =
        const { RefCell::new(Vec::new()) };
}

/// Parses `raw` as `format` into `out`, with a parser in its initial state (or as `custom`
/// configures it). A context line (a header) is an error: it configures a stream, and a call
/// has none.
fn parse_with(
    format: &'static Format,
    custom: &Custom,
    raw: &Bytes,
    out: &mut Vec<Fields>,
) -> Result<(), String> {
    let mut run = |parser: &mut dyn RecordParser| {
        if parser.is_context(raw) {
            return Err(no_record(format));
        }
        parser.parse_fields(raw, out).map_err(|e| e.to_string())
    };
    match (format.name, custom.vpc_flow, custom.cloudfront) {
        (vpc_flow::LOG_TYPE, Some(parser), _) => return run(&mut parser.clone()),
        (cloudfront::LOG_TYPE, _, Some(parser)) => return run(&mut parser.clone()),
        _ => {}
    }
    PARSERS.with(|cell| {
        let Ok(mut parsers) = cell.try_borrow_mut() else {
            return run((format.new_parser)().as_mut());
        };
        let i = match parsers.iter().position(|(name, _)| *name == format.name) {
            Some(i) => i,
            None => {
                parsers.push((format.name, (format.new_parser)()));
                parsers.len() - 1
            }
        };
        match parsers.get_mut(i) {
            Some((_, parser)) => run(parser.as_mut()),
            None => run((format.new_parser)().as_mut()),
        }
    })
}
