//! ONNX nodes onto IR ops. Nodes are visited in the file's (topological) order; each output
//! becomes a [`Value`]: a constant (an initializer, a `Constant`, or anything folded from
//! constants), or a tensor of the IR graph. Patterns that exporters spread over several nodes
//! are recognized where they start: `MatMul` + `Add` of a bias is one linear layer, the erf
//! form of GELU (`Div`, `Erf`, `Add`, `Mul`, `Mul`) one activation.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use super::attrs::Attrs;
use super::file::{self, ModelFile};
use super::fold::{self, reshape_dims};
use super::proto::{type_proto, NodeProto};
use super::tensor::{is_integer, Const, BATCH};
use crate::error::{Error, Result};
use crate::graph::{
    Graph, GraphBuilder, Image, NodeSpec, Op, ParamInit, PoolKind, Shape, ShapeError, TensorId,
};
use crate::ops::Activation;

/// The ONNX ops netdx maps onto its own (what PyTorch's exporters write for the layers it
/// trains), then the ops it evaluates at load when their inputs are constants.
pub const SUPPORTED_OPS: &[&str] = &[
    "Gemm",
    "MatMul (by a weight, with its bias Add)",
    "Conv",
    "BatchNormalization",
    "LayerNormalization",
    "Gather (embedding)",
    "Relu",
    "LeakyRelu",
    "Tanh",
    "Sigmoid",
    "Gelu",
    "Erf (the GELU pattern)",
    "Dropout",
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "ReduceMean (over height and width)",
    "Flatten",
    "Reshape (to a vector)",
    "Add (residual)",
    "ReduceMean, Sub, Pow, Add, Sqrt, Div, Mul, Add (a layer norm before opset 17)",
    "Add of a learned position table (x + pos[:T])",
    "nn.MultiheadAttention as exported (self-attention, causal or no mask, need_weights=False)",
    "Identity",
    "LogSoftmax (last, before the loss)",
    "on constants: Constant, Shape, Gather, Slice, Concat, Unsqueeze, Squeeze, Reshape, Cast, CastLike, Transpose, ConstantOfShape, Range, Equal, Where, Expand, Add, Sub, Mul, Div, Mod, Pow, Sqrt, Neg, Reciprocal",
];

/// What a name of the ONNX graph holds.
#[derive(Clone, Debug)]
enum Value {
    Const(Const),
    Tensor(TensorId),
    /// A tensor inside an attention module, known by its dimensions only (the batch as
    /// [`BATCH`]): the module is mapped as a whole, see [`Importer::attention`].
    Sym(Vec<i64>),
    /// An output netdx does not compute (batch norm's updated statistics, dropout's mask).
    Absent,
}

/// A parameter as the file gives it.
struct Param {
    name: String,
    dims: Vec<usize>,
    values: Arc<[f32]>,
}

/// Imports the model at `path` for data of `width` values per example (token ids when
/// `tokens`); `declared` is `model.input` (the dimensions of one example without the batch),
/// needed when the file leaves them symbolic.
pub fn import(
    path: &Path,
    declared: Option<&[usize]>,
    width: usize,
    tokens: bool,
) -> Result<Graph> {
    let file = file::read(path)?;
    Importer::new(path, &file, declared, DataShape { width, tokens })?.run()
}

/// Imports the model at `path` with the input shape the file (or `declared`) gives, whatever
/// the data: for tools that make data to fit the model (`netdx bench --onnx`).
pub fn import_for_shape(path: &Path, declared: Option<&[usize]>) -> Result<Graph> {
    let file = file::read(path)?;
    let (_, dims, tokens) = Importer::input_of(path, &file, declared)?;
    Importer::new(
        path,
        &file,
        Some(&dims),
        DataShape {
            width: dims.iter().product(),
            tokens,
        },
    )?
    .run()
}

/// A layer norm spelled out in elementwise ops: the nodes after the mean, the one whose output
/// is the result, ε, and the names of γ and β when affine.
struct DecomposedLayerNorm {
    span: Vec<usize>,
    last: usize,
    eps: f64,
    affine: Option<(String, String)>,
}

/// What the data gives the model: values per example, and whether they are token ids.
#[derive(Clone, Copy)]
struct DataShape {
    width: usize,
    tokens: bool,
}

struct Importer<'a> {
    path: &'a Path,
    file: &'a ModelFile,
    builder: GraphBuilder,
    values: HashMap<String, Value>,
    /// The nodes reading each name, by node index.
    readers: HashMap<String, Vec<usize>>,
    /// The node writing each name.
    producer: HashMap<String, usize>,
    /// Initializers that became parameters (a second use would be a tied weight).
    taken: HashSet<String>,
    node_names: HashSet<String>,
    /// Top-level modules in order of first appearance: a node's layer is its module's index.
    layers: Vec<String>,
    /// Nodes folded into a pattern that an earlier node emitted, with the tensor their output
    /// stands for (`None`: an inner node whose output nothing else reads).
    absorbed: HashMap<usize, Option<TensorId>>,
    state_values: Vec<Arc<[f32]>>,
    outputs: Vec<String>,
    /// `nn.MultiheadAttention` modules: each module's prefix and its nodes, in order.
    regions: Vec<(String, Vec<usize>)>,
    /// The region a node belongs to.
    region_of: HashMap<usize, usize>,
}

fn shape_message(e: ShapeError) -> String {
    match e {
        ShapeError::Width { expected, found } => {
            format!("expects width {expected}, but its input has {found}")
        }
        ShapeError::Message(m) => m,
    }
}

/// The IR shape of one example of dimensions `dims`.
fn ir_shape(dims: &[usize], tokens: bool) -> Option<Shape> {
    match (dims, tokens) {
        (&[t], true) => Some(Shape::Tokens(t)),
        (&[n], false) => Some(Shape::Flat(n)),
        (&[len, width], false) => Some(Shape::Seq { len, width }),
        (&[c, h, w], false) => Some(Shape::Image(Image::new([c, h, w]))),
        _ => None,
    }
}

