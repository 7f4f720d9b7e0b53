//! Measurements beside the main rounds, each in its own run so that its
//! instrument cannot slow the rounds: syscalls per request (perf's syscall
//! tracepoints), memory per idle connection, and where the CPU time goes
//! (`--profile`: perf record).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use benches::perf;

use crate::peers::{root, rss_kib, start, stop, tree, Peer};
use crate::wrk::{self, Scenario};
use crate::Opts;

/// How long each syscall-counting run lasts.
pub const COUNT_SECS: u64 = 5;
/// The servers `--profile` samples.
pub const PROFILED: &[&str] = &["http-demo", "hyper-ct", "nginx"];
/// Symbols listed per side (kernel, user) in a profile.
const TOP: usize = 15;

/// Gives perf time to attach to every thread before the load starts (what
/// it misses would be missing from the count).
fn let_perf_attach() {
    std::thread::sleep(Duration::from_millis(300));
}

/// Syscalls per request in scenario `sc` for every server but the naive
/// Python one: `io_uring_enter` and all syscalls, counted with perf's
/// tracepoints (`perf stat -e syscalls:sys_enter_io_uring_enter -e
/// raw_syscalls:sys_enter -p PIDS`).
pub fn syscalls(
    o: &Opts,
    peers: &[Peer],
    dir: &Path,
    port: u16,
    lua: &Path,
    sc: &Scenario,
) -> String {
    if !perf::can_count_tracepoints() {
        return "note: perf cannot count syscall tracepoints here (apt-get install linux-perf; needs root or perf_event_paranoid <= 1, and tracefs): syscall counts skipped\n".into();
    }
    const ENTER: &str = "syscalls:sys_enter_io_uring_enter";
    const ALL: &str = "raw_syscalls:sys_enter";
    let mut out = String::new();
    for peer in peers.iter().filter(|p| p.name != "python-naive") {
        let Some(child) = start(peer, &o.server_cpus, o.threads, dir, port) else {
            out.push_str(&format!(
                "note: {} did not start; syscalls not counted\n",
                peer.name
            ));
            continue;
        };
        let _ = wrk::run(&o.wrk_cpus, o.wrk_threads, lua, port, sc, 1); // warm-up
        let file = dir.join(format!("perf-stat-{}.txt", peer.name));
        let counting = perf::Counting::start(&tree(child.id()), &[ENTER, ALL], &file);
        let_perf_attach();
        let report = wrk::run(&o.wrk_cpus, o.wrk_threads, lua, port, sc, COUNT_SECS);
        let counts = counting.and_then(perf::Counting::finish);
        stop(child);
        match (report, counts) {
            (Some(r), Ok(c)) => {
                let per = |ev: &str| c.get(ev).copied().unwrap_or(0) as f64 / r.requests as f64;
                out.push_str(&format!(
                    "syscalls per request {:<13} (perf stat tracepoints, {}, {COUNT_SECS} s, {} requests): io_uring_enter {:.3}, all syscalls {:.3}\n",
                    peer.name,
                    sc.name,
                    r.requests,
                    per(ENTER),
                    per(ALL),
                ));
            }
            (_, Err(e)) => out.push_str(&format!("note: perf stat failed on {}: {e}\n", peer.name)),
            (None, _) => out.push_str(&format!("note: wrk failed against {}\n", peer.name)),
        }
    }
    out
}

