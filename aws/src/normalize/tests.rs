//! Every corpus record of every format through its parser and [`normalize`], checked against
//! the schemas (OCSF `schema.json`, ECS `ecs_flat.yml`) and for nothing dropped; golden files
//! of one record per format (`aws/tests/golden/`, rewritten with `WEIR_BLESS=1`).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use bytes::Bytes;
use vrl::value::{ObjectMap, Value};
use weir_core::fields::Fields;

use super::validate::ecs::EcsFields;
use super::validate::ocsf::OcsfSchema;
use super::*;
use crate::formats::delimited::test_support::{corpus_dir, lines};
use crate::formats::registry::{Format, Shape, FORMATS};
use crate::formats::vpc_flow::VpcFlowParser;
use crate::formats::RecordParser;

fn ocsf_schema() -> &'static OcsfSchema {
    static SCHEMA: OnceLock<OcsfSchema> = OnceLock::new();
    SCHEMA.get_or_init(|| OcsfSchema::load_shared().unwrap_or_else(|e| panic!("{e}")))
}

fn ecs_fields() -> &'static EcsFields {
    static FIELDS: OnceLock<EcsFields> = OnceLock::new();
    FIELDS.get_or_init(|| EcsFields::load_shared().unwrap_or_else(|e| panic!("{e}")))
}

/// Sample files below `dir`: `.log` and `.json`, not expected parses.
fn samples(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let name = path.to_string_lossy();
        if path.is_dir() {
            samples(&path, out);
        } else if name.ends_with(".log")
            || (name.ends_with(".json") && !name.ends_with(".expected.json"))
        {
            out.push(path);
        }
    }
    out.sort();
}

/// The parser for one file: a VPC Flow sample with a `<name>.format.txt` beside it uses that
/// custom format.
fn parser_for(format: &Format, file: &Path) -> Box<dyn RecordParser> {
    let custom = file.with_extension("format.txt");
    if format.name == crate::formats::vpc_flow::LOG_TYPE && custom.exists() {
        let text = std::fs::read_to_string(&custom).unwrap_or_default();
        if let Ok(parser) = VpcFlowParser::with_format(text.trim()) {
            return Box::new(parser);
        }
    }
    (format.new_parser)()
}

/// Every record the format's parser gives for its corpus samples: JSON and envelope files whole
/// when they parse whole, multi-line formats framed by their `record_start`, others line by line
/// (records that do not parse are not this test's subject).
fn corpus_records(format: &Format) -> Vec<(PathBuf, ObjectMap)> {
    corpus_parsed(format, |parser, data, out| parser.parse(data, out).is_ok())
}

/// [`corpus_records`] as the parsers' own fields (record form, for positional formats).
fn corpus_fields(format: &Format) -> Vec<(PathBuf, Fields)> {
    corpus_parsed(format, |parser, data, out| {
        parser.parse_fields(data, out).is_ok()
    })
}

fn corpus_parsed<T>(
    format: &Format,
    parse: impl Fn(&mut dyn RecordParser, &Bytes, &mut Vec<T>) -> bool,
) -> Vec<(PathBuf, T)> {
    let mut files = Vec::new();
    for folder in format.corpus {
        samples(&corpus_dir().join(folder), &mut files);
    }
    let mut records = Vec::new();
    for file in files {
        let mut parser = parser_for(format, &file);
        let mut out = Vec::new();
        let whole = matches!(format.shape, Shape::Json | Shape::Envelope)
            && std::fs::read(&file)
                .map(|data| parse(parser.as_mut(), &Bytes::from(data), &mut out))
                .unwrap_or(false);
        if !whole {
            out.clear();
            let messages = cloudwatch_messages(&file);
            let records = if messages.is_empty() {
                framed(format, &file)
            } else {
                messages
            };
            for record in records {
                let _ = parse(parser.as_mut(), &record, &mut out);
            }
        }
        records.extend(out.into_iter().map(|r| (file.clone(), r)));
    }
    records
}

