//! One transform's task: every core for one transform, the order of the input kept.
//!
//! Design: *ordered reassembly*. [`Transform::transform`] runs here, batch after batch, and does
//! the little that needs the transform's state (which stream an event belongs to, a header line
//! that sets the columns of the lines after it, a multi-line record being assembled); the job it
//! returns (parsing, running a VRL program) is spawned onto the runtime's worker threads. Up to one
//! job per worker (plus one) is in flight at once, and results are sent on strictly in the order of
//! their batches, so every stream (indeed the whole input) keeps its order, and acknowledgements,
//! which travel inside the events, are untouched.
//!
//! Why not partition by stream: a single file or S3 object is one stream, and that is exactly the
//! case users benchmark (one big ALB log): partitions would leave every core but one idle. Keeping
//! the stateful step sequential and the expensive step parallel scales one stream and many alike.
//!
//! With one worker thread (`--threads 1`), jobs run inline on this task: one core, no spawning.

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::buffer::BufferReceiver;
use crate::component::{ComponentError, Transform, TransformJob, TransformOutput};
use crate::event::Event;
use crate::metrics::ComponentMetrics;
use crate::output::Outputs;

/// A job on a worker thread, or (one worker) the result of one run inline.
enum Started {
    Spawned(JoinHandle<TransformOutput>),
    Done(TransformOutput),
}

/// Runs a transform until its input ends, then flushes it and sends everything on.
///
/// Two halves run concurrently in this task: the *dispatcher* takes batches, runs the sequential
/// step and starts each job; the *sender* waits for the jobs in order and sends their results.
/// So a full downstream buffer holds up only the sender: the dispatcher goes on starting jobs
/// until `workers + 1` wait to be sent (the bound on what is in flight).
pub(super) async fn run_transform(
    transform: Box<dyn Transform>,
    input: BufferReceiver,
    mut out: Outputs,
    metrics: ComponentMetrics,
) -> Result<(), ComponentError> {
    let workers = tokio::runtime::Handle::current().metrics().num_workers();
    let (started, mut results) = mpsc::channel::<Started>(workers + 1);
    let spawn = workers > 1;
    let dispatcher = dispatch(transform, input, metrics, started, spawn);
    let sender = async move {
        while let Some(job) = results.recv().await {
            let result = match job {
                Started::Spawned(handle) => joined(handle.await)?,
                Started::Done(result) => result,
            };
            send_results(&mut out, result).await;
        }
        Ok::<(), ComponentError>(())
    };
    let ((), sent) = tokio::join!(dispatcher, sender);
    sent
}

/// The dispatcher: batches in, jobs out (spawned when there are several workers), in order.
async fn dispatch(
    mut transform: Box<dyn Transform>,
    mut input: BufferReceiver,
    metrics: ComponentMetrics,
    started: mpsc::Sender<Started>,
    spawn: bool,
) {
    let idle = transform.flush_interval();
    let start = |job: TransformJob| {
        if spawn {
            Started::Spawned(tokio::spawn(async move {
                let mut result = TransformOutput::default();
                job(&mut result);
                result
            }))
        } else {
            let mut result = TransformOutput::default();
            job(&mut result);
            Started::Done(result)
        }
    };
    loop {
        let next = match idle {
            Some(idle) => match tokio::time::timeout(idle, input.recv()).await {
                Ok(next) => next,
                Err(_) => {
                    // Idle: hand out what is held back.
                    if let Some(job) = transform.flush() {
                        if started.send(start(job)).await.is_err() {
                            return;
                        }
                    }
                    continue;
                }
            },
            None => input.recv().await,
        };
        let Some(events) = next else { break };
        count_received(&metrics, &events);
        let job = transform.transform(events);
        if started.send(start(job)).await.is_err() {
            // The sender stopped (a job failed): nothing more can be sent.
            return;
        }
    }
    // The input ended: hand out whatever is held back, after everything before it.
    if let Some(job) = transform.flush() {
        let _ = started.send(start(job)).await;
    }
}

/// A finished job's output; a panicked job fails the component (its events' acknowledgements
/// were dropped unfinalized, so their sources count them as errored and deliver them again).
fn joined(
    result: Result<TransformOutput, tokio::task::JoinError>,
) -> Result<TransformOutput, ComponentError> {
    result.map_err(|e| ComponentError(format!("a transform job failed: {e}")))
}

