//! The C ABI as its users meet it: the Python example (ctypes, standard
//! library only) and the C example, against a freshly built
//! `libhttp_demo.so`, and the header checked against the exported symbols.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Builds the cdylib once per test run, in a target directory of its own so
/// the nested cargo never waits for the outer one's lock.
fn library() -> &'static Path {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| {
        let target = Path::new(env!("CARGO_BIN_EXE_http-demo"))
            .parent()
            .unwrap()
            .parent()
            .unwrap()
            .join("ffi-lib");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args([
                "build",
                "--offline",
                "-q",
                "-p",
                "http-demo",
                "--lib",
                "--target-dir",
            ])
            .arg(&target)
            .current_dir(root())
            .env_remove("RUSTFLAGS")
            .status()
            .expect("run cargo");
        assert!(status.success(), "building libhttp_demo.so failed");
        let lib = target.join("debug").join("libhttp_demo.so");
        assert!(lib.exists(), "{lib:?}");
        lib
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_listening(port: u16, child: &mut common::KillOnDrop) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Some(status) = child.try_wait().unwrap() {
            let err = child.stderr_text();
            panic!("server exited early ({status}): {err}");
        }
        assert!(Instant::now() < deadline, "server did not start listening");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn post(port: u16, n: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "POST /{n} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = text.split_once("\r\n\r\n").unwrap().1.to_string();
    (status, body)
}

fn terminate(child: &mut common::KillOnDrop) -> std::process::ExitStatus {
    let rc = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(rc.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "did not exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn python(args: &[&str]) -> common::KillOnDrop {
    common::KillOnDrop(
        Command::new("python3")
            .args(args)
            .env("HTTP_DEMO_LIB", library())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 is installed"),
    )
}

#[test]
fn python_example_serves_its_fibonacci() {
    let port = free_port();
    let script = root().join("examples/python/fib_server.py");
    let mut child = python(&[
        script.to_str().unwrap(),
        "--addr",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--threads",
        "2",
    ]);
    wait_listening(port, &mut child);
    assert_eq!(post(port, "15"), (200, "610".into()));
    assert_eq!(post(port, "17"), (200, "1597".into()));
    let (status, body) = post(port, "93");
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("between 0 and 92"));
    // Several clients at once: ctypes callbacks from several server threads.
    let clients: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                (0..25).all(|i| post(port, &((t + i) % 30).to_string()).0 == 200)
            })
        })
        .collect();
    assert!(clients.into_iter().all(|c| c.join().unwrap()));
    // The stop function (called by the example on SIGTERM) ends it cleanly.
    let status = terminate(&mut child);
    assert!(status.success(), "{status:?}");
}

#[test]
fn python_exception_is_500_and_server_keeps_serving() {
    let port = free_port();
    let code = format!(
        "import sys; sys.path.insert(0, {dir:?}); import ring_server\n\
         def h(n):\n    if n == 13: raise RuntimeError('unlucky')\n    return n * 3\n\
         ring_server.run({port}, h, threads=2, addr='127.0.0.1')\n",
        dir = root().join("examples/python").to_str().unwrap(),
    );
    let mut child = python(&["-c", &code]);
    wait_listening(port, &mut child);
    assert_eq!(post(port, "4"), (200, "12".into()));
    let (status, body) = post(port, "13");
    assert_eq!(status, 500);
    assert!(body.contains("RuntimeError: unlucky"), "{body}");
    assert_eq!(post(port, "5"), (200, "15".into()));
    assert!(terminate(&mut child).success());
}

/// A Python handler that waits (with the GIL released, as `time.sleep`
/// and `Event.wait` do) does not hold up other requests, even on a single
/// I/O thread: it runs on the handler pool.
#[test]
fn python_handler_that_waits_does_not_hold_up_others() {
    let port = free_port();
    let code = format!(
        "import sys, threading; sys.path.insert(0, {dir:?}); import ring_server\n\
         ev = threading.Event()\n\
         def h(n):\n    if n == 1: ev.wait(20)\n    if n == 3: ev.set()\n    return n * 3\n\
         ring_server.run({port}, h, threads=1, addr='127.0.0.1')\n",
        dir = root().join("examples/python").to_str().unwrap(),
    );
    let mut child = python(&["-c", &code]);
    wait_listening(port, &mut child);
    let mut blocked = TcpStream::connect(("127.0.0.1", port)).unwrap();
    blocked
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        blocked,
        "POST /1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    // Answered while n=1 waits (post's read times out after 5 s otherwise).
    assert_eq!(post(port, "2"), (200, "6".into()));
    assert_eq!(post(port, "3"), (200, "9".into()));
    let mut text = String::new();
    blocked.read_to_string(&mut text).unwrap();
    assert!(text.ends_with("\r\n\r\n3"), "{text}");
    assert!(terminate(&mut child).success());
}

