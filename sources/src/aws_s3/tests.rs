//! Unit tests of the parts that need no AWS endpoint (the end-to-end tests against moto live in
//! `tests/tests/aws_s3_source.rs`).

use super::object_reader::detect_compression;
use super::*;
use weir_core::component::PluginCommon;

fn config(toml_text: &str) -> AwsS3SourceConfig {
    let value: toml::Value = toml::from_str(toml_text).expect("toml");
    let json = serde_json::to_value(value).expect("json");
    weir_core::component::deserialize_config(json).expect("config")
}

#[test]
fn defaults_and_validation() {
    let c = config("[sqs]\nqueue_url = \"http://q\"\n");
    assert_eq!(c.sqs.poll_secs, 20);
    assert_eq!(c.sqs.max_number_of_messages, 10);
    assert_eq!(c.sqs.visibility_timeout_secs, 300);
    assert_eq!(c.on_rejected, OnRejected::Retry);
    assert_eq!(c.compression, Compression::Auto);
    assert!(c.validate().is_empty());

    let bad = config(
        "include = [\"[\"]\nmax_line_bytes = 0\n[sqs]\nqueue_url = \"\"\npoll_secs = 21\nmax_number_of_messages = 11\nvisibility_timeout_secs = 0\nconcurrency = 0\n[auth.assume_role]\nrole_arn = \"\"\n",
    );
    let keys: Vec<String> = bad.validate().into_iter().map(|p| p.key).collect();
    for key in [
        "sqs.queue_url",
        "sqs.poll_secs",
        "sqs.max_number_of_messages",
        "sqs.visibility_timeout_secs",
        "sqs.concurrency",
        "max_line_bytes",
        "include",
        "auth.assume_role.role_arn",
    ] {
        assert!(
            keys.iter().any(|k| k == key),
            "{key} not reported: {keys:?}"
        );
    }
}

#[test]
fn unknown_keys_are_refused() {
    let value = serde_json::json!({"sqs": {"queue_url": "q", "poll": 1}});
    let error = weir_core::component::deserialize_config::<AwsS3SourceConfig>(value).unwrap_err();
    assert_eq!(error.key, "sqs.poll");
}

#[test]
fn compression_detection_order() {
    // Magic bytes win over everything.
    assert_eq!(
        detect_compression(&[0x1f, 0x8b, 8], None, "a.log"),
        Compression::Gzip
    );
    assert_eq!(
        detect_compression(&[0x28, 0xb5, 0x2f, 0xfd], Some("gzip"), "a.gz"),
        Compression::Zstd
    );
    // Then Content-Encoding, then the extension.
    assert_eq!(
        detect_compression(b"x", Some("gzip"), "a.log"),
        Compression::Gzip
    );
    assert_eq!(
        detect_compression(b"x", None, "a.log.zst"),
        Compression::Zstd
    );
    assert_eq!(
        detect_compression(b"x", None, "a.log.GZ"),
        Compression::Gzip
    );
    assert_eq!(
        detect_compression(b"plain", None, "a.log"),
        Compression::None
    );
}

#[test]
fn include_and_exclude_patterns() {
    let p = |s: &str| glob::Pattern::new(s).unwrap();
    let include = [p("AWSLogs/*/CloudTrail/*")];
    let exclude = [p("*CloudTrail-Digest*"), p("*.json")];
    let wants = |k| AwsS3SourceConfig::wants_key(&include, &exclude, k);
    assert!(wants("AWSLogs/1/CloudTrail/eu-west-1/2024/01/01/x.json.gz"));
    assert!(!wants("AWSLogs/1/CloudTrail-Digest/x.json.gz"));
    assert!(!wants("AWSLogs/1/CloudTrail/x.json"));
    assert!(!wants("other/key"));
    assert!(AwsS3SourceConfig::wants_key(&[], &[], "anything"));
}

#[test]
fn on_rejected_takes_the_shared_words_and_the_deprecated_delete() {
    let c = config("on_rejected = \"skip\"\n[sqs]\nqueue_url = \"http://q\"\n");
    assert_eq!(c.on_rejected, OnRejected::Skip);
    let old = config("on_rejected = \"delete\"\n[sqs]\nqueue_url = \"http://q\"\n");
    assert_eq!(old.on_rejected, OnRejected::Skip);
    let old = config("on_rejected = \"hold\"\n[sqs]\nqueue_url = \"http://q\"\n");
    assert_eq!(old.on_rejected, OnRejected::Retry);
    let value: toml::Value =
        toml::from_str("on_rejected = \"drop\"\n[sqs]\nqueue_url = \"q\"\n").unwrap();
    let json = serde_json::to_value(value).unwrap();
    assert!(weir_core::component::deserialize_config::<AwsS3SourceConfig>(json).is_err());
    let schema = serde_json::to_string(&schemars::schema_for!(AwsS3SourceConfig)).unwrap();
    for word in ["retry", "skip", "hold", "delete"] {
        assert!(schema.contains(&format!("\"{word}\"")), "{word}");
    }
}
