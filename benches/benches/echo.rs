//! The echo benchmark of issue 19: one client thread keeps 64 connections
//! busy, each with one 32-byte message in flight (sent, echoed back,
//! checked byte for byte, the next one sent), against each echo server:
//! ring-core's futures (`ring_core::rt`, the `echo` example, and the same
//! runtime with a multishot receive into a buffer ring), tokio on epoll
//! (these three are `echo_peer`), tokio-uring and monoio (built from
//! `benches/async-peers`, their own workspace). Every server runs on one
//! thread, one task per connection, TCP_NODELAY, a 4 KiB buffer read into
//! and written back from.
//!
//! Reported per server: messages per second, the server's CPU time per
//! message (user + system from /proc/PID/stat, which matters more than
//! messages/s when the client shares the cores) and its sleeps (voluntary
//! context switches) per message. Each round runs every server once, in an
//! order that rotates from round to round; the table gives the median of
//! the rounds and their spread (min–max).
//!
//! It is a load benchmark: run it only when the machine is otherwise idle.
//! `ECHO_SECS=10 ECHO_ROUNDS=3 cargo bench -p benches --bench echo`
//! (defaults: 5 s per server per round, 3 rounds). As the load benchmark
//! does, it pins the server to CPU 0 and the client to CPU 1 with
//! `taskset` (`ECHO_PIN=S,C` for other CPUs, `ECHO_PIN=no` for none; no
//! pinning, with a note, without taskset). A server that answers
//! wrong bytes, closes a connection or stalls for 5 s fails the run (exit
//! status 1); if the peer workspace does not build, its rows are skipped
//! with a note. `ECHO_ONLY=ring-core,monoio` runs only the rows named;
//! `ECHO_PEER=path` runs another build of `echo_peer` for the ring-core
//! and tokio rows. With `-- --docs` a run without failures writes its
//! table and rounds into the `echo-bench` section of docs/benchmarks.md.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustix::event::epoll;

const CONNS: usize = 64;
const MSG: usize = 32;
/// Connections and messages before the measured window.
const WARMUP: Duration = Duration::from_millis(300);
/// A connection with no echo for this long fails the run.
const STALL: Duration = Duration::from_secs(5);

/// How to start one server: a program and the arguments before the address.
struct Server {
    name: &'static str,
    program: Option<PathBuf>,
    args: Vec<&'static str>,
}

/// One measured run of one server.
#[derive(Clone, Copy)]
struct Sample {
    rate: f64,
    cpu_us: f64,
    sleeps: f64,
}

