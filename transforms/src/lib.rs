//! Weir's transforms: one module folder per plugin. The AWS log formats they parse live in `weir-aws`.
#![warn(missing_docs)]

pub mod aws_parse;
pub mod errors;
pub mod sample;

/// Every transform this crate provides, for the registry.
pub fn specs() -> Vec<weir_core::component::ComponentSpec> {
    vec![aws_parse::SPEC, sample::SPEC]
}
