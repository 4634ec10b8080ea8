//! Shard discovery, the lease loop (create, renew, take, steal, release) and the shard readers it
//! starts and stops. Parent-before-child: a child shard is eligible only once each parent is
//! finished (`SHARD_END`) or gone from the stream.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use weir_core::component::{ComponentError, SourceContext};
use weir_core::source_kit::{forward, SourceBatch};

use super::leases::{Lease, LeaseError, LeaseTable};
use super::metrics::KinesisMetrics;
use super::shard_reader::{self, Outcome, ShardTask, Shared, StreamRef};
use super::AwsKinesisConfig;
use crate::aws_errors::AwsErrorLog;
use weir_aws::client::errors::AwsError;
use weir_aws::client::{dynamodb_client, kinesis_client, AwsConnection};

/// One shard as listed.
#[derive(Clone, Debug)]
struct ShardInfo {
    stream: usize,
    shard_id: String,
    /// Lease keys of the parent and adjacent parent.
    parents: Vec<String>,
}

/// A lease this process holds, and its reader.
struct Held {
    counter: i64,
    stop: CancellationToken,
    reader: JoinHandle<Outcome>,
}

/// A lease just taken or stolen, whose reader is to start.
struct Acquired {
    key: String,
    counter: i64,
    checkpoint: Option<String>,
}

/// What the last scans said about a row: its owner and counter, and since when they are so.
struct Observed {
    owner: String,
    counter: i64,
    since: Instant,
}

pub(super) async fn run(config: AwsKinesisConfig, cx: SourceContext) -> Result<(), ComponentError> {
    let SourceContext {
        id,
        out,
        shutdown,
        metrics,
        once,
    } = cx;
    let connection = AwsConnection {
        region: config.region.clone(),
        endpoint: config.endpoint.clone(),
        auth: config.auth.clone(),
    };
    let sdk = connection.sdk_config().await;
    let kinesis_metrics = KinesisMetrics::new(&metrics)
        .map_err(|e| ComponentError(format!("cannot register metrics: {e}")))?;
    let worker = config.worker_id.clone().unwrap_or_else(default_worker_id);
    let (tx, rx) = mpsc::channel::<SourceBatch>(16);
    let shared = Arc::new(Shared {
        id: Arc::clone(&id),
        worker: worker.clone(),
        kinesis: kinesis_client(&sdk),
        table: LeaseTable::new(dynamodb_client(&sdk), &config.lease_table),
        metrics: metrics.clone(),
        kinesis_metrics,
        tx,
        decoding: config.decoding,
        max_decompressed_bytes: config.max_decompressed_bytes,
        start_position: config.start_position,
        start_timestamp: config.start_timestamp,
        max_records: config.max_records,
        poll_interval: Duration::from_millis(config.poll_interval_ms),
        checkpoint_interval: Duration::from_millis(config.checkpoint_interval_ms),
        on_rejected: config.on_rejected,
        shutdown: shutdown.clone(),
        once,
        aws_errors: AwsErrorLog::new(Arc::clone(&id), metrics.clone()),
    });
    tracing::info!(source = %id, %worker, streams = ?config.streams, table = %config.lease_table, "aws_kinesis source starting");
    let coordinator = tokio::spawn(Coordinator::new(shared, &config).run());
    // Readers send batches here; this task alone owns the outputs.
    forward(rx, out).await;
    match coordinator.await {
        Ok(result) => result,
        Err(e) => Err(ComponentError(format!(
            "aws_kinesis coordinator failed: {e}"
        ))),
    }
}

/// The startup check: every stream answers `DescribeStreamSummary` and the lease table
/// `DescribeTable`; `Err` is the line saying which does not and why.
pub(super) async fn check(config: &AwsKinesisConfig) -> Result<(), String> {
    let connection = AwsConnection {
        region: config.region.clone(),
        endpoint: config.endpoint.clone(),
        auth: config.auth.clone(),
    };
    let sdk = connection.sdk_config().await;
    let kinesis = kinesis_client(&sdk);
    for stream in config.streams.iter().map(|s| StreamRef::parse(s)) {
        let request = match &stream.arn {
            Some(arn) => kinesis.describe_stream_summary().stream_arn(arn),
            None => kinesis.describe_stream_summary().stream_name(&stream.name),
        };
        if let Err(error) = request.send().await {
            return Err(AwsError::of(&error)
                .line("DescribeStreamSummary", &format!("stream {}", stream.name)));
        }
    }
    let table = LeaseTable::new(dynamodb_client(&sdk), &config.lease_table);
    table.probe().await.map_err(|error| match error.aws() {
        Some((action, aws)) => aws.line(action, &error.resource()),
        None => error.to_string(),
    })
}

