#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| weir_fuzz::parse("vpc_flow", data));
