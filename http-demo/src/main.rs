//! `cargo run --release -p http-demo`: the fibonacci server on port 8000.

use std::process::ExitCode;

use http_demo::config::{Command, Config, USAGE};
use http_demo::{fibonacci, Server};

fn main() -> ExitCode {
    let config = match Config::from_args(std::env::args().skip(1)) {
        Ok(Command::Run(c)) => c,
        Ok(Command::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("http-demo: {e}");
            return ExitCode::from(2);
        }
    };
    // Block SIGINT/SIGTERM before any worker starts (threads inherit the
    // mask), and take them synchronously on a thread of their own.
    let signals = match http_demo::signals::block_termination() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("http-demo: cannot set up signal handling: {e}");
            return ExitCode::FAILURE;
        }
    };
    let threads = config.threads;
    let server = match Server::bind(config, fibonacci) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("http-demo: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "http-demo listening on http://{} ({threads} thread{}); try: curl -X POST http://localhost:{}/15",
        server.local_addr(),
        if threads == 1 { "" } else { "s" },
        server.local_addr().port()
    );
    let handle = server.shutdown_handle();
    std::thread::spawn(move || {
        if let Some(sig) = signals.wait() {
            eprintln!("http-demo: {sig}, shutting down (again to exit at once)");
            handle.shutdown();
        }
        // A second signal: the operator does not want to wait for the
        // graceful shutdown's deadline.
        if let Some(sig) = signals.wait() {
            eprintln!("http-demo: {sig} again, exiting now");
            std::process::exit(1);
        }
    });
    match server.run() {
        Ok(()) => {
            eprintln!("http-demo: stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("http-demo: {e}");
            ExitCode::FAILURE
        }
    }
}