fn main() {
    let secs: f64 = env_or("ECHO_SECS", 5.0);
    let rounds: usize = env_or("ECHO_ROUNDS", 3);
    // `ECHO_ONLY=name,name`: only these rows (names as in the table).
    let only: Option<Vec<String>> = std::env::var("ECHO_ONLY")
        .ok()
        .map(|v| v.split(',').map(|n| n.trim().to_string()).collect());
    let wanted = |name: &str| only.as_ref().is_none_or(|o| o.iter().any(|n| n == name));
    let peers = build_async_peers();
    // After the build, which should use every CPU.
    let pin = pin_client(&std::env::var("ECHO_PIN").unwrap_or_else(|_| "0,1".into()));
    // `ECHO_PEER=path`: another build of echo_peer (to compare two builds).
    let echo_peer = std::env::var_os("ECHO_PEER").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_echo_peer")),
        PathBuf::from,
    );
    let servers = [
        Server {
            name: "ring-core",
            program: Some(echo_peer.clone()),
            args: vec!["ring-core"],
        },
        Server {
            name: "ring-core (multishot recv)",
            program: Some(echo_peer.clone()),
            args: vec!["ring-core-multishot"],
        },
        Server {
            name: "tokio (epoll)",
            program: Some(echo_peer),
            args: vec!["tokio"],
        },
        Server {
            name: "tokio-uring",
            program: peers.as_ref().map(|d| d.join("tokio_uring_echo")),
            args: vec![],
        },
        Server {
            name: "monoio",
            program: peers.as_ref().map(|d| d.join("monoio_echo")),
            args: vec![],
        },
    ];
    let setup = format!(
        "echo: {CONNS} connections, {MSG}-byte messages, one client thread, \
         {secs} s per server per round, {rounds} rounds, {}",
        match &pin {
            Some(cpu) => format!("server on CPU {cpu}, client on the other"),
            None => "not pinned".into(),
        }
    );
    println!("{setup}");
    // Every round's line and the table, also kept for `--docs`.
    let mut round_lines = benches::docs::Transcript::default();
    let mut table = benches::docs::Transcript::default();
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); servers.len()];
    let mut failures: Vec<String> = Vec::new();
    for round in 0..rounds {
        // Rotate the order, so that no server always runs first or last.
        for k in 0..servers.len() {
            let i = (k + round) % servers.len();
            let Some(program) = &servers[i].program else {
                continue;
            };
            if !wanted(servers[i].name) {
                continue;
            }
            match run(program, &servers[i].args, pin.as_deref(), secs) {
                Ok(s) => {
                    round_lines.say(format_args!(
                        "round {}: {:<26} {:>9.0} messages/s {:>6.2} µs CPU/message",
                        round + 1,
                        servers[i].name,
                        s.rate,
                        s.cpu_us
                    ));
                    samples[i].push(s);
                }
                Err(e) => {
                    println!("round {}: {} FAILED: {e}", round + 1, servers[i].name);
                    failures.push(format!("{}: {e}", servers[i].name));
                }
            }
        }
    }
    let base = median(&samples[0], |s| s.cpu_us);
    println!();
    table.say(format_args!("| server | messages/s | (min–max) | server CPU µs/message | (min–max) | CPU / ring-core | sleeps/message |"));
    table.say(format_args!("|---|---:|---:|---:|---:|---:|---:|"));
    for (server, runs) in servers.iter().zip(&samples) {
        if !wanted(server.name) {
            continue;
        }
        if server.program.is_none() {
            table.say(format_args!(
                "| {} | skipped: benches/async-peers did not build | | | | | |",
                server.name
            ));
            continue;
        }
        if runs.is_empty() {
            table.say(format_args!("| {} | failed | | | | | |", server.name));
            continue;
        }
        let (rate, cpu) = (median(runs, |s| s.rate), median(runs, |s| s.cpu_us));
        let (rlo, rhi) = spread(runs, |s| s.rate);
        let (clo, chi) = spread(runs, |s| s.cpu_us);
        table.say(format_args!(
            "| {} | {rate:.0} | {rlo:.0}–{rhi:.0} | {cpu:.2} | {clo:.2}–{chi:.2} | {:.2} | {:.3} |",
            server.name,
            cpu / base,
            median(runs, |s| s.sleeps),
        ));
    }
    if std::env::args().any(|a| a == "--docs") && failures.is_empty() {
        let command = format!(
            "ECHO_SECS={secs} ECHO_ROUNDS={rounds} cargo bench -p benches --bench echo -- --docs"
        );
        let body = format!(
            "{}{setup}.\n\n{}\n\
             <details><summary>every round</summary>\n\n```text\n{}```\n\n</details>\n",
            benches::docs::headline(&command),
            table.text(),
            round_lines.text()
        );
        benches::docs::replace_section("echo-bench", &command, &body);
    }
    if !failures.is_empty() {
        eprintln!("echo: {} run(s) failed:", failures.len());
        for f in &failures {
            eprintln!("  {f}");
        }
        std::process::exit(1);
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn median(runs: &[Sample], f: impl Fn(&Sample) -> f64) -> f64 {
    let mut v: Vec<f64> = runs.iter().map(f).collect();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn spread(runs: &[Sample], f: impl Fn(&Sample) -> f64) -> (f64, f64) {
    runs.iter()
        .map(f)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
            (lo.min(x), hi.max(x))
        })
}

