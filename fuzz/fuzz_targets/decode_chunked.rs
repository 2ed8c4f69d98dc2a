//! `decode_chunked`: see `ssekit_testkit::decode_chunked` for the input layout and the properties.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ssekit_testkit::decode_chunked(data));
