//! The `training:` section (optimizer, schedule, clipping), the `loss:` and the planted
//! `faults:`.

use serde_json::{json, Value};

use super::{boolean, described, number, param, range, strict, string, whole};

pub(super) const LOSS_NAMES: [&str; 4] = [
    "softmax_cross_entropy",
    "binary_cross_entropy",
    "mse",
    "focal",
];

/// A loss (either form: `mse` or `{name: mse, …}`) named one of `names`.
pub(super) fn loss_named(names: &[&str]) -> Value {
    json!({"anyOf": [
        {"enum": names},
        {"type": "object", "required": ["name"], "properties": {"name": {"enum": names}}},
    ]})
}

pub(super) fn training() -> Value {
    let t = |k: &str, what: &str| param(&format!("training.{k}"), what);
    let optimizer = strict(
        json!({
            "name": described(json!({"enum": ["sgd", "momentum", "nesterov", "adam", "adamw"]}), "the update rule (sgd with a momentum above 0 is momentum SGD, as in PyTorch)"),
            "lr": t("optimizer.lr", "the learning rate"),
            "momentum": t("optimizer.momentum", "momentum coefficient (default 0.9 for momentum and nesterov, 0 for sgd)"),
            "nesterov": described(boolean(), "Nesterov momentum (default false)"),
            "beta1": t("optimizer.beta1", "Adam's first-moment decay (default 0.9)"),
            "beta2": t("optimizer.beta2", "Adam's second-moment decay (default 0.999)"),
            "eps": t("optimizer.eps", "Adam's denominator term (default 1e-8)"),
        }),
        &["name", "lr"],
    );
    // `step` needs its step size, so its name alone is refused.
    let schedule_names = ["constant", "step", "exponential", "cosine"];
    let mut schedule_map = strict(
        json!({
            "name": described(json!({"enum": schedule_names}), "constant; step: lr·gamma^⌊t/step_size⌋; exponential: lr·gamma^t; cosine: from lr down to min_lr"),
            "warmup_steps": t("schedule.warmup_steps", "linear warm-up from lr/warmup_steps to lr, before any kind (default 0)"),
            "step_size": t("schedule.step_size", "steps between decays of the step schedule (which needs it)"),
            "gamma": t("schedule.gamma", "the decay factor of step and exponential"),
            "min_lr": t("schedule.min_lr", "where cosine ends, at most the learning rate (default 0)"),
        }),
        &["name"],
    );
    schedule_map["if"] = json!({"properties": {"name": {"const": "step"}}});
    schedule_map["then"] = json!({"required": ["step_size"]});
    let training = strict(
        json!({
            "optimizer": described(optimizer, "the optimizer: {name, lr} and its coefficients"),
            "batch_size": t("batch_size", "examples per step, at most the dataset's size"),
            "steps": t("steps", "training steps"),
            "l2": t("l2", "L2 penalty 0.5·λ·Σ‖W‖² over linear weights (not biases), reported as its own loss term"),
            "weight_decay": t("weight_decay", "decoupled weight decay w ← w·(1 − lr·wd) (AdamW's rule; applied for any optimizer)"),
            "clip": described(strict(json!({
                "norm": t("clip.norm", "clip the global L2 norm of all gradients to this"),
                "value": t("clip.value", "clip each gradient entry to [−value, value]"),
            }), &[]), "gradient clipping: by norm and/or by value"),
            "schedule": described(json!({"oneOf": [
                {"enum": ["constant", "exponential", "cosine"]},
                schedule_map,
            ]}), "the learning-rate schedule: a name, or {name, warmup_steps, step_size, gamma, min_lr} (default constant)"),
            "shuffle": described(boolean(), "shuffle the examples each epoch (default true; off: dataset order)"),
            "on_nonfinite": described(json!({"enum": ["stop", "continue"]}), "after a NaN or Inf loss: stop (default), or continue to the last step (the run still fails)"),
            "track_every": t("track_every", "gather every per-tensor statistic at the first 50 steps, then every n steps and at the last (default 1: every step)"),
        }),
        &["optimizer", "batch_size", "steps"],
    );
    described(training, "how the model is trained")
}

pub(super) fn loss() -> Value {
    let loss_names = json!({"enum": LOSS_NAMES});
    let user_loss = json!({"oneOf": [
        string(),
        strict(json!({
            "file": described(string(), "the WGSL file, relative to the config's folder"),
            "targets": described(json!({"enum": ["classes", "values"]}), "what the labels are: class indices (default) or values"),
            "params": described(json!({"type": "object", "additionalProperties": number()}), "values of the file's `override` constants"),
            "range": described(json!({"type": "array", "items": number(), "minItems": 2, "maxItems": 2}), "the logit range [low, high] the gradient check samples"),
        }), &["file"]),
    ]});
    let weight = range("loss.class_weights[]");
    let class_weights = json!({
        "type": "array", "items": weight,
        // All 0 would weigh every example by 0.
        "contains": {"exclusiveMinimum": 0},
        "description": "per-class weights (softmax_cross_entropy and focal), one per class, each ≥ 0 and not all 0",
    });
    let mut built_in = strict(
        json!({
            "name": described(loss_names.clone(), "the loss"),
            "class_weights": class_weights,
            "pos_weight": param("loss.pos_weight", "binary_cross_entropy's weight of positive examples (PyTorch's pos_weight)"),
            "gamma": param("loss.gamma", "focal loss's focusing parameter γ (default 2)"),
            "alpha": param("loss.alpha", "focal loss's weight α (default 1)"),
        }),
        &["name"],
    );
    built_in["allOf"] = json!([
        {
            "if": {"properties": {"name": {"enum": ["binary_cross_entropy", "mse"]}}},
            "then": {"properties": {"class_weights": false}},
        },
        {
            "if": {"properties": {"name": {"not": {"const": "binary_cross_entropy"}}}},
            "then": {"properties": {"pos_weight": false}},
        },
    ]);
    described(
        json!({"oneOf": [
            loss_names,
            built_in,
            strict(json!({"wgsl": described(user_loss, "a loss written in WGSL: the file, or {file, targets, params, range}")}), &["wgsl"]),
        ]}),
        "the loss: a name, {name, …} with its parameters, or {wgsl: FILE} (default softmax_cross_entropy)",
    )
}

pub(super) fn faults() -> Value {
    let mut fault = strict(
        json!({
            "kind": described(
                json!({"enum": ["flip_gradient_sign", "scale_gradient", "zero_gradient", "skip_update", "corrupt_output", "mix_batch", "lose_device"]}),
                "what the fault does to its layer: negate, scale or zero its gradients, skip its update, scale its output, mix examples across the batch, or destroy the GPU device",
            ),
            "layer": described(whole(), "the index of the layer in `model.layers` (not for lose_device)"),
            // NaN and infinity are what a fault plants on purpose: no range.
            "factor": described(number(), "the factor of scale_gradient, corrupt_output and mix_batch (default 1.5)"),
            "step": param("faults[].step", "the training step (from 0) before which lose_device destroys the device"),
        }),
        &["kind"],
    );
    fault["if"] = json!({"properties": {"kind": {"const": "lose_device"}}});
    fault["then"] = json!({"required": ["step"]});
    described(
        json!({"type": "array", "items": fault}),
        "planted problems for testing the tests: [{kind: flip_gradient_sign, layer: 0}]",
    )
}
