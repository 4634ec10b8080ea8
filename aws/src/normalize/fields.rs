//! Moving values between a native record and a normalized one, by dotted paths.
//!
//! Paths are written with dots (`userIdentity.sessionContext.attributes.creationDate`,
//! `http.request.method`): each dot is one level of nested objects. Mappings only name paths they
//! know, none of whose keys holds a dot.
//!
//! [`take`] is how "nothing is dropped" holds by construction: a mapping removes from the native
//! record exactly what it moved, and the caller keeps whatever is left. `null` values are never
//! taken (they have no schema place), so they are kept with the rest.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use vrl::value::{KeyString, ObjectMap, Value};
use weir_core::fields::Fields;
use weir_core::path_record::{PathRecordBuilder, PathValue};

/// A string value's text (`Bytes` holding UTF-8, or `String`).
pub fn str_of(value: &Value) -> Option<&str> {
    match value {
        Value::Bytes(b) => simdutf8::basic::from_utf8(b).ok(),
        Value::String(s) => Some(&**s),
        _ => None,
    }
}

/// A text value.
pub fn text(s: &str) -> Value {
    Value::Bytes(Bytes::copy_from_slice(s.as_bytes()))
}

/// A static text value (no copy).
pub fn static_text(s: &'static str) -> Value {
    Value::Bytes(Bytes::from_static(s.as_bytes()))
}

/// What a mapping reads by dotted path: a parsed record, the output being built, or a map.
pub trait Lookup {
    /// The value at `path`.
    fn lookup(&self, path: &str) -> Option<&Value>;
}

/// What a mapping takes values from: the native record (or a map inside it).
pub trait Native: Lookup {
    /// Removes and returns the value at `path` (not `null`), removing objects it leaves empty.
    fn take_at(&mut self, path: &str) -> Option<Value>;

    /// [`Self::take_at`] if `take` says so of the value.
    fn take_at_if(&mut self, path: &str, take: fn(&Value) -> bool) -> Option<Value> {
        if !self.lookup(path).is_some_and(take) {
            return None;
        }
        self.take_at(path)
    }
}

/// What a mapping writes to: the normalized record being built (or a map).
pub trait Output: Lookup {
    /// Sets `value` at `path`.
    fn put_at(&mut self, path: &'static str, value: Value);
    /// The value at `path`, to change.
    fn lookup_mut(&mut self, path: &str) -> Option<&mut Value>;
    /// Whether anything is set at `path` or under it.
    fn has_under(&self, path: &str) -> bool;
}

/// The value at `path` inside `value` (`""`: `value` itself).
fn descend<'a>(mut value: &'a Value, path: &str) -> Option<&'a Value> {
    if path.is_empty() {
        return Some(value);
    }
    for part in path.split('.') {
        match value {
            Value::Object(inner) => value = inner.get(part)?,
            _ => return None,
        }
    }
    Some(value)
}

fn descend_mut<'a>(mut value: &'a mut Value, path: &str) -> Option<&'a mut Value> {
    if path.is_empty() {
        return Some(value);
    }
    for part in path.split('.') {
        match value {
            Value::Object(inner) => value = inner.get_mut(part)?,
            _ => return None,
        }
    }
    Some(value)
}

/// `path`'s first name and the rest (`""` when there is no dot).
fn first_and_rest(path: &str) -> (&str, &str) {
    path.split_once('.').unwrap_or((path, ""))
}

impl Lookup for ObjectMap {
    fn lookup(&self, path: &str) -> Option<&Value> {
        let (first, rest) = first_and_rest(path);
        descend(self.get(first)?, rest)
    }
}

/// The top-level operations a nested take is made of, for maps and fields alike.
trait Members {
    /// The member `name`, to change.
    fn member_mut(&mut self, name: &str) -> Option<&mut Value>;
    /// Removes the member `name` unless it is `null`.
    fn take_member(&mut self, name: &str) -> Option<Value>;
}

impl Members for ObjectMap {
    fn member_mut(&mut self, name: &str) -> Option<&mut Value> {
        self.get_mut(name)
    }

    fn take_member(&mut self, name: &str) -> Option<Value> {
        if matches!(self.get(name)?, Value::Null) {
            return None;
        }
        self.remove(name)
    }
}

