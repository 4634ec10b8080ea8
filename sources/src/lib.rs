//! Weir's sources: one module folder per plugin.
#![warn(missing_docs)]

pub mod aws_firehose;
pub mod decoding;
pub mod file;
pub mod stdin;

/// Every source this crate provides, for the registry.
pub fn specs() -> Vec<weir_core::component::ComponentSpec> {
    vec![aws_firehose::SPEC, file::SPEC, stdin::SPEC]
}
