//! A strict JSON (RFC 8259) parser producing vrl [`Value`]s directly, used on the hot path
//! (CloudTrail is benchmarked). Compared with going through serde it scans each string once,
//! slices un-escaped strings out of the input [`Bytes`] without copying, and reports errors as
//! exact byte offsets.
//!
//! UTF-8 is validated once for the whole input (SIMD), and keys are then sub-slices of that `str`
//! with no check of their own: CloudTrail events are mostly keys, and a `str::from_utf8` call per
//! key cost 4 % of an end-to-end run. Only an input that is not valid UTF-8 as a whole falls
//! back to validating each string, so that the error names the string at fault.
//!
//! Accepted: exactly one JSON value surrounded by optional whitespace. Rejected like serde_json:
//! control characters in strings, invalid escapes, lone surrogates, invalid UTF-8, leading zeros,
//! `NaN`/infinite numbers, trailing commas, nesting deeper than [`MAX_DEPTH`].

use bytes::Bytes;
use vrl::value::{KeyString, ObjectMap, Value};
use weir_core::fields::Schema;

/// Maximum nesting of arrays and objects (the same limit as serde_json).
pub const MAX_DEPTH: usize = 128;

/// A syntax error: byte offset and description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonError {
    /// Byte offset of the offending byte (the input length for a premature end).
    pub offset: usize,
    /// What is wrong.
    pub message: &'static str,
}

type Result<T> = std::result::Result<T, JsonError>;

/// Bytes that end the fast scan of a string: `"`, `\`, control characters, non-ASCII.
static STRING_STOP: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = i < 0x20 || i == b'"' as usize || i == b'\\' as usize || i >= 0x80;
        i += 1;
    }
    t
};

/// True if any byte of `w` is `"`, `\\`, below 0x20 or above 0x7f (SWAR bit tricks).
#[inline]
fn has_string_stop(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let below_space = w.wrapping_sub(ONES.wrapping_mul(0x20)) & !w & HIGH;
    let quote = has_zero(w ^ ONES.wrapping_mul(u64::from(b'"')));
    let backslash = has_zero(w ^ ONES.wrapping_mul(u64::from(b'\\')));
    (below_space | quote | backslash | (w & HIGH)) != 0
}

struct Parser<'a> {
    src: &'a Bytes,
    buf: &'a [u8],
    /// `buf` as text when it is valid UTF-8 as a whole (strings then need no check of their own).
    text: Option<&'a str>,
    pos: usize,
    depth: usize,
    scratch: Vec<u8>,
}

/// Parses `input` (one JSON value, optional surrounding whitespace) into a vrl [`Value`].
pub fn parse(input: &Bytes) -> Result<Value> {
    let mut p = Parser::new(input);
    let value = p.value()?;
    p.end()?;
    Ok(value)
}

/// A top-level JSON object read against a [`Schema`]: members it names are in `values` at their
/// schema position (no name copied), the others in `others`. Of repeated names the last wins,
/// as in a map.
#[derive(Debug)]
pub struct SchemaObject {
    /// Per schema position, the member's value.
    pub values: Vec<Option<Value>>,
    /// Members the schema does not name.
    pub others: ObjectMap,
}

/// Parses `input` like [`parse`]; a top-level object comes back as a [`SchemaObject`] of
/// `schema`, any other value as it is (`Err`), for the caller to report.
pub fn parse_with_schema(
    input: &Bytes,
    schema: &Schema,
) -> Result<std::result::Result<SchemaObject, Value>> {
    let mut p = Parser::new(input);
    p.skip_ws();
    let parsed = if p.peek() == Some(b'{') {
        Ok(p.schema_object(schema)?)
    } else {
        Err(p.value()?)
    };
    p.end()?;
    Ok(parsed)
}

enum Str {
    /// `start..end` of the input, no escapes.
    Slice(usize, usize),
    /// Unescaped into `scratch`.
    Scratch,
}

impl<'a> Parser<'a> {
    fn new(input: &'a Bytes) -> Self {
        Parser {
            src: input,
            buf: input,
            text: simdutf8::basic::from_utf8(input).ok(),
            pos: 0,
            depth: 0,
            scratch: Vec::new(),
        }
    }

