//! Running wrk against a server and reading its report.

use std::path::Path;
use std::process::Command;

/// One scenario: `conns` connections, keep-alive or `Connection: close`.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: String,
    pub conns: u32,
    pub close: bool,
}

/// What wrk reports for one run.
#[derive(Clone, Copy, Default, Debug)]
pub struct Report {
    pub rps: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub errors: u64,
    pub non2xx: u64,
    pub requests: u64,
}

/// wrk's latency text (`43.00us`, `2.42ms`, `1.01s`) in microseconds.
fn parse_latency(v: &str) -> f64 {
    let (num, unit) = v.split_at(v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len()));
    let n: f64 = num.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => n,
        "ms" => n * 1e3,
        "s" => n * 1e6,
        _ => f64::NAN,
    }
}

/// wrk pinned to `cpus` with up to `threads` threads (never more than the
/// connections, which wrk refuses), POSTing /15 for `secs` seconds.
pub fn run(
    cpus: &str,
    threads: u32,
    lua: &Path,
    port: u16,
    sc: &Scenario,
    secs: u64,
) -> Option<Report> {
    let mut c = Command::new("taskset");
    c.args(["-c", cpus, "wrk", "--latency"])
        .arg(format!("-t{}", threads.min(sc.conns).max(1)))
        .arg(format!("-c{}", sc.conns))
        .arg(format!("-d{secs}s"))
        .arg("-s")
        .arg(lua);
    if sc.close {
        c.args(["-H", "Connection: close"]);
    }
    c.arg(format!("http://127.0.0.1:{port}/15"));
    let out = c.output().ok()?;
    parse(&String::from_utf8_lossy(&out.stdout))
}

fn parse(text: &str) -> Option<Report> {
    let mut s = Report::default();
    for line in text.lines() {
        let t = line.trim();
        let f: Vec<&str> = t.split_whitespace().collect();
        if t.starts_with("Requests/sec:") {
            s.rps = f.get(1)?.parse().ok()?;
        } else if t.starts_with("50%") {
            s.p50_us = parse_latency(f.get(1)?);
        } else if t.starts_with("99%") {
            s.p99_us = parse_latency(f.get(1)?);
        } else if t.contains("requests in") {
            s.requests = f.first()?.parse().ok()?;
        } else if t.starts_with("Socket errors:") {
            s.errors = t
                .split(',')
                .filter_map(|p| p.split_whitespace().last()?.parse::<u64>().ok())
                .sum();
        } else if t.starts_with("Non-2xx") {
            s.non2xx = f.last()?.parse().ok()?;
        }
    }
    (s.requests > 0).then_some(s)
}
