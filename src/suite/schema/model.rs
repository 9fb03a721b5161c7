//! The `model:` section: a layer list or an ONNX file, each layer a name or a one-key map of
//! its arguments (`$defs/layer`, which residual blocks refer to, so layers nest), each weight
//! init a name or a distribution (`$defs/init`).

use serde_json::{json, Map, Value};

use super::{boolean, described, number, param, range, size2, strict, string};
use crate::limits;
use crate::ops::Activation;

pub(super) fn model() -> Value {
    let side = |what: &str| json!({"type": "integer", "minimum": 1, "maximum": limits::MAX_IMAGE_SIDE, "description": what});
    let mut model = strict(
        json!({
            "input": described(
                json!({"oneOf": [
                    range("model.input"),
                    {"type": "array", "items": range("model.input"), "minItems": 1},
                ]}),
                "a layer list: the input width, checked against the data; an ONNX model: the dimensions of one example ([3, 32, 32]; [T] for tokens). Inferred from the data when absent",
            ),
            "shape": described(
                json!({
                    "type": "array", "minItems": 3, "maxItems": 3,
                    // Their product is at most the width limit too: arithmetic a schema cannot do.
                    "prefixItems": [
                        {"type": "integer", "minimum": 1, "maximum": limits::MAX_WIDTH, "description": "channels"},
                        side("height"),
                        side("width"),
                    ],
                }),
                "the input as an image [channels, height, width] for image layers; inferred from image data (shapes, IDX files) when absent",
            ),
            "layers": described(
                json!({"type": "array", "items": {"$ref": "#/$defs/layer"}, "minItems": 1, "maxItems": limits::MAX_LAYERS}),
                "the layers in order: a name (relu) or a one-key map of arguments ({linear: {out: 64}})",
            ),
            "onnx": described(string(), "a model exported to ONNX (torch.onnx.export) instead of `layers`: the file gives the architecture and the initial weights; relative to the config's folder"),
            "weights": described(string(), "initial weights from a safetensors file (netdx or PyTorch nn.Sequential names) instead of the seeded init; relative to the config's folder"),
        }),
        &[],
    );
    if let Some(o) = model.as_object_mut() {
        // A layer list or an ONNX file; an ONNX model takes its input's dimensions as `input`.
        o.insert("if".into(), json!({"required": ["onnx"]}));
        o.insert(
            "then".into(),
            json!({"not": {"anyOf": [{"required": ["layers"]}, {"required": ["shape"]}]}}),
        );
        o.insert(
            "else".into(),
            json!({"required": ["layers"], "properties": {"input": {"type": "integer"}}}),
        );
    }
    described(
        model,
        "the model: `layers` (a list), or `onnx` (a file) with the input's dimensions",
    )
}

/// A one-key map `{name: arguments}`.
fn one_key(name: &str, args: Value, what: &str) -> Value {
    strict(json!({name: described(args, what)}), &[name])
}

/// The layer names written alone; the others need arguments (a linear layer its width).
fn bare_names() -> Vec<&'static str> {
    let needs_arguments = [
        "linear",
        "wgsl",
        "conv2d",
        "max_pool2d",
        "avg_pool2d",
        "residual",
        "embedding",
        "position",
        "attention",
    ];
    crate::model::LAYER_NAMES
        .iter()
        .copied()
        .filter(|n| !needs_arguments.contains(n))
        .collect()
}

/// Layers whose map form takes no arguments: an activation ignores what it is given;
/// `flatten` and `global_avg_pool` take null or an empty map.
fn without_arguments() -> Value {
    let mut props = Map::new();
    for a in Activation::ALL {
        if a != Activation::LeakyRelu {
            props.insert(
                a.name().into(),
                json!({"description": format!("the {} activation (arguments are ignored)", a.name())}),
            );
        }
    }
    let none =
        json!({"oneOf": [{"type": "null"}, {"type": "object", "additionalProperties": false}]});
    props.insert(
        "flatten".into(),
        described(
            none.clone(),
            "an image [c, h, w] as a vector of c·h·w features (nn.Flatten); takes no arguments",
        ),
    );
    props.insert(
        "global_avg_pool".into(),
        described(
            none,
            "the mean of each channel: [c, h, w] → [c, 1, 1] (nn.AdaptiveAvgPool2d(1)); takes no arguments",
        ),
    );
    json!({
        "type": "object", "additionalProperties": false, "minProperties": 1, "maxProperties": 1,
        "properties": props,
    })
}

