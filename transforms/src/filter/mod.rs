//! Transform `filter`: keeps the events a VRL condition holds for — drop the noise (read-only
//! CloudTrail calls, accepted VPC flows, health checks) before it costs anything downstream.
//!
//! Events the condition is `false` for are acknowledged as dropped (so sources still delete
//! and checkpoint) and counted in `weir_component_discarded_events_total`. An event the
//! condition fails on (a runtime error) is neither kept nor dropped unseen: it goes to
//! `<id>.errors` with an `error` object — and so, when nothing consumes that, on along the main
//! output. Conditions have no state, so each batch is checked on any worker thread.

use serde::{Deserialize, Serialize};
use weir_core::ack::EventStatus;
use weir_core::component::{
    BatchTransform, BuildContext, BuildError, ComponentSpec, ConfigProblem, ParseConfig,
    PluginCommon, Stateless, Transform, TransformConfig, TransformOutput,
};
use weir_core::enrichment::EnrichmentTables;
use weir_core::event::Event;
use weir_core::metrics::ComponentMetrics;
use weir_core::output::ERRORS;

use crate::error_object;
use crate::program::{CompileOptions, Program, Runner};
use crate::program_source::{self, ProgramKind};

/// Configuration of the `filter` transform.
///
/// ```toml
/// [transforms.writes_only]
/// type = "filter"
/// inputs = ["cloudtrail"]
/// condition = '.readOnly != true'
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilterConfig {
    /// A VRL boolean expression; events it is `true` for are kept.
    #[schemars(length(min = 1))]
    pub condition: String,
    /// Time zone of the condition's local-time functions (IANA name or `local`). Default UTC.
    #[serde(default)]
    pub timezone: Option<String>,
}

impl FilterConfig {
    fn compile(&self, tables: Option<&EnrichmentTables>) -> Result<Program, ConfigProblem> {
        let options = CompileOptions {
            timezone: self.timezone.clone(),
            tables: tables.cloned(),
        };
        program_source::compile(
            &self.condition,
            "condition",
            ProgramKind::Condition,
            &options,
        )
    }
}

impl PluginCommon for FilterConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        self.compile(None).err().into_iter().collect()
    }

    fn outputs(&self) -> Vec<String> {
        vec![ERRORS.to_string()]
    }
}

impl TransformConfig for FilterConfig {
    fn build(&self, cx: &BuildContext) -> Result<Box<dyn Transform>, BuildError> {
        let condition = self
            .compile(Some(&cx.tables))
            .map_err(program_source::build_error)?;
        Ok(Stateless::boxed(Filter {
            condition,
            metrics: cx.metrics.clone(),
        }))
    }
}

/// The running transform (see [`Stateless`]).
pub struct Filter {
    condition: Program,
    metrics: ComponentMetrics,
}

impl BatchTransform for Filter {
    fn run_batch(&self, events: Vec<Event>, out: &mut TransformOutput) {
        let mut runner = Runner::default();
        for event in events {
            match self.condition.check(&event, &mut runner) {
                Ok(true) => out.primary.push(event),
                Ok(false) => {
                    self.metrics.discarded.inc();
                    event.finalize(EventStatus::Dropped);
                }
                Err(message) => error_object::condition_failed(&self.metrics, event, message, out),
            }
        }
    }
}

/// The transform's registration.
pub const SPEC: ComponentSpec = ComponentSpec {
    type_name: "filter",
    description:
        "Keep the events a VRL condition is true for; the others are acknowledged as dropped.",
    parse: ParseConfig::Transform(weir_core::component::parse_transform::<FilterConfig>),
    schema: weir_core::component::schema_of::<FilterConfig>,
};

#[cfg(test)]
mod tests;
