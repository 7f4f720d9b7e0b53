//! HTTP load: http-demo against its peers, one server at a time, alternating
//! over several rounds, with wrk.
//!
//! ```text
//! apt-get install wrk nginx-light strace      # wrk is required; nginx, strace optional
//! cargo run --release -p benches --bin load                   # full run, writes docs/benchmarks.md
//! cargo run --release -p benches --bin load -- --smoke        # 1 s, 1 round, no docs
//! ```
//!
//! Options: `--duration S` (10), `--rounds N` (3), `--server-cpu C` (0),
//! `--wrk-cpu C` (1), `--only a,b`, `--no-docs`, `--no-extras` (skip strace
//! and the idle-connection memory test).
//!
//! Per server and scenario it reports requests/s, p50/p99 latency, errors
//! and non-2xx, and server CPU time per request (user+sys of the server's
//! processes from /proc over the run, divided by requests). Medians over the
//! rounds. It ends with lines `ratio <scenario> <metric> http-demo/<peer> = x`.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Opts {
    duration: u64,
    rounds: usize,
    server_cpu: String,
    wrk_cpu: String,
    only: Option<Vec<String>>,
    docs: bool,
    extras: bool,
}

fn opts() -> Opts {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let get = |n: &str| {
        args.iter()
            .position(|a| a == n)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let smoke = args.iter().any(|a| a == "--smoke");
    Opts {
        duration: get("--duration")
            .and_then(|v| v.parse().ok())
            .unwrap_or(if smoke { 1 } else { 10 }),
        rounds: get("--rounds")
            .and_then(|v| v.parse().ok())
            .unwrap_or(if smoke { 1 } else { 3 }),
        server_cpu: get("--server-cpu").unwrap_or_else(|| "0".into()),
        wrk_cpu: get("--wrk-cpu").unwrap_or_else(|| "1".into()),
        only: get("--only").map(|v| v.split(',').map(String::from).collect()),
        docs: !smoke && !args.iter().any(|a| a == "--no-docs"),
        extras: !smoke && !args.iter().any(|a| a == "--no-extras"),
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A server under test.
struct Peer {
    name: &'static str,
    cmd: Vec<String>,
    env: Vec<(String, String)>,
    /// Writes its config into the temp dir first (nginx).
    setup: Option<fn(&Path, u16) -> Vec<String>>,
}

fn peers(port: u16) -> Vec<Peer> {
    let r = root();
    let release = r.join("target/release");
    let s = |p: &Path| p.to_string_lossy().into_owned();
    let mut v = vec![
        Peer {
            name: "http-demo",
            cmd: vec![
                s(&release.join("http-demo")),
                "--addr".into(),
                "127.0.0.1".into(),
                "--port".into(),
                port.to_string(),
                "--threads".into(),
                "1".into(),
            ],
            env: vec![],
            setup: None,
        },
        Peer {
            name: "hyper-ct",
            cmd: vec![
                s(&release.join("hyper_peer")),
                "--port".into(),
                port.to_string(),
                "--runtime".into(),
                "current".into(),
            ],
            env: vec![],
            setup: None,
        },
        Peer {
            name: "hyper-mt",
            cmd: vec![
                s(&release.join("hyper_peer")),
                "--port".into(),
                port.to_string(),
                "--runtime".into(),
                "multi".into(),
            ],
            env: vec![],
            setup: None,
        },
        Peer {
            name: "python",
            cmd: vec![
                "python3".into(),
                s(&r.join("benches/peers/py_server.py")),
                port.to_string(),
            ],
            env: vec![],
            setup: None,
        },
        Peer {
            name: "python-naive",
            cmd: vec![
                "python3".into(),
                s(&r.join("benches/peers/py_server.py")),
                port.to_string(),
                "--naive".into(),
            ],
            env: vec![],
            setup: None,
        },
        Peer {
            name: "http-demo-py",
            cmd: vec![
                "python3".into(),
                s(&r.join("examples/python/fib_server.py")),
                "--addr".into(),
                "127.0.0.1".into(),
                "--port".into(),
                port.to_string(),
                "--threads".into(),
                "1".into(),
            ],
            env: vec![("HTTP_DEMO_LIB".into(), s(&release.join("libhttp_demo.so")))],
            setup: None,
        },
    ];
    if have("nginx") {
        v.push(Peer {
            name: "nginx",
            cmd: vec![],
            env: vec![],
            setup: Some(nginx_setup),
        });
    } else {
        println!("note: nginx not installed: its row is skipped (apt-get install nginx-light)");
    }
    v
}

/// nginx, one worker, returning the fixed body of POST /15.
fn nginx_setup(dir: &Path, port: u16) -> Vec<String> {
    let conf = dir.join("nginx.conf");
    let text = format!(
        "daemon off;\nworker_processes 1;\nuser root;\npid {pid};\nerror_log stderr error;\n\
         events {{ worker_connections 20000; }}\n\
         http {{\n  access_log off;\n  keepalive_requests 10000000;\n  keepalive_timeout 60s;\n\
           client_body_temp_path {dir}/body;\n  proxy_temp_path {dir}/proxy;\n  fastcgi_temp_path {dir}/fcgi;\n\
           uwsgi_temp_path {dir}/uwsgi;\n  scgi_temp_path {dir}/scgi;\n\
           server {{\n    listen 127.0.0.1:{port} reuseport;\n    location / {{\n      default_type application/json;\n      return 200 \"610\";\n    }}\n  }}\n}}\n",
        pid = dir.join("nginx.pid").display(),
        dir = dir.display(),
    );
    std::fs::write(&conf, text).expect("nginx.conf");
    vec![
        "nginx".into(),
        "-e".into(),
        "stderr".into(),
        "-p".into(),
        dir.to_string_lossy().into_owned(),
        "-c".into(),
        conf.to_string_lossy().into_owned(),
    ]
}

fn start(peer: &Peer, cpu: &str, dir: &Path, port: u16) -> Option<Child> {
    let cmd = match peer.setup {
        Some(f) => f(dir, port),
        None => peer.cmd.clone(),
    };
    let mut c = Command::new("taskset");
    c.args(["-c", cpu])
        .args(&cmd)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in &peer.env {
        c.env(k, v);
    }
    let mut child = c.spawn().ok()?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline || child.try_wait().ok().flatten().is_some() {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(child)
}

fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if child.try_wait().ok().flatten().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The pids of `pid` and every descendant (nginx's workers, taskset's child).
fn tree(pid: u32) -> Vec<u32> {
    let mut all = vec![pid];
    let mut i = 0;
    while i < all.len() {
        let children = std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", all[i]))
            .unwrap_or_default();
        all.extend(
            children
                .split_whitespace()
                .filter_map(|p| p.parse::<u32>().ok()),
        );
        i += 1;
    }
    all
}

/// user+sys CPU seconds of a process tree.
/// (user, sys) CPU seconds of a process and its descendants.
fn cpu_secs(pid: u32) -> (f64, f64) {
    tree(pid)
        .into_iter()
        .map(benches::procfs::user_sys_secs)
        .fold((0.0, 0.0), |(u, s), (u1, s1)| (u + u1, s + s1))
}

/// Resident memory of a process tree, in KiB.
fn rss_kib(pid: u32) -> u64 {
    tree(pid).into_iter().map(benches::procfs::rss_kib).sum()
}

#[derive(Clone, Copy, Default, Debug)]
struct Sample {
    rps: f64,
    p50_us: f64,
    p99_us: f64,
    errors: u64,
    non2xx: u64,
    requests: u64,
    cpu_us_per_req: f64,
    /// The kernel's share of `cpu_us_per_req`.
    sys_us_per_req: f64,
}

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

fn run_wrk(o: &Opts, lua: &Path, port: u16, conns: u32, close: bool, secs: u64) -> Option<Sample> {
    let mut c = Command::new("taskset");
    c.args(["-c", &o.wrk_cpu, "wrk", "-t1", "--latency"])
        .arg(format!("-c{conns}"))
        .arg(format!("-d{secs}s"))
        .arg("-s")
        .arg(lua);
    if close {
        c.args(["-H", "Connection: close"]);
    }
    c.arg(format!("http://127.0.0.1:{port}/15"));
    let out = c.output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut s = Sample::default();
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

const SCENARIOS: &[(&str, u32, bool)] = &[
    ("ka64", 64, false),
    ("ka1", 1, false),
    ("close16", 16, true),
];

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        f64::NAN
    } else {
        v[v.len() / 2]
    }
}

fn main() {
    let o = opts();
    if !have("wrk") {
        eprintln!("load: wrk is required: apt-get install wrk");
        std::process::exit(2);
    }
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
    let mut peers = peers(port);
    if let Some(only) = &o.only {
        peers.retain(|p| only.iter().any(|n| n == p.name));
    }
    println!(
        "load: {} s per run, {} rounds, server on CPU {}, wrk on CPU {}",
        o.duration, o.rounds, o.server_cpu, o.wrk_cpu
    );
    let mut samples: BTreeMap<(&str, &str), Vec<Sample>> = BTreeMap::new();
    for round in 0..o.rounds {
        for &(sc, conns, close) in SCENARIOS {
            // Alternate the order between rounds.
            let order: Vec<usize> = if round % 2 == 0 {
                (0..peers.len()).collect()
            } else {
                (0..peers.len()).rev().collect()
            };
            for i in order {
                let peer = &peers[i];
                let Some(child) = start(peer, &o.server_cpu, &dir, port) else {
                    println!("note: {} did not start; skipped", peer.name);
                    continue;
                };
                let _ = run_wrk(&o, &lua, port, conns, close, 1); // warm-up
                let cpu0 = cpu_secs(child.id());
                let sample = run_wrk(&o, &lua, port, conns, close, o.duration);
                let cpu1 = cpu_secs(child.id());
                stop(child);
                match sample {
                    Some(mut s) => {
                        let per_req = |secs: f64| secs * 1e6 / s.requests as f64;
                        s.cpu_us_per_req = per_req(cpu1.0 + cpu1.1 - cpu0.0 - cpu0.1);
                        s.sys_us_per_req = per_req(cpu1.1 - cpu0.1);
                        println!(
                            "round {round} {sc:<8} {:<13} {:>9.0} req/s  p50 {:>7.0} us  p99 {:>7.0} us  cpu {:>6.2} us/req (sys {:>6.2})  err {} non2xx {}",
                            peer.name, s.rps, s.p50_us, s.p99_us, s.cpu_us_per_req, s.sys_us_per_req, s.errors, s.non2xx
                        );
                        samples.entry((sc, peer.name)).or_default().push(s);
                    }
                    None => println!("note: wrk failed against {}", peer.name),
                }
            }
        }
    }

    let table = summarise(&samples, &peers);
    println!("\n{table}");
    let extras = if o.extras {
        extras(&o, &dir, port, &lua)
    } else {
        String::new()
    };
    if !extras.is_empty() {
        println!("{extras}");
    }
    let ratios = ratios(&samples, &peers);
    println!("{ratios}");
    if o.docs {
        write_docs(&o, &table, &extras, &ratios, &samples, &peers);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn med(
    samples: &BTreeMap<(&str, &str), Vec<Sample>>,
    sc: &str,
    peer: &str,
    f: fn(&Sample) -> f64,
) -> Option<f64> {
    let v = samples.get(&(sc, peer))?;
    Some(median(v.iter().map(f).collect()))
}

fn summarise(samples: &BTreeMap<(&str, &str), Vec<Sample>>, peers: &[Peer]) -> String {
    let mut t = String::from(
        "| scenario | server | req/s | p50 µs | p99 µs | CPU µs/req | of which sys | errors | non-2xx |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for &(sc, _, _) in SCENARIOS {
        for p in peers {
            let Some(v) = samples.get(&(sc, p.name)) else {
                continue;
            };
            let m = |f: fn(&Sample) -> f64| median(v.iter().map(f).collect());
            t.push_str(&format!(
                "| {sc} | {} | {:.0} | {:.0} | {:.0} | {:.2} | {:.2} | {} | {} |\n",
                p.name,
                m(|s| s.rps),
                m(|s| s.p50_us),
                m(|s| s.p99_us),
                m(|s| s.cpu_us_per_req),
                m(|s| s.sys_us_per_req),
                v.iter().map(|s| s.errors).sum::<u64>(),
                v.iter().map(|s| s.non2xx).sum::<u64>(),
            ));
        }
    }
    t
}

fn ratios(samples: &BTreeMap<(&str, &str), Vec<Sample>>, peers: &[Peer]) -> String {
    let mut out = String::new();
    for &(sc, _, _) in SCENARIOS {
        for p in peers.iter().filter(|p| p.name != "http-demo") {
            // The Python-handler server is compared with Python's own server.
            let ours = if p.name == "python" {
                vec!["http-demo", "http-demo-py"]
            } else {
                vec!["http-demo"]
            };
            for us in ours {
                if us == "http-demo" && p.name == "http-demo-py" {
                    continue;
                }
                for (metric, f) in [
                    ("rps", (|s: &Sample| s.rps) as fn(&Sample) -> f64),
                    ("cpu_per_req", |s: &Sample| s.cpu_us_per_req),
                    ("p99", |s: &Sample| s.p99_us),
                ] {
                    if let (Some(a), Some(b)) =
                        (med(samples, sc, us, f), med(samples, sc, p.name, f))
                    {
                        out.push_str(&format!(
                            "ratio {sc} {metric} {us}/{} = {:.3}\n",
                            p.name,
                            a / b
                        ));
                    }
                }
            }
        }
    }
    out
}

/// Syscalls per request (strace) and RSS with 10,000 idle connections.
fn extras(o: &Opts, dir: &Path, port: u16, lua: &Path) -> String {
    let mut out = String::new();
    let peers = peers(port);
    let demo = peers
        .iter()
        .find(|p| p.name == "http-demo")
        .expect("http-demo");
    if have("strace") {
        if let Some(child) = start(demo, &o.server_cpu, dir, port) {
            let pid = tree(child.id()).last().copied().unwrap_or(child.id());
            let log = dir.join("strace.txt");
            let mut st = Command::new("strace")
                .args(["-c", "-f", "-o"])
                .arg(&log)
                .args(["-p", &pid.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("strace");
            std::thread::sleep(Duration::from_millis(500));
            let s = run_wrk(o, lua, port, 64, false, 5);
            let _ = Command::new("kill")
                .args(["-INT", &st.id().to_string()])
                .status();
            let _ = st.wait();
            stop(child);
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(s) = s {
                let calls = |name: &str| -> u64 {
                    text.lines()
                        .find(|l| l.split_whitespace().last() == Some(name))
                        .and_then(|l| l.split_whitespace().nth(3)?.parse().ok())
                        .unwrap_or(0)
                };
                let total: u64 = text
                    .lines()
                    .find(|l| l.trim_end().ends_with("total"))
                    .and_then(|l| l.split_whitespace().nth(2)?.parse().ok())
                    .unwrap_or(0);
                let enter = calls("io_uring_enter");
                out.push_str(&format!(
                    "syscalls (strace -c -f, 64 keep-alive connections, {} requests): io_uring_enter {:.4}/request, all others {:.5}/request\n",
                    s.requests,
                    enter as f64 / s.requests as f64,
                    total.saturating_sub(enter) as f64 / s.requests as f64
                ));
            }
        }
    } else {
        out.push_str("note: strace not installed: syscall counts skipped\n");
    }
    for name in ["http-demo", "hyper-ct"] {
        let Some(peer) = peers.iter().find(|p| p.name == name) else {
            continue;
        };
        let Some(child) = start(peer, &o.server_cpu, dir, port) else {
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

fn write_docs(
    o: &Opts,
    table: &str,
    extras: &str,
    ratios: &str,
    samples: &BTreeMap<(&str, &str), Vec<Sample>>,
    peers: &[Peer],
) {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let kernel = Command::new("uname")
        .arg("-r")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let date = Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let svg = chart(samples, peers);
    std::fs::write(root().join("docs/benchmarks-http.svg"), svg).expect("svg");
    let section = format!(
        "<!-- http-load:begin (written by `cargo run --release -p benches --bin load`) -->\n\
         ## HTTP load ({date})\n\n\
         Machine: {nproc} CPUs ({cpu}), Linux {kernel}. Server pinned to CPU {sc}, wrk (1 thread) to CPU {wc}; \
         {dur} s per run, median of {rounds} alternating rounds. Command: `cargo run --release -p benches --bin load`.\n\
         Scenarios: `ka64` = POST /15 over 64 keep-alive connections; `ka1` = one connection; `close16` = 16 connections with `Connection: close`.\n\
         Servers: http-demo (1 thread); hyper 1.x on tokio current-thread (`hyper-ct`) and multi-thread (`hyper-mt`) runtimes; \
         Python's `http.server` (ThreadingHTTPServer, HTTP/1.1, `TCP_NODELAY`, each response in one write: `python`) and the same \
         server written naively (head and body in two writes, so Nagle's algorithm and delayed ACKs add ~40 ms: `python-naive`); http-demo serving a Python handler through the C ABI (`http-demo-py`); \
         nginx 1 worker returning a fixed body. CPU µs/req is user+sys of the server's processes over the run divided by requests.\n\n\
         {table}\n![requests per second and CPU per request](benchmarks-http.svg)\n\n```text\n{extras}{ratios}```\n\
         <!-- http-load:end -->\n",
        nproc = std::thread::available_parallelism().map_or(0, usize::from),
        sc = o.server_cpu,
        wc = o.wrk_cpu,
        dur = o.duration,
        rounds = o.rounds,
    );
    let path = root().join("docs/benchmarks.md");
    let doc = std::fs::read_to_string(&path).unwrap_or_else(|_| "# Benchmarks\n\n".into());
    let new = match (
        doc.find("<!-- http-load:begin"),
        doc.find("<!-- http-load:end -->"),
    ) {
        (Some(a), Some(b)) => format!(
            "{}{}{}",
            &doc[..a],
            section,
            &doc[b + "<!-- http-load:end -->\n".len()..]
        ),
        _ => format!("{doc}\n{section}"),
    };
    std::fs::write(&path, new).expect("docs/benchmarks.md");
    println!("wrote docs/benchmarks.md and docs/benchmarks-http.svg");
}

/// A bar chart: requests/s (left) and CPU µs per request (right) at ka64.
fn chart(samples: &BTreeMap<(&str, &str), Vec<Sample>>, peers: &[Peer]) -> String {
    let rows: Vec<(&str, f64, f64)> = peers
        .iter()
        .filter_map(|p| {
            Some((
                p.name,
                med(samples, "ka64", p.name, |s| s.rps)?,
                med(samples, "ka64", p.name, |s| s.cpu_us_per_req)?,
            ))
        })
        .collect();
    let max_rps = rows.iter().map(|r| r.1).fold(1.0, f64::max);
    let max_cpu = rows
        .iter()
        .map(|r| r.2)
        .filter(|c| c.is_finite())
        .fold(1e-9, f64::max);
    let h = 40 + rows.len() * 28;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"760\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <text x=\"130\" y=\"18\" font-weight=\"bold\">requests/s, 64 keep-alive conns</text>\n\
         <text x=\"470\" y=\"18\" font-weight=\"bold\">server CPU µs per request (lower is better)</text>\n"
    );
    for (i, (name, rps, cpu)) in rows.iter().enumerate() {
        let y = 30 + i * 28;
        let w1 = 200.0 * rps / max_rps;
        let w2 = 200.0 * cpu / max_cpu;
        let color = if *name == "http-demo" {
            "#d9480f"
        } else {
            "#495057"
        };
        s.push_str(&format!(
            "<text x=\"120\" y=\"{ty}\" text-anchor=\"end\">{name}</text>\n\
             <rect x=\"130\" y=\"{y}\" width=\"{w1:.1}\" height=\"20\" fill=\"{color}\"/>\n\
             <text x=\"{tx1:.1}\" y=\"{ty}\">{rps:.0}</text>\n\
             <rect x=\"470\" y=\"{y}\" width=\"{w2:.1}\" height=\"20\" fill=\"{color}\"/>\n\
             <text x=\"{tx2:.1}\" y=\"{ty}\">{cpu:.2}</text>\n",
            ty = y + 15,
            tx1 = 135.0 + w1,
            tx2 = 475.0 + w2,
        ));
    }
    s.push_str("</svg>\n");
    s
}
