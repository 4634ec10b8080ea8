//! Shared bodies of the fuzz targets.

use bytes::Bytes;
use weir_transforms::aws::catalogue;

/// Feeds `data` to a fresh parser of `format`, whole and then line by line (so header lines set up
/// per-stream state before the records after them). Panics are the only failure.
pub fn parse(format: &str, data: &[u8]) {
    let Some(spec) = catalogue::find(format) else {
        panic!("unknown format {format}");
    };
    let mut out = Vec::new();
    let mut parser = (spec.new_parser)();
    let _ = parser.parse(&Bytes::copy_from_slice(data), &mut out);
    let mut parser = (spec.new_parser)();
    let whole = Bytes::copy_from_slice(data);
    for line in whole.split(|b| *b == b'\n') {
        out.clear();
        let _ = parser.parse(&whole.slice_ref(line), &mut out);
    }
}
