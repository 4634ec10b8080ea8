//! File paths from the `path` template: rendering (with core's cached time parts), and the check
//! that keeps every rendered path under the template's root directory.

use std::path::{Path, PathBuf};

use weir_core::template::{RenderCache, RenderError, Template};
use weir_core::Event;

use crate::errors::ErrorType;

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
            PathViolation::NotAFile => ErrorType::InvalidPath,
            _ => ErrorType::PathOutsideRoot,
        }
        .as_str()
    }
}

/// The `path` template of a file sink, ready to render and check paths.
#[derive(Clone, Debug)]
pub struct PathTemplate {
    template: Template,
    cache: RenderCache,
    /// The rendered path's leading text that names the root directory, with its trailing `/`.
    root_prefix: String,
    root: PathBuf,
}

impl PathTemplate {
    /// Prepares a parsed template.
    pub fn new(template: Template) -> Self {
        let (root_prefix, root) = root_of(&template);
        Self {
            template,
            cache: RenderCache::default(),
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

    /// Renders the path of one event into `out` (cleared first), reusing formatted time parts.
    pub fn render_into(&mut self, event: &Event, out: &mut String) -> Result<(), RenderError> {
        self.template.render_into(event, out, &mut self.cache)
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};
    use weir_core::{EventMetadata, ObjectMap, Value};

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
