//! Shared bodies of the fuzz targets.

use bytes::Bytes;
use weir_aws::formats::registry::{self, Format};

/// `<format name>\n<data>`: `data` fed to the named format's parser (see [`parse`]). An unknown
/// name picks a format by the name's length, so every input exercises some parser.
pub fn parse_named(input: &[u8]) -> Option<()> {
    let newline = input.iter().position(|b| *b == b'\n')?;
    let (name, data) = (input.get(..newline)?, input.get(newline + 1..)?);
    let format = std::str::from_utf8(name)
        .ok()
        .and_then(registry::find)
        .or_else(|| registry::FORMATS.get(name.len() % registry::FORMATS.len()))?;
    parse(format, data);
    Some(())
}

/// Feeds `data` to a fresh parser of `format`, whole and then line by line (so header lines set up
/// per-stream state before the records after them). Panics are the only failure.
pub fn parse(format: &Format, data: &[u8]) {
    let mut out = Vec::new();
    let mut parser = (format.new_parser)();
    let _ = parser.parse(&Bytes::copy_from_slice(data), &mut out);
    let mut parser = (format.new_parser)();
    let whole = Bytes::copy_from_slice(data);
    for line in whole.split(|b| *b == b'\n') {
        out.clear();
        let _ = parser.parse(&whole.slice_ref(line), &mut out);
    }
}
