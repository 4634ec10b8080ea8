use weir_core::component::PluginCommon;
use weir_core::template::Template;
use weir_core::{StreamPosition, Value};

use super::request::{body, gzip, DocEncoder};
use super::*;
use crate::test_util::event;

fn config(table: serde_json::Value) -> ElasticsearchSinkConfig {
    serde_json::from_value(table).expect("config parses")
}

#[test]
fn config_defaults_and_problems() {
    let c = config(serde_json::json!({ "endpoints": ["http://127.0.0.1:9200"] }));
    assert!(c.validate().is_empty());
    assert_eq!(c.index, "weir-%Y.%m.%d");
    assert_eq!(c.action(), BulkAction::Index);
    assert_eq!(c.compression, EsCompression::Gzip);
    assert_eq!(c.outputs(), vec!["dead_letter"]);
    let ds = config(serde_json::json!({ "endpoints": ["http://x"], "mode": "data_stream" }));
    assert_eq!(ds.action(), BulkAction::Create);
    let bad = config(serde_json::json!({
        "endpoints": ["ftp://x"], "index": "a-{{", "concurrency": 0,
        "batch": { "max_events": 0 },
    }));
    let keys: Vec<_> = bad.validate().into_iter().map(|p| p.key).collect();
    assert_eq!(
        keys,
        ["endpoints[0]", "index", "batch.max_events", "concurrency"]
    );
    let aws = config(serde_json::json!({
        "endpoints": ["https://x"], "auth": { "strategy": "aws", "region": "eu-west-1" },
    }));
    assert!(matches!(aws.auth, Some(Auth::Aws { ref service, .. }) if service == "es"));
    assert!(serde_json::from_value::<ElasticsearchSinkConfig>(
        serde_json::json!({ "endpoints": ["http://x"], "auth": { "strategy": "basic", "user": "u" } })
    )
    .is_err());
}

/// The basic-auth password and the API key never show in a `{:?}` of the config (a log line, an
/// error, a panic).
#[test]
fn auth_secrets_are_redacted_in_debug() {
    for auth in [
        serde_json::json!({ "strategy": "basic", "user": "weir", "password": "hunter2" }),
        serde_json::json!({ "strategy": "api_key", "api_key": "hunter2" }),
    ] {
        let c = config(serde_json::json!({ "endpoints": ["https://x"], "auth": auth }));
        let shown = format!("{c:?} {c:#?} {:?}", c.auth);
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("**redacted**"), "{shown}");
    }
    let c = config(serde_json::json!({
        "endpoints": ["https://x"],
        "auth": { "strategy": "basic", "user": "weir", "password": "hunter2" },
    }));
    let Some(Auth::Basic { user, password }) = &c.auth else {
        panic!("basic auth");
    };
    assert_eq!((user.as_str(), password.expose()), ("weir", "hunter2"));
}

#[test]
fn documents_get_index_id_and_action_lines() {
    let mut aws = weir_core::ObjectMap::new();
    aws.insert("log_type".into(), Value::from("alb"));
    let ts = chrono::DateTime::parse_from_rfc3339("2024-03-05T10:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let mut e = event(
        &[
            ("aws", Value::Object(aws)),
            ("timestamp", Value::Timestamp(ts)),
            ("rid", Value::from("r-1")),
        ],
        None,
    );
    e.metadata.stream = Some(StreamPosition {
        stream: "/logs/a".into(),
        offset: 7,
    });
    let template = Template::parse("aws-{{ aws.log_type }}-%Y.%m.%d").unwrap();
    let mut enc = DocEncoder::new(template.clone(), None, BulkAction::Create, false);
    let doc = enc.encode(e.clone()).map_err(|r| r.reason).unwrap();
    let text = String::from_utf8(doc.lines.clone()).unwrap();
    let mut lines = text.lines();
    let action: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(action["create"]["_index"], "aws-alb-2024.03.05");
    assert!(action["create"]["_id"].as_str().unwrap().ends_with("-7"));
    let source: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(source["rid"], "r-1");

    let mut by_field = DocEncoder::new(template.clone(), Some("rid"), BulkAction::Index, false);
    let doc = by_field.encode(e.clone()).map_err(|r| r.reason).unwrap();
    let action: serde_json::Value =
        serde_json::from_slice(doc.lines.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert_eq!(action["index"]["_id"], "r-1");

    let mut ds = DocEncoder::new(
        Template::parse("logs-weir").unwrap(),
        None,
        BulkAction::Create,
        true,
    );
    let doc = ds.encode(e.clone()).map_err(|r| r.reason).unwrap();
    let b = body(&[doc]);
    let source: serde_json::Value =
        serde_json::from_slice(b.split(|c| *c == b'\n').nth(1).unwrap()).unwrap();
    assert_eq!(source["@timestamp"], "2024-03-05T10:00:00Z");
    assert_eq!(source["rid"], "r-1");
    assert!(gzip(&b).unwrap().starts_with(&[0x1f, 0x8b]));

    // A missing template field makes the event unencodable (it is dead-lettered).
    let plain = event(&[("message", Value::from("x"))], None);
    let reason = enc.encode(plain).err().unwrap().reason;
    assert!(reason.contains("aws.log_type"), "{reason}");
}
