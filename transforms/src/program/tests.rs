//! `Program`: compile errors, outcomes, the target's record form, metadata, time zones and
//! conditions.

use std::sync::Arc;

use chrono::{TimeZone as _, Utc};
use vrl::value::{KeyString, ObjectMap, Value};
use weir_core::event::{Event, EventMetadata};
use weir_core::fields::{Fields, Record, Schema};

use super::*;

fn metadata() -> EventMetadata {
    let at = Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).single();
    EventMetadata::new("app".into(), "file", at.unwrap_or_default())
}

fn object(pairs: &[(&str, Value)]) -> ObjectMap {
    pairs
        .iter()
        .map(|(k, v)| (KeyString::from(*k), v.clone()))
        .collect()
}

fn event(pairs: &[(&str, Value)]) -> Event {
    Event::new(object(pairs), metadata())
}

/// An event in record form: `x`, `y`, `z` in a record, `other` beside it.
fn record_event() -> Event {
    let schema = Arc::new(Schema::new(vec!["x".into(), "y".into(), "z".into()]));
    let record = Record::new(
        schema,
        vec![
            Some(Value::from("x")),
            Some(Value::from("y")),
            Some(Value::from(3)),
        ],
    );
    let fields = Fields::with_record(record, object(&[("other", Value::from(true))]));
    Event::new(fields, metadata())
}

fn compile(source: &str) -> Program {
    match Program::compile(source, &CompileOptions::default()) {
        Ok(program) => program,
        Err(e) => panic!("{}", e.diagnostic),
    }
}

fn run(source: &str, event: &mut Event) -> Outcome {
    compile(source).run(event, &mut Runner::default())
}

fn get<'a>(event: &'a Event, key: &str) -> Option<&'a Value> {
    event.fields.get(key)
}

#[test]
fn programs_are_shared_between_threads() {
    fn shared<T: Clone + Send + Sync>() {}
    shared::<Program>();
    fn per_thread<T: Send + Default>() {}
    per_thread::<Runner>();
}

#[test]
fn a_compile_error_has_its_position_and_vrl_s_diagnostic() {
    let source = ".a = 1\n  .b = nope(.c)\n";
    let Err(error) = Program::compile(source, &CompileOptions::default()) else {
        panic!("compiled");
    };
    assert_eq!((error.line, error.column), (2, 8), "{}", error.diagnostic);
    assert!(error
        .diagnostic
        .contains("error[E105]: call to undefined function"));
    assert!(
        error.diagnostic.contains(".b = nope(.c)"),
        "{}",
        error.diagnostic
    );
    assert!(!error.diagnostic.contains('\u{1b}'), "no colour");
    assert_eq!(error.to_string(), error.diagnostic);

    let Err(error) = Program::compile(".a = parse_json(.b)", &CompileOptions::default()) else {
        panic!("an unhandled error compiled");
    };
    assert_eq!(error.line, 1);
    assert!(error.diagnostic.contains("E103"), "{}", error.diagnostic);
}

/// `compile` appends a `null` to discard the program's value; a program that is not complete as
/// written must not be completed by it.
#[test]
fn an_incomplete_program_stays_a_compile_error() {
    for source in [".a =", ".a = 1 +", "if true {"] {
        assert!(
            Program::compile(source, &CompileOptions::default()).is_err(),
            "{source:?} compiled"
        );
    }
}

