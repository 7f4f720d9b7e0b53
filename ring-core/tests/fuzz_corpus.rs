//! Replays the checked-in fuzz corpora of the ring targets, on the real
//! kernel, through the property functions the fuzz targets call.

#[path = "../../fuzz/src/ring_props.rs"]
mod ring_props;

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
fn ring_ops_corpus() {
    replay("ring_ops", ring_props::ring_ops);
}

#[test]
fn buf_ring_corpus() {
    replay("buf_ring", ring_props::buf_ring);
}

#[test]
fn owned_drop_corpus() {
    replay("owned_drop", ring_props::owned_drop);
}
