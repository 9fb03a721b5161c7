//! Check intermediate outputs, for kernels users write: each user activation's `backward`
//! against central finite differences of its own `forward`, both evaluated on the GPU in f32,
//! at points spread over the declared input range and beside each declared kink — the WGSL
//! counterpart of PyTorch's `gradcheck` for custom autograd functions.
//!
//! f32 finite differences, fourth order: f' ≈ (8(f(x+h) − f(x−h)) − (f(x+2h) − f(x−2h))) / 12h,
//! whose truncation error (h⁴|f⁽⁵⁾|/30) allows a step large enough that rounding (≈ ε|f|/h)
//! stays small: h = 2⁻⁵ · max(1, |x|) rounded down to a power of two, so that the stencil is
//! exact in f32 for the spread points. Points beside a kink sit 1e-3 to 0.3 from it, with
//! h = distance/3 so that the stencil never reaches the kink; a spread point whose stencil
//! [x − 2h, x + 2h] contains a kink is left out. Error |a − n| / max(|a|, |n|, 1e-2 · RMS of
//! the numeric derivatives) — the floor keeps points where the derivative crosses zero from
//! being judged against their own rounding noise. Measured on llvmpipe (Vulkan and GL): swish
//! over [−6, 6] worst 7.9e-5; its backward with one term of the product rule dropped, 2.0.
//!
//! The f64 mirror of the file (`reference::wgsl_eval`) is checked at the same points with
//! h = 1e-6 and reported beside (it agrees to ~1e-9 when the backward is right), as is the
//! GPU's forward against the mirror's.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{grade_upper, Check, Context, Finding, ParamDoc, Section, Verdict};
use crate::error::Result;
use crate::gpu::Gpu;
use crate::kernels::user::{self, UserActivation};
use crate::kernels::ActivationParams;
use crate::model::LayerSpec;
use crate::ops::Activation;

pub struct KernelGradientCheck;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    /// Points spread evenly over the range (ends included).
    pub samples: usize,
    pub warn: f64,
    pub fail: f64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            samples: 257,
            warn: 1e-3,
            fail: 1e-2,
        }
    }
}

/// One evaluated point.
#[derive(Clone, Debug, Serialize)]
pub struct Point {
    pub x: f64,
    pub analytic: f64,
    pub numeric: f64,
    pub relative_error: f64,
}

/// What the check found for one user activation.
#[derive(Clone, Debug, Serialize)]
pub struct KernelReport {
    pub kernel: String,
    pub file: String,
    /// The worst points, worst first.
    pub worst: Vec<Point>,
    pub checked: usize,
    /// Evenly spread points left out because their stencil contains a kink.
    pub beside_kinks_left_out: usize,
    /// The f64 mirror's own backward against its finite differences.
    pub mirror_worst_relative_error: f64,
    /// The GPU's forward against the mirror's, relative to max(|y|, 1e-3).
    pub forward_vs_mirror: f64,
}

impl KernelReport {
    pub fn worst_error(&self) -> f64 {
        self.worst.first().map_or(0.0, |p| p.relative_error)
    }
}

/// The finite-difference step at `x`: 2⁻⁵ · max(1, |x|), rounded down to a power of two.
fn step(x: f64) -> f64 {
    (x.abs().max(1.0) / 32.0).log2().floor().exp2()
}

/// The points to probe as (x, h): `samples` spread over `range`, and 1e-3…0.3 either side of
/// each kink. Returns them and how many spread points were dropped for straddling a kink.
pub fn points(range: [f64; 2], kinks: &[f64], samples: usize) -> (Vec<(f64, f64)>, usize) {
    let [lo, hi] = range;
    let n = samples.max(2);
    let mut out = Vec::new();
    let mut dropped = 0;
    for i in 0..n {
        // On the f32 grid, so that the stencil below is exact.
        let x = (lo + (hi - lo) * i as f64 / (n - 1) as f64) as f32 as f64;
        let h = step(x);
        if kinks
            .iter()
            .any(|k| (x - 2.0 * h..=x + 2.0 * h).contains(k))
        {
            dropped += 1;
        } else {
            out.push((x, h));
        }
    }
    for &k in kinks {
        for d in [1e-3, 1e-2, 0.1, 0.3] {
            let d = d * k.abs().max(1.0);
            out.push((k - d, d / 3.0));
            out.push((k + d, d / 3.0));
        }
    }
    (out, dropped)
}