impl Members for Fields {
    fn member_mut(&mut self, name: &str) -> Option<&mut Value> {
        self.get_mut(name)
    }

    fn take_member(&mut self, name: &str) -> Option<Value> {
        self.remove_if(name, |v| !matches!(v, Value::Null))
    }
}

/// [`Native::take_at`] of `map`: the leaf is taken, and each object it leaves empty removed.
fn take_nested(map: &mut impl Members, path: &str) -> Option<Value> {
    let Some((first, rest)) = path.split_once('.') else {
        return map.take_member(path);
    };
    let Value::Object(inner) = map.member_mut(first)? else {
        return None;
    };
    let taken = take_nested(inner, rest)?;
    if inner.is_empty() {
        map.take_member(first);
    }
    Some(taken)
}

impl Native for ObjectMap {
    fn take_at(&mut self, path: &str) -> Option<Value> {
        take_nested(self, path)
    }
}

impl Output for ObjectMap {
    fn put_at(&mut self, path: &'static str, value: Value) {
        put_in_map(self, path, value);
    }

    fn lookup_mut(&mut self, path: &str) -> Option<&mut Value> {
        let (first, rest) = first_and_rest(path);
        descend_mut(self.get_mut(first)?, rest)
    }

    fn has_under(&self, path: &str) -> bool {
        self.lookup(path).is_some()
    }
}

/// Sets `value` at the dotted `path` of `out`, making the objects on the way (a non-object on
/// the way is replaced: `out` is being built by the mapping, so that is a mapping's own choice).
fn put_in_map(out: &mut ObjectMap, path: &str, value: Value) {
    match path.split_once('.') {
        None => {
            out.insert(KeyString::from(path), value);
        }
        Some((first, rest)) => {
            // Look first: a key is allocated only for an object not made yet.
            if !out.contains_key(first) {
                out.insert(KeyString::from(first), Value::Object(ObjectMap::new()));
            }
            let Some(slot) = out.get_mut(first) else {
                return;
            };
            if !matches!(slot, Value::Object(_)) {
                *slot = Value::Object(ObjectMap::new());
            }
            if let Value::Object(inner) = slot {
                put_in_map(inner, rest, value);
            }
        }
    }
}

impl Lookup for Fields {
    fn lookup(&self, path: &str) -> Option<&Value> {
        let (first, rest) = first_and_rest(path);
        descend(self.get(first)?, rest)
    }
}

impl Native for Fields {
    fn take_at_if(&mut self, path: &str, take: fn(&Value) -> bool) -> Option<Value> {
        if path.contains('.') {
            if !self.lookup(path).is_some_and(take) {
                return None;
            }
            return self.take_at(path);
        }
        self.remove_if(path, |v| !matches!(v, Value::Null) && take(v))
    }

    fn take_at(&mut self, path: &str) -> Option<Value> {
        take_nested(self, path)
    }
}

impl Lookup for PathRecordBuilder {
    fn lookup(&self, path: &str) -> Option<&Value> {
        // The slot at `path`, or the longest path above it whose slot holds what is under it.
        let mut end = path.len();
        loop {
            let (at, rest) = (&path[..end], path.get(end + 1..).unwrap_or(""));
            match self.slot_value(at) {
                Some(PathValue::Value(value)) => return descend(value, rest),
                Some(PathValue::Fields(fields)) if !rest.is_empty() => return fields.lookup(rest),
                _ => {}
            }
            end = at.rfind('.')?;
        }
    }
}

impl Output for PathRecordBuilder {
    fn put_at(&mut self, path: &'static str, value: Value) {
        self.put(path, PathValue::Value(value));
    }

    fn lookup_mut(&mut self, path: &str) -> Option<&mut Value> {
        match self.slot_value_mut(path)? {
            PathValue::Value(value) => Some(value),
            PathValue::Fields(_) => None,
        }
    }

    fn has_under(&self, path: &str) -> bool {
        PathRecordBuilder::has_under(self, path) || self.lookup(path).is_some()
    }
}

