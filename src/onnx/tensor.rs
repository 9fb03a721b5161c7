//! Constant tensors of an ONNX graph: initializers, `Constant` nodes and everything folded
//! from them at load. Floats stay f32 (the weights netdx trains are exactly the file's);
//! integers and booleans are i64. The batch dimension, unknown until training, is the
//! sentinel [`BATCH`] wherever a shape computation reads it: products with it stay
//! recognizable (`BATCH × 4`), which is all PyTorch's exported reshapes need.

use super::proto::{tensor_proto::DataType, TensorProto};

/// What `Shape` gives for the batch dimension: a power of two far above any real size, so
/// that `BATCH × k` and `BATCH × k / k` stay exact in i64 and are told apart from sizes.
pub const BATCH: i64 = 1 << 40;

/// Values of a constant tensor.
#[derive(Clone, Debug, PartialEq)]
pub enum Data {
    F32(Vec<f32>),
    I64(Vec<i64>),
}

impl Data {
    pub fn len(&self) -> usize {
        match self {
            Data::F32(v) => v.len(),
            Data::I64(v) => v.len(),
        }
    }

    /// Element `i` as f64.
    pub fn get(&self, i: usize) -> f64 {
        match self {
            Data::F32(v) => v[i] as f64,
            Data::I64(v) => v[i] as f64,
        }
    }

    pub fn as_i64(&self) -> Vec<i64> {
        match self {
            Data::F32(v) => v.iter().map(|&x| x as i64).collect(),
            Data::I64(v) => v.clone(),
        }
    }

    pub fn as_f32(&self) -> Vec<f32> {
        match self {
            Data::F32(v) => v.clone(),
            Data::I64(v) => v.iter().map(|&x| x as f32).collect(),
        }
    }

    /// The elements at `index`, in order.
    pub fn pick(&self, index: &[usize]) -> Data {
        match self {
            Data::F32(v) => Data::F32(index.iter().map(|&i| v[i]).collect()),
            Data::I64(v) => Data::I64(index.iter().map(|&i| v[i]).collect()),
        }
    }
}

/// A constant tensor; `source` names the initializer it is (or is the transpose of), which
/// is what makes it a parameter when it feeds a weight position.
#[derive(Clone, Debug)]
pub struct Const {
    pub dims: Vec<usize>,
    pub data: Data,
    pub source: Option<Source>,
    /// The initializer whose first rows this constant is (`pos[:T]`, a learned position
    /// table sliced to the context).
    pub rows_of: Option<String>,
}

/// The initializer a constant comes from.
#[derive(Clone, Debug, PartialEq)]
pub struct Source {
    pub name: String,
    /// Whether the constant is that 2-D initializer transposed (`Transpose(W)` feeding a
    /// `MatMul`: the weight is still `W`, in `nn.Linear`'s `[out, in]` layout).
    pub transposed: bool,
}

impl Const {
    pub fn new(dims: Vec<usize>, data: Data) -> Const {
        Const {
            dims,
            data,
            source: None,
            rows_of: None,
        }
    }

    pub fn scalar_i64(v: i64) -> Const {
        Const::new(Vec::new(), Data::I64(vec![v]))
    }

    /// Elements in all.
    pub fn elements(&self) -> usize {
        self.dims.iter().product()
    }

    /// The single value of a one-element tensor.
    pub fn scalar(&self) -> Option<f64> {
        (self.data.len() == 1).then(|| self.data.get(0))
    }

    /// Decodes an initializer or a `Constant`'s value. `Err` says why it cannot be read.
    pub fn from_proto(t: &TensorProto) -> Result<Const, String> {
        let dims: Vec<usize> = t
            .dims
            .iter()
            .map(|&d| usize::try_from(d).map_err(|_| format!("dimension {d} is negative")))
            .collect::<Result<_, _>>()?;
        let n = dims
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .ok_or("its dimensions overflow")?;
        let dtype = DataType::try_from(t.data_type).unwrap_or(DataType::Undefined);
        let raw = &t.raw_data;
        let wrong = |found: usize| {
            Err(format!(
                "holds {found} values where its dimensions {dims:?} need {n} (a truncated or corrupted file?)"
            ))
        };
        let data = match dtype {
            DataType::Float => {
                let v: Vec<f32> = if raw.is_empty() {
                    t.float_data.clone()
                } else {
                    raw.chunks_exact(4)
                        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                        .collect()
                };
                if v.len() != n || (!raw.is_empty() && raw.len() != 4 * n) {
                    return wrong(v.len());
                }
                Data::F32(v)
            }
            DataType::Double => {
                let v: Vec<f32> = if raw.is_empty() {
                    t.double_data.iter().map(|&x| x as f32).collect()
                } else {
                    raw.chunks_exact(8)
                        .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32)
                        .collect()
                };
                if v.len() != n {
                    return wrong(v.len());
                }
                Data::F32(v)
            }
            DataType::Int64 => {
                let v: Vec<i64> = if raw.is_empty() {
                    t.int64_data.clone()
                } else {
                    raw.chunks_exact(8)
                        .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")))
                        .collect()
                };
                if v.len() != n || (!raw.is_empty() && raw.len() != 8 * n) {
                    return wrong(v.len());
                }
                Data::I64(v)
            }
            DataType::Int32 | DataType::Int8 | DataType::Uint8 | DataType::Bool => {
                let v: Vec<i64> = if raw.is_empty() {
                    t.int32_data.iter().map(|&x| x as i64).collect()
                } else if dtype == DataType::Int32 {
                    raw.chunks_exact(4)
                        .map(|b| i32::from_le_bytes(b.try_into().expect("4 bytes")) as i64)
                        .collect()
                } else if dtype == DataType::Int8 {
                    raw.iter().map(|&b| b as i8 as i64).collect()
                } else {
                    raw.iter().map(|&b| b as i64).collect()
                };
                if v.len() != n {
                    return wrong(v.len());
                }
                Data::I64(v)
            }
            other => {
                return Err(format!(
                    "its element type {} is not supported (netdx reads float, double, int64, int32, int8, uint8 and bool tensors)",
                    other.as_str_name()
                ))
            }
        };
        Ok(Const::new(dims, data))
    }
}

/// Whether ONNX element type `t` is an integer type (token ids).
pub fn is_integer(t: i32) -> bool {
    matches!(
        DataType::try_from(t),
        Ok(DataType::Int64 | DataType::Int32 | DataType::Int16 | DataType::Int8 | DataType::Uint8)
    )
}

/// Row-major strides of `dims`.
pub fn strides(dims: &[usize]) -> Vec<usize> {
    let mut s = vec![1; dims.len()];
    for i in (0..dims.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * dims[i + 1];
    }
    s
}
