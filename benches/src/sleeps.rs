//! How often a set of processes sleeps: each thread's voluntary context
//! switches (`voluntary_ctxt_switches` in `/proc/PID/task/TID/status`, the
//! times it blocked waiting for something), summed over the threads.
//!
//! Only threads alive at the later snapshot are counted: a thread that
//! exits between two snapshots takes its count with it, and the difference
//! is then a lower bound ([`Sleeps::threads_lost`] says so).

use std::collections::BTreeMap;

/// Voluntary context switches per thread id, at one moment.
#[derive(Debug, Clone, Default)]
pub struct Snapshot(BTreeMap<u32, u64>);

/// Sleeps between two snapshots.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sleeps {
    /// Voluntary context switches of the threads alive at the end.
    pub count: u64,
    /// A thread of the first snapshot was gone at the second: `count` is a
    /// lower bound.
    pub threads_lost: bool,
}

impl Snapshot {
    /// The counts of every thread of `pids`.
    pub fn take(pids: &[u32]) -> Self {
        let mut map = BTreeMap::new();
        for &pid in pids {
            let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
                continue;
            };
            for task in tasks.flatten() {
                let Some(tid) = task.file_name().to_str().and_then(|t| t.parse().ok()) else {
                    continue;
                };
                let status =
                    std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
                if let Some(n) = parse_voluntary(&status) {
                    map.insert(tid, n);
                }
            }
        }
        Snapshot(map)
    }

    /// Sleeps from `earlier` to `self`; a thread new since `earlier` counts
    /// from zero.
    pub fn since(&self, earlier: &Snapshot) -> Sleeps {
        let count = self
            .0
            .iter()
            .map(|(tid, &now)| now.saturating_sub(earlier.0.get(tid).copied().unwrap_or(0)))
            .sum();
        let threads_lost = earlier.0.keys().any(|tid| !self.0.contains_key(tid));
        Sleeps {
            count,
            threads_lost,
        }
    }
}

/// The `voluntary_ctxt_switches:` value of a status file.
fn parse_voluntary(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
        .and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_voluntary_line_not_the_nonvoluntary_one() {
        let status = "Name:\tx\nnonvoluntary_ctxt_switches:\t9\nvoluntary_ctxt_switches:\t42\n";
        assert_eq!(parse_voluntary(status), Some(42));
        assert_eq!(parse_voluntary("Name:\tx\n"), None);
    }

    #[test]
    fn new_threads_count_from_zero_and_lost_ones_are_flagged() {
        let earlier = Snapshot(BTreeMap::from([(1, 10), (2, 5)]));
        let later = Snapshot(BTreeMap::from([(1, 15), (3, 7)]));
        assert_eq!(
            later.since(&earlier),
            Sleeps {
                count: 5 + 7,
                threads_lost: true
            }
        );
        let same = Snapshot(BTreeMap::from([(1, 12), (2, 5)]));
        assert_eq!(
            same.since(&earlier),
            Sleeps {
                count: 2,
                threads_lost: false
            }
        );
    }

    #[test]
    fn a_sleeping_thread_of_this_process_is_counted() {
        use std::sync::mpsc;
        let pid = std::process::id();
        let before = Snapshot::take(&[pid]);
        let (slept, done) = (mpsc::channel(), mpsc::channel::<()>());
        let (slept_tx, slept_rx) = slept;
        let (done_tx, done_rx) = done;
        let sleeper = std::thread::spawn(move || {
            for _ in 0..5 {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            slept_tx.send(()).expect("report");
            let _ = done_rx.recv(); // stay alive until the snapshot
        });
        slept_rx.recv().expect("sleeper");
        let after = Snapshot::take(&[pid]);
        done_tx.send(()).expect("release");
        sleeper.join().expect("sleeper");
        // The sleeper is new since `before` and slept five times.
        assert!(after.since(&before).count >= 5);
    }
}
