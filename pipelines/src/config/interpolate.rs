//! `${VAR}`, `${VAR:-default}` and `$$` (a literal `$`) in pipeline files, resolved before parsing
//! (as Vector does), so any value — including numbers and arrays — can come from the environment.
//!
//! Comments are left as they are: a `#` outside a quoted string, at the start of a line or after
//! whitespace, starts a comment (in TOML and YAML alike), and a `${VAR}` in it is not resolved, so
//! an example written in a comment never fails a pipeline.

/// An undefined variable without default, or a malformed reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterpolationError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// Replaces references using `lookup` (normally `std::env::var`). Returns every error at once.
pub fn interpolate(
    text: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, Vec<InterpolationError>> {
    let mut out = String::with_capacity(text.len());
    let mut errors = Vec::new();
    let mut open = Quote::None;
    for (line_no, whole) in text.split_inclusive('\n').enumerate() {
        let code_end = comment_start(whole, &mut open).unwrap_or(whole.len());
        let (line, comment) = whole.split_at(code_end);
        let mut rest = line;
        let mut column = 1;
        while let Some(pos) = rest.find('$') {
            out.push_str(&rest[..pos]);
            column += rest[..pos].chars().count();
            let after = &rest[pos + 1..];
            if let Some(tail) = after.strip_prefix('$') {
                out.push('$');
                rest = tail;
                column += 2;
                continue;
            }
            let Some(body) = after.strip_prefix('{') else {
                out.push('$');
                rest = after;
                column += 1;
                continue;
            };
            let Some(end) = body.find('}') else {
                errors.push(InterpolationError {
                    line: line_no + 1,
                    column,
                    message: "unclosed `${`".into(),
                });
                out.push_str(&rest[pos..]);
                rest = "";
                break;
            };
            let inner = &body[..end];
            let (name, default) = match inner.split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (inner, None),
            };
            let valid =
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                errors.push(InterpolationError {
                    line: line_no + 1,
                    column,
                    message: format!("invalid variable name `{name}`"),
                });
            } else {
                match (lookup(name), default) {
                    (Some(value), _) if !(value.is_empty() && default.is_some()) => out.push_str(&value),
                    (_, Some(default)) => out.push_str(default),
                    (Some(value), None) => out.push_str(&value),
                    (None, None) => errors.push(InterpolationError {
                        line: line_no + 1,
                        column,
                        message: format!("environment variable `{name}` is not set and has no default (`${{{name}:-default}}`)"),
                    }),
                }
            }
            column += 3 + inner.chars().count();
            rest = &body[end + 1..];
        }
        out.push_str(rest);
        out.push_str(comment);
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// The string a line ends inside of, carried to the next line (only multi-line strings do).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Quote {
    None,
    /// TOML `"""…"""`.
    TripleDouble,
    /// TOML `'''…'''`.
    TripleSingle,
}

/// Where a comment starts on `line`, given the multi-line string `open` at its start (updated for
/// the next line).
fn comment_start(line: &str, open: &mut Quote) -> Option<usize> {
    let bytes = line.as_bytes();
    let mut i = 0;
    let mut single_line: Option<u8> = None;
    while let Some(&b) = bytes.get(i) {
        let rest = bytes.get(i..).unwrap_or_default();
        match (*open, single_line) {
            (Quote::TripleDouble, _) => {
                if b == b'\\' {
                    i += 2;
                    continue;
                }
                if rest.starts_with(b"\"\"\"") {
                    *open = Quote::None;
                    i += 3;
                    continue;
                }
            }
            (Quote::TripleSingle, _) => {
                if rest.starts_with(b"\'\'\'") {
                    *open = Quote::None;
                    i += 3;
                    continue;
                }
            }
            (Quote::None, Some(q)) => {
                if b == b'\\' && q == b'"' {
                    i += 2;
                    continue;
                }
                if b == q {
                    single_line = None;
                }
            }
            (Quote::None, None) => {
                if rest.starts_with(b"\"\"\"") {
                    *open = Quote::TripleDouble;
                    i += 3;
                    continue;
                }
                if rest.starts_with(b"\'\'\'") {
                    *open = Quote::TripleSingle;
                    i += 3;
                    continue;
                }
                match b {
                    b'"' | b'\'' => single_line = Some(b),
                    b'#' if i == 0 || bytes.get(i - 1).is_some_and(u8::is_ascii_whitespace) => {
                        return Some(i)
                    }
                    _ => {}
                }
            }
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOME_DIR" => Some("/home/weir".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn replaces_variables_defaults_and_escapes() {
        let text = "a = \"${HOME_DIR}/x\"\nb = \"${MISSING:-fallback}\"\nc = \"$$HOME_DIR\"\nd = \"${EMPTY:-dflt}\"\ne = \"$5\"\n";
        assert_eq!(
            interpolate(text, env).unwrap(),
            "a = \"/home/weir/x\"\nb = \"fallback\"\nc = \"$HOME_DIR\"\nd = \"dflt\"\ne = \"$5\"\n"
        );
    }

    #[test]
    fn reports_every_missing_variable_with_position() {
        let errors = interpolate("x = \"${NOPE}\"\n  y = \"${ALSO_NOPE}\"\n", env).unwrap_err();
        assert_eq!(errors.len(), 2);
        assert_eq!((errors[0].line, errors[0].column), (1, 6));
        assert_eq!((errors[1].line, errors[1].column), (2, 8));
        assert!(errors[1].message.contains("ALSO_NOPE"));
    }

    #[test]
    fn comments_are_not_interpolated() {
        let text = "# export ${ES_PASSWORD}\na = \"${HOME_DIR}\" # or ${NOPE}\nb = \"x # ${HOME_DIR}\"\nc = \"\"\"\n# ${HOME_DIR}\n\"\"\"\n  # ${NOPE}\n";
        assert_eq!(
            interpolate(text, env).unwrap(),
            "# export ${ES_PASSWORD}\na = \"/home/weir\" # or ${NOPE}\nb = \"x # /home/weir\"\nc = \"\"\"\n# /home/weir\n\"\"\"\n  # ${NOPE}\n"
        );
    }
}
