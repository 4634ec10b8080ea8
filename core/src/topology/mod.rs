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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// Serve the API at all.
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

    /// What every kind of plugin config offers (validation, outputs, the normalized form): the
    /// one place a config is matched by kind for them.
    pub fn common(&self) -> &dyn crate::component::PluginCommon {
        match self {
            PluginConfig::Source(c) => c.as_ref(),
            PluginConfig::Transform(c) => c.as_ref(),
            PluginConfig::Sink(c) => c.as_ref(),
        }
    }

    /// Named outputs besides the default.
    pub fn outputs(&self) -> Vec<String> {
        self.common().outputs()
    }

    /// The plugin's parsed config serialized back to JSON (see
    /// [`PluginCommon::normalized`](crate::component::PluginCommon::normalized)): what a reload
    /// compares, so a default written out or left out makes no difference. `None` for configs
    /// built in code rather than parsed.
    pub fn normalized(&self) -> Option<serde_json::Value> {
        self.common().normalized()
    }

    /// Builds the running component and drops it unstarted: what `weir validate` does to find
    /// the problems only building shows (a missing TLS file, an unreadable database).
    pub fn try_build(
        &self,
        cx: &crate::component::BuildContext,
    ) -> Result<(), crate::component::BuildError> {
        match self {
            PluginConfig::Source(c) => c.build(cx).map(drop),
            PluginConfig::Transform(c) => c.build(cx).map(drop),
            PluginConfig::Sink(c) => c.build(cx).map(drop),
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
    /// The component's table as written (after interpolation), `type` and `inputs` included. A
    /// reload compares components by their parsed config ([`PluginConfig::normalized`]); this
    /// only for plugin configs that have no normalized form (built in code, not parsed).
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
    /// The enrichment tables, loaded, by name: what components get in their build context.
    pub enrichment_tables: crate::enrichment::EnrichmentTables,
}

/// Capacity of a transform's input buffer, in events. Transforms are synchronous and fast; a small
/// buffer keeps memory low while still letting a source read ahead by a batch or two.
pub const TRANSFORM_BUFFER_EVENTS: usize = 1024;