pub(super) fn layer() -> Value {
    let init = |what: &str| described(json!({"$ref": "#/$defs/init"}), what);
    let weight_init = init("weight init (default kaiming_uniform)");
    let table_init = init("the table's init (default {normal: {std: 1}})");
    let layers = json!({"type": "array", "items": {"$ref": "#/$defs/layer"}, "minItems": 1});
    let wgsl = json!({"oneOf": [
        string(),
        strict(json!({
            "file": described(string(), "the WGSL file, relative to the config's folder"),
            "params": described(json!({"type": "object", "additionalProperties": number()}), "values of the file's `override` constants"),
            "kinks": described(json!({"type": "array", "items": number()}), "inputs where the function is not differentiable: the gradient check samples beside them, never across"),
            "range": described(json!({"type": "array", "items": number(), "minItems": 2, "maxItems": 2}), "the input range [low, high] the gradient check samples"),
        }), &["file"]),
    ]});
    let pool = |name: &str| {
        let p = |k: &str| format!("layer.{name}.{k}");
        strict(
            json!({
                "kernel": size2(&p("kernel"), "the window"),
                "stride": size2(&p("stride"), "the step between windows (default the kernel, as in PyTorch)"),
                "padding": param(&p("padding"), "zeros added on each side; at most half the kernel"),
            }),
            &["kernel"],
        )
    };
    let r = |pattern: &str, what: &str| param(&format!("layer.{pattern}"), what);
    json!({"oneOf": [
        {"enum": bare_names()},
        without_arguments(),
        one_key("linear", strict(json!({
            "out": r("linear.out", "output width"),
            "in": r("linear.in", "the input width, checked against the previous layer"),
            "init": weight_init.clone(),
            "bias": r("linear.bias", "the bias's initial value (default 0)"),
        }), &["out"]), "a fully connected layer"),
        one_key("leaky_relu", strict(json!({
            "slope": r("leaky_relu.slope", "the negative slope (default 0.01)"),
        }), &[]), "leaky ReLU"),
        one_key("batch_norm", strict(json!({
            "eps": r("batch_norm.eps", "added to the variance (default 1e-5)"),
            "momentum": r("batch_norm.momentum", "of the running statistics, as in PyTorch (default 0.1)"),
        }), &[]), "batch normalization over the features of vectors or the channels of images"),
        one_key("dropout", strict(json!({
            "rate": r("dropout.rate", "the fraction of units zeroed in training (default 0.5)"),
        }), &[]), "dropout"),
        one_key("wgsl", wgsl, "an activation written in WGSL: the file, or {file, params, kinks, range}"),
        one_key("conv2d", strict(json!({
            "out": r("conv2d.out", "output channels"),
            "kernel": size2("layer.conv2d.kernel", "the kernel"),
            "stride": r("conv2d.stride", "the step between windows (default 1)"),
            "padding": r("conv2d.padding", "zeros added on each side (default 0)"),
            "dilation": r("conv2d.dilation", "the spacing of the kernel's taps (default 1)"),
            "init": weight_init,
            "bias": r("conv2d.bias", "the bias's initial value (default 0)"),
        }), &["out", "kernel"]), "2-D convolution over an image [channels, height, width] (nn.Conv2d)"),
        one_key("max_pool2d", pool("max_pool2d"), "max pooling over each channel (nn.MaxPool2d)"),
        one_key("avg_pool2d", pool("avg_pool2d"), "average pooling over each channel, padding included in the divisor (nn.AvgPool2d)"),
        one_key("residual", json!({"oneOf": [
            layers.clone(),
            strict(json!({
                "layers": described(layers, "the block's layers"),
                "projection": described(json!({"enum": ["linear"]}), "project the stream by a linear layer (a strided 1×1 convolution on images) when the block changes its shape"),
            }), &["layers"]),
        ]}), "x + f(x), f the inner layers: a list, or {layers: [...], projection: linear}"),
        one_key("layer_norm", json!({"oneOf": [
            {"type": "null"},
            strict(json!({
                "eps": r("layer_norm.eps", "added to the variance (default 1e-5)"),
                "affine": described(boolean(), "learn a scale and a shift (default true)"),
            }), &[]),
        ]}), "layer normalization over the last dimension (nn.LayerNorm)"),
        one_key("embedding", strict(json!({
            "vocab": r("embedding.vocab", "rows: the vocabulary size"),
            "dim": r("embedding.dim", "the width of each vector"),
            "init": table_init.clone(),
        }), &["vocab", "dim"]), "token ids to vectors (nn.Embedding)"),
        one_key("position", strict(json!({
            "max_len": r("position.max_len", "the longest context"),
            "init": table_init,
        }), &["max_len"]), "a learned positional embedding added to its input"),
        one_key("attention", strict(json!({
            "heads": r("attention.heads", "attention heads; they divide the width"),
            "causal": described(boolean(), "mask later positions (default false)"),
            "dropout": r("attention.dropout", "dropout on the attention weights (default 0)"),
        }), &["heads"]), "multi-head self-attention (nn.MultiheadAttention, batch_first)"),
    ]})
}

/// A layer's weight init: a name, or a distribution with its parameters.
pub(super) fn init() -> Value {
    json!({"oneOf": [
        // `normal` and `uniform` need their parameters: names alone are refused.
        {"enum": ["xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal", "zeros"]},
        one_key("normal", strict(json!({
            "std": param("init.normal.std", "standard deviation"),
        }), &["std"]), "a normal distribution N(0, std²)"),
        one_key("uniform", strict(json!({
            "low": param("init.uniform.low", "the interval's lower end, at most `high`"),
            "high": param("init.uniform.high", "the interval's upper end"),
        }), &["low", "high"]), "a uniform distribution over [low, high]"),
    ]})
}