/// The object at `path` of a native record, to change in place (`None` if there is none).
pub fn object_mut<'a>(native: &'a mut Fields, path: &str) -> Option<&'a mut ObjectMap> {
    let (first, rest) = first_and_rest(path);
    if !matches!(native.lookup(path), Some(Value::Object(_))) {
        // A miss leaves the record's form as it is (`get_mut` of a constant would copy it).
        return None;
    }
    match descend_mut(native.get_mut(first)?, rest)? {
        Value::Object(object) => Some(object),
        _ => None,
    }
}

/// The value at `path`.
pub fn get<'a>(map: &'a impl Lookup, path: &str) -> Option<&'a Value> {
    map.lookup(path)
}

/// The text at `path`.
pub fn get_str<'a>(map: &'a impl Lookup, path: &str) -> Option<&'a str> {
    get(map, path).and_then(str_of)
}

/// The integer at `path`.
pub fn get_int(map: &impl Lookup, path: &str) -> Option<i64> {
    match get(map, path)? {
        Value::Integer(n) => Some(*n),
        _ => None,
    }
}

/// The timestamp at `path` (a `Value::Timestamp`, or an RFC 3339 text).
pub fn get_time(map: &impl Lookup, path: &str) -> Option<DateTime<Utc>> {
    match get(map, path)? {
        Value::Timestamp(t) => Some(*t),
        other => str_of(other)
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc)),
    }
}

/// Removes and returns the value at `path` (not `null`), removing objects it leaves empty.
pub fn take(map: &mut impl Native, path: &str) -> Option<Value> {
    map.take_at(path)
}

/// Removes and returns the text at `path`; a value of another type stays.
pub fn take_str(map: &mut impl Native, path: &str) -> Option<Value> {
    map.take_at_if(path, |v| str_of(v).is_some())
}

/// Removes and returns the integer at `path`; a value of another type stays.
pub fn take_int(map: &mut impl Native, path: &str) -> Option<Value> {
    map.take_at_if(path, |v| matches!(v, Value::Integer(_)))
}

/// Sets `value` at the dotted `path` of `out`.
pub fn put(out: &mut impl Output, path: &'static str, value: Value) {
    out.put_at(path, value);
}

/// [`put`] when there is a value.
pub fn put_some(out: &mut impl Output, path: &'static str, value: Option<Value>) {
    if let Some(value) = value {
        put(out, path, value);
    }
}

/// Moves the native value at `from` to `to` in `out`; whether there was one.
pub fn move_to(
    native: &mut impl Native,
    from: &str,
    out: &mut impl Output,
    to: &'static str,
) -> bool {
    match take(native, from) {
        Some(value) => {
            put(out, to, value);
            true
        }
        None => false,
    }
}

/// Moves the native text at `from` to `to` (other types stay native).
pub fn move_str(native: &mut impl Native, from: &str, out: &mut impl Output, to: &'static str) {
    put_some(out, to, take_str(native, from));
}

/// Moves the native integer at `from` to `to` (other types stay native).
pub fn move_int(native: &mut impl Native, from: &str, out: &mut impl Output, to: &'static str) {
    put_some(out, to, take_int(native, from));
}

/// Copies the native value at `from` (not `null`) to `to`, leaving it native.
pub fn copy_to(native: &impl Lookup, from: &str, out: &mut impl Output, to: &'static str) {
    if let Some(value) = get(native, from).filter(|v| !matches!(v, Value::Null)) {
        put(out, to, value.clone());
    }
}

/// Appends `value` to the array at `path` unless it holds it already (`related.ip` and the like).
pub fn push_unique(out: &mut impl Output, path: &'static str, value: Value) {
    match out.lookup_mut(path) {
        Some(Value::Array(items)) => {
            if !items.contains(&value) {
                items.push(value);
            }
        }
        Some(other) => {
            if *other != value {
                let first = std::mem::replace(other, Value::Null);
                *other = Value::Array(vec![first, value]);
            }
        }
        None => put(out, path, Value::Array(vec![value])),
    }
}

/// Whether anything is set at `path` of `out` or under it.
pub fn has_under(out: &impl Output, path: &str) -> bool {
    out.has_under(path)
}

/// Puts the object `from` at `name` of `out`, merged with what the mapping set under `name`
/// (the mapping's values win); returns the members that could not be merged — those whose value
/// differs from the mapping's at the same path, with what the mapping did not set of an object
/// both wrote into — for the caller to keep elsewhere. Equal values are the same information,
/// already in place.
pub fn merge_object(
    out: &mut PathRecordBuilder,
    name: &'static str,
    mut from: ObjectMap,
) -> ObjectMap {
    let left = split_conflicts(out, name, &mut from);
    if !from.is_empty() {
        out.put(name, PathValue::Value(Value::Object(from)));
    }
    left
}

