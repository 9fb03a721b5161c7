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

use serde::Serialize;
use serde_json::json;

use super::{grade_upper, Check, Context, Finding, ParamDoc, Section, Verdict};
pub use crate::config::check_params::kernel_gradient_check::Params;
use crate::error::Result;
use crate::gpu::Gpu;
use crate::graph::Op;
use crate::kernels::user::{self, UserActivation};
use crate::kernels::user_loss::UserLoss;
use crate::kernels::ActivationParams;
use crate::ops::Activation;

pub struct KernelGradientCheck;

/// One evaluated point.
#[derive(Clone, Debug, Serialize)]
pub struct Point {
    /// The input (an activation's x, or the logit a loss was differentiated by).
    pub x: f64,
    /// Where, in words: `x = 0.515625`, or `example 3 (target 2), logit 1 = 0.75`.
    pub at: String,
    pub analytic: f64,
    pub numeric: f64,
    /// |analytic − numeric| beyond `noise`, relative (what is graded).
    pub relative_error: f64,
    /// The f32 rounding the finite difference itself may carry at this point.
    pub noise: f64,
}

/// What the check found for one user kernel.
#[derive(Clone, Debug, Serialize)]
pub struct KernelReport {
    pub kernel: String,
    /// `activation` (backward vs forward) or `loss` (grad vs loss).
    pub role: &'static str,
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

/// The rounding error a fourth-order difference of f32 values carries: each value off by a few
/// ulp of the largest |f| in the stencil (4), the weights summing to 18/12, divided by h — 8 ε
/// in all. Disagreement below it is not evidence of a wrong gradient.
fn fd_noise(f_max: f64, h: f64) -> f64 {
    8.0 * f32::EPSILON as f64 * f_max / h
}

/// |a − n| beyond the difference's own noise, relative to max(|a|, |n|, floor); NaN counts as
/// the worst of all.
fn relative_error(a: f64, n: f64, floor: f64, noise: f64) -> f64 {
    let r = ((a - n).abs() - noise).max(0.0) / a.abs().max(n.abs()).max(floor);
    if r.is_nan() || (a - n).is_nan() {
        f64::INFINITY
    } else {
        r
    }
}

/// Worst first: by graded error, then (among points within rounding) by raw difference.
fn sort_worst_first(points: &mut [Point]) {
    points.sort_by(|p, q| {
        q.relative_error.total_cmp(&p.relative_error).then(
            (q.analytic - q.numeric)
                .abs()
                .total_cmp(&(p.analytic - p.numeric).abs()),
        )
    });
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

/// The dy the probe passes to backward: not 1, so that a backward ignoring dy is caught.
/// (Must match `NETDX_PROBE_DY` in shaders/user_activation_probe.wgsl; exact in f32.)
const PROBE_DY: f64 = 0.75;

/// Probes `activation` at `points` (x, h) on the GPU: per point (forward, backward at dy = 1,
/// fourth-order finite difference), the stencil rounded to f32 and the difference taken over
/// the rounded spacing.
pub fn probe(
    gpu: &Gpu,
    activation: &UserActivation,
    points: &[(f64, f64)],
) -> Result<Vec<(f64, f64, f64, f64)>> {
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
            ..Default::default()
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
            let f_max = (2..6).map(|i| f(i).abs()).fold(0.0, f64::max);
            (f(0), f(1) / PROBE_DY, numeric, fd_noise(f_max, h))
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
    let mut all: Vec<Point> = xs
        .iter()
        .zip(&values)
        .map(|(&(x, _), &(_, a, n, noise))| Point {
            x: x as f32 as f64,
            at: format!("x = {:.6}", x as f32),
            analytic: a,
            numeric: n,
            relative_error: relative_error(a, n, floor, noise),
            noise,
        })
        .collect();
    sort_worst_first(&mut all);
    all.truncate(5);

    let (mut mirror_worst, mut forward_worst) = (0.0f64, 0.0f64);
    for (&(x, _), &(y_gpu, _, _, _)) in xs.iter().zip(&values) {
        let h = 1e-6 * x.abs().max(1.0);
        let n = (activation.forward_f64(x + h) - activation.forward_f64(x - h)) / (2.0 * h);
        let a = activation.backward_f64(x, PROBE_DY) / PROBE_DY;
        mirror_worst = mirror_worst.max(relative_error(a, n, floor, 0.0));
        let y = activation.forward_f64(x as f32 as f64);
        let d = (y_gpu - y).abs() / y.abs().max(1e-3);
        forward_worst = forward_worst.max(if d.is_finite() { d } else { f64::INFINITY });
    }
    Ok(KernelReport {
        kernel: activation.name.to_string(),
        role: "activation",
        file: spec.file.display().to_string(),
        worst: all,
        checked: xs.len(),
        beside_kinks_left_out: dropped,
        mirror_worst_relative_error: mirror_worst,
        forward_vs_mirror: forward_worst,
    })
}

/// Grades a user loss over `examples` random examples of `width` logits: its `grad(j)` against
/// fourth-order finite differences of its `loss()` in each logit, on the GPU. Logits (and value
/// targets) are drawn over the spec's range on a 1/64 grid, so that the power-of-two stencil
/// is exact in f32; class targets uniformly.
pub fn check_loss(
    gpu: &Gpu,
    loss: &UserLoss,
    width: usize,
    examples: usize,
    seed: u64,
) -> Result<KernelReport> {
    let [lo, hi] = loss.spec.range;
    let mut rng = crate::rng::SplitMix64::stream(seed, 0x1055);
    let grid = |v: f64| (v * 64.0).round() / 64.0;
    let logits: Vec<f64> = (0..examples * width)
        .map(|_| grid(rng.uniform_in(lo, hi)))
        .collect();
    let targets: Vec<f64> = if loss.classes() {
        let classes = if width == 1 { 2 } else { width };
        (0..examples).map(|_| rng.below(classes) as f64).collect()
    } else {
        (0..examples * width)
            .map(|_| grid(rng.uniform_in(lo, hi)))
            .collect()
    };
    let steps: Vec<f32> = logits.iter().map(|&z| step(z) as f32).collect();
    let u = gpu.uniform(
        "kernel_gradient_check.loss",
        &crate::kernels::LossParams {
            batch: examples as u32,
            width: width as u32,
            out_slot: 0,
            _pad0: 0,
            gamma: 0.0,
            alpha: 0.0,
            _pad1: [0.0; 2],
        },
    )?;
    let to_f32 = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
    let lt = gpu.tensor_from("kernel_gradient_check.logits", &to_f32(&logits))?;
    let tt = gpu.tensor_from("kernel_gradient_check.targets", &to_f32(&targets))?;
    let st = gpu.tensor_from("kernel_gradient_check.steps", &steps)?;
    let per = 1 + 5 * width;
    let out = gpu.tensor(
        "kernel_gradient_check.values",
        examples * per,
        crate::gpu::TensorUsage::Storage,
    )?;
    let d = gpu.dispatch(
        loss.probe,
        &loss.constants(),
        &[&u, &lt.buffer, &tt.buffer, &st.buffer, &out.buffer],
        gpu.groups_1d(loss.probe, examples),
    )?;
    gpu.run(&[d])?;
    let values: Vec<f32> = gpu.read(&out)?;
    let mut found = Vec::new();
    for i in 0..examples {
        for j in 0..width {
            let z = logits[i * width + j];
            let h = steps[i * width + j] as f64;
            let o = i * per + 1 + 5 * j;
            let f = |k: usize| values[o + k] as f64;
            // The nudged logits as f32 arithmetic gave them.
            let spacing = ((z as f32 + h as f32) as f64 - (z as f32 - h as f32) as f64) / 2.0;
            let numeric = (8.0 * (f(1) - f(2)) - (f(3) - f(4))) / (12.0 * spacing);
            let target = if loss.classes() {
                format!("target {}", targets[i])
            } else {
                format!("target {:.4}", targets[i * width + j])
            };
            let f_max = (1..5).map(|k| f(k).abs()).fold(0.0, f64::max);
            found.push((i, j, z, target, f(0), numeric, fd_noise(f_max, spacing)));
        }
    }
    let rms = (found.iter().map(|v| v.5 * v.5).sum::<f64>() / found.len().max(1) as f64).sqrt();
    let floor = (1e-2 * rms).max(1e-12);
    let mut points: Vec<Point> = found
        .iter()
        .map(|(i, j, z, target, a, n, noise)| Point {
            x: *z,
            at: format!("example {i} ({target}), logit {j} = {z}"),
            analytic: *a,
            numeric: *n,
            relative_error: relative_error(*a, *n, floor, *noise),
            noise: *noise,
        })
        .collect();
    sort_worst_first(&mut points);
    points.truncate(5);
    // The mirror on the same examples, with f64 differences.
    let (mut mirror_worst, mut loss_worst) = (0.0f64, 0.0f64);
    for i in 0..examples {
        let row = &logits[i * width..(i + 1) * width];
        let t = if loss.classes() {
            &targets[i..i + 1]
        } else {
            &targets[i * width..(i + 1) * width]
        };
        let (l, g) = loss.example_f64(row, t);
        let l_gpu = values[i * per] as f64;
        let d = (l_gpu - l).abs() / l.abs().max(1e-3);
        loss_worst = loss_worst.max(if d.is_finite() { d } else { f64::INFINITY });
        for j in 0..width {
            let h = 1e-6 * row[j].abs().max(1.0);
            let mut plus = row.to_vec();
            plus[j] += h;
            let mut minus = row.to_vec();
            minus[j] -= h;
            let n = (loss.example_f64(&plus, t).0 - loss.example_f64(&minus, t).0) / (2.0 * h);
            mirror_worst = mirror_worst.max(relative_error(g[j], n, floor, 0.0));
        }
    }
    Ok(KernelReport {
        kernel: loss.name.to_string(),
        role: "loss",
        file: loss.spec.file.display().to_string(),
        worst: points,
        checked: examples * width,
        beside_kinks_left_out: 0,
        mirror_worst_relative_error: mirror_worst,
        forward_vs_mirror: loss_worst,
    })
}

/// The distinct user activations of a model, in node order.
fn user_activations(ctx: &Context) -> Vec<u32> {
    let mut ids = Vec::new();
    for n in &ctx.model.nodes {
        if let Op::Activation {
            kind: Activation::User(id),
            ..
        } = n.op
        {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    ids
}

impl Check for KernelGradientCheck {
    const NAME: &'static str = crate::config::check_params::kernel_gradient_check::NAME;
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
        let user_loss = match ctx.config.loss.name {
            crate::ops::LossKind::User(id) => Some(crate::kernels::user_loss::get(id)),
            _ => None,
        };
        if ids.is_empty() && user_loss.is_none() {
            return Ok(Finding::new(
                Self::NAME,
                Self::SECTION,
                Verdict::Skip,
                "worst relative error",
            )
            .message("the suite has no user WGSL kernels (`{wgsl: FILE}` layers or loss)"));
        }
        let mut reports = ids
            .iter()
            .map(|&id| check_kernel(ctx.gpu, user::get(id), p.samples))
            .collect::<Result<Vec<_>>>()?;
        if let Some(loss) = user_loss {
            let width = ctx.model.output_width();
            let examples = p.samples.div_ceil(width).max(16);
            reports.push(check_loss(ctx.gpu, loss, width, examples, ctx.config.seed)?);
        }
        // Graded: the GPU's f32 differences and the f64 mirror's, whichever is worse — f32
        // rounding can hide a wrong gradient where forward's values are large.
        let graded = |r: &KernelReport| r.worst_error().max(r.mirror_worst_relative_error);
        let worst = reports
            .iter()
            .max_by(|a, b| graded(a).total_cmp(&graded(b)))
            .expect("at least one kernel");
        let rel = graded(worst);
        let mut verdict = grade_upper(rel, p.warn, p.fail);
        // The mirror is only a reference if it computes what the GPU computes.
        let disagreeing = reports
            .iter()
            .find(|r| r.forward_vs_mirror > MIRROR_AGREEMENT);
        if verdict == Verdict::Pass && disagreeing.is_some() {
            verdict = Verdict::Warn;
        }
        let checked: usize = reports.iter().map(|r| r.checked).sum();
        let f = Finding::new(Self::NAME, Self::SECTION, verdict, "worst relative error")
            .measured(rel)
            .threshold(format!("≤ {:e} (warn ≤ {:e})", p.warn, p.fail))
            .margin(p.warn - rel)
            .window(format!(
                "{checked} points over {} kernel(s); f32 differences on the GPU and f64 differences of the mirror",
                reports.len()
            ))
            .details(json!({ "kernels": reports }));
        let at = worst.worst.first().expect("points were checked");
        let (analytic, of) = if worst.role == "loss" {
            ("grad", "loss")
        } else {
            ("backward", "forward")
        };
        let fix = if worst.role == "loss" {
            "`grad(j)` must return d loss() / d logit(j): re-derive it at the worst examples"
        } else {
            "`backward(x, y, dy)` must return dy · forward'(x): re-derive it at the worst points; if the mistake is only near a kink, declare the kink (`kinks: [..]`)"
        };
        Ok(match verdict {
            Verdict::Pass => f.message(format!(
                "gradients match their functions for {} (worst {rel:.1e}: on the GPU at {} of {}, |analytic − numeric| {:.1e} where f32 rounding allows {:.1e}; the f64 mirror's differences {:.1e})",
                reports
                    .iter()
                    .map(|r| r.kernel.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                at.at,
                worst.kernel,
                (at.analytic - at.numeric).abs(),
                at.noise,
                worst.mirror_worst_relative_error
            )),
            Verdict::Warn if rel <= p.warn => {
                let r = disagreeing.expect("warned for the mirror");
                f.message(format!(
                    "{} ({}): the GPU's {of} and netdx's f64 mirror of the file disagree (relative {:.1e}), so the mirror-based checks (this one's f64 half, gradient_check) are unreliable for it; the GPU's differences agree with {analytic} (worst {:.1e})",
                    r.kernel,
                    r.file,
                    r.forward_vs_mirror,
                    r.worst_error()
                ))
                .fix("report the file to netdx (the mirror misreads it), or keep it to WGSL the mirror supports: scalar f32/i32/u32/bool code")
            }
            // The GPU's own differences show it: name the worst inputs there.
            _ if worst.worst_error() > p.warn => f
                .message(format!(
                    "{} ({}): at {} {analytic} gives {:.6e}, finite differences of {of} {:.6e} (relative error {:.1e}); next worst at {}; f64 mirror: {:.1e}",
                    worst.kernel,
                    worst.file,
                    at.at,
                    at.analytic,
                    at.numeric,
                    worst.worst_error(),
                    worst
                        .worst
                        .iter()
                        .skip(1)
                        .map(|p| p.at.clone())
                        .collect::<Vec<_>>()
                        .join("; "),
                    worst.mirror_worst_relative_error
                ))
                .fix(fix),
            _ => f
                .message(format!(
                    "{} ({}): {analytic} disagrees with the f64 mirror's finite differences of {of} (relative error {:.1e}); on the GPU f32 rounding of {of}'s values hides it (largest |analytic − numeric| {:.1e} where rounding allows {:.1e}, at {})",
                    worst.kernel,
                    worst.file,
                    worst.mirror_worst_relative_error,
                    (at.analytic - at.numeric).abs(),
                    at.noise,
                    at.at
                ))
                .fix(fix),
        })
    }
}

/// How closely the GPU's forward must match the f64 mirror's for the mirror to serve as the
/// reference (relative to max(|y|, 1e-3)): f32 rounding of a few operations is far below it.
const MIRROR_AGREEMENT: f64 = 1e-3;

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
