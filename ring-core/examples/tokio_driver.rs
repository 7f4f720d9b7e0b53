//! ring-core's futures driven by tokio instead of the built-in executor: a
//! task on a current-thread runtime turns the driver whenever the ring's
//! fd is readable (completions are ready) or futures pushed operations.
//! The ring's futures and tokio's own run side by side in one `LocalSet`.
//!
//! The one `unsafe` is tokio's: registering an fd with its reactor.
//!
//! `cargo run -p ring-core --example tokio_driver`

use std::io;
use std::time::{Duration, Instant};

use ring_core::owned::SharedFd;
use ring_core::rt::Driver;
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// Turns `driver` for as long as it runs.
async fn drive(driver: Driver) -> io::Result<()> {
    // SAFETY: the `AsyncFd` owns a `Driver` handle, which keeps the ring
    // (and so its fd) open; `as_raw_fd` always returns that ring's fd.
    let ring_fd = unsafe { AsyncFd::register_with_interest(driver.clone(), Interest::READABLE)? };
    loop {
        driver.turn()?;
        tokio::select! {
            ready = ring_fd.readable() => ready?.clear_ready(),
            () = driver.pushed() => {}
        }
    }
}

fn main() -> io::Result<()> {
    let tokio_rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    let local = tokio::task::LocalSet::new();
    let driver = Driver::new(64)?;
    local.spawn_local(drive(driver.clone()));
    local.block_on(&tokio_rt, async move {
        let start = Instant::now();
        driver.sleep(Duration::from_millis(10)).await?;
        let file = SharedFd::new(std::fs::File::open("/proc/self/stat")?);
        let (n, buf) = driver.read(&file, vec![0u8; 64]).await;
        let n = n?;
        println!(
            "slept {:?} in the ring, then read {n} bytes: {}",
            start.elapsed(),
            String::from_utf8_lossy(&buf[..n.min(20)])
        );
        Ok(())
    })
}
