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
    Literal(String),
    /// Text with strftime specifiers, compiled once. Its output only changes when the event time
    /// crosses a multiple of `granularity` seconds (`None`: at any instant; never cached).
    Time {
        text: String,
        items: Vec<Item<'static>>,
        granularity: Option<i64>,
    },
    Field(Vec<String>),
}

/// A parsed template.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

/// Formatted time parts of one template, remembered between events: consecutive events usually
/// fall in the same day or hour, so a path or index name is rendered without formatting dates.
/// One per user of a template (it is not shared between threads).
#[derive(Clone, Debug, Default)]
pub struct RenderCache {
    /// Per part index: the time bucket and the text it formatted to.
    times: Vec<Option<(i64, String)>>,
}

impl Template {
    /// Parses a template; strftime specifiers are checked and compiled here, so rendering cannot
    /// fail on them.
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
        self.parts.iter().any(|p| !matches!(p, Part::Literal(_)))
    }

    /// The literal text before the first dynamic part.
    pub fn static_prefix(&self) -> &str {
        let mut len = 0;
        for part in &self.parts {
            match part {
                Part::Literal(text) => len += text.len(),
                Part::Time { text, .. } => {
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
        self.render_into(event, &mut out, &mut RenderCache::default())?;
        Ok(out)
    }

    /// Renders into `out` (cleared first), reusing formatted time parts from `cache`: the hot-path
    /// form for sinks that render a path, topic or index per event.
    pub fn render_into(
        &self,
        event: &Event,
        out: &mut String,
        cache: &mut RenderCache,
    ) -> Result<(), RenderError> {
        out.clear();
        if cache.times.len() != self.parts.len() {
            cache.times = vec![None; self.parts.len()];
        }
        let mut timestamp = None;
        for (part, cached) in self.parts.iter().zip(cache.times.iter_mut()) {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Time {
                    items, granularity, ..
                } => {
                    let ts = *timestamp.get_or_insert_with(|| event.timestamp());
                    match granularity.and_then(|g| bucket(ts, g)) {
                        Some(key) => {
                            if !matches!(cached, Some((k, _)) if *k == key) {
                                let mut text = String::new();
                                // Items were validated in `parse`, so formatting cannot fail.
                                let _ = write!(text, "{}", ts.format_with_items(items.iter()));
                                *cached = Some((key, text));
                            }
                            if let Some((_, text)) = cached {
                                out.push_str(text);
                            }
                        }
                        None => {
                            let _ = write!(out, "{}", ts.format_with_items(items.iter()));
                        }
                    }
                }
                Part::Field(path) => render_field(event, path, out)?,
            }
        }
        Ok(())
    }
}

fn text_part(text: &str) -> Result<Part, TemplateError> {
    if !text.contains('%') {
        return Ok(Part::Literal(text.to_string()));
    }
    let items = StrftimeItems::new(text)
        .parse_to_owned()
        .map_err(|_| TemplateError::Strftime(text.to_string()))?;
    // Some specifiers chrono parses it cannot format (`%#z` is for parsing only): formatting
    // would fail at every event and drop the whole time part. Refuse them here, once.
    let mut trial = String::new();
    let epoch = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
    if std::fmt::Write::write_fmt(
        &mut trial,
        format_args!("{}", epoch.format_with_items(items.iter())),
    )
    .is_err()
    {
        return Err(TemplateError::Strftime(text.to_string()));
    }
    Ok(Part::Time {
        granularity: granularity(&items),
        text: text.to_string(),
        items,
    })
}

const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;
const MINUTE: i64 = 60;

/// The period in seconds at whose multiples the formatted text can change, or `None` if it can
/// change at any instant (sub-second specifiers, or ones not known here).
fn granularity(items: &[Item<'_>]) -> Option<i64> {
    use chrono::format::{Fixed, Numeric};
    let mut finest = i64::MAX;
    for item in items {
        let period = match item {
            Item::Literal(_) | Item::OwnedLiteral(_) | Item::Space(_) | Item::OwnedSpace(_) => {
                continue
            }
            Item::Numeric(numeric, _) => match numeric {
                Numeric::Year
                | Numeric::YearDiv100
                | Numeric::YearMod100
                | Numeric::IsoYear
                | Numeric::IsoYearDiv100
                | Numeric::IsoYearMod100
                | Numeric::Quarter
                | Numeric::Month
                | Numeric::Day
                | Numeric::WeekFromSun
                | Numeric::WeekFromMon
                | Numeric::IsoWeek
                | Numeric::NumDaysFromSun
                | Numeric::WeekdayFromMon
                | Numeric::Ordinal => DAY,
                Numeric::Hour | Numeric::Hour12 => HOUR,
                Numeric::Minute => MINUTE,
                Numeric::Second | Numeric::Timestamp => 1,
                _ => return None,
            },
            Item::Fixed(fixed) => match fixed {
                Fixed::ShortMonthName
                | Fixed::LongMonthName
                | Fixed::ShortWeekdayName
                | Fixed::LongWeekdayName => DAY,
                Fixed::LowerAmPm | Fixed::UpperAmPm => HOUR,
                // Event times are UTC: the zone never changes.
                Fixed::TimezoneName
                | Fixed::TimezoneOffset
                | Fixed::TimezoneOffsetColon
                | Fixed::TimezoneOffsetDoubleColon
                | Fixed::TimezoneOffsetTripleColon
                | Fixed::TimezoneOffsetColonZ
                | Fixed::TimezoneOffsetZ => continue,
                _ => return None,
            },
            _ => return None,
        };
        finest = finest.min(period);
    }
    Some(finest)
}

/// The cache key of a time for a granularity; `None` during a leap second (formatted as `:60`).
fn bucket(ts: chrono::DateTime<chrono::Utc>, granularity: i64) -> Option<i64> {
    use chrono::Timelike;
    if ts.nanosecond() >= 1_000_000_000 {
        return None;
    }
    Some(ts.timestamp().div_euclid(granularity))
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
    fn cached_rendering_equals_fresh_rendering_across_time_boundaries() {
        let templates = [
            "./out/%Y-%m-%d/{{ source_type }}.ndjson",
            "./out/%Y/%m/%d/%H/{{ aws.log_type }}-{{ source_id }}-%M.log",
            "%s-{{ status }}-%S.log",
            "./out/%.3f/%p-%I-%a-%b-%j-%U-%W-%V-%G-%u-%w-%Z-%z.log",
            "out-%F-%T-%%",
        ];
        let base = chrono::Utc
            .with_ymd_and_hms(2024, 12, 31, 23, 58, 58)
            .unwrap();
        for source in templates {
            let template = Template::parse(source).unwrap();
            let mut cache = RenderCache::default();
            let mut out = String::new();
            for step in 0..400_i64 {
                let mut e = event();
                let ts = base + chrono::Duration::milliseconds(step * 777);
                e.fields.insert("timestamp".into(), Value::Timestamp(ts));
                template.render_into(&e, &mut out, &mut cache).unwrap();
                let fresh = template.render(&e).unwrap();
                assert_eq!(out, fresh, "{source} at {ts}");
                assert_eq!(
                    fresh,
                    format!("{}", ts.format(source))
                        .replace("{{ source_type }}", "file")
                        .replace("{{ aws.log_type }}", "alb")
                        .replace("{{ source_id }}", "app")
                        .replace("{{ status }}", "200")
                );
            }
        }
    }

    #[test]
    fn errors() {
        assert_eq!(Template::parse("a{{ b"), Err(TemplateError::Unclosed(1)));
        assert_eq!(Template::parse("a{{ }}"), Err(TemplateError::EmptyField(1)));
        assert!(matches!(
            Template::parse("%Q"),
            Err(TemplateError::Strftime(_))
        ));
        // Parsed by chrono, but not formattable (found by the `template` fuzz target): refused,
        // not rendered as an empty time part.
        assert!(matches!(
            Template::parse("logs/%#z/{{ app }}"),
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
