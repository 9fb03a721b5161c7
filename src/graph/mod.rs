//! The model IR: a directed acyclic graph of ops over named tensors with static shapes per
//! example (the batch dimension is symbolic and leads every buffer). Front-ends build graphs
//! (`model::build` from the YAML layer list; ONNX next); `plan` compiles one into GPU
//! dispatches, `reference::graph` runs it in f64, and the checks see tensors and parameters by
//! name through it — never a layer list. Nothing here knows YAML or the GPU.
//!
//! Nodes are kept in topological order (a node's inputs are produced by earlier nodes or are
//! the graph input), so forward runs `nodes` in order and backward in reverse.

mod op;
mod shape;

pub use op::{Op, ParamRole, PoolKind, ShapeError};
pub use shape::{Image, Shape};

/// Index of a tensor in [`Graph::tensors`].
pub type TensorId = usize;
/// Index of a node in [`Graph::nodes`] (its topological position).
pub type NodeId = usize;

/// A tensor of the graph: the input, or an output of one node.
#[derive(Clone, Debug)]
pub struct TensorInfo {
    /// `input`, or `act.{module path}` (`act.3`, `act.2.1`) for a node's output.
    pub name: String,
    pub shape: Shape,
    /// The node that writes it (`None` for the graph input).
    pub producer: Option<NodeId>,
    /// Every node that reads it, in topological order, once per input slot that reads it.
    pub consumers: Vec<NodeId>,
}

/// How a parameter tensor starts: drawn from a distribution with its own random stream, or
/// filled with a constant.
#[derive(Clone, Debug, PartialEq)]
pub enum ParamInit {
    Uniform {
        low: f64,
        high: f64,
        stream: u64,
    },
    Normal {
        std: f64,
        stream: u64,
    },
    Constant(f64),
    /// Given values (an imported model's initializer), in row-major order.
    Values(std::sync::Arc<[f32]>),
}

/// One trainable tensor.
#[derive(Clone, Debug)]
pub struct ParamInfo {
    /// Its name in checkpoints, reports and records: the PyTorch `state_dict` name with a
    /// `layers.` prefix (`layers.0.weight`, `layers.2.1.in_proj_weight`).
    pub name: String,
    /// The node that reads it.
    pub node: NodeId,
    /// The top-level layer it belongs to (what `faults` and `grow` count).
    pub layer: usize,
    pub role: ParamRole,
    pub shape: Vec<usize>,
    pub init: ParamInit,
}

impl ParamInfo {
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the L2 penalty and weight decay apply (weights, not biases or norm scales).
    pub fn regularized(&self) -> bool {
        self.role == ParamRole::Weight
    }
}

/// A non-trainable tensor carried across steps (batch norm's running statistics).
#[derive(Clone, Debug)]
pub struct StateInfo {
    pub name: String,
    pub node: NodeId,
    pub shape: Vec<usize>,
    pub fill: f32,
    /// Given values instead of `fill` (an imported model's running statistics).
    pub values: Option<std::sync::Arc<[f32]>>,
}

/// One op applied to tensors.
#[derive(Clone, Debug)]
pub struct Node {
    pub index: NodeId,
    /// Its module path, as PyTorch names the module: `layers.3`, `layers.2.1`,
    /// `layers.2.1.in_proj`.
    pub name: String,
    /// The top-level layer of the config it comes from.
    pub layer: usize,
    /// Where the config declares it (`model.layers[3].residual[2]`), for errors.
    pub path: String,
    pub op: Op,
    pub inputs: Vec<TensorId>,
    pub outputs: Vec<TensorId>,
    /// Its parameter tensors (indices into [`Graph::params`]), in the op's order.
    pub params: Vec<usize>,
    /// Its state tensors (indices into [`Graph::state`]).
    pub state: Vec<usize>,
    /// The shape of its first input and first output.
    pub in_shape: Shape,
    pub out_shape: Shape,
}

impl Node {
    /// The op's name (`linear`, `relu`, `layer_norm`, …).
    pub fn kind(&self) -> &'static str {
        self.op.name()
    }

    /// Values per example of its first input and its first output.
    pub fn input_len(&self) -> usize {
        self.in_shape.len()
    }

    pub fn output_len(&self) -> usize {
        self.out_shape.len()
    }

    /// The name a user reads: the module path without the `layers.` prefix (`3`, `2.1`).
    pub fn short_name(&self) -> &str {
        self.name.strip_prefix("layers.").unwrap_or(&self.name)
    }

    pub fn output(&self) -> TensorId {
        self.outputs[0]
    }

    pub fn input(&self) -> TensorId {
        self.inputs[0]
    }
}

