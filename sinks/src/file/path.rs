//! File paths from the `path` template: rendering with a cache for the strftime parts, and the check
//! that keeps every rendered path under the template's root directory.

use std::path::{Path, PathBuf};

use chrono::format::{Fixed, Item, Numeric, StrftimeItems};
use chrono::{DateTime, Timelike, Utc};
use weir_core::template::{RenderError, Template};
use weir_core::{Event, Value};

/// Why a rendered path was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PathViolation {
    /// The path contains a NUL byte.
    #[error("the rendered path contains a NUL byte")]
    Nul,
    /// The rendered part is absolute (a field value started with `/`).
    #[error("the rendered path is absolute below the root")]
    Absolute,
    /// The path has a `..` component below the root.
    #[error("the rendered path has a `..` component")]
    ParentDir,
    /// The path does not start with the root (cannot happen with a parsed template; kept for safety).
    #[error("the rendered path is not under the root directory")]
    NotUnderRoot,
    /// The path names the root itself or a directory (empty or `.` last component).
    #[error("the rendered path names a directory, not a file")]
    NotAFile,
}

impl PathViolation {
    /// The `error_type` label this violation is counted under.
    pub fn error_type(self) -> &'static str {
        match self {
            PathViolation::NotAFile => "invalid_path",
            _ => "path_outside_root",
        }
    }
}

const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;
const MINUTE: i64 = 60;

/// One piece of the template, rendered independently (rendering a template is the concatenation of
/// its parts, so rendering piece by piece gives the same text).
#[derive(Debug)]
enum Segment {
    /// Literal text.
    Literal(String),
    /// Text with strftime specifiers; its output only changes when the event time crosses a multiple
    /// of `granularity` seconds (`None`: may change at any instant, never cached).
    Time {
        template: Template,
        granularity: Option<i64>,
        cache: Option<(i64, String)>,
    },
    /// `{{ field.path }}`.
    Field {
        template: Template,
        path: Vec<String>,
    },
}

/// The `path` template of a file sink, ready to render and check paths.
#[derive(Debug)]
pub struct PathTemplate {
    template: Template,
    /// The template split into independently rendered pieces; `None` falls back to rendering the
    /// whole template (only if splitting failed, which a parsed template never does).
    segments: Option<Vec<Segment>>,
    /// The rendered path's leading text that names the root directory, with its trailing `/`.
    root_prefix: String,
    root: PathBuf,
}

impl PathTemplate {
    /// Prepares a parsed template.
    pub fn new(template: Template) -> Self {
        let (root_prefix, root) = root_of(&template);
        let segments = if template.is_dynamic() {
            split(&template)
        } else {
            None
        };
        Self {
            template,
            segments,
            root_prefix,
            root,
        }
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        self.template.as_str()
    }

    /// Whether the path depends on the event.
    pub fn is_dynamic(&self) -> bool {
        self.template.is_dynamic()
    }

    /// The directory every rendered path must stay under.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Renders the path of one event into `out` (cleared first). Gives exactly what
    /// [`Template::render`] gives, but reuses `out` and caches the strftime parts.
    pub fn render_into(&mut self, event: &Event, out: &mut String) -> Result<(), RenderError> {
        out.clear();
        let Some(segments) = self.segments.as_mut() else {
            out.push_str(&self.template.render(event)?);
            return Ok(());
        };
        let mut timestamp = None;
        for segment in segments {
            match segment {
                Segment::Literal(text) => out.push_str(text),
                Segment::Field { template, path } => match event.get_path(path) {
                    Some(Value::Bytes(bytes)) => match std::str::from_utf8(bytes) {
                        Ok(text) => out.push_str(text),
                        Err(_) => out.push_str(&template.render(event)?),
                    },
                    Some(Value::String(text)) => out.push_str(text),
                    None if is_single(path, "source_type") => {
                        out.push_str(event.metadata.source_type)
                    }
                    None if is_single(path, "source_id") => out.push_str(&event.metadata.source_id),
                    _ => out.push_str(&template.render(event)?),
                },
                Segment::Time {
                    template,
                    granularity,
                    cache,
                } => {
                    let ts = *timestamp.get_or_insert_with(|| event.timestamp());
                    match granularity.and_then(|g| bucket(ts, g)) {
                        Some(key) => match cache {
                            Some((cached_key, text)) if *cached_key == key => out.push_str(text),
                            _ => {
                                let text = template.render(event)?;
                                out.push_str(&text);
                                *cache = Some((key, text));
                            }
                        },
                        None => out.push_str(&template.render(event)?),
                    }
                }
            }
        }
        Ok(())
    }

