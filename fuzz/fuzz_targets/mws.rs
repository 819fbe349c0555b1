//! The Mws grammar (`jwas::grammar::mws::parse`), header parsing and classification.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    jwas_fuzz::grammar_target(jwas::LogType::Mws, data);
});
