//! Field specs of the positional formats and the records they fill: [`parse_spaced`] converts
//! each field per its [`Kind`] into a slot of a [`Layout`] shared by all records of a format.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use vrl::value::{KeyString, Value};

use weir_core::fields::{Record, Schema};

use super::{
    decoded_value, excerpt, is_absent, parse_clf_time, parse_float, parse_int, parse_iso8601,
    slice, split_host_port, split_request, Span, Tokenizer, UNPARSED_TRAILING,
};
use crate::formats::ParseError;

/// How a space-delimited field is turned into output fields (see [`parse_spaced`]).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Kind {
    /// A string, zero-copy.
    Str,
    /// An `i64`.
    Int,
    /// A finite `f64`.
    Float,
    /// An ISO-8601 time.
    Time,
    /// A bracketed CLF time (`[06/Feb/2019:00:00:38 +0000]`).
    BracketTime,
    /// `addr:port`, split into an address string and an integer port under the given names.
    Endpoint {
        ip: &'static str,
        port: &'static str,
    },
    /// An HTTP request line: kept raw under the field name and split into method, URL, protocol.
    Request {
        method: &'static str,
        url: &'static str,
        protocol: &'static str,
    },
    /// A space-separated list of strings.
    StrList,
    /// A space-separated list of integers (`-` elements become null).
    IntList,
    /// A comma-separated list of double-quoted strings (`"h2","http/1.1"`).
    QuotedCommaList,
    /// A URL-encoded string (`%XX`, `+` as space), decoded.
    UrlDecoded,
}

/// One positional field of a space-delimited format.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FieldSpec {
    /// Output name (AWS's name in snake_case).
    pub name: &'static str,
    /// How to convert it.
    pub kind: Kind,
}

/// Shorthand for a [`FieldSpec`].
pub(crate) const fn spec(name: &'static str, kind: Kind) -> FieldSpec {
    FieldSpec { name, kind }
}

/// Error for a field value that does not convert.
pub(crate) fn bad_value(
    format: &'static str,
    field: &str,
    span: Span,
    record: &[u8],
    what: &str,
) -> ParseError {
    ParseError::new(
        format,
        field,
        span.start,
        format!("expected {what}, found `{}`", excerpt(span.bytes(record))),
    )
}

/// The output fields of a positional format, precomputed once: every spec's output slots and the
/// layout (schema) they fill.
#[derive(Debug)]
pub(crate) struct SpecLayout {
    specs: &'static [FieldSpec],
    /// Per spec, the slots of its outputs: name (or address), port/method, URL, protocol.
    slots: Vec<[usize; 4]>,
    trailing: usize,
    pub(super) layout: Layout,
}

impl SpecLayout {
    /// The layout of `specs`, for records of `log_type`.
    pub(crate) fn new(specs: &'static [FieldSpec], log_type: &'static str) -> Self {
        let mut keys: Vec<&'static str> = Vec::new();
        let mut slots = Vec::with_capacity(specs.len());
        let mut add = |k: &'static str| {
            keys.push(k);
            keys.len() - 1
        };
        for spec in specs {
            let s = match spec.kind {
                Kind::Endpoint { ip, port } => [add(ip), add(port), usize::MAX, usize::MAX],
                Kind::Request {
                    method,
                    url,
                    protocol,
                } => [add(spec.name), add(method), add(url), add(protocol)],
                _ => [add(spec.name), usize::MAX, usize::MAX, usize::MAX],
            };
            slots.push(s);
        }
        let trailing = add(UNPARSED_TRAILING);
        Self {
            specs,
            slots,
            trailing,
            layout: Layout::new(keys.into_iter().map(KeyString::from).collect(), log_type),
        }
    }
}

/// Where one spec's outputs go.
pub(crate) struct SpecOut<'a, 'l> {
    vals: &'a mut Slots<'l>,
    slots: [usize; 4],
}

impl SpecOut<'_, '_> {
    /// Sets output `i` of the spec (0: name or address, 1: port or method, 2: URL, 3: protocol).
    #[inline]
    fn set(&mut self, i: usize, value: Value) {
        if let Some(&slot) = self.slots.get(i) {
            self.vals.set(slot, value);
        }
    }
}

/// Output keys in production order and the shared [`Schema`] of the records built from them:
/// a record is its values, each written to its schema position; the names are not copied per record, and
/// `aws` (`{"log_type": …}`, the same in every record) is a constant of the schema.
#[derive(Clone, Debug)]
pub(crate) struct Layout {
    pub(super) schema: Arc<Schema>,
    /// Per slot, the position of its key in the schema.
    pub(super) positions: Vec<usize>,
}

