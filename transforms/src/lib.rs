//! Weir's transforms: one module folder per plugin (`aws_parse`, `remap`, `filter`, `route`,
//! `sample`, `geoip`, `lookup`, `normalize`), plus what several of them share: compiling and running VRL
//! programs (`program`, with Weir's own VRL functions), where a program comes from
//! (`program_source`), the kinds of enrichment tables (`enrichment`) and the `error` object of
//! events a transform could not process (`error_object`). The AWS log formats they parse live in
//! `weir-aws`.
#![warn(missing_docs)]

pub mod aws_parse;
pub mod enrichment;
pub mod error_object;
pub mod errors;
pub mod filter;
pub mod geoip;
pub mod lookup;
pub mod normalize;
pub mod program;
pub mod program_source;
pub mod remap;
pub mod route;
pub mod sample;

/// Every transform this crate provides, for the registry.
pub fn specs() -> Vec<weir_core::component::ComponentSpec> {
    vec![
        aws_parse::SPEC,
        remap::SPEC,
        filter::SPEC,
        geoip::SPEC,
        lookup::SPEC,
        normalize::SPEC,
        route::SPEC,
        sample::SPEC,
    ]
}
