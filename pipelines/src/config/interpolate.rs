//! `${VAR}`, `${VAR:-default}` and `$$` (a literal `$`) in pipeline files, resolved before parsing
//! (as Vector does), so any value — including numbers and arrays — can come from the environment.

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
    for (line_no, line) in text.split_inclusive('\n').enumerate() {
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
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
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
}
