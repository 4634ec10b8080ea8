//! An OCSF event checked against the compiled OCSF schema (`ocsf-1.1.0/schema.json`).
//!
//! What is checked: the class (`class_uid`) exists; every attribute of the event and of each
//! nested object is one the class or object defines, and one of a profile only when
//! `metadata.profiles` lists that profile; every `required` attribute is present (those of a
//! profile when the profile is listed); the objects' `at_least_one` / `just_one` constraints hold;
//! values have the schema's types (`string_t` family as text, `integer_t`/`long_t`/
//! `timestamp_t` integers, `port_t` in 0–65535, `float_t` numbers, `boolean_t`, `ip_t` an
//! address, `datetime_t` an RFC 3339 time or a timestamp value, objects as objects, `is_array`
//! attributes as arrays); integer enum values (the `*_id` attributes) are values the schema lists;
//! `category_uid` = `class_uid` / 1000, `type_uid` = `class_uid` × 100 + `activity_id`, and
//! `metadata.version` is the schema's version. `unmapped` (type `object`) may hold anything.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::Deserialize;
use vrl::value::{ObjectMap, Value};

use super::{is_rfc3339, join, read, SchemaError, Violation};
use crate::normalize::fields::{get, is_ip};

/// The parts of `schema.json` the checks use.
pub struct OcsfSchema {
    version: String,
    classes: HashMap<i64, Entity>,
    objects: HashMap<String, Entity>,
}

#[derive(Deserialize)]
struct RawSchema {
    version: String,
    classes: HashMap<String, Entity>,
    objects: HashMap<String, Entity>,
}

/// A class or an object: its attributes and constraints.
#[derive(Deserialize)]
struct Entity {
    name: String,
    #[serde(default)]
    uid: Option<i64>,
    #[serde(default)]
    attributes: HashMap<String, Attribute>,
    #[serde(default)]
    constraints: Option<Constraints>,
}

#[derive(Deserialize)]
struct Attribute {
    #[serde(rename = "type")]
    type_name: String,
    #[serde(default)]
    requirement: Option<String>,
    #[serde(default)]
    is_array: Option<bool>,
    #[serde(default, rename = "enum")]
    values: Option<HashMap<String, serde_json::Value>>,
    #[serde(default)]
    profile: Option<String>,
}

#[derive(Deserialize, Default)]
struct Constraints {
    #[serde(default)]
    at_least_one: Option<Vec<String>>,
    #[serde(default)]
    just_one: Option<Vec<String>>,
}

impl OcsfSchema {
    /// Reads a compiled `schema.json`.
    pub fn load(path: &Path) -> Result<Self, SchemaError> {
        let raw: RawSchema =
            serde_json::from_slice(&read(path)?).map_err(|source| SchemaError::Json {
                path: path.to_owned(),
                source,
            })?;
        let classes = raw
            .classes
            .into_values()
            .filter_map(|c| Some((c.uid?, c)))
            .collect();
        Ok(Self {
            version: raw.version,
            classes,
            objects: raw.objects,
        })
    }

    /// `ocsf-1.1.0/schema.json` of [`super::schemas_dir`].
    pub fn load_shared() -> Result<Self, SchemaError> {
        Self::load(&super::schemas_dir().join("ocsf-1.1.0/schema.json"))
    }

    /// The schema's name of the class `uid` (`http_activity`), if it has one.
    pub fn class_name(&self, uid: i64) -> Option<&str> {
        self.classes.get(&uid).map(|c| c.name.as_str())
    }

    /// Every violation of the schema in `event`.
    pub fn check(&self, event: &ObjectMap) -> Vec<Violation> {
        let mut found = Vec::new();
        let Some(&Value::Integer(class_uid)) = event.get("class_uid") else {
            found.push(Violation::new("class_uid", "missing or not an integer"));
            return found;
        };
        let Some(class) = self.classes.get(&class_uid) else {
            found.push(Violation::new(
                "class_uid",
                format!("{class_uid}: no such class"),
            ));
            return found;
        };
        let profiles: HashSet<&str> = match get(event, "metadata.profiles") {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(crate::normalize::fields::str_of)
                .collect(),
            _ => HashSet::new(),
        };
        let check = Check {
            schema: self,
            profiles,
        };
        check.entity(class, event, "", &mut found);
        let int = |name: &str| match event.get(name) {
            Some(Value::Integer(n)) => Some(*n),
            _ => None,
        };
        if int("category_uid") != Some(class_uid / 1000) {
            found.push(Violation::new("category_uid", "is not class_uid / 1000"));
        }
        match int("activity_id") {
            Some(activity) if int("type_uid") == Some(class_uid * 100 + activity) => {}
            _ => found.push(Violation::new(
                "type_uid",
                "is not class_uid * 100 + activity_id",
            )),
        }
        match get(event, "metadata.version").and_then(crate::normalize::fields::str_of) {
            Some(v) if v == self.version => {}
            other => found.push(Violation::new(
                "metadata.version",
                format!("{other:?}, not the schema's {}", self.version),
            )),
        }
        found
    }
}

