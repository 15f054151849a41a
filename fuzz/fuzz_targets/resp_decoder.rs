//! See `talkback_fuzz::resp` for what this target feeds and asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| talkback_fuzz::resp::check(data));
