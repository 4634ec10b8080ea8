//! An ECS event checked against ECS's field definitions (`ecs-9.4.0/ecs_flat.yml`).
//!
//! Every leaf outside `aws.*` (the native fields, Elastic's convention) and the documented
//! custom fields ([`CUSTOM_FIELDS`]) must be an ECS field, with a value of its type: `keyword`
//! family as text, `long`/`integer` integers, `float`/`double`/`scaled_float` numbers, `boolean`,
//! `ip` an address, `date` a timestamp value or RFC 3339 text; arrays only where ECS expects them
//! (`normalize: array`), arrays of objects only for `nested`/`object` fields. Fields with
//! `allowed_values` (`event.kind`, `event.category`, `event.type`, `event.outcome`) hold one of
//! them, and each `event.type` is one ECS expects with the event's categories.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use vrl::value::{ObjectMap, Value};

use super::{is_rfc3339, join, read, SchemaError, Violation};
use crate::normalize::fields::{get, is_ip, str_of};

/// Fields outside ECS that normalized events may carry, besides `aws.*` (none yet).
pub const CUSTOM_FIELDS: &[&str] = &[];

/// The ECS fields, by flat name.
pub struct EcsFields {
    fields: HashMap<String, Field>,
}

#[derive(Deserialize)]
struct Field {
    #[serde(rename = "type")]
    type_name: String,
    #[serde(default)]
    normalize: Vec<String>,
    #[serde(default)]
    allowed_values: Option<Vec<AllowedValue>>,
}

#[derive(Deserialize)]
struct AllowedValue {
    name: String,
    #[serde(default)]
    expected_event_types: Option<Vec<String>>,
}

impl EcsFields {
    /// Reads an `ecs_flat.yml`.
    pub fn load(path: &Path) -> Result<Self, SchemaError> {
        let fields = serde_yaml::from_slice(&read(path)?).map_err(|source| SchemaError::Yaml {
            path: path.to_owned(),
            source,
        })?;
        Ok(Self { fields })
    }

    /// `ecs-9.4.0/ecs_flat.yml` of [`super::schemas_dir`].
    pub fn load_shared() -> Result<Self, SchemaError> {
        Self::load(&super::schemas_dir().join("ecs-9.4.0/ecs_flat.yml"))
    }

    /// Every violation of ECS in `event`.
    pub fn check(&self, event: &ObjectMap) -> Vec<Violation> {
        let mut found = Vec::new();
        self.object(event, "", &mut found);
        self.event_types(event, &mut found);
        found
    }

    fn object(&self, object: &ObjectMap, path: &str, found: &mut Vec<Violation>) {
        for (name, value) in object {
            let at = join(path, name);
            if at == "aws" || CUSTOM_FIELDS.contains(&at.as_str()) {
                continue;
            }
            self.member(&at, value, found);
        }
    }

    fn member(&self, path: &str, value: &Value, found: &mut Vec<Violation>) {
        let field = self.fields.get(path);
        let kind = field.map(|f| f.type_name.as_str());
        match (value, kind) {
            (Value::Object(_), Some("flattened")) => {}
            // Elasticsearch takes a geo_point as `{"lat": …, "lon": …}` (what `geoip` writes).
            (Value::Object(point), Some("geo_point")) => {
                let number =
                    |v: Option<&Value>| matches!(v, Some(Value::Float(_) | Value::Integer(_)));
                if point.len() != 2 || !number(point.get("lat")) || !number(point.get("lon")) {
                    found.push(Violation::new(
                        path,
                        "a geo_point object needs only numeric lat, lon",
                    ));
                }
            }
            (Value::Object(inner), Some("object" | "nested") | None) => {
                self.object(inner, path, found)
            }
            (Value::Object(_), Some(other)) => found.push(Violation::new(
                path,
                format!("an object where ECS has a {other}"),
            )),
            (Value::Array(items), Some(_)) => {
                let expected = field.is_some_and(|f| {
                    f.normalize.iter().any(|n| n == "array")
                        || matches!(f.type_name.as_str(), "nested" | "object" | "flattened")
                });
                if !expected {
                    found.push(Violation::new(path, "an array where ECS expects one value"));
                }
                for item in items {
                    match item {
                        Value::Object(inner) => self.object(inner, path, found),
                        scalar => self.scalar(path, scalar, found),
                    }
                }
            }
            (_, None) => found.push(Violation::new(path, "not an ECS field")),
            (scalar, Some(_)) => self.scalar(path, scalar, found),
        }
    }

    fn scalar(&self, path: &str, value: &Value, found: &mut Vec<Violation>) {
        let Some(field) = self.fields.get(path) else {
            found.push(Violation::new(path, "not an ECS field"));
            return;
        };
        let text = str_of(value);
        let ok = match field.type_name.as_str() {
            "keyword" | "constant_keyword" | "wildcard" | "match_only_text" | "text" => {
                text.is_some()
            }
            "long" | "integer" => matches!(value, Value::Integer(_)),
            "float" | "double" | "scaled_float" => {
                matches!(value, Value::Float(_) | Value::Integer(_))
            }
            "boolean" => matches!(value, Value::Boolean(_)),
            "ip" => text.is_some_and(is_ip),
            "date" => matches!(value, Value::Timestamp(_)) || text.is_some_and(is_rfc3339),
            _ => false,
        };
        if !ok {
            found.push(Violation::new(
                path,
                format!("{value} is not of ECS type {}", field.type_name),
            ));
        }
        if let (Some(allowed), Some(text)) = (&field.allowed_values, text) {
            if !allowed.iter().any(|a| a.name == text) {
                found.push(Violation::new(
                    path,
                    format!("`{text}` is not an allowed value"),
                ));
            }
        }
    }

    /// Each `event.type` is one ECS expects with one of the event's `event.category` values.
    fn event_types(&self, event: &ObjectMap, found: &mut Vec<Violation>) {
        let words = |path: &str| -> Vec<&str> {
            match get(event, path) {
                Some(Value::Array(items)) => items.iter().filter_map(str_of).collect(),
                Some(v) => str_of(v).into_iter().collect(),
                None => Vec::new(),
            }
        };
        let (categories, types) = (words("event.category"), words("event.type"));
        let Some(allowed) = self
            .fields
            .get("event.category")
            .and_then(|f| f.allowed_values.as_ref())
        else {
            return;
        };
        for kind in types {
            let expected = categories.iter().any(|c| {
                allowed
                    .iter()
                    .filter(|a| a.name == *c)
                    .filter_map(|a| a.expected_event_types.as_ref())
                    .any(|types| types.iter().any(|t| t == kind))
            });
            if !categories.is_empty() && !expected {
                found.push(Violation::new(
                    "event.type",
                    format!("`{kind}` is not expected with categories {categories:?}"),
                ));
            }
        }
    }
}