    /// Checks that a rendered path stays lexically under the root: no NUL byte, nothing absolute or
    /// `..` after the root, and a file name at the end.
    pub fn check(&self, rendered: &str) -> Result<(), PathViolation> {
        if rendered.as_bytes().contains(&0) {
            return Err(PathViolation::Nul);
        }
        let Some(rest) = rendered.strip_prefix(self.root_prefix.as_str()) else {
            return Err(PathViolation::NotUnderRoot);
        };
        if rest.starts_with('/') {
            return Err(PathViolation::Absolute);
        }
        let mut last = "";
        for component in rest.split('/') {
            if component == ".." {
                return Err(PathViolation::ParentDir);
            }
            last = component;
        }
        if last.is_empty() || last == "." {
            return Err(PathViolation::NotAFile);
        }
        Ok(())
    }
}

fn is_single(path: &[String], name: &str) -> bool {
    matches!(path, [only] if only == name)
}

/// The root directory of a template: the directory part of its static prefix (the parent directory
/// for a fully static path; `.` when the prefix has no `/`). Returns the prefix text naming it
/// (including its trailing `/`) and the directory.
fn root_of(template: &Template) -> (String, PathBuf) {
    if !template.is_dynamic() {
        let path = Path::new(template.as_str());
        let parent = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        return (String::new(), parent.to_path_buf());
    }
    let prefix = template.static_prefix();
    match prefix.rfind('/') {
        None => (String::new(), PathBuf::from(".")),
        Some(0) => ("/".to_string(), PathBuf::from("/")),
        Some(i) => (prefix[..=i].to_string(), PathBuf::from(&prefix[..i])),
    }
}

/// Splits a template the way [`Template::parse`] does, into pieces that render independently.
fn split(template: &Template) -> Option<Vec<Segment>> {
    let mut segments = Vec::new();
    let mut rest = template.as_str();
    while let Some(start) = rest.find("{{") {
        if start > 0 {
            segments.push(text_segment(&rest[..start])?);
        }
        let after = &rest[start + 2..];
        let end = after.find("}}")?;
        let name = after[..end].trim();
        let consumed = start + 2 + end + 2;
        segments.push(Segment::Field {
            template: Template::parse(&rest[start..consumed]).ok()?,
            path: name.split('.').map(str::to_string).collect(),
        });
        rest = &rest[consumed..];
    }
    if !rest.is_empty() {
        segments.push(text_segment(rest)?);
    }
    Some(segments)
}

fn text_segment(text: &str) -> Option<Segment> {
    if !text.contains('%') {
        return Some(Segment::Literal(text.to_string()));
    }
    Some(Segment::Time {
        template: Template::parse(text).ok()?,
        granularity: granularity(text),
        cache: None,
    })
}

