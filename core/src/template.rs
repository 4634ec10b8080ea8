//! Templates such as `./out/%Y-%m-%d/{{ source_type }}.ndjson` or `aws-{{ aws.log_type }}-%Y.%m.%d`:
//! literal text with strftime specifiers (rendered on the event's timestamp) and `{{ field.path }}`
//! parts (rendered from the event's fields, falling back to `source_type` / `source_id` metadata).

use std::fmt::Write as _;

use chrono::format::{Item, StrftimeItems};
use vrl::value::Value;

use crate::event::Event;

/// A template string that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// `{{` without a matching `}}`.
    #[error("unclosed `{{{{` at byte {0}")]
    Unclosed(usize),
    /// `{{ }}` with nothing inside.
    #[error("empty field reference at byte {0}")]
    EmptyField(usize),
    /// A `%` specifier chrono does not know.
    #[error("invalid strftime specifier in `{0}`")]
    Strftime(String),
}

/// A template could not be rendered for one event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// The event lacks a field the template needs.
    #[error("missing field `{0}`")]
    MissingField(String),
    /// The field is an object or array, which has no single text form.
    #[error("field `{0}` is not a scalar")]
    NotScalar(String),
}

#[derive(Clone, Debug, PartialEq)]
enum Part {
    /// Literal text, possibly with strftime specifiers (`has_time` says whether it needs formatting).
    Text {
        text: String,
        has_time: bool,
    },
    Field(Vec<String>),
}

/// A parsed template.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

impl Template {
    /// Parses a template; strftime specifiers are checked here so rendering cannot fail on them.
    pub fn parse(source: &str) -> Result<Self, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = source;
        let mut offset = 0;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(text_part(&rest[..start])?);
            }
            let after = &rest[start + 2..];
            let end = after
                .find("}}")
                .ok_or(TemplateError::Unclosed(offset + start))?;
            let name = after[..end].trim();
            if name.is_empty() {
                return Err(TemplateError::EmptyField(offset + start));
            }
            parts.push(Part::Field(name.split('.').map(str::to_string).collect()));
            let consumed = start + 2 + end + 2;
            offset += consumed;
            rest = &rest[consumed..];
        }
        if !rest.is_empty() {
            parts.push(text_part(rest)?);
        }
        Ok(Self {
            source: source.to_string(),
            parts,
        })
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether rendering depends on the event at all.
    pub fn is_dynamic(&self) -> bool {
        self.parts.iter().any(|p| match p {
            Part::Text { has_time, .. } => *has_time,
            Part::Field(_) => true,
        })
    }

    /// The literal text before the first dynamic part.
    pub fn static_prefix(&self) -> &str {
        let mut len = 0;
        for part in &self.parts {
            match part {
                Part::Text {
                    text,
                    has_time: false,
                } => len += text.len(),
                Part::Text {
                    text,
                    has_time: true,
                } => {
                    len += text.find('%').unwrap_or(text.len());
                    break;
                }
                Part::Field(_) => break,
            }
        }
        &self.source[..len]
    }

    /// Renders the template for one event.
    pub fn render(&self, event: &Event) -> Result<String, RenderError> {
        let mut out = String::with_capacity(self.source.len() + 16);
        let mut timestamp = None;
        for part in &self.parts {
            match part {
                Part::Text {
                    text,
                    has_time: false,
                } => out.push_str(text),
                Part::Text {
                    text,
                    has_time: true,
                } => {
                    let ts = *timestamp.get_or_insert_with(|| event.timestamp());
                    // Specifiers were validated in `parse`, so formatting cannot fail.
                    let _ = write!(out, "{}", ts.format(text));
                }
                Part::Field(path) => render_field(event, path, &mut out)?,
            }
        }
        Ok(out)
    }
}

fn text_part(text: &str) -> Result<Part, TemplateError> {
    let has_time = text.contains('%');
    if has_time && StrftimeItems::new(text).any(|item| matches!(item, Item::Error)) {
        return Err(TemplateError::Strftime(text.to_string()));
    }
    Ok(Part::Text {
        text: text.to_string(),
        has_time,
    })
}

fn render_field(event: &Event, path: &[String], out: &mut String) -> Result<(), RenderError> {
    let joined = || path.join(".");
    match event.get_path(path) {
        Some(value) => write_scalar(value, out).ok_or_else(|| RenderError::NotScalar(joined())),
        None => match path {
            [only] if only == "source_type" => {
                out.push_str(event.metadata.source_type);
                Ok(())
            }
            [only] if only == "source_id" => {
                out.push_str(&event.metadata.source_id);
                Ok(())
            }
            _ => Err(RenderError::MissingField(joined())),
        },
    }
}

fn write_scalar(value: &Value, out: &mut String) -> Option<()> {
    match value {
        Value::Bytes(b) => out.push_str(&String::from_utf8_lossy(b)),
        Value::String(s) => out.push_str(s),
        Value::Integer(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => {
            let _ = write!(out, "{f}");
        }
        Value::Boolean(b) => {
            let _ = write!(out, "{b}");
        }
        Value::Timestamp(ts) => {
            let _ = write!(
                out,
                "{}",
                ts.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
            );
        }
        Value::Null => out.push_str("null"),
        Value::Object(_) | Value::Array(_) | Value::Regex(_) => return None,
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventMetadata;
    use chrono::TimeZone;
    use vrl::value::ObjectMap;

    fn event() -> Event {
        let mut aws = ObjectMap::new();
        aws.insert("log_type".into(), Value::from("alb"));
        let mut fields = ObjectMap::new();
        fields.insert("aws".into(), Value::Object(aws));
        fields.insert("status".into(), Value::Integer(200));
        fields.insert(
            "timestamp".into(),
            Value::Timestamp(chrono::Utc.with_ymd_and_hms(2024, 5, 1, 13, 0, 0).unwrap()),
        );
        Event::new(
            fields,
            EventMetadata::new("app".into(), "file", chrono::Utc::now()),
        )
    }

    #[test]
    fn renders_fields_time_and_metadata() {
        let t = Template::parse(
            "./out/%Y-%m-%d/{{ source_type }}-{{aws.log_type}}-{{ status }}.ndjson",
        )
        .unwrap();
        assert_eq!(
            t.render(&event()).unwrap(),
            "./out/2024-05-01/file-alb-200.ndjson"
        );
        assert_eq!(t.static_prefix(), "./out/");
        assert!(t.is_dynamic());
    }

    #[test]
    fn static_template() {
        let t = Template::parse("/tmp/out.log").unwrap();
        assert!(!t.is_dynamic());
        assert_eq!(t.static_prefix(), "/tmp/out.log");
    }

    #[test]
    fn errors() {
        assert_eq!(Template::parse("a{{ b"), Err(TemplateError::Unclosed(1)));
        assert_eq!(Template::parse("a{{ }}"), Err(TemplateError::EmptyField(1)));
        assert!(matches!(
            Template::parse("%Q"),
            Err(TemplateError::Strftime(_))
        ));
        let t = Template::parse("{{ nope }}").unwrap();
        assert_eq!(
            t.render(&event()),
            Err(RenderError::MissingField("nope".into()))
        );
        let t = Template::parse("{{ aws }}").unwrap();
        assert_eq!(
            t.render(&event()),
            Err(RenderError::NotScalar("aws".into()))
        );
    }
}
