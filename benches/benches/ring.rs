//! Ring micro-benchmarks: ring-core against the `io-uring` crate, liburing
//! and the limit ring (a minimal hand-written C ring on raw syscalls, the
//! floor), in the same run, alternating rounds, best of N.
//!
//! `cargo bench -p benches --bench ring` (env: `RING_BENCH_SECS`, default 1,
//! per measurement; `RING_BENCH_ROUNDS`, default 5; `RING_BENCH_CLOCK=cpu`
//! times with the thread's CPU time, user and kernel, instead of the wall
//! clock, so that time the thread spends preempted by other work on a
//! shared machine is not counted; `RING_BENCH_SKETCHES=1` adds the floor
//! sketch, `benches/src/rings/floor.rs`, to the default-setup scenarios).
//! With valgrind installed
//! it also counts user-space instructions per NOP (callgrind, exact).
//! `-- --docs` writes the results into docs/benchmarks.md (between the
//! `ring-bench` markers); `-- <filter>` runs the scenarios whose name
//! contains it.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use benches::rings::{make, RingBench, IMPLS, SKETCHES};

fn env_f64(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What a measurement is timed with.
#[derive(Clone, Copy, PartialEq)]
enum Clock {
    Wall,
    /// The calling thread's CPU time (user and kernel).
    ThreadCpu,
}

impl Clock {
    fn now(self) -> Duration {
        match self {
            Clock::Wall => {
                static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
                START.get_or_init(Instant::now).elapsed()
            }
            Clock::ThreadCpu => {
                let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
                Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
            }
        }
    }
}

/// Runs `chunk(first_round, n)` (which does `n` rounds) for `secs` of
/// `clock` and returns ns per operation.
fn time_it(clock: Clock, secs: f64, ops_per_round: u32, mut chunk: impl FnMut(u64, u64)) -> f64 {
    const CHUNK: u64 = 256;
    chunk(0, CHUNK); // warm up
    let budget = Duration::from_secs_f64(secs);
    let start = clock.now();
    let mut rounds = 0u64;
    while clock.now() - start < budget {
        chunk(rounds, CHUNK);
        rounds += CHUNK;
    }
    (clock.now() - start).as_nanos() as f64 / (rounds as f64 * f64::from(ops_per_round))
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
    let docs = std::env::args().any(|a| a == "--docs");
    let secs = env_f64("RING_BENCH_SECS", 1.0);
    let rounds = env_f64("RING_BENCH_ROUNDS", 5.0) as usize;
    let clock = match std::env::var("RING_BENCH_CLOCK").as_deref() {
        Ok("cpu") => Clock::ThreadCpu,
        Ok("wall") | Err(_) => Clock::Wall,
        Ok(other) => {
            eprintln!("RING_BENCH_CLOCK={other}: expected `wall` (the default) or `cpu`");
            std::process::exit(2);
        }
    };

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

    // The sketches join only when asked: they are no product.
    let sketches: &[&str] = if std::env::var_os("RING_BENCH_SKETCHES").is_some() {
        SKETCHES
    } else {
        &[]
    };
    let available: Vec<&str> = IMPLS
        .iter()
        .chain(sketches)
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

    let clock_name = match clock {
        Clock::Wall => "wall-clock",
        Clock::ThreadCpu => "thread CPU time (RING_BENCH_CLOCK=cpu)",
    };
    println!("ring benchmark: {secs} s of {clock_name} per measurement, best of {rounds} alternating rounds, ns per operation");
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
                    time_it(clock, secs, sc.batch, |first, n| {
                        for i in first..first + n {
                            ring.read_round(&file, &mut buf, sc.batch, i * u64::from(sc.batch));
                        }
                    })
                } else {
                    time_it(clock, secs, sc.batch, |_, n| ring.nop_rounds(sc.batch, n))
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
    let ratios = ratios(&scenarios, &results);
    print!("{ratios}");

    let instructions = count_instructions(&available);
    if docs {
        let table = table(&scenarios, &results, &available);
        let counts = instruction_table(&instructions, &available);
        write_docs(&table, &counts, &ratios, secs, rounds, clock_name);
    }
}

/// The column an implementation's result goes in: the `defer` variants
/// share their default variant's column.
fn column(imp: &str) -> &str {
    imp.split('+').next().unwrap_or(imp)
}

/// The implementations that name a column (the default variants).
fn columns<'a>(available: &[&'a str]) -> Vec<&'a str> {
    available
        .iter()
        .copied()
        .filter(|i| !i.contains('+'))
        .collect()
}

