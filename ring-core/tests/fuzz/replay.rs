//! Replays a fuzz target's checked-in seeds and regressions through its
//! property function. Included by path from the corpus tests of ring-core
//! and http-demo (both one level below the repository root, next to
//! `fuzz/`, where the corpora live).

use std::path::PathBuf;

/// Runs `check` on every file of `fuzz/corpus/<target>` and
/// `fuzz/regressions/<target>`; fails if there is none.
///
/// A packaged copy of the crate (what `cargo package` builds and crates.io
/// ships, recognisable by the `Cargo.toml.orig` cargo writes into it) has no
/// `fuzz/` beside it: there the replay is skipped, with a message. In the
/// repository a missing corpus fails the test.
pub fn replay(target: &str, check: fn(&[u8])) {
    // Where the package is now (cargo sets it when it runs a test), not where
    // it was compiled: a test binary can outlive an unpacked copy's path.
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    if manifest_dir.join("Cargo.toml.orig").exists() {
        eprintln!(
            "skipped: {target}'s corpus is in the repository's fuzz/ directory, \
             which a packaged crate does not include"
        );
        return;
    }
    let root = manifest_dir.join("../fuzz");
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
