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

/// A string value's text (`Bytes` holding UTF-8, or `String`).
pub fn str_of(value: &Value) -> Option<&str> {
    match value {
        Value::Bytes(b) => std::str::from_utf8(b).ok(),
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

/// The value at `path`.
pub fn get<'a>(map: &'a ObjectMap, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut value = map.get(parts.next()?)?;
    for part in parts {
        match value {
            Value::Object(inner) => value = inner.get(part)?,
            _ => return None,
        }
    }
    Some(value)
}

/// The text at `path`.
pub fn get_str<'a>(map: &'a ObjectMap, path: &str) -> Option<&'a str> {
    get(map, path).and_then(str_of)
}

/// The integer at `path`.
pub fn get_int(map: &ObjectMap, path: &str) -> Option<i64> {
    match get(map, path)? {
        Value::Integer(n) => Some(*n),
        _ => None,
    }
}

/// The timestamp at `path` (a `Value::Timestamp`, or an RFC 3339 text).
pub fn get_time(map: &ObjectMap, path: &str) -> Option<DateTime<Utc>> {
    match get(map, path)? {
        Value::Timestamp(t) => Some(*t),
        other => str_of(other)
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc)),
    }
}

/// Removes and returns the value at `path` (not `null`), removing objects it leaves empty.
pub fn take(map: &mut ObjectMap, path: &str) -> Option<Value> {
    match path.split_once('.') {
        None => {
            if matches!(map.get(path)?, Value::Null) {
                return None;
            }
            map.remove(path)
        }
        Some((first, rest)) => {
            let Value::Object(inner) = map.get_mut(first)? else {
                return None;
            };
            let taken = take(inner, rest)?;
            if inner.is_empty() {
                map.remove(first);
            }
            Some(taken)
        }
    }
}

/// Removes and returns the text at `path`; a value of another type stays.
pub fn take_str(map: &mut ObjectMap, path: &str) -> Option<Value> {
    get_str(map, path)?;
    take(map, path)
}

/// Removes and returns the integer at `path`; a value of another type stays.
pub fn take_int(map: &mut ObjectMap, path: &str) -> Option<Value> {
    get_int(map, path)?;
    take(map, path)
}

/// Sets `value` at the dotted `path` of `out`, making the objects on the way (a non-object on
/// the way is replaced: `out` is being built by the mapping, so that is a mapping's own choice).
pub fn put(out: &mut ObjectMap, path: &str, value: Value) {
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
                put(inner, rest, value);
            }
        }
    }
}

/// [`put`] when there is a value.
pub fn put_some(out: &mut ObjectMap, path: &str, value: Option<Value>) {
    if let Some(value) = value {
        put(out, path, value);
    }
}

/// Moves the native value at `from` to `to` in `out`; whether there was one.
pub fn move_to(native: &mut ObjectMap, from: &str, out: &mut ObjectMap, to: &str) -> bool {
    match take(native, from) {
        Some(value) => {
            put(out, to, value);
            true
        }
        None => false,
    }
}

/// Moves the native text at `from` to `to` (other types stay native).
pub fn move_str(native: &mut ObjectMap, from: &str, out: &mut ObjectMap, to: &str) {
    put_some(out, to, take_str(native, from));
}

/// Moves the native integer at `from` to `to` (other types stay native).
pub fn move_int(native: &mut ObjectMap, from: &str, out: &mut ObjectMap, to: &str) {
    put_some(out, to, take_int(native, from));
}

/// Copies the native value at `from` (not `null`) to `to`, leaving it native.
pub fn copy_to(native: &ObjectMap, from: &str, out: &mut ObjectMap, to: &str) {
    if let Some(value) = get(native, from).filter(|v| !matches!(v, Value::Null)) {
        put(out, to, value.clone());
    }
}

