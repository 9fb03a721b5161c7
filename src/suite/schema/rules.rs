//! The rules between sections that a schema can say, because they compare a value with a
//! constant or ask whether a kind of layer is present (the rules of `config::rules`,
//! `suite::preflight` and the graph's shape rules that need no widths): each an `if`/`then` on
//! the whole config, whose complaint lands on the key the error names.

use serde_json::{json, Value};

use super::data::{is_builtin, is_sequence};
use super::training::loss_named;

/// Groups of layers the rules ask about, each a `$defs` entry: a layer list holding one of
/// the group, inside residual blocks included.
const LAYER_GROUPS: [(&str, &[&str]); 3] = [
    ("holds_batch_norm", &["batch_norm"]),
    // Layers over a sequence of vectors, which only an embedding of token ids starts.
    (
        "holds_sequence_layers",
        &["embedding", "position", "attention"],
    ),
    // Layers over images, which only an image input gives (nothing turns vectors into one).
    (
        "holds_image_layers",
        &["conv2d", "max_pool2d", "avg_pool2d", "global_avg_pool"],
    ),
];

/// The `$defs` entries of [`LAYER_GROUPS`].
pub(super) fn layer_groups() -> Vec<(&'static str, Value)> {
    LAYER_GROUPS
        .iter()
        .map(|(def, names)| {
            let again = json!({"$ref": format!("#/$defs/{def}")});
            let keyed: Vec<Value> = names.iter().map(|n| json!({"required": [n]})).collect();
            let holds = json!({"type": "array", "contains": {"anyOf": [
                {"enum": names},
                {"type": "object", "anyOf": keyed},
                {"type": "object", "required": ["residual"], "properties": {"residual": {"anyOf": [
                    again,
                    {"type": "object", "required": ["layers"], "properties": {"layers": again}},
                ]}}},
            ]}});
            (*def, holds)
        })
        .collect()
}

/// A config whose data section is `data` and whose model is a layer list.
fn layers_on(data: Value) -> Value {
    json!({"required": ["data", "model"], "properties": {
        "data": data,
        "model": {"required": ["layers"]},
    }})
}

/// The layer list must satisfy `schema`.
fn layers_must(schema: Value) -> Value {
    json!({"properties": {"model": {"properties": {"layers": schema}}}})
}

pub(super) fn between_sections() -> Vec<Value> {
    // The loss when the config names none.
    let default_loss = json!({"not": {"required": ["loss"]}});
    let loss_is = |names: &[&str]| {
        json!({"anyOf": [
            default_loss,
            {"required": ["loss"], "properties": {"loss": loss_named(names)}},
        ]})
    };
    vec![
        // Batch norm divides by the batch's standard deviation: over one example every
        // normalized value is 0 (`config::rules::batch_norm_needs_two_examples`).
        json!({
            "if": {"required": ["model"], "properties": {"model": {
                "required": ["layers"], "properties": {"layers": {"$ref": "#/$defs/holds_batch_norm"}},
            }}},
            "then": {"properties": {"training": {"properties": {"batch_size": {"minimum": 2}}}}},
        }),
        // A softmax over one class is always 1, and binary cross-entropy needs two classes: one
        // class fits only a regression loss (`suite::preflight`, `model::check_output`).
        json!({
            "if": loss_is(&["softmax_cross_entropy", "focal", "binary_cross_entropy"]),
            "then": {"properties": {"data": {"properties": {"classes": {"minimum": 2}}}}},
        }),
        // The built-in regression has continuous targets, which no softmax can score.
        json!({
            "if": {"required": ["data"], "properties": {"data": is_builtin(&["regression"])}},
            "then": {
                "required": ["loss"],
                "properties": {"loss": {"not": loss_named(&["softmax_cross_entropy", "focal"])}},
            },
        }),
        // Token ids reach only an embedding, and only an embedding makes a sequence: a model
        // on tokens starts with one, a model on values has none (nor what reads sequences).
        json!({
            "if": layers_on(is_sequence()),
            "then": layers_must(json!({"prefixItems": [{"type": "object", "required": ["embedding"]}]})),
        }),
        json!({
            "if": layers_on(json!({"not": is_sequence()})),
            "then": layers_must(json!({"not": {"$ref": "#/$defs/holds_sequence_layers"}})),
        }),
        // The built-in vectors are images only when `model.shape` says so.
        json!({
            "if": {"allOf": [
                layers_on(is_builtin(&["spiral", "blobs", "xor", "regression"])),
                {"properties": {"model": {"not": {"required": ["shape"]}}}},
            ]},
            "then": layers_must(json!({"not": {"$ref": "#/$defs/holds_image_layers"}})),
        }),
        // Faults name a layer of a `layers:` list: an ONNX model takes only lose_device.
        json!({
            "if": {"required": ["model"], "properties": {"model": {"required": ["onnx"]}}},
            "then": {"properties": {"faults": {"items": {"properties": {"kind": {"const": "lose_device"}}}}}},
        }),
    ]
}