impl<'a> Importer<'a> {
    fn new(
        path: &'a Path,
        file: &'a ModelFile,
        declared: Option<&[usize]>,
        data: DataShape,
    ) -> Result<Importer<'a>> {
        let graph = file.model.graph.as_ref().expect("checked by file::read");
        let fail = |message: String| Error::Onnx {
            file: path.to_path_buf(),
            node: None,
            message,
        };
        let mut values = HashMap::new();
        for t in &graph.initializer {
            let mut c =
                Const::from_proto(t).map_err(|m| fail(format!("initializer `{}`: {m}", t.name)))?;
            c.source = Some(super::tensor::Source {
                name: t.name.clone(),
                transposed: false,
            });
            values.insert(t.name.clone(), Value::Const(c));
        }
        let (input, dims, tokens) = Importer::input_of(path, file, declared)?;
        let len: usize = dims.iter().product();
        if tokens != data.tokens {
            return Err(fail(if tokens {
                format!("input `{}` takes token ids, but the data are values; give token data (`text`, a token array or a built-in sequence task)", input)
            } else {
                format!("input `{}` takes values, but the data are token ids; a model on tokens starts with an embedding (Gather)", input)
            }));
        }
        if len != data.width {
            return Err(fail(format!(
                "input `{}` is {dims:?} = {len} values per example, but the data has {} features",
                input, data.width
            )));
        }
        let shape = ir_shape(&dims, tokens).ok_or_else(|| {
            fail(format!(
                "input `{}` of {} dimensions per example ({dims:?}): netdx takes vectors [n], sequences [T, d], images [c, h, w] and token ids [T]",
                input,
                dims.len()
            ))
        })?;
        let (builder, x) = GraphBuilder::new(shape);
        values.insert(input.clone(), Value::Tensor(x));
        let mut readers: HashMap<String, Vec<usize>> = HashMap::new();
        let mut producer = HashMap::new();
        for (k, n) in graph.node.iter().enumerate() {
            for i in &n.input {
                readers.entry(i.clone()).or_default().push(k);
            }
            for o in n.output.iter().filter(|o| !o.is_empty()) {
                producer.insert(o.clone(), k);
            }
        }
        // An attention module is recognized by its packed projection, `{prefix}.in_proj_weight`:
        // its nodes are those reading its initializers or placed in its scope by the exporter.
        let mut regions: Vec<(String, Vec<usize>)> = Vec::new();
        let mut region_of = HashMap::new();
        for t in &graph.initializer {
            let Some(prefix) = t.name.strip_suffix(".in_proj_weight") else {
                continue;
            };
            let inner = format!("{prefix}.");
            let nodes: Vec<usize> = graph
                .node
                .iter()
                .enumerate()
                .filter(|(_, n)| {
                    n.input
                        .iter()
                        .any(|i| i.starts_with(&inner) && values.contains_key(i))
                        || scope_of(n).is_some_and(|s| s == prefix || s.starts_with(&inner))
                })
                .map(|(k, _)| k)
                .collect();
            for &k in &nodes {
                region_of.insert(k, regions.len());
            }
            regions.push((prefix.to_string(), nodes));
        }
        let outputs: Vec<String> = graph.output.iter().map(|o| o.name.clone()).collect();
        if outputs.len() != 1 {
            return Err(fail(format!(
                "has {} outputs; netdx trains models with one output (the logits)",
                outputs.len()
            )));
        }
        Ok(Importer {
            path,
            file,
            builder,
            values,
            readers,
            producer,
            taken: HashSet::new(),
            node_names: HashSet::new(),
            layers: Vec::new(),
            absorbed: HashMap::new(),
            state_values: Vec::new(),
            outputs,
            regions,
            region_of,
        })
    }

    /// The graph input: its name, one example's dimensions (`declared` where the file leaves
    /// them open, checked against the file where it does not) and whether it takes token ids.
    fn input_of(
        path: &Path,
        file: &ModelFile,
        declared: Option<&[usize]>,
    ) -> Result<(String, Vec<usize>, bool)> {
        let graph = file.model.graph.as_ref().expect("checked by file::read");
        let fail = |message: String| Error::Onnx {
            file: path.to_path_buf(),
            node: None,
            message,
        };
        let initializers: HashSet<&str> =
            graph.initializer.iter().map(|t| t.name.as_str()).collect();
        let inputs: Vec<_> = graph
            .input
            .iter()
            .filter(|i| !initializers.contains(i.name.as_str()))
            .collect();
        let [input] = inputs.as_slice() else {
            return Err(fail(format!(
                "has {} inputs ({}); netdx trains models with one input",
                inputs.len(),
                inputs
                    .iter()
                    .map(|i| format!("`{}`", i.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        let (elem, file_dims) = match input.r#type.as_ref().and_then(|t| t.value.as_ref()) {
            Some(type_proto::Value::TensorType(t)) => (
                t.elem_type,
                t.shape.as_ref().map(|s| {
                    s.dim
                        .iter()
                        .map(|d| match d.value {
                            Some(super::proto::tensor_shape_proto::dimension::Value::DimValue(
                                v,
                            )) if v > 0 => Some(v as usize),
                            _ => None,
                        })
                        .collect::<Vec<_>>()
                }),
            ),
            _ => return Err(fail(format!("input `{}` is not a tensor", input.name))),
        };
        let tokens = is_integer(elem);
        let per_example: Vec<Option<usize>> = match &file_dims {
            Some(d) if !d.is_empty() => d[1..].to_vec(),
            _ => Vec::new(),
        };
        let dims: Vec<usize> = match declared {
            Some(d) => {
                if !per_example.is_empty() {
                    let clash = per_example.len() != d.len()
                        || per_example.iter().zip(d).any(|(f, &g)| f.is_some_and(|f| f != g));
                    if clash {
                        return Err(fail(format!(
                            "model.input is {d:?}, but the file's input `{}` is {} per example",
                            input.name,
                            describe_dims(&per_example)
                        )));
                    }
                }
                d.to_vec()
            }
            None if !per_example.is_empty() && per_example.iter().all(Option::is_some) => {
                per_example.iter().map(|d| d.expect("checked")).collect()
            }
            None => {
                return Err(fail(format!(
                    "the shape of input `{}` is {} per example, not fixed in the file: declare it as `model.input` ([channels, height, width] for images, [length] for tokens, [features] for vectors)",
                    input.name,
                    describe_dims(&per_example)
                )))
            }
        };
        Ok((input.name.clone(), dims, tokens))
    }

    fn nodes(&self) -> &'a [NodeProto] {
        &self.file.model.graph.as_ref().expect("checked").node
    }

    fn label(&self, node: &NodeProto) -> String {
        let name = if node.name.is_empty() {
            node.output.first().cloned().unwrap_or_default()
        } else {
            node.name.clone()
        };
        format!("node `{name}` ({} opset {})", node.op_type, self.file.opset)
    }

    fn fail(&self, node: &NodeProto, message: impl Into<String>) -> Error {
        Error::Onnx {
            file: self.path.to_path_buf(),
            node: Some(self.label(node)),
            message: message.into(),
        }
    }

    fn run(mut self) -> Result<Graph> {
        let nodes = self.nodes();
        for (k, node) in nodes.iter().enumerate() {
            if !node.domain.is_empty() && node.domain != "ai.onnx" {
                return Err(self.fail(
                    node,
                    format!(
                        "is in domain `{}`; netdx maps the default ONNX domain: {}",
                        node.domain,
                        SUPPORTED_OPS.join(", ")
                    ),
                ));
            }
            if node.output.first().is_none_or(String::is_empty) {
                return Err(self.fail(node, "has no output (a corrupted file?)"));
            }
            if let Some(&r) = self.region_of.get(&k) {
                // The module is mapped at its last node, when everything it reads exists.
                if self.regions[r].1.last() == Some(&k) {
                    self.attention(r)?;
                }
                continue;
            }
            if let Some(stands_for) = self.absorbed.get(&k).copied() {
                if let (Some(t), Some(out)) = (stands_for, node.output.first()) {
                    self.values.insert(out.clone(), Value::Tensor(t));
                }
                continue;
            }
            let inputs = self.inputs_of(node)?;
            if inputs.iter().flatten().any(|v| matches!(v, Value::Sym(_))) {
                return Err(self.fail(
                    node,
                    "reads a tensor from inside an attention module other than its output",
                ));
            }
            if inputs.iter().flatten().any(|v| matches!(v, Value::Absent)) {
                return Err(self.fail(node, "reads an output netdx does not compute (batch norm's updated running statistics, or dropout's mask)"));
            }
            let outputs = self.node(k, node, &inputs)?;
            for (name, v) in node.output.iter().zip(outputs) {
                if !name.is_empty() {
                    self.values.insert(name.clone(), v);
                }
            }
        }
        let out = &self.outputs[0];
        let output = match self.values.get(out) {
            Some(Value::Tensor(t)) => *t,
            _ => {
                return Err(Error::Onnx {
                    file: self.path.to_path_buf(),
                    node: None,
                    message: format!("output `{out}` does not depend on the input"),
                })
            }
        };
        let stem = self
            .path
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let description = format!("onnx:{stem}");
        let layers = self.layers.len();
        let mut graph = self.builder.finish(output, description, layers);
        graph.imported = true;
        for (s, v) in graph.state.iter_mut().zip(self.state_values) {
            s.values = Some(v);
        }
        Ok(graph)
    }

    /// The values `node` reads (`None` for an omitted optional input).
    fn inputs_of(&self, node: &NodeProto) -> Result<Vec<Option<Value>>> {
        node.input
            .iter()
            .map(|name| {
                if name.is_empty() {
                    Ok(None)
                } else {
                    self.values.get(name).cloned().map(Some).ok_or_else(|| {
                        self.fail(node, format!("reads `{name}`, which no earlier node writes (the nodes are not in topological order, or the graph is corrupted)"))
                    })
                }
            })
            .collect()
    }

    /// `x + P[:T]` with P a learned `[max_len, d]` table: a position embedding.
    fn position(&mut self, node: &NodeProto, t: TensorId, c: &Const) -> Result<TensorId> {
        let table = c
            .rows_of
            .clone()
            .or_else(|| {
                c.source
                    .as_ref()
                    .filter(|s| !s.transposed)
                    .map(|s| s.name.clone())
            })
            .expect("a constant from an initializer");
        let Some(Value::Const(full)) = self.values.get(&table).cloned() else {
            return Err(self.fail(
                node,
                format!("adds a slice of `{table}`, which is not an initializer"),
            ));
        };
        let rows: Vec<usize> = c.dims.iter().copied().skip_while(|&d| d == 1).collect();
        let shape = self.builder.shape(t);
        let fits = matches!(shape, Shape::Seq { len, width } if rows == [len, width])
            && full.dims.len() == 2
            && full.dims[1] == rows[1];
        if !fits {
            return Err(self.unsupported(
                node,
                &format!("adding `{table}` ({:?}) to {shape} other than as positions [T, d] of a sequence", c.dims),
            ));
        }
        let op = Op::Position {
            max_len: full.dims[0],
        };
        let mut whole = full.clone();
        whole.source = Some(super::tensor::Source {
            name: table,
            transposed: false,
        });
        let p = self.param(node, &whole, "position table")?;
        self.emit(node, op, vec![t], vec![p], vec![])
    }

    /// Maps `nn.MultiheadAttention` module `r` as a whole: its nodes are followed with
    /// dimensions only (the exporters spell self-attention as transposes, reshapes and batched
    /// products over `[T, B·H, Dh]`), which gives the number of heads at the softmax and the
    /// mask added before it; then the graph gets netdx's own attention (packed projection,
    /// heads, scaled scores, softmax with the causal mask, weights × values, merged heads,
    /// output projection), the same ops and names as a `{attention: …}` layer.
    fn attention(&mut self, r: usize) -> Result<()> {
        let (prefix, members) = self.regions[r].clone();
        let nodes = self.nodes();
        let first = &nodes[members[0]];
        let inside: HashSet<usize> = members.iter().copied().collect();
        let mut external: Vec<TensorId> = Vec::new();
        let mut softmax: Option<usize> = None;
        let mut dropout = 0.0;
        for &k in &members {
            let node = &nodes[k];
            if node.output.first().is_none_or(String::is_empty) {
                return Err(self.fail(node, "has no output (a corrupted file?)"));
            }
            let inputs = self.inputs_of(node)?;
            for v in inputs.iter().flatten() {
                match v {
                    Value::Tensor(t) if !external.contains(t) => external.push(*t),
                    Value::Absent => {
                        return Err(self.fail(node, "reads an output netdx does not compute"))
                    }
                    _ => {}
                }
            }
            match node.op_type.as_str() {
                "Softmax" if softmax.is_some() => {
                    return Err(self.unsupported(node, "an attention module with two softmaxes"))
                }
                "Softmax" => softmax = Some(k),
                "Dropout" => {
                    dropout = match inputs.get(1).cloned().flatten() {
                        Some(Value::Const(c)) => c.scalar().unwrap_or(0.5),
                        _ => Attrs(&node.attribute).float("ratio", 0.5),
                    }
                }
                _ => {}
            }
            let outs = self.follow(node, &inputs)?;
            for (name, v) in node.output.iter().zip(outs) {
                if !name.is_empty() {
                    self.values.insert(name.clone(), v);
                }
            }
        }
        let fail = |this: &Self, m: String| this.fail(first, format!("attention `{prefix}`: {m}"));
        let [x] = external[..] else {
            return Err(fail(self, format!("reads {} computed tensors; netdx maps self-attention (query, key and value the same tensor)", external.len())));
        };
        // What leaves the module: read by a node outside it, or the graph's output.
        let leaving: Vec<String> = members
            .iter()
            .flat_map(|&k| nodes[k].output.iter())
            .filter(|o| {
                // Constants (shape arithmetic, the mask) may be read anywhere; computed
                // tensors leave only as the output.
                matches!(self.values.get(*o), Some(Value::Sym(_)))
                    && (self.outputs.contains(o)
                        || self
                            .readers
                            .get(*o)
                            .is_some_and(|rs| rs.iter().any(|k| !inside.contains(k))))
            })
            .cloned()
            .collect();
        let [out_name] = &leaving[..] else {
            return Err(fail(self, format!("gives {} tensors to the rest of the model; netdx maps attention that returns its output alone (need_weights=False)", leaving.len())));
        };
        let Some(sm) = softmax else {
            return Err(fail(self, "has no softmax".into()));
        };
        let scores_name = nodes[sm].input.first().cloned().unwrap_or_default();
        let Some(Value::Sym(scores)) = self.values.get(&scores_name).cloned() else {
            return Err(fail(self, "its softmax does not read the scores".into()));
        };
        let heads = match scores[..] {
            [b, h, _, _] if b == BATCH && h > 0 => h as usize,
            [bh, _, _] if bh > 0 && bh % BATCH == 0 => (bh / BATCH) as usize,
            _ => {
                return Err(fail(
                    self,
                    format!(
                        "its scores are {} (expected [batch, heads, T, T])",
                        describe_target(&scores)
                    ),
                ))
            }
        };
        // The mask: a constant added to the scores just before the softmax.
        let causal = match self.producer.get(&scores_name).copied() {
            Some(a) if nodes[a].op_type == "Add" => {
                let mask = nodes[a]
                    .input
                    .iter()
                    .find_map(|i| match self.values.get(i) {
                        Some(Value::Const(c)) => Some(c.clone()),
                        _ => None,
                    });
                match mask {
                    Some(m) => causal_mask(&m).ok_or_else(|| fail(self, "adds a mask to its scores that is neither causal nor empty (padding masks are not supported yet)".into()))?,
                    None => return Err(fail(self, "adds a computed mask to its scores (padding masks are not supported yet)".into())),
                }
            }
            _ => false,
        };
        let get = |this: &Self, name: &str| -> Option<Const> {
            match this.values.get(&format!("{prefix}.{name}")) {
                Some(Value::Const(c)) => Some(c.clone()),
                _ => None,
            }
        };
        let w_in = get(self, "in_proj_weight")
            .ok_or_else(|| fail(self, "has no in_proj_weight".into()))?;
        let w_out = get(self, "out_proj.weight").ok_or_else(|| {
            fail(
                self,
                "has no out_proj.weight (separate q, k, v projections are not supported yet)"
                    .into(),
            )
        })?;
        let d = w_in.dims.get(1).copied().unwrap_or(0);
        let shape = self.builder.shape(x);
        if !matches!(shape, Shape::Seq { width, .. } if width == d)
            || w_in.dims != [3 * d, d]
            || heads == 0
            || d % heads != 0
        {
            return Err(fail(self, format!("its input is {shape}, in_proj_weight {:?} and {heads} heads: netdx maps self-attention over a [T, d] sequence with d divisible by the heads", w_in.dims)));
        }
        let p_in = self.param(first, &w_in, "in_proj_weight")?;
        let b_in = get(self, "in_proj_bias")
            .map(|c| self.param(first, &c, "in_proj_bias"))
            .transpose()?;
        let p_out = self.param(first, &w_out, "out_proj.weight")?;
        let b_out = get(self, "out_proj.bias")
            .map(|c| self.param(first, &c, "out_proj.bias"))
            .transpose()?;
        let named = |s: &str| Some(format!("{prefix}.{s}"));
        let (has_in_bias, has_out_bias) = (b_in.is_some(), b_out.is_some());
        let qkv = self.emit_named(
            first,
            named("in_proj"),
            Op::Linear {
                input: d,
                output: 3 * d,
                bias: has_in_bias,
            },
            vec![x],
            std::iter::once(p_in).chain(b_in).collect(),
            vec![],
        )?;
        // The packed projection split into queries, keys and values per head.
        let split = self.emit_outputs(
            first,
            named("heads"),
            Op::ToHeads { heads, parts: 3 },
            vec![qkv],
            vec![],
            vec![],
        )?;
        let (q, k, v) = (split[0], split[1], split[2]);
        let scores = self.emit_plain(
            first,
            named("scores"),
            Op::Matmul { trans_b: true },
            vec![q, k],
        )?;
        let mut weights = self.emit_plain(
            first,
            named("softmax"),
            Op::Softmax {
                scale: 1.0 / ((d / heads) as f64).sqrt(),
                causal,
            },
            vec![scores],
        )?;
        if dropout > 0.0 {
            weights = self.emit_plain(
                first,
                named("dropout"),
                Op::Dropout { rate: dropout },
                vec![weights],
            )?;
        }
        let context = self.emit_plain(
            first,
            named("context"),
            Op::Matmul { trans_b: false },
            vec![weights, v],
        )?;
        let merged = self.emit_plain(first, named("merge"), Op::FromHeads, vec![context])?;
        let y = self.emit_named(
            first,
            Some(prefix.clone()),
            Op::Linear {
                input: d,
                output: d,
                bias: has_out_bias,
            },
            vec![merged],
            std::iter::once(p_out).chain(b_out).collect(),
            vec![],
        )?;
        for &k in &members {
            for o in &nodes[k].output {
                if matches!(self.values.get(o), Some(Value::Sym(_))) {
                    self.values.remove(o);
                }
            }
        }
        self.values.insert(out_name.clone(), Value::Tensor(y));
        Ok(())
    }

    /// The top-level layer of module path `module`.
    fn layer_of(&mut self, module: &str) -> usize {
        let top = module.split('.').next().unwrap_or("").to_string();
        match self.layers.iter().position(|l| *l == top) {
            Some(i) => i,
            None => {
                self.layers.push(top);
                self.layers.len() - 1
            }
        }
    }

    /// The node's outputs evaluated at load when every input is a constant (`None` when one
    /// is computed).
    fn fold_constants(
        &self,
        node: &NodeProto,
        inputs: &[Option<Value>],
    ) -> Option<Result<Vec<Value>>> {
        let consts: Vec<Option<&Const>> = inputs
            .iter()
            .map(|v| match v {
                Some(Value::Const(c)) => Some(Some(c)),
                None => Some(None),
                _ => None,
            })
            .collect::<Option<_>>()?;
        Some(match fold::fold(&node.op_type, &consts, &Attrs(&node.attribute)) {
            Ok(Some(out)) => Ok(out.into_iter().map(Value::Const).collect()),
            Ok(None) => Err(self.fail(
                node,
                "is computed from constants only, and netdx does not evaluate this op on constants",
            )),
            Err(m) => Err(self.fail(node, m)),
        })
    }

    /// The outputs of a node inside an attention module: folded where its inputs are
    /// constants, else only their dimensions.
    fn follow(&self, node: &NodeProto, inputs: &[Option<Value>]) -> Result<Vec<Value>> {
        let attrs = Attrs(&node.attribute);
        let consts = constants(inputs);
        if let Some(folded) = self.fold_constants(node, inputs) {
            return folded;
        }
        let dims = |v: &Option<Value>| -> Option<Vec<i64>> {
            match v.as_ref()? {
                Value::Tensor(t) => {
                    let mut d = vec![BATCH];
                    d.extend(self.builder.shape(*t).dims().iter().map(|&x| x as i64));
                    Some(d)
                }
                Value::Sym(d) => Some(d.clone()),
                Value::Const(c) => Some(c.dims.iter().map(|&x| x as i64).collect()),
                Value::Absent => None,
            }
        };
        let x = inputs
            .first()
            .and_then(dims)
            .ok_or_else(|| self.fail(node, "has no first input"))?;
        let sym = |d: Vec<i64>| Ok(vec![Value::Sym(d)]);
        let bad = |m: &str| self.fail(node, m.to_string());
        match node.op_type.as_str() {
            "Shape" => Ok(vec![Value::Const(fold::shape_slice(&x, &attrs))]),
            "CastLike" => match inputs.first().cloned().flatten() {
                Some(Value::Const(c)) => Ok(vec![Value::Const(Const::new(
                    c.dims.clone(),
                    super::tensor::Data::F32(c.data.as_f32()),
                ))]),
                _ => sym(x),
            },
            "Identity" | "Cast" | "Softmax" | "LogSoftmax" | "Sqrt" | "Relu" | "Gelu" | "Erf"
            | "Tanh" | "Sigmoid" | "Neg" | "Reciprocal" => sym(x),
            "Dropout" => Ok(vec![Value::Sym(x.clone()), Value::Absent]),
            "Transpose" => {
                let perm: Vec<usize> = match attrs.ints("perm") {
                    Some(p) => p
                        .iter()
                        .map(|&a| usize::try_from(a).unwrap_or(usize::MAX))
                        .collect(),
                    None => (0..x.len()).rev().collect(),
                };
                let mut sorted = perm.clone();
                sorted.sort();
                if sorted != (0..x.len()).collect::<Vec<_>>() {
                    return Err(bad("its perm is not a permutation of the axes"));
                }
                sym(perm.iter().map(|&a| x[a]).collect())
            }
            "MatMul" => {
                let b = inputs
                    .get(1)
                    .and_then(dims)
                    .ok_or_else(|| bad("has no second input"))?;
                if x.len() < 2 || b.is_empty() {
                    return Err(bad("multiplies tensors of rank below 2"));
                }
                let (m, k) = (x[x.len() - 2], x[x.len() - 1]);
                let (kb, n, lead_b) = match b.len() {
                    1 => (b[0], None, Vec::new()),
                    r => (b[r - 2], Some(b[r - 1]), b[..r - 2].to_vec()),
                };
                if k != kb {
                    return Err(bad("multiplies tensors whose inner sizes differ"));
                }
                let mut out = fold::broadcast(&x[..x.len() - 2], &lead_b)
                    .ok_or_else(|| bad("has batch dimensions that do not broadcast"))?;
                out.push(m);
                out.extend(n);
                sym(out)
            }
            "Gemm" => {
                let b = inputs
                    .get(1)
                    .and_then(dims)
                    .ok_or_else(|| bad("has no weight"))?;
                if x.len() != 2 || b.len() != 2 {
                    return Err(bad("Gemm takes matrices"));
                }
                let n = if attrs.int("transB", 0) != 0 {
                    b[0]
                } else {
                    b[1]
                };
                sym(vec![x[0], n])
            }
            "Add" | "Sub" | "Mul" | "Div" | "Pow" | "Where" | "Equal" => {
                let mut out = x.clone();
                for v in &inputs[1..] {
                    let d = dims(v).ok_or_else(|| bad("misses an input"))?;
                    out = fold::broadcast(&out, &d)
                        .ok_or_else(|| bad("has inputs that do not broadcast"))?;
                }
                sym(out)
            }
            "Reshape" => {
                let target = consts
                    .get(1)
                    .copied()
                    .flatten()
                    .ok_or_else(|| bad("reshapes to a computed shape"))?
                    .data
                    .as_i64();
                let total: i128 = x.iter().map(|&d| d as i128).product();
                let mut out: Vec<i128> = Vec::new();
                let mut infer = None;
                for (i, &t) in target.iter().enumerate() {
                    match t {
                        0 if attrs.int("allowzero", 0) == 0 => out.push(
                            *x.get(i)
                                .ok_or_else(|| bad("copies a dimension the input lacks"))?
                                as i128,
                        ),
                        -1 if infer.is_none() => {
                            infer = Some(i);
                            out.push(1);
                        }
                        t if t > 0 => out.push(t as i128),
                        _ => return Err(bad("has an invalid target dimension")),
                    }
                }
                let known: i128 = out.iter().product();
                if let Some(i) = infer {
                    if known == 0 || total % known != 0 {
                        return Err(bad("cannot infer its -1 dimension"));
                    }
                    out[i] = total / known;
                }
                if out.iter().product::<i128>() != total {
                    return Err(bad("reshapes to a different number of values"));
                }
                sym(out.into_iter().map(|d| d as i64).collect())
            }
            "Unsqueeze" | "Squeeze" => {
                let axes = fold::axes_of(&consts, &attrs).map_err(|m| bad(&m))?;
                let mut out = x.clone();
                if node.op_type == "Unsqueeze" {
                    let rank = (x.len() + axes.as_ref().map_or(0, Vec::len)) as i64;
                    let mut a: Vec<i64> = axes
                        .unwrap_or_default()
                        .iter()
                        .map(|&a| if a < 0 { a + rank } else { a })
                        .collect();
                    a.sort();
                    for a in a {
                        if a < 0 || a as usize > out.len() {
                            return Err(bad("has an axis out of range"));
                        }
                        out.insert(a as usize, 1);
                    }
                } else {
                    let rank = x.len() as i64;
                    let a: Vec<i64> =
                        axes.unwrap_or_else(|| (0..rank).filter(|&i| x[i as usize] == 1).collect());
                    let a: Vec<usize> = a
                        .iter()
                        .map(|&a| (if a < 0 { a + rank } else { a }) as usize)
                        .collect();
                    if a.iter().any(|&i| i >= x.len() || x[i] != 1) {
                        return Err(bad("squeezes an axis whose size is not 1"));
                    }
                    out = x
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| !a.contains(i))
                        .map(|(_, &d)| d)
                        .collect();
                }
                sym(out)
            }
            "Gather" => {
                let idx = consts
                    .get(1)
                    .copied()
                    .flatten()
                    .ok_or_else(|| bad("gathers computed indices"))?;
                let rank = x.len() as i64;
                let axis = attrs.int("axis", 0);
                let axis = (if axis < 0 { axis + rank } else { axis }) as usize;
                if axis >= x.len() {
                    return Err(bad("has an axis out of range"));
                }
                let mut out = x[..axis].to_vec();
                out.extend(idx.dims.iter().map(|&d| d as i64));
                out.extend(&x[axis + 1..]);
                sym(out)
            }
            _ => Err(self.unsupported(node, "this op inside an attention module")),
        }
    }

    /// A constant input, or why it must be one.
    fn constant<'v>(
        &self,
        node: &NodeProto,
        v: &'v Option<Value>,
        what: &str,
    ) -> Result<&'v Const> {
        match v {
            Some(Value::Const(c)) => Ok(c),
            Some(_) => Err(self.fail(
                node,
                format!("its {what} is computed from the input; netdx needs it constant"),
            )),
            None => Err(self.fail(node, format!("has no {what}"))),
        }
    }

    fn tensor(&self, node: &NodeProto, v: &Option<Value>) -> Result<TensorId> {
        match v {
            Some(Value::Tensor(t)) => Ok(*t),
            _ => Err(self.fail(
                node,
                "its first input is not computed from the model's input",
            )),
        }
    }

    /// A parameter from an initializer in a weight position.
    fn param(&mut self, node: &NodeProto, c: &Const, what: &str) -> Result<Param> {
        let Some(source) = &c.source else {
            return Err(self.fail(
                node,
                format!("its {what} is a computed constant, not an initializer; netdx trains initializers"),
            ));
        };
        if source.transposed {
            return Err(self.fail(node, format!("its {what} is `{}` transposed", source.name)));
        }
        if !self.taken.insert(source.name.clone()) {
            return Err(self.fail(
                node,
                format!("reuses `{}`, which another node already trains (tied weights are not supported yet)", source.name),
            ));
        }
        Ok(Param {
            name: source.name.clone(),
            dims: c.dims.clone(),
            values: c.data.as_f32().into(),
        })
    }

    /// The module path a node belongs to: its parameters' prefix (`3.conv1` for
    /// `3.conv1.weight`), else the TorchScript exporter's scope (`/3/relu/Relu` → `3.relu`),
    /// else the dynamo exporter's name scope, else the node's own name.
    fn module(&self, node: &NodeProto, params: &[&Param]) -> String {
        if let Some(p) = params.first() {
            return match p.name.rsplit_once('.') {
                Some((m, _)) => m.to_string(),
                // A bare nn.Parameter (`pos`) names its own module.
                None => p.name.clone(),
            };
        }
        scope_of(node).unwrap_or_else(|| node.op_type.to_lowercase())
    }

    /// Adds `op` reading `inputs` with `params` (checked against the shapes the op needs) and
    /// batch-norm `state`; returns its first output.
    fn emit(
        &mut self,
        node: &NodeProto,
        op: Op,
        inputs: Vec<TensorId>,
        params: Vec<Param>,
        state: Vec<Param>,
    ) -> Result<TensorId> {
        self.emit_named(node, None, op, inputs, params, state)
    }

    /// An op without parameters under the module name `name` (`None`: the node's own).
    fn emit_plain(
        &mut self,
        node: &NodeProto,
        name: Option<String>,
        op: Op,
        inputs: Vec<TensorId>,
    ) -> Result<TensorId> {
        self.emit_named(node, name, op, inputs, vec![], vec![])
    }

    /// [`Importer::emit`] under the module name `name` instead of the node's own.
    fn emit_named(
        &mut self,
        node: &NodeProto,
        name: Option<String>,
        op: Op,
        inputs: Vec<TensorId>,
        params: Vec<Param>,
        state: Vec<Param>,
    ) -> Result<TensorId> {
        Ok(self.emit_outputs(node, name, op, inputs, params, state)?[0])
    }

    /// [`Importer::emit_named`] returning every output of the op (`to_heads` gives three).
    fn emit_outputs(
        &mut self,
        node: &NodeProto,
        name: Option<String>,
        op: Op,
        inputs: Vec<TensorId>,
        params: Vec<Param>,
        state: Vec<Param>,
    ) -> Result<Vec<TensorId>> {
        let shapes: Vec<Shape> = inputs.iter().map(|&t| self.builder.shape(t)).collect();
        if let Err(e) = op.infer(&shapes) {
            return Err(self.fail(node, format!("{} {}", op.name(), shape_message(e))));
        }
        let wanted = op.params(&shapes);
        if wanted.len() != params.len() {
            return Err(self.fail(
                node,
                format!(
                    "{} takes {} parameter tensors here, the file gives {}",
                    op.name(),
                    wanted.len(),
                    params.len()
                ),
            ));
        }
        for ((dims, _), p) in wanted.iter().zip(&params) {
            // A bias stored [1, n] is the same vector.
            let squeezed: Vec<usize> = p.dims.iter().copied().filter(|&d| d != 1).collect();
            let want: Vec<usize> = dims.iter().copied().filter(|&d| d != 1).collect();
            if squeezed != want {
                return Err(self.fail(
                    node,
                    format!(
                        "`{}` is {:?}, but {} needs {dims:?} here",
                        p.name,
                        p.dims,
                        op.name()
                    ),
                ));
            }
        }
        let refs: Vec<&Param> = params.iter().collect();
        let module = name.unwrap_or_else(|| self.module(node, &refs));
        let layer = self.layer_of(&module);
        let mut name = module.clone();
        let mut k = 1;
        while !self.node_names.insert(name.clone()) {
            name = format!("{module}_{k}");
            k += 1;
        }
        let state_names: Vec<(String, f32)> = state.iter().map(|s| (s.name.clone(), 0.0)).collect();
        for s in &state {
            self.state_values.push(s.values.clone());
        }
        let path = self.label(node);
        let outs = self
            .builder
            .node(NodeSpec {
                name,
                layer,
                path,
                op,
                inputs,
                params: params
                    .into_iter()
                    .map(|p| (p.name, ParamInit::Values(p.values)))
                    .collect(),
                state: state_names,
            })
            .map_err(|e| self.fail(node, shape_message(e)))?;
        Ok(outs)
    }

    /// The single node reading `name`, if exactly one does (and the graph output does not).
    fn sole_reader(&self, name: &str) -> Option<usize> {
        if self.outputs.iter().any(|o| o == name) {
            return None;
        }
        match self.readers.get(name).map(Vec::as_slice) {
            Some(&[k]) => Some(k),
            _ => None,
        }
    }

    /// The constant `name` holds, looking ahead at `Constant` nodes not reached yet.
    fn peek_const(&self, name: &str) -> Option<f64> {
        if let Some(Value::Const(c)) = self.values.get(name) {
            return c.scalar();
        }
        let node = &self.nodes()[*self.producer.get(name)?];
        if node.op_type != "Constant" {
            return None;
        }
        fold::fold("Constant", &[], &Attrs(&node.attribute))
            .ok()??
            .first()?
            .scalar()
    }

    /// The other input of binary node `k` than `name`, as a constant.
    fn other_const(&self, k: usize, name: &str) -> Option<f64> {
        let n = &self.nodes()[k];
        let other = n.input.iter().find(|i| *i != name)?;
        self.peek_const(other)
    }

    /// The erf GELU starting at node `k` (`x / √2` or `x · (1/√2)`): the nodes it spans and
    /// the last one, whose output is the activation.
    fn gelu_pattern(&self, k: usize, x: &str) -> Option<(Vec<usize>, usize)> {
        let nodes = self.nodes();
        let out = |k: usize| nodes[k].output.first().map(String::as_str);
        let c = self.other_const(k, x)?;
        let scaled = match nodes[k].op_type.as_str() {
            "Div" => (c - std::f64::consts::SQRT_2).abs() < 1e-5,
            "Mul" => (c - std::f64::consts::FRAC_1_SQRT_2).abs() < 1e-5,
            _ => false,
        };
        if !scaled {
            return None;
        }
        let erf = self.sole_reader(out(k)?)?;
        if nodes[erf].op_type != "Erf" {
            return None;
        }
        let add = self.sole_reader(out(erf)?)?;
        if nodes[add].op_type != "Add" || self.other_const(add, out(erf)?)? != 1.0 {
            return None;
        }
        let mul = self.sole_reader(out(add)?)?;
        if nodes[mul].op_type != "Mul" {
            return None;
        }
        let sum = out(add)?;
        let other = nodes[mul].input.iter().find(|i| *i != sum)?;
        if other == x {
            // (x · (1 + erf)) · 0.5
            let half = self.sole_reader(out(mul)?)?;
            (nodes[half].op_type == "Mul" && self.other_const(half, out(mul)?)? == 0.5)
                .then(|| (vec![erf, add, mul, half], half))
        } else {
            // (x · 0.5) · (1 + erf)
            let h = *self.producer.get(other)?;
            let is_half = nodes[h].op_type == "Mul"
                && nodes[h].input.iter().any(|i| i == x)
                && self.other_const(h, x)? == 0.5
                && self.sole_reader(other) == Some(mul);
            is_half.then(|| (vec![h, erf, add, mul], mul))
        }
    }

    /// The layer norm opsets before 17 spell out, starting at the mean (node `k`) of `x` over
    /// its last dimension: `d = x − mean`, `d / sqrt(mean(d²) + eps)`, then `· γ + β` when
    /// affine.
    fn layer_norm_pattern(&self, k: usize, x: &str) -> Option<DecomposedLayerNorm> {
        let nodes = self.nodes();
        let out = |k: usize| nodes[k].output.first().map(String::as_str);
        let op = |k: usize| nodes[k].op_type.as_str();
        let sub = self.sole_reader(out(k)?)?;
        if op(sub) != "Sub" || nodes[sub].input.first().map(String::as_str) != Some(x) {
            return None;
        }
        // d is read twice: squared for the variance, and divided by the deviation.
        let d = out(sub)?;
        let readers = self.readers.get(d)?;
        let (&pow, &div) = match readers[..] {
            [a, b] if op(a) == "Pow" && op(b) == "Div" => (&readers[0], &readers[1]),
            [a, b] if op(a) == "Div" && op(b) == "Pow" => (&readers[1], &readers[0]),
            _ => return None,
        };
        if self.other_const(pow, d)? != 2.0 {
            return None;
        }
        let var = self.sole_reader(out(pow)?)?;
        if op(var) != "ReduceMean" || self.layer_norm_axes(var) != Some(true) {
            return None;
        }
        let add = self.sole_reader(out(var)?)?;
        if op(add) != "Add" {
            return None;
        }
        let eps = self.other_const(add, out(var)?)?;
        let sqrt = self.sole_reader(out(add)?)?;
        if op(sqrt) != "Sqrt" || self.sole_reader(out(sqrt)?)? != div {
            return None;
        }
        if nodes[div].input.first().map(String::as_str) != Some(d) {
            return None;
        }
        let mut span = vec![sub, pow, var, add, sqrt, div];
        let mut last = div;
        let mut affine = None;
        // · γ + β, with both from initializers.
        let param = |k: usize, of: &str| -> Option<String> {
            let other = nodes[k].input.iter().find(|i| *i != of)?;
            matches!(self.values.get(other), Some(Value::Const(c)) if c.source.is_some())
                .then(|| other.clone())
        };
        if let Some(mul) = self.sole_reader(out(div)?).filter(|&m| op(m) == "Mul") {
            if let (Some(gamma), Some(bias)) = (
                param(mul, out(div)?),
                self.sole_reader(out(mul)?).filter(|&a| op(a) == "Add"),
            ) {
                if let Some(beta) = param(bias, out(mul)?) {
                    span.extend([mul, bias]);
                    last = bias;
                    affine = Some((gamma, beta));
                }
            }
        }
        Some(DecomposedLayerNorm {
            span,
            last,
            eps,
            affine,
        })
    }

    /// Whether ReduceMean node `k` averages over the last dimension only, keeping it.
    fn layer_norm_axes(&self, k: usize) -> Option<bool> {
        let n = &self.nodes()[k];
        let attrs = Attrs(&n.attribute);
        let axes = match n.input.get(1).filter(|i| !i.is_empty()) {
            Some(i) => match self.values.get(i) {
                Some(Value::Const(c)) => c.data.as_i64(),
                _ => return None,
            },
            None => attrs.ints("axes")?,
        };
        Some(axes == [-1] && attrs.int("keepdims", 1) != 0)
    }

    /// A layer norm found by [`Importer::layer_norm_pattern`].
    fn decomposed_layer_norm(
        &mut self,
        node: &NodeProto,
        t: TensorId,
        ln: DecomposedLayerNorm,
    ) -> Result<TensorId> {
        let nodes = self.nodes();
        let (params, affine) = match &ln.affine {
            Some((gamma, beta)) => {
                let get = |name: &str| match self.values.get(name) {
                    Some(Value::Const(c)) => c.clone(),
                    _ => unreachable!("checked by the pattern"),
                };
                let (g, b) = (get(gamma), get(beta));
                let (pn, pb) = (&nodes[ln.span[6]], &nodes[ln.span[7]]);
                (
                    vec![self.param(pn, &g, "scale")?, self.param(pb, &b, "bias")?],
                    true,
                )
            }
            None => (Vec::new(), false),
        };
        let y = self.emit(
            node,
            Op::LayerNorm {
                eps: ln.eps,
                affine,
            },
            vec![t],
            params,
            vec![],
        )?;
        for &s in &ln.span {
            self.absorbed.insert(s, (s == ln.last).then_some(y));
        }
        Ok(y)
    }

    /// The outputs of node `k`.
    fn node(&mut self, k: usize, node: &NodeProto, inputs: &[Option<Value>]) -> Result<Vec<Value>> {
        let attrs = Attrs(&node.attribute);
        if let Some(folded) = self.fold_constants(node, inputs) {
            return folded;
        }
        let required = match node.op_type.as_str() {
            "BatchNormalization" => 5,
            "Gemm" | "MatMul" | "Add" | "Conv" | "LayerNormalization" | "Gather" | "Reshape"
            | "Div" | "Mul" | "CastLike" => 2,
            _ => 1,
        };
        if inputs.len() < required || inputs[..required].iter().any(Option::is_none) {
            return Err(self.fail(
                node,
                format!(
                    "takes {required} inputs, but the file gives {} (a corrupted file?)",
                    inputs.iter().flatten().count()
                ),
            ));
        }
        let one = |t: TensorId| Ok(vec![Value::Tensor(t)]);
        let x = inputs.first().cloned().flatten();
        match node.op_type.as_str() {
            "Shape" => {
                let t = self.tensor(node, &inputs[0])?;
                let mut dims = vec![BATCH];
                dims.extend(self.builder.shape(t).dims().iter().map(|&d| d as i64));
                Ok(vec![Value::Const(fold::shape_slice(&dims, &attrs))])
            }
            "Identity" => Ok(vec![x.expect("an input")]),
            // A constant cast to the type of a computed tensor (the dynamo exporter's zero bias):
            // computed tensors are float, token ids aside.
            "CastLike" => match (&inputs[0], &inputs.get(1).cloned().flatten()) {
                (Some(Value::Const(c)), Some(Value::Tensor(t))) => {
                    let ints = matches!(self.builder.shape(*t), Shape::Tokens(_));
                    let data = if ints {
                        super::tensor::Data::I64(c.data.as_i64())
                    } else {
                        super::tensor::Data::F32(c.data.as_f32())
                    };
                    Ok(vec![Value::Const(Const::new(c.dims.clone(), data))])
                }
                _ => Err(self.unsupported(node, "casting a computed tensor")),
            },
            "Relu" | "Tanh" | "Sigmoid" | "LeakyRelu" | "Gelu" => {
                let t = self.tensor(node, &inputs[0])?;
                let (kind, slope) = match node.op_type.as_str() {
                    "Relu" => (Activation::Relu, 0.0),
                    "Tanh" => (Activation::Tanh, 0.0),
                    "Sigmoid" => (Activation::Sigmoid, 0.0),
                    "LeakyRelu" => (Activation::LeakyRelu, attrs.float("alpha", 0.01)),
                    _ => match attrs.string("approximate").as_deref() {
                        None | Some("none") => (Activation::Gelu, 0.0),
                        Some("tanh") => (Activation::GeluTanh, 0.0),
                        Some(other) => {
                            return Err(self.fail(
                                node,
                                format!(
                                    "approximate `{other}` is not a GELU netdx knows (none, tanh)"
                                ),
                            ))
                        }
                    },
                };
                one(self.emit_plain(node, None, Op::Activation { kind, slope }, vec![t])?)
            }
            "Div" | "Mul" if matches!(inputs.get(1), Some(Some(Value::Const(_)))) => {
                let t = self.tensor(node, &inputs[0])?;
                match self.gelu_pattern(k, &node.input[0]) {
                    Some((span, last)) => {
                        let y = self.emit_plain(
                            node,
                            None,
                            Op::Activation {
                                kind: Activation::Gelu,
                                slope: 0.0,
                            },
                            vec![t],
                        )?;
                        for s in span {
                            self.absorbed.insert(s, (s == last).then_some(y));
                        }
                        one(y)
                    }
                    None => Err(self.unsupported(
                        node,
                        "scaling a computed tensor by a constant outside the GELU pattern",
                    )),
                }
            }
            "Dropout" => {
                let t = self.tensor(node, &inputs[0])?;
                let rate = match inputs.get(1).cloned().flatten() {
                    Some(Value::Const(c)) => c.scalar().unwrap_or(0.5),
                    Some(_) => {
                        return Err(
                            self.fail(node, "its ratio is computed; netdx needs it constant")
                        )
                    }
                    None => attrs.float("ratio", 0.5),
                };
                if node
                    .output
                    .get(1)
                    .is_some_and(|m| !m.is_empty() && self.readers.contains_key(m))
                {
                    return Err(self.fail(node, "its mask is read by another node; netdx does not compute dropout masks as tensors"));
                }
                let y = if rate == 0.0 {
                    t
                } else {
                    self.emit_plain(node, None, Op::Dropout { rate }, vec![t])?
                };
                Ok(vec![Value::Tensor(y), Value::Absent])
            }
            "Gemm" => {
                let t = self.tensor(node, &inputs[0])?;
                if attrs.int("transA", 0) != 0
                    || attrs.float("alpha", 1.0) != 1.0
                    || attrs.float("beta", 1.0) != 1.0
                {
                    return Err(self.fail(
                        node,
                        "transA, alpha or beta differ from PyTorch's linear layer (0, 1, 1)",
                    ));
                }
                let b = self.constant(node, &inputs[1], "weight B")?.clone();
                let weight = self.linear_weight(node, &b, attrs.int("transB", 0) != 0)?;
                let bias = match inputs.get(2).cloned().flatten() {
                    Some(Value::Const(c)) => Some(self.param(node, &c, "bias C")?),
                    Some(_) => {
                        return Err(
                            self.fail(node, "its bias C is computed; netdx needs an initializer")
                        )
                    }
                    None => None,
                };
                one(self.linear(node, t, weight, bias)?)
            }
            "MatMul" => {
                let t = self.tensor(node, &inputs[0])?;
                let w = match &inputs[1] {
                    Some(Value::Const(c)) => c.clone(),
                    _ => {
                        return Err(
                            self.unsupported(node, "a product of two computed tensors (attention)")
                        )
                    }
                };
                let weight = self.linear_weight(node, &w, false)?;
                let out = weight.dims[0];
                // The bias Add that follows a MatMul of a linear layer on sequences: the one
                // node reading the product, adding it to a vector initializer.
                let is_bias = |i: &String| match self.values.get(i) {
                    Some(Value::Const(c)) => {
                        c.source.is_some() && c.elements() == out && c.dims.len() <= 2
                    }
                    _ => false,
                };
                let bias_add = self
                    .sole_reader(&node.output[0])
                    .filter(|&a| {
                        self.nodes()[a].op_type == "Add" && self.nodes()[a].input.len() == 2
                    })
                    .and_then(|a| {
                        Some((
                            a,
                            self.nodes()[a].input.iter().find(|i| is_bias(i))?.clone(),
                        ))
                    });
                let bias = match &bias_add {
                    Some((a, name)) => {
                        let Some(Value::Const(c)) = self.values.get(name).cloned() else {
                            unreachable!("is_bias holds")
                        };
                        Some(self.param(&self.nodes()[*a], &c, "bias")?)
                    }
                    None => None,
                };
                let y = self.linear(node, t, weight, bias)?;
                if let Some((a, _)) = bias_add {
                    self.absorbed.insert(a, Some(y));
                }
                one(y)
            }
            "Add" => match (&inputs[0], &inputs[1]) {
                (Some(Value::Tensor(t)), Some(Value::Const(c)))
                | (Some(Value::Const(c)), Some(Value::Tensor(t)))
                    if c.rows_of.is_some() || c.source.is_some() =>
                {
                    one(self.position(node, *t, c)?)
                }
                (Some(Value::Tensor(a)), Some(Value::Tensor(b))) => {
                    one(self.emit_plain(node, None, Op::Add, vec![*a, *b])?)
                }
                _ => Err(self.unsupported(
                    node,
                    "adding a constant to a computed tensor, other than a linear layer's bias",
                )),
            },
            "Conv" => {
                let t = self.tensor(node, &inputs[0])?;
                let w = self.constant(node, &inputs[1], "weight W")?.clone();
                if attrs.int("group", 1) != 1 {
                    return Err(self.unsupported(node, "grouped convolution"));
                }
                if attrs.string("auto_pad").is_some_and(|p| p != "NOTSET") {
                    return Err(self.unsupported(node, "auto_pad (export with explicit padding)"));
                }
                let kernel = match w.dims.as_slice() {
                    &[_, _, kh, kw] => [kh, kw],
                    d => return Err(self.fail(node, format!("weight W is {d:?}; netdx convolves images with [out, in, kh, kw] filters"))),
                };
                let stride =
                    uniform(node, &attrs, "strides", 1, 2).map_err(|m| self.fail(node, m))?;
                let dilation =
                    uniform(node, &attrs, "dilations", 1, 2).map_err(|m| self.fail(node, m))?;
                let padding =
                    uniform(node, &attrs, "pads", 0, 4).map_err(|m| self.fail(node, m))?;
                let mut op = Op::Conv2d {
                    out: w.dims[0],
                    kernel,
                    stride,
                    padding,
                    dilation,
                    bias: true,
                };
                let weight = self.param(node, &w, "weight W")?;
                let mut params = vec![weight];
                match inputs.get(2).cloned().flatten() {
                    // The dynamo exporter gives a convolution without bias a computed zero bias.
                    Some(Value::Const(c))
                        if c.source.is_none() && c.data.as_f32().iter().all(|&v| v == 0.0) => {}
                    Some(Value::Const(c)) => params.push(self.param(node, &c, "bias B")?),
                    Some(_) => {
                        return Err(
                            self.fail(node, "its bias B is computed; netdx needs an initializer")
                        )
                    }
                    None => {}
                }
                if params.len() == 1 {
                    if let Op::Conv2d { bias, .. } = &mut op {
                        *bias = false;
                    }
                }
                one(self.emit(node, op, vec![t], params, vec![])?)
            }
            "BatchNormalization" => {
                let t = self.tensor(node, &inputs[0])?;
                let mut get = |i: usize, what: &str| -> Result<Param> {
                    let c = self
                        .constant(node, &inputs.get(i).cloned().flatten(), what)?
                        .clone();
                    self.param(node, &c, what)
                };
                let (scale, bias, mean, var) = (
                    get(1, "scale")?,
                    get(2, "bias B")?,
                    get(3, "input_mean")?,
                    get(4, "input_var")?,
                );
                let op = Op::BatchNorm {
                    eps: attrs.float("epsilon", 1e-5),
                    // ONNX keeps `momentum` of the old statistics; PyTorch's is the new batch's share.
                    momentum: 1.0 - attrs.float("momentum", 0.9),
                };
                let y = self.emit(node, op, vec![t], vec![scale, bias], vec![mean, var])?;
                let mut out = vec![Value::Tensor(y)];
                out.extend(node.output.iter().skip(1).map(|_| Value::Absent));
                Ok(out)
            }
            "LayerNormalization" => {
                let t = self.tensor(node, &inputs[0])?;
                let rank = self.builder.shape(t).dims().len() as i64 + 1;
                let axis = attrs.int("axis", -1);
                if axis != -1 && axis != rank - 1 {
                    return Err(self.unsupported(node, &format!("normalizing from axis {axis} (netdx normalizes the last dimension, as nn.LayerNorm(d) does)")));
                }
                let scale = self.constant(node, &inputs[1], "scale")?.clone();
                let scale = self.param(node, &scale, "scale")?;
                let bias = match inputs.get(2).cloned().flatten() {
                    Some(Value::Const(c)) => self.param(node, &c, "bias B")?,
                    _ => {
                        return Err(self.unsupported(node, "a layer norm without bias (bias=False)"))
                    }
                };
                let op = Op::LayerNorm {
                    eps: attrs.float("epsilon", 1e-5),
                    affine: true,
                };
                let y = self.emit(node, op, vec![t], vec![scale, bias], vec![])?;
                let mut out = vec![Value::Tensor(y)];
                out.extend(node.output.iter().skip(1).map(|_| Value::Absent));
                Ok(out)
            }
            "Gather" => {
                let table = self.constant(node, &inputs[0], "table")?.clone();
                let t = self
                    .tensor(node, &inputs[1])
                    .map_err(|_| self.fail(node, "its indices are not computed from the input"))?;
                if attrs.int("axis", 0) != 0 || table.dims.len() != 2 {
                    return Err(self.unsupported(
                        node,
                        "a gather other than rows of a [vocab, dim] table (an embedding)",
                    ));
                }
                let op = Op::Embedding {
                    vocab: table.dims[0],
                    dim: table.dims[1],
                };
                let w = self.param(node, &table, "table")?;
                one(self.emit(node, op, vec![t], vec![w], vec![])?)
            }
            "MaxPool" | "AveragePool" => {
                let t = self.tensor(node, &inputs[0])?;
                if attrs.int("ceil_mode", 0) != 0 {
                    return Err(
                        self.unsupported(node, "ceil_mode (PyTorch's default floor is supported)")
                    );
                }
                if uniform(node, &attrs, "dilations", 1, 2).map_err(|m| self.fail(node, m))? != 1 {
                    return Err(self.unsupported(node, "dilated pooling"));
                }
                let kernel = match attrs.ints("kernel_shape").as_deref() {
                    Some(&[kh, kw]) if kh > 0 && kw > 0 => [kh as usize, kw as usize],
                    other => {
                        return Err(self.fail(
                            node,
                            format!("kernel_shape {other:?}: netdx pools images with a 2-D window"),
                        ))
                    }
                };
                let stride = match attrs.ints("strides").as_deref() {
                    None => [1, 1],
                    Some(&[sh, sw]) if sh > 0 && sw > 0 => [sh as usize, sw as usize],
                    Some(other) => return Err(self.fail(node, format!("strides {other:?}"))),
                };
                let padding =
                    uniform(node, &attrs, "pads", 0, 4).map_err(|m| self.fail(node, m))?;
                let kind = if node.op_type == "MaxPool" {
                    PoolKind::Max
                } else {
                    PoolKind::Avg
                };
                if kind == PoolKind::Avg && padding > 0 && attrs.int("count_include_pad", 0) == 0 {
                    return Err(self.unsupported(node, "average pooling that leaves the padding out of the count (count_include_pad=False)"));
                }
                if node.output.get(1).is_some_and(|o| !o.is_empty()) {
                    return Err(self.unsupported(node, "max pooling's Indices output"));
                }
                one(self.emit(
                    node,
                    Op::Pool2d {
                        kind,
                        kernel,
                        stride,
                        padding,
                    },
                    vec![t],
                    vec![],
                    vec![],
                )?)
            }
            "GlobalAveragePool" => {
                let t = self.tensor(node, &inputs[0])?;
                one(self.emit_plain(node, None, Op::GlobalAvgPool, vec![t])?)
            }
            "ReduceMean" => {
                let t = self.tensor(node, &inputs[0])?;
                let consts = constants(inputs);
                let axes = fold::axes_of(&consts, &attrs)
                    .map_err(|m| self.fail(node, m))?
                    .unwrap_or_default();
                let rank = self.builder.shape(t).dims().len() as i64 + 1;
                let last = axes.len() == 1 && (axes[0] == -1 || axes[0] == rank - 1);
                if last && attrs.int("keepdims", 1) != 0 {
                    if let Some(ln) = self.layer_norm_pattern(k, &node.input[0]) {
                        return one(self.decomposed_layer_norm(node, t, ln)?);
                    }
                }
                let mut axes: Vec<i64> = axes
                    .iter()
                    .map(|&a| if a < 0 { a + 4 } else { a })
                    .collect();
                axes.sort();
                if !matches!(self.builder.shape(t), Shape::Image(_)) || axes != [2, 3] {
                    return Err(self.unsupported(
                        node,
                        "a mean other than over the height and width of an image",
                    ));
                }
                let y = self.emit_plain(node, None, Op::GlobalAvgPool, vec![t])?;
                if attrs.int("keepdims", 1) == 0 {
                    return one(self.emit_plain(node, None, Op::Flatten, vec![y])?);
                }
                one(y)
            }
            "Flatten" => {
                let t = self.tensor(node, &inputs[0])?;
                if attrs.int("axis", 1) != 1 {
                    return Err(self.unsupported(
                        node,
                        "flattening other than everything after the batch (axis 1)",
                    ));
                }
                self.flattened(node, t)
            }
            "Reshape" => {
                let t = self.tensor(node, &inputs[0])?;
                let target = self
                    .constant(node, &inputs[1], "target shape")?
                    .data
                    .as_i64();
                let dims = self.builder.shape(t).dims();
                let len: usize = dims.iter().product();
                let per_example = match target.split_first() {
                    Some((&b, rest)) if b == BATCH || b == 0 => {
                        let rest_dims: Vec<i64> = rest.to_vec();
                        let padded: Vec<usize> = dims.clone();
                        // A 0 in `rest` copies the same position of the input after the batch.
                        let shifted: Vec<i64> = rest_dims
                            .iter()
                            .enumerate()
                            .map(|(i, &d)| {
                                if d == 0 {
                                    padded.get(i).map_or(0, |&v| v as i64)
                                } else {
                                    d
                                }
                            })
                            .collect();
                        reshape_dims(&padded, &shifted, len).map_err(|m| self.fail(node, m))?
                    }
                    Some((-1, rest))
                        if rest.iter().all(|&d| d > 0 && d < BATCH)
                            && rest.iter().product::<i64>() as usize == len =>
                    {
                        rest.iter().map(|&d| d as usize).collect()
                    }
                    _ => {
                        return Err(self.unsupported(
                            node,
                            &format!(
                                "reshaping across the batch dimension (target {})",
                                describe_target(&target)
                            ),
                        ))
                    }
                };
                if per_example == dims {
                    one(t)
                } else if per_example.len() == 1 {
                    self.flattened(node, t)
                } else {
                    Err(self.unsupported(
                        node,
                        &format!("reshaping {dims:?} to {per_example:?} per example"),
                    ))
                }
            }
            "LogSoftmax" if self.outputs.contains(&node.output[0]) => {
                // Softmax cross-entropy of log-probabilities equals that of the logits: the
                // loss netdx applies to the output already normalizes it.
                let t = self.tensor(node, &inputs[0])?;
                let last = self.builder.shape(t).dims().len() as i64;
                if !matches!(attrs.int("axis", -1), -1) && attrs.int("axis", -1) != last {
                    return Err(
                        self.unsupported(node, "a log-softmax over other than the last dimension")
                    );
                }
                one(t)
            }
            _ => Err(self.unsupported(node, "this op")),
        }
    }

    fn unsupported(&self, node: &NodeProto, what: &str) -> Error {
        self.fail(
            node,
            format!(
                "{what} is not supported; netdx imports: {}",
                SUPPORTED_OPS.join(", ")
            ),
        )
    }

    /// A vector of everything in `t` (Flatten; nothing to do for a vector).
    fn flattened(&mut self, node: &NodeProto, t: TensorId) -> Result<Vec<Value>> {
        Ok(vec![Value::Tensor(match self.builder.shape(t) {
            Shape::Flat(_) => t,
            _ => self.emit_plain(node, None, Op::Flatten, vec![t])?,
        })])
    }

    /// The `[out, in]` weight of a linear layer given as B of `x · B` (`transposed`: as Bᵀ,
    /// Gemm's transB).
    fn linear_weight(&mut self, node: &NodeProto, b: &Const, trans_b: bool) -> Result<Param> {
        if b.dims.len() != 2 {
            return Err(self.unsupported(
                node,
                &format!("a product with a {}-D constant", b.dims.len()),
            ));
        }
        let source = b.source.clone().ok_or_else(|| {
            self.fail(
                node,
                "its weight is a computed constant, not an initializer",
            )
        })?;
        // x · Wᵀ with W [out, in] as nn.Linear stores it: either transB with W itself, or
        // Transpose(W) feeding the product.
        if trans_b != source.transposed {
            let mut w = b.clone();
            if source.transposed {
                w = fold::fold("Transpose", &[Some(b)], &Attrs(&[]))
                    .map_err(|m| self.fail(node, m))?
                    .expect("folds")
                    .remove(0);
            }
            w.source = Some(super::tensor::Source {
                name: source.name,
                transposed: false,
            });
            self.param(node, &w, "weight")
        } else {
            Err(self.unsupported(
                node,
                &format!(
                    "a weight `{}` stored [in, out] (netdx keeps nn.Linear's [out, in] layout)",
                    source.name
                ),
            ))
        }
    }

    fn linear(
        &mut self,
        node: &NodeProto,
        t: TensorId,
        weight: Param,
        bias: Option<Param>,
    ) -> Result<TensorId> {
        let (output, input) = (weight.dims[0], weight.dims[1]);
        let op = Op::Linear {
            input,
            output,
            bias: bias.is_some(),
        };
        let params = std::iter::once(weight).chain(bias).collect();
        self.emit(node, op, vec![t], params, vec![])
    }
}

