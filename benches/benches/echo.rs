//! The echo benchmark of issue 19: 64 connections, each sending a 32-byte
//! message and waiting for it to come back, against each `echo_peer`
//! server (ring-core's futures; tokio on epoll). Reports messages per
//! second and the server's CPU time per message (user + system, from
//! /proc), which matters more than req/s on a machine where the client
//! shares the cores.
//!
//! It is a load benchmark: run it only when the machine is otherwise idle.
//! `ECHO_SECS=10 cargo bench -p benches --bench echo` (default 5 s per
//! server). tokio-uring and monoio, which the issue also names, are not in
//! it yet.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CONNS: usize = 64;
const MSG: usize = 32;
/// Client threads; each drives CONNS / CLIENT_THREADS connections in turn.
const CLIENT_THREADS: usize = 4;

fn run(imp: &str, secs: f64) -> Option<(f64, f64)> {
    let mut server = Command::new(env!("CARGO_BIN_EXE_echo_peer"))
        .args([imp, "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .ok()?;
    let mut line = String::new();
    BufReader::new(server.stdout.take()?)
        .read_line(&mut line)
        .ok()?;
    let addr = line.trim().strip_prefix("ready ")?.to_string();
    let pid = server.id();
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let mut threads = Vec::new();
    for _ in 0..CLIENT_THREADS {
        let conns: Vec<TcpStream> = (0..CONNS / CLIENT_THREADS)
            .map(|_| {
                let c = TcpStream::connect(&addr).expect("connect");
                c.set_nodelay(true).expect("nodelay");
                c
            })
            .collect();
        let (stop, count) = (stop.clone(), count.clone());
        threads.push(std::thread::spawn(move || {
            let mut conns = conns;
            let msg = [b'x'; MSG];
            let mut back = [0u8; MSG];
            while !stop.load(Ordering::Relaxed) {
                // Every connection has one message in flight at a time.
                for c in conns.iter_mut() {
                    c.write_all(&msg).expect("send");
                }
                for c in conns.iter_mut() {
                    c.read_exact(&mut back).expect("echo");
                }
                count.fetch_add(conns.len() as u64, Ordering::Relaxed);
            }
        }));
    }
    // Warm up, then measure.
    std::thread::sleep(Duration::from_millis(200));
    let (c0, t0, n0) = (
        benches::procfs::cpu_secs(pid),
        Instant::now(),
        count.load(Ordering::Relaxed),
    );
    std::thread::sleep(Duration::from_secs_f64(secs));
    let (c1, dt, n1) = (
        benches::procfs::cpu_secs(pid),
        t0.elapsed().as_secs_f64(),
        count.load(Ordering::Relaxed),
    );
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    let _ = server.kill();
    let _ = server.wait();
    let msgs = (n1 - n0) as f64;
    Some((msgs / dt, (c1 - c0) * 1e6 / msgs))
}

fn main() {
    let secs: f64 = std::env::var("ECHO_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5.0);
    println!("echo: {CONNS} connections, {MSG}-byte messages, {secs} s per server");
    println!("| server | messages/s | server CPU µs per message |");
    println!("|---|---:|---:|");
    for imp in ["ring-core", "tokio"] {
        match run(imp, secs) {
            Some((rate, cpu)) => println!("| {imp} | {rate:.0} | {cpu:.2} |"),
            None => println!("| {imp} | failed | |"),
        }
    }
}
