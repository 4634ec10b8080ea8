//! The `console` sink: writes events to stdout, one line per event.

use std::io::Write;
use weir_core::component::PluginCommon;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use weir_core::ack::EventStatus;
use weir_core::component::{
    BuildContext, BuildError, ComponentError, Sink, SinkConfig, SinkContext, SinkInput,
};
use weir_core::event::finalize_all;
use weir_core::metrics::DEFAULT_OUTPUT;
use weir_core::Event;

use crate::encoding::Encoding;
use crate::errors::ErrorType;
use weir_core::throttle::LogThrottle;

/// A round (one write to stdout) takes queued batches until it holds this many events...
const MAX_ROUND_EVENTS: usize = 8_192;
/// ... or this many bytes (estimated event size).
const MAX_ROUND_BYTES: u64 = 8 * 1024 * 1024;

/// Writes events to standard output, one line per event.
///
/// ```toml
/// [sinks.debug]
/// type = "console"
/// inputs = ["app"]
/// encoding = "ndjson"
/// ```
///
/// Events are acknowledged once their lines have been written and stdout flushed.
#[derive(Debug, Clone, Default, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsoleSinkConfig {
    /// How each event is written: `"ndjson"` (default: the event's fields as one JSON object per
    /// line) or `"text"` (the raw `message` field; events without a string `message` are rejected).
    #[serde(default)]
    #[schemars(example = Encoding::Text)]
    pub encoding: Encoding,
}

impl PluginCommon for ConsoleSinkConfig {}

impl SinkConfig for ConsoleSinkConfig {
    fn build(&self, _cx: &BuildContext) -> Result<Box<dyn Sink>, BuildError> {
        Ok(Box::new(ConsoleSink {
            encoding: self.encoding,
            out: Box::new(std::io::stdout()),
        }))
    }
}

/// The running console sink.
struct ConsoleSink {
    encoding: Encoding,
    out: Box<dyn Write + Send>,
}

/// One round: the encoded lines and the events they came from.
struct Round {
    out: Box<dyn Write + Send>,
    buf: Vec<u8>,
    events: Vec<Event>,
    result: std::io::Result<()>,
}

#[async_trait]
impl Sink for ConsoleSink {
    async fn run(
        self: Box<Self>,
        mut input: SinkInput,
        cx: SinkContext,
    ) -> Result<(), ComponentError> {
        let ConsoleSink { encoding, out } = *self;
        let mut round = Round {
            out,
            buf: Vec::new(),
            events: Vec::new(),
            result: Ok(()),
        };
        let sent_events = cx.metrics.sent_events(DEFAULT_OUTPUT);
        let mut encode_warning = LogThrottle::default();
        let mut write_warning = LogThrottle::default();
        while let Some(first) = input.next_batch().await {
            let mut batches = Vec::new();
            input.gather_round(first, MAX_ROUND_EVENTS, MAX_ROUND_BYTES, &mut batches);
            for event in batches.into_iter().flatten() {
                match encoding.encode_into(&event, &mut round.buf) {
                    Ok(()) => round.events.push(event),
                    Err(error) => {
                        cx.metrics.error(error.error_type(), 1);
                        if let Some(suppressed) = encode_warning.check() {
                            tracing::warn!(component = %cx.id, %error, suppressed, "cannot encode event; event rejected");
                        }
                        event.finalize(EventStatus::Rejected);
                    }
                }
            }
            round = tokio::task::spawn_blocking(move || {
                round.result = round
                    .out
                    .write_all(&round.buf)
                    .and_then(|()| round.out.flush());
                round
            })
            .await
            .map_err(|error| ComponentError(format!("console writer task failed: {error}")))?;
            let events = std::mem::take(&mut round.events);
            match std::mem::replace(&mut round.result, Ok(())) {
                Ok(()) => {
                    sent_events.inc_by(events.len() as u64);
                    cx.metrics.sent_bytes.inc_by(round.buf.len() as u64);
                    finalize_all(events, EventStatus::Delivered);
                }
                Err(error) => {
                    cx.metrics.error(ErrorType::WriteFailed.as_str(), 1);
                    if let Some(suppressed) = write_warning.check() {
                        tracing::warn!(component = %cx.id, %error, suppressed, "cannot write to stdout; events errored");
                    }
                    finalize_all(events, EventStatus::Errored);
                }
            }
            round.buf.clear();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use weir_core::ack::BatchStatus;
    use weir_core::Value;

    use super::*;
    use crate::test_util::{batch, error_count, event, message, start, start_with, status};

    /// A writer whose bytes the test can read.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn writes_lines_and_acknowledges() {
        let captured = Captured::default();
        let sink = start_with(
            Box::new(ConsoleSink {
                encoding: Encoding::Ndjson,
                out: Box::new(captured.clone()),
            }),
            "console",
        );
        let (notifier, rx) = batch();
        sink.tx
            .send(vec![
                message("a", Some(&notifier)),
                event(&[("n", Value::Integer(1))], Some(&notifier)),
            ])
            .await
            .unwrap();
        drop(notifier);
        assert_eq!(status(rx).await, BatchStatus::Delivered);
        assert_eq!(
            String::from_utf8(captured.0.lock().unwrap().clone()).unwrap(),
            "{\"message\":\"a\"}\n{\"n\":1}\n"
        );
        let metrics = sink.finish().await;
        assert_eq!(metrics.sent_events(DEFAULT_OUTPUT).get(), 2);
    }

    #[tokio::test]
    async fn text_rejects_events_without_message() {
        let captured = Captured::default();
        let sink = start_with(
            Box::new(ConsoleSink {
                encoding: Encoding::Text,
                out: Box::new(captured.clone()),
            }),
            "console",
        );
        let (bad, bad_rx) = batch();
        let (good, good_rx) = batch();
        sink.tx
            .send(vec![
                event(&[("n", Value::Integer(1))], Some(&bad)),
                message("kept", Some(&good)),
            ])
            .await
            .unwrap();
        drop((bad, good));
        assert_eq!(status(bad_rx).await, BatchStatus::Rejected);
        assert_eq!(status(good_rx).await, BatchStatus::Delivered);
        let metrics = sink.finish().await;
        assert_eq!(
            error_count(&metrics, crate::errors::ErrorType::MissingMessage),
            1
        );
        assert_eq!(captured.0.lock().unwrap().as_slice(), b"kept\n");
    }

    #[tokio::test]
    async fn smoke_test_on_real_stdout() {
        let config: ConsoleSinkConfig = serde_json::from_value(serde_json::json!({})).unwrap();
        let sink = start(&config, "console");
        let (notifier, rx) = batch();
        sink.tx
            .send(vec![message("console sink smoke test", Some(&notifier))])
            .await
            .unwrap();
        drop(notifier);
        assert_eq!(status(rx).await, BatchStatus::Delivered);
        sink.finish().await;
    }
}
