//! Builds the C peers of the ring benchmark:
//!
//! - the limit ring (`c/limit_ring.c`: raw syscalls, no library), which needs
//!   only the kernel's uapi header `linux/io_uring.h`;
//! - the liburing peer (`c/liburing_peer.c`), when liburing's headers are
//!   installed (`apt-get install liburing-dev`).
//!
//! A peer that cannot be built is skipped by the benchmark with a printed
//! note.

use std::path::Path;
use std::process::Command;

/// Compiles `src` into a static library `lib<name>.a` in `out`; false if
/// the compiler or archiver fails.
fn build_static(out: &str, src: &str, name: &str) -> bool {
    let obj = Path::new(out).join(format!("{name}.o"));
    let lib = Path::new(out).join(format!("lib{name}.a"));
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    Command::new(&cc)
        .args(["-O2", "-fPIC", "-c", src, "-o"])
        .arg(&obj)
        .status()
        .is_ok_and(|s| s.success())
        && Command::new("ar")
            .arg("rcs")
            .arg(&lib)
            .arg(&obj)
            .status()
            .is_ok_and(|s| s.success())
}

fn main() {
    println!("cargo:rerun-if-changed=c/liburing_peer.c");
    println!("cargo:rerun-if-changed=c/limit_ring.c");
    println!("cargo:rustc-check-cfg=cfg(has_liburing)");
    println!("cargo:rustc-check-cfg=cfg(has_limit_ring)");
    let out = std::env::var("OUT_DIR").expect("OUT_DIR");
    println!("cargo:rustc-link-search=native={out}");

    if build_static(&out, "c/limit_ring.c", "limit_ring") {
        println!("cargo:rustc-link-lib=static=limit_ring");
        println!("cargo:rustc-cfg=has_limit_ring");
    } else {
        println!("cargo:warning=building the limit ring failed (needs linux/io_uring.h from linux-libc-dev): it is skipped");
    }

    if !Path::new("/usr/include/liburing.h").exists() {
        println!("cargo:warning=liburing headers not found: the liburing peer is skipped (apt-get install liburing-dev)");
        return;
    }
    if !build_static(&out, "c/liburing_peer.c", "liburing_peer") {
        println!("cargo:warning=building the liburing peer failed: it is skipped");
        return;
    }
    println!("cargo:rustc-link-lib=static=liburing_peer");
    println!("cargo:rustc-link-lib=uring");
    println!("cargo:rustc-cfg=has_liburing");
}