    /// After the one top-level value: only whitespace may follow.
    fn end(&mut self) -> Result<()> {
        self.skip_ws();
        if self.pos < self.buf.len() {
            return Err(self.error("trailing characters after the JSON value"));
        }
        Ok(())
    }

    fn error(&self, message: &'static str) -> JsonError {
        JsonError {
            offset: self.pos.min(self.buf.len()),
            message,
        }
    }

    fn eof(&self) -> JsonError {
        JsonError {
            offset: self.buf.len(),
            message: "unexpected end of input",
        }
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    #[inline]
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.pos += 1;
        }
    }

    fn value(&mut self) -> Result<Value> {
        self.skip_ws();
        match self.peek() {
            None => Err(self.eof()),
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b'"') => {
                let s = self.string()?;
                Ok(Value::Bytes(self.str_bytes(s)))
            }
            Some(b't') => self.literal(b"true", Value::Boolean(true)),
            Some(b'f') => self.literal(b"false", Value::Boolean(false)),
            Some(b'n') => self.literal(b"null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.error("expected a JSON value")),
        }
    }

    fn literal(&mut self, word: &'static [u8], v: Value) -> Result<Value> {
        for &w in word {
            match self.peek() {
                None => return Err(self.eof()),
                Some(b) if b == w => self.pos += 1,
                Some(_) => return Err(self.error("invalid literal")),
            }
        }
        Ok(v)
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error("nesting too deep"));
        }
        self.pos += 1;
        Ok(())
    }

    fn object(&mut self) -> Result<Value> {
        let mut map = ObjectMap::new();
        self.members(
            |key: &str| KeyString::from(key),
            |key, value| {
                map.insert(key, value);
            },
        )?;
        Ok(Value::Object(map))
    }

    /// An object (at the opening brace) whose members are sorted by `schema`.
    fn schema_object(&mut self, schema: &Schema) -> Result<SchemaObject> {
        let mut object = SchemaObject {
            values: vec![None; schema.keys().len()],
            others: ObjectMap::new(),
        };
        // Known names cost no copy; the others become map keys.
        let slot = |key: &str| schema.position(key).ok_or_else(|| KeyString::from(key));
        self.members(slot, |slot, value| match slot {
            Ok(i) => {
                if let Some(target) = object.values.get_mut(i) {
                    *target = Some(value);
                }
            }
            Err(key) => {
                object.others.insert(key, value);
            }
        })?;
        Ok(object)
    }

    /// The members of an object (at the opening brace), in order: each key is turned into a `K`
    /// by `key` (before its value is parsed, which reuses the key's scratch space), then handed
    /// to `put` with its value.
    fn members<K>(&mut self, key: impl Fn(&str) -> K, mut put: impl FnMut(K, Value)) -> Result<()> {
        self.enter()?;
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(());
        }
        loop {
            self.skip_ws();
            match self.peek() {
                Some(b'"') => {}
                None => return Err(self.eof()),
                Some(_) => return Err(self.error("expected a string key")),
            }
            let start = self.pos + 1;
            let s = self.string()?;
            let k = key(self.key_str(s, start)?);
            self.skip_ws();
            match self.peek() {
                Some(b':') => self.pos += 1,
                None => return Err(self.eof()),
                Some(_) => return Err(self.error("expected `:`")),
            }
            put(k, self.value()?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(());
                }
                None => return Err(self.eof()),
                Some(_) => return Err(self.error("expected `,` or `}`")),
            }
        }
    }

    fn array(&mut self) -> Result<Value> {
        self.enter()?;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value()?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(Value::Array(items));
                }
                None => return Err(self.eof()),
                Some(_) => return Err(self.error("expected `,` or `]`")),
            }
        }
    }

    fn str_bytes(&self, s: Str) -> Bytes {
        match s {
            Str::Slice(a, b) => self.src.slice(a..b),
            Str::Scratch => Bytes::copy_from_slice(&self.scratch),
        }
    }

    /// A parsed string (that started at `start`) as a key.
    fn key_str(&self, s: Str, start: usize) -> Result<&str> {
        let bytes = match s {
            Str::Slice(a, b) => {
                // Both ends are next to a quote, so on character boundaries.
                if let Some(key) = self.text.and_then(|text| text.get(a..b)) {
                    return Ok(key);
                }
                self.buf.get(a..b).unwrap_or_default()
            }
            Str::Scratch => &self.scratch,
        };
        std::str::from_utf8(bytes).map_err(|_| JsonError {
            offset: start,
            message: "invalid UTF-8 in key",
        })
    }

    /// Parses a string starting at the opening quote; validates escapes and UTF-8. This is the
    /// fast path, for the usual string without escapes (a slice of the input); at the first `\`
    /// it hands over to [`escaped_string`](Self::escaped_string). The fast loop stays in this
    /// function: moved to a helper of its own, it cost 1.3 % more instructions per CloudTrail
    /// event (callgrind).
    fn string(&mut self) -> Result<Str> {
        self.pos += 1;
        let start = self.pos;
        // Set when the string holds non-ASCII bytes that still need a UTF-8 check (never when
        // the whole input is known to be valid).
        let mut non_ascii = false;
        let checked = self.text.is_some();
        loop {
            // Skip 8 plain bytes at a time.
            while let Some(word) = self
                .buf
                .get(self.pos..self.pos + 8)
                .and_then(|w| <[u8; 8]>::try_from(w).ok())
            {
                if has_string_stop(u64::from_le_bytes(word)) {
                    break;
                }
                self.pos += 8;
            }
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(self.eof());
            };
            if !STRING_STOP[b as usize] {
                self.pos += 1;
                continue;
            }
            match b {
                b'"' => {
                    let end = self.pos;
                    self.pos += 1;
                    if non_ascii
                        && std::str::from_utf8(self.buf.get(start..end).unwrap_or_default())
                            .is_err()
                    {
                        return Err(JsonError {
                            offset: start,
                            message: "invalid UTF-8 in string",
                        });
                    }
                    return Ok(Str::Slice(start, end));
                }
                b'\\' => return self.escaped_string(start, non_ascii),
                0x80..=0xff => {
                    non_ascii = !checked;
                    self.pos += 1;
                }
                _ => return Err(self.error("control character in string")),
            }
        }
    }

    /// Slow path of [`string`](Self::string), from its first `\`: unescapes the string (that
    /// started at `start`) into `scratch`.
    fn escaped_string(&mut self, start: usize, mut non_ascii: bool) -> Result<Str> {
        let checked = self.text.is_some();
        self.scratch.clear();
        self.scratch
            .extend_from_slice(self.buf.get(start..self.pos).unwrap_or_default());
        loop {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(self.eof());
            };
            match b {
                b'"' => {
                    self.pos += 1;
                    if non_ascii && std::str::from_utf8(&self.scratch).is_err() {
                        return Err(JsonError {
                            offset: start,
                            message: "invalid UTF-8 in string",
                        });
                    }
                    return Ok(Str::Scratch);
                }
                b'\\' => self.escape()?,
                0..=0x1f => return Err(self.error("control character in string")),
                _ => {
                    if b >= 0x80 && !checked {
                        non_ascii = true;
                    }
                    self.scratch.push(b);
                    self.pos += 1;
                }
            }
        }
    }

    /// At a `\` inside a string: appends the character it escapes to `scratch`.
    #[inline]
    fn escape(&mut self) -> Result<()> {
        self.pos += 1;
        let Some(&e) = self.buf.get(self.pos) else {
            return Err(self.eof());
        };
        self.pos += 1;
        let c: u8 = match e {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let ch = self.unicode_escape()?;
                let mut tmp = [0u8; 4];
                self.scratch
                    .extend_from_slice(ch.encode_utf8(&mut tmp).as_bytes());
                return Ok(());
            }
            _ => {
                self.pos -= 1;
                return Err(self.error("invalid escape"));
            }
        };
        self.scratch.push(c);
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32> {
        let mut v = 0u32;
        for _ in 0..4 {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(self.eof());
            };
            let d = match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                b'A'..=b'F' => b - b'A' + 10,
                _ => return Err(self.error("invalid \\u escape")),
            };
            v = (v << 4) | u32::from(d);
            self.pos += 1;
        }
        Ok(v)
    }

    /// After `\u`: one code point, combining a surrogate pair.
    fn unicode_escape(&mut self) -> Result<char> {
        let at = self.pos;
        let hi = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&hi) {
            if self.buf.get(self.pos..self.pos + 2) != Some(b"\\u") {
                return Err(JsonError {
                    offset: at,
                    message: "lone leading surrogate",
                });
            }
            self.pos += 2;
            let lo = self.hex4()?;
            if !(0xDC00..0xE000).contains(&lo) {
                return Err(JsonError {
                    offset: at,
                    message: "invalid surrogate pair",
                });
            }
            0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
        } else {
            hi
        };
        char::from_u32(code).ok_or(JsonError {
            offset: at,
            message: "lone trailing surrogate",
        })
    }

    fn number(&mut self) -> Result<Value> {
        let start = self.pos;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.pos += 1;
        }
        let int_start = self.pos;
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                while let Some(b'0'..=b'9') = self.peek() {
                    self.pos += 1;
                }
            }
            None => return Err(self.eof()),
            Some(_) => return Err(self.error("invalid number")),
        }
        let int_end = self.pos;
        let mut float = false;
        if self.peek() == Some(b'.') {
            float = true;
            self.pos += 1;
            let frac = self.pos;
            while let Some(b'0'..=b'9') = self.peek() {
                self.pos += 1;
            }
            if self.pos == frac {
                return Err(self.error("expected a digit after `.`"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            float = true;
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            let exp = self.pos;
            while let Some(b'0'..=b'9') = self.peek() {
                self.pos += 1;
            }
            if self.pos == exp {
                return Err(self.error("expected a digit in the exponent"));
            }
        }
        if let Some(b'0'..=b'9') = self.peek() {
            return Err(self.error("invalid number (leading zero)"));
        }
        if !float {
            // Integer fast path; i64 overflow falls back to a float, like the serde conversion.
            let digits = self.buf.get(int_start..int_end).unwrap_or_default();
            if digits.len() <= 18 {
                let mut v: i64 = 0;
                for d in digits {
                    v = v * 10 + i64::from(d - b'0');
                }
                return Ok(Value::Integer(if negative { -v } else { v }));
            }
            let text = std::str::from_utf8(self.buf.get(start..self.pos).unwrap_or_default())
                .unwrap_or("");
            if let Ok(i) = text.parse::<i64>() {
                return Ok(Value::Integer(i));
            }
        }
        let text =
            std::str::from_utf8(self.buf.get(start..self.pos).unwrap_or_default()).unwrap_or("");
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Value::from_f64_or_zero(f)),
            _ => Err(JsonError {
                offset: start,
                message: "number out of range",
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(s: &str) -> Result<Value> {
        parse(&Bytes::copy_from_slice(s.as_bytes()))
    }

    #[test]
    fn string_stop_words() {
        let w = |s: &[u8; 8]| has_string_stop(u64::from_le_bytes(*s));
        assert!(!w(b"abcdefgh"));
        assert!(!w(b" ~!#$%&'"));
        for special in [b'"', b'\\', 0x00, 0x1f, 0x80, 0xff] {
            for i in 0..8 {
                let mut b = *b"abcdefgh";
                b[i] = special;
                assert!(w(&b), "{special:#x} at {i}");
            }
        }
    }

    #[test]
    fn values() {
        assert_eq!(p(" 1 ").unwrap(), Value::Integer(1));
        assert_eq!(p("-0").unwrap(), Value::Integer(0));
        assert_eq!(p("-9223372036854775808").unwrap(), Value::Integer(i64::MIN));
        assert_eq!(p("9223372036854775807").unwrap(), Value::Integer(i64::MAX));
        assert!(matches!(p("9223372036854775808").unwrap(), Value::Float(_)));
        assert_eq!(p("1.5e2").unwrap(), Value::from_f64_or_zero(150.0));
        assert_eq!(p("true").unwrap(), Value::Boolean(true));
        assert_eq!(p("null").unwrap(), Value::Null);
        assert_eq!(
            p(r#""a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00""#).unwrap(),
            Value::Bytes(Bytes::from("a\"\\/\u{8}\u{c}\n\r\t\u{e9}\u{1F600}"))
        );
        assert_eq!(
            p("\"\u{e9}t\u{e9}\"").unwrap(),
            Value::Bytes(Bytes::from("\u{e9}t\u{e9}"))
        );
        assert_eq!(
            p(r#"{"b":[],"a":{},"a":2}"#).unwrap().to_string(),
            r#"{ "a": 2, "b": [] }"#
        );
    }

    #[test]
    fn errors_with_offsets() {
        let cases: &[(&str, usize)] = &[
            ("", 0),
            ("[1,]", 3),
            ("[1 2]", 3),
            ("{\"a\" 1}", 5),
            ("{\"a\":1,}", 7),
            ("{1:2}", 1),
            ("01", 1),
            ("1.", 2),
            ("1e", 2),
            ("-", 1),
            ("tru", 3),
            ("trux", 3),
            ("\"a\nb\"", 2),
            ("\"\\q\"", 2),
            ("\"\\u12\"", 5),
            ("\"\\ud800\"", 3),
            ("\"\\udc00\"", 3),
            ("\"\\ud800\\u0041\"", 3),
            ("\"abc", 4),
            ("{} x", 3),
            ("1e999", 0),
            ("NaN", 0),
        ];
        for (input, offset) in cases {
            let e = p(input).unwrap_err();
            assert_eq!(e.offset, *offset, "{input:?}: {e:?}");
        }
        let e = parse(&Bytes::from_static(b"\"\xff\"")).unwrap_err();
        assert_eq!(e.offset, 1);
        let e = parse(&Bytes::from_static(b"{\"\xc3\":1}")).unwrap_err();
        assert_eq!(e.offset, 2);
        let deep = "[".repeat(MAX_DEPTH + 1);
        assert_eq!(p(&deep).unwrap_err().message, "nesting too deep");
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(p(&ok).is_ok());
    }

    fn arb_json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i64>().prop_map(|i| serde_json::json!(i)),
            any::<u64>().prop_map(|i| serde_json::json!(i)),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| serde_json::json!(f)),
            any::<String>().prop_map(serde_json::Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
                prop::collection::btree_map(any::<String>(), inner, 0..6)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Structural equality, floats within 1e-15 relative (serde_json's default float parsing
    /// is not always correctly rounded; ours is).
    fn approx_eq(a: &serde_json::Value, b: &serde_json::Value) -> bool {
        use serde_json::Value as J;
        match (a, b) {
            (J::Number(x), J::Number(y)) if x.is_f64() || y.is_f64() => {
                let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
                x == y || (x - y).abs() <= 1e-15 * x.abs().max(y.abs()) || (x - y).abs() < 1e-300
            }
            (J::Array(x), J::Array(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(a, b)| approx_eq(a, b))
            }
            (J::Object(x), J::Object(y)) => {
                x.len() == y.len()
                    && x.iter()
                        .all(|(k, v)| y.get(k).is_some_and(|w| approx_eq(v, w)))
            }
            _ => a == b,
        }
    }

    proptest! {
        /// Same result as serde_json (through vrl's conversion, strings compared as bytes).
        #[test]
        fn agrees_with_serde_json(v in arb_json(), pretty in any::<bool>()) {
            let text = if pretty { serde_json::to_vec_pretty(&v).unwrap() } else { serde_json::to_vec(&v).unwrap() };
            let ours = parse(&Bytes::from(text.clone())).unwrap();
            let theirs: serde_json::Value = serde_json::from_slice(&text).unwrap();
            let ours = serde_json::to_value(&ours).unwrap();
            prop_assert!(approx_eq(&ours, &theirs), "{} vs {}", ours, theirs);
        }

        /// Arbitrary bytes: never panics; accepts exactly what serde_json accepts.
        #[test]
        fn arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..64)) {
            let ours = parse(&Bytes::from(data.clone())).is_ok();
            let theirs = serde_json::from_slice::<serde::de::IgnoredAny>(&data).is_ok();
            prop_assert_eq!(ours, theirs);
        }

        /// JSON-ish text: accepts exactly what serde_json accepts.
        #[test]
        fn jsonish_text(data in "[\\[\\]{}\",:0-9.eE+\\-tfrunlsa \\\\/u]{0,24}") {
            let ours = parse(&Bytes::from(data.clone())).is_ok();
            let theirs = serde_json::from_str::<serde::de::IgnoredAny>(&data).is_ok();
            prop_assert_eq!(ours, theirs, "{:?}", data);
        }
    }
}
