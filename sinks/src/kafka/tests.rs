use std::collections::BTreeMap;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Headers as _;
use weir_core::ack::{BatchStatus, EventStatus};
use weir_core::component::PluginCommon;
use weir_core::template::Template;
use weir_core::{StreamPosition, Value};

use super::delivery::{classify, Failure};
use super::record::RecordBuilder;
use super::*;
use crate::encoding::Encoding;
use crate::test_util::{batch, event, start, status};

fn config(table: serde_json::Value) -> KafkaSinkConfig {
    serde_json::from_value(table).expect("config parses")
}

#[test]
fn defaults_are_acks_all_idempotent_and_bounded() {
    let c = config(serde_json::json!({ "bootstrap_servers": "b:9092", "topic": "t" }));
    assert!(c.validate().is_empty());
    let props: BTreeMap<_, _> = c.librdkafka_properties().into_iter().collect();
    assert_eq!(props["acks"], "all");
    assert_eq!(props["enable.idempotence"], "true");
    assert_eq!(props["message.timeout.ms"], "300000");
    assert_eq!(props["queue.buffering.max.kbytes"], "65536");
    assert_eq!(props["security.protocol"], "plaintext");
    assert_eq!(c.outputs(), vec!["dead_letter"]);
}

#[test]
fn tls_sasl_and_passthrough_options() {
    let c = config(serde_json::json!({
        "bootstrap_servers": "b:9093", "topic": "t", "compression": "zstd",
        "tls": { "ca_file": "/ca.pem", "verify_hostname": false },
        "sasl": { "mechanism": "SCRAM-SHA-512", "username": "u", "password": "p" },
        "librdkafka_options": { "linger.ms": "20", "acks": "1" },
    }));
    let props = c.librdkafka_properties();
    let get = |k: &str| {
        props
            .iter()
            .rev()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("security.protocol"), Some("sasl_ssl"));
    assert_eq!(get("sasl.mechanism"), Some("SCRAM-SHA-512"));
    assert_eq!(get("ssl.ca.location"), Some("/ca.pem"));
    assert_eq!(get("ssl.endpoint.identification.algorithm"), Some("none"));
    assert_eq!(get("compression.codec"), Some("zstd"));
    assert_eq!(get("linger.ms"), Some("20"));
    // Passthrough options come last, so they win.
    assert_eq!(get("acks"), Some("1"));
}

