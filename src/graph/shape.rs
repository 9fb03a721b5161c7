//! What one example of a tensor looks like (the batch dimension is symbolic and leads every
//! buffer): a vector, an NCHW image, a sequence of vectors, attention heads, or token ids.

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

/// One example of a tensor. Row-major in the order the variant names its dimensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A vector of features.
    Flat(usize),
    /// An NCHW image.
    Image(Image),
    /// `[len, width]`: a vector of `width` per position (a transformer's residual stream).
    Seq { len: usize, width: usize },
    /// `[heads, len, dim]`: attention heads, each a sequence (queries, keys, values, or the
    /// `[heads, len, len]` attention scores).
    Heads {
        heads: usize,
        len: usize,
        dim: usize,
    },
    /// `[len]` token ids (stored as f32): the input of an embedding, never differentiated.
    Tokens(usize),
}

impl Shape {
    /// Values per example.
    pub fn len(&self) -> usize {
        match self {
            Shape::Flat(n) | Shape::Tokens(n) => *n,
            Shape::Image(i) => i.len(),
            Shape::Seq { len, width } => len * width,
            Shape::Heads { heads, len, dim } => heads * len * dim,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn image(&self) -> Option<Image> {
        match self {
            Shape::Image(i) => Some(*i),
            _ => None,
        }
    }

    /// The dimensions of one example, as PyTorch would show them without the batch.
    pub fn dims(&self) -> Vec<usize> {
        match *self {
            Shape::Flat(n) | Shape::Tokens(n) => vec![n],
            Shape::Image(i) => vec![i.channels, i.height, i.width],
            Shape::Seq { len, width } => vec![len, width],
            Shape::Heads { heads, len, dim } => vec![heads, len, dim],
        }
    }

    /// The last dimension: what a linear layer, layer norm or softmax acts on.
    pub fn last(&self) -> usize {
        match *self {
            Shape::Flat(n) | Shape::Tokens(n) => n,
            Shape::Image(i) => i.width,
            Shape::Seq { width, .. } => width,
            Shape::Heads { dim, .. } => dim,
        }
    }

    /// Rows of the last dimension per example (1 for a vector).
    pub fn rows(&self) -> usize {
        self.len() / self.last().max(1)
    }

    /// Features in the sense of batch norm and of per-unit statistics: channels of an image,
    /// values of a vector, the last dimension of a sequence or of heads.
    pub fn features(&self) -> usize {
        match self {
            Shape::Flat(n) | Shape::Tokens(n) => *n,
            Shape::Image(i) => i.channels,
            Shape::Seq { width, .. } => *width,
            Shape::Heads { dim, .. } => *dim,
        }
    }

    /// Values per feature and example that follow it in memory: pixels per channel of an
    /// image, 1 otherwise.
    pub fn spatial(&self) -> usize {
        match self {
            Shape::Image(i) => i.plane(),
            _ => 1,
        }
    }

    /// The shape as a message names it: `a vector of 2 features`, `a 1×8×8 image`, `a sequence
    /// of 6 positions × 16`.
    pub fn phrase(&self) -> String {
        match *self {
            Shape::Flat(n) => format!("a vector of {n} features"),
            Shape::Image(i) => format!("a {i} image"),
            Shape::Seq { len, width } => format!("a sequence of {len} positions × {width}"),
            Shape::Heads { .. } => format!("attention heads {self}"),
            Shape::Tokens(n) => format!("{n} token ids"),
        }
    }

    /// How per-unit statistics see this tensor: (rows per example, units, values per unit and
    /// row that follow the unit in memory). A unit is a feature of a vector, a channel of an
    /// image, a last-dimension feature of a sequence (over every position).
    pub fn unit_layout(&self) -> (usize, usize, usize) {
        match self {
            Shape::Image(i) => (1, i.channels, i.plane()),
            Shape::Flat(n) | Shape::Tokens(n) => (1, *n, 1),
            s => (s.rows(), s.last(), 1),
        }
    }
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            Shape::Flat(n) => write!(f, "{n}"),
            Shape::Image(i) => write!(f, "{i}"),
            Shape::Seq { len, width } => write!(f, "{len}×{width}"),
            Shape::Heads { heads, len, dim } => write!(f, "{heads}×{len}×{dim}"),
            Shape::Tokens(n) => write!(f, "{n} tokens"),
        }
    }
}
