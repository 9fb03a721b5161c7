//! Ctrl-C and SIGTERM: the first one sets a flag that the step loop reads after each step, so
//! the step in flight finishes, every record is written, and the run ends as interrupted (exit
//! 130). A second signal, or a third, restores the default and ends the process at once.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);
static COUNT: AtomicUsize = AtomicUsize::new(0);

/// Whether an interrupt was requested.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::Relaxed)
}

/// Requests an interrupt (what the signal handler does; also for tests).
pub fn request() {
    REQUESTED.store(true, Ordering::Relaxed);
}

/// Clears the flag (tests that interrupt a run in-process).
pub fn clear() {
    REQUESTED.store(false, Ordering::Relaxed);
    COUNT.store(0, Ordering::Relaxed);
}

#[cfg(unix)]
extern "C" fn on_signal(signal: libc::c_int) {
    // Only async-signal-safe work here: atomics, and re-arming the default disposition.
    REQUESTED.store(true, Ordering::Relaxed);
    if COUNT.fetch_add(1, Ordering::Relaxed) >= 1 {
        // SAFETY: signal() is async-signal-safe; the next signal of this kind kills us.
        unsafe {
            libc::signal(signal, libc::SIG_DFL);
        }
    }
}

/// Installs the handler for SIGINT and SIGTERM (the binary calls this once at start).
pub fn install() {
    #[cfg(unix)]
    // SAFETY: the handler only touches atomics and calls signal(), both async-signal-safe.
    unsafe {
        let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
}
