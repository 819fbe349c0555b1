//! The Postgres grammar (`jwas::grammar::postgres::parse`), header parsing and classification.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    jwas_fuzz::grammar_target(jwas::LogType::Postgres, data);
});
