//! One transform's task: every core for one transform, the order of the input kept.
//!
//! Design: *ordered reassembly*. [`Transform::transform`] runs here, batch after batch, and does
//! the little that needs the transform's state (which stream an event belongs to, a header line
//! that sets the columns of the lines after it, a multi-line record being assembled); the job it
//! returns (parsing, running a VRL program) is spawned onto the runtime's worker threads. Up to one
//! job per worker (plus one queued) runs at once, and results are sent on strictly in the order of
//! their batches, so every stream (indeed the whole input) keeps its order, and acknowledgements,
//! which travel inside the events, are untouched.
//!
//! Why not partition by stream: a single file or S3 object is one stream, and that is exactly the
//! case users benchmark (one big ALB log): partitions would leave every core but one idle. Keeping
//! the stateful step sequential and the expensive step parallel scales one stream and many alike.
//!
//! With one worker thread (`--threads 1`), jobs run inline on this task: one core, no spawning.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::buffer::BufferReceiver;
use crate::component::{ComponentError, Transform, TransformJob, TransformOutput};
use crate::event::Event;
use crate::metrics::ComponentMetrics;
use crate::output::Outputs;

/// What the task waits for next.
enum Next {
    /// A batch, or `None` when the input has ended.
    Input(Option<Vec<Event>>),
    /// The input was idle for the transform's flush interval.
    Idle,
    /// The oldest job finished.
    Done(Result<TransformOutput, tokio::task::JoinError>),
}

/// Runs a transform until its input ends, then flushes it and sends everything on.
pub(super) async fn run_transform(
    mut transform: Box<dyn Transform>,
    mut input: BufferReceiver,
    mut out: Outputs,
    metrics: ComponentMetrics,
) -> Result<(), ComponentError> {
    let workers = tokio::runtime::Handle::current().metrics().num_workers();
    let mut jobs = Jobs::new(workers);
    let idle = transform.flush_interval();
    loop {
        match next(&mut input, &mut jobs, idle).await {
            Next::Input(Some(events)) => {
                count_received(&metrics, &events);
                let job = transform.transform(events);
                jobs.start(job, &mut out).await;
            }
            Next::Input(None) => break,
            Next::Idle => {
                if let Some(job) = transform.flush() {
                    jobs.start(job, &mut out).await;
                }
            }
            Next::Done(result) => {
                jobs.running.pop_front();
                send_results(&mut out, joined(result)?).await;
            }
        }
    }
    // The input ended: hand out whatever is held back, after everything before it.
    if let Some(job) = transform.flush() {
        jobs.start(job, &mut out).await;
    }
    while let Some(handle) = jobs.running.pop_front() {
        send_results(&mut out, joined(handle.await)?).await;
    }
    Ok(())
}

/// Waits for a batch, the idle timeout or the oldest job, whichever comes first; only for the
/// job when as many run as may.
async fn next(input: &mut BufferReceiver, jobs: &mut Jobs, idle: Option<Duration>) -> Next {
    let receive = async {
        match idle {
            Some(idle) => match tokio::time::timeout(idle, input.recv()).await {
                Ok(batch) => Next::Input(batch),
                Err(_) => Next::Idle,
            },
            None => Next::Input(input.recv().await),
        }
    };
    let full = jobs.running.len() >= jobs.limit;
    match jobs.running.front_mut() {
        None => receive.await,
        Some(oldest) if full => Next::Done(oldest.await),
        Some(oldest) => tokio::select! {
            biased;
            result = oldest => Next::Done(result),
            next = receive => next,
        },
    }
}

/// The jobs running on worker threads, oldest first.
struct Jobs {
    running: VecDeque<JoinHandle<TransformOutput>>,
    /// How many may run at once: one per worker, plus one ready to start when a worker frees.
    /// `0` with one worker: jobs then run inline.
    limit: usize,
}

impl Jobs {
    fn new(workers: usize) -> Self {
        Self {
            running: VecDeque::new(),
            limit: if workers > 1 { workers + 1 } else { 0 },
        }
    }

    /// Starts a job on a worker thread, or runs it here with one worker (its results sent at
    /// once: nothing runs before it).
    async fn start(&mut self, job: TransformJob, out: &mut Outputs) {
        if self.limit == 0 {
            let mut result = TransformOutput::default();
            job(&mut result);
            send_results(out, result).await;
            return;
        }
        self.running.push_back(tokio::spawn(async move {
            let mut result = TransformOutput::default();
            job(&mut result);
            result
        }));
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
