//! The built binary, driven the way the README shows: `cargo run --release
//! -p http-demo` and `curl -X POST http://localhost:8000/15`.

mod common;

use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

fn spawn(args: &[&str]) -> (common::KillOnDrop, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_http-demo"));
    cmd.args(args);
    common::start_and_read_banner(cmd)
}

fn curl(url: &str) -> String {
    let out = Command::new("curl")
        .args(["-s", "--max-time", "5", "-X", "POST", url])
        .output()
        .expect("curl is installed");
    assert!(out.status.success(), "curl {url}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn sigterm_and_wait(mut child: common::KillOnDrop) -> std::process::ExitStatus {
    // SAFETY: kill(2) on our own child's pid with a valid signal number.
    let rc = unsafe { libc_kill(child.id() as i32, 15) };
    assert_eq!(rc, 0);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

#[test]
fn readme_commands_with_curl() {
    if TcpStream::connect("127.0.0.1:8000").is_ok() {
        eprintln!("skipped: something already listens on port 8000");
        return;
    }
    let (child, banner) = spawn(&[]);
    assert!(banner.contains("0.0.0.0:8000"), "{banner}");
    assert_eq!(curl("http://localhost:8000/15"), "610");
    assert_eq!(curl("http://localhost:8000/17"), "1597");
    assert_eq!(curl("http://localhost:8000/0"), "0");
    let status = sigterm_and_wait(child);
    assert!(status.success(), "exit status {status:?}");
}

#[test]
fn ephemeral_port_and_sigterm_under_keep_alive() {
    let (child, banner) = spawn(&["--port", "0", "--addr", "127.0.0.1", "--threads", "2"]);
    let port: u16 = banner
        .split("127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {banner:?}"));
    assert_eq!(curl(&format!("http://127.0.0.1:{port}/20")), "6765");
    // An open keep-alive connection does not hold up the exit.
    let _idle = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let start = Instant::now();
    let status = sigterm_and_wait(child);
    assert!(status.success(), "exit status {status:?}");
    assert!(start.elapsed() < Duration::from_secs(6));
}

#[test]
fn help_and_bad_arguments() {
    let out = Command::new(env!("CARGO_BIN_EXE_http-demo"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--threads"));
    let out = Command::new(env!("CARGO_BIN_EXE_http-demo"))
        .args(["--port", "nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid value"));
}