/// The log events' messages of a CloudWatch Logs subscription envelope file (how some samples of
/// text formats, and CloudTrail's CloudWatch Logs delivery, are stored); none for other files.
fn cloudwatch_messages(file: &Path) -> Vec<Bytes> {
    let Ok(data) = std::fs::read(file) else {
        return Vec::new();
    };
    let mut events = Vec::new();
    let mut envelope = crate::envelopes::cloudwatch::CloudWatchLogsParser::default();
    if envelope.parse(&Bytes::from(data), &mut events).is_err() {
        return Vec::new();
    }
    events
        .iter()
        .filter_map(|e| fields::get_str(e, "message"))
        .map(|m| Bytes::copy_from_slice(m.as_bytes()))
        .collect()
}

/// The file's records: lines, or for formats whose records span lines, each starting line with
/// the lines that continue it.
fn framed(format: &Format, file: &Path) -> Vec<Bytes> {
    let Some(starts) = format.record_start else {
        return lines(file);
    };
    let mut records: Vec<Vec<u8>> = Vec::new();
    for line in lines(file) {
        match records.last_mut() {
            Some(record) if !starts(&line) => {
                record.push(b'\n');
                record.extend_from_slice(&line);
            }
            _ => records.push(line.to_vec()),
        }
    }
    records.into_iter().map(Bytes::from).collect()
}

/// Runs every corpus record of every format through `schema`; returns (records, violations).
fn check_corpus(
    schema: OutputSchema,
    check: impl Fn(&ObjectMap) -> Vec<validate::Violation>,
) -> (usize, Vec<String>) {
    let (mut records, mut violations) = (0, Vec::new());
    for format in FORMATS {
        for (file, native) in corpus_records(format) {
            let event = normalize(schema, native);
            for v in check(&event) {
                violations.push(format!("{} {}: {v}", format.name, file.display()));
            }
            records += 1;
        }
    }
    (records, violations)
}

#[test]
fn every_ocsf_event_of_the_corpus_is_valid_ocsf_1_1_0() {
    let (records, violations) =
        check_corpus(OutputSchema::Ocsf, |event| ocsf_schema().check(event));
    assert!(records > 350, "only {records} records");
    assert!(
        violations.is_empty(),
        "{} violations in {records} events:\n{}",
        violations.len(),
        violations.join("\n")
    );
}

#[test]
fn every_ecs_event_of_the_corpus_is_valid_ecs() {
    let (records, violations) = check_corpus(OutputSchema::Ecs, |event| ecs_fields().check(event));
    assert!(records > 350, "only {records} records");
    assert!(
        violations.is_empty(),
        "{} violations in {records} events:\n{}",
        violations.len(),
        violations.join("\n")
    );
}

