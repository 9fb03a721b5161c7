//! Models: a sequence of layers from a spec, with shapes checked when the model is built and
//! weights initialized on the host from the seed, so the same seed gives the same weights on
//! every adapter. No GPU code here: `train::plan` turns a [`Model`] into buffers and dispatches.

mod init;
mod spec;
pub mod weights;

pub use init::{init_params, HostParams, HostTensor};
pub use spec::{Init, LayerSpec, ModelSpec, PoolKind, LAYER_NAMES};

use crate::reference::conv::Conv2d;
use crate::reference::pool::Pool2d;

use crate::error::{Error, Result};

/// What a parameter tensor is, which decides regularization and naming.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamRole {
    /// Linear weight `[out, in]` or convolution weight `[out, in, kh, kw]`: L2 applies.
    Weight,
    /// Linear or convolution bias `[out]`.
    Bias,
    /// Batch-norm scale γ (named `weight` as in PyTorch; no L2).
    Gamma,
    /// Batch-norm shift β (named `bias`).
    Beta,
}

/// One trainable tensor of the model.
#[derive(Clone, Debug)]
pub struct ParamInfo {
    /// PyTorch-style name: `layers.{i}.weight`, `layers.{i}.bias`.
    pub name: String,
    pub layer: usize,
    pub role: ParamRole,
    pub shape: Vec<usize>,
}

impl ParamInfo {
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the L2 penalty applies (weights of linear and convolution layers only).
    pub fn regularized(&self) -> bool {
        self.role == ParamRole::Weight
    }
}

/// An image's shape, `[channels, height, width]` (one example of an NCHW batch).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Image {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
}

impl Image {
    pub fn new([channels, height, width]: [usize; 3]) -> Image {
        Image {
            channels,
            height,
            width,
        }
    }

    /// Pixels per channel.
    pub fn plane(&self) -> usize {
        self.height * self.width
    }

    /// Values per example.
    pub fn len(&self) -> usize {
        self.channels * self.plane()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl std::fmt::Display for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "{}×{}×{}", self.channels, self.height, self.width)
    }
}

/// What flows between two layers: a vector of features or an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Flat(usize),
    Image(Image),
}

impl Shape {
    /// Values per example.
    pub fn len(&self) -> usize {
        match self {
            Shape::Flat(n) => *n,
            Shape::Image(i) => i.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn image(&self) -> Option<Image> {
        match self {
            Shape::Image(i) => Some(*i),
            Shape::Flat(_) => None,
        }
    }

    /// Features in the sense of batch norm: channels of an image, values of a vector.
    pub fn features(&self) -> usize {
        match self {
            Shape::Flat(n) => *n,
            Shape::Image(i) => i.channels,
        }
    }

    /// Values per feature and example: pixels per channel of an image, 1 for a vector.
    pub fn spatial(&self) -> usize {
        match self {
            Shape::Flat(_) => 1,
            Shape::Image(i) => i.plane(),
        }
    }
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            Shape::Flat(n) => write!(f, "{n}"),
            Shape::Image(i) => write!(f, "{i}"),
        }
    }
}

/// A layer with its resolved shapes (`input` and `output` are values per example).
#[derive(Clone, Debug)]
pub struct Layer {
    pub index: usize,
    pub spec: LayerSpec,
    pub input: usize,
    pub output: usize,
    pub in_shape: Shape,
    pub out_shape: Shape,
}

impl Layer {
    /// The layer's name in the config (`linear`, `conv2d`, `relu`, …).
    pub fn kind(&self) -> &'static str {
        self.spec.name()
    }

    /// The convolution this layer computes on a batch of `batch`, if it is a conv2d layer.
    pub fn conv(&self, batch: usize) -> Option<Conv2d> {
        conv_of(&self.spec, self.in_shape.image()?, batch)
    }

    /// The pooling this layer computes on a batch of `batch`, if it pools.
    pub fn pool(&self, batch: usize) -> Option<Pool2d> {
        pool_of(&self.spec, self.in_shape.image()?, batch)
    }
}

/// The convolution `spec` computes on a batch of `batch` images `i`, if it is a conv2d layer.
fn conv_of(spec: &LayerSpec, i: Image, batch: usize) -> Option<Conv2d> {
    match spec {
        LayerSpec::Conv2d {
            out,
            kernel,
            stride,
            padding,
            dilation,
            ..
        } => Some(Conv2d {
            batch,
            in_channels: i.channels,
            out_channels: *out,
            height: i.height,
            width: i.width,
            kernel: *kernel,
            stride: *stride,
            padding: *padding,
            dilation: *dilation,
        }),
        _ => None,
    }
}

