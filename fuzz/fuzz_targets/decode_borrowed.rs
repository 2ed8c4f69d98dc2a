//! `decode_borrowed`: see `ssekit_testkit::decode_borrowed` for the input layout and the properties.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ssekit_testkit::decode_borrowed(data));
