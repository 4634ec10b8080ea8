//! The AWS log formats: one module per format, each a pure parser from one framed record
//! (a line, or one JSON document) to zero or more parsed records.
//!
//! Every parser:
//! * emits typed fields (numbers as numbers, times as `Value::Timestamp`, `-` as absent), named with
//!   AWS's documented names in snake_case, under the record's root map;
//! * sets `aws.log_type` (see [`set_log_type`]) and `timestamp` from the record's own time;
//! * keeps unknown trailing fields (under `unparsed_trailing`), accepts records that stop early;
//! * never panics on any input and reports failures as [`ParseError`] naming format, field, offset.
//!
//! Parsers that need per-stream context (CloudFront `#Fields:`, VPC Flow header lines) are stateful:
//! one [`RecordParser`] instance per stream, fed the stream's records in order.

pub mod alb;
pub mod apigateway;
pub mod cloudfront;
pub mod cloudtrail;
pub mod delimited;
pub mod detect;
pub mod elb_classic;
pub mod firehose_error;
pub mod json_reader;
pub mod lambda;
pub mod nlb;
pub mod rds;
pub mod redshift;
pub mod reference;
pub mod registry;
pub mod route53;
pub mod route53_resolver;
pub mod s3_access;
#[cfg(test)]
pub(crate) mod test_lines;
pub mod vpc_flow;
pub mod waf;

use bytes::Bytes;
use vrl::value::{KeyString, ObjectMap, Value};
use weir_core::fields::Fields;

/// A record that could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{format}: field `{field}` at byte {offset}: {message}")]
pub struct ParseError {
    /// The format's `aws.log_type` name (`alb`, `vpc_flow`, …).
    pub format: &'static str,
    /// The field being parsed when it failed (AWS's name, snake_case).
    pub field: String,
    /// Byte offset into the record where the problem is.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

impl ParseError {
    /// A new error.
    pub fn new(
        format: &'static str,
        field: impl Into<String>,
        offset: usize,
        message: impl Into<String>,
    ) -> Self {
        Self {
            format,
            field: field.into(),
            offset,
            message: message.into(),
        }
    }
}

/// A parser for one stream of records of one format.
pub trait RecordParser: Send {
    /// The `aws.log_type` this parser produces.
    fn log_type(&self) -> &'static str;

    /// Parses one framed record and appends its parsed records to `out`: usually one; none for a
    /// header line or a control message (consumed, not emitted); several for envelopes that carry
    /// many records (CloudWatch Logs subscription data, CloudTrail `Records` documents).
    fn parse(&mut self, record: &Bytes, out: &mut Vec<ObjectMap>) -> Result<(), ParseError>;

    /// [`Self::parse`], in the form events carry their fields: positional formats (and the top
    /// level of CloudTrail events) give [`Record`](weir_core::fields::Record)s that share their
    /// field names (see [`weir_core::fields`]); the others wrap `parse`'s maps. Equal fields
    /// either way.
    fn parse_fields(&mut self, record: &Bytes, out: &mut Vec<Fields>) -> Result<(), ParseError> {
        let mut maps = Vec::new();
        self.parse(record, &mut maps)?;
        out.extend(maps.into_iter().map(Fields::from));
        Ok(())
    }

    /// Whether `record` sets this parser's stream context rather than being a record (a VPC Flow
    /// header line, a CloudFront `#Fields:` line). `aws_parse` feeds such lines to the stream's
    /// own parser in stream order, and parses the other lines on [`Self::fork`]s of it, on any
    /// thread. Default: the parser has no context.
    fn is_context(&self, _record: &[u8]) -> bool {
        false
    }

    /// A copy of this parser with its stream context, for parsing the lines after that context
    /// elsewhere. `None` (the default): the parser has no context, so any new parser of its
    /// format parses alike.
    fn fork(&self) -> Option<Box<dyn RecordParser>> {
        None
    }
}

/// Sets `aws.log_type` on a parsed record.
pub fn set_log_type(map: &mut ObjectMap, log_type: &'static str) {
    map.insert(KeyString::from(AWS), log_type_value(log_type));
}

/// The record field that holds `log_type` (and other facts about the record's origin).
pub const AWS: &str = "aws";

/// The value of the [`AWS`] field: `{"log_type": log_type}`.
pub fn log_type_value(log_type: &'static str) -> Value {
    let mut aws = ObjectMap::new();
    aws.insert(
        KeyString::from("log_type"),
        Value::Bytes(Bytes::from_static(log_type.as_bytes())),
    );
    Value::Object(aws)
}

#[cfg(test)]
mod coverage_tests {
    use std::path::{Path, PathBuf};

