//! A pipeline as the runtime sees it: validated component configs wired into a graph, and the
//! running set of tasks built from them.

pub mod diff;
pub mod graph;
pub mod running;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::buffer::BufferConfig;
use crate::component::{ComponentKind, SinkConfig, SourceConfig, TransformConfig};

pub use running::{ReloadError, RunOptions, RunningTopology, StopError};

/// The `[api]` table: where `/metrics` and `/health` are served.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// Serve the API at all (default true).
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Listen address (default `127.0.0.1:9598`; never all interfaces unless you say so).
    #[serde(default = "default_api_address")]
    pub address: SocketAddr,
}

fn default_true() -> bool {
    true
}

/// The default API address: loopback only.
pub fn default_api_address() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9598))
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            address: default_api_address(),
        }
    }
}

/// A component's plugin config, by kind.
#[derive(Debug)]
pub enum PluginConfig {
    /// A source.
    Source(Box<dyn SourceConfig>),
    /// A transform.
    Transform(Box<dyn TransformConfig>),
    /// A sink.
    Sink(Box<dyn SinkConfig>),
}

impl PluginConfig {
    /// The component kind.
    pub fn kind(&self) -> ComponentKind {
        match self {
            PluginConfig::Source(_) => ComponentKind::Source,
            PluginConfig::Transform(_) => ComponentKind::Transform,
            PluginConfig::Sink(_) => ComponentKind::Sink,
        }
    }

    /// Named outputs besides the default.
    pub fn outputs(&self) -> Vec<&'static str> {
        match self {
            PluginConfig::Source(c) => c.outputs(),
            PluginConfig::Transform(c) => c.outputs(),
            PluginConfig::Sink(c) => c.outputs(),
        }
    }
}

/// One component of a pipeline.
#[derive(Debug)]
pub struct ComponentConfig {
    /// The `type = "…"` name.
    pub type_name: String,
    /// `inputs` (transforms and sinks): `id` or `id.output`.
    pub inputs: Vec<String>,
    /// The input buffer (sinks; transforms use a small fixed one).
    pub buffer: BufferConfig,
    /// The plugin's own config.
    pub plugin: PluginConfig,
    /// The component's table as written (after interpolation), to tell changed from unchanged.
    pub raw: serde_json::Value,
}

/// A whole, validated pipeline.
#[derive(Debug, Default)]
pub struct PipelineConfig {
    /// Where checkpoints (and later disk buffers) live.
    pub data_dir: PathBuf,
    /// The HTTP API.
    pub api: ApiConfig,
    /// Every component by id.
    pub components: BTreeMap<String, ComponentConfig>,
}

/// Capacity of a transform's input buffer, in events. Transforms are synchronous and fast; a small
/// buffer keeps memory low while still letting a source read ahead by a batch or two.
pub const TRANSFORM_BUFFER_EVENTS: usize = 1024;