/// Whether an additive attention mask is causal (`Some(true)`: −∞, or a huge negative,
/// exactly above the diagonal of its last two dimensions), empty (`Some(false)`: all zero),
/// or something else (`None`).
fn causal_mask(m: &Const) -> Option<bool> {
    let [.., rows, cols] = m.dims[..] else {
        return None;
    };
    let values = m.data.as_f32();
    let masked = |v: f32| v == f32::NEG_INFINITY || v < -1e30;
    let mut causal = true;
    let mut empty = true;
    for (i, &v) in values.iter().enumerate() {
        let (r, c) = ((i / cols) % rows, i % cols);
        let should = c > r;
        causal &= if should { masked(v) } else { v == 0.0 };
        empty &= v == 0.0;
    }
    if empty {
        Some(false)
    } else {
        causal.then_some(true)
    }
}

/// A 2-D attribute (strides, dilations: 2 values; pads: 4) that is the same along both axes,
/// as netdx's convolution and pooling take it.
fn uniform(
    _node: &NodeProto,
    attrs: &Attrs,
    name: &str,
    default: usize,
    count: usize,
) -> std::result::Result<usize, String> {
    match attrs.ints(name) {
        None => Ok(default),
        Some(v) if v.len() == count && v.iter().all(|&x| x == v[0]) && v[0] >= 0 => Ok(v[0] as usize),
        Some(v) => Err(format!("{name} {v:?} differ between the axes; netdx takes the same value along height and width")),
    }
}