/// One event's check: the schema and the profiles the event lists.
struct Check<'a> {
    schema: &'a OcsfSchema,
    profiles: HashSet<&'a str>,
}

impl Check<'_> {
    fn applies(&self, attribute: &Attribute) -> bool {
        attribute
            .profile
            .as_deref()
            .is_none_or(|p| self.profiles.contains(p))
    }

    /// The members of a class or object.
    fn entity(&self, entity: &Entity, object: &ObjectMap, path: &str, found: &mut Vec<Violation>) {
        for (name, value) in object {
            let at = join(path, name);
            let Some(attribute) = entity.attributes.get(name.as_str()) else {
                found.push(Violation::new(
                    at,
                    format!("not an attribute of {}", entity.name),
                ));
                continue;
            };
            if !self.applies(attribute) {
                let profile = attribute.profile.as_deref().unwrap_or_default();
                found.push(Violation::new(
                    &at,
                    format!("attribute of profile `{profile}`, not in metadata.profiles"),
                ));
            }
            self.value(attribute, value, &at, found);
        }
        for (name, attribute) in &entity.attributes {
            let required = attribute.requirement.as_deref() == Some("required");
            if required && self.applies(attribute) && !object.contains_key(name.as_str()) {
                found.push(Violation::new(
                    join(path, name),
                    format!("required by {}, missing", entity.name),
                ));
            }
        }
        let constraints = entity.constraints.as_ref();
        let present = |names: &[String]| {
            names
                .iter()
                .filter(|n| object.contains_key(n.as_str()))
                .count()
        };
        if let Some(names) = constraints.and_then(|c| c.at_least_one.as_ref()) {
            if present(names) == 0 {
                found.push(Violation::new(
                    path,
                    format!("{} needs at least one of {names:?}", entity.name),
                ));
            }
        }
        if let Some(names) = constraints.and_then(|c| c.just_one.as_ref()) {
            if present(names) != 1 {
                found.push(Violation::new(
                    path,
                    format!("{} needs exactly one of {names:?}", entity.name),
                ));
            }
        }
    }

    fn value(&self, attribute: &Attribute, value: &Value, path: &str, found: &mut Vec<Violation>) {
        if attribute.is_array == Some(true) {
            match value {
                Value::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        self.one(attribute, item, &format!("{path}[{i}]"), found);
                    }
                }
                _ => found.push(Violation::new(path, "must be an array")),
            }
        } else {
            self.one(attribute, value, path, found);
        }
    }

    fn one(&self, attribute: &Attribute, value: &Value, path: &str, found: &mut Vec<Violation>) {
        let name = attribute.type_name.as_str();
        if name == "object" {
            if !matches!(value, Value::Object(_)) {
                found.push(Violation::new(path, "must be an object"));
            }
            return;
        }
        if let Some(object) = self.schema.objects.get(name) {
            match value {
                Value::Object(members) => self.entity(object, members, path, found),
                _ => found.push(Violation::new(path, format!("must be a {name} object"))),
            }
            return;
        }
        if let Some(problem) = scalar_problem(name, value) {
            found.push(Violation::new(path, format!("{name}: {problem}")));
        }
        if let (Some(values), Value::Integer(n)) = (&attribute.values, value) {
            if !values.contains_key(&n.to_string()) {
                found.push(Violation::new(path, format!("{n} is not in the enum")));
            }
        }
    }
}

/// Why `value` is not of the scalar type `name`, if it is not.
fn scalar_problem(name: &str, value: &Value) -> Option<String> {
    let text = crate::normalize::fields::str_of(value);
    let ok = match name {
        "boolean_t" => matches!(value, Value::Boolean(_)),
        "integer_t" | "long_t" | "timestamp_t" => matches!(value, Value::Integer(_)),
        "port_t" => matches!(value, Value::Integer(p) if (0..=65535).contains(p)),
        "float_t" => matches!(value, Value::Float(_) | Value::Integer(_)),
        "json_t" => true,
        "datetime_t" => matches!(value, Value::Timestamp(_)) || text.is_some_and(is_rfc3339),
        "ip_t" => text.is_some_and(is_ip),
        "string_t" | "bytestring_t" | "email_t" | "file_hash_t" | "file_name_t" | "hostname_t"
        | "mac_t" | "process_name_t" | "resource_uid_t" | "subnet_t" | "url_t" | "username_t"
        | "uuid_t" => text.is_some(),
        _ => return Some("unknown type".to_owned()),
    };
    (!ok).then(|| format!("wrong type of value {value}"))
}
