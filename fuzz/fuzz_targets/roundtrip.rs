//! `roundtrip`: see `ssekit_testkit::roundtrip` for the input layout and the properties.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ssekit_testkit::roundtrip(data));
