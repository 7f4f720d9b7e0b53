//! Replays a target's checked-in seeds and regressions through its property
//! function. Included by path from the main workspace's tests (ring-core and
//! http-demo, both one level below the root, next to `fuzz/`).

use std::path::Path;

/// Runs `check` on every file of `fuzz/corpus/<target>` and
/// `fuzz/regressions/<target>`; fails if there is none.
pub fn replay(target: &str, check: fn(&[u8])) {
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
