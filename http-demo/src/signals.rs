//! SIGINT/SIGTERM as a blocking wait, for graceful shutdown of the binary.
//!
//! The signals are blocked in the calling thread (and so in every thread it
//! spawns afterwards) and received with `sigwait` on a dedicated thread, so
//! no async-signal-safety rules apply to what happens next.

/// The blocked termination signals, ready to wait for.
#[derive(Debug)]
pub struct Signals {
    set: libc::sigset_t,
}

// SAFETY: a sigset_t is a plain bit mask with no thread affinity.
unsafe impl Send for Signals {}

/// Blocks SIGINT and SIGTERM in this thread. Call before spawning threads.
pub fn block_termination() -> std::io::Result<Signals> {
    // SAFETY: sigemptyset/sigaddset initialise and fill a local sigset_t
    // (zeroed is a valid starting value); pthread_sigmask only changes this
    // thread's mask and reads the set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        let rc = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        if rc != 0 {
            return Err(std::io::Error::from_raw_os_error(rc));
        }
        Ok(Signals { set })
    }
}

impl Signals {
    /// Waits for one of the signals; returns its name, or `None` on error.
    pub fn wait(&self) -> Option<&'static str> {
        let mut sig: libc::c_int = 0;
        // SAFETY: `set` is an initialised signal set, `sig` a valid out
        // pointer; sigwait blocks only this thread.
        let rc = unsafe { libc::sigwait(&self.set, &mut sig) };
        if rc != 0 {
            return None;
        }
        Some(match sig {
            libc::SIGINT => "SIGINT",
            libc::SIGTERM => "SIGTERM",
            _ => "signal",
        })
    }
}