/// Removes from `from` (an object to be merged at `path`) the members the mapping set something
/// at or under; returns those it did not set the same value for.
fn split_conflicts(out: &PathRecordBuilder, path: &str, from: &mut ObjectMap) -> ObjectMap {
    let mut left = ObjectMap::new();
    if !out.has_under(path) {
        return left;
    }
    // The names the mapping set under `path`, from the layout's tree: a path is made only for
    // a member that clashes, not for every member of every record's `aws` and `cloud`.
    let set: Vec<&str> = out.names_under(path).collect();
    let clashing: Vec<(KeyString, String)> = from
        .keys()
        .filter(|k| set.contains(&k.as_str()))
        .map(|k| (k.clone(), format!("{path}.{k}")))
        .collect();
    for (name, at) in clashing {
        let Some(value) = from.remove(name.as_str()) else {
            continue;
        };
        match (out.lookup(&at), value) {
            (Some(mine), value) => {
                if *mine != value {
                    left.insert(name, value);
                }
            }
            (None, Value::Object(mut inner)) => {
                let mut rest = split_conflicts(out, &at, &mut inner);
                rest.extend(inner);
                if !rest.is_empty() {
                    left.insert(name, Value::Object(rest));
                }
            }
            (None, value) => {
                left.insert(name, value);
            }
        }
    }
    left
}

/// Keeps the native fields a mapping left, whole, at `path` of `out` (`aws.elb`, `unmapped`). A
/// native field named like one the mapping set under `path` is kept beside them, under
/// `<path>.native_conflicts`, rather than hidden by it.
pub fn keep_native(out: &mut PathRecordBuilder, path: &'static str, mut native: Fields) {
    if native.is_empty() {
        return;
    }
    let clashing: Vec<KeyString> = out
        .names_under(path)
        .filter(|name| native.contains_key(name))
        .map(KeyString::from)
        .collect();
    if !clashing.is_empty() {
        let mut conflicts = ObjectMap::new();
        for name in clashing {
            if let Some(value) = native.remove(&name) {
                conflicts.insert(name, value);
            }
        }
        native.insert("native_conflicts".into(), Value::Object(conflicts));
    }
    out.put(path, PathValue::Fields(Box::new(native)));
}

/// Whether `text` is an IPv4 or IPv6 address.
pub fn is_ip(text: &str) -> bool {
    text.parse::<std::net::IpAddr>().is_ok()
}

