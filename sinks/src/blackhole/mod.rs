//! The `blackhole` sink: counts events and acknowledges them as delivered without writing anything.
//! Useful for benchmarks and, with a rate limit, for testing backpressure.

use std::time::Duration;
use weir_core::component::PluginCommon;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::time::{Instant, MissedTickBehavior};
use weir_core::ack::EventStatus;
use weir_core::component::{
    BuildContext, BuildError, ComponentError, ConfigProblem, Sink, SinkConfig, SinkContext,
    SinkInput,
};
use weir_core::event::finalize_all;
use weir_core::metrics::DEFAULT_OUTPUT;
use weir_core::Event;

/// Discards events, acknowledging them as delivered.
///
/// ```toml
/// [sinks.null]
/// type = "blackhole"
/// inputs = ["app"]
/// rate_limit_events_per_sec = 1000
/// print_interval_secs = 10
/// ```
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BlackholeSinkConfig {
    /// Slow down on purpose to at most this many events per second, so upstream buffers fill and
    /// backpressure can be observed (default: unset, no limit; at least 1). Events are acknowledged
    /// as their share of time passes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = RATE_LIMIT_EVENTS_PER_SEC_MIN), example = 1000)]
    pub rate_limit_events_per_sec: Option<u64>,
    /// Log the running totals at `info` level every this many seconds (default: unset, never; at
    /// least 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = PRINT_INTERVAL_SECS_MIN), example = 10)]
    pub print_interval_secs: Option<u64>,
}

/// The smallest `rate_limit_events_per_sec`, checked by `validate` and stated in the schema.
const RATE_LIMIT_EVENTS_PER_SEC_MIN: u64 = 1;
/// The smallest `print_interval_secs`, checked by `validate` and stated in the schema.
const PRINT_INTERVAL_SECS_MIN: u64 = 1;

impl PluginCommon for BlackholeSinkConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        for (key, value, min) in [
            (
                "rate_limit_events_per_sec",
                self.rate_limit_events_per_sec,
                RATE_LIMIT_EVENTS_PER_SEC_MIN,
            ),
            (
                "print_interval_secs",
                self.print_interval_secs,
                PRINT_INTERVAL_SECS_MIN,
            ),
        ] {
            if value.is_some_and(|v| v < min) {
                problems.push(ConfigProblem::new(key, format!("must be at least {min}")));
            }
        }
        problems
    }
}

impl SinkConfig for BlackholeSinkConfig {
    fn build(&self, _cx: &BuildContext) -> Result<Box<dyn Sink>, BuildError> {
        if let Some(problem) = self.validate().into_iter().next() {
            return Err(BuildError::new(problem.key, problem.message));
        }
        Ok(Box::new(BlackholeSink {
            rate: self.rate_limit_events_per_sec,
            print_interval: self.print_interval_secs.map(Duration::from_secs),
        }))
    }
}

/// The running blackhole sink.
struct BlackholeSink {
    rate: Option<u64>,
    print_interval: Option<Duration>,
}

/// Paces events to a rate: each event owns `1 / rate` seconds, and time not used while idle is not
/// saved up for later bursts.
struct Pacer {
    rate: u64,
    next: Instant,
}

impl Pacer {
    /// Waits until `n` more events fit in the rate.
    async fn admit(&mut self, n: usize) {
        let now = Instant::now();
        if self.next < now {
            self.next = now;
        }
        self.next += Duration::from_secs_f64(n as f64 / self.rate as f64);
        tokio::time::sleep_until(self.next).await;
    }
}

