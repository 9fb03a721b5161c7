//! The model as the user writes it. YAML forms accepted for a layer: a bare name (`relu`,
//! `tanh`, `batch_norm`, `dropout`) or a single-key map with arguments
//! (`{linear: {out: 64, init: kaiming_normal}}`, `{leaky_relu: {slope: 0.1}}`,
//! `{dropout: {rate: 0.2}}`, `{batch_norm: {eps: 1e-5, momentum: 0.1}}`,
//! `{conv2d: {out: 8, kernel: 3, padding: 1}}`, `{max_pool2d: {kernel: 2}}`). Image layers
//! (`conv2d`, `max_pool2d`, `avg_pool2d`, `global_avg_pool`, `flatten`) follow PyTorch's
//! `nn.Conv2d`, `nn.MaxPool2d`, `nn.AvgPool2d`, `nn.AdaptiveAvgPool2d(1)` and `nn.Flatten`.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::ops::Activation;

/// Weight initialization of a linear layer (fan_in = inputs, fan_out = outputs). Kaiming uses
/// the ReLU gain √2, as `torch.nn.init.kaiming_*_(nonlinearity='relu')`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Init {
    XavierUniform,
    XavierNormal,
    #[default]
    KaimingUniform,
    KaimingNormal,
    Normal {
        std: f64,
    },
    Uniform {
        low: f64,
        high: f64,
    },
    Zeros,
}

