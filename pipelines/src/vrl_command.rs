//! `weir vrl`: tries a VRL program on sample events without a pipeline — how users write their
//! `remap`, `filter` and `route` programs. The program runs exactly as in a `remap` (same
//! compiler, functions and event model, `parse_aws` included).
//!
//! Input: files or standard input. Each line is an event: a JSON object as it is, any other line
//! as `{"message": line}`. With `--parse[=FORMAT]` the inputs are AWS log files instead, parsed by
//! `aws_parse` first (as `weir parse` does), so the program sees what it would after an
//! `aws_parse` in a pipeline. Each result is printed as one JSON line (an array result: one line
//! per element); runtime errors and aborts go to standard error with the input's line number.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use weir_core::component::TransformOutput;
use weir_core::event::{Event, EventMetadata};
use weir_core::Value;
use weir_transforms::program::{CompileOptions, Outcome, Program, Runner};

/// What `weir vrl` was asked to do.
pub struct VrlRequest<'a> {
    /// The program text.
    pub program: &'a str,
    /// Its time zone (`None`: UTC).
    pub timezone: Option<String>,
    /// `Some(format)`: parse the inputs as AWS logs (`auto` or a format name) first.
    pub parse: Option<&'a str>,
    /// Input files; standard input when empty.
    pub files: &'a [PathBuf],
    /// The enrichment tables the program may name.
    pub tables: weir_core::enrichment::EnrichmentTables,
}

/// What a `weir vrl` run counted.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct VrlStats {
    /// Events the program ran on.
    pub events: u64,
    /// Events printed (an array result counts each element).
    pub emitted: u64,
    /// Runs that failed with a runtime error.
    pub failed: u64,
    /// Runs that called `abort`.
    pub aborted: u64,
    /// Records `aws_parse` could not parse (with `--parse`).
    pub unparsed: u64,
}

/// Why `weir vrl` could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum VrlError {
    /// The program did not compile: VRL's diagnostic.
    #[error("the program does not compile:\n{0}")]
    Compile(String),
    /// An input could not be read.
    #[error(transparent)]
    Input(#[from] crate::parse::InputError),
    /// Writing the results failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Compiles the program and runs it on every input event; results to `out`, errors to `errors`.
pub fn run(
    request: &VrlRequest<'_>,
    out: &mut impl Write,
    errors: &mut impl Write,
) -> Result<VrlStats, VrlError> {
    let options = CompileOptions {
        timezone: request.timezone.clone(),
        tables: Some(request.tables.clone()),
    };
    let program = Program::compile(request.program, &options)
        .map_err(|e| VrlError::Compile(weir_transforms::program_source::describe(&e)))?;
    let mut session = Session {
        program,
        runner: Runner::default(),
        stats: VrlStats::default(),
    };
    let inputs: Vec<Option<&Path>> = if request.files.is_empty() {
        vec![None]
    } else {
        request.files.iter().map(|f| Some(f.as_path())).collect()
    };
    for input in inputs {
        let name = input.map_or_else(|| "stdin".to_string(), |p| p.display().to_string());
        let bytes = Bytes::from(crate::parse::read_input(input)?);
        match request.parse {
            Some(format) => {
                crate::parse::parse_events(&name, bytes, format, None, |result| {
                    session.parsed(&name, result, out, errors)
                })?;
            }
            None => session.lines(&name, &bytes, out, errors)?,
        }
    }
    out.flush()?;
    Ok(session.stats)
}

struct Session {
    program: Program,
    runner: Runner,
    stats: VrlStats,
}

impl Session {
    /// Plain input: one event per line.
    fn lines(
        &mut self,
        name: &str,
        bytes: &Bytes,
        out: &mut impl Write,
        errors: &mut impl Write,
    ) -> std::io::Result<()> {
        let stream: Arc<str> = Arc::from(name);
        let mut offset = 0u64;
        for line in bytes.split(|b| *b == b'\n') {
            let at = offset;
            offset += line.len() as u64 + 1;
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let meta = EventMetadata::new(Arc::from("vrl"), "file", chrono::Utc::now())
                .at(Arc::clone(&stream), at);
            let event = match serde_json::from_slice::<serde_json::Value>(line) {
                Ok(json @ serde_json::Value::Object(_)) => match Value::from(json) {
                    Value::Object(map) => Event::new(map, meta),
                    _ => Event::from_message(bytes.slice_ref(line), meta),
                },
                _ => Event::from_message(bytes.slice_ref(line), meta),
            };
            self.one(name, event, out, errors)?;
        }
        Ok(())
    }

    /// `--parse` input: `aws_parse`'s events, and its failures reported.
    fn parsed(
        &mut self,
        name: &str,
        result: TransformOutput,
        out: &mut impl Write,
        errors: &mut impl Write,
    ) -> std::io::Result<()> {
        for event in result.primary {
            self.one(name, event, out, errors)?;
        }
        for (_, failed) in result.named {
            for event in failed {
                self.stats.unparsed += 1;
                let message = event
                    .get_path(&["error", "message"])
                    .map(|v| v.to_string_lossy().into_owned())
                    .unwrap_or_default();
                writeln!(errors, "{}: not parsed: {message}", place(name, &event))?;
            }
        }
        Ok(())
    }

    fn one(
        &mut self,
        name: &str,
        mut event: Event,
        out: &mut impl Write,
        errors: &mut impl Write,
    ) -> std::io::Result<()> {
        self.stats.events += 1;
        match self.program.run(&mut event, &mut self.runner) {
            Outcome::Done => {
                self.stats.emitted += 1;
                print(out, &event.fields)?;
            }
            Outcome::Split(records) => {
                for fields in &records {
                    self.stats.emitted += 1;
                    print(out, fields)?;
                }
            }
            Outcome::Failed(message) => {
                self.stats.failed += 1;
                writeln!(errors, "{}: error: {message}", place(name, &event))?;
            }
            Outcome::Aborted(message) => {
                self.stats.aborted += 1;
                writeln!(errors, "{}: aborted: {message}", place(name, &event))?;
            }
        }
        Ok(())
    }
}

fn print(out: &mut impl Write, fields: &weir_core::fields::Fields) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, fields)?;
    out.write_all(b"\n")
}

