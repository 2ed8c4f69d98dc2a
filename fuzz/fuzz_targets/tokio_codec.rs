//! `tokio_codec`: see `ssekit_testkit::tokio_codec` for the input layout and the properties.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ssekit_testkit::tokio_codec(data));
