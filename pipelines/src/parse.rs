//! `weir parse`: runs the `aws_parse` transform over files (or standard input) and prints one JSON
//! object per parsed event — how users (and the corpus tests) check a parser against real files.
//!
//! Framing: a file whose first non-blank byte is `{` or `[` is read as a sequence of JSON values
//! (pretty-printed or one per line; a top-level array gives one record per element, a CloudTrail
//! `{"Records":[…]}` document is split by the parser); anything else line by line. `.gz` input
//! (by magic bytes) is decompressed.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use weir_core::component::{
    flush_now, transform_now, BuildContext, ComponentKind, TransformOutput,
};
use weir_core::event::{Event, EventMetadata};
use weir_core::Value;
use weir_transforms::aws_parse::{AwsParse, AwsParseConfig};

/// What a parse run counted, per format.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ParseStats {
    /// Parsed events per `aws.log_type`.
    pub parsed: BTreeMap<String, u64>,
    /// Failed records per format (as named in the error).
    pub failed: BTreeMap<String, u64>,
    /// Input records (after framing).
    pub records: u64,
}

impl ParseStats {
    /// Total failures.
    pub fn failures(&self) -> u64 {
        self.failed.values().sum()
    }
}

/// An input could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct InputError {
    /// The input's name.
    pub path: String,
    /// Why.
    pub source: std::io::Error,
}

/// Reads an input whole, decompressing gzip.
pub fn read_input(path: Option<&Path>) -> Result<Vec<u8>, InputError> {
    let name = path.map_or_else(|| "stdin".to_string(), |p| p.display().to_string());
    let wrap = |source| InputError {
        path: name.clone(),
        source,
    };
    let mut raw = Vec::new();
    match path {
        Some(p) => std::fs::File::open(p)
            .and_then(|mut f| f.read_to_end(&mut raw))
            .map_err(wrap)?,
        None => std::io::stdin().read_to_end(&mut raw).map_err(wrap)?,
    };
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut plain = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut plain)
            .map_err(wrap)?;
        return Ok(plain);
    }
    Ok(raw)
}

/// Splits an input into records: JSON values, or lines. Returns `(offset, record)` pairs.
pub fn frame(input: &Bytes) -> Vec<(u64, Bytes)> {
    let start = input
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(input.len());
    let mut records = Vec::new();
    let mut rest_from = 0;
    if matches!(input.get(start), Some(b'{' | b'[')) {
        let mut values =
            serde_json::Deserializer::from_slice(input).into_iter::<serde::de::IgnoredAny>();
        let mut begin = 0;
        loop {
            match values.next() {
                Some(Ok(_)) => {
                    let end = values.byte_offset();
                    let slice = input.slice(begin..end);
                    let skip = slice.iter().take_while(|b| b.is_ascii_whitespace()).count();
                    let value = input.slice(begin + skip..end);
                    if value.first() == Some(&b'[') {
                        match serde_json::from_slice::<Vec<&serde_json::value::RawValue>>(&value) {
                            Ok(items) => {
                                for item in items {
                                    let offset =
                                        item.get().as_ptr() as usize - value.as_ptr() as usize;
                                    records.push((
                                        (begin + skip + offset) as u64,
                                        value.slice_ref(item.get().as_bytes()),
                                    ));
                                }
                            }
                            Err(_) => records.push(((begin + skip) as u64, value)),
                        }
                    } else {
                        records.push(((begin + skip) as u64, value));
                    }
                    begin = end;
                }
                Some(Err(_)) => {
                    // Not (or no longer) valid JSON. One-value-per-line input goes on line by line;
                    // otherwise the rest is one broken document, reported as one failing record.
                    let rest = input.slice(begin..);
                    let one_per_line = rest
                        .split(|b| *b == b'\n')
                        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
                        .all(|l| {
                            l.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
                                && l.trim_ascii_end().ends_with(b"}")
                        });
                    if !one_per_line {
                        let skip = rest.iter().take_while(|b| b.is_ascii_whitespace()).count();
                        records.push((
                            (begin + skip) as u64,
                            rest.slice(skip..).slice_ref(rest[skip..].trim_ascii_end()),
                        ));
                        return records;
                    }
                    rest_from = begin;
                    break;
                }
                None => return records,
            }
        }
    }
    let rest = input.slice(rest_from..);
    let mut offset = rest_from as u64;
    for line in rest.split(|b| *b == b'\n') {
        let len = line.len() as u64 + 1;
        let trimmed = line.strip_suffix(b"\r").unwrap_or(line);
        if !trimmed.iter().all(u8::is_ascii_whitespace) {
            records.push((offset, rest.slice_ref(trimmed)));
        }
        offset += len;
    }
    records
}

