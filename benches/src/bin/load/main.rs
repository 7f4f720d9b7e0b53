//! HTTP load: http-demo against its peers, one server at a time, alternating
//! over several rounds, with wrk.
//!
//! ```text
//! apt-get install wrk nginx-light linux-perf   # wrk is required; nginx, perf optional
//! cargo run --release -p benches --bin load                   # full run, writes docs/benchmarks.md
//! cargo run --release -p benches --bin load -- --profile      # the same, with perf profiles
//! cargo run --release -p benches --bin load -- --smoke        # 1 s, 1 round, no docs
//! ```
//!
//! Options (defaults for a 2-core machine):
//!
//! - `--duration S` (10), `--rounds N` (3);
//! - `--server-cpus LIST` (0) and `--wrk-cpus LIST` (1): taskset CPU lists;
//! - `--threads N` (1): server threads where a server takes a count
//!   (http-demo `--threads`, hyper-mt `TOKIO_WORKER_THREADS`, nginx
//!   `worker_processes`); `--wrk-threads N` (1); `--conns N` (64): the
//!   keep-alive scenario's connections (it is named `ka<N>`);
//! - `--only a,b`: these servers only; `--no-docs`; `--no-extras` (skip the
//!   syscall counts and the idle-connection memory test);
//! - `--profile`: also sample http-demo, hyper-ct and nginx with `perf
//!   record -e cpu-clock -g` during a keep-alive run and list their top
//!   kernel and user symbols.
//!
//! Per server and scenario it reports requests/s, p50/p99 latency (and p99's
//! lowest and highest round), errors and non-2xx, server CPU time per
//! request (user+sys of the server's processes from /proc over the run,
//! divided by requests) and sleeps per request (voluntary context switches
//! of its threads). Medians over the rounds. It ends with lines
//! `ratio <scenario> <metric> http-demo/<peer> = x`.

mod extras;
mod peers;
mod report;
mod wrk;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use benches::sleeps;
use peers::{cpu_secs, have, root, start, stop, tree, Peer};
use report::Samples;
use wrk::Scenario;

/// The command line.
pub struct Opts {
    duration: u64,
    rounds: usize,
    server_cpus: String,
    wrk_cpus: String,
    threads: u32,
    wrk_threads: u32,
    conns: u32,
    only: Option<Vec<String>>,
    docs: bool,
    extras: bool,
    profile: bool,
}

const USAGE: &str =
    "usage: load [--smoke] [--duration S] [--rounds N] [--server-cpus LIST] [--wrk-cpus LIST] \
[--threads N] [--wrk-threads N] [--conns N] [--only a,b] [--no-docs] [--no-extras] [--profile]";

