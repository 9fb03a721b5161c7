// Softmax cross-entropy with label smoothing (Szegedy et al., 2016): the target distribution
// puts 1 − ε + ε/C on the labelled class and ε/C on every other. With ε = 0 it is netdx's
// built-in softmax_cross_entropy.
//
// netdx provides logit(j), label(j) (label(0u) is the class index) and outputs().
override smoothing: f32 = 0.1;

fn log_sum_exp() -> f32 {
    var m = logit(0u);
    for (var j = 1u; j < outputs(); j++) {
        m = max(m, logit(j));
    }
    var s = 0.0;
    for (var j = 0u; j < outputs(); j++) {
        s += exp(logit(j) - m);
    }
    return m + log(s);
}

fn target_probability(j: u32) -> f32 {
    let on_class = select(0.0, 1.0 - smoothing, j == u32(label(0u)));
    return on_class + smoothing / f32(outputs());
}

fn loss() -> f32 {
    let lse = log_sum_exp();
    var l = 0.0;
    for (var j = 0u; j < outputs(); j++) {
        l -= target_probability(j) * (logit(j) - lse);
    }
    return l;
}

// d/dz_j = softmax(z)_j − q_j
fn grad(j: u32) -> f32 {
    return exp(logit(j) - log_sum_exp()) - target_probability(j);
}