/// Moves the array of objects at `from` to `to` with each item's members renamed by `members`
/// (`(native name, schema name)` pairs: `answers[].Rdata` → `answers[].rdata`), when every item
/// is an object holding a value (not `null`) at each of `required` (the members the schema's
/// object requires). Members an item has beyond `members` stay native: the items that keep any
/// are left, in order, as the array at `from` (a top-level name). Whether the array was moved.
pub fn move_objects(
    native: &mut Fields,
    from: &str,
    out: &mut impl Output,
    to: &'static str,
    members: &[(&str, &'static str)],
    required: &[&str],
) -> bool {
    let movable = match get(native, from) {
        Some(Value::Array(items)) => items.iter().all(|item| match item {
            Value::Object(item) => required
                .iter()
                .all(|name| item.get(*name).is_some_and(|v| !matches!(v, Value::Null))),
            _ => false,
        }),
        _ => false,
    };
    if !movable {
        return false;
    }
    let Some(Value::Array(items)) = take(native, from) else {
        return false;
    };
    let mut moved = Vec::with_capacity(items.len());
    let mut left = Vec::new();
    for item in items {
        let Value::Object(mut item) = item else {
            continue;
        };
        let mut renamed = ObjectMap::new();
        for (name, schema_name) in members {
            if let Some(value) = take(&mut item, name) {
                put(&mut renamed, schema_name, value);
            }
        }
        if !item.is_empty() {
            left.push(Value::Object(item));
        }
        moved.push(Value::Object(renamed));
    }
    put(out, to, Value::Array(moved));
    if !left.is_empty() {
        native.insert(KeyString::from(from), Value::Array(left));
    }
    true
}

/// Appends to the array at `path` (made if missing) an object of `members` (`(dotted path,
/// value)`; `None` values are left out), unless none of them has a value: how a mapping lists
/// things the schema keeps as an array of objects (OCSF `resources`) from single native fields.
pub fn push_object(
    out: &mut impl Output,
    path: &'static str,
    members: impl IntoIterator<Item = (&'static str, Option<Value>)>,
) {
    let mut item = ObjectMap::new();
    for (name, value) in members {
        if let Some(value) = value {
            put(&mut item, name, value);
        }
    }
    if item.is_empty() {
        return;
    }
    match out.lookup_mut(path) {
        Some(Value::Array(items)) => items.push(Value::Object(item)),
        Some(other) => {
            let first = std::mem::replace(other, Value::Null);
            *other = Value::Array(vec![first, Value::Object(item)]);
        }
        None => put(out, path, Value::Array(vec![Value::Object(item)])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(json: &str) -> ObjectMap {
        let value: Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}"));
        match value {
            Value::Object(map) => map,
            other => panic!("not an object: {other:?}"),
        }
    }

    #[test]
    fn take_removes_the_leaf_and_the_objects_it_empties() {
        let mut map = object(r#"{"a":{"b":{"c":1},"d":2},"n":null}"#);
        assert_eq!(take(&mut map, "a.b.c"), Some(Value::Integer(1)));
        assert_eq!(map, object(r#"{"a":{"d":2},"n":null}"#));
        assert_eq!(take(&mut map, "n"), None, "null is not taken");
        assert_eq!(take(&mut map, "a.x"), None);
        assert_eq!(take(&mut map, "a.d.e"), None);
        assert_eq!(take(&mut map, "a.d"), Some(Value::Integer(2)));
        assert_eq!(map, object(r#"{"n":null}"#));
    }

    #[test]
    fn put_nests_and_push_unique_makes_arrays() {
        let mut out = ObjectMap::new();
        put(&mut out, "a.b", Value::Integer(1));
        put(&mut out, "a.c", Value::Integer(2));
        assert_eq!(out, object(r#"{"a":{"b":1,"c":2}}"#));
        push_unique(&mut out, "r.ip", text("1.2.3.4"));
        push_unique(&mut out, "r.ip", text("1.2.3.4"));
        assert_eq!(
            get(&out, "r.ip"),
            Some(&Value::Array(vec![text("1.2.3.4")]))
        );
        assert!(has_under(&out, "a"));
        assert!(!has_under(&out, "x"));
    }

    /// The output being built reads like the map it will be: exact slots, values inside object
    /// slots, and whether anything is set under a path.
    #[test]
    fn a_path_record_builder_reads_like_a_map() {
        let mut out = PathRecordBuilder::new(std::sync::Arc::default());
        put(
            &mut out,
            "api.request.data",
            Value::Object(object(r#"{"roleArn":"r"}"#)),
        );
        put(&mut out, "actor.user.uid", text("u"));
        push_unique(&mut out, "related.ip", text("1.2.3.4"));
        push_unique(&mut out, "related.ip", text("1.2.3.5"));
        assert_eq!(get_str(&out, "api.request.data.roleArn"), Some("r"));
        assert_eq!(get_str(&out, "actor.user.uid"), Some("u"));
        assert_eq!(get(&out, "actor.user"), None);
        assert!(has_under(&out, "actor.user"));
        assert!(has_under(&out, "api.request.data.roleArn"));
        assert!(!has_under(&out, "actor.session"));
        let mut native = Fields::from(object(r#"{"a":{"b":{"c":1}},"n":null}"#));
        assert_eq!(take(&mut native, "a.b.c"), Some(Value::Integer(1)));
        assert_eq!(take(&mut native, "n"), None);
        assert_eq!(native.into_map(), object(r#"{"n":null}"#));
        let (record, _) = out.finish();
        assert_eq!(
            record.to_map(),
            object(
                r#"{"actor":{"user":{"uid":"u"}},"api":{"request":{"data":{"roleArn":"r"}}},
                    "related":{"ip":["1.2.3.4","1.2.3.5"]}}"#
            )
        );
    }
}
