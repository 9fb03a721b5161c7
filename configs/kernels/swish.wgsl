// Swish (SiLU when beta = 1): x · sigmoid(beta · x). Ramachandran et al., 2017.
override beta: f32 = 1.0;

fn sigmoid(x: f32) -> f32 {
    // One exp of a non-positive argument: exp(-x) overflows for very negative x.
    let e = exp(-abs(x));
    return select(e / (1.0 + e), 1.0 / (1.0 + e), x >= 0.0);
}

fn forward(x: f32) -> f32 {
    return x * sigmoid(beta * x);
}

// d/dx x·s(βx) = s(βx) + βx·s(βx)(1 − s(βx))
fn backward(x: f32, y: f32, dy: f32) -> f32 {
    let s = sigmoid(beta * x);
    return dy * (s + beta * x * s * (1.0 - s));
}