const INIT_NAMES: &[&str] = &[
    "xavier_uniform",
    "xavier_normal",
    "kaiming_uniform",
    "kaiming_normal",
    "normal",
    "uniform",
    "zeros",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NormalArgs {
    std: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UniformArgs {
    low: f64,
    high: f64,
}

impl<'de> Deserialize<'de> for Init {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Init;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an init name or {normal: {std}} / {uniform: {low, high}}")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Init, E> {
                Ok(match s {
                    "xavier_uniform" => Init::XavierUniform,
                    "xavier_normal" => Init::XavierNormal,
                    "kaiming_uniform" => Init::KaimingUniform,
                    "kaiming_normal" => Init::KaimingNormal,
                    "zeros" => Init::Zeros,
                    "normal" | "uniform" => {
                        return Err(E::custom(format!(
                            "init `{s}` needs arguments, e.g. {{normal: {{std: 0.01}}}} or {{uniform: {{low: -0.1, high: 0.1}}}}"
                        )))
                    }
                    _ => return Err(E::unknown_variant(s, INIT_NAMES)),
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Init, A::Error> {
                let key: String = map
                    .next_key()?
                    .ok_or_else(|| de::Error::custom("empty init map"))?;
                let init = match key.as_str() {
                    "normal" => Init::Normal {
                        std: map.next_value::<NormalArgs>()?.std,
                    },
                    "uniform" => {
                        let a: UniformArgs = map.next_value()?;
                        Init::Uniform {
                            low: a.low,
                            high: a.high,
                        }
                    }
                    other => return Err(de::Error::unknown_variant(other, &["normal", "uniform"])),
                };
                if map.next_key::<String>()?.is_some() {
                    return Err(de::Error::custom("an init map has exactly one key"));
                }
                Ok(init)
            }
        }
        d.deserialize_any(V)
    }
}

/// One layer as specified.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LayerSpec {
    Linear {
        out: usize,
        /// Optional declared input width, checked against the previous layer.
        input: Option<usize>,
        init: Init,
        /// Constant bias initial value.
        bias: f64,
    },
    Activation {
        kind: Activation,
        /// Negative slope of leaky_relu (ignored by the others).
        slope: f64,
    },
    BatchNorm {
        eps: f64,
        momentum: f64,
    },
    Dropout {
        rate: f64,
    },
    /// 2-D convolution over an image `[channels, height, width]`; weight `[out, in, kh, kw]`.
    Conv2d {
        out: usize,
        kernel: [usize; 2],
        stride: usize,
        padding: usize,
        dilation: usize,
        init: Init,
        bias: f64,
    },
    /// Max or average pooling over each channel (`stride` defaults to the kernel, as in
    /// PyTorch; average pooling divides by the whole window, padding included).
    Pool2d {
        kind: PoolKind,
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: usize,
    },
    /// The mean of each channel: `[c, h, w]` → `[c, 1, 1]`.
    GlobalAvgPool,
    /// An image `[c, h, w]` as a vector of `c·h·w` features (no copy of meaning: NCHW order).
    Flatten,
    /// x + f(x), f the inner layers (`nn.Sequential` names them `{i}.{j}`); with `projection`,
    /// P(x) + f(x) where P is a linear layer (a 1×1 convolution on images, strided to f's
    /// output size) named `{i}.projection`.
    Residual {
        layers: Vec<LayerSpec>,
        projection: bool,
        /// Written as a map `{layers: […], projection: …}` (key paths differ).
        #[serde(skip)]
        mapped: bool,
    },
    /// `nn.LayerNorm` over the last dimension.
    LayerNorm {
        eps: f64,
        affine: bool,
    },
    /// `nn.Embedding(vocab, dim)`: token ids → vectors.
    Embedding {
        vocab: usize,
        dim: usize,
        init: Init,
    },
    /// A learned positional embedding: x + P[:T], P `[max_len, d]`.
    Position {
        max_len: usize,
        init: Init,
    },
    /// `nn.MultiheadAttention(d, heads, dropout, batch_first=True)` applied as self-attention
    /// (query = key = value = x), with a causal mask when `causal`.
    Attention {
        heads: usize,
        causal: bool,
        dropout: f64,
    },
}

impl LayerSpec {
    /// The layer's name in the config.
    pub fn name(&self) -> &'static str {
        match self {
            LayerSpec::Linear { .. } => "linear",
            LayerSpec::Activation { kind, .. } => kind.name(),
            LayerSpec::BatchNorm { .. } => "batch_norm",
            LayerSpec::Dropout { .. } => "dropout",
            LayerSpec::Conv2d { .. } => "conv2d",
            LayerSpec::Pool2d { kind, .. } => kind.name(),
            LayerSpec::GlobalAvgPool => "global_avg_pool",
            LayerSpec::Flatten => "flatten",
            LayerSpec::Residual { .. } => "residual",
            LayerSpec::LayerNorm { .. } => "layer_norm",
            LayerSpec::Embedding { .. } => "embedding",
            LayerSpec::Position { .. } => "position",
            LayerSpec::Attention { .. } => "attention",
        }
    }

    /// Whether the layer needs an image input (convolution and pooling), or holds one that
    /// does.
    pub fn takes_image(&self) -> bool {
        match self {
            LayerSpec::Conv2d { .. } | LayerSpec::Pool2d { .. } | LayerSpec::GlobalAvgPool => true,
            LayerSpec::Residual { layers, .. } => layers.iter().any(LayerSpec::takes_image),
            _ => false,
        }
    }

    /// Whether the layer has a weight and a bias (linear and convolution layers).
    pub fn is_weighted(&self) -> bool {
        matches!(self, LayerSpec::Linear { .. } | LayerSpec::Conv2d { .. })
    }

    /// Whether the layer owns trainable tensors (itself or, for a block, a layer inside it).
    pub fn has_params(&self) -> bool {
        match self {
            LayerSpec::Linear { .. }
            | LayerSpec::Conv2d { .. }
            | LayerSpec::BatchNorm { .. }
            | LayerSpec::Embedding { .. }
            | LayerSpec::Position { .. }
            | LayerSpec::Attention { .. } => true,
            LayerSpec::LayerNorm { affine, .. } => *affine,
            LayerSpec::Residual {
                layers, projection, ..
            } => *projection || layers.iter().any(LayerSpec::has_params),
            _ => false,
        }
    }

    /// Calls `f` on every layer of `layers`, those inside residual blocks included (a block
    /// before its layers).
    pub fn walk_mut(layers: &mut [LayerSpec], f: &mut dyn FnMut(&mut LayerSpec)) {
        for l in layers {
            f(l);
            if let LayerSpec::Residual { layers, .. } = l {
                LayerSpec::walk_mut(layers, f);
            }
        }
    }

    /// Calls `f` on every layer of `layers`, those inside residual blocks included.
    pub fn walk(layers: &[LayerSpec], f: &mut dyn FnMut(&LayerSpec)) {
        for l in layers {
            f(l);
            if let LayerSpec::Residual { layers, .. } = l {
                LayerSpec::walk(layers, f);
            }
        }
    }

    /// Sets a dropout rate (of a dropout layer or of attention weights) to 0.
    pub fn drop_dropout(&mut self) {
        match self {
            LayerSpec::Dropout { rate } => *rate = 0.0,
            LayerSpec::Attention { dropout, .. } => *dropout = 0.0,
            _ => {}
        }
    }

    /// The weight init and the constant initial bias of a linear or convolution layer.
    pub fn init(&self) -> Option<(&Init, f64)> {
        match self {
            LayerSpec::Linear { init, bias, .. } | LayerSpec::Conv2d { init, bias, .. } => {
                Some((init, *bias))
            }
            _ => None,
        }
    }

    /// The weight init and the constant initial bias of a linear or convolution layer, to
    /// change.
    pub fn init_mut(&mut self) -> Option<(&mut Init, &mut f64)> {
        match self {
            LayerSpec::Linear { init, bias, .. } | LayerSpec::Conv2d { init, bias, .. } => {
                Some((init, bias))
            }
            _ => None,
        }
    }
}

