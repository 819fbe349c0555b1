//! Per-event work is linear in the event's size: a fragment repeated into a 1 MiB event
//! (see `jwas_fuzz::linear_target`), run with `-timeout=20`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    jwas_fuzz::linear_target(data);
});
