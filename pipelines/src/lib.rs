//! The `weir` binary's library half: pipeline-file loading and validation, the plugin registry,
//! the HTTP API and the embedded quickstart. `main.rs` is only the CLI on top.
#![warn(missing_docs)]

pub mod api;
pub mod config;
pub mod docs;
pub mod parse;
pub mod quickstart;
pub mod registry;
pub mod reload;
pub mod schema;
pub mod startup_checks;
pub mod tables;
pub mod vrl_command;