pub use crate::graph::PoolKind;

/// A square size (`3`) or `[height, width]` (`[3, 5]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Size2([usize; 2]);

impl Size2 {
    fn pair(self) -> [usize; 2] {
        self.0
    }
}

impl<'de> Deserialize<'de> for Size2 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Size2;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a size such as 3, or [height, width] such as [3, 5]")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Size2, E> {
                let v = usize::try_from(v).map_err(|_| E::custom("size too large"))?;
                Ok(Size2([v, v]))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Size2, A::Error> {
                let mut sizes = Vec::new();
                while let Some(v) = seq.next_element::<usize>()? {
                    sizes.push(v);
                }
                match sizes[..] {
                    [h, w] => Ok(Size2([h, w])),
                    _ => Err(de::Error::invalid_length(sizes.len(), &self)),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// The arguments of a layer that takes none: `flatten`, `{flatten: {}}` or `{flatten: null}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoArgs {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Conv2dArgs {
    out: usize,
    kernel: Size2,
    #[serde(default = "one")]
    stride: usize,
    #[serde(default)]
    padding: usize,
    #[serde(default = "one")]
    dilation: usize,
    #[serde(default)]
    init: Init,
    #[serde(default)]
    bias: f64,
}

fn one() -> usize {
    1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Pool2dArgs {
    kernel: Size2,
    #[serde(default)]
    stride: Option<Size2>,
    #[serde(default)]
    padding: usize,
}

impl Pool2dArgs {
    fn layer(self, kind: PoolKind) -> LayerSpec {
        let kernel = self.kernel.pair();
        LayerSpec::Pool2d {
            kind,
            kernel,
            // PyTorch's default stride is the kernel size.
            stride: self.stride.map_or(kernel, Size2::pair),
            padding: self.padding,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LayerNormArgs {
    #[serde(default = "default_ln_eps")]
    eps: f64,
    #[serde(default = "yes")]
    affine: bool,
}

fn default_ln_eps() -> f64 {
    1e-5
}

fn yes() -> bool {
    true
}

/// `nn.Embedding`'s default init, N(0, 1).
fn unit_normal() -> Init {
    Init::Normal { std: 1.0 }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmbeddingArgs {
    vocab: usize,
    dim: usize,
    #[serde(default = "unit_normal")]
    init: Init,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PositionArgs {
    max_len: usize,
    #[serde(default = "unit_normal")]
    init: Init,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AttentionArgs {
    heads: usize,
    #[serde(default)]
    causal: bool,
    #[serde(default)]
    dropout: f64,
}

/// What a residual's projection is: `linear` (a 1×1 convolution on images).
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum ProjectionKind {
    Linear,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResidualMap {
    layers: Vec<LayerSpec>,
    #[serde(default)]
    projection: Option<ProjectionKind>,
}

/// `{residual: [layers…]}` or `{residual: {layers: […], projection: linear}}`.
struct ResidualArg(LayerSpec);

impl<'de> Deserialize<'de> for ResidualArg {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ResidualArg;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of layers, or a map {layers: [...], projection: linear}")
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<ResidualArg, A::Error> {
                let layers =
                    Vec::<LayerSpec>::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
                Ok(ResidualArg(LayerSpec::Residual {
                    layers,
                    projection: false,
                    mapped: false,
                }))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ResidualArg, A::Error> {
                let m = ResidualMap::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(ResidualArg(LayerSpec::Residual {
                    layers: m.layers,
                    projection: m.projection.is_some(),
                    mapped: true,
                }))
            }
        }
        d.deserialize_any(V)
    }
}

/// leaky_relu's default negative slope, as in PyTorch.
pub const DEFAULT_LEAKY_SLOPE: f64 = 0.01;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LinearArgs {
    out: usize,
    #[serde(default, rename = "in")]
    input: Option<usize>,
    #[serde(default)]
    init: Init,
    #[serde(default)]
    bias: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LeakyArgs {
    #[serde(default = "default_slope")]
    slope: f64,
}

fn default_slope() -> f64 {
    DEFAULT_LEAKY_SLOPE
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchNormArgs {
    #[serde(default = "default_bn_eps")]
    eps: f64,
    #[serde(default = "default_bn_momentum")]
    momentum: f64,
}

fn default_bn_eps() -> f64 {
    1e-5
}

fn default_bn_momentum() -> f64 {
    0.1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DropoutArgs {
    #[serde(default = "default_dropout")]
    rate: f64,
}

fn default_dropout() -> f64 {
    0.5
}

/// Every layer name the config accepts, for error messages.
pub const LAYER_NAMES: &[&str] = &[
    "linear",
    "relu",
    "leaky_relu",
    "tanh",
    "sigmoid",
    "gelu",
    "gelu_tanh",
    "identity",
    "batch_norm",
    "dropout",
    "conv2d",
    "max_pool2d",
    "avg_pool2d",
    "global_avg_pool",
    "flatten",
    "residual",
    "layer_norm",
    "embedding",
    "position",
    "attention",
    "wgsl",
];

/// `{wgsl: FILE}` or `{wgsl: {file: FILE, params: …, kinks: …, range: …}}`.
struct WgslArg(crate::kernels::user::UserActivationSpec);

impl<'de> Deserialize<'de> for WgslArg {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = WgslArg;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a WGSL file, or a map {file, params, kinks, range}")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<WgslArg, E> {
                Ok(WgslArg(crate::kernels::user::UserActivationSpec {
                    file: s.into(),
                    params: Default::default(),
                    kinks: Vec::new(),
                    range: crate::kernels::user::DEFAULT_RANGE,
                }))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<WgslArg, A::Error> {
                Deserialize::deserialize(de::value::MapAccessDeserializer::new(map)).map(WgslArg)
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for LayerSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LayerSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a layer: a name such as `relu`, or a map such as {linear: {out: 64}}")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<LayerSpec, E> {
                if let Some(kind) = Activation::from_name(s) {
                    return Ok(LayerSpec::Activation {
                        kind,
                        slope: DEFAULT_LEAKY_SLOPE,
                    });
                }
                match s {
                    "batch_norm" => Ok(LayerSpec::BatchNorm {
                        eps: default_bn_eps(),
                        momentum: default_bn_momentum(),
                    }),
                    "dropout" => Ok(LayerSpec::Dropout {
                        rate: default_dropout(),
                    }),
                    "global_avg_pool" => Ok(LayerSpec::GlobalAvgPool),
                    "flatten" => Ok(LayerSpec::Flatten),
                    "layer_norm" => Ok(LayerSpec::LayerNorm {
                        eps: default_ln_eps(),
                        affine: true,
                    }),
                    "residual" => Err(E::custom(
                        "`residual` needs its layers: {residual: [layer_norm, {linear: {out: 64}}]}",
                    )),
                    "embedding" => Err(E::custom(
                        "`embedding` needs its vocabulary and width: {embedding: {vocab: 128, dim: 64}}",
                    )),
                    "position" => Err(E::custom(
                        "`position` needs the longest context: {position: {max_len: 64}}",
                    )),
                    "attention" => Err(E::custom(
                        "`attention` needs its heads: {attention: {heads: 4, causal: true}}",
                    )),
                    "linear" => Err(E::custom(
                        "`linear` needs its output width: {linear: {out: N}}",
                    )),
                    "conv2d" => Err(E::custom(
                        "`conv2d` needs its output channels and kernel: {conv2d: {out: 8, kernel: 3}}",
                    )),
                    "max_pool2d" | "avg_pool2d" => Err(E::custom(format!(
                        "`{s}` needs its kernel size: {{{s}: {{kernel: 2}}}}"
                    ))),
                    _ => Err(E::unknown_variant(s, LAYER_NAMES)),
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LayerSpec, A::Error> {
                let key: String = map
                    .next_key()?
                    .ok_or_else(|| de::Error::custom("empty layer map"))?;
                let layer = match key.as_str() {
                    "linear" => {
                        let a: LinearArgs = map.next_value()?;
                        LayerSpec::Linear {
                            out: a.out,
                            input: a.input,
                            init: a.init,
                            bias: a.bias,
                        }
                    }
                    "leaky_relu" => LayerSpec::Activation {
                        kind: Activation::LeakyRelu,
                        slope: map.next_value::<LeakyArgs>()?.slope,
                    },
                    "batch_norm" => {
                        let a: BatchNormArgs = map.next_value()?;
                        LayerSpec::BatchNorm {
                            eps: a.eps,
                            momentum: a.momentum,
                        }
                    }
                    "dropout" => LayerSpec::Dropout {
                        rate: map.next_value::<DropoutArgs>()?.rate,
                    },
                    "conv2d" => {
                        let a: Conv2dArgs = map.next_value()?;
                        LayerSpec::Conv2d {
                            out: a.out,
                            kernel: a.kernel.pair(),
                            stride: a.stride,
                            padding: a.padding,
                            dilation: a.dilation,
                            init: a.init,
                            bias: a.bias,
                        }
                    }
                    "residual" => map.next_value::<ResidualArg>()?.0,
                    "layer_norm" => {
                        let a = map.next_value::<Option<LayerNormArgs>>()?;
                        LayerSpec::LayerNorm {
                            eps: a.as_ref().map_or(default_ln_eps(), |a| a.eps),
                            affine: a.is_none_or(|a| a.affine),
                        }
                    }
                    "embedding" => {
                        let a: EmbeddingArgs = map.next_value()?;
                        LayerSpec::Embedding {
                            vocab: a.vocab,
                            dim: a.dim,
                            init: a.init,
                        }
                    }
                    "position" => {
                        let a: PositionArgs = map.next_value()?;
                        LayerSpec::Position {
                            max_len: a.max_len,
                            init: a.init,
                        }
                    }
                    "attention" => {
                        let a: AttentionArgs = map.next_value()?;
                        LayerSpec::Attention {
                            heads: a.heads,
                            causal: a.causal,
                            dropout: a.dropout,
                        }
                    }
                    "max_pool2d" => map.next_value::<Pool2dArgs>()?.layer(PoolKind::Max),
                    "avg_pool2d" => map.next_value::<Pool2dArgs>()?.layer(PoolKind::Avg),
                    "global_avg_pool" | "flatten" => {
                        map.next_value::<Option<NoArgs>>()?;
                        if key == "flatten" {
                            LayerSpec::Flatten
                        } else {
                            LayerSpec::GlobalAvgPool
                        }
                    }
                    "wgsl" => {
                        let spec = map.next_value::<WgslArg>()?.0;
                        let id = crate::kernels::user::load_relative(spec)
                            .map_err(|e| de::Error::custom(e.to_string()))?;
                        LayerSpec::Activation {
                            kind: Activation::User(id),
                            slope: DEFAULT_LEAKY_SLOPE,
                        }
                    }
                    other => match Activation::from_name(other) {
                        Some(kind) => {
                            map.next_value::<de::IgnoredAny>()?;
                            LayerSpec::Activation {
                                kind,
                                slope: DEFAULT_LEAKY_SLOPE,
                            }
                        }
                        None => return Err(de::Error::unknown_variant(other, LAYER_NAMES)),
                    },
                };
                if let Some(extra) = map.next_key::<String>()? {
                    return Err(de::Error::custom(format!(
                        "a layer map has exactly one key; found `{extra}` after `{key}`"
                    )));
                }
                Ok(layer)
            }
        }
        d.deserialize_any(V)
    }
}

/// `model.input`: the width of a vector (a layer-list model), or the dimensions of one
/// example without the batch (an ONNX model: `[3, 32, 32]`, `[T]` for tokens).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ModelInput {
    Width(usize),
    Dims(Vec<usize>),
}

impl ModelInput {
    /// Values per example.
    pub fn len(&self) -> usize {
        match self {
            ModelInput::Width(w) => *w,
            ModelInput::Dims(d) => d
                .iter()
                .try_fold(1usize, |a, &x| a.checked_mul(x))
                .unwrap_or(usize::MAX),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn dims(&self) -> Vec<usize> {
        match self {
            ModelInput::Width(w) => vec![*w],
            ModelInput::Dims(d) => d.clone(),
        }
    }
}

impl<'de> Deserialize<'de> for ModelInput {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = ModelInput;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a width (16) or the dimensions of one example ([3, 32, 32])")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ModelInput, E> {
                Ok(ModelInput::Width(v as usize))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ModelInput, E> {
                usize::try_from(v)
                    .map(ModelInput::Width)
                    .map_err(|_| E::custom(format!("must be at least 1, got {v}")))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<ModelInput, A::Error> {
                let mut dims = Vec::new();
                while let Some(d) = seq.next_element::<usize>()? {
                    dims.push(d);
                }
                Ok(ModelInput::Dims(dims))
            }
        }
        d.deserialize_any(V)
    }
}

/// The `model:` section: a layer list, or an ONNX file.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// Input width (or, for an ONNX model, the dimensions of one example); inferred from the
    /// data when absent, checked against it when present.
    #[serde(default)]
    pub input: Option<ModelInput>,
    /// The input as an image `[channels, height, width]` (NCHW), for image layers; inferred
    /// from image data (the built-in `shapes`, IDX files) when absent.
    #[serde(default)]
    pub shape: Option<[usize; 3]>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<LayerSpec>,
    /// A model exported to ONNX (`torch.onnx.export`), instead of `layers`: the file gives the
    /// architecture and the initial weights. Relative to the config's folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onnx: Option<std::path::PathBuf>,
    /// Initial weights from a safetensors file (netdx or PyTorch `nn.Sequential` names; see
    /// `model::weights`) instead of the seeded init; relative to the config's folder.
    #[serde(default)]
    pub weights: Option<std::path::PathBuf>,
    /// Train with every dropout rate at 0 (set by checks that measure without
    /// regularization; `model::build` applies it to either front-end).
    #[serde(skip)]
    pub without_dropout: bool,
}
