//! The cost of awaiting a NOP through ring-core's futures (`ring_core::rt`)
//! against the owned tier without futures: batches of B concurrent NOP
//! futures in one task on the built-in runtime, against B NOPs pushed,
//! submitted and reaped on the owned ring (typed, and boxed: the driver
//! boxes every operation, so the boxed ring is its floor). Each owned ring
//! is measured twice: with the default setup, and set up as the runtime
//! sets up its own ring (single issuer, deferred task work, registered
//! ring fd); the ratios that count the futures alone are to the latter.
//!
//! Two measures: user-space instructions per NOP by callgrind (exact: the
//! `rt_nop` binary at two round counts, the difference divided by the
//! extra NOPs), and a short timed run, which on a shared machine is noisy.
//!
//! `cargo bench -p benches --bench rt` (`RT_BENCH_SECS` per timed run,
//! default 0.3; `RT_BENCH_REPS` runs per cell, default 21, interleaved, the
//! median reported: on the 2-core VM the machine's speed moves by up to
//! 30% from one run to the next, so it takes many pairs; about 3 minutes
//! in all). Each repetition also gives one paired ratio of the
//! runtime to the typed ring with its setup, from two runs seconds apart;
//! their median and range are printed last. With `-- --docs` the run's
//! tables replace the `rt-bench` section of docs/benchmarks.md.

use std::process::Command;
use std::time::Instant;

const IMPLS: [&str; 5] = [
    "ring-core-owned",
    "ring-core-owned-dyn",
    "ring-core-owned+runtime-setup",
    "ring-core-owned-dyn+runtime-setup",
    "rt",
];

const HEADER: &str = "| B | typed | boxed | typed, rt setup | boxed, rt setup | rt \
    | rt / typed, rt setup | rt / boxed, rt setup | rt / typed |\n\
    |---:|---:|---:|---:|---:|---:|---:|---:|---:|";

/// One table row from the measures of [`IMPLS`], in order.
fn row(batch: u32, per: &[Option<f64>]) -> String {
    let Some(v) = per.iter().copied().collect::<Option<Vec<f64>>>() else {
        return format!("| {batch} | a run failed |");
    };
    let (typed, boxed, typed_rt, boxed_rt, rt) = (v[0], v[1], v[2], v[3], v[4]);
    format!(
        "| {batch} | {typed:.1} | {boxed:.1} | {typed_rt:.1} | {boxed_rt:.1} | {rt:.1} \
         | {:.2} | {:.2} | {:.2} |",
        rt / typed_rt,
        rt / boxed_rt,
        rt / typed
    )
}

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
    assert_eq!(IMPLS[TYPED_RT], "ring-core-owned+runtime-setup");
    assert_eq!(IMPLS[RT], "rt");
    let secs: f64 = std::env::var("RT_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.3);
    let reps: usize = std::env::var("RT_BENCH_REPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(21)
        .max(1);
    let has_valgrind = Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    // What the run prints, also kept for `--docs`.
    let mut report = benches::docs::Transcript::default();
    report.say(format_args!(
        "awaiting a NOP: ring_core::rt against the owned tier (same run)"
    ));
    if has_valgrind {
        report.say(format_args!(
            "\nuser-space instructions per NOP (callgrind, exact):"
        ));
        report.say(format_args!("\n{HEADER}"));
        for batch in [8u32, 32, 128] {
            let per: Vec<Option<f64>> = IMPLS
                .iter()
                .map(|imp| {
                    let (r1, r2) = (1_000u64, 2_000u64);
                    let (a, b) = (instructions(imp, batch, r1)?, instructions(imp, batch, r2)?);
                    Some(b.saturating_sub(a) as f64 / ((r2 - r1) as f64 * f64::from(batch)))
                })
                .collect();
            report.say(format_args!("{}", row(batch, &per)));
        }
    } else {
        report.say(format_args!(
            "note: valgrind not installed: instruction counts skipped"
        ));
    }
    report.say(format_args!(
        "\nns per NOP, timed (median of {reps} runs of {secs} s per cell, the \
         implementations interleaved; NOISY on a shared machine):"
    ));
    report.say(format_args!("\n{HEADER}"));
    let mut paired = Vec::new();
    for batch in [8u32, 32, 128] {
        let mut runs: Vec<Vec<f64>> = vec![Vec::new(); IMPLS.len()];
        // Each repetition's rt / typed-with-rt-setup ratio, from two runs
        // made a few seconds apart: a drift of the machine's speed over
        // the minutes of the whole benchmark cancels out of it.
        let mut ratios = Vec::new();
        for rep in 0..reps {
            let mut this_rep = [None; IMPLS.len()];
            // Every other repetition in the reverse order, so that no
            // implementation always runs right after the same one.
            let order: Vec<usize> = if rep % 2 == 0 {
                (0..IMPLS.len()).collect()
            } else {
                (0..IMPLS.len()).rev().collect()
            };
            for i in order {
                this_rep[i] = timed(IMPLS[i], batch, secs);
                runs[i].extend(this_rep[i]);
            }
            if let (Some(typed_rt), Some(rt)) = (this_rep[TYPED_RT], this_rep[RT]) {
                ratios.push(rt / typed_rt);
            }
        }
        let per: Vec<Option<f64>> = runs
            .iter_mut()
            .map(|r| if r.len() == reps { median(r) } else { None })
            .collect();
        report.say(format_args!("{}", row(batch, &per)));
        paired.push((batch, ratios));
    }
    report.say(format_args!(
        "\nrt / typed with the runtime's setup, each repetition's own pair \
         (the issue's goal: <= 1.5):"
    ));
    for (batch, mut ratios) in paired {
        report.say(format_args!("- {}", paired_line(batch, &mut ratios)));
    }
    if std::env::args().any(|a| a == "--docs") {
        let command = format!(
            "RT_BENCH_SECS={secs} RT_BENCH_REPS={reps} cargo bench -p benches --bench rt -- --docs"
        );
        let body = benches::docs::headline(&command) + report.text();
        benches::docs::replace_section("rt-bench", &command, &body);
    }
}

/// Where [`IMPLS`] has the typed ring with the runtime's setup and the
/// runtime itself.
const TYPED_RT: usize = 2;
const RT: usize = 4;

/// One line of paired ratios: their median, range, and how many of them
/// meet the goal.
fn paired_line(batch: u32, ratios: &mut [f64]) -> String {
    let n = ratios.len();
    let Some(mid) = median(ratios) else {
        return format!("B={batch}: no pair measured");
    };
    let met = ratios.iter().filter(|&&r| r <= 1.5).count();
    format!(
        "B={batch}: median {mid:.2}, range {:.2}-{:.2}, {met} of {n} pairs <= 1.5",
        ratios[0],
        ratios[n - 1]
    )
}

/// The median of `runs` (`None` if there are none).
fn median(runs: &mut [f64]) -> Option<f64> {
    runs.sort_by(f64::total_cmp);
    runs.get(runs.len() / 2).copied()
}
