// Swish with a planted mistake in its backward pass: the β·x·s·(1 − s) term is dropped, the
// kind of slip a hand-derived gradient makes. `netdx run configs/kernels/swish_wrong_backward.yaml`
// must fail the kernel gradient check and name the worst input.
override beta: f32 = 1.0;

fn sigmoid(x: f32) -> f32 {
    let e = exp(-abs(x));
    return select(e / (1.0 + e), 1.0 / (1.0 + e), x >= 0.0);
}

fn forward(x: f32) -> f32 {
    return x * sigmoid(beta * x);
}

fn backward(x: f32, y: f32, dy: f32) -> f32 {
    return dy * sigmoid(beta * x);
}
