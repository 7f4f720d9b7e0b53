//! Server settings and the command line.

use std::net::{IpAddr, Ipv4Addr};

use crate::conn::Limits;

/// Server settings. `Default` is what `cargo run -p http-demo` uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Address to listen on (default 0.0.0.0).
    pub addr: IpAddr,
    /// Port (default 8000; 0 picks a free one).
    pub port: u16,
    /// Worker threads, each with its own ring and SO_REUSEPORT listener
    /// (default: available CPUs).
    pub threads: usize,
    /// Per-connection limits and timeouts.
    pub limits: Limits,
    /// Use an SQPOLL kernel thread per ring.
    pub sqpoll: bool,
    /// Before a worker sleeps in its ring, how long it polls for a
    /// completion instead (µs; 0 = sleep at once). Spinning spends CPU time
    /// to sleep less: a client's request then needs no wake-up.
    pub spin_us: u32,
    /// SQ entries per ring.
    pub ring_entries: u32,
    /// Receive buffers per thread (a power of two).
    pub recv_buffers: u16,
    /// Size of each receive buffer.
    pub recv_buffer_size: u32,
    /// How long a graceful shutdown may take before connections are cut.
    pub shutdown_deadline_ms: u64,
    /// After `EMFILE`/`ENFILE` on accept, wait this long before accepting
    /// again (the condition is logged once per interval).
    pub accept_backoff_ms: u64,
    /// Listen backlog.
    pub backlog: u32,
    /// Open connections allowed, all threads together; past it a new
    /// connection gets `503` and is closed.
    pub max_connections: usize,
    /// Join other sockets already listening on the port (SO_REUSEPORT
    /// across processes). Off by default: a port in use is an error.
    pub reuse_port: bool,
    /// Threads that run a handler which may block
    /// ([`Handler::may_block`](crate::Handler::may_block)), all workers
    /// together; unused otherwise.
    pub handler_threads: usize,
}

/// Longest timeout or deadline accepted (one day, in ms).
pub const MAX_TIMEOUT_MS: u64 = 86_400_000;
/// Most receive-buffer memory, all threads together (512 MiB).
pub const MAX_RECV_MEMORY: u64 = 512 << 20;
/// Longest spin before a worker sleeps (10 ms).
pub const MAX_SPIN_US: u32 = 10_000;
/// Most worker threads.
pub const MAX_THREADS: usize = 1024;

impl Default for Config {
    fn default() -> Self {
        Config {
            addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port: 8000,
            threads: std::thread::available_parallelism().map_or(1, usize::from),
            limits: Limits::default(),
            sqpoll: false,
            spin_us: 0,
            ring_entries: 256,
            recv_buffers: 512,
            recv_buffer_size: 4096,
            shutdown_deadline_ms: 5_000,
            accept_backoff_ms: 100,
            backlog: 4096,
            max_connections: 16_384,
            reuse_port: false,
            handler_threads: 16,
        }
    }
}

/// The `--help` text.
pub const USAGE: &str = "\
http-demo: the fibonacci HTTP/1.1 server on io_uring

USAGE: http-demo [OPTIONS]

  POST /<n> answers the n-th Fibonacci number (0 <= n <= 92) as JSON.

OPTIONS:
  --addr <ip>                  address to listen on        [default: 0.0.0.0]
  --port <port>                port (0 = any free port)    [default: 8000]
  --threads <n>                worker threads, one ring each [default: CPUs]
  --reuse-port                 share the port with other servers already
                               listening on it (SO_REUSEPORT); without it a
                               port in use is an error
  --max-connections <n>        open connections; past it 503 + close
                                                           [default: 16384]
  --sqpoll                     use an SQPOLL kernel thread per ring
  --spin-us <us>               poll this long for a completion before a
                               worker sleeps (CPU for fewer wake-ups)
                                                           [default: 0]
  --max-header-bytes <n>       request head limit (431)    [default: 8192]
  --max-body-bytes <n>         request body limit (413)    [default: 1048576]
  --header-timeout-ms <ms>     stalled request -> 408      [default: 10000]
  --idle-timeout-ms <ms>       idle keep-alive close       [default: 60000]
  --send-timeout-ms <ms>       close a client that reads nothing for this
                               long while a response waits [default: 30000]
  --shutdown-deadline-ms <ms>  graceful shutdown limit     [default: 5000]
  --recv-buffers <n>           receive buffers per thread  [default: 512]
  --recv-buffer-size <bytes>   size of each                [default: 4096]
  --ring-entries <n>           SQ entries per ring         [default: 256]
  -h, --help                   print this help
