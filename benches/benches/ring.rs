//! Ring micro-benchmarks: ring-core against the `io-uring` crate, liburing
//! and the limit ring (a minimal hand-written C ring on raw syscalls, the
//! floor), in the same run, alternating rounds, best of N.
//!
//! `cargo bench -p benches --bench ring` (env: `RING_BENCH_SECS`, default 1,
//! per measurement; `RING_BENCH_ROUNDS`, default 5). With valgrind installed
//! it also counts user-space instructions per NOP (callgrind, exact).

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use benches::rings::{make, RingBench, IMPLS};

fn env_f64(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `chunk(first_round, n)` (which does `n` rounds) for `secs` and
/// returns ns per operation.
fn time_it(secs: f64, ops_per_round: u32, mut chunk: impl FnMut(u64, u64)) -> f64 {
    const CHUNK: u64 = 256;
    chunk(0, CHUNK); // warm up
    let budget = Duration::from_secs_f64(secs);
    let start = Instant::now();
    let mut rounds = 0u64;
    while start.elapsed() < budget {
        chunk(rounds, CHUNK);
        rounds += CHUNK;
    }
    start.elapsed().as_nanos() as f64 / (rounds as f64 * f64::from(ops_per_round))
}

struct Scenario {
    name: String,
    batch: u32,
    read: bool,
    defer: bool,
}

fn main() {
    // `cargo bench` passes `--bench`; a filter may follow.
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let secs = env_f64("RING_BENCH_SECS", 1.0);
    let rounds = env_f64("RING_BENCH_ROUNDS", 5.0) as usize;

    let mut scenarios = Vec::new();
    for defer in [false, true] {
        for batch in [1, 8, 32, 128] {
            scenarios.push(Scenario {
                name: format!("nop_b{batch}{}", if defer { "_defer" } else { "" }),
                batch,
                read: false,
                defer,
            });
        }
    }
    for batch in [1, 32] {
        scenarios.push(Scenario {
            name: format!("read4k_b{batch}"),
            batch,
            read: true,
            defer: false,
        });
    }
    scenarios.retain(|s| filter.as_ref().is_none_or(|f| s.name.contains(f.as_str())));

    let available: Vec<&str> = IMPLS
        .iter()
        .copied()
        .filter(|i| make(i, 8).is_some())
        .collect();
    if !available.iter().any(|i| i.starts_with("liburing")) {
        println!("note: liburing peer skipped (install liburing-dev and rebuild)");
    }
    if !available.iter().any(|i| i.starts_with("limit")) {
        println!("note: limit ring skipped (it needs a C compiler and linux/io_uring.h)");
    }
    // A page-cached 1 MiB file for the read scenarios.
    let path = std::env::temp_dir().join(format!("ring-bench-{}", std::process::id()));
    std::fs::write(&path, vec![7u8; 1 << 20]).expect("bench file");
    let file = std::fs::File::open(&path).expect("bench file");
    let mut buf = vec![0u8; 128 * 4096];

    println!("ring benchmark: {secs} s per measurement, best of {rounds} alternating rounds, ns per operation");
    let mut results: BTreeMap<(String, String), f64> = BTreeMap::new();
    for sc in &scenarios {
        let impls: Vec<&str> = available
            .iter()
            .copied()
            .filter(|i| i.contains("defer") == sc.defer)
            .collect();
        let mut rings: Vec<(&str, Box<dyn RingBench>)> = impls
            .iter()
            .map(|&i| {
                (
                    i,
                    make(i, sc.batch.next_power_of_two().max(8)).expect("available"),
                )
            })
            .collect();
        for _ in 0..rounds {
            for (name, ring) in rings.iter_mut() {
                let ns = if sc.read {
                    time_it(secs, sc.batch, |first, n| {
                        for i in first..first + n {
                            ring.read_round(&file, &mut buf, sc.batch, i * u64::from(sc.batch));
                        }
                    })
                } else {
                    time_it(secs, sc.batch, |_, n| ring.nop_rounds(sc.batch, n))
                };
                let e = results
                    .entry((sc.name.clone(), name.to_string()))
                    .or_insert(f64::MAX);
                *e = e.min(ns);
            }
        }
        print!("{:<14}", sc.name);
        for (name, _) in &rings {
            print!(
                "  {name}: {:>7.1}",
                results[&(sc.name.clone(), name.to_string())]
            );
        }
        println!();
    }
    let _ = std::fs::remove_file(&path);

    println!();
    print_ratios(&scenarios, &results);

    count_instructions(&available);
}

/// The ratio lines: ring-core against each peer, the owned tier against
/// the raw one, and every implementation against the limit ring (the floor).
fn print_ratios(scenarios: &[Scenario], results: &BTreeMap<(String, String), f64>) {
    for sc in scenarios {
        let (ours, limit) = if sc.defer {
            ("ring-core+defer+regfd", "limit+defer+regfd")
        } else {
            ("ring-core", "limit")
        };
        let get = |imp: &str| results.get(&(sc.name.clone(), imp.to_string())).copied();
        let row: Vec<(&str, f64)> = results
            .range((sc.name.clone(), String::new())..)
            .take_while(|(key, _)| key.0 == sc.name)
            .map(|(key, &ns)| (key.1.as_str(), ns))
            .collect();
        if let Some(mine) = get(ours) {
            for &(name, theirs) in &row {
                if name == ours || name.starts_with("limit") {
                    continue;
                }
                if name.starts_with("ring-core-owned") {
                    // The safe tier is compared with the raw tier: owned / raw.
                    println!(
                        "ratio {} ns_per_op {name}/{ours} = {:.3}",
                        sc.name,
                        theirs / mine
                    );
                } else {
                    println!(
                        "ratio {} ns_per_op {ours}/{name} = {:.3}",
                        sc.name,
                        mine / theirs
                    );
                }
            }
        }
        if let Some(floor) = get(limit) {
            for &(name, ns) in &row {
                if name != limit {
                    println!(
                        "ratio {} ns_per_op {name}/{limit} = {:.3}",
                        sc.name,
                        ns / floor
                    );
                }
            }
        }
    }
}

/// User-space instructions per NOP at B = 32 and 128: callgrind on the `nop`
/// binary at two round counts, the difference divided by the extra NOPs (so
/// setup cost cancels out).
fn count_instructions(available: &[&str]) {
    let exe = env!("CARGO_BIN_EXE_nop");
    let has_valgrind = Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_valgrind {
        println!(
            "note: valgrind not installed: instruction counts skipped (apt-get install valgrind)"
        );
        return;
    }
    println!();
    for batch in [32u32, 128] {
        for &imp in available.iter().filter(|i| !i.contains("defer")) {
            let count = |rounds: u64| -> Option<u64> {
                let out = Command::new("valgrind")
                    .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
                    .arg(exe)
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
            };
            let (r1, r2) = (2_000u64, 4_000u64);
            match (count(r1), count(r2)) {
                (Some(a), Some(b)) => {
                    let per = (b.saturating_sub(a)) as f64 / ((r2 - r1) as f64 * f64::from(batch));
                    println!("instructions per NOP (B={batch}) {imp}: {per:.1}");
                }
                _ => println!("instructions per NOP (B={batch}) {imp}: callgrind failed"),
            }
        }
    }
}
