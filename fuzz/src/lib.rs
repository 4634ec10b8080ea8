//! The bodies of the fuzz targets, one public function per target (`fuzz_targets/<name>.rs` calls
//! `weir_fuzz::<name>`), so that a stable `cargo test` (`tests/seeds.rs`) runs each over its seeds
//! ([`seeds`]) without libFuzzer. Panics are the only failure; some targets also assert
//! properties (stated in their docs).

pub mod seeds;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::IpAddr;
use std::sync::{Arc, LazyLock};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use weir_aws::formats::registry::{self, Format};
use weir_core::event::{Event, EventMetadata, StreamPosition};
use weir_core::{KeyString, ObjectMap, Value};

/// The target functions, by name (what `tests/seeds.rs` and [`seeds::for_target`] iterate).
pub const TARGETS: &[(&str, fn(&[u8]))] = &[
    ("aws_format", aws_format),
    ("aws_parse_auto", aws_parse_auto),
    ("json_records_splitter", json_records_splitter),
    ("enrichment_table", enrichment_table),
    ("kpl", kpl),
    ("firehose_request", firehose_request),
    ("pipeline_config", pipeline_config),
    ("template", template),
    ("parse_aws_vrl", parse_aws_vrl),
];

/// The stable build of a target binary: runs `target` over every file named on the command line
/// (a directory: over each file in it), printing each name first so a panic names its input.
pub fn replay(target: fn(&[u8])) {
    let mut files = Vec::new();
    for arg in std::env::args_os().skip(1) {
        let path = std::path::PathBuf::from(arg);
        if path.is_dir() {
            let mut entries: Vec<_> = std::fs::read_dir(&path)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect();
            entries.sort();
            files.extend(entries);
        } else {
            files.push(path);
        }
    }
    if files.is_empty() {
        eprintln!("usage: <target> FILE|DIR... (runs the target's body over each input)");
        std::process::exit(2);
    }
    for file in files {
        eprintln!("{}", file.display());
        let data = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        target(&data);
    }
}

// ---------------------------------------------------------------------------------------------
// aws_format

/// `aws_format`: `<format name>\n<data>`, `data` fed to the named format's parser (see [`parse`]).
/// An unknown name picks a format by the name's length, so every input exercises some parser and
/// the fuzzer moves between the registered formats (new ones included).
pub fn aws_format(input: &[u8]) {
    let _ = parse_named(input);
}

/// See [`aws_format`].
pub fn parse_named(input: &[u8]) -> Option<()> {
    let newline = input.iter().position(|b| *b == b'\n')?;
    let (name, data) = (input.get(..newline)?, input.get(newline + 1..)?);
    let format = std::str::from_utf8(name)
        .ok()
        .and_then(registry::find)
        .or_else(|| registry::FORMATS.get(name.len() % registry::FORMATS.len()))?;
    parse(format, data);
    Some(())
}

/// Feeds `data` to a fresh parser of `format`, whole and then line by line (so header lines set up
/// per-stream state before the records after them). Panics are the only failure.
pub fn parse(format: &Format, data: &[u8]) {
    let mut out = Vec::new();
    let mut parser = (format.new_parser)();
    let _ = parser.parse(&Bytes::copy_from_slice(data), &mut out);
    let mut parser = (format.new_parser)();
    let whole = Bytes::copy_from_slice(data);
    for line in whole.split(|b| *b == b'\n') {
        out.clear();
        let _ = parser.parse(&whole.slice_ref(line), &mut out);
    }
}

// ---------------------------------------------------------------------------------------------
// aws_parse_auto

/// `aws_parse_auto`: content detection (`weir_aws::formats::detect::by_content`) and the
/// `aws_parse` transform (`format = "auto"`) over the lines of one stream.
pub fn aws_parse_auto(data: &[u8]) {
    use weir_core::component::{flush_now, transform_now, BuildContext, ComponentKind, TransformConfig};
    use weir_transforms::aws_parse::AwsParseConfig;

    let _ = weir_aws::formats::detect::by_content(data);
    let cx = BuildContext::standalone("f", ComponentKind::Transform, "aws_parse", ".".into());
    let Ok(mut transform) = AwsParseConfig::default().build(&cx) else {
        return;
    };
    let whole = Bytes::copy_from_slice(data);
    let stream: Arc<str> = Arc::from("fuzz.log");
    let events = whole
        .split(|b| *b == b'\n')
        .enumerate()
        .map(|(i, line)| {
            let mut meta = EventMetadata::new(Arc::from("f"), "file", DateTime::<Utc>::UNIX_EPOCH);
            meta.stream = Some(StreamPosition {
                stream: Arc::clone(&stream),
                offset: i as u64,
            });
            Event::from_message(whole.slice_ref(line), meta)
        })
        .collect();
    let _ = transform_now(transform.as_mut(), events);
    let _ = flush_now(transform.as_mut());
}