/// Return values that are not a C long, and `SystemExit`, are a 500 with
/// one log line (at most one a second), never a silent wrong answer.
#[test]
fn python_bad_return_values_are_500() {
    let port = free_port();
    let code = format!(
        "import sys; sys.path.insert(0, {dir:?}); import ring_server\n\
         def h(n):\n    if n == 1: return 2.9\n    if n == 2: return 2**64 + 5\n    \
         if n == 3: raise SystemExit(3)\n    if n == 4: return True\n    return n\n\
         ring_server.run({port}, h, threads=1, addr='127.0.0.1')\n",
        dir = root().join("examples/python").to_str().unwrap(),
    );
    let mut child = python(&["-c", &code]);
    wait_listening(port, &mut child);
    for n in ["1", "2", "3", "4"] {
        for _ in 0..20 {
            let (status, body) = post(port, n);
            assert_eq!(status, 500, "n={n}: {body}");
        }
    }
    assert_eq!(post(port, "7"), (200, "7".into()));
    assert!(terminate(&mut child).success());
    let err = child.stderr_text();
    assert!(!err.contains("Traceback"), "{err}");
    let lines = err.lines().filter(|l| l.contains("handler failed")).count();
    // 80 failures within a few seconds: one line a second at most.
    assert!((1..=10).contains(&lines), "{lines} lines: {err}");
    assert!(err.contains("float"), "{err}");
}

/// The README's C build and run commands, exactly as written there: the
/// one `cc` line and the one `./fib_server <port>` line of its indented
/// command blocks.
fn readme_c_commands() -> (String, String) {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let commands: Vec<&str> = readme
        .lines()
        .filter_map(|l| l.strip_prefix("    "))
        .collect();
    let one = |prefix: &str| {
        let found: Vec<&str> = commands
            .iter()
            .copied()
            .filter(|c| c.starts_with(prefix))
            .collect();
        assert_eq!(found.len(), 1, "README: one `{prefix}` command: {found:?}");
        found[0].to_string()
    };
    (one("cc "), one("./fib_server "))
}

#[test]
fn c_example_builds_and_answers_as_the_readme_says() {
    let lib = library();
    // The example compiles cleanly under strict warnings.
    let out = Command::new("cc")
        .args(["-fsyntax-only", "-Wall", "-Wextra", "-Werror"])
        .arg(root().join("examples/c/fib_server.c"))
        .arg(format!("-I{}", root().join("http-demo/include").display()))
        .output()
        .expect("cc is installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A directory laid out like the repository after `cargo build --release`,
    // its library the one this test run built.
    let dir = lib.parent().unwrap().join("readme-c");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("target/release")).unwrap();
    std::os::unix::fs::symlink(lib, dir.join("target/release/libhttp_demo.so")).unwrap();
    for sub in ["examples", "http-demo"] {
        std::os::unix::fs::symlink(root().join(sub), dir.join(sub)).unwrap();
    }
    let (build, run) = readme_c_commands();
    let out = Command::new("sh")
        .args(["-c", &build])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{build}: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The run line is `./fib_server <port>`; this test's port replaces the
    // README's. No LD_LIBRARY_PATH: the binary must find the library itself.
    let run = run.split('#').next().unwrap().trim();
    let (exe, readme_port) = run.split_once(' ').unwrap();
    assert!(readme_port.parse::<u16>().is_ok(), "{run}");
    let port = free_port();
    let mut child = common::KillOnDrop(
        Command::new("sh")
            .args(["-c", &format!("exec {exe} {port}")])
            .current_dir(&dir)
            .env_remove("LD_LIBRARY_PATH")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut banner = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut banner)
        .unwrap();
    assert!(
        banner.contains(&port.to_string()),
        "{banner:?} {}",
        child.stderr_text()
    );
    wait_listening(port, &mut child);
    assert_eq!(post(port, "15"), (200, "610".into()));
    assert_eq!(post(port, "-1").0, 422);
    assert!(terminate(&mut child).success());
}

/// Every `server_*` function the library exports is declared in the header,
/// and every declared one is exported.
#[test]
fn header_matches_exported_symbols() {
    let header = std::fs::read_to_string(root().join("http-demo/include/http_demo.h")).unwrap();
    let mut declared: Vec<String> = header
        .lines()
        .filter(|l| {
            !l.trim_start().starts_with("typedef")
                && !l.trim_start().starts_with('*')
                && !l.trim_start().starts_with("/*")
        })
        .filter_map(|l| {
            let i = l.find("server_")?;
            let name: String = l[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            l[i + name.len()..].starts_with('(').then_some(name)
        })
        .collect();
    declared.sort();
    declared.dedup();
    let nm = Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(library())
        .output()
        .expect("nm");
    assert!(nm.status.success());
    let mut exported: Vec<String> = String::from_utf8_lossy(&nm.stdout)
        .lines()
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let (_, kind, name) = (parts.next()?, parts.next()?, parts.next()?);
            (kind == "T" && name.starts_with("server_")).then(|| name.to_string())
        })
        .collect();
    exported.sort();
    assert_eq!(declared, exported);
    assert!(exported.len() >= 6, "{exported:?}");
}