/// `input, byte N` of an event, for messages.
fn place(name: &str, event: &Event) -> String {
    match &event.metadata.stream {
        Some(position) => format!("{name}, byte {}", position.offset),
        None => name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_on(program: &str, parse: Option<&str>, input: &str) -> (VrlStats, String, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in");
        std::fs::write(&path, input).unwrap();
        let files = [path];
        let request = VrlRequest {
            program,
            timezone: None,
            parse,
            files: &files,
            tables: Default::default(),
        };
        let (mut out, mut errors) = (Vec::new(), Vec::new());
        let stats = run(&request, &mut out, &mut errors).unwrap();
        let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
        (stats, text(out), text(errors))
    }

    #[test]
    fn json_lines_are_events_and_other_lines_messages() {
        let (stats, out, errors) = run_on(".seen = true", None, "{\"a\":1}\nplain text\n\n");
        assert_eq!(stats.events, 2);
        assert_eq!(
            out,
            "{\"a\":1,\"seen\":true}\n{\"message\":\"plain text\",\"seen\":true}\n"
        );
        assert!(errors.is_empty());
    }

    #[test]
    fn runtime_errors_and_aborts_name_the_place() {
        let program = "if .a == 2 { abort }\n.n = to_int!(.a)";
        let (stats, out, errors) = run_on(program, None, "{\"a\":1}\n{\"a\":2}\n{\"a\":\"x\"}\n");
        assert_eq!((stats.emitted, stats.aborted, stats.failed), (1, 1, 1));
        assert_eq!(out, "{\"a\":1,\"n\":1}\n");
        assert!(errors.contains(", byte 8: aborted"), "{errors}");
        assert!(errors.contains(", byte 16: error: "), "{errors}");
    }

    #[test]
    fn parse_runs_aws_parse_first() {
        let vpc = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n\
                   2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 840 1620000000 1620000060 ACCEPT OK\n";
        let (stats, out, _) = run_on(". = {\"src\": .srcaddr}", Some("auto"), vpc);
        assert_eq!(stats.events, 1);
        assert_eq!(out, "{\"src\":\"10.0.0.1\"}\n");
    }

    #[test]
    fn a_compile_error_is_vrls_diagnostic() {
        let request = VrlRequest {
            program: ".a = ",
            timezone: None,
            parse: None,
            files: &[],
            tables: Default::default(),
        };
        let error = run(&request, &mut Vec::new(), &mut Vec::new()).unwrap_err();
        let text = error.to_string();
        assert!(text.contains("line 1, column"), "{text}");
        assert!(text.contains("error[E"), "{text}");
    }
}
