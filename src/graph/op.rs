//! The operations of the model IR and their shape rules. Each op knows what it takes, what it
//! gives and which parameter tensors it owns; how it runs lives in `plan` (the GPU) and
//! `reference::graph` (the f64 mirror), one arm per op in each.

use super::shape::{Image, Shape};
use crate::ops::Activation;
use crate::reference::conv::Conv2d;
use crate::reference::pool::Pool2d;

/// Which pooling a [`Op::Pool2d`] does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolKind {
    Max,
    Avg,
}

impl PoolKind {
    /// The layer's name in the config.
    pub fn name(self) -> &'static str {
        match self {
            PoolKind::Max => "max_pool2d",
            PoolKind::Avg => "avg_pool2d",
        }
    }
}

/// What a parameter tensor is, which decides regularization and naming.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamRole {
    /// A matrix or filter bank (linear, convolution, embedding and position tables, attention
    /// projections): L2 and weight decay apply.
    Weight,
    /// A bias vector.
    Bias,
    /// A normalization's scale γ (named `weight` as in PyTorch; no L2).
    Gamma,
    /// A normalization's shift β (named `bias`).
    Beta,
}

/// One operation of the graph.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// y = x·Wᵀ + b over the last dimension; W is `[output, input]` as `nn.Linear` stores it
    /// (no b without `bias`, as `nn.Linear(…, bias=False)`).
    Linear {
        input: usize,
        output: usize,
        bias: bool,
    },
    /// 2-D convolution of an NCHW image; weight `[out, in, kh, kw]`, and a bias per output
    /// channel unless `bias` is false.
    Conv2d {
        out: usize,
        bias: bool,
        kernel: [usize; 2],
        stride: usize,
        padding: usize,
        dilation: usize,
    },
    /// Max or average pooling of each channel (average divides by the whole window).
    Pool2d {
        kind: PoolKind,
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: usize,
    },
    /// The mean of each channel: `[c, h, w]` → `[c, 1, 1]`.
    GlobalAvgPool,
    /// Any tensor as a vector of its values (NCHW order for images).
    Flatten,
    /// An elementwise activation (`slope` is leaky ReLU's).
    Activation { kind: Activation, slope: f64 },
    /// Batch norm per feature of a vector or channel of an image.
    BatchNorm { eps: f64, momentum: f64 },
    /// Inverted dropout in training, the identity in evaluation.
    Dropout { rate: f64 },
    /// Normalization over the last dimension (`nn.LayerNorm`), with γ and β when `affine`.
    LayerNorm { eps: f64, affine: bool },
    /// Token ids → rows of a `[vocab, dim]` table (`nn.Embedding`).
    Embedding { vocab: usize, dim: usize },
    /// x + P[:T] with a learned `[max_len, d]` table P (a learned positional embedding).
    Position { max_len: usize },
    /// a + b, same shapes (a residual connection).
    Add,
    /// `[T, parts·H·Dh]` → `parts` tensors `[H, T, Dh]` (nn.MultiheadAttention's packed
    /// projection split into queries, keys and values per head).
    ToHeads { heads: usize, parts: usize },
    /// `[H, T, Dh]` → `[T, H·Dh]` (heads merged back).
    FromHeads,
    /// Per head, A·B or A·Bᵀ (`trans_b`): `[H, m, k]`·`[H, k, n]` → `[H, m, n]`.
    Matmul { trans_b: bool },
    /// softmax(scale·x) over the last dimension; `causal` masks the columns after the row's
    /// position (masked entries are exactly 0).
    Softmax { scale: f64, causal: bool },
}

/// Why an op cannot take its inputs.
#[derive(Clone, Debug, PartialEq)]
pub enum ShapeError {
    /// A declared input width that the previous tensor does not have.
    Width {
        expected: usize,
        found: usize,
    },
    Message(String),
}

fn fail<T>(message: impl Into<String>) -> Result<T, ShapeError> {
    Err(ShapeError::Message(message.into()))
}

fn needs_image<T>(shape: Shape) -> Result<T, ShapeError> {
    fail(match shape {
        Shape::Flat(_) => format!(
            "takes an image [channels, height, width], but gets a vector of {shape} features; declare the input's shape as `model.shape: [c, h, w]`, or remove the layers that flattened it"
        ),
        other => format!("takes an image [channels, height, width], but gets {other}"),
    })
}