/// `sasl.password` and `tls.key_password` reach librdkafka but never a `{:?}` of the config
/// (a log line, an error, a panic).
#[test]
fn secrets_are_redacted_in_debug_but_given_to_librdkafka() {
    let c = config(serde_json::json!({
        "bootstrap_servers": "b:9093", "topic": "t",
        "tls": { "key_file": "/key.pem", "key_password": "key-hunter2" },
        "sasl": { "mechanism": "PLAIN", "username": "u", "password": "sasl-hunter2" },
    }));
    let shown = format!("{c:?} {c:#?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("**redacted**"), "{shown}");
    let props: BTreeMap<_, _> = c.librdkafka_properties().into_iter().collect();
    assert_eq!(props["sasl.password"], "sasl-hunter2");
    assert_eq!(props["ssl.key.password"], "key-hunter2");
}

#[test]
fn invalid_configs_are_reported_per_key() {
    let c = config(serde_json::json!({
        "bootstrap_servers": " ", "topic": "x-{{", "message_timeout_ms": 0, "key_field": "",
    }));
    let keys: Vec<_> = c.validate().into_iter().map(|p| p.key).collect();
    assert_eq!(
        keys,
        [
            "bootstrap_servers",
            "topic",
            "key_field",
            "message_timeout_ms"
        ]
    );
    assert!(serde_json::from_value::<KafkaSinkConfig>(
        serde_json::json!({ "bootstrap_servers": "b", "topic": "t", "nope": 1 })
    )
    .is_err());
}

#[test]
fn records_have_rendered_topic_key_headers_and_json() {
    let mut aws = weir_core::ObjectMap::new();
    aws.insert("log_type".into(), Value::from("alb"));
    let mut e = event(
        &[
            ("message", Value::from("hi")),
            ("aws", Value::Object(aws)),
            ("n", Value::Integer(7)),
        ],
        None,
    );
    e.metadata.stream = Some(StreamPosition {
        stream: "/var/log/a.log".into(),
        offset: 42,
    });
    let headers = BTreeMap::from([
        ("log_type".to_string(), "aws.log_type".to_string()),
        ("n".to_string(), "n".to_string()),
        ("missing".to_string(), "nope".to_string()),
    ]);
    let mut builder = RecordBuilder::new(
        Template::parse("aws-{{ aws.log_type }}").unwrap(),
        None,
        &headers,
        Encoding::Ndjson,
    );
    let fields = builder.build(&e).unwrap();
    assert_eq!(fields.topic, "aws-alb");
    let key = String::from_utf8(fields.key.clone().unwrap()).unwrap();
    assert!(key.ends_with("-42"), "{key}");
    // Deterministic: the same record gets the same key.
    assert_eq!(builder.build(&e).unwrap().key, fields.key);
    assert_eq!(fields.headers.count(), 2);
    assert_eq!(fields.headers.get(0).key, "log_type");
    assert_eq!(fields.headers.get(0).value, Some(&b"alb"[..]));
    assert_eq!(fields.headers.get(1).value, Some(&b"7"[..]));
    let json: serde_json::Value = serde_json::from_slice(&fields.payload).unwrap();
    assert_eq!(json["aws"]["log_type"], "alb");

    let mut text = RecordBuilder::new(
        Template::parse("t").unwrap(),
        Some("n"),
        &BTreeMap::new(),
        Encoding::Text,
    );
    let fields = text.build(&e).unwrap();
    assert_eq!(fields.payload, b"hi");
    assert_eq!(fields.key.as_deref(), Some(&b"7"[..]));
    let no_message = event(&[("n", Value::Integer(1))], None);
    assert!(text.build(&no_message).is_err());
    let no_field = event(&[], None);
    assert!(builder
        .build(&no_field)
        .unwrap_err()
        .contains("aws.log_type"));
}

#[test]
fn errors_are_classified_rejected_only_when_retrying_cannot_help() {
    let c = |code| classify(&KafkaError::MessageProduction(code));
    assert_eq!(
        c(RDKafkaErrorCode::MessageTimedOut),
        (Failure::Timeout, EventStatus::Errored)
    );
    assert_eq!(
        c(RDKafkaErrorCode::MessageSizeTooLarge),
        (Failure::TooLarge, EventStatus::Rejected)
    );
    assert_eq!(
        c(RDKafkaErrorCode::TopicAuthorizationFailed),
        (Failure::Unauthorized, EventStatus::Rejected)
    );
    assert_eq!(
        c(RDKafkaErrorCode::NotEnoughReplicas),
        (Failure::Other, EventStatus::Errored)
    );
    assert_eq!(
        c(RDKafkaErrorCode::BrokerTransportFailure),
        (Failure::Other, EventStatus::Errored)
    );
}

/// No broker listens: librdkafka retries until `message_timeout_ms`, then the events end Errored,
/// never Delivered.
#[tokio::test]
async fn undeliverable_events_end_errored_after_the_message_timeout() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c = config(serde_json::json!({
        "bootstrap_servers": format!("127.0.0.1:{port}"), "topic": "t", "message_timeout_ms": 1500,
    }));
    let sink = start(&c, "kafka");
    let (notifier, rx) = batch();
    let events = (0..10)
        .map(|i| {
            event(
                &[("message", Value::from(format!("m{i}")))],
                Some(&notifier),
            )
        })
        .collect();
    drop(notifier);
    sink.tx.send(events).await.unwrap();
    assert_eq!(status(rx).await, BatchStatus::Errored);
    sink.finish().await;
}

/// An oversize message is refused by librdkafka itself (`message.max.bytes`): Rejected, and,
/// with nothing consuming `id.dead_letter`, kept in the sink's dead-letter files (fsynced before
/// the batch hears of it) — or, with `dead_letter.discard`, only counted.
#[tokio::test]
async fn oversize_messages_are_rejected_and_kept() {
    for discard in [false, true] {
        let c = config(serde_json::json!({
            "bootstrap_servers": "127.0.0.1:1", "topic": "t", "message_timeout_ms": 1500,
            "librdkafka_options": { "message.max.bytes": "1000" },
            "dead_letter": { "discard": discard },
        }));
        let data_dir = tempfile::tempdir().unwrap();
        let sink = crate::test_util::start_in(&c, "kafka", data_dir.path());
        let (notifier, rx) = batch();
        let big = "x".repeat(5000);
        sink.tx
            .send(vec![event(
                &[("message", Value::from(big.as_str()))],
                Some(&notifier),
            )])
            .await
            .unwrap();
        drop(notifier);
        assert_eq!(status(rx).await, BatchStatus::Rejected);
        let dir = data_dir.path().join("dead_letter").join("id");
        let kept: Vec<serde_json::Value> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flat_map(|e| {
                std::fs::read_to_string(e.unwrap().path())
                    .unwrap()
                    .lines()
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .map(|line| serde_json::from_str(&line).unwrap())
            .collect();
        let metrics = sink.finish().await;
        assert_eq!(
            crate::test_util::error_count(&metrics, crate::errors::ErrorType::Rejected),
            1
        );
        if discard {
            assert!(kept.is_empty(), "{kept:?}");
            assert_eq!(metrics.discarded.get(), 1);
        } else {
            assert_eq!(kept.len(), 1, "{kept:?}");
            assert_eq!(kept[0]["event"]["message"], big.as_str());
            assert_eq!(kept[0]["sink"], "id");
            assert!(kept[0]["reason"].as_str().is_some_and(|r| !r.is_empty()));
            assert!(kept[0]["timestamp"].is_string());
            assert_eq!(metrics.discarded.get(), 0);
        }
    }
}
