//! See `talkback_fuzz::handler` for the ops and what this target asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| talkback_fuzz::handler::check(data));
