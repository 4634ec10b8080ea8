//! Transform `route`: sends each event to the named outputs whose VRL condition holds for it —
//! CloudTrail to one index, VPC Flow to another topic — as Vector's `route` does.
//!
//! `route.<name> = "<condition>"` makes output `<id>.<name>`; events no condition holds for go
//! to `<id>._unmatched`. An event several conditions hold for goes to each of those outputs (a
//! copy each, each with its own share of the acknowledgement). A condition that fails on an
//! event (a runtime error) counts as not holding, as in Vector: the error is counted
//! (`error_type="condition_failed"`) and kept in the event's metadata (`%error`), and the event
//! still reaches `_unmatched` if nothing else holds — never lost. A route has no default output.
//! Conditions have no state, so each batch is routed on any worker thread.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use weir_core::component::{
    BatchTransform, BuildContext, BuildError, ComponentSpec, ConfigProblem, ParseConfig,
    PluginCommon, Stateless, Transform, TransformConfig, TransformOutput,
};
use weir_core::enrichment::EnrichmentTables;
use weir_core::event::Event;
use weir_core::metrics::ComponentMetrics;

use crate::errors::ErrorType;
use crate::program::{CompileOptions, Program, Runner};
use crate::program_source::{self, ProgramKind};

/// The output of events no route matches.
pub const UNMATCHED: &str = "_unmatched";

/// Configuration of the `route` transform.
///
/// ```toml
/// [transforms.by_type]
/// type = "route"
/// inputs = ["parsed"]
/// route.cloudtrail = '.aws.log_type == "cloudtrail"'
/// route.vpc = '.aws.log_type == "vpc_flow"'
///
/// [sinks.trail]
/// type = "file"
/// inputs = ["by_type.cloudtrail"]
/// path = "./weir-out/cloudtrail.ndjson"
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Route name → VRL boolean condition. Each name is an output, `<id>.<name>`: letters,
    /// digits, `_` and `-`, not starting with `_` (`_unmatched` is the output of the rest).
    #[schemars(length(min = 1))]
    pub route: BTreeMap<String, String>,
    /// Time zone of the conditions' local-time functions (IANA name or `local`). Default UTC.
    #[serde(default)]
    pub timezone: Option<String>,
}

impl RouteConfig {
    /// Every route's compiled condition, or every problem at once.
    fn compile(
        &self,
        tables: Option<&EnrichmentTables>,
    ) -> Result<Vec<(Arc<str>, Program)>, Vec<ConfigProblem>> {
        let options = CompileOptions {
            timezone: self.timezone.clone(),
            tables: tables.cloned(),
        };
        let mut routes = Vec::new();
        let mut problems = Vec::new();
        if self.route.is_empty() {
            problems.push(ConfigProblem::new("route", "at least one route is needed"));
        }
        for (name, condition) in &self.route {
            let key = format!("route.{name}");
            if let Some(problem) = name_problem(name) {
                problems.push(ConfigProblem::new(&key, problem));
                continue;
            }
            match program_source::compile(condition, &key, ProgramKind::Condition, &options) {
                Ok(program) => routes.push((Arc::from(name.as_str()), program)),
                Err(problem) => problems.push(problem),
            }
        }
        if problems.is_empty() {
            Ok(routes)
        } else {
            Err(problems)
        }
    }
}

/// What is wrong with a route name, if anything.
fn name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("a route name must not be empty")
    } else if name.starts_with('_') {
        Some("route names starting with `_` are reserved (`_unmatched`)")
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        Some("route names hold letters, digits, `_` and `-` only")
    } else {
        None
    }
}

impl PluginCommon for RouteConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        self.compile(None).err().unwrap_or_default()
    }

    fn outputs(&self) -> Vec<String> {
        self.route
            .keys()
            .cloned()
            .chain([UNMATCHED.to_string()])
            .collect()
    }

    fn default_output(&self) -> bool {
        false
    }
}

impl TransformConfig for RouteConfig {
    fn build(&self, cx: &BuildContext) -> Result<Box<dyn Transform>, BuildError> {
        let routes = self
            .compile(Some(&cx.tables))
            .map_err(|mut problems| program_source::build_error(problems.remove(0)))?;
        Ok(Stateless::boxed(Route {
            routes,
            unmatched: Arc::from(UNMATCHED),
            metrics: cx.metrics.clone(),
        }))
    }
}

/// The running transform (see [`Stateless`]).
pub struct Route {
    routes: Vec<(Arc<str>, Program)>,
    unmatched: Arc<str>,
    metrics: ComponentMetrics,
}

impl BatchTransform for Route {
    fn run_batch(&self, events: Vec<Event>, out: &mut TransformOutput) {
        let mut runner = Runner::default();
        let mut routed: Vec<Vec<Event>> = vec![Vec::new(); self.routes.len()];
        let mut unmatched = Vec::new();
        let mut matched = Vec::with_capacity(self.routes.len());
        let mut failed = None;
        for mut event in events {
            matched.clear();
            for (i, (_, condition)) in self.routes.iter().enumerate() {
                match condition.check(&event, &mut runner) {
                    Ok(true) => matched.push(i),
                    Ok(false) => {}
                    Err(message) => {
                        self.metrics.error(ErrorType::ConditionFailed.as_str(), 1);
                        failed = Some(message);
                    }
                }
            }
            if let Some(message) = failed.take() {
                event.metadata.error = Some(Arc::from(message));
            }
            match matched.split_last() {
                None => unmatched.push(event),
                Some((last, others)) => {
                    for i in others {
                        routed[*i].push(event.clone());
                    }
                    routed[*last].push(event);
                }
            }
        }
        for ((name, _), events) in self.routes.iter().zip(routed) {
            out.extend_named(name, events);
        }
        out.extend_named(&self.unmatched, unmatched);
    }
}

/// The transform's registration.
pub const SPEC: ComponentSpec = ComponentSpec {
    type_name: "route",
    description: "Send events to the named outputs whose VRL condition they match (`<id>.<name>`); the rest to `<id>._unmatched`.",
    parse: ParseConfig::Transform(weir_core::component::parse_transform::<RouteConfig>),
    schema: weir_core::component::schema_of::<RouteConfig>,
};

#[cfg(test)]
mod tests;
