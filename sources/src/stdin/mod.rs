//! Source `stdin`: one event per line of standard input, until end of input or shutdown.
//!
//! Standard input cannot be re-read, so there is nothing to checkpoint: events still carry
//! acknowledgements (so sinks behave the same), and the source waits for them before it finishes,
//! so `weir run` over a pipe exits only after everything was delivered.

use crate::errors::ErrorType;
use std::sync::Arc;
use weir_core::component::PluginCommon;

use async_trait::async_trait;
use chrono::Utc;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;
use vrl::value::{KeyString, ObjectMap, Value};
use weir_core::ack::BatchNotifier;
use weir_core::component::{
    BuildContext, BuildError, ComponentError, ComponentSpec, ConfigProblem, ParseConfig, Source,
    SourceConfig, SourceContext,
};
use weir_core::event::{Event, EventMetadata, MESSAGE, TIMESTAMP};

use weir_core::framing::lines::{Frame, LineFramer};

/// Configuration of the `stdin` source.
///
/// ```toml
/// [sources.in]
/// type = "stdin"
/// ```
///
/// Each event has `message` (the line) and `timestamp` (when it was read).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StdinSourceConfig {
    /// Longest accepted line in bytes; longer lines are counted errors, not cut.
    #[serde(default = "default_max_line_bytes")]
    #[schemars(range(min = MAX_LINE_BYTES_MIN))]
    pub max_line_bytes: usize,
}

/// The smallest `max_line_bytes`, checked by `validate` and stated in the schema.
const MAX_LINE_BYTES_MIN: usize = 1;

fn default_max_line_bytes() -> usize {
    1024 * 1024
}

impl PluginCommon for StdinSourceConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        if self.max_line_bytes < MAX_LINE_BYTES_MIN {
            vec![ConfigProblem::new(
                "max_line_bytes",
                format!("must be greater than {}", MAX_LINE_BYTES_MIN - 1),
            )]
        } else {
            Vec::new()
        }
    }
}

impl SourceConfig for StdinSourceConfig {
    fn build(&self, _cx: &BuildContext) -> Result<Box<dyn Source>, BuildError> {
        Ok(Box::new(StdinSource {
            max_line_bytes: self.max_line_bytes,
        }))
    }
}

struct StdinSource {
    max_line_bytes: usize,
}

const READ_CHUNK: usize = 64 * 1024;

#[async_trait]
impl Source for StdinSource {
    async fn run(self: Box<Self>, cx: SourceContext) -> Result<(), ComponentError> {
        let SourceContext {
            id,
            mut out,
            shutdown,
            metrics,
            ..
        } = cx;
        let mut stdin = tokio::io::stdin();
        let mut framer = LineFramer::new(0, self.max_line_bytes);
        let stream: Arc<str> = Arc::from("stdin");
        let mut pending = Vec::new();
        loop {
            let buffer = framer.buffer_mut();
            buffer.reserve(READ_CHUNK);
            let mut frames = Vec::new();
            let n = tokio::select! {
                _ = shutdown.cancelled() => break,
                read = stdin.read_buf(buffer) => match read {
                    Ok(n) => n,
                    Err(e) => {
                        metrics.error(ErrorType::ReadFailed.as_str(), 1);
                        tracing::error!(source = %id, error = %e, "cannot read standard input");
                        break;
                    }
                },
            };
            if n == 0 {
                framer.finish(&mut frames);
            } else {
                metrics.received_bytes.inc_by(n as u64);
                framer.drain(&mut frames);
            }
            let (notifier, status) = BatchNotifier::with_receiver();
            pending.push(status);
            let now = Utc::now();
            let mut events = Vec::with_capacity(frames.len());
            for frame in frames {
                match frame {
                    Frame::Line { offset, bytes } => {
                        let mut fields = ObjectMap::new();
                        fields.insert(KeyString::from(MESSAGE), Value::Bytes(bytes));
                        fields.insert(KeyString::from(TIMESTAMP), Value::Timestamp(now));
                        let meta = EventMetadata::new(Arc::clone(&id), "stdin", now)
                            .at(Arc::clone(&stream), offset)
                            .acknowledged_by(notifier.finalizer());
                        events.push(Event::new(fields, meta));
                    }
                    Frame::TooLong { offset, .. } => {
                        metrics.error(ErrorType::LineTooLong.as_str(), 1);
                        tracing::warn!(source = %id, offset, max_line_bytes = self.max_line_bytes, "line longer than max_line_bytes skipped");
                    }
                }
            }
            drop(notifier);
            metrics.received_events.inc_by(events.len() as u64);
            out.send(events).await;
            if n == 0 {
                break;
            }
            pending.retain_mut(|rx| rx.try_recv().is_err());
        }
        drop(out);
        for status in pending {
            if let Ok(status) = status.await {
                if status != weir_core::ack::BatchStatus::Delivered {
                    tracing::warn!(source = %id, ?status, "standard input lines were not all delivered");
                }
            }
        }
        Ok(())
    }
}

/// The source's registration.
pub const SPEC: ComponentSpec = ComponentSpec {
    type_name: "stdin",
    description: "Read lines from standard input until it ends.",
    parse: ParseConfig::Source(weir_core::component::parse_source::<StdinSourceConfig>),
    schema: weir_core::component::schema_of::<StdinSourceConfig>,
};
