//! The format table of the reference and README, generated from the [registry](super::registry)
//! so that no list of formats is kept by hand.

use super::registry::{Format, Pattern, FORMATS};

/// The marker lines around the generated table in README.md.
pub const README_BEGIN: &str =
    "<!-- formats: generated from aws/src/formats/registry.rs; `cargo run -- docs` -->";
/// The line after the generated table in README.md.
pub const README_END: &str = "<!-- formats: end -->";

/// `|` would end a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

fn patterns(list: &[Pattern]) -> String {
    if list.is_empty() {
        return "—".into();
    }
    let words: Vec<String> = list.iter().map(ToString::to_string).collect();
    cell(&words.join(", "))
}

fn log_groups(format: &Format) -> String {
    let detect = &format.detect;
    match (detect.log_group.is_empty(), detect.log_stream.is_empty()) {
        (true, true) => "—".into(),
        (false, true) => patterns(detect.log_group),
        (true, false) => format!("stream {}", patterns(detect.log_stream)),
        (false, false) => format!(
            "{}; stream {}",
            patterns(detect.log_group),
            patterns(detect.log_stream)
        ),
    }
}

/// Whether `schema = "ecs"` maps a format's fields or only sets the base fields.
fn ecs_mapped(format: &Format) -> &'static str {
    if format.mappings.ecs.map.is_some() {
        "mapped"
    } else {
        "base fields only"
    }
}

/// What `schema = "ecs"` gives a format: its data stream, and whether fields are mapped.
pub fn ecs_words(format: &Format) -> String {
    format!("{} ({})", format.mappings.ecs.dataset, ecs_mapped(format))
}

fn ecs_cell(format: &Format) -> String {
    format!("`{}`, {}", format.mappings.ecs.dataset, ecs_mapped(format))
}

/// The Markdown table of every format: name, what it is, record shape and how `auto` detects it
/// (in detection order).
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| `aws.log_type` | log | shape | detected by key / path | by log group | by content | `schema = \"ecs\"` | `schema = \"ocsf\"` |\n|---|---|---|---|---|---|---|---|\n",
    );
    for format in FORMATS {
        let content = if format.detect.content_words.is_empty() {
            "—".to_string()
        } else {
            cell(format.detect.content_words)
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} | {} | {} |\n",
            format.name,
            cell(format.description),
            format.shape.as_str(),
            patterns(format.detect.stream),
            log_groups(format),
            content,
            ecs_cell(format),
            cell(format.mappings.ocsf.classes),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// README's format table is this module's output, between its marker lines.
    #[test]
    fn readme_format_table_is_generated_from_the_registry() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
            .expect("README.md");
        let start = readme
            .find(README_BEGIN)
            .expect("README has the begin marker");
        let after = start + README_BEGIN.len() + 1;
        let end = readme[after..]
            .find(README_END)
            .expect("README has the end marker")
            + after;
        let table = markdown_table();
        assert!(
            readme[after..end] == table,
            "README.md's format table is stale; replace it with:\n{table}"
        );
    }

    #[test]
    fn every_format_and_its_detection_is_in_the_table() {
        let table = markdown_table();
        for format in FORMATS {
            assert!(table.contains(&format!("| `{}` |", format.name)));
        }
        assert!(table.contains("name `…_app.…`"), "{table}");
    }
}