    /// Folders whose format tests compare every `*.expected.json` they find (globbing).
    const COMPARED_BY_GLOB: [&str; 3] = ["alb/", "s3-access-logs/", "vpc-flow-logs/"];
    /// Expected files compared by tests that name them.
    const COMPARED_BY_NAME: [&str; 5] = [
        "cloudwatch-subscription/powertools/lambda-awslogs-event.expected.json",
        "cloudwatch-subscription/vrl-expected/vrl-doc-example.expected.json",
        "redshift-audit/signalfx/redshift_connectionlog.expected.json",
        "redshift-audit/signalfx/redshift_useractivitylog.expected.json",
        "redshift-audit/signalfx/redshift_userlog.expected.json",
    ];

    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.to_string_lossy().ends_with(".expected.json") {
                out.push(path);
            }
        }
    }

    /// A new expected parse in the corpus fails this test until a format test compares it (with a
    /// documented name map), so no expected file is silently left unchecked.
    #[test]
    fn every_expected_parse_in_the_corpus_is_compared_by_a_format_test() {
        let corpus = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus"));
        let mut files = Vec::new();
        walk(corpus, &mut files);
        assert!(files.len() >= 20, "found {} expected files", files.len());
        let unchecked: Vec<String> = files
            .iter()
            .filter_map(|p| p.strip_prefix(corpus).ok())
            .map(|p| p.to_string_lossy().into_owned())
            .filter(|p| {
                !COMPARED_BY_GLOB.iter().any(|g| p.starts_with(g))
                    && !COMPARED_BY_NAME.contains(&p.as_str())
            })
            .collect();
        assert!(
            unchecked.is_empty(),
            "expected parses no test compares: {unchecked:?}"
        );
    }
}

#[cfg(test)]
mod record_form_tests {
    use super::delimited::test_support::{corpus_files, lines};
    use super::registry;
    use weir_core::json::{write_fields, write_object};

    /// Positional formats give records (shared field names), and a record reads, and serializes,
    /// exactly as the map `parse` gives for the same line: checked on every corpus line.
    #[test]
    fn positional_formats_give_records_equal_to_their_maps() {
        let positional = registry::FORMATS
            .iter()
            .filter(|f| f.shape == registry::Shape::Positional);
        for spec in positional {
            let format = spec.name;
            let mut compared = 0;
            for file in spec
                .corpus
                .iter()
                .flat_map(|folder| corpus_files(folder, ".log"))
            {
                // One parser per file for each form, as header lines configure what follows.
                let (mut as_fields, mut as_maps) = ((spec.new_parser)(), (spec.new_parser)());
                for line in lines(&file) {
                    let (mut fields, mut maps) = (Vec::new(), Vec::new());
                    let a = as_fields.parse_fields(&line, &mut fields);
                    let b = as_maps.parse(&line, &mut maps);
                    assert_eq!(a.is_ok(), b.is_ok(), "{}", file.display());
                    assert_eq!(fields.len(), maps.len());
                    for (f, m) in fields.iter().zip(&maps) {
                        assert!(f.is_record(), "{format}: not a record");
                        assert!(f == m, "{}: {f:?} != {m:?}", file.display());
                        let (mut x, mut y) = (Vec::new(), Vec::new());
                        write_fields(f, &mut x);
                        write_object(m, &mut y);
                        assert_eq!(x, y, "{}", file.display());
                        assert_eq!(f.len(), m.len());
                        for (key, value) in m {
                            assert_eq!(f.get(key), Some(value));
                        }
                        compared += 1;
                    }
                }
            }
            assert!(compared > 0, "{format}: no record compared");
        }
    }

    /// What `aws_parse` relies on to parse on every core: a parser's state changes only on the
    /// lines it calls context (`is_context`), so a `fork` taken after them — or a fresh parser,
    /// for formats without context — parses every other line exactly as the stream's own parser
    /// does. Checked on every corpus file of every format, extensions `.log` and `.json`.
    #[test]
    fn forks_and_fresh_parsers_parse_like_the_streams_own() {
        for spec in registry::FORMATS {
            let mut compared = 0;
            let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus");
            let mut files = Vec::new();
            for folder in spec.corpus {
                walk(&root.join(folder), &mut files);
            }
            for file in files {
                let mut own = (spec.new_parser)();
                for line in lines(&file) {
                    let (mut expected, mut got) = (Vec::new(), Vec::new());
                    if own.is_context(&line) {
                        let _ = own.parse_fields(&line, &mut expected);
                        assert!(
                            expected.is_empty(),
                            "{}: a context line gave records",
                            spec.name
                        );
                        continue;
                    }
                    let mut copy = own.fork().unwrap_or_else(spec.new_parser);
                    let a = copy
                        .parse_fields(&line, &mut got)
                        .map_err(|e| e.to_string());
                    let b = own
                        .parse_fields(&line, &mut expected)
                        .map_err(|e| e.to_string());
                    assert_eq!(a, b, "{}", file.display());
                    assert!(
                        got == expected,
                        "{}: {got:?} != {expected:?}",
                        file.display()
                    );
                    compared += 1;
                }
            }
            assert!(compared > 0, "{}: no line compared", spec.name);
        }
    }

    /// Every sample file below `dir` (not the expected parses, notes and format files).
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let name = path.to_string_lossy();
            if path.is_dir() {
                walk(&path, out);
            } else if name.ends_with(".log")
                || (name.ends_with(".json") && !name.ends_with(".expected.json"))
            {
                out.push(path);
            }
        }
    }
}
