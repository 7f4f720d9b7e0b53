//! The long soak: `cargo run --release -p benches --bin soak -- [requests] [connections]`
//! (default 1,000,000 over 64). Starts http-demo (release) on a free port,
//! sends mixed valid and invalid requests, checks every answer, and compares
//! RSS after the run with RSS after a 10% warm-up (must stay ≤ 1.05×).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[path = "../soak.rs"]
mod soak;

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let total = args.first().copied().unwrap_or(1_000_000);
    let conns = args.get(1).copied().unwrap_or(64);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("root")
        .to_path_buf();
    let ok = Command::new(env!("CARGO"))
        .args(["build", "--release", "-q", "-p", "http-demo"])
        .current_dir(&root)
        .status()
        .expect("cargo");
    assert!(ok.success());
    let mut child = Command::new(root.join("target/release/http-demo"))
        .args(["--addr", "127.0.0.1", "--port", "0", "--threads", "2"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("http-demo");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("banner");
    let port: u16 = line
        .split("127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|p| p.parse().ok())
        .expect("port");
    let warm_n = total / 10;
    let start = std::time::Instant::now();
    let warm = soak::soak(port, conns, 0, warm_n);
    let rss_warm = benches::procfs::rss_kib(child.id());
    let run = soak::soak(port, conns, warm_n, total - warm_n);
    let rss_after = benches::procfs::rss_kib(child.id());
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().expect("wait");
    println!(
        "soak: {} requests over {conns} connections in {:.1} s: {} ok, {} wrong; RSS after warm-up {rss_warm} KiB, after {rss_after} KiB ({:.3}x); exit {status}",
        total,
        start.elapsed().as_secs_f64(),
        warm.ok + run.ok,
        warm.wrong + run.wrong,
        rss_after as f64 / rss_warm.max(1) as f64
    );
    let pass = warm.wrong + run.wrong == 0
        && rss_after as f64 <= 1.05 * rss_warm as f64
        && status.success();
    std::process::exit(if pass { 0 } else { 1 });
}