";

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// Run with this configuration.
    Run(Config),
    /// Print [`USAGE`].
    Help,
}

impl Config {
    /// Parses command-line arguments (without the program name).
    pub fn from_args<I: IntoIterator<Item = String>>(args: I) -> Result<Command, String> {
        let mut c = Config::default();
        let mut it = args.into_iter();
        while let Some(arg) = it.next() {
            let (name, inline) = match arg.split_once('=') {
                Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
                _ => (arg.clone(), None),
            };
            if name == "-h" || name == "--help" {
                return Ok(Command::Help);
            }
            if name == "--sqpoll" {
                c.sqpoll = true;
                continue;
            }
            if name == "--reuse-port" {
                c.reuse_port = true;
                continue;
            }
            let mut value = || -> Result<String, String> {
                inline
                    .clone()
                    .or_else(|| it.next())
                    .ok_or_else(|| format!("{name} needs a value"))
            };
            fn num<T: std::str::FromStr>(name: &str, v: String) -> Result<T, String> {
                v.parse()
                    .map_err(|_| format!("{name}: invalid value {v:?}"))
            }
            match name.as_str() {
                "--addr" => c.addr = num(&name, value()?)?,
                "--port" => c.port = num(&name, value()?)?,
                "--threads" => c.threads = num(&name, value()?)?,
                "--max-header-bytes" => c.limits.max_header_bytes = num(&name, value()?)?,
                "--max-body-bytes" => c.limits.max_body_bytes = num(&name, value()?)?,
                "--header-timeout-ms" => c.limits.header_timeout_ms = num(&name, value()?)?,
                "--idle-timeout-ms" => c.limits.idle_timeout_ms = num(&name, value()?)?,
                "--send-timeout-ms" => c.limits.send_timeout_ms = num(&name, value()?)?,
                "--max-connections" => c.max_connections = num(&name, value()?)?,
                "--shutdown-deadline-ms" => c.shutdown_deadline_ms = num(&name, value()?)?,
                "--recv-buffers" => c.recv_buffers = num(&name, value()?)?,
                "--recv-buffer-size" => c.recv_buffer_size = num(&name, value()?)?,
                "--ring-entries" => c.ring_entries = num(&name, value()?)?,
                "--spin-us" => c.spin_us = num(&name, value()?)?,
                _ => return Err(format!("unknown option {arg:?} (see --help)")),
            }
        }
        c.validate()?;
        Ok(Command::Run(c))
    }