// ---------------------------------------------------------------------------------------------
// json_records_splitter

/// `json_records_splitter`: `weir_core::framing::json_records::RecordsSplitter` must never panic,
/// whatever the bytes and wherever chunks are cut (the first byte picks the chunk size); and the
/// records it emits must not depend on where the input was cut.
pub fn json_records_splitter(data: &[u8]) {
    use weir_core::framing::json_records::{RecordsSplitter, SplitterConfig};

    let cut = data.first().map_or(1, |b| *b as usize % 17 + 1);
    let mut whole = RecordsSplitter::new(SplitterConfig::default());
    let mut expected = Vec::new();
    let mut whole_result = whole.push(data, &mut expected);
    if whole_result.is_ok() {
        whole_result = whole.finish();
    }
    let mut pieces = RecordsSplitter::new(SplitterConfig::default());
    let mut got = Vec::new();
    let mut result = Ok(());
    for chunk in data.chunks(cut) {
        result = pieces.push(chunk, &mut got);
        if result.is_err() {
            break;
        }
    }
    if result.is_ok() {
        result = pieces.finish();
    }
    if whole_result.is_ok() && result.is_ok() {
        assert_eq!(expected, got);
    }
}

// ---------------------------------------------------------------------------------------------
// enrichment_table

/// `enrichment_table`: an enrichment table's file, whatever its bytes: loading refuses it or gives
/// a table whose lookups answer — never a panic. The first byte picks the kind (even:
/// `MmdbTable::from_bytes`, then `geo`/`record`/`Table::find` of a few addresses; odd:
/// `CsvTable::from_bytes` with a typed schema, then `Table::find` on every column), and, for
/// CSV, the delimiter and the schema too.
pub fn enrichment_table(data: &[u8]) {
    use weir_core::enrichment::{Case, Condition, Table};
    use weir_transforms::enrichment::{ColumnType, CsvTable, MmdbTable};

    let Some((&kind, file)) = data.split_first() else {
        return;
    };
    if kind % 2 == 0 {
        let Ok(table) = MmdbTable::from_bytes(file.to_vec()) else {
            return;
        };
        let table = table.with_cache(if kind & 2 == 0 { 0 } else { 16 });
        let _ = (table.kind(), table.database_type());
        let ips: [IpAddr; 4] = [
            "81.2.69.142".parse().unwrap(),
            "2001:480:10::1".parse().unwrap(),
            "1.128.0.1".parse().unwrap(),
            "::".parse().unwrap(),
        ];
        for ip in ips {
            let _ = table.geo(ip, "en");
            let _ = table.record(ip);
            let value = Value::from(ip.to_string());
            let condition = [Condition::Equals {
                field: "ip",
                value: &value,
            }];
            let _ = table.find(&condition, None, Case::Sensitive);
        }
        let _ = table.fields();
    } else {
        let delimiter = [b',', b';', b'\t', b'|'][usize::from(kind >> 1) % 4];
        let types = [
            ColumnType::Integer,
            ColumnType::Float,
            ColumnType::Boolean,
            ColumnType::Timestamp(None),
            ColumnType::Timestamp(Some("%d/%m/%Y %H:%M".into())),
        ];
        let schema: BTreeMap<String, ColumnType> = if kind & 8 == 0 {
            BTreeMap::new()
        } else {
            [(
                "id".to_string(),
                types[usize::from(kind >> 4) % types.len()].clone(),
            )]
            .into()
        };
        let Ok(table) = CsvTable::from_bytes(file, delimiter, &schema) else {
            return;
        };
        let _ = (table.len(), table.is_empty());
        let values = [Value::from("1"), Value::Integer(1), Value::Null];
        let from = DateTime::<Utc>::UNIX_EPOCH;
        let to = DateTime::from_timestamp(4_000_000_000, 0).unwrap();
        let fields = table.fields();
        for field in &fields {
            for value in &values {
                for case in [Case::Sensitive, Case::Insensitive] {
                    let condition = [Condition::Equals { field, value }];
                    let _ = table.find(&condition, None, case);
                    let select = [field.clone()];
                    let _ = table.find(&condition, Some(&select), case);
                }
            }
            let between = [Condition::Between { field, from, to }];
            let _ = table.find(&between, None, Case::Sensitive);
        }
        if fields.len() >= 2 {
            let condition = [
                Condition::Equals {
                    field: &fields[0],
                    value: &values[0],
                },
                Condition::Equals {
                    field: &fields[1],
                    value: &values[0],
                },
            ];
            let _ = table.find(&condition, None, Case::Insensitive);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// kpl

/// `kpl`: `weir_aws::envelopes::kpl::deaggregate`. The input is tried as it is, and again as the
/// protobuf message of an aggregate (magic + input + its MD5), so the fuzzer gets past the
/// checksum. Never a panic; decoding is deterministic; a decoded aggregate's records are numbered
/// 0.. in order and every payload lies inside the message; a corrupted digest is always
/// `KplError::Checksum`.
pub fn kpl(data: &[u8]) {
    use md5::{Digest, Md5};
    use weir_aws::envelopes::kpl::{deaggregate, is_aggregated, KplError, MAGIC};

    let raw = Bytes::copy_from_slice(data);
    let first = deaggregate(&raw);
    assert_eq!(first, deaggregate(&raw), "decoding is not deterministic");
    if !is_aggregated(data) {
        assert!(first.is_err());
    }

    let mut wrapped = MAGIC.to_vec();
    wrapped.extend_from_slice(data);
    wrapped.extend_from_slice(&Md5::digest(data));
    let wrapped = Bytes::from(wrapped);
    assert!(is_aggregated(&wrapped));
    let result = deaggregate(&wrapped);
    assert_eq!(result, deaggregate(&wrapped), "decoding is not deterministic");
    match &result {
        Ok(records) => {
            let total: usize = records.iter().map(|r| r.data.len()).sum();
            assert!(total <= data.len(), "payloads larger than the message");
            for (i, record) in records.iter().enumerate() {
                assert_eq!(record.sub_sequence, i as u64);
            }
        }
        Err(KplError::Checksum) => panic!("checksum mismatch on a correct digest"),
        Err(KplError::Malformed { offset, .. }) => {
            assert!(*offset <= data.len(), "error offset past the message");
        }
    }
    let mut corrupt = wrapped.to_vec();
    let last = corrupt.len() - 1;
    corrupt[last] ^= 1;
    assert_eq!(deaggregate(&Bytes::from(corrupt)), Err(KplError::Checksum));
}

// ---------------------------------------------------------------------------------------------
// firehose_request

/// Decompression cap of the Firehose targets (small: the fuzzer must not allocate gigabytes).
const MAX_DECOMPRESSED: usize = 1 << 20;

/// `firehose_request`: what the `aws_firehose` source does with a request body, through its
/// public pieces (the HTTP handler itself, `weir_sources::aws_firehose::server::process`, is
/// private): `weir_aws::envelopes::firehose_request::parse_http_endpoint_request`, then per record
/// `cloudwatch::log_events::looks_like_envelope` / `log_events::decode` (as `decoding = "auto"`
/// and `"cloudwatch_logs"` do), and the registered format `FirehoseHttpRequestParser`.
/// The first byte: bit 0 gzips the body first (`Content-Encoding: gzip`), bit 1 decodes every
/// record as an envelope. Parsing is deterministic.
pub fn firehose_request(data: &[u8]) {
    use weir_aws::envelopes::cloudwatch::log_events;
    use weir_aws::envelopes::firehose_request::{
        parse_http_endpoint_request, FirehoseHttpRequestParser,
    };
    use weir_aws::formats::RecordParser;

    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let body = if flags & 1 == 1 {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(rest).unwrap();
        Bytes::from(encoder.finish().unwrap())
    } else {
        Bytes::copy_from_slice(rest)
    };
    let request = parse_http_endpoint_request(&body, MAX_DECOMPRESSED);
    if let Ok(request) = &request {
        assert_eq!(
            Ok(request),
            parse_http_endpoint_request(&body, MAX_DECOMPRESSED).as_ref(),
            "parsing is not deterministic"
        );
        for record in &request.records {
            if flags & 2 == 2 || log_events::looks_like_envelope(record) {
                if let Ok(events) = log_events::decode(record, MAX_DECOMPRESSED) {
                    for event in events {
                        let _ = (event.id.len(), event.fields.len());
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    let _ = FirehoseHttpRequestParser::default().parse(&body, &mut out);
    // The envelope decoder on the input as a record by itself (plain JSON or gzip'd).
    let _ = log_events::decode(&body, MAX_DECOMPRESSED);
}

// ---------------------------------------------------------------------------------------------
// pipeline_config

/// The environment `${VAR}` references resolve in (`pipeline_config`).
const ENV: &[(&str, &str)] = &[
    ("HOME", "/home/weir"),
    ("PORT", "8080"),
    ("EMPTY", ""),
    ("NAME", "weir"),
    ("LIST", "[\"a\", \"b\"]"),
    ("QUOTE", "\"'\n#"),
    ("DOLLAR", "${NAME}"),
];

fn env(name: &str) -> Option<String> {
    ENV.iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// `pipeline_config`: `weir_pipelines::config::load_with` (`Build::No`: nothing outside the text
/// is touched) on one pipeline file, TOML or YAML by the first byte (even: `.toml`, odd:
/// `.yaml`), `${VAR}` resolved from a fixed map ([`ENV`]). Only errors, never a panic; loading is
/// deterministic; and `config::interpolate::interpolate` leaves a text without `$` unchanged.
pub fn pipeline_config(data: &[u8]) {
    use weir_pipelines::config::{interpolate::interpolate, load_with, Build, PipelineFile};

    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest).into_owned();
    let interpolated = interpolate(&text, env);
    if !text.contains('$') {
        assert_eq!(interpolated.as_deref(), Ok(text.as_str()));
    }
    let path = if kind % 2 == 0 {
        "fuzz/pipeline.toml"
    } else {
        "fuzz/pipeline.yaml"
    };
    let files = [PipelineFile {
        path: path.into(),
        text,
    }];
    let first = load_with(&files, env, Build::No);
    let again = load_with(&files, env, Build::No);
    match (&first, &again) {
        (Ok(a), Ok(b)) => {
            let ids = |l: &weir_pipelines::config::Loaded| {
                l.config.components.keys().cloned().collect::<Vec<_>>()
            };
            assert_eq!(ids(a), ids(b));
            assert_eq!(a.config.data_dir, b.config.data_dir);
            assert_eq!(a.warnings, b.warnings);
        }
        // Where each problem is, not its text: VRL's "did you mean" hint for an undefined
        // variable names a different variable from one compilation to the next (a hash order
        // inside the `vrl` crate), so messages may differ.
        (Err(a), Err(b)) => {
            let places = |all: &[weir_pipelines::config::Diagnostic]| {
                all.iter()
                    .map(|d| (d.severity, d.file.clone(), d.position, d.component.clone(), d.key.clone()))
                    .collect::<Vec<_>>()
            };
            assert_eq!(places(a), places(b), "loading is not deterministic");
        }
        _ => panic!("loading the same file twice: one error, one success"),
    }
    if let Err(diagnostics) = &first {
        for diagnostic in diagnostics {
            let _ = diagnostic.to_string();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// template

/// The events templates are rendered against (`template`): different times (days, hours,
/// seconds apart, a leap second, before 1970), scalar, object, array and missing fields, and
/// values that try to leave a directory.
fn template_events(value: &[u8]) -> Vec<Event> {
    let times = [
        DateTime::from_timestamp(1_714_521_600, 0).unwrap(),
        DateTime::from_timestamp(1_714_521_601, 500_000_000).unwrap(),
        DateTime::from_timestamp(1_714_525_200, 0).unwrap(),
        DateTime::from_timestamp(1_714_608_000, 0).unwrap(),
        DateTime::from_timestamp(1_483_228_799, 1_500_000_000).unwrap(),
        DateTime::from_timestamp(-86_401, 0).unwrap(),
    ];
    let values = [
        Value::from(Bytes::copy_from_slice(value)),
        Value::from("../../etc/passwd"),
        Value::from("/abs/olute"),
        Value::from(".."),
        Value::Integer(-42),
        Value::Null,
        Value::Boolean(true),
    ];
    let mut events = Vec::new();
    for (i, ts) in times.iter().enumerate() {
        let mut aws = ObjectMap::new();
        aws.insert(KeyString::from("log_type"), values[i % values.len()].clone());
        aws.insert(KeyString::from("region"), Value::from("eu-west-3"));
        let mut fields = ObjectMap::new();
        fields.insert(KeyString::from("timestamp"), Value::Timestamp(*ts));
        fields.insert(KeyString::from("message"), values[0].clone());
        fields.insert(KeyString::from("source_type"), values[(i + 1) % values.len()].clone());
        fields.insert(KeyString::from("aws"), Value::Object(aws));
        fields.insert(
            KeyString::from("list"),
            Value::Array(vec![Value::Integer(1)]),
        );
        fields.insert(KeyString::from("f"), values[(i + 2) % values.len()].clone());
        let meta = EventMetadata::new(Arc::from("src"), "file", *ts);
        events.push(Event::new(fields, meta));
    }
    // No fields at all: the metadata fallbacks and the ingest time.
    events.push(Event::new(
        ObjectMap::new(),
        EventMetadata::new(Arc::from("src"), "file", times[0]),
    ));
    events
}

/// `template`: `weir_core::template::Template::parse` of the first line, then `render` and
/// `render_into` (one `RenderCache` across all events, as sinks do) against [`template_events`]
/// (the rest of the input is a field value). Rendering with the cache gives what rendering without
/// it gives; a rendered string starts with `static_prefix()`; a template that is not dynamic
/// renders to its source.
/// (The file sink's path confinement check, `weir_sinks::file::PathTemplate::check`, is private.)
pub fn template(data: &[u8]) {
    use weir_core::template::{RenderCache, Template};

    let (source, value) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let source = String::from_utf8_lossy(source);
    let Ok(template) = Template::parse(&source) else {
        return;
    };
    // `%#z` (parse-only in chrono) rendered as an empty time part until Template::parse refused
    // it: found by this target, fixed in core/src/template.rs.
    assert_eq!(template.as_str(), source);
    let prefix = template.static_prefix().to_string();
    assert!(source.starts_with(&prefix));
    let mut cache = RenderCache::default();
    let mut out = String::new();
    let events = template_events(value);
    for pass in 0..2 {
        for event in &events {
            let plain = template.render(event);
            let cached = template.render_into(event, &mut out, &mut cache);
            match (&plain, cached) {
                (Ok(plain), Ok(())) => {
                    assert_eq!(plain, &out, "cached rendering differs (pass {pass})");
                    assert!(plain.starts_with(&prefix), "rendered {plain:?} lost the prefix {prefix:?}");
                    if !template.is_dynamic() {
                        assert_eq!(plain, template.as_str());
                    }
                }
                (Err(a), Err(b)) => assert_eq!(a, &b),
                (a, b) => panic!("render {a:?} but render_into {b:?}"),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// parse_aws_vrl

/// `parse_aws(.message, format: "auto")`, compiled once with Weir's functions.
static AUTO: LazyLock<weir_transforms::program::Program> = LazyLock::new(|| {
    compile(
        "parsed, err = parse_aws(.message, format: \"auto\")\n\
         .parsed = parsed\n\
         .err = err",
    )
});

/// `parse_aws` with every argument from the event (made per call).
static DYNAMIC: LazyLock<weir_transforms::program::Program> = LazyLock::new(|| {
    compile(
        "parsed, err = parse_aws(.message, format: .format, vpc_flow_format: .vpc, fields: .fields)\n\
         .parsed = parsed\n\
         .err = err",
    )
});

fn compile(source: &str) -> weir_transforms::program::Program {
    use weir_transforms::program::{CompileOptions, Program};
    Program::compile(source, &CompileOptions::default())
        .unwrap_or_else(|e| panic!("the fuzz program does not compile: {e}"))
}

/// `parse_aws_vrl`: the VRL function `parse_aws` (`weir_transforms::program::functions`), through
/// `weir_transforms::program::Program::compile` / `run`. First byte even: the input's rest is
/// `.message` for `parse_aws(.message, format: "auto")`; odd: the rest is
/// `<format>\n<vpc_flow_format>\n<fields>\n<message>` for a call whose arguments are all fields.
pub fn parse_aws_vrl(data: &[u8]) {
    use weir_transforms::program::{Outcome, Runner};

    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    let meta = EventMetadata::new(Arc::from("src"), "file", DateTime::<Utc>::UNIX_EPOCH);
    let mut runner = Runner::default();
    let outcome = if kind % 2 == 0 {
        let mut event = Event::from_message(Bytes::copy_from_slice(rest), meta);
        AUTO.run(&mut event, &mut runner)
    } else {
        let mut parts = rest.splitn(4, |b| *b == b'\n');
        let mut next = || Bytes::copy_from_slice(parts.next().unwrap_or_default());
        let (format, vpc, fields, message) = (next(), next(), next(), next());
        let mut map = ObjectMap::new();
        map.insert(KeyString::from("format"), Value::from(format));
        map.insert(KeyString::from("vpc"), Value::from(vpc));
        map.insert(KeyString::from("fields"), Value::from(fields));
        map.insert(KeyString::from("message"), Value::from(message));
        let mut event = Event::new(map, meta);
        DYNAMIC.run(&mut event, &mut runner)
    };
    if let Outcome::Split(_) = outcome {
        panic!("the program never sets `.` to an array");
    }
}
