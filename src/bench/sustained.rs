//! A long fully instrumented MLP run: does a step get slower, or allocate, as steps go on?

use std::time::Instant;

use serde::Serialize;

use super::workloads::mlp_config;
use crate::error::Result;
use crate::gpu::Gpu;
use crate::train::{Instrumentation, Trainer};

/// A long fully instrumented run: does a step get slower, or allocate, as steps go on?
#[derive(Clone, Debug, Serialize)]
pub struct SustainedFigure {
    pub batch: usize,
    pub steps: usize,
    /// Steps per second of each tenth of the run, in order.
    pub steps_per_second_by_tenth: Vec<f64>,
    /// The last tenth's rate over the first's: 1 when nothing grows from step to step.
    pub last_over_first: f64,
    /// The slowest tenth's rate over the fastest's: the run's noise.
    pub min_over_max: f64,
    /// Buffers, bind groups and pipelines created after the first step (none expected).
    pub objects_created: u64,
}

/// `steps` fully instrumented MLP steps at `batch`, timed by tenths, counting the GPU objects
/// created after the first step.
pub(super) fn sustained(gpu: &Gpu, batch: usize, steps: usize) -> Result<SustainedFigure> {
    let (config, dataset) = mlp_config(batch, steps + 1);
    let mut trainer = Trainer::new(gpu, &config, dataset, Instrumentation::Full, None)?;
    trainer.step(steps + 1)?;
    let created = gpu.objects_created();
    let tenth = (steps / 10).max(1);
    let mut rates = Vec::new();
    for _ in 0..steps / tenth {
        let t = Instant::now();
        for _ in 0..tenth {
            trainer.step(steps + 1)?;
        }
        rates.push(tenth as f64 / t.elapsed().as_secs_f64());
    }
    let max = rates.iter().copied().fold(0.0, f64::max);
    let min = rates.iter().copied().fold(f64::INFINITY, f64::min);
    Ok(SustainedFigure {
        batch,
        steps: tenth * rates.len(),
        last_over_first: rates[rates.len() - 1] / rates[0],
        min_over_max: min / max,
        steps_per_second_by_tenth: rates,
        objects_created: gpu.objects_created() - created,
    })
}