    /// Checks that the settings can work, before anything is allocated:
    /// each limit has a range, and the receive buffers of all threads
    /// together at most [`MAX_RECV_MEMORY`].
    pub fn validate(&self) -> Result<(), String> {
        if self.threads == 0 || self.threads > MAX_THREADS {
            return Err(format!("--threads must be between 1 and {MAX_THREADS}"));
        }
        if !self.recv_buffers.is_power_of_two() || self.recv_buffers > 32768 {
            return Err("--recv-buffers must be a power of two up to 32768".into());
        }
        if !(64..=1 << 20).contains(&self.recv_buffer_size) {
            return Err("--recv-buffer-size must be between 64 and 1048576".into());
        }
        let per_thread = u64::from(self.recv_buffers) * u64::from(self.recv_buffer_size);
        let total = per_thread.saturating_mul(self.threads as u64);
        if total > MAX_RECV_MEMORY {
            return Err(format!(
                "receive buffers would take {} MiB ({} threads x {} x {} bytes); at most {} MiB \
                 (lower --threads, --recv-buffers or --recv-buffer-size)",
                total >> 20,
                self.threads,
                self.recv_buffers,
                self.recv_buffer_size,
                MAX_RECV_MEMORY >> 20
            ));
        }
        if self.ring_entries == 0 || self.ring_entries > 32768 {
            return Err("--ring-entries must be between 1 and 32768".into());
        }
        if !(64..=1 << 20).contains(&self.limits.max_header_bytes) {
            return Err("--max-header-bytes must be between 64 and 1048576".into());
        }
        let l = &self.limits;
        for (name, ms) in [
            ("--header-timeout-ms", l.header_timeout_ms),
            ("--idle-timeout-ms", l.idle_timeout_ms),
            ("--send-timeout-ms", l.send_timeout_ms),
            ("linger_ms", l.linger_ms),
            ("--shutdown-deadline-ms", self.shutdown_deadline_ms),
            ("accept_backoff_ms", self.accept_backoff_ms),
        ] {
            if !(1..=MAX_TIMEOUT_MS).contains(&ms) {
                return Err(format!("{name} must be between 1 and {MAX_TIMEOUT_MS}"));
            }
        }
        if self.spin_us > MAX_SPIN_US {
            return Err(format!("--spin-us must be at most {MAX_SPIN_US}"));
        }
        if self.max_connections == 0 || self.max_connections > 1 << 24 {
            return Err("--max-connections must be between 1 and 16777216".into());
        }
        if self.handler_threads == 0 || self.handler_threads > MAX_THREADS {
            return Err(format!(
                "handler_threads must be between 1 and {MAX_THREADS}"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Command, String> {
        Config::from_args(s.split_whitespace().map(String::from))
    }

    #[test]
    fn defaults_and_options() {
        assert_eq!(parse("").unwrap(), Command::Run(Config::default()));
        let Command::Run(c) =
            parse("--port 0 --threads=2 --sqpoll --addr 127.0.0.1 --idle-timeout-ms 5").unwrap()
        else {
            panic!()
        };
        assert_eq!((c.port, c.threads, c.sqpoll), (0, 2, true));
        assert_eq!(c.addr.to_string(), "127.0.0.1");
        assert_eq!(c.limits.idle_timeout_ms, 5);
        assert_eq!(c.spin_us, 0);
        let Command::Run(c) = parse("--spin-us 20").unwrap() else {
            panic!()
        };
        assert_eq!(c.spin_us, 20);
        assert_eq!(parse("--help").unwrap(), Command::Help);
    }

    #[test]
    fn bad_arguments_are_clear_errors() {
        assert!(parse("--port").unwrap_err().contains("needs a value"));
        assert!(parse("--port x").unwrap_err().contains("invalid value"));
        assert!(parse("--nope").unwrap_err().contains("unknown option"));
        assert!(parse("--threads 0").unwrap_err().contains("between 1 and"));
        assert!(parse("--recv-buffers 3")
            .unwrap_err()
            .contains("power of two"));
        assert!(parse("--threads 1000").unwrap_err().contains("MiB"));
        assert!(parse("--threads 1025")
            .unwrap_err()
            .contains("between 1 and"));
        assert!(parse("--recv-buffer-size 4294967295")
            .unwrap_err()
            .contains("between 64 and"));
        assert!(parse("--header-timeout-ms 0")
            .unwrap_err()
            .contains("--header-timeout-ms must be"));
        assert!(parse("--send-timeout-ms 0").is_err());
        assert!(parse("--idle-timeout-ms 99999999999999").is_err());
        assert!(parse("--max-connections 0").is_err());
        assert!(parse("--spin-us 10001")
            .unwrap_err()
            .contains("--spin-us must be at most"));
    }
}
