//! The cost of awaiting a NOP through ring-core's futures (`ring_core::rt`)
//! against the owned tier without futures: batches of B concurrent NOP
//! futures in one task on the built-in runtime, against B NOPs pushed,
//! submitted and reaped on the owned ring (typed, and boxed: the driver
//! boxes every operation, so the boxed ring is its floor).
//!
//! Two measures: user-space instructions per NOP by callgrind (exact: the
//! `rt_nop` binary at two round counts, the difference divided by the
//! extra NOPs), and a short timed run, which on a shared machine is noisy.
//!
//! `cargo bench -p benches --bench rt` (`RT_BENCH_SECS` per timed run,
//! default 0.3).

use std::process::Command;
use std::time::Instant;

const IMPLS: [&str; 3] = ["ring-core-owned", "ring-core-owned-dyn", "rt"];

fn instructions(imp: &str, batch: u32, rounds: u64) -> Option<u64> {
    let out = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(env!("CARGO_BIN_EXE_rt_nop"))
        .args([imp, &batch.to_string(), &rounds.to_string()])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stderr);
    let line = text.lines().find(|l| l.contains("Collected :"))?;
    line.rsplit(':')
        .next()?
        .trim()
        .replace(',', "")
        .parse()
        .ok()
}

/// Nanoseconds per NOP over about `secs` (the `rt_nop` binary, run
/// natively with a round count calibrated from a first short run).
fn timed(imp: &str, batch: u32, secs: f64) -> Option<f64> {
    let run = |rounds: u64| -> Option<f64> {
        let start = Instant::now();
        let ok = Command::new(env!("CARGO_BIN_EXE_rt_nop"))
            .args([imp, &batch.to_string(), &rounds.to_string()])
            .status()
            .ok()?
            .success();
        ok.then(|| start.elapsed().as_secs_f64())
    };
    let probe = 2_000u64;
    let t = run(probe)?;
    let rounds = ((secs / t) * probe as f64).max(probe as f64) as u64;
    let base = run(1)?; // process start and ring setup
    let total = run(rounds)?;
    Some((total - base).max(0.0) * 1e9 / (rounds as f64 * f64::from(batch)))
}

fn main() {
    let secs: f64 = std::env::var("RT_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.3);
    let has_valgrind = Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    println!("awaiting a NOP: ring_core::rt against the owned tier (same run)");
    if has_valgrind {
        println!("\nuser-space instructions per NOP (callgrind, exact):");
        println!("| B | owned (typed) | owned (boxed) | rt | rt / typed | rt / boxed |");
        println!("|---:|---:|---:|---:|---:|---:|");
        for batch in [8u32, 32, 128] {
            let per: Vec<Option<f64>> = IMPLS
                .iter()
                .map(|imp| {
                    let (r1, r2) = (1_000u64, 2_000u64);
                    let (a, b) = (instructions(imp, batch, r1)?, instructions(imp, batch, r2)?);
                    Some(b.saturating_sub(a) as f64 / ((r2 - r1) as f64 * f64::from(batch)))
                })
                .collect();
            match (per[0], per[1], per[2]) {
                (Some(t), Some(b), Some(r)) => println!(
                    "| {batch} | {t:.1} | {b:.1} | {r:.1} | {:.2} | {:.2} |",
                    r / t,
                    r / b
                ),
                _ => println!("| {batch} | callgrind failed |"),
            }
        }
    } else {
        println!("note: valgrind not installed: instruction counts skipped");
    }
    println!("\nns per NOP, timed ({secs} s per run; NOISY on a shared machine):");
    println!("| B | owned (typed) | owned (boxed) | rt | rt / typed | rt / boxed |");
    println!("|---:|---:|---:|---:|---:|---:|");
    for batch in [8u32, 32, 128] {
        let per: Vec<Option<f64>> = IMPLS.iter().map(|imp| timed(imp, batch, secs)).collect();
        match (per[0], per[1], per[2]) {
            (Some(t), Some(b), Some(r)) => println!(
                "| {batch} | {t:.1} | {b:.1} | {r:.1} | {:.2} | {:.2} |",
                r / t,
                r / b
            ),
            _ => println!("| {batch} | run failed |"),
        }
    }
}
