#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    ring_fuzz::ring_props::owned_drop(data);
});
