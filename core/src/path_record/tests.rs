use super::*;
use crate::fields::{Record, Schema};

fn object(json: &str) -> Value {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}"))
}

fn map(json: &str) -> ObjectMap {
    match object(json) {
        Value::Object(map) => map,
        other => panic!("not an object: {other:?}"),
    }
}

fn written(record: &PathRecord) -> String {
    let mut out = Vec::new();
    record.write_json(&mut out);
    String::from_utf8(out).unwrap_or_else(|e| panic!("{e}"))
}

fn as_map_json(record: &PathRecord) -> String {
    let mut out = Vec::new();
    json::write_object(&record.to_map(), &mut out);
    String::from_utf8(out).unwrap_or_else(|e| panic!("{e}"))
}

/// A record with leaves, an object merged with slots under its path, whole fields (in record
/// form) merged the same way, and empty subtrees, writes what its map writes.
#[test]
fn a_path_record_writes_what_its_map_writes() {
    let schema = Arc::new(Schema::new(vec!["b".into(), "m".into(), "z".into()]));
    let leftover = Fields::with_record(
        Record::new(
            schema,
            vec![Some(Value::from(1)), None, Some(Value::from("z"))],
        ),
        map(r#"{"c":true}"#),
    );
    let mut builder = PathRecordBuilder::new(Arc::new(PathLayout::default()));
    builder.put("event.kind", PathValue::Value(Value::from("event")));
    builder.put("aws.elb.name", PathValue::Value(Value::from("lb")));
    builder.put("aws.elb", PathValue::Fields(Box::new(leftover)));
    builder.put(
        "aws",
        PathValue::Value(object(r#"{"log_type":"alb","a":1}"#)),
    );
    builder.put("@timestamp", PathValue::Value(Value::from(3)));
    builder.put("x.y.z", PathValue::Value(Value::from(4)));
    builder.put("empty", PathValue::Value(Value::Object(ObjectMap::new())));
    let (record, learned) = builder.finish();
    let layout = learned.unwrap_or_else(|| panic!("paths were learned"));
    assert_eq!(layout.paths().len(), 7);
    let expect = map(
        r#"{"@timestamp":3,"aws":{"a":1,"elb":{"b":1,"c":true,"name":"lb","z":"z"},"log_type":"alb"},
            "empty":{},"event":{"kind":"event"},"x":{"y":{"z":4}}}"#,
    );
    assert_eq!(record.to_map(), expect);
    assert_eq!(written(&record), as_map_json(&record));
    assert_eq!(
        record.find(&["event", "kind"]),
        Found::Value(&Value::from("event"))
    );
    assert_eq!(record.find(&["message"]), Found::Absent);
    assert_eq!(record.find(&["event", "kind", "x"]), Found::Absent);
    assert_eq!(record.find(&["event"]), Found::Nested);
    assert_eq!(record.find(&["aws", "elb", "b"]), Found::Nested);
    let fields = Fields::from(record.clone());
    assert_eq!(fields.get("@timestamp"), Some(&Value::from(3)));
    assert_eq!(fields.get("message"), None);
    assert_eq!(fields.get("x"), expect.get("x"));
    assert_eq!(fields.into_map(), expect);

    // The next record of the layout: some paths unset, so their objects are not written.
    let mut builder = PathRecordBuilder::new(layout.clone());
    builder.put("event.kind", PathValue::Value(Value::from("alert")));
    builder.put("x.y.z", PathValue::Value(Value::from(5)));
    let (record, learned) = builder.finish();
    assert!(learned.is_none());
    assert_eq!(
        record.to_map(),
        map(r#"{"event":{"kind":"alert"},"x":{"y":{"z":5}}}"#)
    );
    assert_eq!(written(&record), as_map_json(&record));
    let empty = PathRecordBuilder::new(layout).finish().0;
    assert_eq!(written(&empty), "{}");
}

/// Where an object slot and a longer path have the same member, the longer path wins; where
/// the longer path is unset, the object's member is written.
#[test]
fn slots_under_a_path_win_over_the_object_at_it() {
    let mut builder = PathRecordBuilder::new(Arc::new(PathLayout::new(["cloud.provider"])));
    builder.put(
        "cloud",
        PathValue::Value(object(r#"{"provider":"x","region":"r"}"#)),
    );
    let (record, _) = builder.finish();
    assert_eq!(
        record.to_map(),
        map(r#"{"cloud":{"provider":"x","region":"r"}}"#)
    );
    assert_eq!(written(&record), as_map_json(&record));

    let layout = record.layout().clone();
    let mut builder = PathRecordBuilder::new(layout);
    builder.put(
        "cloud",
        PathValue::Value(object(r#"{"provider":"x","region":"r"}"#)),
    );
    builder.put("cloud.provider", PathValue::Value(Value::from("aws")));
    assert!(builder.has_under("cloud"));
    assert!(!builder.has_under("clo"));
    assert_eq!(
        builder.names_under("cloud").collect::<Vec<_>>(),
        ["provider"]
    );
    let (record, _) = builder.finish();
    assert_eq!(
        record.to_map(),
        map(r#"{"cloud":{"provider":"aws","region":"r"}}"#)
    );
    assert_eq!(written(&record), as_map_json(&record));
}

/// Paths put in the layout's order are found by position; others by the index; a path the
/// layout lacks is learned.
#[test]
fn builders_find_slots_in_any_order_and_learn_new_paths() {
    let layout = Arc::new(PathLayout::new(["a", "b.c", "b.d"]));
    let mut builder = PathRecordBuilder::new(layout.clone());
    builder.put("b.d", PathValue::Value(Value::from(1)));
    builder.put("a", PathValue::Value(Value::from(2)));
    builder.put("e", PathValue::Value(Value::from(3)));
    builder.put("e", PathValue::Value(Value::from(4)));
    assert_eq!(
        builder.slot_value("e"),
        Some(&PathValue::Value(Value::from(4)))
    );
    assert_eq!(builder.remove("a"), Some(PathValue::Value(Value::from(2))));
    builder.put("a", PathValue::Value(Value::from(5)));
    let (record, learned) = builder.finish();
    let learned = learned.unwrap_or_else(|| panic!("e was learned"));
    assert_eq!(learned.paths(), ["a", "b.c", "b.d", "e"]);
    assert_eq!(record.to_map(), map(r#"{"a":5,"b":{"d":1},"e":4}"#));
    assert_eq!(written(&record), as_map_json(&record));
}
