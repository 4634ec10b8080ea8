#![no_main]
//! The streaming splitter must never panic, whatever the bytes and wherever chunks are cut; and the
//! records it emits must not depend on where the input was cut.
use weir_core::framing::json_records::{RecordsSplitter, SplitterConfig};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let cut = data.first().map_or(1, |b| *b as usize % 17 + 1);
    let mut whole = RecordsSplitter::new(SplitterConfig::default());
    let mut expected = Vec::new();
    let mut whole_result = whole.push(data, &mut expected);
    if whole_result.is_ok() {
        whole_result = whole.finish();
    }
    let mut pieces = RecordsSplitter::new(SplitterConfig::default());
    let mut got = Vec::new();
    let mut result = Ok(());
    for chunk in data.chunks(cut) {
        result = pieces.push(chunk, &mut got);
        if result.is_err() {
            break;
        }
    }
    if result.is_ok() {
        result = pieces.finish();
    }
    if whole_result.is_ok() && result.is_ok() {
        assert_eq!(expected, got);
    }
});
