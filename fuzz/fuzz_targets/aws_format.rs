#![no_main]
//! Every format of the registry: the input is `<format name>\n<data>` (see `weir_fuzz::parse_named`),
//! so one target covers each registered format, new ones included, and the fuzzer moves between them.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = weir_fuzz::parse_named(data);
});
