// Elementwise activations and their derivatives, shared by activation_forward.wgsl and
// activation_backward.wgsl (src/kernels/source.rs prepends this file). Kind numbers match
// `Activation::code` in src/kernels/mod.rs.
const ACT_IDENTITY: u32 = 0u;
const ACT_RELU: u32 = 1u;
const ACT_LEAKY_RELU: u32 = 2u;
const ACT_TANH: u32 = 3u;
const ACT_SIGMOID: u32 = 4u;
const ACT_GELU: u32 = 5u;
const ACT_GELU_TANH: u32 = 6u;

const SQRT_2_OVER_PI: f32 = 0.7978845608028654;
const INV_SQRT_2: f32 = 0.7071067811865476;
const INV_SQRT_2PI: f32 = 0.3989422804014327;

// Abramowitz & Stegun 7.1.26; |error| ≤ 1.5e-7, below f32 resolution near 1. WGSL has no erf.
fn erf_approx(x: f32) -> f32 {
    let ax = abs(x);
    let t = 1.0 / (1.0 + 0.3275911 * ax);
    let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    let y = 1.0 - poly * exp(-ax * ax);
    return select(-y, y, x >= 0.0);
}

// tanh from one exp of a non-positive argument: the builtin overflows to NaN for large |x| on
// some backends.
fn tanh_stable(x: f32) -> f32 {
    let e = exp(-2.0 * abs(x));
    let t = (1.0 - e) / (1.0 + e);
    return select(-t, t, x >= 0.0);
}

fn sigmoid_stable(x: f32) -> f32 {
    if (x >= 0.0) {
        return 1.0 / (1.0 + exp(-x));
    }
    let e = exp(x);
    return e / (1.0 + e);
}

fn act_forward(kind: u32, x: f32, slope: f32) -> f32 {
    switch kind {
        case 1u: { return max(x, 0.0); }
        case 2u: { return select(slope * x, x, x > 0.0); }
        case 3u: { return tanh_stable(x); }
        case 4u: { return sigmoid_stable(x); }
        case 5u: { return 0.5 * x * (1.0 + erf_approx(x * INV_SQRT_2)); }
        case 6u: {
            let u = SQRT_2_OVER_PI * (x + 0.044715 * x * x * x);
            return 0.5 * x * (1.0 + tanh_stable(u));
        }
        default: { return x; }
    }
}

// d act / dx at x, given y = act(x). relu'(0) = 0, as in PyTorch.
fn act_derivative(kind: u32, x: f32, y: f32, slope: f32) -> f32 {
    switch kind {
        case 1u: { return select(0.0, 1.0, x > 0.0); }
        case 2u: { return select(slope, 1.0, x > 0.0); }
        case 3u: { return 1.0 - y * y; }
        case 4u: { return y * (1.0 - y); }
        case 5u: {
            return 0.5 * (1.0 + erf_approx(x * INV_SQRT_2)) + x * INV_SQRT_2PI * exp(-0.5 * x * x);
        }
        case 6u: {
            let u = SQRT_2_OVER_PI * (x + 0.044715 * x * x * x);
            let t = tanh_stable(u);
            return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * SQRT_2_OVER_PI * (1.0 + 3.0 * 0.044715 * x * x);
        }
        default: { return 1.0; }
    }
}