/// `<hostname>-<pid>-<random>`.
fn default_worker_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "weir".into());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{host}-{}-{nanos:08x}", std::process::id())
}

struct Coordinator {
    shared: Arc<Shared>,
    streams: Vec<StreamRef>,
    lease_duration: Duration,
    discovery_interval: Duration,
    shards: BTreeMap<String, ShardInfo>,
    observed: HashMap<String, Observed>,
    held: HashMap<String, Held>,
    /// `--once`: shards read up to their tip.
    caught_up: std::collections::HashSet<String>,
}

impl Coordinator {
    fn new(shared: Arc<Shared>, config: &AwsKinesisConfig) -> Self {
        Self {
            shared,
            streams: config.streams.iter().map(|s| StreamRef::parse(s)).collect(),
            lease_duration: Duration::from_millis(config.lease_duration_ms),
            discovery_interval: Duration::from_millis(config.discovery_interval_ms),
            shards: BTreeMap::new(),
            observed: HashMap::new(),
            held: HashMap::new(),
            caught_up: std::collections::HashSet::new(),
        }
    }

    async fn run(mut self) -> Result<(), ComponentError> {
        let shutdown = self.shared.shutdown.clone();
        // The table first (retried: DynamoDB may be briefly unreachable at start).
        loop {
            match self.shared.table.ensure().await {
                Ok(()) => break,
                Err(error) => {
                    self.shared
                        .lease_failed(&error, "cannot prepare the lease table; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                        _ = shutdown.cancelled() => return Ok(()),
                    }
                }
            }
        }
        let period = (self.lease_duration / 3).max(Duration::from_millis(200));
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_discovery: Option<Instant> = None;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.cancelled() => break,
            }
            if last_discovery.is_none_or(|t| t.elapsed() >= self.discovery_interval)
                && self.discover().await
            {
                last_discovery = Some(Instant::now());
            }
            match self.update_leases().await {
                Ok(true) => {
                    tracing::info!(source = %self.shared.id, "every shard read up to its tip (--once)");
                    break;
                }
                Ok(false) => {}
                Err(error) => self
                    .shared
                    .lease_failed(&error, "lease round failed; retrying"),
            }
        }
        self.shutdown().await;
        Ok(())
    }

    /// Lists the shards of every stream and creates rows for new ones; `false` on failure.
    async fn discover(&mut self) -> bool {
        let mut listed = BTreeMap::new();
        for (index, stream) in self.streams.iter().enumerate() {
            let mut token: Option<String> = None;
            loop {
                let mut request = self.shared.kinesis.list_shards();
                request = match &token {
                    Some(t) => request.next_token(t),
                    None => match &stream.arn {
                        Some(arn) => request.stream_arn(arn),
                        None => request.stream_name(&stream.name),
                    },
                };
                let page = match request.send().await {
                    Ok(page) => page,
                    Err(error) => {
                        if error
                            .as_service_error()
                            .is_some_and(|e| e.is_limit_exceeded_exception())
                        {
                            self.shared.kinesis_metrics.throttles.inc();
                            tracing::debug!(source = %self.shared.id, stream = %stream.name, "ListShards throttled");
                        } else {
                            self.shared.aws_errors.report(
                                "ListShards",
                                &format!("stream {}", stream.name),
                                &error,
                                "keeping the known shards",
                            );
                        }
                        return false;
                    }
                };
                for shard in page.shards() {
                    let key = lease_key(&stream.name, shard.shard_id());
                    let parents = [shard.parent_shard_id(), shard.adjacent_parent_shard_id()]
                        .into_iter()
                        .flatten()
                        .filter(|p| !p.is_empty())
                        .map(|p| lease_key(&stream.name, p))
                        .collect();
                    listed.insert(
                        key,
                        ShardInfo {
                            stream: index,
                            shard_id: shard.shard_id().to_string(),
                            parents,
                        },
                    );
                }
                match page.next_token() {
                    Some(t) if !t.is_empty() => token = Some(t.to_string()),
                    _ => break,
                }
            }
        }
        for key in listed.keys() {
            if !self.shards.contains_key(key) {
                if let Err(error) = self.shared.table.create(key).await {
                    self.shared.lease_failed(
                        &error,
                        &format!("cannot create the lease row {key}; retrying"),
                    );
                    return false;
                }
            }
        }
        if listed.len() != self.shards.len() {
            tracing::info!(source = %self.shared.id, shards = listed.len(), "shards discovered");
        }
        self.shards = listed;
        true
    }

    /// One lease round: scan the table, reap finished readers, renew the held leases, then take
    /// or steal leases up to this worker's target and start their readers. `Ok(true)` under
    /// `--once` when every shard was read up to its tip.
    async fn update_leases(&mut self) -> Result<bool, LeaseError> {
        let rows = self.shared.table.scan().await?;
        let now = Instant::now();
        let rows: HashMap<String, Lease> = rows.into_iter().map(|r| (r.key.clone(), r)).collect();
        self.observe(&rows, now);
        self.reap_ended_readers().await;
        self.renew_held(&rows).await;
        let eligible = self.eligible(&rows);
        let to_start = self.acquire(&rows, &eligible, now).await?;
        let all_done = self.shared.once
            && !self.shards.is_empty()
            && self.held.is_empty()
            && to_start.is_empty()
            && eligible.iter().all(|key| self.caught_up.contains(key));
        for acquired in to_start {
            self.start(acquired.key, acquired.counter, acquired.checkpoint);
        }
        self.shared
            .kinesis_metrics
            .leases
            .set(self.held.len() as i64);
        Ok(all_done)
    }

    /// Notes, per row, since when its owner and counter are what the scan says (a lease expires
    /// when its counter has not moved for `lease_duration`, by this process's clock).
    fn observe(&mut self, rows: &HashMap<String, Lease>, now: Instant) {
        for row in rows.values() {
            let changed = self
                .observed
                .get(&row.key)
                .is_none_or(|o| o.owner != row.owner || o.counter != row.counter);
            if changed {
                self.observed.insert(
                    row.key.clone(),
                    Observed {
                        owner: row.owner.clone(),
                        counter: row.counter,
                        since: now,
                    },
                );
            }
        }
    }

    /// Readers that ended: their leases are released (a finished shard needs no holder).
    async fn reap_ended_readers(&mut self) {
        let me = self.shared.worker.clone();
        let ended: Vec<String> = self
            .held
            .iter()
            .filter(|(_, h)| h.reader.is_finished())
            .map(|(k, _)| k.clone())
            .collect();
        for key in ended {
            if let Some(held) = self.held.remove(&key) {
                let outcome = held.reader.await.unwrap_or(Outcome::Stopped);
                tracing::debug!(source = %self.shared.id, lease = %key, ?outcome, "shard reader ended");
                if outcome == Outcome::CaughtUp {
                    self.caught_up.insert(key.clone());
                }
                let _ = self.shared.table.release(&key, &me).await;
            }
        }
    }

    /// Renews the held leases; a lease someone else took (or that vanished) is dropped at once
    /// and its reader stopped.
    async fn renew_held(&mut self, rows: &HashMap<String, Lease>) {
        let me = self.shared.worker.clone();
        let keys: Vec<String> = self.held.keys().cloned().collect();
        for key in keys {
            let lost = match rows.get(&key) {
                Some(row) if row.owner == me => {
                    let counter = self.held.get(&key).map_or(row.counter, |h| h.counter);
                    match self.shared.table.renew(&key, &me, counter).await {
                        Ok(true) => {
                            if let Some(held) = self.held.get_mut(&key) {
                                held.counter = counter + 1;
                            }
                            false
                        }
                        Ok(false) => true,
                        Err(error) => {
                            tracing::warn!(source = %self.shared.id, %error, lease = %key, "cannot renew the lease");
                            false
                        }
                    }
                }
                _ => true,
            };
            if lost {
                if let Some(held) = self.held.remove(&key) {
                    tracing::info!(source = %self.shared.id, lease = %key, "lease lost to another worker; stopping its reader");
                    held.stop.cancel();
                }
            }
        }
    }

    /// Whether a row's lease is held by a live worker: this one if it holds it, another one if
    /// its counter moved within `lease_duration`.
    fn alive(&self, row: &Lease, now: Instant) -> bool {
        !row.owner.is_empty()
            && !row.finished()
            && if row.owner == self.shared.worker {
                // A row naming this worker that it does not hold (a restart with the same
                // worker id) is free for it to take.
                self.held.contains_key(&row.key)
            } else {
                self.observed
                    .get(&row.key)
                    .is_some_and(|o| now.duration_since(o.since) < self.lease_duration)
            }
    }

    /// The shards that may be read now: listed, not finished, parents done.
    fn eligible(&self, rows: &HashMap<String, Lease>) -> Vec<String> {
        self.shards
            .keys()
            .filter(|key| {
                rows.get(*key).is_some_and(|r| !r.finished()) && self.parents_done(key, rows)
            })
            .cloned()
            .collect()
    }

    /// Balance: this worker's target is `ceil(eligible / live workers)`; below it, it takes free
    /// or expired leases first, then steals one from the busiest worker.
    async fn acquire(
        &self,
        rows: &HashMap<String, Lease>,
        eligible: &[String],
        now: Instant,
    ) -> Result<Vec<Acquired>, LeaseError> {
        let me = self.shared.worker.as_str();
        let mut load: HashMap<&str, usize> = HashMap::new();
        for key in eligible {
            if let Some(row) = rows.get(key) {
                if self.alive(row, now) && row.owner != me {
                    *load.entry(row.owner.as_str()).or_default() += 1;
                }
            }
        }
        let target = eligible.len().div_ceil(load.len() + 1);
        let mut to_start = self.take_free(rows, eligible, target, now).await?;
        if self.held.len() + to_start.len() < target {
            to_start.extend(self.steal_one(rows, eligible, &load, target, now).await?);
        }
        Ok(to_start)
    }

    /// Takes free or expired eligible leases until this worker holds `target`.
    async fn take_free(
        &self,
        rows: &HashMap<String, Lease>,
        eligible: &[String],
        target: usize,
        now: Instant,
    ) -> Result<Vec<Acquired>, LeaseError> {
        let me = self.shared.worker.as_str();
        let mut taken = Vec::new();
        for key in eligible {
            if self.held.len() + taken.len() >= target {
                break;
            }
            let Some(row) = rows.get(key) else {
                continue;
            };
            if self.held.contains_key(key) || self.alive(row, now) || self.caught_up.contains(key) {
                continue;
            }
            if let Some(counter) = self.shared.table.take(key, me, row.counter).await? {
                if !row.owner.is_empty() && row.owner != me {
                    self.shared.kinesis_metrics.takeovers.inc();
                    tracing::info!(source = %self.shared.id, lease = %key, previous = %row.owner, "took over an expired lease");
                }
                taken.push(Acquired {
                    key: key.clone(),
                    counter,
                    checkpoint: row.checkpoint.clone(),
                });
            }
        }
        Ok(taken)
    }

    /// Steals one lease from the busiest worker if it holds more than `target`.
    async fn steal_one(
        &self,
        rows: &HashMap<String, Lease>,
        eligible: &[String],
        load: &HashMap<&str, usize>,
        target: usize,
        now: Instant,
    ) -> Result<Option<Acquired>, LeaseError> {
        let Some((victim, count)) = load
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
            .map(|(o, c)| (o.to_string(), *c))
        else {
            return Ok(None);
        };
        if count <= target {
            return Ok(None);
        }
        let candidate = eligible.iter().find(|key| {
            rows.get(*key)
                .is_some_and(|r| r.owner == victim && self.alive(r, now))
        });
        let Some(key) = candidate else {
            return Ok(None);
        };
        let me = self.shared.worker.as_str();
        let Some(counter) = self.shared.table.steal(key, me, &victim).await? else {
            return Ok(None);
        };
        self.shared.kinesis_metrics.takeovers.inc();
        tracing::info!(source = %self.shared.id, lease = %key, from = %victim, target, "stole a lease for balance");
        Ok(Some(Acquired {
            key: key.clone(),
            counter,
            checkpoint: rows.get(key).and_then(|r| r.checkpoint.clone()),
        }))
    }

    /// Whether every parent of a shard is finished or no longer listed.
    fn parents_done(&self, key: &str, rows: &HashMap<String, Lease>) -> bool {
        let Some(info) = self.shards.get(key) else {
            return false;
        };
        info.parents.iter().all(|parent| {
            rows.get(parent).is_some_and(Lease::finished) || !self.shards.contains_key(parent)
        })
    }

    fn start(&mut self, key: String, counter: i64, checkpoint: Option<String>) {
        let Some(info) = self.shards.get(&key) else {
            return;
        };
        let Some(stream) = self.streams.get(info.stream).cloned() else {
            return;
        };
        let stop = CancellationToken::new();
        let task = ShardTask {
            stream,
            shard_id: info.shard_id.clone(),
            lease_key: key.clone(),
            checkpoint,
            has_parents: !info.parents.is_empty(),
            stop: stop.clone(),
        };
        let reader = tokio::spawn(shard_reader::run(Arc::clone(&self.shared), task));
        self.held.insert(
            key,
            Held {
                counter,
                stop,
                reader,
            },
        );
    }

    /// Shutdown: readers drain and checkpoint; then the leases are released.
    async fn shutdown(&mut self) {
        let me = self.shared.worker.clone();
        for (key, held) in self.held.drain() {
            let _ = held.reader.await;
            match self.shared.table.release(&key, &me).await {
                Ok(_) => {}
                Err(error) => {
                    tracing::debug!(source = %self.shared.id, %error, lease = %key, "cannot release the lease; it expires")
                }
            }
        }
        self.shared.kinesis_metrics.leases.set(0);
    }
}

fn lease_key(stream: &str, shard_id: &str) -> String {
    format!("{stream}/{shard_id}")
}