/// A model whose shapes have been checked.
#[derive(Clone, Debug)]
pub struct Graph {
    pub tensors: Vec<TensorInfo>,
    pub nodes: Vec<Node>,
    pub input: TensorId,
    pub output: TensorId,
    pub params: Vec<ParamInfo>,
    pub state: Vec<StateInfo>,
    /// A short architecture string (`2-64-relu-64-relu-3`), given by the front-end.
    pub description: String,
    /// How many top-level layers the front-end declared.
    pub layer_count: usize,
    /// Whether a model file gave the graph (the ONNX front-end) rather than a layer list:
    /// advice that names the config's layers does not apply to it.
    pub imported: bool,
}

/// What a front-end gives [`GraphBuilder::node`]: the op, its inputs, and how to name and
/// initialize each parameter tensor the op owns (in [`Op::params`] order).
pub struct NodeSpec {
    pub name: String,
    pub layer: usize,
    pub path: String,
    pub op: Op,
    pub inputs: Vec<TensorId>,
    /// (name, init) per parameter tensor of the op.
    pub params: Vec<(String, ParamInit)>,
    /// (name, fill) per state tensor (batch norm: running mean 0 and variance 1).
    pub state: Vec<(String, f32)>,
}

/// Builds a graph node by node, checking each op's shapes as it is added.
pub struct GraphBuilder {
    graph: Graph,
}

impl GraphBuilder {
    /// A graph whose input is one example of `input`.
    pub fn new(input: Shape) -> (GraphBuilder, TensorId) {
        let graph = Graph {
            tensors: vec![TensorInfo {
                name: "input".into(),
                shape: input,
                producer: None,
                consumers: Vec::new(),
            }],
            nodes: Vec::new(),
            input: 0,
            output: 0,
            params: Vec::new(),
            state: Vec::new(),
            description: String::new(),
            layer_count: 0,
            imported: false,
        };
        (GraphBuilder { graph }, 0)
    }

    pub fn shape(&self, t: TensorId) -> Shape {
        self.graph.tensors[t].shape
    }

    /// Adds a node after every node so far; returns its outputs, or why its op cannot take
    /// its inputs.
    pub fn node(&mut self, spec: NodeSpec) -> Result<Vec<TensorId>, ShapeError> {
        let g = &mut self.graph;
        let shapes: Vec<Shape> = spec.inputs.iter().map(|&t| g.tensors[t].shape).collect();
        let outs = spec.op.infer(&shapes)?;
        let index = g.nodes.len();
        let param_shapes = spec.op.params(&shapes);
        assert_eq!(
            param_shapes.len(),
            spec.params.len(),
            "{}: a name and an init for each parameter of {}",
            spec.name,
            spec.op.name()
        );
        let mut params = Vec::new();
        for ((shape, role), (name, init)) in param_shapes.into_iter().zip(spec.params) {
            params.push(g.params.len());
            g.params.push(ParamInfo {
                name,
                node: index,
                layer: spec.layer,
                role,
                shape,
                init,
            });
        }
        let mut state = Vec::new();
        for (name, fill) in spec.state {
            state.push(g.state.len());
            g.state.push(StateInfo {
                name,
                node: index,
                shape: vec![shapes[0].features()],
                fill,
                values: None,
            });
        }
        for &t in &spec.inputs {
            g.tensors[t].consumers.push(index);
        }
        let base = format!(
            "act.{}",
            spec.name.strip_prefix("layers.").unwrap_or(&spec.name)
        );
        let count = outs.len();
        let outputs: Vec<TensorId> = outs
            .iter()
            .enumerate()
            .map(|(k, &shape)| {
                g.tensors.push(TensorInfo {
                    name: if count == 1 {
                        base.clone()
                    } else {
                        format!("{base}.{k}")
                    },
                    shape,
                    producer: Some(index),
                    consumers: Vec::new(),
                });
                g.tensors.len() - 1
            })
            .collect();
        g.nodes.push(Node {
            index,
            name: spec.name,
            layer: spec.layer,
            path: spec.path,
            in_shape: shapes[0],
            out_shape: outs[0],
            op: spec.op,
            inputs: spec.inputs,
            outputs: outputs.clone(),
            params,
            state,
        });
        Ok(outputs)
    }

