//! The sources' startup checks (see [`SourceConfig::startup_check`]), run before a pipeline
//! starts or a reload is applied: every AWS source's queue, stream and lease table must answer,
//! or `weir` says which one does not and why, in one line per source, and does not start.
//!
//! [`SourceConfig::startup_check`]: weir_core::component::SourceConfig::startup_check

use std::time::Duration;

use tokio::task::JoinSet;
use weir_core::topology::{PipelineConfig, PluginConfig};

/// How long one check may take: the SDK's own retries and the credential chain fit well within.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs the checks of every source of `config` at once. Returns `source `<id>`: <line>` for each
/// that failed, in id order; empty when everything answered.
pub async fn run(config: &PipelineConfig) -> Vec<String> {
    let mut checks = JoinSet::new();
    for (id, component) in &config.components {
        let PluginConfig::Source(source) = &component.plugin else {
            continue;
        };
        if let Some(check) = source.startup_check() {
            let id = id.clone();
            checks.spawn(async move {
                let result = match tokio::time::timeout(CHECK_TIMEOUT, check).await {
                    Ok(result) => result,
                    Err(_) => Err(format!(
                        "no answer within {} s (set startup_check = false to start anyway)",
                        CHECK_TIMEOUT.as_secs()
                    )),
                };
                (id, result)
            });
        }
    }
    let mut failures = Vec::new();
    while let Some(joined) = checks.join_next().await {
        match joined {
            Ok((_, Ok(()))) => {}
            Ok((id, Err(line))) => failures.push((id, line)),
            Err(error) => failures.push((String::from("?"), format!("check failed: {error}"))),
        }
    }
    failures.sort();
    failures
        .into_iter()
        .map(|(id, line)| format!("source `{id}`: {line}"))
        .collect()
}