#[async_trait]
impl Sink for BlackholeSink {
    async fn run(
        self: Box<Self>,
        mut input: SinkInput,
        cx: SinkContext,
    ) -> Result<(), ComponentError> {
        let sent_events = cx.metrics.sent_events(DEFAULT_OUTPUT);
        let mut pacer = self.rate.map(|rate| Pacer {
            rate,
            next: Instant::now(),
        });
        // Acknowledge in slices of about a tenth of a second's worth, so a large batch trickles out.
        let slice = self.rate.map_or(usize::MAX, |rate| {
            usize::try_from(rate / 10).unwrap_or(usize::MAX).max(1)
        });
        let mut print = self.print_interval.map(|period| {
            let mut interval = tokio::time::interval_at(Instant::now() + period, period);
            interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
            interval
        });
        let (mut total_events, mut total_bytes) = (0u64, 0u64);
        let started = Instant::now();
        loop {
            let batch = tokio::select! {
                biased;
                batch = input.next_batch() => batch,
                _ = tick(&mut print) => {
                    log_totals(&cx, total_events, total_bytes, started);
                    continue;
                }
            };
            let Some(batch) = batch else { break };
            let mut events = batch.into_iter();
            loop {
                let chunk: Vec<Event> = events.by_ref().take(slice).collect();
                if chunk.is_empty() {
                    break;
                }
                if let Some(pacer) = pacer.as_mut() {
                    pacer.admit(chunk.len()).await;
                }
                let bytes: u64 = chunk
                    .iter()
                    .filter_map(|e| e.message_bytes())
                    .map(|m| m.len() as u64)
                    .sum();
                total_events += chunk.len() as u64;
                total_bytes += bytes;
                sent_events.inc_by(chunk.len() as u64);
                cx.metrics.sent_bytes.inc_by(bytes);
                finalize_all(chunk, EventStatus::Delivered);
            }
        }
        if print.is_some() {
            log_totals(&cx, total_events, total_bytes, started);
        }
        Ok(())
    }
}

/// The next tick of the print interval; never, when printing is off.
async fn tick(print: &mut Option<tokio::time::Interval>) {
    match print {
        Some(interval) => {
            interval.tick().await;
        }
        None => std::future::pending().await,
    }
}

fn log_totals(cx: &SinkContext, events: u64, bytes: u64, started: Instant) {
    let secs = started.elapsed().as_secs_f64().max(f64::EPSILON);
    tracing::info!(
        component = %cx.id,
        events,
        bytes,
        events_per_sec = (events as f64 / secs).round(),
        "blackhole totals"
    );
}

#[cfg(test)]
mod tests {
    use std::time::Instant as StdInstant;

    use weir_core::ack::BatchStatus;

    use super::*;
    use crate::test_util::{batch, message, start, status};

    #[tokio::test]
    async fn acknowledges_and_counts_everything() {
        let config = BlackholeSinkConfig {
            print_interval_secs: Some(1),
            ..BlackholeSinkConfig::default()
        };
        let sink = start(&config, "blackhole");
        let (notifier, rx) = batch();
        let events = (0..5000)
            .map(|i| message(&format!("{i}"), Some(&notifier)))
            .collect();
        drop(notifier);
        sink.tx.send(events).await.unwrap();
        assert_eq!(status(rx).await, BatchStatus::Delivered);
        let metrics = sink.finish().await;
        assert_eq!(metrics.sent_events(DEFAULT_OUTPUT).get(), 5000);
        assert!(metrics.sent_bytes.get() > 0);
    }

    #[tokio::test]
    async fn rate_limit_slows_down() {
        let config = BlackholeSinkConfig {
            rate_limit_events_per_sec: Some(100),
            ..BlackholeSinkConfig::default()
        };
        let sink = start(&config, "blackhole");
        let started = StdInstant::now();
        let (notifier, rx) = batch();
        let events = (0..50)
            .map(|i| message(&format!("{i}"), Some(&notifier)))
            .collect();
        drop(notifier);
        sink.tx.send(events).await.unwrap();
        assert_eq!(status(rx).await, BatchStatus::Delivered);
        let elapsed = started.elapsed();
        // 50 events at 100/s take half a second.
        assert!(elapsed >= Duration::from_millis(400), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
        sink.finish().await;
    }

    #[test]
    fn validate_refuses_zero() {
        let config = BlackholeSinkConfig {
            rate_limit_events_per_sec: Some(0),
            print_interval_secs: Some(0),
        };
        let keys: Vec<_> = config.validate().into_iter().map(|p| p.key).collect();
        assert_eq!(keys, ["rate_limit_events_per_sec", "print_interval_secs"]);
    }
}
