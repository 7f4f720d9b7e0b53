#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    ring_fuzz::owned_drop::owned_drop(data);
});