/// Probes `activation` at `points` (x, h) on the GPU: per point (forward, backward at dy = 1,
/// fourth-order finite difference), the stencil rounded to f32 and the difference taken over
/// the rounded spacing.
pub fn probe(
    gpu: &Gpu,
    activation: &UserActivation,
    points: &[(f64, f64)],
) -> Result<Vec<(f64, f64, f64)>> {
    let mut stencil = Vec::with_capacity(5 * points.len());
    for &(x, h) in points {
        stencil.extend([x, x + h, x - h, x + 2.0 * h, x - 2.0 * h].map(|v| v as f32));
    }
    let xs = points;
    let kernel = activation.probe;
    let u = gpu.uniform(
        "kernel_gradient_check",
        &ActivationParams {
            n: xs.len() as u32,
            slope: 0.0,
            _pad: [0; 2],
        },
    )?;
    let input = gpu.tensor_from("kernel_gradient_check.points", &stencil)?;
    let out = gpu.tensor(
        "kernel_gradient_check.values",
        6 * xs.len(),
        crate::gpu::TensorUsage::Storage,
    )?;
    let d = gpu.dispatch(
        kernel,
        &activation.constants(),
        &[&u, &input.buffer, &out.buffer],
        gpu.groups_1d(kernel, xs.len()),
    )?;
    gpu.run(&[d])?;
    let values: Vec<f32> = gpu.read(&out)?;
    Ok(values
        .chunks(6)
        .zip(stencil.chunks(5))
        .map(|(v, s)| {
            let f = |i: usize| v[i] as f64;
            // The spacing as rounded: h from the inner pair (equal to half the outer's when
            // the stencil is exact).
            let h = (s[1] as f64 - s[2] as f64) / 2.0;
            let numeric = (8.0 * (f(2) - f(3)) - (f(4) - f(5))) / (12.0 * h);
            (f(0), f(1), numeric)
        })
        .collect())
}

/// Grades one user activation.
pub fn check_kernel(
    gpu: &Gpu,
    activation: &UserActivation,
    samples: usize,
) -> Result<KernelReport> {
    let spec = &activation.spec;
    let (xs, dropped) = points(spec.range, &spec.kinks, samples);
    let values = probe(gpu, activation, &xs)?;
    let rms = (values.iter().map(|v| v.2 * v.2).sum::<f64>() / values.len().max(1) as f64).sqrt();
    let floor = (1e-2 * rms).max(1e-12);
    let relative = |a: f64, n: f64| {
        let r = (a - n).abs() / a.abs().max(n.abs()).max(floor);
        if r.is_finite() {
            r
        } else {
            f64::INFINITY
        }
    };
    let mut all: Vec<Point> = xs
        .iter()
        .zip(&values)
        .map(|(&(x, _), &(_, a, n))| Point {
            x: x as f32 as f64,
            analytic: a,
            numeric: n,
            relative_error: relative(a, n),
        })
        .collect();
    all.sort_by(|p, q| q.relative_error.total_cmp(&p.relative_error));
    all.truncate(5);

    let (mut mirror_worst, mut forward_worst) = (0.0f64, 0.0f64);
    for (&(x, _), &(y_gpu, _, _)) in xs.iter().zip(&values) {
        let h = 1e-6 * x.abs().max(1.0);
        let n = (activation.forward_f64(x + h) - activation.forward_f64(x - h)) / (2.0 * h);
        let a = activation.backward_f64(x, 1.0);
        mirror_worst = mirror_worst.max(relative(a, n));
        let y = activation.forward_f64(x as f32 as f64);
        let d = (y_gpu - y).abs() / y.abs().max(1e-3);
        forward_worst = forward_worst.max(if d.is_finite() { d } else { f64::INFINITY });
    }
    Ok(KernelReport {
        kernel: activation.name.to_string(),
        file: spec.file.display().to_string(),
        worst: all,
        checked: xs.len(),
        beside_kinks_left_out: dropped,
        mirror_worst_relative_error: mirror_worst,
        forward_vs_mirror: forward_worst,
    })
}