/// Parses one input (named `stream`) with a fresh `aws_parse`; writes events as JSON lines to `out`
/// and failures to `errors`; returns the counts.
pub fn parse_input(
    stream: &str,
    input: Bytes,
    format: &str,
    vpc_flow_format: Option<&str>,
    out: &mut impl Write,
    errors: &mut impl Write,
) -> std::io::Result<ParseStats> {
    let mut stats = ParseStats::default();
    stats.records = parse_events(stream, input, format, vpc_flow_format, |result| {
        report(stream, result, &mut stats, out, errors)
    })?;
    Ok(stats)
}

/// Frames `input` as one stream named `stream` and runs it through `aws_parse` (with `format`),
/// handing each batch's results to `each`; returns the number of input records.
pub fn parse_events(
    stream: &str,
    input: Bytes,
    format: &str,
    vpc_flow_format: Option<&str>,
    mut each: impl FnMut(TransformOutput) -> std::io::Result<()>,
) -> std::io::Result<u64> {
    let config = AwsParseConfig {
        format: format.to_string(),
        vpc_flow_format: vpc_flow_format.map(str::to_string),
        ..AwsParseConfig::default()
    };
    let cx = BuildContext::standalone("parse", ComponentKind::Transform, "aws_parse", ".".into());
    let mut transform = AwsParse::new(&config, cx.metrics)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?;
    let stream_id: Arc<str> = Arc::from(stream);
    let records = frame(&input);
    let now = chrono::Utc::now();
    for chunk in records.chunks(1024) {
        let events = chunk
            .iter()
            .map(|(offset, record)| {
                let meta = EventMetadata::new(Arc::from("parse"), "file", now)
                    .at(Arc::clone(&stream_id), *offset);
                Event::from_message(record.clone(), meta)
            })
            .collect();
        each(transform_now(&mut transform, events))?;
    }
    each(flush_now(&mut transform))?;
    Ok(records.len() as u64)
}

fn report(
    stream: &str,
    result: TransformOutput,
    stats: &mut ParseStats,
    out: &mut impl Write,
    errors: &mut impl Write,
) -> std::io::Result<()> {
    for event in result.primary {
        let log_type = event
            .get_path(&["aws", "log_type"])
            .map(|v| v.to_string_lossy().into_owned())
            .unwrap_or_else(|| "unknown".into());
        *stats.parsed.entry(log_type).or_default() += 1;
        serde_json::to_writer(&mut *out, &event.fields)?;
        out.write_all(b"\n")?;
    }
    for (_, failed) in result.named {
        for event in failed {
            let text = |key: &str| {
                event
                    .get_path(&["error", key])
                    .map(|v| v.to_string_lossy().into_owned())
                    .unwrap_or_default()
            };
            *stats.failed.entry(text("format")).or_default() += 1;
            let offset = event.metadata.stream.as_ref().map_or(0, |s| s.offset);
            writeln!(
                errors,
                "error: {stream}: record at byte {offset}: {}",
                text("message")
            )?;
            if let Some(Value::Bytes(raw)) = event.fields.get("message") {
                let shown = String::from_utf8_lossy(&raw[..raw.len().min(200)]);
                writeln!(errors, "  record: {shown}")?;
            }
        }
    }
    Ok(())
}