impl Op {
    /// A short name (the config's layer name where there is one).
    pub fn name(&self) -> &'static str {
        match self {
            Op::Linear { .. } => "linear",
            Op::Conv2d { .. } => "conv2d",
            Op::Pool2d { kind, .. } => kind.name(),
            Op::GlobalAvgPool => "global_avg_pool",
            Op::Flatten => "flatten",
            Op::Activation { kind, .. } => kind.name(),
            Op::BatchNorm { .. } => "batch_norm",
            Op::Dropout { .. } => "dropout",
            Op::LayerNorm { .. } => "layer_norm",
            Op::Embedding { .. } => "embedding",
            Op::Position { .. } => "position",
            Op::Add => "add",
            Op::ToHeads { .. } => "to_heads",
            Op::FromHeads => "from_heads",
            Op::Matmul { .. } => "matmul",
            Op::Softmax { .. } => "softmax",
        }
    }

    /// How many inputs the op takes.
    pub fn arity(&self) -> usize {
        match self {
            Op::Add | Op::Matmul { .. } => 2,
            _ => 1,
        }
    }

    /// Whether the op has a weight and a bias that `init` and `bias` configure (linear and
    /// convolution layers).
    pub fn is_weighted(&self) -> bool {
        matches!(self, Op::Linear { .. } | Op::Conv2d { .. })
    }

    /// The convolution this op computes on a batch of `batch` images `i`.
    pub fn conv(&self, i: Image, batch: usize) -> Option<Conv2d> {
        match *self {
            Op::Conv2d {
                out,
                kernel,
                stride,
                padding,
                dilation,
                ..
            } => Some(Conv2d {
                batch,
                in_channels: i.channels,
                out_channels: out,
                height: i.height,
                width: i.width,
                kernel,
                stride,
                padding,
                dilation,
            }),
            _ => None,
        }
    }

    /// The pooling this op computes on a batch of `batch` images `i`.
    pub fn pool(&self, i: Image, batch: usize) -> Option<Pool2d> {
        let (kind, kernel, stride, padding) = match *self {
            Op::Pool2d {
                kind,
                kernel,
                stride,
                padding,
            } => (kind, kernel, stride, padding),
            Op::GlobalAvgPool => (PoolKind::Avg, [i.height, i.width], [1, 1], 0),
            _ => return None,
        };
        Some(Pool2d {
            kind,
            planes: batch * i.channels,
            height: i.height,
            width: i.width,
            kernel,
            stride,
            padding,
        })
    }

    /// The parameter tensors the op owns for `inputs`, in order: (shape, role).
    pub fn params(&self, inputs: &[Shape]) -> Vec<(Vec<usize>, ParamRole)> {
        let x = inputs.first().copied().unwrap_or(Shape::Flat(0));
        match *self {
            Op::Linear {
                input,
                output,
                bias,
            } => {
                let mut p = vec![(vec![output, input], ParamRole::Weight)];
                if bias {
                    p.push((vec![output], ParamRole::Bias));
                }
                p
            }
            Op::Conv2d {
                out, kernel, bias, ..
            } => {
                let mut p = vec![(
                    vec![out, x.features(), kernel[0], kernel[1]],
                    ParamRole::Weight,
                )];
                if bias {
                    p.push((vec![out], ParamRole::Bias));
                }
                p
            }
            Op::BatchNorm { .. } => vec![
                (vec![x.features()], ParamRole::Gamma),
                (vec![x.features()], ParamRole::Beta),
            ],
            Op::LayerNorm { affine: true, .. } => vec![
                (vec![x.last()], ParamRole::Gamma),
                (vec![x.last()], ParamRole::Beta),
            ],
            Op::Embedding { vocab, dim } => vec![(vec![vocab, dim], ParamRole::Weight)],
            Op::Position { max_len } => vec![(vec![max_len, x.last()], ParamRole::Weight)],
            _ => Vec::new(),
        }
    }

    /// What the op gives for `inputs` (one shape per output), or why it cannot take them.
    pub fn infer(&self, inputs: &[Shape]) -> Result<Vec<Shape>, ShapeError> {
        if inputs.len() != self.arity() {
            return fail(format!(
                "takes {} inputs, got {}",
                self.arity(),
                inputs.len()
            ));
        }
        let x = inputs[0];
        let one = |s: Shape| Ok(vec![s]);
        match *self {
            Op::Linear { input, output, .. } => match x {
                Shape::Image(i) => fail(format!(
                    "takes a vector, but gets a {i} image; add `flatten` before it"
                )),
                Shape::Tokens(_) => fail("takes vectors, but gets token ids; add an `embedding` before it"),
                _ if x.last() != input => Err(ShapeError::Width {
                    expected: input,
                    found: x.last(),
                }),
                Shape::Flat(_) => one(Shape::Flat(output)),
                Shape::Seq { len, .. } => one(Shape::Seq { len, width: output }),
                Shape::Heads { heads, len, .. } => one(Shape::Heads {
                    heads,
                    len,
                    dim: output,
                }),
            },
            Op::Conv2d {
                out,
                kernel,
                stride,
                padding,
                dilation,
                ..
            } => {
                let Shape::Image(i) = x else {
                    return needs_image(x);
                };
                if out == 0 || kernel.contains(&0) || stride == 0 || dilation == 0 {
                    return fail("out, kernel, stride and dilation must each be at least 1");
                }
                let conv = self.conv(i, 1).expect("a conv2d op");
                let (height, width) = conv.output_size().ok_or_else(|| {
                    ShapeError::Message(format!(
                        "a {}×{} kernel (dilation {dilation}) does not fit the {i} input padded by {padding}",
                        kernel[0], kernel[1]
                    ))
                })?;
                one(Shape::Image(Image {
                    channels: out,
                    height,
                    width,
                }))
            }
            Op::Pool2d {
                kernel,
                stride,
                padding,
                ..
            } => {
                let Shape::Image(i) = x else {
                    return needs_image(x);
                };
                if kernel.contains(&0) || stride.contains(&0) {
                    return fail("kernel and stride must each be at least 1");
                }
                if 2 * padding > kernel[0].min(kernel[1]) {
                    return fail(format!(
                        "padding {padding} is more than half the {}×{} kernel (PyTorch refuses it too)",
                        kernel[0], kernel[1]
                    ));
                }
                let pool = self.pool(i, 1).expect("a pooling op");
                let (height, width) = pool.output_size().ok_or_else(|| {
                    ShapeError::Message(format!(
                        "a {}×{} window does not fit the {i} input padded by {padding}",
                        kernel[0], kernel[1]
                    ))
                })?;
                one(Shape::Image(Image {
                    channels: i.channels,
                    height,
                    width,
                }))
            }
            Op::GlobalAvgPool => match x {
                Shape::Image(i) => one(Shape::Image(Image {
                    channels: i.channels,
                    height: 1,
                    width: 1,
                })),
                _ => needs_image(x),
            },
            Op::Flatten => match x {
                Shape::Tokens(_) => fail("takes values, but gets token ids"),
                _ => one(Shape::Flat(x.len())),
            },
            Op::Activation { .. } | Op::Dropout { .. } => match x {
                Shape::Tokens(_) => fail("takes values, but gets token ids; add an `embedding` before it"),
                _ => one(x),
            },
            Op::BatchNorm { .. } => match x {
                Shape::Flat(_) | Shape::Image(_) => one(x),
                other => fail(format!(
                    "normalizes the features of vectors or the channels of images, but gets {other}; use `layer_norm` on sequences"
                )),
            },
            Op::LayerNorm { .. } => match x {
                Shape::Tokens(_) => fail("takes values, but gets token ids; add an `embedding` before it"),
                Shape::Image(i) => fail(format!(
                    "normalizes the last dimension of vectors or sequences, but gets a {i} image"
                )),
                _ => one(x),
            },
            Op::Embedding { vocab, dim } => match x {
                _ if vocab == 0 || dim == 0 => fail("vocab and dim must each be at least 1"),
                Shape::Tokens(len) => one(Shape::Seq { len, width: dim }),
                other => fail(format!(
                    "takes token ids (sequence data), but gets {}; an embedding is the first layer of a model on tokens",
                    other.phrase()
                )),
            },
            Op::Position { max_len } => match x {
                Shape::Seq { len, .. } if len > max_len => fail(format!(
                    "the context is {len} tokens, longer than max_len {max_len}; raise max_len or shorten the context"
                )),
                Shape::Seq { .. } => one(x),
                other => fail(format!(
                    "adds a learned vector per position of a sequence, but gets {}; put it after an `embedding`",
                    other.phrase()
                )),
            },
            Op::Add => {
                if inputs[1] != x {
                    return fail(format!("adds {x} and {}, which differ", inputs[1]));
                }
                one(x)
            }
            Op::ToHeads { heads, parts } => match x {
                Shape::Seq { len, width } => {
                    if heads == 0 || parts == 0 || width % (heads * parts) != 0 {
                        return fail(format!(
                            "{heads} heads do not divide the width {}",
                            width / parts.max(1)
                        ));
                    }
                    let dim = width / (heads * parts);
                    Ok(vec![Shape::Heads { heads, len, dim }; parts])
                }
                other => fail(format!("splits a sequence into heads, but gets {other}")),
            },
            Op::FromHeads => match x {
                Shape::Heads { heads, len, dim } => one(Shape::Seq {
                    len,
                    width: heads * dim,
                }),
                other => fail(format!("merges heads, but gets {other}")),
            },
            Op::Matmul { trans_b } => match (x, inputs[1]) {
                (
                    Shape::Heads {
                        heads,
                        len: m,
                        dim: k,
                    },
                    Shape::Heads {
                        heads: h2,
                        len: rows_b,
                        dim: cols_b,
                    },
                ) if heads == h2 => {
                    let (kb, n) = if trans_b {
                        (cols_b, rows_b)
                    } else {
                        (rows_b, cols_b)
                    };
                    if kb != k {
                        return fail(format!(
                            "multiplies {x} by {}{}, whose inner sizes {k} and {kb} differ",
                            inputs[1],
                            if trans_b { "ᵀ" } else { "" }
                        ));
                    }
                    one(Shape::Heads {
                        heads,
                        len: m,
                        dim: n,
                    })
                }
                (a, b) => fail(format!("multiplies heads by heads, but gets {a} and {b}")),
            },
            Op::Softmax { causal, .. } => match x {
                Shape::Heads { len, dim, .. } if causal && len != dim => fail(format!(
                    "a causal mask needs square scores, but gets {x}"
                )),
                Shape::Tokens(_) | Shape::Image(_) => {
                    fail(format!("normalizes the last dimension, but gets {x}"))
                }
                _ => one(x),
            },
        }
    }
}