/// ns per operation, one row per scenario, with the limit ratios of the
/// raw and the typed owned ring.
fn table(
    scenarios: &[Scenario],
    results: &BTreeMap<(String, String), f64>,
    available: &[&str],
) -> String {
    let columns = columns(available);
    let mut t = format!(
        "| scenario | {} | ring-core / limit | owned / limit |\n|---|{}---:|---:|\n",
        columns.join(" | "),
        "---:|".repeat(columns.len())
    );
    for sc in scenarios {
        let get = |col: &str| {
            results
                .iter()
                .find(|((s, imp), _)| *s == sc.name && column(imp) == col)
                .map(|(_, &ns)| ns)
        };
        t.push_str(&format!("| {} |", sc.name));
        for col in &columns {
            match get(col) {
                Some(ns) => t.push_str(&format!(" {ns:.1} |")),
                None => t.push_str(" |"),
            }
        }
        for ours in ["ring-core", "ring-core-owned"] {
            match (get(ours), get("limit")) {
                (Some(a), Some(b)) => t.push_str(&format!(" {:.3} |", a / b)),
                _ => t.push_str(" |"),
            }
        }
        t.push('\n');
    }
    t
}

/// Instructions per NOP, one row per batch size.
fn instruction_table(counts: &BTreeMap<(u32, String), f64>, available: &[&str]) -> String {
    if counts.is_empty() {
        return "(valgrind not installed: no instruction counts)\n".into();
    }
    let columns = columns(available);
    let mut t = format!(
        "| user-space instructions per NOP | {} |\n|---|{}\n",
        columns.join(" | "),
        "---:|".repeat(columns.len())
    );
    for batch in [32u32, 128] {
        t.push_str(&format!("| B={batch} |"));
        for col in &columns {
            match counts.get(&(batch, col.to_string())) {
                Some(n) => t.push_str(&format!(" {n:.1} |")),
                None => t.push_str(" |"),
            }
        }
        t.push('\n');
    }
    t
}

/// Replaces the section between the `ring-bench` markers of
/// docs/benchmarks.md.
fn write_docs(table: &str, counts: &str, ratios: &str, secs: f64, rounds: usize, clock: &str) {
    use benches::docs;
    let body = format!(
        "Run of {date} (commit {commit}): {machine}; best of {rounds} alternating rounds of {secs} s \
         ({clock}), ns per operation. The `_defer` rows are the `+defer+regfd` variants (the io-uring crate's is `+defer`, \
         without a registered fd).\n\n{table}\n{counts}\n<details><summary>every ratio of this run</summary>\n\n\
         ```text\n{ratios}```\n\n</details>\n",
        date = docs::today(),
        commit = docs::commit(),
        machine = docs::machine(),
    );
    docs::replace_section(
        "ring-bench",
        "cargo bench -p benches --bench ring -- --docs",
        &body,
    );
}

/// The ratio lines: ring-core against each peer, the owned tier against
/// the raw one, and every implementation against the limit ring (the floor).
fn ratios(scenarios: &[Scenario], results: &BTreeMap<(String, String), f64>) -> String {
    use std::fmt::Write;
    let mut out = String::new();
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
                    writeln!(
                        out,
                        "ratio {} ns_per_op {name}/{ours} = {:.3}",
                        sc.name,
                        theirs / mine
                    )
                    .expect("writing to a String");
                } else {
                    writeln!(
                        out,
                        "ratio {} ns_per_op {ours}/{name} = {:.3}",
                        sc.name,
                        mine / theirs
                    )
                    .expect("writing to a String");
                }
            }
        }
        if let Some(floor) = get(limit) {
            for &(name, ns) in &row {
                if name != limit {
                    writeln!(
                        out,
                        "ratio {} ns_per_op {name}/{limit} = {:.3}",
                        sc.name,
                        ns / floor
                    )
                    .expect("writing to a String");
                }
            }
        }
    }
    out
}

/// User-space instructions per NOP at B = 32 and 128: callgrind on the `nop`
/// binary at two round counts, the difference divided by the extra NOPs (so
/// setup cost cancels out).
fn count_instructions(available: &[&str]) -> BTreeMap<(u32, String), f64> {
    let mut counts = BTreeMap::new();
    let exe = env!("CARGO_BIN_EXE_nop");
    let has_valgrind = Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_valgrind {
        println!(
            "note: valgrind not installed: instruction counts skipped (apt-get install valgrind)"
        );
        return counts;
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
                    counts.insert((batch, imp.to_string()), per);
                }
                _ => println!("instructions per NOP (B={batch}) {imp}: callgrind failed"),
            }
        }
    }
    counts
}