/// Builds the tokio-uring and monoio servers (`benches/async-peers`, its
/// own workspace and lock file) next to this workspace's target directory;
/// the directory of their binaries, or `None` with a printed note.
fn build_async_peers() -> Option<PathBuf> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("async-peers/Cargo.toml");
    // This bench runs as <target>/release/deps/echo-<hash>.
    let target = std::env::current_exe()
        .ok()?
        .ancestors()
        .nth(3)?
        .join("async-peers");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    println!("building benches/async-peers (tokio-uring, monoio) ...");
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--locked",
            "--quiet",
            "--manifest-path",
        ])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target)
        .status();
    match status {
        Ok(s) if s.success() => Some(target.join("release")),
        Ok(s) => {
            println!("note: building benches/async-peers failed ({s}): tokio-uring and monoio are skipped");
            None
        }
        Err(e) => {
            println!("note: could not run cargo to build benches/async-peers ({e}): tokio-uring and monoio are skipped");
            None
        }
    }
}

/// The server process, killed when dropped (also on an early return).
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Pins this process (the client thread, spawned later, inherits it) to
/// the second CPU of `spec` ("S,C"); the server's CPU, or `None` with a
/// note if `spec` is "no", malformed, or taskset fails.
fn pin_client(spec: &str) -> Option<String> {
    if spec == "no" {
        return None;
    }
    let Some((server, client)) = spec.split_once(',') else {
        println!("note: ECHO_PIN={spec} is not \"S,C\" or \"no\": not pinned");
        return None;
    };
    let pinned = Command::new("taskset")
        .args(["-a", "-p", "-c", client, &std::process::id().to_string()])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !pinned {
        println!("note: taskset -p -c {client} failed (is util-linux installed?): not pinned");
        return None;
    }
    Some(server.to_string())
}