impl Layout {
    /// A layout for keys produced in this order (slot `i` holds the value of `keys[i]`), for
    /// records of `log_type`.
    pub(crate) fn new(keys: Vec<KeyString>, log_type: &'static str) -> Self {
        let schema = Schema::new(keys.clone()).with_constant(
            KeyString::from(crate::formats::AWS),
            crate::formats::log_type_value(log_type),
        );
        let positions = keys
            .iter()
            .map(|k| schema.position(k.as_str()).unwrap_or(usize::MAX))
            .collect();
        Self {
            schema: Arc::new(schema),
            positions,
        }
    }

    /// An empty record to fill slot by slot.
    pub(crate) fn slots(&self) -> Slots<'_> {
        Slots {
            layout: self,
            values: vec![None; self.schema.keys().len()],
        }
    }
}

/// A record being filled by slot (production order), each value written straight to its schema
/// position. Of slots with the same key, the last one set wins.
pub(crate) struct Slots<'a> {
    layout: &'a Layout,
    values: Vec<Option<Value>>,
}

impl Slots<'_> {
    /// Sets slot `slot`.
    #[inline]
    pub(crate) fn set(&mut self, slot: usize, value: Value) {
        let position = self.layout.positions.get(slot);
        if let Some(target) = position.and_then(|&p| self.values.get_mut(p)) {
            *target = Some(value);
        }
    }

    /// The filled record.
    pub(crate) fn into_record(self) -> Record {
        Record::new(Arc::clone(&self.layout.schema), self.values)
    }
}

/// Parses a space-delimited record field by field against `layout`'s specs. The record must
/// have at least `mandatory` fields; later fields may be missing (older records); fields past
/// the specs go to [`UNPARSED_TRAILING`].
pub(crate) fn parse_spaced(
    format: &'static str,
    layout: &SpecLayout,
    mandatory: usize,
    record: &Bytes,
) -> Result<Record, ParseError> {
    let mut vals = layout.layout.slots();
    let mut tok = Tokenizer::new(record);
    for (i, (spec, slots)) in layout.specs.iter().zip(&layout.slots).enumerate() {
        let next = if matches!(spec.kind, Kind::BracketTime) {
            tok.next_bracketed()
        } else {
            tok.next_field()
        };
        match next {
            Ok(Some(span)) => {
                let mut out = SpecOut {
                    vals: &mut vals,
                    slots: *slots,
                };
                apply(format, spec, record, span, &mut out)?;
            }
            Ok(None) if i < mandatory => {
                let message = if i == 0 {
                    "empty record".to_owned()
                } else {
                    format!("record ends after {i} fields, at least {mandatory} are required")
                };
                return Err(ParseError::new(format, spec.name, tok.end(), message));
            }
            Ok(None) => return Ok(vals.into_record()),
            Err(e) => return Err(ParseError::new(format, spec.name, e.offset, e.message)),
        }
    }
    if let Some(trailing) = collect_trailing(&mut tok, record) {
        vals.set(layout.trailing, trailing);
    }
    Ok(vals.into_record())
}

/// The remaining fields of `tok` as an array value for [`UNPARSED_TRAILING`] (`None` if there
/// are none). A field that cannot be delimited ends the list with the raw rest of the record:
/// never an error.
pub(crate) fn collect_trailing(tok: &mut Tokenizer<'_>, record: &Bytes) -> Option<Value> {
    let mut trailing = Vec::new();
    loop {
        let mut probe = tok.clone();
        match probe.next_field() {
            Ok(Some(span)) => {
                trailing.push(Value::Bytes(slice(record, span)));
                *tok = probe;
            }
            Ok(None) => break,
            Err(_) => {
                trailing.push(Value::Bytes(slice(record, tok.take_rest())));
                break;
            }
        }
    }
    (!trailing.is_empty()).then_some(Value::Array(trailing))
}

fn int_value(
    format: &'static str,
    field: &str,
    span: Span,
    record: &[u8],
) -> Result<Value, ParseError> {
    parse_int(span.bytes(record))
        .map(Value::Integer)
        .ok_or_else(|| bad_value(format, field, span, record, "an integer"))
}

