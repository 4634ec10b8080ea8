use weir_core::topology::diff::{self, Change};

use super::*;

fn pipeline(text: &str) -> PipelineConfig {
    let file = PipelineFile {
        path: PathBuf::from("pipeline.toml"),
        text: text.to_string(),
    };
    load(&[file], |_| None).expect("the pipeline loads").config
}

/// What a reload from `old` to `new` does to each component.
fn changes(old: &str, new: &str) -> BTreeMap<String, Change> {
    let (old, new) = (pipeline(old), pipeline(new));
    diff::diff(
        &diff::shapes(&old.components),
        &diff::shapes(&new.components),
    )
    .changes
}

const BASE: &str = r#"
[sources.logs]
type = "file"
include = ["/var/log/*.log"]

[sinks.out]
type = "console"
inputs = ["logs"]
"#;

#[test]
fn a_reload_compares_parsed_configs_not_tables_as_written() {
    let defaults_written = r#"
[sources.logs]
include = ["/var/log/*.log"]
read_from = "beginning"
max_line_bytes = 1048576
type = "file"

[sinks.out]
type = "console"
inputs = ["logs"]
encoding = "ndjson"
buffer = { max_events = 500, when_full = "block" }
"#;
    assert_ne!(
        pipeline(BASE).components["logs"].raw,
        pipeline(defaults_written).components["logs"].raw,
        "the tables differ as written"
    );
    for (old, new) in [(BASE, defaults_written), (defaults_written, BASE)] {
        let changes = changes(old, new);
        assert_eq!(changes["logs"], Change::Unchanged, "defaults written out");
        assert_eq!(changes["out"], Change::Unchanged, "defaults written out");
    }

    let changed = BASE
        .replace("include = [", "read_from = \"end\"\ninclude = [")
        .replace(
            "type = \"console\"",
            "type = \"console\"\nbuffer.max_events = 10",
        );
    let changes = changes(BASE, &changed);
    assert_eq!(changes["logs"], Change::Changed, "a value changed");
    assert_eq!(changes["out"], Change::Changed, "the buffer changed");
}
