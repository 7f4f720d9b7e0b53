//! `perf` for the load benchmark: counting a running server's syscalls and
//! scheduler events with tracepoints (`perf stat`), and sampling where its
//! CPU time goes (`perf record -e cpu-clock -g`).
//!
//! Tracepoint counting does not stop the process at each syscall the way
//! `strace` (ptrace) does, so it does not change what it counts: under
//! strace every `io_uring_enter` is slowed, completions pile up between
//! enters, and fewer enters are made per request than without it.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Whether `perf` is installed and may count syscall tracepoints here
/// (root or `perf_event_paranoid` ≤ 1, and tracefs mounted).
pub fn can_count_tracepoints() -> bool {
    Command::new("perf")
        .args([
            "stat",
            "-x,",
            "-e",
            "syscalls:sys_enter_io_uring_enter",
            "--",
            "true",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether `perf record -e cpu-clock` works here.
pub fn can_sample() -> bool {
    Command::new("perf")
        .args([
            "record",
            "-q",
            "-e",
            "cpu-clock",
            "-o",
            "/dev/null",
            "--",
            "true",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Stops a perf child the way perf expects (SIGINT: it then writes its
/// results) and waits for it.
fn interrupt(mut child: Child) -> io::Result<()> {
    let pid = rustix::process::Pid::from_raw(child.id() as i32)
        .ok_or_else(|| io::Error::other("perf has no pid"))?;
    rustix::process::kill_process(pid, rustix::process::Signal::INT)?;
    child.wait()?;
    Ok(())
}

fn pid_list(pids: &[u32]) -> String {
    pids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// `perf stat` counting events on running processes until [`Counting::finish`].
#[derive(Debug)]
pub struct Counting {
    child: Child,
    out: PathBuf,
}

impl Counting {
    /// Starts counting `events` on every thread of `pids`, writing to `out`.
    pub fn start(pids: &[u32], events: &[&str], out: &Path) -> io::Result<Self> {
        let child = Command::new("perf")
            .args([
                "stat",
                "-x,",
                "-e",
                &events.join(","),
                "-p",
                &pid_list(pids),
                "-o",
            ])
            .arg(out)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        Ok(Counting {
            child,
            out: out.to_path_buf(),
        })
    }

    /// Stops counting; the count of each event (0 for an event that never
    /// fired).
    pub fn finish(self) -> io::Result<BTreeMap<String, u64>> {
        interrupt(self.child)?;
        Ok(parse_stat(&std::fs::read_to_string(&self.out)?))
    }
}

/// `perf stat -x,` lines: `count,unit,event,...`; `<not counted>` is 0.
fn parse_stat(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let mut f = l.split(',');
            let count = f.next()?;
            let event = f.nth(1)?;
            if event.is_empty() {
                return None;
            }
            let n = if count.starts_with('<') {
                0
            } else {
                count.parse().ok()?
            };
            Some((event.to_string(), n))
        })
        .collect()
}

/// `perf record -e cpu-clock -g` on running processes until
/// [`Recording::finish`].
#[derive(Debug)]
pub struct Recording {
    child: Child,
    data: PathBuf,
}

/// One symbol's share of the samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Symbol {
    /// Percent of all samples taken in this symbol itself (not its callees).
    pub percent: f64,
    /// Kernel (`[k]`) or user space (`[.]`).
    pub kernel: bool,
    /// The symbol's name (an address when the binary has no symbols).
    pub name: String,
}

impl Recording {
    /// Starts sampling every thread of `pids` into `data` (a perf.data file).
    pub fn start(pids: &[u32], data: &Path) -> io::Result<Self> {
        let child = Command::new("perf")
            .args([
                "record",
                "-q",
                "-e",
                "cpu-clock",
                "-g",
                "-p",
                &pid_list(pids),
                "-o",
            ])
            .arg(data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        Ok(Recording {
            child,
            data: data.to_path_buf(),
        })
    }

    /// Stops sampling; every symbol with its self share, largest first.
    pub fn finish(self) -> io::Result<Vec<Symbol>> {
        interrupt(self.child)?;
        let out = Command::new("perf")
            .args([
                "report",
                "--stdio",
                "--no-children",
                "--sort",
                "sym",
                "-g",
                "none",
                "-q",
            ])
            .arg("-i")
            .arg(&self.data)
            .stderr(Stdio::null())
            .output()?;
        if !out.status.success() {
            return Err(io::Error::other("perf report failed"));
        }
        Ok(parse_report(&String::from_utf8_lossy(&out.stdout)))
    }
}

/// `perf report --sort sym -q` lines: `  12.34%  [k] name`.
fn parse_report(text: &str) -> Vec<Symbol> {
    let mut v: Vec<Symbol> = text
        .lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let (pct, rest) = l.split_once('%')?;
            let percent: f64 = pct.trim().parse().ok()?;
            let rest = rest.trim_start();
            let kernel = rest.starts_with("[k]");
            if !kernel && !rest.starts_with("[.]") {
                return None;
            }
            Some(Symbol {
                percent,
                kernel,
                name: rest[3..].trim().to_string(),
            })
        })
        .collect();
    v.sort_by(|a, b| b.percent.total_cmp(&a.percent));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_are_read_by_event_and_not_counted_is_zero() {
        let text = "# started on Fri\n\n123,,syscalls:sys_enter_io_uring_enter,1000,100.00,,\n\
                    <not counted>,,raw_syscalls:sys_enter,0,100.00,,\n";
        let m = parse_stat(text);
        assert_eq!(m["syscalls:sys_enter_io_uring_enter"], 123);
        assert_eq!(m["raw_syscalls:sys_enter"], 0);
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn report_lines_split_kernel_from_user_and_sort() {
        let text = "     1.88%  [.] http_demo::worker::Worker::process_completions\n\
                    \n     6.86%  [k] _raw_spin_unlock_irqrestore\n     0.50%  [unknown] junk\n";
        let v = parse_report(text);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].name, "_raw_spin_unlock_irqrestore");
        assert!(v[0].kernel);
        assert_eq!(v[1].name, "http_demo::worker::Worker::process_completions");
        assert!(!v[1].kernel);
        assert!((v[1].percent - 1.88).abs() < 1e-9);
    }
}
