//! `weir-sinks`: Weir's sinks, one module folder per plugin.
//!
//! * [`file`] — writes events to files named by a template (ndjson or raw text, optional gzip).
//! * [`console`] — writes events to stdout.
//! * [`kafka`] — produces events to Kafka topics, acknowledged from delivery reports.
//! * [`elasticsearch`] — bulk-writes events to Elasticsearch / OpenSearch, acknowledged per item.
//! * [`blackhole`] — counts and acknowledges events without writing them (benchmarks, backpressure tests).
//!
//! [`specs`] registers all of them.
#![warn(missing_docs)]

pub mod blackhole;
pub mod console;
pub mod dead_letter;
pub mod elasticsearch;
pub mod encoding;
pub mod errors;
pub mod event_key;
pub mod file;
pub mod kafka;

#[cfg(test)]
mod test_util;

use weir_core::component::{parse_sink, schema_of, ComponentSpec, ParseConfig};

/// The registrations of every sink in this crate.
pub fn specs() -> Vec<ComponentSpec> {
    vec![
        ComponentSpec {
            type_name: "file",
            description:
                "Writes events to files named by a path template (ndjson or text, optional gzip).",
            parse: ParseConfig::Sink(parse_sink::<file::FileSinkConfig>),
            schema: schema_of::<file::FileSinkConfig>,
        },
        ComponentSpec {
            type_name: "console",
            description: "Writes events to stdout as ndjson or text lines.",
            parse: ParseConfig::Sink(parse_sink::<console::ConsoleSinkConfig>),
            schema: schema_of::<console::ConsoleSinkConfig>,
        },
        ComponentSpec {
            type_name: "blackhole",
            description:
                "Counts and acknowledges events without writing them, optionally rate limited.",
            parse: ParseConfig::Sink(parse_sink::<blackhole::BlackholeSinkConfig>),
            schema: schema_of::<blackhole::BlackholeSinkConfig>,
        },
        ComponentSpec {
            type_name: "kafka",
            description: "Produces events to Kafka topics; acknowledged from delivery reports, rejected events dead-lettered.",
            parse: ParseConfig::Sink(parse_sink::<kafka::KafkaSinkConfig>),
            schema: schema_of::<kafka::KafkaSinkConfig>,
        },
        ComponentSpec {
            type_name: "elasticsearch",
            description: "Bulk-writes events to Elasticsearch/OpenSearch; per-item acknowledgement, retries and dead letters.",
            parse: ParseConfig::Sink(parse_sink::<elasticsearch::ElasticsearchSinkConfig>),
            schema: schema_of::<elasticsearch::ElasticsearchSinkConfig>,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_their_configs() {
        let specs = specs();
        let names: Vec<_> = specs.iter().map(|s| s.type_name).collect();
        assert_eq!(
            names,
            ["file", "console", "blackhole", "kafka", "elasticsearch"]
        );
        let tables = [
            serde_json::json!({ "path": "./weir-out/%Y-%m-%d/{{ source_type }}.ndjson" }),
            serde_json::json!({ "encoding": "text" }),
            serde_json::json!({ "rate_limit_events_per_sec": 10 }),
            serde_json::json!({ "bootstrap_servers": "127.0.0.1:9092", "topic": "aws-{{ aws.log_type }}" }),
            serde_json::json!({ "endpoints": ["http://127.0.0.1:9200"] }),
        ];
        for (spec, table) in specs.iter().zip(tables) {
            let ParseConfig::Sink(parse) = spec.parse else {
                panic!("{} is not a sink", spec.type_name);
            };
            let config = parse(table).expect("parses");
            assert!(
                config.validate().is_empty(),
                "{}: {:?}",
                spec.type_name,
                config.validate()
            );
        }
        // Unknown keys are refused.
        for spec in &specs {
            let ParseConfig::Sink(parse) = spec.parse else {
                panic!("{} is not a sink", spec.type_name);
            };
            assert!(parse(serde_json::json!({ "path": "x", "nope": 1 })).is_err());
        }
    }
}