fn opts() -> Result<Opts, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let smoke = args.iter().any(|a| a == "--smoke");
    let mut o = Opts {
        duration: if smoke { 1 } else { 10 },
        rounds: if smoke { 1 } else { 3 },
        server_cpus: "0".into(),
        wrk_cpus: "1".into(),
        threads: 1,
        wrk_threads: 1,
        conns: 64,
        only: None,
        docs: !smoke,
        extras: !smoke,
        profile: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{a} needs a value"));
        fn num<T: std::str::FromStr>(a: &str, v: &str) -> Result<T, String> {
            v.parse()
                .map_err(|_| format!("{a}: `{v}` is not a valid number"))
        }
        fn positive(a: &str, v: u64) -> Result<u64, String> {
            if v == 0 {
                Err(format!("{a} must be at least 1"))
            } else {
                Ok(v)
            }
        }
        match a.as_str() {
            "--smoke" => {}
            "--duration" => o.duration = positive(a, num(a, value()?)?)?,
            "--rounds" => o.rounds = positive(a, num(a, value()?)?)? as usize,
            // The singular spellings are the options' old names.
            "--server-cpus" | "--server-cpu" => o.server_cpus = value()?.clone(),
            "--wrk-cpus" | "--wrk-cpu" => o.wrk_cpus = value()?.clone(),
            "--threads" => o.threads = positive(a, num(a, value()?)?)? as u32,
            "--wrk-threads" => o.wrk_threads = positive(a, num(a, value()?)?)? as u32,
            "--conns" => o.conns = positive(a, num(a, value()?)?)? as u32,
            "--only" => o.only = Some(value()?.split(',').map(String::from).collect()),
            "--no-docs" => o.docs = false,
            "--no-extras" => o.extras = false,
            "--profile" => o.profile = true,
            "--help" | "-h" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    Ok(o)
}

/// One server's run of one scenario.
#[derive(Clone, Copy, Default, Debug)]
pub struct Sample {
    wrk: wrk::Report,
    cpu_us_per_req: f64,
    /// The kernel's share of `cpu_us_per_req`.
    sys_us_per_req: f64,
    /// Voluntary context switches of the server's threads per request.
    sleeps_per_req: f64,
    /// Some thread exited during the run: `sleeps_per_req` is a lower bound.
    sleeps_partial: bool,
}

/// Starts `peer`, warms it up for 1 s, measures one run and stops it.
fn measure(
    o: &Opts,
    peer: &Peer,
    sc: &Scenario,
    dir: &Path,
    lua: &Path,
    port: u16,
) -> Option<Sample> {
    let Some(child) = start(peer, &o.server_cpus, o.threads, dir, port) else {
        println!("note: {} did not start; skipped", peer.name);
        return None;
    };
    let _ = wrk::run(&o.wrk_cpus, o.wrk_threads, lua, port, sc, 1); // warm-up
    let pids = tree(child.id());
    let (cpu0, sleeps0) = (cpu_secs(&pids), sleeps::Snapshot::take(&pids));
    let report = wrk::run(&o.wrk_cpus, o.wrk_threads, lua, port, sc, o.duration);
    let pids = tree(child.id());
    let (cpu1, sleeps1) = (cpu_secs(&pids), sleeps::Snapshot::take(&pids));
    stop(child);
    let Some(r) = report else {
        println!("note: wrk failed against {}", peer.name);
        return None;
    };
    let per_req = |x: f64| x / r.requests as f64;
    let slept = sleeps1.since(&sleeps0);
    Some(Sample {
        wrk: r,
        cpu_us_per_req: per_req((cpu1.0 + cpu1.1 - cpu0.0 - cpu0.1) * 1e6),
        sys_us_per_req: per_req((cpu1.1 - cpu0.1) * 1e6),
        sleeps_per_req: per_req(slept.count as f64),
        sleeps_partial: slept.threads_lost,
    })
}

fn main() {
    let o = match opts() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("load: {e}");
            std::process::exit(2);
        }
    };
    if !have("wrk") {
        eprintln!("load: wrk is required: apt-get install wrk");
        std::process::exit(2);
    }
    let began = Instant::now();
    benches::procfs::raise_nofile();
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "--release",
            "-q",
            "-p",
            "http-demo",
            "-p",
            "benches",
            "--bins",
            "--lib",
        ])
        .current_dir(root())
        .status()
        .expect("cargo");
    assert!(status.success(), "building the servers failed");
    let dir = std::env::temp_dir().join(format!("load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let lua = dir.join("post.lua");
    std::fs::write(&lua, "wrk.method = \"POST\"\n").expect("lua");
    let port = 18_080;
    let mut peers = peers::peers(port, o.threads);
    if let Some(only) = &o.only {
        if let Some(bad) = only.iter().find(|n| !peers.iter().any(|p| p.name == *n)) {
            let names: Vec<&str> = peers.iter().map(|p| p.name).collect();
            eprintln!(
                "load: --only: no server `{bad}` (servers: {})",
                names.join(", ")
            );
            std::process::exit(2);
        }
        peers.retain(|p| only.iter().any(|n| n == p.name));
    }
    let scenarios = [
        Scenario {
            name: format!("ka{}", o.conns),
            conns: o.conns,
            close: false,
        },
        Scenario {
            name: "ka1".into(),
            conns: 1,
            close: false,
        },
        Scenario {
            name: "close16".into(),
            conns: 16,
            close: true,
        },
    ];

    // Each server run: ~1 s start and stop, 1 s warm-up, the run.
    let run = o.duration + 2;
    let mut estimate = o.rounds as u64 * scenarios.len() as u64 * peers.len() as u64 * run;
    if o.extras {
        estimate += peers.len() as u64 * (extras_count_secs() + 3) + 20;
    }
    if o.profile {
        let n = peers
            .iter()
            .filter(|p| extras::PROFILED.contains(&p.name))
            .count();
        estimate += n as u64 * (run + 2);
    }
    println!(
        "load: {} s per run, {} rounds, servers on CPUs {} ({} thread(s)), wrk on CPUs {} ({} thread(s)); about {} min",
        o.duration,
        o.rounds,
        o.server_cpus,
        o.threads,
        o.wrk_cpus,
        o.wrk_threads,
        estimate.div_ceil(60)
    );

    let mut samples = Samples::new();
    for round in 0..o.rounds {
        for sc in &scenarios {
            // Alternate the order between rounds.
            let order: Vec<usize> = if round % 2 == 0 {
                (0..peers.len()).collect()
            } else {
                (0..peers.len()).rev().collect()
            };
            for i in order {
                let peer = &peers[i];
                let Some(s) = measure(&o, peer, sc, &dir, &lua, port) else {
                    continue;
                };
                println!(
                    "round {round} {:<8} {:<13} {:>9.0} req/s  p50 {:>7.0} us  p99 {:>7.0} us  cpu {:>6.2} us/req (sys {:>6.2})  sleeps {}{:.3}/req  err {} non2xx {}",
                    sc.name,
                    peer.name,
                    s.wrk.rps,
                    s.wrk.p50_us,
                    s.wrk.p99_us,
                    s.cpu_us_per_req,
                    s.sys_us_per_req,
                    if s.sleeps_partial { ">=" } else { "" },
                    s.sleeps_per_req,
                    s.wrk.errors,
                    s.wrk.non2xx
                );
                samples
                    .entry((sc.name.clone(), peer.name))
                    .or_default()
                    .push(s);
            }
        }
    }

    let table = report::table(&samples, &scenarios, &peers);
    println!("\n{table}");
    let mut more = String::new();
    if o.extras {
        more.push_str(&extras::syscalls(
            &o,
            &peers,
            &dir,
            port,
            &lua,
            &scenarios[0],
        ));
        more.push_str(&extras::memory(&o, &peers, &dir, port));
    }
    if o.profile {
        more.push_str(&extras::profile(
            &o,
            &peers,
            &dir,
            port,
            &lua,
            &scenarios[0],
        ));
    }
    if !more.is_empty() {
        println!("{more}");
    }
    let ratios = report::ratios(&samples, &scenarios, &peers);
    println!("{ratios}");
    if o.docs {
        report::write_docs(&o, &scenarios, &table, &more, &ratios, &samples, &peers);
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!("load: done in {:.0} s", began.elapsed().as_secs_f64());
}

/// Seconds of each syscall-counting run (plus its warm-up).
fn extras_count_secs() -> u64 {
    extras::COUNT_SECS + 1
}