/// The distinct user activations of a model, in layer order.
fn user_activations(ctx: &Context) -> Vec<u32> {
    let mut ids = Vec::new();
    for l in &ctx.model.layers {
        if let LayerSpec::Activation {
            kind: Activation::User(id),
            ..
        } = l.spec
        {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    ids
}

impl Check for KernelGradientCheck {
    const NAME: &'static str = "kernel_gradient_check";
    const SECTION: Section = Section::IntermediateOutputs;
    const SUMMARY: &'static str =
        "each user WGSL activation's backward against finite differences of its forward, on the GPU, over its range and beside its kinks";
    const PARAMS: &'static [ParamDoc] = &[
        ParamDoc {
            name: "samples",
            doc: "points spread over each kernel's range",
        },
        ParamDoc {
            name: "warn",
            doc: "relative error that warns",
        },
        ParamDoc {
            name: "fail",
            doc: "relative error that fails",
        },
    ];
    type Params = Params;

    fn run(ctx: &mut Context, p: &Params) -> Result<Finding> {
        let ids = user_activations(ctx);
        if ids.is_empty() {
            return Ok(Finding::new(
                Self::NAME,
                Self::SECTION,
                Verdict::Skip,
                "worst relative error",
            )
            .message("the model has no user WGSL kernels (layers written `{wgsl: FILE}`)"));
        }
        let reports = ids
            .iter()
            .map(|&id| check_kernel(ctx.gpu, user::get(id), p.samples))
            .collect::<Result<Vec<_>>>()?;
        let worst = reports
            .iter()
            .max_by(|a, b| a.worst_error().total_cmp(&b.worst_error()))
            .expect("at least one kernel");
        let rel = worst.worst_error();
        let verdict = grade_upper(rel, p.warn, p.fail);
        let checked: usize = reports.iter().map(|r| r.checked).sum();
        let f = Finding::new(Self::NAME, Self::SECTION, verdict, "worst relative error")
            .measured(rel)
            .threshold(format!("≤ {:e} (warn ≤ {:e})", p.warn, p.fail))
            .margin(p.warn - rel)
            .window(format!(
                "{checked} points over {} kernel(s); f32 central differences on the GPU",
                reports.len()
            ))
            .details(json!({ "kernels": reports }));
        let at = worst.worst.first().expect("points were checked");
        let mirror = format!(
            "the f64 mirror of {} agrees: its backward vs its finite differences {:.1e}",
            worst.file, worst.mirror_worst_relative_error
        );
        Ok(match verdict {
            Verdict::Pass => f.message(format!(
                "backward matches forward for {} (worst {rel:.1e} at x = {:.6}); {mirror}",
                reports
                    .iter()
                    .map(|r| r.kernel.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                at.x
            )),
            _ => f
                .message(format!(
                    "{} ({}): at x = {:.6} backward gives {:.6e}, finite differences of forward {:.6e} (relative error {rel:.1e}); next worst at x = {}; f64 mirror: {:.1e}",
                    worst.kernel,
                    worst.file,
                    at.x,
                    at.analytic,
                    at.numeric,
                    worst
                        .worst
                        .iter()
                        .skip(1)
                        .map(|p| format!("{:.4}", p.x))
                        .collect::<Vec<_>>()
                        .join(", "),
                    worst.mirror_worst_relative_error
                ))
                .fix("`backward(x, y, dy)` must return dy · forward'(x): re-derive it at the worst points; if the mistake is only near a kink, declare the kink (`kinks: [..]`)"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_spread_over_the_range_and_never_straddle_a_kink() {
        let (xs, dropped) = points([-1.0, 1.0], &[0.0], 201);
        // Spacing 0.01, h = 1/32: the stencil of x reaches 2h = 0.0625 either side.
        assert_eq!(
            dropped, 13,
            "x = -0.06 … 0.06 have the kink in their stencil"
        );
        assert_eq!(xs.len(), 201 - 13 + 8);
        for (x, h) in xs {
            assert!(!(x - 2.0 * h..=x + 2.0 * h).contains(&0.0), "{x}");
        }
    }
}
