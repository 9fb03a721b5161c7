//! Ctrl-C and SIGTERM. While netdx only reads its inputs (a config, data, perhaps from a pipe
//! that blocks), the first one ends the process at once (exit 130). Once a device is open or a
//! run record started ([`graceful`]), the first one sets a flag that the step loop reads after
//! each step, so the step in flight finishes, every record is written, and the run ends as
//! interrupted (exit 130). The second one ends the process at once (exit 130): the signal
//! handler wakes a watcher thread, which runs the hook the run record registered (it marks the
//! record `interrupted`) and calls `_exit`. The handler itself only does async-signal-safe work
//! (atomics, `write`, `signal`, `alarm`, `_exit`); should the watcher not finish within
//! [`FORCE_GRACE_SECONDS`], SIGALRM ends the process anyway, and a third signal kills it.
//!
//! This module must not reach up to the run records: they register their hook here.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::sync::Mutex;

static REQUESTED: AtomicBool = AtomicBool::new(false);
/// Whether work that winds down on the flag has begun (a device opened, a record started).
/// Before it, netdx only reads its inputs — perhaps from a pipe that blocks in `read`, where
/// the flag would never be looked at — and the first signal ends the process at once.
static GRACEFUL: AtomicBool = AtomicBool::new(false);
/// The process is ending on a first signal that came before [`graceful`].
static EARLY: AtomicBool = AtomicBool::new(false);
static COUNT: AtomicUsize = AtomicUsize::new(0);
/// The write end of the pipe that wakes the watcher thread; -1 without one.
static WAKE_FD: AtomicI32 = AtomicI32::new(-1);
/// What the watcher runs before ending the process on the second signal.
static FORCED_EXIT_HOOK: Mutex<Option<fn()>> = Mutex::new(None);

/// Seconds the watcher has to run the hook after a second signal before SIGALRM ends the
/// process.
pub const FORCE_GRACE_SECONDS: u32 = 3;

/// Whether an interrupt was requested.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::Relaxed)
}

/// From now on the first signal only sets the flag, which the loops read (the device is open
/// or a record is being written); before, it ends the process at once.
pub fn graceful() {
    GRACEFUL.store(true, Ordering::Relaxed);
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

/// Sets what runs (on the watcher thread) before a second signal ends the process: the run
/// record marks itself interrupted.
pub fn on_forced_exit(hook: fn()) {
    if let Ok(mut h) = FORCED_EXIT_HOOK.lock() {
        *h = Some(hook);
    }
}

#[cfg(unix)]
extern "C" fn on_signal(signal: libc::c_int) {
    // Only async-signal-safe work here: atomics, signal(), alarm(), write() and _exit().
    REQUESTED.store(true, Ordering::Relaxed);
    let again = COUNT.fetch_add(1, Ordering::Relaxed) >= 1;
    // Before any loop reads the flag, the first signal ends the process as a second one does.
    let early = !GRACEFUL.load(Ordering::Relaxed);
    if early && !again {
        EARLY.store(true, Ordering::Relaxed);
    }
    if again || early {
        // SAFETY: all four calls are async-signal-safe; the byte written lives on the stack.
        unsafe {
            // A third signal of this kind kills the process.
            libc::signal(signal, libc::SIG_DFL);
            // If the watcher cannot finish, SIGALRM (default: terminate) ends the process.
            libc::alarm(FORCE_GRACE_SECONDS);
            let fd = WAKE_FD.load(Ordering::Relaxed);
            let byte = 1u8;
            if fd < 0 || libc::write(fd, (&byte as *const u8).cast(), 1) != 1 {
                libc::_exit(130);
            }
        }
    }
}

/// The watcher: waits for the handler's byte, runs the hook, ends the process.
#[cfg(unix)]
fn watch(read_fd: libc::c_int) {
    let mut byte = 0u8;
    loop {
        // SAFETY: reads at most one byte into a local.
        let n = unsafe { libc::read(read_fd, (&mut byte as *mut u8).cast(), 1) };
        if n == 1 {
            break;
        }
        if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        // The pipe broke: the handler ends the process itself from now on.
        WAKE_FD.store(-1, Ordering::Relaxed);
        return;
    }
    let hook = match FORCED_EXIT_HOOK.lock() {
        Ok(h) => *h,
        Err(poisoned) => *poisoned.into_inner(),
    };
    if let Some(hook) = hook {
        hook();
    }
    let message: &[u8] = if EARLY.load(Ordering::Relaxed) {
        b"\ninterrupted while reading the inputs: ended at once (exit 130)\n"
    } else {
        b"\ninterrupted again: ended at once (exit 130)\n"
    };
    // SAFETY: writes a static message to stderr (unbuffered, no lock that another thread may
    // hold), then ends the process without running destructors, as a second Ctrl-C asks; the
    // record was written by the hook.
    unsafe {
        libc::write(2, message.as_ptr().cast(), message.len());
        libc::_exit(130)
    }
}

/// Installs the handler for SIGINT and SIGTERM and starts the watcher thread (the binary
/// calls this once at start).
pub fn install() {
    #[cfg(unix)]
    {
        let mut fds = [-1 as libc::c_int; 2];
        // SAFETY: pipe writes two descriptors into fds.
        if unsafe { libc::pipe(fds.as_mut_ptr()) } == 0 {
            for fd in fds {
                // SAFETY: marks our own descriptors close-on-exec (a child must not keep them).
                unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
            }
            let read_fd = fds[0];
            let spawned = std::thread::Builder::new()
                .name("netdx-signals".into())
                .spawn(move || watch(read_fd));
            if spawned.is_ok() {
                WAKE_FD.store(fds[1], Ordering::Relaxed);
            }
        }
        // SAFETY: the handler does only async-signal-safe work (see on_signal).
        unsafe {
            let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::signal(libc::SIGINT, handler);
            libc::signal(libc::SIGTERM, handler);
        }
    }
}