fn describe_dims(d: &[Option<usize>]) -> String {
    let parts: Vec<String> = d
        .iter()
        .map(|x| x.map_or("?".into(), |v| v.to_string()))
        .collect();
    format!("[{}]", parts.join(", "))
}

fn describe_target(t: &[i64]) -> String {
    let parts: Vec<String> = t
        .iter()
        .map(|&d| {
            if d != 0 && d % BATCH == 0 {
                if d == BATCH {
                    "batch".into()
                } else {
                    format!("batch×{}", d / BATCH)
                }
            } else {
                d.to_string()
            }
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

/// Each input as a constant, `None` where it is computed or omitted.
fn constants(inputs: &[Option<Value>]) -> Vec<Option<&Const>> {
    inputs
        .iter()
        .map(|v| match v {
            Some(Value::Const(c)) => Some(c),
            _ => None,
        })
        .collect()
}

/// The module a node's exporter placed it in: the TorchScript exporter's node name
/// (`/3/relu/Relu` → `3.relu`), else the dynamo exporter's name scopes.
fn scope_of(node: &NodeProto) -> Option<String> {
    if let Some(rest) = node.name.strip_prefix('/') {
        let parts: Vec<&str> = rest.split('/').collect();
        if parts.len() > 1 {
            return Some(torchscript_path(&parts[..parts.len() - 1]));
        }
    }
    node.metadata_props
        .iter()
        .find(|p| p.key == "pkg.torch.onnx.name_scopes")
        .and_then(|p| scope_path(&p.value))
}

/// The module path of TorchScript scopes, each of which names its module by a path that may
/// repeat the end of its parent's (`blocks.0`, `attn` → `blocks.0.attn`; `2`, `2.1` → `2.1`;
/// `blocks.0`, `mlp`, `mlp.0` → `blocks.0.mlp.0`).
fn torchscript_path(scopes: &[&str]) -> String {
    let mut path: Vec<&str> = Vec::new();
    for scope in scopes {
        let part: Vec<&str> = scope.split('.').collect();
        let overlap = (1..=part.len().min(path.len()))
            .rev()
            .find(|&k| path[path.len() - k..] == part[..k])
            .unwrap_or(0);
        path.truncate(path.len() - overlap);
        path.extend(part);
    }
    path.join(".")
}

/// The module path in the dynamo exporter's `pkg.torch.onnx.name_scopes` metadata: the
/// enclosing modules' full paths, then the node's own name (`['', '3', '3.conv1',
/// 'conv2d_1']` → `3.conv1`; `['', '3', 'relu_1']` → `3`).
fn scope_path(value: &str) -> Option<String> {
    let parts: Vec<String> = value
        .trim_matches(|c| c == '[' || c == ']')
        .split(',')
        .map(|s| s.trim().trim_matches('\'').trim_matches('"').to_string())
        .collect();
    let modules = &parts[..parts.len().saturating_sub(1)];
    modules.iter().rev().find(|s| !s.is_empty()).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_dynamo_name_scopes() {
        assert_eq!(
            scope_path("['', '3', '3.conv1', 'conv2d_1']").as_deref(),
            Some("3.conv1")
        );
        assert_eq!(scope_path("['', '3', 'relu_1']").as_deref(), Some("3"));
        assert_eq!(scope_path("['', 'relu']"), None);
        assert_eq!(describe_target(&[BATCH * 4, -1]), "[batch×4, -1]");
    }

    #[test]
    fn joins_torchscript_scopes() {
        assert_eq!(torchscript_path(&["blocks.0", "attn"]), "blocks.0.attn");
        assert_eq!(torchscript_path(&["2", "2.1"]), "2.1");
        assert_eq!(
            torchscript_path(&["blocks.0", "mlp", "mlp.0"]),
            "blocks.0.mlp.0"
        );
        assert_eq!(torchscript_path(&["3", "relu"]), "3.relu");
        assert_eq!(torchscript_path(&["3", "3"]), "3");
    }

    #[test]
    fn shapes_of_examples() {
        assert_eq!(ir_shape(&[5], true), Some(Shape::Tokens(5)));
        assert_eq!(
            ir_shape(&[3, 4], false),
            Some(Shape::Seq { len: 3, width: 4 })
        );
        assert_eq!(ir_shape(&[1, 2, 3, 4], false), None);
    }
}
