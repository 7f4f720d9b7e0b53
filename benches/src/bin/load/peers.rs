//! The servers under test: how each is started (pinned to the server CPUs,
//! with the configured thread count), found, and stopped.

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Writes a server's config into a directory for a port and a worker
/// count, and returns its command line (nginx).
type Setup = fn(&Path, u16, u32) -> Vec<String>;

/// A server under test.
pub struct Peer {
    pub name: &'static str,
    cmd: Vec<String>,
    env: Vec<(String, String)>,
    /// Writes its config into the temp dir first (nginx).
    setup: Option<Setup>,
}

pub use benches::docs::root;

pub fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The spin of the `http-demo-spin` row (`--spin-us`).
pub const SPIN_US: u32 = 20;

/// Every server, each serving with `threads` threads (or worker processes)
/// where it can: http-demo `--threads`, hyper-mt `TOKIO_WORKER_THREADS`,
/// nginx `worker_processes`. hyper-ct is one thread by construction; the
/// Python servers start a thread per connection.
pub fn peers(port: u16, threads: u32) -> Vec<Peer> {
    let r = root();
    let release = r.join("target/release");
    let s = |p: &Path| p.to_string_lossy().into_owned();
    let hyper = |runtime: &str| -> Vec<String> {
        vec![
            s(&release.join("hyper_peer")),
            "--port".into(),
            port.to_string(),
            "--runtime".into(),
            runtime.into(),
        ]
    };
    let py = |extra: &[&str]| -> Vec<String> {
        let mut v = vec![
            "python3".into(),
            s(&r.join("benches/peers/py_server.py")),
            port.to_string(),
        ];
        v.extend(extra.iter().map(|a| a.to_string()));
        v
    };
    let plain = |name, cmd| Peer {
        name,
        cmd,
        env: vec![],
        setup: None,
    };
    // What http-demo and the Python-handler server it powers both take.
    let serve_args = [
        "--addr".to_string(),
        "127.0.0.1".into(),
        "--port".into(),
        port.to_string(),
        "--threads".into(),
        threads.to_string(),
    ];
    let http_demo: Vec<String> = [s(&release.join("http-demo"))]
        .into_iter()
        .chain(serve_args.iter().cloned())
        .collect();
    let mut v = vec![
        plain("http-demo", http_demo.clone()),
        plain("http-demo-spin", {
            let mut v = http_demo.clone();
            v.extend(["--spin-us".into(), SPIN_US.to_string()]);
            v
        }),
        plain("hyper-ct", hyper("current")),
        Peer {
            env: vec![("TOKIO_WORKER_THREADS".into(), threads.to_string())],
            ..plain("hyper-mt", hyper("multi"))
        },
        plain("python", py(&[])),
        plain("python-naive", py(&["--naive"])),
        Peer {
            env: vec![("HTTP_DEMO_LIB".into(), s(&release.join("libhttp_demo.so")))],
            ..plain(
                "http-demo-py",
                [
                    "python3".into(),
                    s(&r.join("examples/python/fib_server.py")),
                ]
                .into_iter()
                .chain(serve_args.iter().cloned())
                .collect(),
            )
        },
    ];
    if have("nginx") {
        v.push(Peer {
            setup: Some(nginx_setup),
            ..plain("nginx", vec![])
        });
    } else {
        println!("note: nginx not installed: its row is skipped (apt-get install nginx-light)");
    }
    v
}

/// nginx with `workers` worker processes, returning the fixed body of
/// POST /15.
fn nginx_setup(dir: &Path, port: u16, workers: u32) -> Vec<String> {
    let conf = dir.join("nginx.conf");
    let text = format!(
        "daemon off;\nworker_processes {workers};\nuser root;\npid {pid};\nerror_log stderr error;\n\
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

/// Starts `peer` pinned to `cpus` and waits until it accepts connections.
pub fn start(peer: &Peer, cpus: &str, threads: u32, dir: &Path, port: u16) -> Option<Child> {
    let cmd = match peer.setup {
        Some(f) => f(dir, port, threads),
        None => peer.cmd.clone(),
    };
    let mut c = Command::new("taskset");
    c.args(["-c", cpus])
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

/// SIGTERM, then SIGKILL after 5 s.
pub fn stop(mut child: Child) {
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
pub fn tree(pid: u32) -> Vec<u32> {
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

/// (user, sys) CPU seconds of a set of processes (all their threads).
pub fn cpu_secs(pids: &[u32]) -> (f64, f64) {
    pids.iter()
        .map(|&p| benches::procfs::user_sys_secs(p))
        .fold((0.0, 0.0), |(u, s), (u1, s1)| (u + u1, s + s1))
}

/// Resident memory of a process tree, in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    tree(pid).into_iter().map(benches::procfs::rss_kib).sum()
}
