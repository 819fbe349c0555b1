//! The Security grammar (`jwas::grammar::security::parse`), header parsing and classification.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    jwas_fuzz::grammar_target(jwas::LogType::Security, data);
});
