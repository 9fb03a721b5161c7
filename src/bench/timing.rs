//! How the bench times things: best-of-n wall clock around completed submissions, each long
//! enough ([`MIN_TIMED_SECONDS`]) that submitting and waiting is a small part of it, and the
//! factors by which sizes and step counts grow on hardware GPUs. It measures no kernel itself.

use std::time::Instant;

use crate::error::Result;
use crate::gpu::{Dispatch, Gpu};

/// Best-of-`reps` seconds of `f`, after one warm-up call.
pub(super) fn best_of(reps: usize, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    f()?;
    let mut best = f64::INFINITY;
    for _ in 0..reps {
        let t = Instant::now();
        f()?;
        best = best.min(t.elapsed().as_secs_f64());
    }
    Ok(best)
}

/// A timed submission lasts at least this long, so that submitting and waiting (tens of
/// microseconds) is a small part of what is timed.
pub(super) const MIN_TIMED_SECONDS: f64 = 0.02;

/// Back-to-back launches in one timed submission, at most (4096 launches of a 5 µs kernel on a
/// GPU make the 20 ms).
const MAX_LAUNCHES: usize = 4096;

/// Seconds per launch of the dispatches `d`: the best of `reps` submissions, each of as many
/// back-to-back launches as one calibrating launch says will last [`MIN_TIMED_SECONDS`] (one
/// on a software adapter, many on a GPU).
pub(super) fn seconds_per_launch(gpu: &Gpu, d: &[Dispatch], reps: usize) -> Result<f64> {
    let one = best_of(1, || gpu.run(d))?;
    let launches = ((MIN_TIMED_SECONDS / one.max(1e-7)).ceil() as usize).clamp(1, MAX_LAUNCHES);
    let batch: Vec<Dispatch> = (0..launches).flat_map(|_| d.iter().cloned()).collect();
    Ok(best_of(reps, || gpu.run(&batch))? / launches as f64)
}

/// Problem sizes grow by this factor on hardware GPUs, whose caches hold the software adapter's
/// sizes and whose thousands of threads they would not fill.
pub(super) fn size_factor(gpu: &Gpu) -> usize {
    if is_software(gpu) {
        1
    } else {
        16
    }
}

/// Training steps measured grow by this factor on hardware GPUs, which run them hundreds of
/// times faster, so that each figure covers a good fraction of a second.
pub(super) fn step_factor(gpu: &Gpu) -> usize {
    if is_software(gpu) {
        1
    } else {
        25
    }
}

pub(super) fn is_software(gpu: &Gpu) -> bool {
    gpu.info().device_type == wgpu::DeviceType::Cpu
}