/// Normalized events, in the path-record form `aws_parse` emits, read and write as the maps
/// they stand for: for every corpus record of every format, from the parsers' own fields (record
/// form, constants and all), in both schemas; and the second pass over each record, with the
/// layout learned from the first, gives the same.
#[test]
fn path_records_write_what_their_maps_write() {
    let mut checked = 0;
    for format in FORMATS {
        for (file, mut native) in corpus_fields(format) {
            // Records without a time are normalized at "now": give them one to compare.
            if native.get("timestamp").is_none() {
                native.insert(
                    "timestamp".into(),
                    Value::Timestamp(chrono::DateTime::UNIX_EPOCH),
                );
            }
            for schema in [OutputSchema::Ecs, OutputSchema::Ocsf] {
                let expect = normalize(schema, native.clone().into_map());
                for _ in 0..2 {
                    let event = normalize_fields(schema, native.clone());
                    assert!(event.path_record().is_some(), "{}", format.name);
                    let mut written = Vec::new();
                    weir_core::json::write_fields(&event, &mut written);
                    let mut from_map = Vec::new();
                    weir_core::json::write_object(&expect, &mut from_map);
                    assert_eq!(
                        String::from_utf8_lossy(&written),
                        String::from_utf8_lossy(&from_map),
                        "{} {schema} {}",
                        format.name,
                        file.display()
                    );
                    assert_eq!(event, expect, "{} {schema}", format.name);
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 1000, "{checked}");
}

/// The mapped formats give their classes, and no corpus record of theirs falls back to another.
#[test]
fn mapped_formats_give_their_classes() {
    let expect: [(&str, &[i64]); 18] = [
        (crate::formats::alb::LOG_TYPE, &[4002]),
        (crate::formats::waf::LOG_TYPE, &[4002]),
        (crate::formats::route53::LOG_TYPE, &[4003]),
        (crate::formats::route53_resolver::LOG_TYPE, &[4003]),
        (crate::formats::cloudfront::LOG_TYPE, &[4002]),
        (crate::formats::s3_access::LOG_TYPE, &[6003]),
        (crate::formats::nlb::LOG_TYPE, &[4001]),
        (crate::formats::elb_classic::LOG_TYPE, &[4002, 4001]),
        (crate::formats::vpc_flow::LOG_TYPE, &[4001, 0]),
        (crate::formats::cloudtrail::LOG_TYPE, &[3001, 3002, 6003, 0]),
        (crate::formats::lambda::LOG_TYPE, &[6002, 0]),
        (crate::formats::apigateway::LOG_TYPE, &[0]),
        (crate::formats::rds::POSTGRESQL_LOG_TYPE, &[6005, 0]),
        (crate::formats::rds::MYSQL_LOG_TYPE, &[0]),
        (crate::formats::redshift::CONNECTION_LOG_TYPE, &[3002]),
        (crate::formats::redshift::USER_LOG_TYPE, &[3001]),
        (crate::formats::redshift::USER_ACTIVITY_LOG_TYPE, &[0]),
        (crate::formats::firehose_error::LOG_TYPE, &[0]),
    ];
    for (name, classes) in expect {
        let format = registry::find(name).unwrap_or_else(|| panic!("{name}"));
        let mut seen = HashSet::new();
        let records = corpus_records(format);
        assert!(!records.is_empty(), "{name}");
        for (file, native) in records {
            let event = normalize(OutputSchema::Ocsf, native);
            let Some(Value::Integer(class)) = event.get("class_uid") else {
                panic!("{}: no class_uid", file.display());
            };
            assert!(
                classes.contains(class),
                "{name} {}: {class}",
                file.display()
            );
            seen.insert(*class);
        }
        assert_eq!(seen.len(), classes.len(), "{name}: classes seen {seen:?}");
    }
}

/// The texts a leaf value may appear as after normalizing: itself, and for times their epoch
/// seconds and milliseconds (OCSF `timestamp_t`) and RFC 3339 form.
fn forms(value: &Value) -> Vec<String> {
    if let Some(text) = fields::str_of(value) {
        let text = text.to_lowercase();
        return match chrono::DateTime::parse_from_rfc3339(&text) {
            Ok(t) => vec![text, t.timestamp_millis().to_string()],
            Err(_) => vec![text],
        };
    }
    match value {
        Value::Bytes(b) => {
            let text = String::from_utf8_lossy(b).to_lowercase();
            match chrono::DateTime::parse_from_rfc3339(&text) {
                Ok(t) => vec![text, t.timestamp_millis().to_string()],
                Err(_) => vec![text],
            }
        }
        Value::Integer(n) => vec![n.to_string(), (n.saturating_mul(1000)).to_string()],
        Value::Timestamp(t) => vec![t.timestamp_millis().to_string()],
        Value::Float(f) => vec![f.to_string()],
        Value::Boolean(b) => vec![b.to_string()],
        other => vec![other.to_string()],
    }
}

fn leaves<'a>(value: &'a Value, out: &mut Vec<&'a Value>) {
    match value {
        Value::Object(map) => map.values().for_each(|v| leaves(v, out)),
        Value::Array(items) => items.iter().for_each(|v| leaves(v, out)),
        Value::Null => {}
        leaf => out.push(leaf),
    }
}

/// Nothing is dropped: every leaf value of every native record appears in its ECS and its OCSF
/// event, as itself or a lossless form of it (a time as epoch milliseconds, text in another case).
#[test]
fn every_native_value_is_kept_in_both_schemas() {
    let mut checked = 0;
    for format in FORMATS {
        for (file, native) in corpus_records(format) {
            let native_value = Value::Object(native.clone());
            let mut wanted = Vec::new();
            leaves(&native_value, &mut wanted);
            for schema in [OutputSchema::Ecs, OutputSchema::Ocsf] {
                let event = Value::Object(normalize(schema, native.clone()));
                let mut have = Vec::new();
                leaves(&event, &mut have);
                let have: HashSet<String> = have.into_iter().flat_map(forms).collect();
                for leaf in &wanted {
                    assert!(
                        forms(leaf).iter().any(|f| have.contains(f)),
                        "{} {} {schema}: {leaf} dropped",
                        format.name,
                        file.display()
                    );
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 700, "{checked}");
}

#[test]
fn native_is_unchanged_and_an_unknown_record_gets_base_fields() {
    let mut record = ObjectMap::new();
    record.insert("message".into(), Value::from("hello"));
    assert_eq!(normalize(OutputSchema::Native, record.clone()), record);
    let ecs = normalize(OutputSchema::Ecs, record.clone());
    assert_eq!(
        fields::get_str(&ecs, "data_stream.dataset"),
        Some("aws_logs.generic")
    );
    assert_eq!(fields::get_str(&ecs, "aws.generic.message"), Some("hello"));
    assert!(ecs_fields().check(&ecs).is_empty());
    let ocsf = normalize(OutputSchema::Ocsf, record);
    assert_eq!(ocsf.get("class_uid"), Some(&Value::Integer(0)));
    assert_eq!(fields::get_str(&ocsf, "unmapped.message"), Some("hello"));
    assert!(ocsf_schema().check(&ocsf).is_empty());
}

#[test]
fn schema_names_are_the_option_values() {
    for schema in OutputSchema::ALL {
        let json = serde_json::to_string(&schema).unwrap_or_default();
        assert_eq!(json, format!("\"{schema}\""));
        let back: OutputSchema = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(back, schema);
    }
}

/// One record per mapped format (more for CloudTrail's other classes, a PostgreSQL session's
/// statement beside a background process's line, and both kinds of Firehose error record): the
/// full output of both schemas, as pretty JSON files, so a mapping change shows in the diff.
const GOLDEN: &[(&str, &str, &str)] = &[
    ("alb", "alb/docs/https.log", "alb"),
    (
        "vpc_flow",
        "vpc-flow-logs/v5-custom/docs-traffic-path-ingress.log",
        "vpc_flow",
    ),
    (
        "cloudtrail",
        "cloudtrail/docs-events/aws-cloudtrail--cloudtrail-event-reference-aws-console-sign-in-events--1.json",
        "cloudtrail_console_login",
    ),
    (
        "cloudtrail",
        "cloudtrail/docs-events/iam--cloudtrail-integration--2.json",
        "cloudtrail_iam",
    ),
    (
        "cloudtrail",
        "cloudtrail/docs-records/amazon-ec2--monitor-with-cloudtrail--0.json",
        "cloudtrail_api",
    ),
    ("waf", "waf/docs/example-0.json", "waf"),
    ("waf", "waf/otel/cloudfront-allow-ratebased.json", "waf_cloudfront"),
    ("s3_access", "s3-access-logs/docs/example-log.log", "s3_access"),
    (
        "s3_access",
        "s3-access-logs/signalfx/s3-console-publicaccessblock.log",
        "s3_access_iam_user",
    ),
    ("nlb", "nlb/docs/tls-no-alpn.log", "nlb"),
    (
        "nlb",
        "nlb/otel/tls-alpn-with-connection-creation-time.log",
        "nlb_alpn",
    ),
    ("elb_classic", "elb-classic/docs/http.log", "elb_classic"),
    ("elb_classic", "elb-classic/docs/tcp.log", "elb_classic_tcp"),
    (
        "rds_postgresql",
        "rds/postgresql/docs-Appendix.PostgreSQL.CommonDBATasks.Extensions-56.log",
        "rds_postgresql",
    ),
    (
        "rds_postgresql",
        "rds/postgresql/docs-USER_LogAccess.Concepts.PostgreSQL-2.log",
        "rds_postgresql_statement",
    ),
    (
        "firehose_error",
        "firehose-error-logs/docs/basic-deliver-2.json",
        "firehose_error",
    ),
    (
        "firehose_error",
        "firehose-error-logs/docs/http_troubleshooting-0.json",
        "firehose_error_log",
    ),
];

/// A record without its own time (a Lambda START line, a Firehose error log event) gets the
/// time it is normalized at; for a golden file it gets a fixed one instead, so that the file
/// does not change on every run.
fn with_fixed_time(mut native: ObjectMap) -> ObjectMap {
    if !native.contains_key("timestamp") {
        let fixed = chrono::DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z")
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap_or_default();
        native.insert("timestamp".into(), Value::Timestamp(fixed));
    }
    native
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn pretty(event: &ObjectMap) -> String {
    let mut compact = Vec::new();
    weir_core::json::write_object(event, &mut compact);
    let value: serde_json::Value =
        serde_json::from_slice(&compact).unwrap_or_else(|e| panic!("{e}"));
    serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"
}

#[test]
fn golden_outputs() {
    let bless = std::env::var_os("WEIR_BLESS").is_some();
    let mut stale = Vec::new();
    for (name, sample, golden) in GOLDEN {
        let format = registry::find(name).unwrap_or_else(|| panic!("{name}"));
        let file = corpus_dir().join(sample);
        let native = corpus_records(format)
            .into_iter()
            .find(|(f, _)| *f == file)
            .map(|(_, r)| with_fixed_time(r))
            .unwrap_or_else(|| panic!("no record from {sample}"));
        for schema in [OutputSchema::Ecs, OutputSchema::Ocsf] {
            let text = pretty(&normalize(schema, native.clone()));
            let path = golden_dir().join(format!("{golden}.{schema}.json"));
            if bless {
                std::fs::create_dir_all(golden_dir()).unwrap_or_else(|e| panic!("{e}"));
                std::fs::write(&path, &text).unwrap_or_else(|e| panic!("{e}"));
            } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                stale.push(path.display().to_string());
            }
        }
    }
    // Every other format: the first record its parser gives for its corpus (base fields only
    // until it has a mapping), so each log type's output is in the diff too.
    let mut missing = Vec::new();
    for format in registry::FORMATS {
        if GOLDEN.iter().any(|(name, _, _)| *name == format.name) {
            continue;
        }
        let records = corpus_records(format);
        let own = records
            .iter()
            .find(|(_, r)| log_type_of(r) == Some(format.name))
            .or(records.first());
        let Some((_, native)) = own else {
            missing.push(format.name);
            continue;
        };
        let native = with_fixed_time(native.clone());
        for schema in [OutputSchema::Ecs, OutputSchema::Ocsf] {
            let text = pretty(&normalize(schema, native.clone()));
            let path = golden_dir().join(format!("{}.{schema}.json", format.name));
            if bless {
                std::fs::write(&path, &text).unwrap_or_else(|e| panic!("{e}"));
            } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                stale.push(path.display().to_string());
            }
        }
    }
    assert!(
        missing.is_empty(),
        "formats with no corpus record: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "golden files differ (rerun with WEIR_BLESS=1 and review the diff): {stale:?}"
    );
}

fn object(json: &str) -> ObjectMap {
    match serde_json::from_str::<Value>(json) {
        Ok(Value::Object(map)) => map,
        other => panic!("not an object: {other:?}"),
    }
}

/// The validators find what they are for (a validator that finds nothing would pass anything).
#[test]
fn validators_find_violations() {
    let ocsf = object(
        r#"{"class_uid": 4002, "category_uid": 3, "activity_id": 42, "type_uid": 400203,
            "severity_id": 1, "time": "soon", "action_id": 1, "bogus": 1,
            "metadata": {"version": "1.0.0", "product": {"name": "x"}, "profiles": ["cloud"]},
            "cloud": {"provider": "AWS"}, "src_endpoint": {"port": 70000},
            "dst_endpoint": {"ip": "not an ip"}, "http_request": {}}"#,
    );
    let found: Vec<String> = ocsf_schema()
        .check(&ocsf)
        .iter()
        .map(|v| v.to_string())
        .collect();
    for expected in [
        "category_uid: is not",
        "type_uid: is not",
        "activity_id: 42 is not in the enum",
        "time: timestamp_t",
        "bogus: not an attribute",
        "action_id: attribute of profile `security_control`",
        "metadata.version:",
        "metadata.product.vendor_name: required",
        "http_response: required",
        "src_endpoint.port: port_t",
        "dst_endpoint.ip: ip_t",
        "src_endpoint: network_endpoint needs at least one",
    ] {
        assert!(
            found.iter().any(|f| f.starts_with(expected)),
            "{expected} not in {found:#?}"
        );
    }
    let mut ecs = object(
        r#"{"event": {"kind": "happening", "category": ["web"], "type": ["creation"],
            "outcome": "success", "dataset": ["a", "b"]}, "source": {"ip": "nope", "port": "80"},
            "made_up": {"field": 1}, "aws": {"anything": {"goes": true}}}"#,
    );
    ecs.insert("@timestamp".into(), Value::from("yesterday"));
    let found: Vec<String> = ecs_fields()
        .check(&ecs)
        .iter()
        .map(|v| v.to_string())
        .collect();
    for expected in [
        "event.kind: `happening` is not an allowed value",
        "event.type: `creation` is not expected",
        "event.dataset: an array",
        "source.ip:",
        "source.port:",
        "made_up.field: not an ECS field",
        "@timestamp:",
    ] {
        assert!(
            found.iter().any(|f| f.starts_with(expected)),
            "{expected} not in {found:#?}"
        );
    }
    assert_eq!(found.len(), 7, "{found:#?}");
}

/// What a `geoip` transform wrote beside an address (`<field>_geo`) lands in ECS's places —
/// `<endpoint>.geo.*`, `<endpoint>.as.{number, organization.name}` — valid ECS, for every format
/// whose ECS mapping has an address; what ECS has no place for stays native.
#[test]
fn geoip_results_land_in_ecs_places() {
    use crate::formats::*;
    // (format, where the geoip transform wrote, the ECS endpoint it belongs to)
    let cases = [
        (alb::LOG_TYPE, "client_ip_geo", "source"),
        (cloudtrail::LOG_TYPE, "sourceIPAddress_geo", "source"),
        (vpc_flow::LOG_TYPE, "srcaddr_geo", "source"),
        (vpc_flow::LOG_TYPE, "dstaddr_geo", "destination"),
        (waf::LOG_TYPE, "httpRequest.clientIp_geo", "source"),
        (cloudfront::LOG_TYPE, "c_ip_geo", "source"),
        (nlb::LOG_TYPE, "client_ip_geo", "source"),
        (nlb::LOG_TYPE, "destination_ip_geo", "destination"),
        (elb_classic::LOG_TYPE, "client_ip_geo", "source"),
        (elb_classic::LOG_TYPE, "backend_ip_geo", "destination"),
        (s3_access::LOG_TYPE, "remote_ip_geo", "client"),
        (route53::LOG_TYPE, "resolver_ip_geo", "source"),
        (route53_resolver::LOG_TYPE, "srcaddr_geo", "source"),
        (rds::POSTGRESQL_LOG_TYPE, "remote_host_geo", "source"),
        (redshift::CONNECTION_LOG_TYPE, "remotehost_geo", "source"),
    ];
    for (name, from, endpoint) in cases {
        let format = registry::find(name).unwrap_or_else(|| panic!("{name}"));
        let Some((file, mut native)) = corpus_records(format).into_iter().next() else {
            panic!("no {name} record");
        };
        let found: Value = serde_json::from_str(
            r#"{"city_name":"Boxford","location":{"lat":51.75,"lon":-1.25},
                "timezone":"Europe/London","asn":1221,"as_org":"Telstra Pty Ltd","isp":"Telstra"}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        match from.split_once('.') {
            None => {
                native.insert(from.into(), found);
            }
            Some((object, member)) => match native.get_mut(object) {
                Some(Value::Object(object)) => {
                    object.insert(member.into(), found);
                }
                _ => panic!("{name}: no {object}"),
            },
        }
        let event = normalize(OutputSchema::Ecs, native);
        let at = |path: &str| fields::get(&event, path).cloned();
        let case = format!("{name} {from} ({})", file.display());
        let place = |member: &str| at(&format!("{endpoint}.{member}"));
        assert_eq!(
            place("geo.city_name"),
            Some(Value::from("Boxford")),
            "{case}"
        );
        assert!(place("geo.location.lat").is_some(), "{case}");
        assert_eq!(place("as.number"), Some(Value::from(1221)), "{case}");
        assert_eq!(
            place("as.organization.name"),
            Some(Value::from("Telstra Pty Ltd")),
            "{case}"
        );
        let kept = format!("{}.{from}", format.mappings.ecs.native_path);
        assert_eq!(
            at(&format!("{kept}.isp")),
            Some(Value::from("Telstra")),
            "{case}"
        );
        assert_eq!(at(&format!("{kept}.asn")), None, "{case}");
        let violations = ecs_fields().check(&event);
        assert!(violations.is_empty(), "{case}: {violations:?}");
    }
}

/// A record's own values in a geo place (CloudFront's `c_country`, `asn`) win over the `geoip`
/// transform's; what it found for those places stays native, nothing is lost.
#[test]
fn record_geo_values_win_over_geoip() {
    let format =
        registry::find(crate::formats::cloudfront::LOG_TYPE).unwrap_or_else(|| panic!("cf"));
    let Some((file, mut native)) = corpus_records(format).into_iter().next() else {
        panic!("no CloudFront record");
    };
    // The fields CloudFront's newer logs carry (`c-country`, `asn`).
    native.insert("c_country".into(), Value::from("FR"));
    native.insert("asn".into(), Value::from(16509));
    let found: Value =
        serde_json::from_str(r#"{"country_iso_code":"ZZ","city_name":"Boxford","asn":1}"#)
            .unwrap_or_else(|e| panic!("{e}"));
    native.insert("c_ip_geo".into(), found);
    let event = normalize(OutputSchema::Ecs, native);
    let at = |path: &str| fields::get(&event, path).cloned();
    let case = file.display().to_string();
    assert_eq!(
        at("source.geo.country_iso_code"),
        Some(Value::from("FR")),
        "{case}"
    );
    assert_eq!(at("source.as.number"), Some(Value::from(16509)), "{case}");
    assert_eq!(
        at("source.geo.city_name"),
        Some(Value::from("Boxford")),
        "{case}"
    );
    assert_eq!(
        at("aws.cloudfront.c_ip_geo.country_iso_code"),
        Some(Value::from("ZZ")),
        "{case}"
    );
    assert_eq!(
        at("aws.cloudfront.c_ip_geo.asn"),
        Some(Value::from(1)),
        "{case}"
    );
}
