//! The YAML front-end of the model IR: a `model.layers` list (with nested residual blocks and
//! attention layers) becomes a [`Graph`]. Node, tensor and parameter names follow the
//! `state_dict` of the equivalent PyTorch `nn.Sequential`: top-level layer `i` is module
//! `layers.{i}`, layer `j` of a residual block `i` is `layers.{i}.{j}`, an attention layer's
//! tensors are `in_proj_weight`, `in_proj_bias`, `out_proj.weight`, `out_proj.bias` as in
//! `nn.MultiheadAttention`. A layer list without blocks compiles to one node per layer, node
//! `i` writing tensor `i + 1` (`act.{i}`), exactly as the sequential model it used to be.

use super::spec::{Init, LayerSpec, ModelSpec};
use crate::error::{Error, Result};
use crate::graph::{
    Graph, GraphBuilder, Image, NodeSpec, Op, ParamInit, Shape, ShapeError, TensorId,
};

/// What the data gives the model: values per example, the image shape image data carries,
/// and whether the values are token ids.
#[derive(Clone, Copy, Debug, Default)]
pub struct DataShape {
    pub width: usize,
    pub image: Option<[usize; 3]>,
    pub tokens: bool,
    /// The vocabulary of token data (an embedding needs a row for every id).
    pub vocab: Option<usize>,
}

impl DataShape {
    pub fn of(d: &crate::data::Dataset) -> DataShape {
        DataShape {
            width: d.x_width,
            image: d.image,
            tokens: d.sequence.is_some(),
            vocab: d.sequence.map(|s| s.vocab),
        }
    }
}

/// Builds and shape-checks the graph of `spec` for data of `data`'s shape: the input is token
/// ids for token data; an image (`spec.shape`, else the data's own image shape when the model
/// has image layers, so an MLP on image files still sees a vector); else a vector. The first
/// layer that cannot take what it is given is named by its key path.
///
/// `spec.without_dropout` turns every dropout off: in a layer list before it is compiled (an
/// attention layer without dropout has no dropout node), in an imported graph on its nodes.
pub fn build(spec: &ModelSpec, data: DataShape) -> Result<Graph> {
    match &spec.onnx {
        Some(file) => {
            let dims = spec.input.as_ref().map(|i| i.dims());
            let mut graph = crate::onnx::import(file, dims.as_deref(), data.width, data.tokens)?;
            if spec.without_dropout {
                for n in &mut graph.nodes {
                    if let Op::Dropout { rate } = &mut n.op {
                        *rate = 0.0;
                    }
                }
            }
            Ok(graph)
        }
        None if spec.without_dropout => {
            let mut plain = spec.clone();
            LayerSpec::walk_mut(&mut plain.layers, &mut |l| l.drop_dropout());
            build_layers(&plain, data)
        }
        None => build_layers(spec, data),
    }
}

fn build_layers(spec: &ModelSpec, data: DataShape) -> Result<Graph> {
    let input = data.width;
    let data_image = data
        .image
        .filter(|_| spec.layers.iter().any(LayerSpec::takes_image));
    if let Some(declared) = spec.input.as_ref().map(|i| i.len()) {
        if declared != input {
            return Err(Error::Shape {
                layer: 0,
                path: "model.input".into(),
                name: "0".into(),
                kind: "input".into(),
                expected: declared,
                found: input,
            });
        }
    }
    let image = match spec.shape.or(data_image).map(Image::new) {
        Some(i) if i.is_empty() => {
            return Err(Error::InputShape {
                message: format!("{i} has no pixels"),
            })
        }
        Some(i) if i.len() != input => {
            return Err(Error::InputShape {
                message: format!(
                    "{i} is {} values per example, but the data has {input} features",
                    i.len()
                ),
            })
        }
        other => other,
    };
    let shape = match image {
        Some(i) => Shape::Image(i),
        None if data.tokens => Shape::Tokens(input),
        None => Shape::Flat(input),
    };
    let (builder, x) = GraphBuilder::new(shape);
    let mut b = Builder {
        vocab: data.vocab,
        g: builder,
        parts: vec![match image {
            Some(i) => i.to_string(),
            None if data.tokens => format!("{input} tokens"),
            None => input.to_string(),
        }],
    };
    let mut t = x;
    for (i, l) in spec.layers.iter().enumerate() {
        let at = Place {
            layer: i,
            name: format!("layers.{i}"),
            path: format!("model.layers[{i}]"),
            top: true,
        };
        t = b.layer(l, &at, t)?;
    }
    let description = b.parts.join("-");
    Ok(b.g.finish(t, description, spec.layers.len()))
}

