//! Finding where a component or key was written, so every diagnostic can name file, line and column.
//! Parsers give positions for syntax errors only; for semantic errors (unknown key, bad input) we
//! find the component's table and the key's line in the text ourselves.

/// The two pipeline-file syntaxes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syntax {
    /// `.toml`
    Toml,
    /// `.yaml` / `.yml`
    Yaml,
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn strip_quotes(s: &str) -> &str {
    s.trim().trim_matches('"').trim_matches('\'')
}

/// 1-based line and column of the definition of component `id` in `section` (`sources`, …).
pub fn component(text: &str, syntax: Syntax, section: &str, id: &str) -> Option<(usize, usize)> {
    match syntax {
        Syntax::Toml => {
            let mut in_section_table = false;
            for (i, line) in text.lines().enumerate() {
                let t = line.trim();
                if let Some(header) = t.strip_prefix('[').and_then(|h| h.split(']').next()) {
                    let parts: Vec<&str> = header.split('.').map(strip_quotes).collect();
                    if parts.len() >= 2 && parts[0] == section && parts[1] == id {
                        return Some((i + 1, indent(line) + 1));
                    }
                    in_section_table = parts.len() == 1 && parts[0] == section;
                    continue;
                }
                // `sources.app = { … }` at top level, or `app = { … }` inside `[sources]`.
                let key = t.split('=').next().unwrap_or("").trim();
                let parts: Vec<&str> = key.split('.').map(strip_quotes).collect();
                if (parts.len() >= 2 && parts[0] == section && parts[1] == id)
                    || (in_section_table && parts.first() == Some(&id))
                {
                    return Some((i + 1, indent(line) + 1));
                }
            }
            None
        }
        Syntax::Yaml => {
            let mut section_indent = None;
            for (i, line) in text.lines().enumerate() {
                let t = line.trim();
                if t.is_empty() || t.starts_with('#') {
                    continue;
                }
                let ind = indent(line);
                let key = strip_quotes(t.split(':').next().unwrap_or(""));
                match section_indent {
                    None if key == section && t.contains(':') => section_indent = Some(ind),
                    Some(si) if ind <= si => section_indent = (key == section).then_some(ind),
                    Some(_) if key == id && t.contains(':') => return Some((i + 1, ind + 1)),
                    _ => {}
                }
            }
            None
        }
    }
}

/// 1-based line and column of `key` (dotted: `buffer.when_full`) inside component `id`; falls back
/// to the component's own position.
pub fn key(
    text: &str,
    syntax: Syntax,
    section: &str,
    id: &str,
    key: &str,
) -> Option<(usize, usize)> {
    let start = component(text, syntax, section, id)?;
    let last = key.rsplit('.').next().unwrap_or(key);
    if last.is_empty() {
        return Some(start);
    }
    let lines: Vec<&str> = text.lines().collect();
    let first = lines.get(start.0 - 1)?;
    let component_indent = indent(first);
    // An inline table on the component's own line.
    if let Some(col) = first
        .find(&format!("{last} ="))
        .or_else(|| first.find(&format!("{last}=")))
    {
        if syntax == Syntax::Toml && first.contains('{') {
            return Some((start.0, col + 1));
        }
    }
    for (i, line) in lines.iter().enumerate().skip(start.0) {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        match syntax {
            Syntax::Toml => {
                if let Some(header) = t.strip_prefix('[').and_then(|h| h.split(']').next()) {
                    let parts: Vec<&str> = header.split('.').map(strip_quotes).collect();
                    if !(parts.len() >= 2 && parts[0] == section && parts[1] == id) {
                        break;
                    }
                    continue;
                }
                let k = t.split('=').next().unwrap_or("").trim();
                if k == last || k.rsplit('.').next().map(strip_quotes) == Some(last) {
                    return Some((i + 1, indent(line) + 1));
                }
            }
            Syntax::Yaml => {
                if indent(line) <= component_indent {
                    break;
                }
                let k = strip_quotes(t.trim_start_matches("- ").split(':').next().unwrap_or(""));
                if k == last {
                    return Some((i + 1, indent(line) + 1));
                }
            }
        }
    }
    Some(start)
}

/// 1-based line and column of a top-level key.
pub fn top_level(text: &str, syntax: Syntax, name: &str) -> Option<(usize, usize)> {
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        let hit = match syntax {
            Syntax::Toml => {
                t.strip_prefix('[')
                    .and_then(|h| h.split(']').next())
                    .map(|h| h.split('.').next() == Some(name))
                    == Some(true)
                    || t.split('=')
                        .next()
                        .map(|k| k.trim().split('.').next() == Some(name))
                        == Some(true)
            }
            Syntax::Yaml => {
                indent(line) == 0 && t.split(':').next().map(strip_quotes) == Some(name)
            }
        };
        if hit {
            return Some((i + 1, indent(line) + 1));
        }
    }
    None
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOML: &str = "data_dir = \"x\"\n[sources.app]\ntype = \"file\"\ninclude = []\n\n[sinks.out]\ntype = \"file\"\ninputs = [\"app\"]\n[sinks.out.buffer]\nwhen_full = \"x\"\n";
    const YAML: &str = "sources:\n  app:\n    type: file\n    include: []\nsinks:\n  out:\n    type: file\n    buffer:\n      when_full: x\n";

    #[test]
    fn finds_components_and_keys_in_toml() {
        assert_eq!(
            component(TOML, Syntax::Toml, "sources", "app"),
            Some((2, 1))
        );
        assert_eq!(
            key(TOML, Syntax::Toml, "sinks", "out", "inputs"),
            Some((8, 1))
        );
        assert_eq!(
            key(TOML, Syntax::Toml, "sinks", "out", "buffer.when_full"),
            Some((10, 1))
        );
        assert_eq!(top_level(TOML, Syntax::Toml, "data_dir"), Some((1, 1)));
    }

    #[test]
    fn finds_components_and_keys_in_yaml() {
        assert_eq!(component(YAML, Syntax::Yaml, "sinks", "out"), Some((6, 3)));
        assert_eq!(
            key(YAML, Syntax::Yaml, "sinks", "out", "buffer.when_full"),
            Some((9, 7))
        );
        assert_eq!(
            key(YAML, Syntax::Yaml, "sources", "app", "include"),
            Some((4, 5))
        );
    }
}