/// A program whose last expression moves the parsed object into `.` (no copy) still leaves it
/// there, arrays split as before.
#[test]
fn the_last_assignment_still_sets_the_event() {
    let mut runner = Runner::default();
    let program = compile(". = parse_json!(.message)");
    let mut one = event(&[("message", Value::from(r#"{"a":1}"#))]);
    assert!(matches!(program.run(&mut one, &mut runner), Outcome::Done));
    assert_eq!(get(&one, "a"), Some(&Value::from(1)));
    let mut many = event(&[("message", Value::from(r#"[{"a":1},{"a":2}]"#))]);
    assert!(matches!(
        program.run(&mut many, &mut runner),
        Outcome::Split(items) if items.len() == 2
    ));
}

#[test]
fn a_runtime_error_fails_and_abort_aborts() {
    let program = compile(".parsed = parse_json!(.message)");
    assert!(program.fallible() && !program.abortable());
    let mut e = event(&[("message", Value::from("not json"))]);
    match program.run(&mut e, &mut Runner::default()) {
        Outcome::Failed(message) => assert!(message.contains("unable to parse json"), "{message}"),
        other => panic!("{other:?}"),
    }

    let program = compile(".a = 1\nif .message == \"stop\" { abort \"told to stop\" }");
    assert!(program.abortable());
    let mut e = event(&[("message", Value::from("stop"))]);
    assert_eq!(
        program.run(&mut e, &mut Runner::default()),
        Outcome::Aborted("told to stop".into())
    );
    let mut e = event(&[("message", Value::from("go"))]);
    assert_eq!(program.run(&mut e, &mut Runner::default()), Outcome::Done);
    assert_eq!(get(&e, "a"), Some(&Value::from(1)));
}

#[test]
fn an_array_root_splits_the_event() {
    let mut e = event(&[("message", Value::from("m"))]);
    let outcome = run(r#". = [{"a": 1}, "text", 3]"#, &mut e);
    let expected = vec![
        Fields::from(object(&[("a", Value::from(1))])),
        Fields::from(object(&[("message", Value::from("text"))])),
        Fields::from(object(&[("message", Value::from(3))])),
    ];
    assert_eq!(outcome, Outcome::Split(expected));
    assert_eq!(
        &*e.metadata.source_id, "app",
        "the event keeps its metadata"
    );
}

#[test]
fn other_roots_become_objects() {
    let mut e = event(&[("message", Value::from("m"))]);
    assert_eq!(run(". = upcase(string!(.message))", &mut e), Outcome::Done);
    assert_eq!(e.fields, object(&[("message", Value::from("M"))]));
    assert_eq!(run(". = null", &mut e), Outcome::Done);
    assert!(e.fields.is_empty());
    assert_eq!(run(r#". = {"k": "v"}"#, &mut e), Outcome::Done);
    assert_eq!(e.fields, object(&[("k", Value::from("v"))]));
}

#[test]
fn percent_paths_read_the_metadata() {
    let mut meta = metadata().at("s3://bucket/key.log".into(), 42);
    meta.id = Some("rec-1".into());
    meta.error = Some("earlier failure".into());
    let mut e = Event::new(ObjectMap::new(), meta);
    let source = r#"
        .source_id = %source_id
        .source_type = %source_type
        .ingest = %ingest_timestamp
        .stream = %stream
        .offset = %offset
        .record_id = %record_id
        .error = %error
        %source_id = "changed"
        .changed = %source_id
    "#;
    assert_eq!(run(source, &mut e), Outcome::Done);
    let at = Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).single();
    assert_eq!(get(&e, "source_id"), Some(&Value::from("app")));
    assert_eq!(get(&e, "source_type"), Some(&Value::from("file")));
    assert_eq!(get(&e, "ingest"), at.map(Value::Timestamp).as_ref());
    assert_eq!(get(&e, "stream"), Some(&Value::from("s3://bucket/key.log")));
    assert_eq!(get(&e, "offset"), Some(&Value::from(42)));
    assert_eq!(get(&e, "record_id"), Some(&Value::from("rec-1")));
    assert_eq!(get(&e, "error"), Some(&Value::from("earlier failure")));
    assert_eq!(get(&e, "changed"), Some(&Value::from("changed")));
    assert_eq!(
        &*e.metadata.source_id, "app",
        "`%` writes live for the run only"
    );

    let mut bare = event(&[]);
    assert_eq!(
        run(".s = %stream\n.o = %offset\n.e = %error", &mut bare),
        Outcome::Done
    );
    assert_eq!(get(&bare, "s"), Some(&Value::Null));
    assert_eq!(get(&bare, "o"), Some(&Value::Null));
    assert_eq!(get(&bare, "e"), Some(&Value::Null));
}

#[test]
fn field_writes_keep_the_record_form() {
    let mut e = record_event();
    let source = ".n = 1\ndel(.y)\n.x = upcase(string!(.x))\n.z = int!(.z) + 1\n.nested.a = .other";
    assert_eq!(run(source, &mut e), Outcome::Done);
    assert!(e.fields.is_record(), "{:?}", e.fields);
    let expected = object(&[
        ("n", Value::from(1)),
        ("x", Value::from("X")),
        ("z", Value::from(4)),
        ("other", Value::from(true)),
        ("nested", Value::Object(object(&[("a", Value::from(true))]))),
    ]);
    assert_eq!(e.fields, expected);
}

#[test]
fn nested_paths_on_fields() {
    let inner = object(&[("b", Value::Object(object(&[("c", Value::from(1))])))]);
    let mut e = event(&[
        ("a", Value::Object(inner)),
        ("list", Value::from(vec![1, 2, 3])),
    ]);
    let source = ".a.b.d = 2\n.first = .list[0]\n.list[1] = 20\ndel(.a.b.c)\ndel(.a.b.d, compact: true)\n.gone = exists(.a)";
    assert_eq!(run(source, &mut e), Outcome::Done);
    assert_eq!(get(&e, "a"), None, "compact removes the emptied parents");
    assert_eq!(get(&e, "gone"), Some(&Value::from(false)));
    assert_eq!(get(&e, "first"), Some(&Value::from(1)));
    assert_eq!(get(&e, "list"), Some(&Value::from(vec![1, 20, 3])));
}

#[test]
fn whole_root_reads_see_every_write() {
    let mut e = record_event();
    let source = r#"
        before = encode_json(.)
        .added = 1
        .after = encode_json(.)
        .before = before
    "#;
    assert_eq!(run(source, &mut e), Outcome::Done);
    assert!(
        e.fields.is_record(),
        "reading `.` leaves the fields as they are"
    );
    assert_eq!(
        get(&e, "before"),
        Some(&Value::from(r#"{"other":true,"x":"x","y":"y","z":3}"#))
    );
    assert_eq!(
        get(&e, "after"),
        Some(&Value::from(
            r#"{"added":1,"other":true,"x":"x","y":"y","z":3}"#
        ))
    );

    let mut e = record_event();
    assert_eq!(
        run(". = merge(., {\"m\": 1})\n.n = 2\ndel(.x)", &mut e),
        Outcome::Done
    );
    let expected = object(&[
        ("m", Value::from(1)),
        ("n", Value::from(2)),
        ("y", Value::from("y")),
        ("z", Value::from(3)),
        ("other", Value::from(true)),
    ]);
    assert_eq!(e.fields, expected);
}

#[test]
fn a_failed_run_leaves_a_consistent_event() {
    let mut e = event(&[("message", Value::from("x"))]);
    let outcome = run(
        ". = {\"a\": 1, \"m\": .message}\n.b = parse_json!(string!(.m))",
        &mut e,
    );
    assert!(matches!(outcome, Outcome::Failed(_)), "{outcome:?}");
    assert_eq!(
        e.fields,
        object(&[("a", Value::from(1)), ("m", Value::from("x"))])
    );
}

#[test]
fn a_runner_runs_any_program_on_any_event() {
    let (first, second) = (compile("x = 1\n.a = x"), compile("y = \"s\"\n.b = y"));
    let mut runner = Runner::default();
    let (mut one, mut two) = (event(&[]), record_event());
    assert_eq!(first.run(&mut one, &mut runner), Outcome::Done);
    assert_eq!(second.run(&mut two, &mut runner), Outcome::Done);
    assert_eq!(first.run(&mut two, &mut runner), Outcome::Done);
    assert_eq!(get(&one, "a"), Some(&Value::from(1)));
    assert_eq!(
        (get(&two, "a"), get(&two, "b")),
        (Some(&Value::from(1)), Some(&Value::from("s")))
    );
}

#[test]
fn the_timezone_option_sets_local_time() {
    // `format_timestamp` takes a `timezone` argument of its own (default UTC) in VRL 0.38;
    // the functions that read local times use the program's.
    let source = r#"
        .zone = get_timezone_name!()
        .parsed = parse_timestamp!("2024-01-01 12:00", "%Y-%m-%d %H:%M")
    "#;
    let paris = CompileOptions {
        timezone: Some("Europe/Paris".into()),
        ..Default::default()
    };
    let noon = Utc.with_ymd_and_hms(2024, 1, 1, 12, 0, 0).single();
    let eleven = Utc.with_ymd_and_hms(2024, 1, 1, 11, 0, 0).single();
    for (options, zone, parsed) in [
        (CompileOptions::default(), "UTC", noon),
        (paris, "Europe/Paris", eleven),
    ] {
        let program = Program::compile(source, &options).map_err(|e| e.diagnostic);
        let mut e = event(&[]);
        assert_eq!(
            program.map(|p| p.run(&mut e, &mut Runner::default())),
            Ok(Outcome::Done)
        );
        assert_eq!(get(&e, "zone"), Some(&Value::from(zone)));
        assert_eq!(get(&e, "parsed"), parsed.map(Value::Timestamp).as_ref());
    }
    let unknown = CompileOptions {
        timezone: Some("Mars/Olympus".into()),
        ..Default::default()
    };
    let Err(error) = Program::compile(".a = 1", &unknown) else {
        panic!("an unknown time zone compiled");
    };
    assert_eq!((error.line, error.column), (0, 0));
    assert!(error.diagnostic.contains("Mars/Olympus"));
}

#[test]
fn conditions_must_be_boolean_and_read_only() {
    let options = CompileOptions::default();
    let Err(error) = Program::compile_condition("upcase(\"a\")", &options) else {
        panic!("a non-boolean condition compiled");
    };
    assert!(
        error.diagnostic.contains("must return a boolean"),
        "{}",
        error.diagnostic
    );
    assert_eq!((error.line, error.column), (1, 1));
    let Err(error) = Program::compile_condition(".a = 1\ntrue", &options) else {
        panic!("a condition assigning to the event compiled");
    };
    assert!(
        error.diagnostic.contains("read-only"),
        "{}",
        error.diagnostic
    );
    assert!(
        Program::compile_condition("x = .a\nx == 1 && %source_type == \"file\"", &options).is_ok()
    );
}

#[test]
fn check_runs_on_a_read_only_event() {
    let condition = Program::compile_condition(
        "starts_with(string!(.x), \"x\") && (to_int(.z) ?? 0) > 2 && !exists(.missing)",
        &CompileOptions::default(),
    );
    let Ok(condition) = condition else {
        panic!("{:?}", condition.err());
    };
    let e = record_event();
    let mut runner = Runner::default();
    assert_eq!(condition.check(&e, &mut runner), Ok(true));
    assert!(e.fields.is_record());
    let other = event(&[("x", Value::from("y")), ("z", Value::from(3))]);
    assert_eq!(condition.check(&other, &mut runner), Ok(false));
    let failing = event(&[("x", Value::from(1))]);
    let result = condition.check(&failing, &mut runner);
    assert!(
        matches!(&result, Err(m) if m.contains("expected string")),
        "{result:?}"
    );
}

#[test]
fn the_functions_are_the_stdlib_without_network_calls_plus_weir_s() {
    let names: Vec<&str> = all_functions().iter().map(|f| f.identifier()).collect();
    for present in [
        "parse_aws",
        "aws_log_type",
        "parse_json",
        "sha2",
        "get_env_var",
    ] {
        assert!(names.contains(&present), "{present} missing");
    }
    for absent in ["http_request", "dns_lookup", "reverse_dns"] {
        assert!(!names.contains(&absent), "{absent} is a network function");
    }
}
