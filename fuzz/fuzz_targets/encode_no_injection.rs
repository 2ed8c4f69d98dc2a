//! `encode_no_injection`: see `ssekit_testkit::encode_no_injection` for the input layout and the properties.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ssekit_testkit::encode_no_injection(data));
