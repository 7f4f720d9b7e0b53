#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    ring_fuzz::http_props::conn_chunked(data);
});
