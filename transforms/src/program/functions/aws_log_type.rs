//! `aws_log_type(value, stream: null, log_group: null, log_stream: null)`: which AWS log format a
//! record is, by the rules `aws_parse` uses with `format = "auto"`.
//!
//! Why: a program that routes or parses by format (`parse_aws(.message, format: …)`) needs the
//! same answer `aws_parse` would give, including the stream- and log-group-based rules that
//! content alone cannot apply (CloudFront data lines, for one, are known by their object name).

use vrl::compiler::prelude::*;
use weir_aws::formats::detect;
use weir_aws::formats::registry::Format;

const PARAMETERS: &[Parameter] = &[
    Parameter::required(
        "value",
        kind::BYTES,
        "One raw record: a log line or one JSON document.",
    ),
    Parameter::optional(
        "stream",
        kind::BYTES | kind::NULL,
        "The record's stream: an S3 key or `s3://bucket/key`, a file path, a Kinesis stream name \
         (`%stream` holds it for events of such sources).",
    ),
    Parameter::optional(
        "log_group",
        kind::BYTES | kind::NULL,
        "The CloudWatch Logs group of a record that came from a subscription.",
    ),
    Parameter::optional(
        "log_stream",
        kind::BYTES | kind::NULL,
        "The CloudWatch Logs stream of that record (some formats are known by it when their group \
         is not).",
    ),
];

/// The `aws_log_type` VRL function.
#[derive(Clone, Copy, Debug)]
pub struct AwsLogType;

impl Function for AwsLogType {
    fn identifier(&self) -> &'static str {
        "aws_log_type"
    }

    fn summary(&self) -> &'static str {
        "detect the AWS log format of a record"
    }

    fn usage(&self) -> &'static str {
        "The name of the AWS log format of `value` (`alb`, `vpc_flow`, `cloudtrail`, …, the names \
         `parse_aws` takes as `format`), or `null` if none matches. Checked in the order \
         `aws_parse` uses with `format = \"auto\"`: `stream` (S3 object layouts, file names), \
         then `log_group` and `log_stream`, then the content of `value` (its first bytes, or a \
         JSON document's top-level members)."
    }

    fn category(&self) -> &'static str {
        Category::Parse.as_ref()
    }

    fn return_kind(&self) -> u16 {
        kind::BYTES | kind::NULL
    }

    fn examples(&self) -> &'static [Example] {
        super::examples::AWS_LOG_TYPE
    }

    fn compile(
        &self,
        _state: &TypeState,
        _ctx: &mut FunctionCompileContext,
        arguments: ArgumentList,
    ) -> Compiled {
        Ok(AwsLogTypeFn {
            value: arguments.required("value"),
            stream: arguments.optional("stream"),
            log_group: arguments.optional("log_group"),
            log_stream: arguments.optional("log_stream"),
        }
        .as_expr())
    }

    fn parameters(&self) -> &'static [Parameter] {
        PARAMETERS
    }
}

#[derive(Clone, Debug)]
struct AwsLogTypeFn {
    value: Box<dyn Expression>,
    stream: Option<Box<dyn Expression>>,
    log_group: Option<Box<dyn Expression>>,
    log_stream: Option<Box<dyn Expression>>,
}

/// An optional text argument: `None` when absent or `null`.
fn text(
    expr: Option<&dyn Expression>,
    ctx: &mut Context,
) -> Result<Option<String>, ExpressionError> {
    let Some(expr) = expr else {
        return Ok(None);
    };
    match expr.resolve(ctx)? {
        Value::Null => Ok(None),
        value => Ok(Some(value.try_bytes_utf8_lossy()?.into_owned())),
    }
}

impl FunctionExpression for AwsLogTypeFn {
    fn resolve(&self, ctx: &mut Context) -> Resolved {
        let stream = text(self.stream.as_deref(), ctx)?;
        let log_group = text(self.log_group.as_deref(), ctx)?;
        let log_stream = text(self.log_stream.as_deref(), ctx)?;
        let value = self.value.resolve(ctx)?.try_bytes()?;
        let found = log_type(
            &value,
            stream.as_deref(),
            log_group.as_deref(),
            log_stream.as_deref(),
        );
        Ok(found.map_or(Value::Null, |format| Value::from(format.name)))
    }

    fn type_def(&self, _: &TypeState) -> TypeDef {
        // Infallible for strings; other kinds are rejected when compiling.
        TypeDef::bytes().or_null()
    }
}

/// The format `aws_parse` with `auto` picks for a record of `stream` (and of `log_group`).
fn log_type(
    value: &[u8],
    stream: Option<&str>,
    log_group: Option<&str>,
    log_stream: Option<&str>,
) -> Option<&'static Format> {
    stream
        .and_then(detect::by_stream)
        .or_else(|| log_group.and_then(|g| detect::by_log_group(g, log_stream)))
        .or_else(|| detect::by_content(value))
}
