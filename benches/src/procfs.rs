//! Process statistics from /proc (CPU time, resident memory) and the
//! descriptor limit. Used by the
//! load and soak benchmarks, and (included by path) by http-demo's
//! reliability tests.

/// user+sys CPU seconds of one process (all its threads).
pub fn cpu_secs(pid: u32) -> f64 {
    let (user, sys) = user_sys_secs(pid);
    user + sys
}

/// User and system (kernel) CPU seconds of one process (all its threads).
pub fn user_sys_secs(pid: u32) -> (f64, f64) {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = &s[s.rfind(')').map_or(0, |i| i + 2)..];
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) / 100.0, ticks(12) / 100.0) // USER_HZ
}

/// Resident set size of one process, in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Raises this process's soft descriptor limit to its hard limit (children
/// inherit it).
pub fn raise_nofile() {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let lim = getrlimit(Resource::Nofile);
    let _ = setrlimit(
        Resource::Nofile,
        Rlimit {
            current: lim.maximum,
            maximum: lim.maximum,
        },
    );
}