/// Converts one field per its [`Kind`] and inserts the result.
fn apply(
    format: &'static str,
    spec: &FieldSpec,
    record: &Bytes,
    span: Span,
    out: &mut SpecOut<'_, '_>,
) -> Result<(), ParseError> {
    let raw = span.bytes(record);
    if is_absent(raw) {
        return Ok(());
    }
    let name = spec.name;
    match spec.kind {
        Kind::Str => out.set(0, Value::Bytes(slice(record, span))),
        Kind::Int => out.set(0, int_value(format, name, span, record)?),
        Kind::Float => {
            let f = parse_float(raw)
                .ok_or_else(|| bad_value(format, name, span, record, "a number"))?;
            out.set(0, Value::Float(f));
        }
        Kind::Time => {
            let t = parse_iso8601(raw)
                .ok_or_else(|| bad_value(format, name, span, record, "an ISO-8601 time"))?;
            out.set(0, Value::Timestamp(t));
        }
        Kind::BracketTime => {
            let t = parse_clf_time(raw).ok_or_else(|| {
                bad_value(
                    format,
                    name,
                    span,
                    record,
                    "a time like [06/Feb/2019:00:00:38 +0000]",
                )
            })?;
            out.set(0, Value::Timestamp(t));
        }
        Kind::Endpoint { port, .. } => endpoint(format, port, record, span, out)?,
        Kind::Request { .. } => request(record, span, out),
        Kind::StrList => out.set(
            0,
            list(record, span, |item| Ok(Value::Bytes(slice(record, item))))?,
        ),
        Kind::IntList => {
            let int = |item: Span| {
                if is_absent(item.bytes(record)) {
                    Ok(Value::Null)
                } else {
                    int_value(format, name, item, record)
                }
            };
            out.set(0, list(record, span, int)?);
        }
        Kind::QuotedCommaList => out.set(0, quoted_comma_list(record, span)),
        Kind::UrlDecoded => out.set(0, decoded_value(record, span, true)),
    }
    Ok(())
}

/// The part `r` (relative to `span`'s start) of a field, as a span of the record.
#[inline]
fn within(span: Span, r: Range<usize>) -> Span {
    Span {
        start: span.start + r.start,
        end: span.start + r.end,
        quoted: false,
    }
}

/// `addr:port`: the address string and the integer port (named `port`), each unless absent.
#[inline]
fn endpoint(
    format: &'static str,
    port: &'static str,
    record: &Bytes,
    span: Span,
    out: &mut SpecOut<'_, '_>,
) -> Result<(), ParseError> {
    let (addr, port_range) = split_host_port(span.bytes(record));
    let addr = within(span, addr);
    if !is_absent(addr.bytes(record)) {
        out.set(0, Value::Bytes(slice(record, addr)));
    }
    if let Some(p) = port_range.map(|r| within(span, r)) {
        if !is_absent(p.bytes(record)) {
            out.set(1, int_value(format, port, p, record)?);
        }
    }
    Ok(())
}

/// An HTTP request line: kept whole, and split into method, URL and protocol.
#[inline]
fn request(record: &Bytes, span: Span, out: &mut SpecOut<'_, '_>) {
    let raw = span.bytes(record);
    // `"- - - "` (TCP listeners) carries no request at all.
    if raw.iter().all(|&b| b == b'-' || b == b' ') {
        return;
    }
    out.set(0, Value::Bytes(slice(record, span)));
    for (slot, part) in (1..).zip(split_request(raw)) {
        if let Some(r) = part {
            let part = within(span, r);
            if !is_absent(part.bytes(record)) {
                out.set(slot, Value::Bytes(slice(record, part)));
            }
        }
    }
}

/// A space-separated list, each item converted by `item`.
#[inline]
fn list(
    record: &Bytes,
    span: Span,
    mut item: impl FnMut(Span) -> Result<Value, ParseError>,
) -> Result<Value, ParseError> {
    let mut items = Vec::new();
    let mut tok = Tokenizer::new(span.bytes(record));
    while let Ok(Some(part)) = tok.next_field() {
        items.push(item(within(span, part.range()))?);
    }
    Ok(Value::Array(items))
}

/// A comma-separated list of (usually double-quoted) strings, each unquoted.
#[inline]
fn quoted_comma_list(record: &Bytes, span: Span) -> Value {
    // Put back the outer quotes the tokenizer removed (`"h2","http/1.1"`), then split on
    // commas and unquote each element; unquoted lists (`h2,http/1.1`) work the same way.
    let whole = if span.quoted {
        Span {
            start: span.start.saturating_sub(1),
            end: span.end + 1,
            quoted: false,
        }
    } else {
        span
    };
    let mut items = Vec::new();
    let mut s = whole.start;
    for part in whole.bytes(record).split(|&b| b == b',') {
        let item = strip_quotes(
            Span {
                start: s,
                end: s + part.len(),
                quoted: false,
            },
            record,
        );
        items.push(Value::Bytes(slice(record, item)));
        s += part.len() + 1;
    }
    Value::Array(items)
}

/// Removes one pair of surrounding double quotes, if present.
fn strip_quotes(mut span: Span, record: &[u8]) -> Span {
    let b = span.bytes(record);
    if b.len() >= 2 && b.first() == Some(&b'"') && b.last() == Some(&b'"') {
        span.start += 1;
        span.end -= 1;
    }
    span
}
