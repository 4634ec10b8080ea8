//! Weir's sources: one module folder per plugin.
#![warn(missing_docs)]

pub(crate) mod aws_errors;
pub mod aws_firehose;
pub mod aws_kinesis;
pub mod aws_s3;
pub mod decoding;
pub(crate) mod decompress;
pub mod errors;
pub mod file;
pub(crate) mod framing;
pub(crate) mod ids;
pub mod stdin;
pub mod utf8;

/// Every source this crate provides, for the registry.
pub fn specs() -> Vec<weir_core::component::ComponentSpec> {
    vec![
        aws_firehose::SPEC,
        aws_kinesis::SPEC,
        aws_s3::SPEC,
        file::SPEC,
        stdin::SPEC,
    ]
}