fn count_received(metrics: &ComponentMetrics, events: &[Event]) {
    metrics.received_events.inc_by(events.len() as u64);
    let bytes: usize = events
        .iter()
        .filter_map(Event::message_bytes)
        .map(<[u8]>::len)
        .sum();
    metrics.received_bytes.inc_by(bytes as u64);
}

async fn send_results(out: &mut Outputs, result: TransformOutput) {
    out.send(result.primary).await;
    for (name, events) in result.named {
        out.send_named(&name, events).await;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use chrono::Utc;
    use vrl::value::Value;

    use super::*;
    use crate::buffer::{buffer, BufferConfig};
    use crate::component::ComponentKind;
    use crate::event::EventMetadata;
    use crate::metrics::Metrics;
    use crate::output::{Fanout, ERRORS};

    /// Numbers events in its sequential step (state), then spends an uneven time on each batch's
    /// job, so later batches often finish first; holds the last event of each batch back until
    /// the next batch or a flush, like a multi-line record.
    struct Numbering {
        next: i64,
        held: Option<Event>,
    }

    impl Transform for Numbering {
        fn transform(&mut self, events: Vec<Event>) -> TransformJob {
            let mut batch: Vec<Event> = self.held.take().into_iter().collect();
            for mut event in events {
                event.fields.insert("n".into(), Value::from(self.next));
                self.next += 1;
                batch.push(event);
            }
            self.held = batch.pop();
            let pause = (self.next / 10 * 7 % 5) as u64;
            Box::new(move |out| {
                std::thread::sleep(Duration::from_millis(pause));
                for event in batch {
                    match event.fields.get("n") {
                        Some(Value::Integer(n)) if n % 10 == 3 => out.push_named(ERRORS, event),
                        _ => out.primary.push(event),
                    }
                }
            })
        }

        fn flush(&mut self) -> Option<TransformJob> {
            let held = self.held.take()?;
            Some(Box::new(move |out| out.primary.push(held)))
        }
    }

    async fn run(batches: usize) -> Vec<i64> {
        let metrics = Metrics::new("test").unwrap();
        let m = metrics.component("t", ComponentKind::Transform, "numbering");
        let config = BufferConfig {
            max_events: 100_000,
            ..BufferConfig::default()
        };
        let (in_tx, in_rx) = buffer(&config, m.clone());
        let (out_tx, mut out_rx) = buffer(&config, m.clone());
        let fanout = |consumers| Fanout::new(consumers, m.sent_events("x"), m.discarded.clone());
        // Nothing consumes `errors`: those events join the main output, in order.
        let mut named = BTreeMap::new();
        named.insert(ERRORS.to_string(), fanout(vec![]));
        let out = Outputs::new(fanout(vec![("sink".into(), out_tx)]), named, m.clone());
        let transform = Box::new(Numbering {
            next: 0,
            held: None,
        });
        let task = tokio::spawn(run_transform(transform, in_rx, out, m.clone()));
        for b in 0..batches {
            let meta = EventMetadata::new("src".into(), "test", Utc::now());
            let events = (0..10)
                .map(|i| Event::from_message(format!("{b}-{i}"), meta.clone()))
                .collect();
            in_tx.send(events).await.unwrap();
        }
        drop(in_tx);
        task.await.unwrap().unwrap();
        assert_eq!(m.unconsumed_errors.get(), batches as u64);
        let mut seen = Vec::new();
        while let Some(batch) = out_rx.recv().await {
            for event in batch {
                match event.fields.get("n") {
                    Some(Value::Integer(n)) => seen.push(*n),
                    other => panic!("no number: {other:?}"),
                }
            }
        }
        seen
    }

    /// Per batch, the main output comes first and the (unconsumed) errors after it.
    fn expected(batches: usize) -> Vec<i64> {
        let total = batches as i64 * 10;
        let mut expected = Vec::new();
        let mut batch_start = 0;
        // Batch k's job holds numbers [k*10 - 1, k*10 + 9) (the previous batch's held one first).
        for k in 0..batches as i64 {
            let end = (k * 10 + 9).min(total);
            let numbers: Vec<i64> = (batch_start..end).collect();
            expected.extend(numbers.iter().filter(|n| *n % 10 != 3));
            expected.extend(numbers.iter().filter(|n| *n % 10 == 3));
            batch_start = end;
        }
        expected.extend(batch_start..total);
        expected
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn jobs_run_in_parallel_and_results_keep_batch_order() {
        assert_eq!(run(60).await, expected(60));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn one_worker_runs_jobs_inline_in_the_same_order() {
        assert_eq!(run(20).await, expected(20));
    }
}
