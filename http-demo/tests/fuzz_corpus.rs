//! Replays the checked-in fuzz corpora of the HTTP targets through the very
//! property functions the fuzz targets call, so a regression fails
//! `cargo test` even where cargo-fuzz is not installed.

#[path = "../../fuzz/src/http_props.rs"]
mod http_props;

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut count = 0;
    for dir in [
        root.join("corpus").join(target),
        root.join("regressions").join(target),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            eprintln!("replaying {}", path.display());
            check(&data);
            count += 1;
        }
    }
    assert!(count > 0, "no corpus for {target}");
}

#[test]
fn parse_request_corpus() {
    replay("parse_request", http_props::parse_request);
}

#[test]
fn conn_chunked_corpus() {
    replay("conn_chunked", http_props::conn_chunked);
}
