//! `netdx bench --onnx FILE`: an imported model's cost. How long the import takes (parse and
//! fold, then the plan's compilation on this adapter) and its training steps per second, bare
//! and fully instrumented, on seeded random data of the model's own input shape.

use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use super::steps::{step_figures, StepFigure};
use crate::config::Config;
use crate::data::{Dataset, SequenceInfo};
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::graph::{Graph, Op, Shape};
use crate::rng::SplitMix64;
use crate::train::{Instrumentation, Trainer};

#[derive(Clone, Debug, Serialize)]
pub struct OnnxFigure {
    pub file: String,
    /// One example's input dimensions.
    pub input: Vec<usize>,
    pub nodes: usize,
    pub parameters: usize,
    /// Reading, decoding, folding and mapping the file (best of several imports).
    pub import_seconds: f64,
    /// Building the first trainer: buffers, weights uploaded, pipelines compiled.
    pub compile_seconds: f64,
    pub steps: Vec<StepFigure>,
}

/// Values per example and classes of the data made for `graph`.
fn random_data(graph: &Graph, n: usize) -> Dataset {
    let mut rng = SplitMix64::new(17);
    let width = graph.input_len();
    let classes = graph.output_width();
    let positions = graph.predictions();
    let label =
        |rng: &mut SplitMix64, k: usize| ((rng.uniform() * k as f64) as usize).min(k - 1) as f32;
    match graph.input_shape() {
        Shape::Tokens(len) => {
            let vocab = graph
                .nodes
                .iter()
                .find_map(|n| match n.op {
                    Op::Embedding { vocab, .. } => Some(vocab),
                    _ => None,
                })
                .unwrap_or(classes);
            let x = (0..n * len).map(|_| label(&mut rng, vocab)).collect();
            let y = (0..n * positions)
                .map(|_| label(&mut rng, classes))
                .collect();
            let mut d = Dataset::new("random tokens", x, y, len, positions, Some(classes));
            d.sequence = Some(SequenceInfo {
                context: len,
                vocab,
            });
            d
        }
        shape => {
            let x = (0..n * width).map(|_| rng.normal() as f32).collect();
            let y = (0..n).map(|_| label(&mut rng, classes)).collect();
            let mut d = Dataset::new("random values", x, y, width, 1, Some(classes));
            if let Shape::Image(i) = shape {
                d.image = Some([i.channels, i.height, i.width]);
            }
            d
        }
    }
}

fn config(file: &Path, input: &[usize], batch: usize, steps: usize) -> Result<Config> {
    let text = format!(
        "model: {{onnx: {}, input: {input:?}}}\nloss: softmax_cross_entropy\ntraining: {{optimizer: {{name: sgd, lr: 0.001}}, batch_size: {batch}, steps: {steps}}}\ndata: {{builtin: blobs}}\n",
        serde_json::to_string(&file.display().to_string()).unwrap_or_default()
    );
    Config::parse(&text, Path::new("bench.yaml"))
}

/// Measures the model in `file`; `input` is its example's dimensions when the file leaves
/// them open.
pub fn onnx_figure(
    gpu: &Gpu,
    file: &Path,
    input: Option<&[usize]>,
    quick: bool,
    log: &mut dyn FnMut(&str),
) -> Result<OnnxFigure> {
    let file = std::path::absolute(file).map_err(|e| Error::Io {
        path: file.to_path_buf(),
        source: e,
    })?;
    // The data shape is the model's own: import once to learn it.
    let probe = crate::onnx::import_for_shape(&file, input)?;
    let dims = probe.input_shape().dims();
    let tokens = probe.takes_tokens();
    let mut import_seconds = f64::INFINITY;
    let mut graph = probe;
    for _ in 0..if quick { 3 } else { 10 } {
        let t = Instant::now();
        graph = crate::onnx::import(&file, Some(&dims), dims.iter().product(), tokens)?;
        import_seconds = import_seconds.min(t.elapsed().as_secs_f64());
    }
    log(&format!(
        "{}: {} nodes, {} parameters, imported in {:.1} ms",
        file.display(),
        graph.nodes.len(),
        graph.param_count(),
        import_seconds * 1e3
    ));
    let batch = if quick { 8 } else { 32 };
    let steps = if quick { 20 } else { 100 };
    let data = random_data(&graph, batch.max(64));
    let t = Instant::now();
    drop(Trainer::new(
        gpu,
        &config(&file, &dims, batch, steps)?,
        data.clone(),
        Instrumentation::Full,
        None,
    )?);
    let compile_seconds = t.elapsed().as_secs_f64();
    let figures = step_figures(
        gpu,
        "imported model",
        &[(batch, steps)],
        |b, s| Ok((config(&file, &dims, b, s)?, data.clone())),
        log,
    )?;
    Ok(OnnxFigure {
        file: file.display().to_string(),
        input: dims,
        nodes: graph.nodes.len(),
        parameters: graph.param_count(),
        import_seconds,
        compile_seconds,
        steps: figures,
    })
}

impl OnnxFigure {
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{} (input {:?}, {} nodes, {} parameters)\n  import (parse, fold, map) {:.1} ms; plan and pipelines {:.0} ms\n",
            self.file,
            self.input,
            self.nodes,
            self.parameters,
            self.import_seconds * 1e3,
            self.compile_seconds * 1e3
        );
        for f in &self.steps {
            s += &format!(
                "  batch {}: {:.1} steps/s bare, {:.1} fully instrumented (×{:.2}; ×{:.2} in GPU time), {:.1} instrumented every {}th step\n",
                f.batch,
                f.bare_steps_per_second,
                f.instrumented_steps_per_second,
                f.instrumentation_overhead,
                f.instrumentation_gpu_overhead,
                f.scheduled_steps_per_second,
                super::TRACK_EVERY
            );
        }
        s
    }
}
