//! `invalid_utf8`: what the `file` and `aws_s3` sources do with a line or record that is not valid
//! UTF-8, and how such a line is kept losslessly on `<id>.errors`.

use base64::Engine as _;
use bytes::Bytes;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use vrl::value::{KeyString, Value};
use weir_core::event::MESSAGE;
use weir_core::fields::Fields;

/// `invalid_utf8`: a line (or record) that is not valid UTF-8.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvalidUtf8 {
    /// Not delivered as an event: it goes to `<id>.errors` with its bytes in `message_base64`
    /// (and a readable `message` with U+FFFD for the invalid bytes), counted as `invalid_utf8`
    /// (default).
    #[default]
    Error,
    /// Delivered, each invalid sequence replaced with U+FFFD; counted as `invalid_utf8_replaced`.
    Replace,
}

/// A line checked for UTF-8.
pub(crate) enum Checked {
    /// Valid: deliver it as it is.
    Valid(Bytes),
    /// Invalid, and `replace` made it valid.
    Replaced(Bytes),
    /// Invalid, to be reported (`error`).
    Invalid(Bytes),
}

impl InvalidUtf8 {
    /// Checks one line.
    pub(crate) fn check(self, bytes: Bytes) -> Checked {
        if simdutf8::basic::from_utf8(&bytes).is_ok() {
            return Checked::Valid(bytes);
        }
        match self {
            InvalidUtf8::Error => Checked::Invalid(bytes),
            InvalidUtf8::Replace => Checked::Replaced(Bytes::from(
                String::from_utf8_lossy(&bytes).into_owned().into_bytes(),
            )),
        }
    }
}

/// Adds an invalid line to the fields of its error event: `message` readable (U+FFFD for the
/// invalid bytes) and `message_base64`, the exact bytes.
pub(crate) fn keep_invalid(fields: &mut Fields, bytes: &[u8]) {
    fields.insert(
        KeyString::from(MESSAGE),
        Value::from(String::from_utf8_lossy(bytes).into_owned()),
    );
    fields.insert(
        KeyString::from("message_base64"),
        Value::from(base64::engine::general_purpose::STANDARD.encode(bytes)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_lines_are_reported_or_replaced_and_kept_exactly() {
        let bad = Bytes::from_static(b"caf\xe9 au lait");
        assert!(matches!(
            InvalidUtf8::Error.check(Bytes::from_static("café".as_bytes())),
            Checked::Valid(_)
        ));
        let Checked::Invalid(kept) = InvalidUtf8::Error.check(bad.clone()) else {
            panic!("not reported")
        };
        let Checked::Replaced(replaced) = InvalidUtf8::Replace.check(bad) else {
            panic!("not replaced")
        };
        assert_eq!(&replaced[..], "caf\u{fffd} au lait".as_bytes());
        let mut fields = Fields::default();
        keep_invalid(&mut fields, &kept);
        let b64 = fields.get("message_base64").unwrap().to_string_lossy();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(b64.as_bytes())
            .unwrap();
        assert_eq!(decoded, b"caf\xe9 au lait");
    }
}
