#![cfg_attr(fuzzing, no_main)]
//! Fuzz target `aws_parse_auto`: the body is [`weir_fuzz::aws_parse_auto`] (see its docs). Built without `cargo fuzz`,
//! the binary runs that body over the files named on its command line (a crash replayer).

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| weir_fuzz::aws_parse_auto(data));

#[cfg(not(fuzzing))]
fn main() {
    weir_fuzz::replay(weir_fuzz::aws_parse_auto);
}