/// Appends `value` to the array at `path` unless it holds it already (`related.ip` and the like).
pub fn push_unique(out: &mut ObjectMap, path: &str, value: Value) {
    let mut items = match take(out, path) {
        Some(Value::Array(items)) => items,
        Some(other) => vec![other],
        None => Vec::new(),
    };
    if !items.contains(&value) {
        items.push(value);
    }
    put(out, path, Value::Array(items));
}

/// Adds the members of `from` that `into` lacks, recursively into objects both have; a member
/// both have as non-objects keeps `into`'s value, and `from`'s is returned (so the caller can keep
/// it elsewhere instead of dropping it).
pub fn fill(into: &mut ObjectMap, from: ObjectMap) -> ObjectMap {
    let mut left = ObjectMap::new();
    for (name, value) in from {
        match (into.get_mut(name.as_str()), value) {
            (Some(Value::Object(have)), Value::Object(add)) => {
                let rest = fill(have, add);
                if !rest.is_empty() {
                    left.insert(name, Value::Object(rest));
                }
            }
            (Some(_), value) => {
                left.insert(name, value);
            }
            (None, value) => {
                into.insert(name, value);
            }
        }
    }
    left
}

/// The object at `path` of `out`, made if missing.
pub fn object_at<'a>(out: &'a mut ObjectMap, path: &str) -> &'a mut ObjectMap {
    let mut map = out;
    for part in path.split('.') {
        let next = map
            .entry(KeyString::from(part))
            .or_insert_with(|| Value::Object(ObjectMap::new()));
        if !matches!(next, Value::Object(_)) {
            *next = Value::Object(ObjectMap::new());
        }
        let Value::Object(inner) = next else {
            unreachable!("made an object just above")
        };
        map = inner;
    }
    map
}

/// Whether `text` is an IPv4 or IPv6 address.
pub fn is_ip(text: &str) -> bool {
    text.parse::<std::net::IpAddr>().is_ok()
}

/// Moves the array of objects at `from` to `to` with each item's members renamed by `members`
/// (`(native name, schema name)` pairs: `answers[].Rdata` → `answers[].rdata`), when every item
/// is an object holding a value (not `null`) at each of `required` (the members the schema's
/// object requires). Members an item has beyond `members` stay native: the items that keep any
/// are left, in order, as the array at `from`. Whether the array was moved.
pub fn move_objects(
    native: &mut ObjectMap,
    from: &str,
    out: &mut ObjectMap,
    to: &str,
    members: &[(&str, &str)],
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
        put(native, from, Value::Array(left));
    }
    true
}

/// Appends to the array at `path` (made if missing) an object of `members` (`(dotted path,
/// value)`; `None` values are left out), unless none of them has a value: how a mapping lists
/// things the schema keeps as an array of objects (OCSF `resources`) from single native fields.
pub fn push_object(
    out: &mut ObjectMap,
    path: &str,
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
    let mut items = match take(out, path) {
        Some(Value::Array(items)) => items,
        Some(other) => vec![other],
        None => Vec::new(),
    };
    items.push(Value::Object(item));
    put(out, path, Value::Array(items));
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
    fn put_nests_and_fill_returns_what_it_could_not_place() {
        let mut out = ObjectMap::new();
        put(&mut out, "a.b", Value::Integer(1));
        put(&mut out, "a.c", Value::Integer(2));
        assert_eq!(out, object(r#"{"a":{"b":1,"c":2}}"#));
        let left = fill(&mut out, object(r#"{"a":{"b":9,"d":3},"e":4}"#));
        assert_eq!(out, object(r#"{"a":{"b":1,"c":2,"d":3},"e":4}"#));
        assert_eq!(left, object(r#"{"a":{"b":9}}"#));
        push_unique(&mut out, "r.ip", text("1.2.3.4"));
        push_unique(&mut out, "r.ip", text("1.2.3.4"));
        assert_eq!(
            get(&out, "r.ip"),
            Some(&Value::Array(vec![text("1.2.3.4")]))
        );
        object_at(&mut out, "x.y").insert("z".into(), Value::Boolean(true));
        assert_eq!(get(&out, "x.y.z"), Some(&Value::Boolean(true)));
    }
}