/// The period in seconds at whose multiples the formatted text can change, or `None` if it can
/// change at any instant (sub-second specifiers, or ones this function does not know).
fn granularity(text: &str) -> Option<i64> {
    let mut finest = i64::MAX;
    for item in StrftimeItems::new(text) {
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
fn bucket(ts: DateTime<Utc>, granularity: i64) -> Option<i64> {
    if ts.nanosecond() >= 1_000_000_000 {
        return None;
    }
    Some(ts.timestamp().div_euclid(granularity))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use weir_core::{EventMetadata, ObjectMap};

    fn event(ts: DateTime<Utc>, fields: &[(&str, Value)]) -> Event {
        let mut map = ObjectMap::new();
        map.insert("timestamp".into(), Value::Timestamp(ts));
        for (k, v) in fields {
            map.insert((*k).into(), v.clone());
        }
        Event::new(map, EventMetadata::new("app".into(), "file", Utc::now()))
    }

    fn paths(template: &str) -> PathTemplate {
        PathTemplate::new(Template::parse(template).unwrap())
    }

    #[test]
    fn renders_exactly_like_template_render_across_time_boundaries() {
        let templates = [
            "./out/%Y-%m-%d/{{ source_type }}.ndjson",
            "./out/%Y/%m/%d/%H/{{ host }}-{{ source_id }}-%M.log",
            "%s-{{ n }}-%S.log",
            "./out/{{ a.b }}/%.3f/%p-%I-%a-%b-%j-%U-%W-%V-%G-%u-%w-%Z-%z.log",
            "./out/%%literal-{{ bytes }}-{{ flag }}-{{ f }}-{{ missing_ok }}.log",
            "out-%F-%T",
            "{{{x}}}",
        ];
        let base = Utc.with_ymd_and_hms(2024, 12, 31, 23, 58, 58).unwrap();
        let mut inner = ObjectMap::new();
        inner.insert("b".into(), Value::from("deep"));
        let fields = [
            ("host", Value::from("web-1")),
            ("n", Value::Integer(-4)),
            ("a", Value::Object(inner)),
            ("bytes", Value::Bytes(bytes::Bytes::from_static(b"\xffbad"))),
            ("flag", Value::Boolean(true)),
            ("f", Value::from_f64_or_zero(1.5)),
            ("missing_ok", Value::Null),
            ("{x", Value::from("braces")),
        ];
        for source in templates {
            let mut rendered = paths(source);
            assert!(rendered.segments.is_some(), "{source}");
            let template = Template::parse(source).unwrap();
            let mut out = String::new();
            for step in 0..400_i64 {
                // Walk forward through minute, hour, day and year boundaries, with sub-second noise.
                let ts = base + chrono::Duration::milliseconds(step * 777);
                let event = event(ts, &fields);
                rendered.render_into(&event, &mut out).unwrap();
                assert_eq!(out, template.render(&event).unwrap(), "{source} at {ts}");
            }
        }
    }

    #[test]
    fn render_errors_match() {
        let mut rendered = paths("./out/%Y/{{ nope }}.log");
        let e = event(Utc::now(), &[]);
        let mut out = String::new();
        assert_eq!(
            rendered.render_into(&e, &mut out),
            Err(RenderError::MissingField("nope".into()))
        );
    }

    #[test]
    fn granularity_of_specifiers() {
        assert_eq!(granularity("%Y-%m-%d"), Some(DAY));
        assert_eq!(granularity("%Y-%m-%dT%H"), Some(HOUR));
        assert_eq!(granularity("%R"), Some(MINUTE));
        assert_eq!(granularity("%T"), Some(1));
        assert_eq!(granularity("%f"), None);
        assert_eq!(granularity("%%"), Some(i64::MAX));
    }

    #[test]
    fn roots() {
        assert_eq!(
            paths("./weir-out/%Y/{{ x }}.log").root(),
            Path::new("./weir-out")
        );
        assert_eq!(
            paths("./weir-out/app-{{ x }}.log").root(),
            Path::new("./weir-out")
        );
        assert_eq!(paths("{{ x }}.log").root(), Path::new("."));
        assert_eq!(paths("app-%Y.log").root(), Path::new("."));
        assert_eq!(paths("/{{ x }}").root(), Path::new("/"));
        assert_eq!(paths("/var/log/out.log").root(), Path::new("/var/log"));
        assert_eq!(paths("out.log").root(), Path::new("."));
    }

    #[test]
    fn confinement() {
        let p = paths("./weir-out/{{ x }}.log");
        assert_eq!(p.check("./weir-out/a.log"), Ok(()));
        assert_eq!(p.check("./weir-out/a/b/c.log"), Ok(()));
        assert_eq!(
            p.check("./weir-out/../../etc/x.log"),
            Err(PathViolation::ParentDir)
        );
        assert_eq!(
            p.check("./weir-out/a/../../x.log"),
            Err(PathViolation::ParentDir)
        );
        assert_eq!(
            p.check("./weir-out//etc/passwd.log"),
            Err(PathViolation::Absolute)
        );
        assert_eq!(p.check("./weir-out/a\0.log"), Err(PathViolation::Nul));
        assert_eq!(
            p.check("./weir-outx/a.log"),
            Err(PathViolation::NotUnderRoot)
        );
        assert_eq!(p.check("./weir-out/a/"), Err(PathViolation::NotAFile));

        let p = paths("{{ name }}");
        assert_eq!(p.check("ok.log"), Ok(()));
        assert_eq!(p.check("/etc/passwd"), Err(PathViolation::Absolute));
        assert_eq!(p.check("../x"), Err(PathViolation::ParentDir));
        assert_eq!(p.check(".."), Err(PathViolation::ParentDir));
        assert_eq!(p.check(""), Err(PathViolation::NotAFile));
        assert_eq!(p.check("."), Err(PathViolation::NotAFile));

        // Static text after the root is part of what is checked.
        let p = paths("./out/.{{ x }}");
        assert_eq!(p.check("./out/.."), Err(PathViolation::ParentDir));
    }
}
