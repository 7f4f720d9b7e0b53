//! Builds the liburing peer when liburing's headers are installed
//! (`apt-get install liburing-dev`); otherwise the benchmark skips it with a
//! printed note.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=c/liburing_peer.c");
    println!("cargo:rustc-check-cfg=cfg(has_liburing)");
    if !Path::new("/usr/include/liburing.h").exists() {
        println!("cargo:warning=liburing headers not found: the liburing peer is skipped (apt-get install liburing-dev)");
        return;
    }
    let out = std::env::var("OUT_DIR").expect("OUT_DIR");
    let obj = Path::new(&out).join("liburing_peer.o");
    let lib = Path::new(&out).join("libliburing_peer.a");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let ok = Command::new(&cc)
        .args(["-O2", "-fPIC", "-c", "c/liburing_peer.c", "-o"])
        .arg(&obj)
        .status()
        .is_ok_and(|s| s.success())
        && Command::new("ar")
            .arg("rcs")
            .arg(&lib)
            .arg(&obj)
            .status()
            .is_ok_and(|s| s.success());
    if !ok {
        println!("cargo:warning=building the liburing peer failed: it is skipped");
        return;
    }
    println!("cargo:rustc-link-search=native={out}");
    println!("cargo:rustc-link-lib=static=liburing_peer");
    println!("cargo:rustc-link-lib=uring");
    println!("cargo:rustc-cfg=has_liburing");
}
