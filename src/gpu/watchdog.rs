//! Every wait for the GPU is bounded, including those a driver makes inside a call that takes
//! no timeout: GL on llvmpipe runs the work inside `submit` itself, and dropping a Vulkan
//! device waits for its queue to go idle. Calls that may block are wrapped in [`guard`]; when
//! one outlives the GPU timeout by a margin, a watchdog thread prints the typed error, lets the
//! binary's hook mark the run record crashed, and ends the process: a driver stuck in a kernel
//! cannot be interrupted from the thread that called it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Calls in progress: id → (started, what was being waited for).
static IN_FLIGHT: Mutex<Option<HashMap<u64, (Instant, String)>>> = Mutex::new(None);
static NEXT_ID: AtomicU64 = AtomicU64::new(0);
static WATCHER: OnceLock<()> = OnceLock::new();
/// What the binary does with the error before the process ends (marks the run record).
type FatalHook = Box<dyn Fn(&str) + Send + Sync>;
static ON_FATAL: Mutex<Option<FatalHook>> = Mutex::new(None);

/// How long a guarded call may run past the GPU timeout before the watchdog acts: long enough
/// for a wait that does honour the timeout to return its own, richer error first.
const MARGIN: Duration = Duration::from_secs(5);

/// Exit code of a run ended by the watchdog: a failure while running, as a typed
/// `waiting for the GPU failed` error is.
const EXIT_CODE: i32 = 1;

/// Sets what runs before the watchdog ends the process (the binary marks the open run record
/// crashed with the message).
pub fn on_fatal(hook: impl Fn(&str) + Send + Sync + 'static) {
    if let Ok(mut h) = ON_FATAL.lock() {
        *h = Some(Box::new(hook));
    }
}

/// A call that may block in the driver, watched while the guard lives.
pub struct Guard {
    id: u64,
}

/// Watches the call `what` until the returned guard drops; `timeout` is the GPU timeout.
pub fn guard(what: &str, timeout: Duration) -> Guard {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    if let Ok(mut calls) = IN_FLIGHT.lock() {
        calls
            .get_or_insert_with(HashMap::new)
            .insert(id, (Instant::now(), what.to_string()));
    }
    WATCHER.get_or_init(|| {
        let _ = std::thread::Builder::new()
            .name("netdx-gpu-watchdog".into())
            .spawn(move || watch(timeout));
    });
    Guard { id }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Ok(mut calls) = IN_FLIGHT.lock() {
            if let Some(calls) = calls.as_mut() {
                calls.remove(&self.id);
            }
        }
    }
}

/// The oldest call in flight and how long it has run.
fn oldest() -> Option<(Duration, String)> {
    let calls = IN_FLIGHT.lock().ok()?;
    calls
        .as_ref()?
        .values()
        .min_by_key(|(started, _)| *started)
        .map(|(started, what)| (started.elapsed(), what.clone()))
}

fn watch(timeout: Duration) {
    let limit = timeout + MARGIN;
    let tick = (timeout / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
    loop {
        std::thread::sleep(tick);
        let Some((elapsed, what)) = oldest() else {
            continue;
        };
        if elapsed < limit {
            continue;
        }
        let message = format!(
            "waiting for the GPU failed: {what}: no answer from the driver after {:.1} s (NETDX_GPU_TIMEOUT_S sets how long a wait may take; default 600 s)",
            elapsed.as_secs_f64()
        );
        eprintln!("error: {message}");
        if let Ok(hook) = ON_FATAL.lock() {
            if let Some(hook) = hook.as_ref() {
                hook(&message);
            }
        }
        // The calling thread is inside the driver: no unwinding or destructor reaches it, and
        // the driver's exit handlers may wait for the same work, so end without them.
        use std::io::Write;
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
        #[cfg(unix)]
        // SAFETY: _exit ends the process without running atexit handlers; every buffer that
        // matters was flushed above and the record was written by the hook.
        unsafe {
            libc::_exit(EXIT_CODE)
        };
        #[cfg(not(unix))]
        std::process::exit(EXIT_CODE);
    }
}
