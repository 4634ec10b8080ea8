//! Weir's own VRL functions, next to VRL's stdlib.
//!
//! Why: VRL's stdlib parses a few AWS formats (`parse_aws_alb_log`, `parse_aws_vpc_flow_log`,
//! `parse_aws_cloudwatch_log_subscription_message`) with field names and types of its own. These
//! functions expose Weir's format registry ([`weir_aws::formats`]) instead, so a VRL program gets
//! exactly the fields the `aws_parse` transform gives — every format, the same names, the same
//! typed values, the same detection — and a pipeline can mix both without two schemas.
//!
//! * [`parse_aws`](parse_aws::ParseAws): one record → its parsed fields (an array for envelopes);
//! * [`aws_log_type`](aws_log_type::AwsLogType): which format a record (or stream) is;
//! * [`get_enrichment_table_record`, `find_enrichment_table_records`,
//!   `geoip`](enrichment): lookups in the pipeline's enrichment tables.

pub mod aws_log_type;
pub mod enrichment;
mod examples;
pub mod parse_aws;

use vrl::compiler::Function;

/// Every Weir VRL function, to add to VRL's stdlib when compiling.
pub fn all() -> Vec<Box<dyn Function>> {
    vec![
        Box::new(parse_aws::ParseAws),
        Box::new(aws_log_type::AwsLogType),
        Box::new(enrichment::GET_RECORD),
        Box::new(enrichment::FIND_RECORDS),
        Box::new(enrichment::Geoip),
    ]
}

/// A compile-time argument error with a message of its own (VRL's `InvalidArgument` takes only a
/// static text).
#[derive(Debug, thiserror::Error)]
#[error("invalid argument \"{keyword}\": {message}")]
struct ArgumentError {
    keyword: &'static str,
    message: String,
}

impl vrl::diagnostic::DiagnosticMessage for ArgumentError {
    fn code(&self) -> usize {
        vrl::compiler::codes::FunctionCode::InvalidArgument as usize
    }

    fn labels(&self) -> Vec<vrl::diagnostic::Label> {
        // The compiler moves labels of a function's compile error to the call.
        vec![vrl::diagnostic::Label::primary(
            self.message.clone(),
            vrl::diagnostic::Span::default(),
        )]
    }
}

#[cfg(test)]
mod tests;
