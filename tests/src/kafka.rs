//! Kafka clients for the end-to-end tests: create a topic, read a whole topic back.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};

/// Creates `topic` with `partitions` partitions (replication 1) and waits for the answer.
pub fn create_topic(broker: &str, topic: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", broker)
        .create()
        .expect("admin client");
    let rt = crate::runtime();
    let results = rt
        .block_on(admin.create_topics(
            &[NewTopic::new(topic, partitions, TopicReplication::Fixed(1))],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        ))
        .expect("create_topics");
    for result in results {
        result.expect("topic created");
    }
}

/// One message read back.
#[derive(Debug)]
pub struct Consumed {
    /// Its partition.
    pub partition: i32,
    /// Its key, as text.
    pub key: Option<String>,
    /// Its headers, as text.
    pub headers: BTreeMap<String, String>,
    /// Its payload parsed as JSON (`Null` when it is not JSON).
    pub body: serde_json::Value,
}

/// Reads every partition of `topic` from the beginning until `expected` messages arrived or
/// nothing came for `idle`.
pub fn read_topic(
    broker: &str,
    topic: &str,
    partitions: i32,
    expected: usize,
    idle: Duration,
) -> Vec<Consumed> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker)
        .set("group.id", "weir-test")
        .set("session.timeout.ms", "6000")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut assignment = TopicPartitionList::new();
    for p in 0..partitions {
        assignment
            .add_partition_offset(topic, p, Offset::Beginning)
            .expect("partition");
    }
    consumer.assign(&assignment).expect("assign");
    let mut out = Vec::new();
    let mut last = Instant::now();
    while out.len() < expected && last.elapsed() < idle {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                last = Instant::now();
                out.push(consumed(&m));
            }
            Some(Err(e)) => panic!("consumer error: {e}"),
            None => {}
        }
    }
    out
}

fn consumed(m: &rdkafka::message::BorrowedMessage<'_>) -> Consumed {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let headers = m
        .headers()
        .map(|h| {
            h.iter()
                .map(|h| (h.key.to_string(), text(h.value.unwrap_or_default())))
                .collect()
        })
        .unwrap_or_default();
    Consumed {
        partition: m.partition(),
        key: m.key().map(text),
        headers,
        body: serde_json::from_slice(m.payload().unwrap_or_default())
            .unwrap_or(serde_json::Value::Null),
    }
}

/// The sum of `topic`'s high watermarks over `partitions` partitions: about how many messages it
/// holds. tansu's watermarks lag behind what a consumer reads (by up to about a thousand of
/// 300,000 records after large batches), so this is for watching progress; counts that must be
/// exact read the topic ([`read_topic`]).
pub fn topic_size(broker: &str, topic: &str, partitions: i32) -> i64 {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker)
        .set("group.id", "weir-test-size")
        .create()
        .expect("consumer");
    (0..partitions)
        .map(|p| {
            consumer
                .fetch_watermarks(topic, p, Duration::from_secs(5))
                .map_or(0, |(_, high)| high.max(0))
        })
        .sum()
}