/// The pooling `spec` computes on a batch of `batch` images `i`, if it pools.
fn pool_of(spec: &LayerSpec, i: Image, batch: usize) -> Option<Pool2d> {
    let (kind, kernel, stride, padding) = match spec {
        LayerSpec::Pool2d {
            kind,
            kernel,
            stride,
            padding,
        } => (*kind, *kernel, *stride, *padding),
        LayerSpec::GlobalAvgPool => (PoolKind::Avg, [i.height, i.width], [1, 1], 0),
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

/// A model whose shapes have been checked.
#[derive(Clone, Debug)]
pub struct Model {
    pub input: usize,
    /// The input as an image, when the model has one.
    pub image: Option<Image>,
    pub layers: Vec<Layer>,
}

impl Model {
    /// Resolves every layer's shapes from the input width and, for image models, the input's
    /// image shape: `spec.shape`, else `data_image` (the shape image data carries) when the
    /// model has image layers, so an MLP on image files still sees a vector. Each layer must
    /// take what the layer before it gives; the first that cannot is named.
    pub fn build(spec: &ModelSpec, input: usize, data_image: Option<[usize; 3]>) -> Result<Model> {
        let data_image = data_image.filter(|_| spec.layers.iter().any(LayerSpec::takes_image));
        if let Some(declared) = spec.input {
            if declared != input {
                return Err(Error::Shape {
                    layer: 0,
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
        let mut shape = image.map_or(Shape::Flat(input), Shape::Image);
        let mut layers = Vec::with_capacity(spec.layers.len());
        for (index, l) in spec.layers.iter().enumerate() {
            let out_shape = output_shape(index, l, shape)?;
            layers.push(Layer {
                index,
                spec: l.clone(),
                input: shape.len(),
                output: out_shape.len(),
                in_shape: shape,
                out_shape,
            });
            shape = out_shape;
        }
        Ok(Model {
            input,
            image,
            layers,
        })
    }

    /// The model's input shape: an image for image models, else a vector.
    pub fn input_shape(&self) -> Shape {
        self.image.map_or(Shape::Flat(self.input), Shape::Image)
    }

    /// The model's output shape.
    pub fn output_shape(&self) -> Shape {
        self.layers
            .last()
            .map_or(self.input_shape(), |l| l.out_shape)
    }

    pub fn output(&self) -> usize {
        self.layers.last().map_or(self.input, |l| l.output)
    }

    /// Trainable tensors in layer order (weight before bias).
    pub fn params(&self) -> Vec<ParamInfo> {
        let mut out = Vec::new();
        for l in &self.layers {
            let (a, b, shape_a) = match &l.spec {
                LayerSpec::Linear { .. } => {
                    (ParamRole::Weight, ParamRole::Bias, vec![l.output, l.input])
                }
                LayerSpec::Conv2d { out, kernel, .. } => (
                    ParamRole::Weight,
                    ParamRole::Bias,
                    vec![*out, l.in_shape.features(), kernel[0], kernel[1]],
                ),
                LayerSpec::BatchNorm { .. } => (
                    ParamRole::Gamma,
                    ParamRole::Beta,
                    vec![l.out_shape.features()],
                ),
                _ => continue,
            };
            out.push(ParamInfo {
                name: format!("layers.{}.weight", l.index),
                layer: l.index,
                role: a,
                shape: shape_a.clone(),
            });
            out.push(ParamInfo {
                name: format!("layers.{}.bias", l.index),
                layer: l.index,
                role: b,
                shape: vec![shape_a[0]],
            });
        }
        out
    }

    /// Indices of the activation layers of the given kinds.
    pub fn activation_layers(&self, kinds: &[crate::ops::Activation]) -> Vec<usize> {
        self.layers
            .iter()
            .filter(
                |l| matches!(&l.spec, LayerSpec::Activation { kind, .. } if kinds.contains(kind)),
            )
            .map(|l| l.index)
            .collect()
    }

    /// Total number of trainable scalars.
    pub fn param_count(&self) -> usize {
        self.params().iter().map(|p| p.len()).sum()
    }

    /// A short architecture string such as `2-64-relu-64-relu-3`, or for an image model
    /// `1×28×28-conv3(8)-relu-maxpool2-flatten-10`.
    pub fn describe(&self) -> String {
        let mut parts = vec![self.image.map_or(self.input.to_string(), |i| i.to_string())];
        for l in &self.layers {
            parts.push(match &l.spec {
                LayerSpec::Linear { out, .. } => out.to_string(),
                LayerSpec::Activation { kind, .. } => kind.name().to_string(),
                LayerSpec::BatchNorm { .. } => "bn".into(),
                LayerSpec::Dropout { rate } => format!("dropout({rate})"),
                LayerSpec::Conv2d { out, kernel, .. } if kernel[0] == kernel[1] => {
                    format!("conv{}({out})", kernel[0])
                }
                LayerSpec::Conv2d { out, kernel, .. } => {
                    format!("conv{}x{}({out})", kernel[0], kernel[1])
                }
                LayerSpec::Pool2d { kind, kernel, .. } => {
                    let k = if kernel[0] == kernel[1] {
                        kernel[0].to_string()
                    } else {
                        format!("{}x{}", kernel[0], kernel[1])
                    };
                    match kind {
                        PoolKind::Max => format!("maxpool{k}"),
                        PoolKind::Avg => format!("avgpool{k}"),
                    }
                }
                LayerSpec::GlobalAvgPool => "gap".into(),
                LayerSpec::Flatten => "flatten".into(),
            });
        }
        parts.join("-")
    }
}

/// What layer `index` (`spec`) gives for an input of `shape`, or why it cannot take it.
fn output_shape(index: usize, spec: &LayerSpec, shape: Shape) -> Result<Shape> {
    let fail = |message: String| Error::LayerShape {
        layer: index,
        kind: spec.name().into(),
        message,
    };
    let needs_image = || {
        fail(format!(
            "takes an image [channels, height, width], but gets a vector of {shape} features; declare the input's shape as `model.shape: [c, h, w]`, or remove the layers that flattened it"
        ))
    };
    Ok(match spec {
        LayerSpec::Linear {
            out,
            input: declared,
            ..
        } => {
            if let Shape::Image(i) = shape {
                return Err(fail(format!(
                    "takes a vector, but gets a {i} image; add `flatten` before it"
                )));
            }
            if let Some(d) = declared {
                if *d != shape.len() {
                    return Err(Error::Shape {
                        layer: index,
                        kind: "linear".into(),
                        expected: *d,
                        found: shape.len(),
                    });
                }
            }
            Shape::Flat(*out)
        }
        LayerSpec::Conv2d {
            out,
            kernel,
            stride,
            padding,
            dilation,
            ..
        } => {
            let Shape::Image(i) = shape else {
                return Err(needs_image());
            };
            if *out == 0 || kernel.contains(&0) || *stride == 0 || *dilation == 0 {
                return Err(fail(
                    "out, kernel, stride and dilation must each be at least 1".into(),
                ));
            }
            let conv = conv_of(spec, i, 1).expect("a conv2d layer");
            let (height, width) = conv.output_size().ok_or_else(|| {
                fail(format!(
                    "a {}×{} kernel (dilation {dilation}) does not fit the {i} input padded by {padding}",
                    kernel[0], kernel[1]
                ))
            })?;
            Shape::Image(Image {
                channels: *out,
                height,
                width,
            })
        }
        LayerSpec::Pool2d {
            kernel,
            stride,
            padding,
            ..
        } => {
            let Shape::Image(i) = shape else {
                return Err(needs_image());
            };
            if kernel.contains(&0) || stride.contains(&0) {
                return Err(fail("kernel and stride must each be at least 1".into()));
            }
            if 2 * padding > kernel[0].min(kernel[1]) {
                return Err(fail(format!(
                    "padding {padding} is more than half the {}×{} kernel (PyTorch refuses it too)",
                    kernel[0], kernel[1]
                )));
            }
            let pool = pool_of(spec, i, 1).expect("a pooling layer");
            let (height, width) = pool.output_size().ok_or_else(|| {
                fail(format!(
                    "a {}×{} window does not fit the {i} input padded by {padding}",
                    kernel[0], kernel[1]
                ))
            })?;
            Shape::Image(Image {
                channels: i.channels,
                height,
                width,
            })
        }
        LayerSpec::GlobalAvgPool => match shape {
            Shape::Image(i) => Shape::Image(Image {
                channels: i.channels,
                height: 1,
                width: 1,
            }),
            Shape::Flat(_) => return Err(needs_image()),
        },
        LayerSpec::Flatten => Shape::Flat(shape.len()),
        LayerSpec::Activation { .. } | LayerSpec::BatchNorm { .. } | LayerSpec::Dropout { .. } => {
            shape
        }
    })
}