/// Resident memory per idle keep-alive connection (10,000 of them), for
/// http-demo and hyper-ct.
pub fn memory(o: &Opts, peers: &[Peer], dir: &Path, port: u16) -> String {
    let mut out = String::new();
    for name in ["http-demo", "hyper-ct"] {
        let Some(peer) = peers.iter().find(|p| p.name == name) else {
            continue;
        };
        let Some(child) = start(peer, &o.server_cpus, o.threads, dir, port) else {
            continue;
        };
        let pid = child.id();
        // Warm up with a few requests, then measure the baseline.
        let mut warm = Vec::new();
        for _ in 0..16 {
            warm.extend(idle_conn(port));
        }
        drop(warm);
        std::thread::sleep(Duration::from_millis(300));
        let before = rss_kib(pid);
        let mut conns = Vec::with_capacity(10_000);
        for _ in 0..10_000 {
            match idle_conn(port) {
                Some(c) => conns.push(c),
                None => break,
            }
        }
        std::thread::sleep(Duration::from_millis(500));
        let after = rss_kib(pid);
        let n = conns.len();
        drop(conns);
        stop(child);
        out.push_str(&format!(
            "memory {name}: {n} idle keep-alive connections: RSS {before} KiB -> {after} KiB = {:.0} bytes per connection\n",
            (after.saturating_sub(before) * 1024) as f64 / n.max(1) as f64
        ));
    }
    out
}

/// A connection that has made one request and stays open, idle.
fn idle_conn(port: u16) -> Option<TcpStream> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(b"POST /15 HTTP/1.1\r\nHost: b\r\n\r\n").ok()?;
    let mut buf = [0u8; 512];
    let mut got = 0;
    while !buf[..got].ends_with(b"610") {
        let n = s.read(&mut buf[got..]).ok()?;
        if n == 0 {
            return None;
        }
        got += n;
    }
    Some(s)
}

/// `--profile`: samples each of [`PROFILED`] (those selected) with `perf
/// record -e cpu-clock -g` during a run of scenario `sc`, and lists the
/// top kernel and user symbols by self time. The perf.data files stay in
/// `target/profile/` for `perf report -i`.
pub fn profile(
    o: &Opts,
    peers: &[Peer],
    dir: &Path,
    port: u16,
    lua: &Path,
    sc: &Scenario,
) -> String {
    if !perf::can_sample() {
        return "note: perf cannot sample here (apt-get install linux-perf; needs root or perf_event_paranoid <= 1): profiles skipped\n".into();
    }
    let data_dir = root().join("target/profile");
    if let Err(e) = std::fs::create_dir_all(&data_dir) {
        return format!("note: cannot create target/profile ({e}): profiles skipped\n");
    }
    let mut out = String::new();
    for peer in peers.iter().filter(|p| PROFILED.contains(&p.name)) {
        let Some(child) = start(peer, &o.server_cpus, o.threads, dir, port) else {
            out.push_str(&format!(
                "note: {} did not start; not profiled\n",
                peer.name
            ));
            continue;
        };
        let _ = wrk::run(&o.wrk_cpus, o.wrk_threads, lua, port, sc, 1); // warm-up
        let data = data_dir.join(format!("{}.perf.data", peer.name));
        let recording = perf::Recording::start(&tree(child.id()), &data);
        let_perf_attach();
        let report = wrk::run(&o.wrk_cpus, o.wrk_threads, lua, port, sc, o.duration);
        let symbols = recording.and_then(perf::Recording::finish);
        stop(child);
        let symbols = match (report, symbols) {
            (Some(_), Ok(s)) => s,
            (_, Err(e)) => {
                out.push_str(&format!("note: perf record failed on {}: {e}\n", peer.name));
                continue;
            }
            (None, _) => {
                out.push_str(&format!("note: wrk failed against {}\n", peer.name));
                continue;
            }
        };
        let share = |kernel: bool| -> f64 {
            symbols
                .iter()
                .filter(|s| s.kernel == kernel)
                .map(|s| s.percent)
                .sum()
        };
        out.push_str(&format!(
            "profile {} (perf record -e cpu-clock -g, {}, {} s; self time; kernel {:.1}%, user {:.1}%; target/profile/{}.perf.data)\n",
            peer.name,
            sc.name,
            o.duration,
            share(true),
            share(false),
            peer.name
        ));
        for kernel in [true, false] {
            let side = if kernel { "kernel" } else { "user  " };
            for s in symbols.iter().filter(|s| s.kernel == kernel).take(TOP) {
                out.push_str(&format!("  {side} {:>6.2}%  {}\n", s.percent, s.name));
            }
        }
    }
    out
}