    /// The graph with `output` as its result.
    pub fn finish(mut self, output: TensorId, description: String, layers: usize) -> Graph {
        self.graph.output = output;
        self.graph.description = description;
        self.graph.layer_count = layers;
        self.graph
    }
}

impl Graph {
    pub fn tensor(&self, t: TensorId) -> &TensorInfo {
        &self.tensors[t]
    }

    /// One example of the input.
    pub fn input_shape(&self) -> Shape {
        self.tensors[self.input].shape
    }

    /// One example of the output.
    pub fn output_shape(&self) -> Shape {
        self.tensors[self.output].shape
    }

    /// Values per example of the input (the data's features).
    pub fn input_len(&self) -> usize {
        self.input_shape().len()
    }

    /// The input as an image, for image models.
    pub fn image(&self) -> Option<Image> {
        self.input_shape().image()
    }

    /// Outputs per prediction: the classes (or regression targets) the loss sees per row.
    pub fn output_width(&self) -> usize {
        match self.output_shape() {
            Shape::Seq { width, .. } => width,
            s => s.len(),
        }
    }

    /// Predictions per example: the positions of a sequence model, else 1.
    pub fn predictions(&self) -> usize {
        match self.output_shape() {
            Shape::Seq { len, .. } => len,
            _ => 1,
        }
    }

    /// Whether the model reads token ids.
    pub fn takes_tokens(&self) -> bool {
        matches!(self.input_shape(), Shape::Tokens(_))
    }

    /// Every tensor a node writes, in production order: the tensors whose statistics a fully
    /// instrumented step reduces (`StepStats::acts[k]` is `activations()[k]`). For a layer list
    /// this is layer i's output at position i.
    pub fn activations(&self) -> Vec<TensorId> {
        (0..self.tensors.len())
            .filter(|&t| t != self.input)
            .collect()
    }

    /// Position of tensor `t` in [`Graph::activations`].
    pub fn activation_slot(&self, t: TensorId) -> Option<usize> {
        (t != self.input).then(|| if t > self.input { t - 1 } else { t })
    }

    /// The nodes whose op is an activation of one of `kinds`.
    pub fn activation_nodes(&self, kinds: &[crate::ops::Activation]) -> Vec<NodeId> {
        self.nodes
            .iter()
            .filter(|n| matches!(&n.op, Op::Activation { kind, .. } if kinds.contains(kind)))
            .map(|n| n.index)
            .collect()
    }

    /// Total number of trainable scalars.
    pub fn param_count(&self) -> usize {
        self.params.iter().map(ParamInfo::len).sum()
    }

    /// A short architecture string.
    pub fn describe(&self) -> String {
        self.description.clone()
    }

    /// The parameter named `name`.
    pub fn param(&self, name: &str) -> Option<usize> {
        self.params.iter().position(|p| p.name == name)
    }

    /// Nodes on the longest path from each node to the output: 0 for the node writing the
    /// output, larger toward the input (gradient flow reads layers by this depth).
    pub fn depth_from_output(&self) -> Vec<usize> {
        let mut depth = vec![usize::MAX; self.nodes.len()];
        for n in self.nodes.iter().rev() {
            let below = n
                .outputs
                .iter()
                .flat_map(|&t| &self.tensors[t].consumers)
                .filter_map(|&c| (depth[c] != usize::MAX).then_some(depth[c] + 1))
                .max();
            depth[n.index] = match below {
                Some(d) => d,
                None if n.outputs.contains(&self.output) => 0,
                None => usize::MAX,
            };
        }
        depth
    }

    /// The nodes of top-level layer `layer`, in order.
    pub fn layer_nodes(&self, layer: usize) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(move |n| n.layer == layer)
    }

    /// The node whose output is top-level layer `layer`'s result (its last node).
    pub fn layer_output(&self, layer: usize) -> Option<&Node> {
        self.layer_nodes(layer).last()
    }

    /// Parameter tensors (indices) of top-level layer `layer`.
    pub fn layer_params(&self, layer: usize) -> Vec<usize> {
        (0..self.params.len())
            .filter(|&k| self.params[k].layer == layer)
            .collect()
    }
}