/// Where a layer sits: its top-level layer, module name and config key path.
struct Place {
    layer: usize,
    name: String,
    path: String,
    /// A top-level layer (its weights draw from the stream of its index, as they always have).
    top: bool,
}

impl Place {
    fn child(&self, j: usize, path: String) -> Place {
        Place {
            layer: self.layer,
            name: format!("{}.{j}", self.name),
            path,
            top: false,
        }
    }

    /// The name a user reads in messages (`3`, `2.1`).
    fn short(&self) -> &str {
        self.name.strip_prefix("layers.").unwrap_or(&self.name)
    }
}

struct Builder {
    g: GraphBuilder,
    /// The data's vocabulary, when it is token data.
    vocab: Option<usize>,
    /// The architecture string, part by part.
    parts: Vec<String>,
}

/// FNV-1a 64 of a parameter's name: the random stream of a nested layer's weights, so that
/// adding a layer leaves the other layers' initial weights unchanged.
fn stream_of(name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The distribution `init` draws from for a tensor with fans `fan_in`, `fan_out`
/// (Kaiming uses the ReLU gain √2, as `torch.nn.init.kaiming_*_(nonlinearity='relu')`).
fn distribution(init: &Init, fan_in: usize, fan_out: usize, stream: u64) -> ParamInit {
    let fi = fan_in.max(1) as f64;
    let fo = fan_out.max(1) as f64;
    match init {
        Init::XavierUniform => {
            let a = (6.0 / (fi + fo)).sqrt();
            ParamInit::Uniform {
                low: -a,
                high: a,
                stream,
            }
        }
        Init::XavierNormal => ParamInit::Normal {
            std: (2.0 / (fi + fo)).sqrt(),
            stream,
        },
        Init::KaimingUniform => {
            let a = (6.0 / fi).sqrt();
            ParamInit::Uniform {
                low: -a,
                high: a,
                stream,
            }
        }
        Init::KaimingNormal => ParamInit::Normal {
            std: (2.0 / fi).sqrt(),
            stream,
        },
        Init::Normal { std } => ParamInit::Normal { std: *std, stream },
        Init::Uniform { low, high } => ParamInit::Uniform {
            low: *low,
            high: *high,
            stream,
        },
        Init::Zeros => ParamInit::Constant(0.0),
    }
}

impl Builder {
    fn shape(&self, t: TensorId) -> Shape {
        self.g.shape(t)
    }

    /// The random stream of a weight: a top-level layer's index, else its name's hash.
    fn stream(at: &Place, name: &str) -> u64 {
        if at.top {
            at.layer as u64
        } else {
            stream_of(name)
        }
    }

    /// Adds one node, naming the layer in a shape error.
    fn node(
        &mut self,
        at: &Place,
        node_name: String,
        kind: &str,
        op: Op,
        inputs: Vec<TensorId>,
        params: Vec<(String, ParamInit)>,
    ) -> Result<Vec<TensorId>> {
        let state = match op {
            Op::BatchNorm { .. } => vec![
                (format!("{node_name}.running_mean"), 0.0),
                (format!("{node_name}.running_var"), 1.0),
            ],
            _ => Vec::new(),
        };
        self.g
            .node(NodeSpec {
                name: node_name,
                layer: at.layer,
                path: at.path.clone(),
                op,
                inputs,
                params,
                state,
            })
            .map_err(|e| match e {
                ShapeError::Width { expected, found } => Error::Shape {
                    layer: at.layer,
                    path: at.path.clone(),
                    name: at.short().to_string(),
                    kind: kind.into(),
                    expected,
                    found,
                },
                ShapeError::Message(message) => Error::LayerShape {
                    layer: at.layer,
                    path: at.path.clone(),
                    name: at.short().to_string(),
                    kind: kind.into(),
                    message,
                },
            })
    }

    fn fail(at: &Place, kind: &str, message: String) -> Error {
        Error::LayerShape {
            layer: at.layer,
            path: at.path.clone(),
            name: at.short().to_string(),
            kind: kind.into(),
            message,
        }
    }

    /// Adds layer `l` at `at` reading tensor `x`; returns its output tensor.
    fn layer(&mut self, l: &LayerSpec, at: &Place, x: TensorId) -> Result<TensorId> {
        let shape = self.shape(x);
        let kind = l.name();
        let name = at.name.clone();
        let one = |v: Vec<TensorId>| v[0];
        let (out, part) = match l {
            LayerSpec::Linear {
                out,
                input: declared,
                init,
                bias,
            } => {
                if let Shape::Image(i) = shape {
                    return Err(Self::fail(
                        at,
                        kind,
                        format!("takes a vector, but gets a {i} image; add `flatten` before it"),
                    ));
                }
                if let Some(d) = declared {
                    if *d != shape.last() {
                        return Err(Error::Shape {
                            layer: at.layer,
                            path: at.path.clone(),
                            name: at.short().to_string(),
                            kind: kind.into(),
                            expected: *d,
                            found: shape.last(),
                        });
                    }
                }
                let w = format!("{name}.weight");
                let params = vec![
                    (
                        w.clone(),
                        distribution(init, shape.last(), *out, Self::stream(at, &w)),
                    ),
                    (format!("{name}.bias"), ParamInit::Constant(*bias)),
                ];
                let op = Op::Linear {
                    input: shape.last(),
                    output: *out,
                    bias: true,
                };
                (
                    one(self.node(at, name.clone(), kind, op, vec![x], params)?),
                    out.to_string(),
                )
            }
            LayerSpec::Conv2d {
                out,
                kernel,
                stride,
                padding,
                dilation,
                init,
                bias,
            } => {
                let area = kernel[0] * kernel[1];
                let w = format!("{name}.weight");
                let params = vec![
                    (
                        w.clone(),
                        distribution(
                            init,
                            shape.features() * area,
                            out * area,
                            Self::stream(at, &w),
                        ),
                    ),
                    (format!("{name}.bias"), ParamInit::Constant(*bias)),
                ];
                let op = Op::Conv2d {
                    out: *out,
                    kernel: *kernel,
                    stride: *stride,
                    padding: *padding,
                    dilation: *dilation,
                    bias: true,
                };
                let part = if kernel[0] == kernel[1] {
                    format!("conv{}({out})", kernel[0])
                } else {
                    format!("conv{}x{}({out})", kernel[0], kernel[1])
                };
                (
                    one(self.node(at, name.clone(), kind, op, vec![x], params)?),
                    part,
                )
            }
            LayerSpec::Pool2d {
                kind: pool,
                kernel,
                stride,
                padding,
            } => {
                let op = Op::Pool2d {
                    kind: *pool,
                    kernel: *kernel,
                    stride: *stride,
                    padding: *padding,
                };
                let k = if kernel[0] == kernel[1] {
                    kernel[0].to_string()
                } else {
                    format!("{}x{}", kernel[0], kernel[1])
                };
                let part = match pool {
                    crate::graph::PoolKind::Max => format!("maxpool{k}"),
                    crate::graph::PoolKind::Avg => format!("avgpool{k}"),
                };
                (
                    one(self.node(at, name.clone(), kind, op, vec![x], Vec::new())?),
                    part,
                )
            }
            LayerSpec::GlobalAvgPool => (
                one(self.node(
                    at,
                    name.clone(),
                    kind,
                    Op::GlobalAvgPool,
                    vec![x],
                    Vec::new(),
                )?),
                "gap".into(),
            ),
            LayerSpec::Flatten => (
                one(self.node(at, name.clone(), kind, Op::Flatten, vec![x], Vec::new())?),
                "flatten".into(),
            ),
            LayerSpec::Activation { kind: act, slope } => {
                let op = Op::Activation {
                    kind: *act,
                    slope: *slope,
                };
                (
                    one(self.node(at, name.clone(), kind, op, vec![x], Vec::new())?),
                    act.name().to_string(),
                )
            }
            LayerSpec::BatchNorm { eps, momentum } => {
                let op = Op::BatchNorm {
                    eps: *eps,
                    momentum: *momentum,
                };
                let params = vec![
                    (format!("{name}.weight"), ParamInit::Constant(1.0)),
                    (format!("{name}.bias"), ParamInit::Constant(0.0)),
                ];
                (
                    one(self.node(at, name.clone(), kind, op, vec![x], params)?),
                    "bn".into(),
                )
            }
            LayerSpec::Dropout { rate } => (
                one(self.node(
                    at,
                    name.clone(),
                    kind,
                    Op::Dropout { rate: *rate },
                    vec![x],
                    Vec::new(),
                )?),
                format!("dropout({rate})"),
            ),
            LayerSpec::LayerNorm { eps, affine } => {
                let params = if *affine {
                    vec![
                        (format!("{name}.weight"), ParamInit::Constant(1.0)),
                        (format!("{name}.bias"), ParamInit::Constant(0.0)),
                    ]
                } else {
                    Vec::new()
                };
                let op = Op::LayerNorm {
                    eps: *eps,
                    affine: *affine,
                };
                (
                    one(self.node(at, name.clone(), kind, op, vec![x], params)?),
                    "ln".into(),
                )
            }
            LayerSpec::Embedding { vocab, dim, init } => {
                if let Some(data) = self.vocab.filter(|v| v > vocab) {
                    return Err(Self::fail(
                        at,
                        kind,
                        format!(
                            "has {vocab} rows, but the data's token ids go up to {} (vocabulary {data}); set `vocab: {data}` or more",
                            data - 1
                        ),
                    ));
                }
                let w = format!("{name}.weight");
                let params = vec![(
                    w.clone(),
                    // PyTorch's fans of a [vocab, dim] table: fan_in dim, fan_out vocab.
                    distribution(init, *dim, *vocab, Self::stream(at, &w)),
                )];
                let op = Op::Embedding {
                    vocab: *vocab,
                    dim: *dim,
                };
                (
                    one(self.node(at, name.clone(), kind, op, vec![x], params)?),
                    format!("emb{vocab}x{dim}"),
                )
            }
            LayerSpec::Position { max_len, init } => {
                let w = format!("{name}.weight");
                let params = vec![(
                    w.clone(),
                    distribution(init, shape.last(), *max_len, Self::stream(at, &w)),
                )];
                let op = Op::Position { max_len: *max_len };
                (
                    one(self.node(at, name.clone(), kind, op, vec![x], params)?),
                    format!("pos{max_len}"),
                )
            }
            LayerSpec::Attention {
                heads,
                causal,
                dropout,
            } => {
                let out = self.attention(at, x, *heads, *causal, *dropout)?;
                let part = format!("attn{heads}h{}", if *causal { "c" } else { "" });
                (out, part)
            }
            LayerSpec::Residual {
                layers,
                projection,
                mapped,
            } => {
                let outer_parts = std::mem::take(&mut self.parts);
                let mut f = x;
                let mut last_change: Option<(usize, &'static str)> = None;
                let child_path = |j: usize| {
                    if *mapped {
                        format!("{}.residual.layers[{j}]", at.path)
                    } else {
                        format!("{}.residual[{j}]", at.path)
                    }
                };
                for (j, l) in layers.iter().enumerate() {
                    let before = self.shape(f);
                    f = self.layer(l, &at.child(j, child_path(j)), f)?;
                    if self.shape(f) != before {
                        last_change = Some((j, l.name()));
                    }
                }
                let inner_parts = std::mem::replace(&mut self.parts, outer_parts);
                let fx = self.shape(f);
                let skip = if fx == shape && !*projection {
                    x
                } else if *projection {
                    let (j, what) = last_change.unwrap_or((0, "residual"));
                    self.projection(at, x, fx).map_err(|e| match e {
                        Error::LayerShape { message, .. } => {
                            Self::fail(&at.child(j, child_path(j)), what, message)
                        }
                        other => other,
                    })?
                } else {
                    let (j, what) = last_change.unwrap_or((0, "residual"));
                    return Err(Self::fail(
                        &at.child(j, child_path(j)),
                        what,
                        format!(
                            "{what} gives {} but the residual stream is {}; keep the block's output shape, or project the stream: {{residual: {{layers: [...], projection: linear}}}}",
                            describe_width(fx),
                            describe_width(shape)
                        ),
                    ));
                };
                let out =
                    one(self.node(at, name.clone(), kind, Op::Add, vec![skip, f], Vec::new())?);
                let proj = if skip != x { "proj," } else { "" };
                (out, format!("res({proj}{})", inner_parts.join("-")))
            }
        };
        self.parts.push(part);
        Ok(out)
    }

    /// P(x) with the shape of f(x): a linear layer on vectors and sequences, a 1×1
    /// convolution on images (strided down to f's output size).
    fn projection(&mut self, at: &Place, x: TensorId, target: Shape) -> Result<TensorId> {
        let shape = self.shape(x);
        let name = format!("{}.projection", at.name);
        let w = format!("{name}.weight");
        let stream = stream_of(&w);
        let (op, fan_in, fan_out) = match (shape, target) {
            (Shape::Image(i), Shape::Image(o)) => {
                let stride = (1..=i.height.max(i.width))
                    .find(|s| {
                        (i.height - 1) / s + 1 == o.height && (i.width - 1) / s + 1 == o.width
                    })
                    .ok_or_else(|| {
                        Self::fail(
                            at,
                            "residual",
                            format!(
                                "the block turns the {i} stream into {o}, which no strided 1×1 projection of the stream gives; pad the convolutions (`padding: 1` for a 3×3 kernel) so the block keeps the size or divides it by its stride"
                            ),
                        )
                    })?;
                (
                    Op::Conv2d {
                        out: o.channels,
                        kernel: [1, 1],
                        stride,
                        padding: 0,
                        dilation: 1,
                        bias: true,
                    },
                    i.channels,
                    o.channels,
                )
            }
            (Shape::Flat(a), Shape::Flat(b)) => (
                Op::Linear {
                    input: a,
                    output: b,
                    bias: true,
                },
                a,
                b,
            ),
            (Shape::Seq { len, width }, Shape::Seq { len: l2, width: w2 }) if len == l2 => (
                Op::Linear {
                    input: width,
                    output: w2,
                    bias: true,
                },
                width,
                w2,
            ),
            (a, b) => {
                return Err(Self::fail(
                    at,
                    "residual",
                    format!("the block turns the {a} stream into {b}, which no linear projection of the stream gives"),
                ))
            }
        };
        let params = vec![
            (
                w,
                distribution(&Init::KaimingUniform, fan_in, fan_out, stream),
            ),
            (format!("{name}.bias"), ParamInit::Constant(0.0)),
        ];
        let kind = op.name();
        Ok(self.node(at, name, kind, op, vec![x], params)?[0])
    }

    /// Multi-head self-attention as `nn.MultiheadAttention` computes it: the packed input
    /// projection, queries/keys/values split per head, softmax(Q·Kᵀ/√d_head) (masked when
    /// causal), dropout on the weights, weights·V, heads merged, the output projection. Its
    /// initial weights follow PyTorch's: Xavier-uniform packed projection, zero biases, the
    /// output projection uniform in ±1/√d.
    fn attention(
        &mut self,
        at: &Place,
        x: TensorId,
        heads: usize,
        causal: bool,
        dropout: f64,
    ) -> Result<TensorId> {
        let kind = "attention";
        let Shape::Seq { width: d, .. } = self.shape(x) else {
            return Err(Self::fail(
                at,
                kind,
                format!(
                    "attends over a sequence [positions, width], but gets {}; put it after an `embedding`",
                    self.shape(x).phrase()
                ),
            ));
        };
        if heads == 0 || d % heads != 0 {
            let divisors: Vec<String> = (1..=d)
                .filter(|h| d % h == 0)
                .take(8)
                .map(|h| h.to_string())
                .collect();
            return Err(Self::fail(
                at,
                kind,
                format!(
                    "{heads} heads do not divide the width {d}; use a number of heads that does ({}{}), or a width divisible by {heads}",
                    divisors.join(", "),
                    if divisors.len() == 8 { ", …" } else { "" }
                ),
            ));
        }
        let n = &at.name;
        let w_in = format!("{n}.in_proj_weight");
        let qkv = self.node(
            at,
            format!("{n}.in_proj"),
            kind,
            Op::Linear {
                input: d,
                output: 3 * d,
                bias: true,
            },
            vec![x],
            vec![
                (
                    w_in.clone(),
                    distribution(&Init::XavierUniform, d, 3 * d, stream_of(&w_in)),
                ),
                (format!("{n}.in_proj_bias"), ParamInit::Constant(0.0)),
            ],
        )?[0];
        let split = self.node(
            at,
            format!("{n}.heads"),
            kind,
            Op::ToHeads { heads, parts: 3 },
            vec![qkv],
            Vec::new(),
        )?;
        let (q, k, v) = (split[0], split[1], split[2]);
        let scores = self.node(
            at,
            format!("{n}.scores"),
            kind,
            Op::Matmul { trans_b: true },
            vec![q, k],
            Vec::new(),
        )?[0];
        let mut weights = self.node(
            at,
            format!("{n}.softmax"),
            kind,
            Op::Softmax {
                scale: 1.0 / ((d / heads) as f64).sqrt(),
                causal,
            },
            vec![scores],
            Vec::new(),
        )?[0];
        if dropout > 0.0 {
            weights = self.node(
                at,
                format!("{n}.dropout"),
                kind,
                Op::Dropout { rate: dropout },
                vec![weights],
                Vec::new(),
            )?[0];
        }
        let context = self.node(
            at,
            format!("{n}.context"),
            kind,
            Op::Matmul { trans_b: false },
            vec![weights, v],
            Vec::new(),
        )?[0];
        let merged = self.node(
            at,
            format!("{n}.merge"),
            kind,
            Op::FromHeads,
            vec![context],
            Vec::new(),
        )?[0];
        let w_out = format!("{n}.out_proj.weight");
        let bound = 1.0 / (d as f64).sqrt();
        Ok(self.node(
            at,
            n.clone(),
            kind,
            Op::Linear {
                input: d,
                output: d,
                bias: true,
            },
            vec![merged],
            vec![
                (
                    w_out.clone(),
                    ParamInit::Uniform {
                        low: -bound,
                        high: bound,
                        stream: stream_of(&w_out),
                    },
                ),
                (format!("{n}.out_proj.bias"), ParamInit::Constant(0.0)),
            ],
        )?[0])
    }
}

/// A shape as a width where that is what a user compares (`128`, `8×16×16`).
fn describe_width(s: Shape) -> String {
    match s {
        Shape::Seq { width, .. } => width.to_string(),
        other => other.to_string(),
    }
}