/// Starts the server (on CPU `pin` if given), loads it for `secs` after a
/// warm-up, and measures.
fn run(program: &Path, args: &[&str], pin: Option<&str>, secs: f64) -> Result<Sample, String> {
    let mut command = match pin {
        Some(cpu) => {
            let mut c = Command::new("taskset");
            c.args(["-c", cpu]).arg(program);
            c
        }
        None => Command::new(program),
    };
    let mut server = Running(
        command
            .args(args)
            .arg("127.0.0.1:0")
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", program.display()))?,
    );
    let stdout = server.0.stdout.take().ok_or("no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| format!("reading its ready line: {e}"))?;
    let addr = line
        .trim()
        .strip_prefix("ready ")
        .ok_or_else(|| format!("expected `ready <addr>`, got {line:?}"))?
        .to_string();
    let pid = server.0.id();
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let client = {
        let (stop, count) = (stop.clone(), count.clone());
        std::thread::spawn(move || client(&addr, &stop, &count))
    };
    std::thread::sleep(WARMUP);
    let sample = |count: &AtomicU64| {
        (
            benches::procfs::cpu_secs(pid),
            benches::sleeps::Snapshot::take(&[pid]),
            count.load(Ordering::Relaxed),
            Instant::now(),
        )
    };
    let (c0, s0, n0, t0) = sample(&count);
    std::thread::sleep(Duration::from_secs_f64(secs));
    let (c1, s1, n1, t1) = sample(&count);
    stop.store(true, Ordering::Relaxed);
    client
        .join()
        .map_err(|_| "the client panicked".to_string())??;
    let msgs = n1.saturating_sub(n0) as f64;
    if msgs == 0.0 {
        return Err("no message echoed in the measured window".into());
    }
    Ok(Sample {
        rate: msgs / (t1 - t0).as_secs_f64(),
        cpu_us: (c1 - c0) * 1e6 / msgs,
        sleeps: s1.since(&s0).count as f64 / msgs,
    })
}

/// Message `seq` of connection `conn`: both numbers and a pattern drawn
/// from them, so an echo of the wrong message or of stale bytes differs.
fn message(conn: usize, seq: u64) -> [u8; MSG] {
    let mut m = [0u8; MSG];
    m[..8].copy_from_slice(&seq.to_le_bytes());
    m[8..12].copy_from_slice(&(conn as u32).to_le_bytes());
    for (i, b) in m[12..].iter_mut().enumerate() {
        *b = (seq as u8).wrapping_mul(31) ^ (conn as u8).wrapping_add(i as u8);
    }
    m
}

/// One client connection: its socket, the message in flight and how much
/// of its echo has come back.
struct Conn {
    sock: TcpStream,
    seq: u64,
    sent: [u8; MSG],
    back: [u8; MSG],
    got: usize,
}

/// The load: one thread, non-blocking sockets and epoll, one message in
/// flight per connection; the next goes out as soon as the echo of the
/// last one is complete and checked. Counts echoed messages in `count`
/// until `stop`.
fn client(addr: &str, stop: &AtomicBool, count: &AtomicU64) -> Result<(), String> {
    let ep = epoll::create(epoll::CreateFlags::CLOEXEC).map_err(|e| format!("epoll: {e}"))?;
    let mut conns = Vec::with_capacity(CONNS);
    for i in 0..CONNS {
        let sock = TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
        sock.set_nodelay(true).map_err(|e| e.to_string())?;
        sock.set_nonblocking(true).map_err(|e| e.to_string())?;
        epoll::add(
            &ep,
            sock.as_fd(),
            epoll::EventData::new_u64(i as u64),
            epoll::EventFlags::IN,
        )
        .map_err(|e| format!("epoll_ctl: {e}"))?;
        let mut c = Conn {
            sock,
            seq: 0,
            sent: message(i, 0),
            back: [0; MSG],
            got: 0,
        };
        send(&mut c)?;
        conns.push(c);
    }
    let mut events = Vec::with_capacity(CONNS);
    let mut done = 0u64;
    let mut last_echo = Instant::now();
    let tick = rustix::event::Timespec {
        tv_sec: 0,
        tv_nsec: 100_000_000,
    };
    while !stop.load(Ordering::Relaxed) {
        events.clear();
        epoll::wait(
            &ep,
            rustix::buffer::spare_capacity(&mut events),
            Some(&tick),
        )
        .map_err(|e| format!("epoll_wait: {e}"))?;
        for ev in &events {
            let i = ev.data.u64() as usize;
            let c = &mut conns[i];
            match c.sock.read(&mut c.back[c.got..]) {
                Ok(0) => return Err(format!("the server closed connection {i}")),
                Ok(n) => c.got += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(format!("connection {i}: {e}")),
            }
            if c.got < MSG {
                continue;
            }
            if c.back != c.sent {
                return Err(format!(
                    "connection {i}: message {} came back as {:02x?}, sent {:02x?}",
                    c.seq, c.back, c.sent
                ));
            }
            done += 1;
            c.seq += 1;
            c.sent = message(i, c.seq);
            c.got = 0;
            send(c)?;
        }
        if count.load(Ordering::Relaxed) != done {
            count.store(done, Ordering::Relaxed);
            last_echo = Instant::now();
        } else if last_echo.elapsed() > STALL {
            return Err(format!("no echo for {} s", STALL.as_secs()));
        }
    }
    // Take each connection's last echo before closing it, so that the
    // server sees an orderly end of stream, not a reset of a connection
    // that still had bytes coming.
    for (i, c) in conns.iter_mut().enumerate() {
        c.sock.set_nonblocking(false).map_err(|e| e.to_string())?;
        c.sock
            .set_read_timeout(Some(STALL))
            .map_err(|e| e.to_string())?;
        while c.got < MSG {
            match c.sock.read(&mut c.back[c.got..]) {
                Ok(0) => return Err(format!("the server closed connection {i}")),
                Ok(n) => c.got += n,
                Err(e) => return Err(format!("connection {i}, last echo: {e}")),
            }
        }
    }
    Ok(())
}

/// Sends the connection's message; the socket's send buffer is empty (the
/// last message came back), so it goes out whole or not at all.
fn send(c: &mut Conn) -> Result<(), String> {
    match c.sock.write(&c.sent) {
        Ok(n) if n == MSG => Ok(()),
        Ok(n) => Err(format!("short send of {n} bytes")),
        Err(e) => Err(format!("send: {e}")),
    }
}
