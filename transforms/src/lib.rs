//! Weir's transforms: one module folder per plugin, plus the AWS log parser catalogue in [`aws`].
#![warn(missing_docs)]

pub mod aws;
pub mod aws_parse;
pub mod sample;

/// Every transform this crate provides, for the registry.
pub fn specs() -> Vec<weir_core::component::ComponentSpec> {
    vec![aws_parse::SPEC, sample::SPEC]
}
