//! Unit tests of the parts that need no AWS endpoint (the end-to-end tests against moto live in
//! `tests/tests/aws_kinesis_source.rs`).

use super::shard_reader::StreamRef;
use super::*;
use weir_core::component::PluginCommon;

fn config(toml_text: &str) -> AwsKinesisConfig {
    let value: toml::Value = toml::from_str(toml_text).expect("toml");
    let json = serde_json::to_value(value).expect("json");
    weir_core::component::deserialize_config(json).expect("config")
}

#[test]
fn defaults_and_validation() {
    let c = config("streams = [\"logs\"]\n");
    assert_eq!(c.start_position, StartPosition::Latest);
    assert_eq!(c.lease_table, "weir-kinesis-leases");
    assert_eq!(c.lease_duration_ms, 30_000);
    assert_eq!(c.checkpoint_interval_ms, 5_000);
    assert_eq!(c.decoding, Decoding::Auto);
    assert_eq!(c.on_rejected, OnRejected::Retry);
    assert!(c.validate().is_empty(), "{:?}", c.validate());

    let bad = config(
        "streams = []\nstart_position = \"at_timestamp\"\nlease_table = \"\"\nlease_duration_ms = 10\ndiscovery_interval_ms = 5\npoll_interval_ms = 1\nmax_records = 0\nmax_decompressed_bytes = 0\n",
    );
    let keys: Vec<String> = bad.validate().into_iter().map(|p| p.key).collect();
    for key in [
        "streams",
        "start_timestamp",
        "lease_table",
        "lease_duration_ms",
        "discovery_interval_ms",
        "poll_interval_ms",
        "max_records",
        "max_decompressed_bytes",
    ] {
        assert!(
            keys.iter().any(|k| k == key),
            "{key} not reported: {keys:?}"
        );
    }
    let at = config(
        "streams = [\"s\"]\nstart_position = \"at_timestamp\"\nstart_timestamp = \"2024-01-01T00:00:00Z\"\n",
    );
    assert!(at.validate().is_empty());
}

#[test]
fn streams_by_name_or_arn() {
    let by_name = StreamRef::parse("logs");
    assert_eq!(by_name.name, "logs");
    assert!(by_name.arn.is_none());
    let by_arn = StreamRef::parse("arn:aws:kinesis:eu-west-1:123456789012:stream/app-logs");
    assert_eq!(by_arn.name, "app-logs");
    assert_eq!(
        by_arn.arn.as_deref(),
        Some("arn:aws:kinesis:eu-west-1:123456789012:stream/app-logs")
    );
}
