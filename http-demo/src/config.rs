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
}

impl Default for Config {
    fn default() -> Self {
        Config {
            addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port: 8000,
            threads: std::thread::available_parallelism().map_or(1, usize::from),
            limits: Limits::default(),
            sqpoll: false,
            ring_entries: 256,
            recv_buffers: 512,
            recv_buffer_size: 4096,
            shutdown_deadline_ms: 5_000,
            accept_backoff_ms: 100,
            backlog: 4096,
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
  --sqpoll                     use an SQPOLL kernel thread per ring
  --max-header-bytes <n>       request head limit (431)    [default: 8192]
  --max-body-bytes <n>         request body limit (413)    [default: 1048576]
  --header-timeout-ms <ms>     stalled request -> 408      [default: 10000]
  --idle-timeout-ms <ms>       idle keep-alive close       [default: 60000]
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
                "--shutdown-deadline-ms" => c.shutdown_deadline_ms = num(&name, value()?)?,
                "--recv-buffers" => c.recv_buffers = num(&name, value()?)?,
                "--recv-buffer-size" => c.recv_buffer_size = num(&name, value()?)?,
                "--ring-entries" => c.ring_entries = num(&name, value()?)?,
                _ => return Err(format!("unknown option {arg:?} (see --help)")),
            }
        }
        c.validate()?;
        Ok(Command::Run(c))
    }

    /// Checks that the settings can work.
    pub fn validate(&self) -> Result<(), String> {
        if self.threads == 0 {
            return Err("--threads must be at least 1".into());
        }
        if !self.recv_buffers.is_power_of_two() || self.recv_buffers > 32768 {
            return Err("--recv-buffers must be a power of two up to 32768".into());
        }
        if self.recv_buffer_size < 64 {
            return Err("--recv-buffer-size must be at least 64".into());
        }
        if self.ring_entries == 0 || self.ring_entries > 32768 {
            return Err("--ring-entries must be between 1 and 32768".into());
        }
        if self.limits.max_header_bytes < 64 {
            return Err("--max-header-bytes must be at least 64".into());
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
        assert_eq!(parse("--help").unwrap(), Command::Help);
    }

    #[test]
    fn bad_arguments_are_clear_errors() {
        assert!(parse("--port").unwrap_err().contains("needs a value"));
        assert!(parse("--port x").unwrap_err().contains("invalid value"));
        assert!(parse("--nope").unwrap_err().contains("unknown option"));
        assert!(parse("--threads 0").unwrap_err().contains("at least 1"));
        assert!(parse("--recv-buffers 3")
            .unwrap_err()
            .contains("power of two"));
    }
}
