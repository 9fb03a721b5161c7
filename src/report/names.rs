//! The names the report's plots give layers and tensors: a layer's name with its type
//! (`layers.3 relu`), read from the nodes the `activation_stats` finding lists. Without that
//! finding (a suite that does not run it) names stay as the metrics give them.

use serde_json::Value;

/// One node of the model: its full name (`layers.3`), op (`relu`) and output tensor (`act.3`).
struct Node {
    index: i64,
    name: String,
    kind: String,
    output: String,
}

#[derive(Default)]
pub struct LayerNames {
    nodes: Vec<Node>,
}

impl LayerNames {
    /// From the `activation_stats` details' `layers` rows (absent fields leave a node out).
    pub fn from_details(details: &Value) -> LayerNames {
        let nodes = details["layers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|row| {
                Some(Node {
                    index: row["layer"].as_i64()?,
                    name: row["node"].as_str()?.to_string(),
                    kind: row["kind"].as_str()?.to_string(),
                    output: row["output"].as_str().unwrap_or("").to_string(),
                })
            })
            .collect();
        LayerNames { nodes }
    }

    fn labelled(node: &Node) -> String {
        format!("{} {}", node.name, node.kind)
    }

    /// A parameter tensor (`layers.0.weight`) as `layers.0 linear weight`: its node is the
    /// longest node name it starts with.
    pub fn tensor(&self, tensor: &str) -> String {
        self.nodes
            .iter()
            .filter(|n| {
                tensor
                    .strip_prefix(n.name.as_str())
                    .is_some_and(|rest| rest.starts_with('.'))
            })
            .max_by_key(|n| n.name.len())
            .map(|n| format!("{} {}", Self::labelled(n), &tensor[n.name.len() + 1..]))
            .unwrap_or_else(|| tensor.to_string())
    }

    /// The node at `index` (`layers.1 relu`), else `layer {index}`.
    pub fn layer(&self, index: i64) -> String {
        self.nodes
            .iter()
            .find(|n| n.index == index)
            .map(Self::labelled)
            .unwrap_or_else(|| format!("layer {index}"))
    }

    /// The node whose output is the activation tensor `tensor` (`act.1` → `layers.1 relu`).
    pub fn output(&self, tensor: &str) -> Option<String> {
        self.nodes
            .iter()
            .find(|n| n.output == tensor)
            .map(Self::labelled)
    }
}

#[cfg(test)]
mod tests {
    use super::LayerNames;
    use serde_json::json;

    fn names() -> LayerNames {
        LayerNames::from_details(&json!({"layers": [
            {"layer": 0, "node": "layers.0", "kind": "linear", "output": "act.0"},
            {"layer": 1, "node": "layers.1", "kind": "relu", "output": "act.1"},
            {"layer": 2, "node": "layers.10", "kind": "linear", "output": "act.2"},
        ]}))
    }

    #[test]
    fn tensors_and_layers_are_named_with_their_type() {
        let n = names();
        assert_eq!(n.tensor("layers.0.weight"), "layers.0 linear weight");
        // `layers.1` is a prefix of `layers.10` as text, not as a name.
        assert_eq!(n.tensor("layers.10.bias"), "layers.10 linear bias");
        assert_eq!(n.tensor("other.weight"), "other.weight");
        assert_eq!(n.layer(1), "layers.1 relu");
        assert_eq!(n.layer(7), "layer 7");
        assert_eq!(n.output("act.1").as_deref(), Some("layers.1 relu"));
        assert_eq!(
            LayerNames::default().tensor("layers.0.weight"),
            "layers.0.weight"
        );
    }
}
