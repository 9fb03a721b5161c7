//! Constant folding: every op whose inputs are all constants is evaluated at load, which is
//! how the shape arithmetic PyTorch exports (Shape → Gather → Unsqueeze → Concat → Reshape,
//! masks built with Range and Where) disappears before anything reaches the GPU. Only the
//! ops such arithmetic uses are evaluated; the rest are left to the lowering, which refuses
//! what it cannot map.

use super::attrs::Attrs;
use super::proto::tensor_proto::DataType;
use super::tensor::{strides, Const, Data, Source};

type Folded = Result<Option<Vec<Const>>, String>;

/// The most elements a folded constant may have: shape arithmetic and masks are small, and a
/// file that asks for more is refused before anything is allocated.
pub const MAX_ELEMENTS: usize = 1 << 24;

/// The element count of `dims`, or why it is refused.
fn bounded(dims: &[usize]) -> Result<usize, String> {
    dims.iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .filter(|&n| n <= MAX_ELEMENTS)
        .ok_or_else(|| format!("a constant of dimensions {dims:?} is more than the {MAX_ELEMENTS} elements netdx folds"))
}

/// Evaluates `op` on constant `inputs` (`None` for an omitted optional input). `Ok(None)`:
/// not an op that folds.
pub fn fold(op: &str, inputs: &[Option<&Const>], attrs: &Attrs) -> Folded {
    let folded = evaluate(op, inputs, attrs)?;
    // Whatever the op, a constant holds exactly the elements its dimensions say.
    if let Some(c) = folded
        .iter()
        .flatten()
        .find(|c| c.dims.iter().product::<usize>() != c.data.len())
    {
        return Err(format!(
            "{op}: gives {} values for dimensions {:?}",
            c.data.len(),
            c.dims
        ));
    }
    Ok(folded)
}

fn evaluate(op: &str, inputs: &[Option<&Const>], attrs: &Attrs) -> Folded {
    let one = |c: Const| Ok(Some(vec![c]));
    let x = inputs.first().copied().flatten();
    match op {
        "Constant" => one(constant(attrs)?),
        "Identity" => one(need(x, 0)?.clone()),
        "Cast" => {
            let to = attrs.int("to", DataType::Float as i32 as i64) as i32;
            one(cast(need(x, 0)?, to))
        }
        "CastLike" => {
            let like = need(inputs.get(1).copied().flatten(), 1)?;
            let to = match like.data {
                Data::F32(_) => DataType::Float as i32,
                Data::I64(_) => DataType::Int64 as i32,
            };
            one(cast(need(x, 0)?, to))
        }
        "Shape" => {
            let x = need(x, 0)?;
            let dims: Vec<i64> = x.dims.iter().map(|&d| d as i64).collect();
            one(shape_slice(&dims, attrs))
        }
        "Size" => one(Const::scalar_i64(need(x, 0)?.elements() as i64)),
        "Gather" => one(gather(
            need(x, 0)?,
            need(inputs.get(1).copied().flatten(), 1)?,
            attrs.int("axis", 0),
        )?),
        "Slice" => one(slice(inputs)?),
        "Concat" => {
            let parts: Vec<&Const> = inputs
                .iter()
                .map(|c| c.ok_or("an input is missing"))
                .collect::<Result<_, _>>()?;
            one(concat(&parts, attrs.int("axis", 0))?)
        }
        "Unsqueeze" => {
            let axes = axes_of(inputs, attrs)?.ok_or("Unsqueeze needs axes")?;
            let x = need(x, 0)?;
            let rank = x.dims.len() + axes.len();
            let mut axes: Vec<usize> = axes
                .iter()
                .map(|&a| norm_axis(a, rank))
                .collect::<Result<_, _>>()?;
            axes.sort();
            if axes.windows(2).any(|w| w[0] == w[1]) {
                return Err("Unsqueeze: an axis is given twice".into());
            }
            let mut dims = x.dims.clone();
            for a in axes {
                dims.insert(a, 1);
            }
            one(reshaped(x, dims))
        }
        "Squeeze" => {
            let x = need(x, 0)?;
            let dims = match axes_of(inputs, attrs)? {
                None => x.dims.iter().copied().filter(|&d| d != 1).collect(),
                Some(axes) => {
                    let axes: Vec<usize> = axes
                        .iter()
                        .map(|&a| norm_axis(a, x.dims.len()))
                        .collect::<Result<_, _>>()?;
                    if let Some(&a) = axes.iter().find(|&&a| x.dims[a] != 1) {
                        return Err(format!("Squeeze: axis {a} has size {}, not 1", x.dims[a]));
                    }
                    x.dims
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| !axes.contains(i))
                        .map(|(_, &d)| d)
                        .collect()
                }
            };
            one(reshaped(x, dims))
        }
        "Reshape" => {
            let x = need(x, 0)?;
            let target = need(inputs.get(1).copied().flatten(), 1)?.data.as_i64();
            one(reshaped(x, reshape_dims(&x.dims, &target, x.elements())?))
        }
        "Flatten" => {
            let x = need(x, 0)?;
            let axis = norm_axis(attrs.int("axis", 1), x.dims.len() + 1)?;
            let a: usize = x.dims[..axis].iter().product();
            one(reshaped(x, vec![a, x.elements() / a.max(1)]))
        }
        "Expand" => {
            let x = need(x, 0)?;
            let shape: Vec<usize> = need(inputs.get(1).copied().flatten(), 1)?
                .data
                .as_i64()
                .iter()
                .map(|&d| d.max(0) as usize)
                .collect();
            let dims = broadcast(&x.dims, &shape).ok_or("Expand: shapes do not broadcast")?;
            bounded(&dims)?;
            let idx = broadcast_index(&x.dims, &dims);
            one(Const::new(dims, x.data.pick(&idx)))
        }
        "Transpose" => one(transpose(need(x, 0)?, attrs.ints("perm"))?),
        "ConstantOfShape" => {
            let dims: Vec<usize> = need(x, 0)?
                .data
                .as_i64()
                .iter()
                .map(|&d| d.max(0) as usize)
                .collect();
            let n = bounded(&dims)?;
            let value = match attrs.tensor("value") {
                Some(t) => Const::from_proto(t)?.data,
                None => Data::F32(vec![0.0]),
            };
            one(Const::new(
                dims,
                match value {
                    Data::F32(v) => Data::F32(vec![v.first().copied().unwrap_or(0.0); n]),
                    Data::I64(v) => Data::I64(vec![v.first().copied().unwrap_or(0); n]),
                },
            ))
        }
        "Range" => {
            let get = |k: usize| need(inputs.get(k).copied().flatten(), k).map(|c| c.data.clone());
            let (start, limit, delta) = (get(0)?, get(1)?, get(2)?);
            if start.len() != 1 || limit.len() != 1 || delta.len() != 1 {
                return Err("Range takes scalars".into());
            }
            if delta.get(0) == 0.0 || !delta.get(0).is_finite() {
                return Err("Range: a step of 0".into());
            }
            let steps = ((limit.get(0) - start.get(0)) / delta.get(0))
                .ceil()
                .max(0.0);
            if steps.is_nan() || steps > MAX_ELEMENTS as f64 {
                return Err(format!(
                    "Range of more than the {MAX_ELEMENTS} elements netdx folds"
                ));
            }
            let n = steps as usize;
            one(match start {
                Data::I64(s) => Const::new(
                    vec![n],
                    Data::I64(
                        (0..n as i64)
                            .map(|i| s[0] + i * delta.as_i64()[0])
                            .collect(),
                    ),
                ),
                Data::F32(s) => Const::new(
                    vec![n],
                    Data::F32(
                        (0..n)
                            .map(|i| s[0] + i as f32 * delta.as_f32()[0])
                            .collect(),
                    ),
                ),
            })
        }
        "Trilu" => {
            let x = need(x, 0)?;
            let k = inputs
                .get(1)
                .copied()
                .flatten()
                .map_or(0, |c| c.data.as_i64()[0]);
            let upper = attrs.int("upper", 1) != 0;
            let [.., rows, cols] = x.dims[..] else {
                return Err("Trilu takes a matrix".into());
            };
            let keep = |i: usize| {
                let (r, c) = (((i / cols) % rows) as i64, (i % cols) as i64);
                if upper {
                    c - r >= k
                } else {
                    c - r <= k
                }
            };
            let data = match &x.data {
                Data::F32(v) => Data::F32(
                    v.iter()
                        .enumerate()
                        .map(|(i, &e)| if keep(i) { e } else { 0.0 })
                        .collect(),
                ),
                Data::I64(v) => Data::I64(
                    v.iter()
                        .enumerate()
                        .map(|(i, &e)| if keep(i) { e } else { 0 })
                        .collect(),
                ),
            };
            one(Const::new(x.dims.clone(), data))
        }
        "Where" => {
            let c = need(x, 0)?;
            let a = need(inputs.get(1).copied().flatten(), 1)?;
            let b = need(inputs.get(2).copied().flatten(), 2)?;
            let dims = broadcast(&c.dims, &a.dims)
                .and_then(|d| broadcast(&d, &b.dims))
                .filter(|d| bounded(d).is_ok())
                .ok_or("Where: shapes do not broadcast")?;
            let (ic, ia, ib) = (
                broadcast_index(&c.dims, &dims),
                broadcast_index(&a.dims, &dims),
                broadcast_index(&b.dims, &dims),
            );
            let pick = |k: usize| c.data.get(ic[k]) != 0.0;
            let n = ic.len();
            one(Const::new(
                dims,
                match (&a.data, &b.data) {
                    (Data::I64(x), Data::I64(y)) => Data::I64(
                        (0..n)
                            .map(|k| if pick(k) { x[ia[k]] } else { y[ib[k]] })
                            .collect(),
                    ),
                    _ => Data::F32(
                        (0..n)
                            .map(|k| {
                                if pick(k) {
                                    a.data.get(ia[k]) as f32
                                } else {
                                    b.data.get(ib[k]) as f32
                                }
                            })
                            .collect(),
                    ),
                },
            ))
        }
        "Add" | "Sub" | "Mul" | "Div" | "Mod" | "Pow" | "Equal" | "Less" | "Greater" | "And"
        | "Or" | "Max" | "Min" => {
            let a = need(x, 0)?;
            let b = need(inputs.get(1).copied().flatten(), 1)?;
            one(binary(op, a, b, attrs.int("fmod", 0) != 0)?)
        }
        "Sqrt" | "Neg" | "Reciprocal" | "Not" | "Abs" | "Erf" | "Exp" | "Log" | "Relu"
        | "Floor" | "Ceil" => one(unary(op, need(x, 0)?)),
        _ => Ok(None),
    }
}

fn need(c: Option<&Const>, k: usize) -> Result<&Const, String> {
    c.ok_or_else(|| format!("input {k} is missing"))
}

fn norm_axis(a: i64, rank: usize) -> Result<usize, String> {
    let r = rank as i64;
    let v = if a < 0 { a + r } else { a };
    if (0..r).contains(&v) {
        Ok(v as usize)
    } else {
        Err(format!("axis {a} is out of range for rank {rank}"))
    }
}

/// The axes of Unsqueeze/Squeeze/ReduceMean: an input from opset 13 (18 for reductions),
/// an attribute before.
pub fn axes_of(inputs: &[Option<&Const>], attrs: &Attrs) -> Result<Option<Vec<i64>>, String> {
    match inputs.get(1).copied().flatten() {
        Some(c) => Ok(Some(c.data.as_i64())),
        None => Ok(attrs.ints("axes")),
    }
}

fn reshaped(x: &Const, dims: Vec<usize>) -> Const {
    Const::new(dims, x.data.clone())
}

/// ONNX Reshape's target (0 copies a dimension, −1 takes the rest) for `len` values.
pub fn reshape_dims(dims: &[usize], target: &[i64], len: usize) -> Result<Vec<usize>, String> {
    let mut out = Vec::with_capacity(target.len());
    let mut infer = None;
    for (i, &t) in target.iter().enumerate() {
        match t {
            0 => out.push(
                *dims
                    .get(i)
                    .ok_or("Reshape: 0 copies a dimension the input lacks")?,
            ),
            -1 if infer.is_none() => {
                infer = Some(i);
                out.push(1);
            }
            t if t > 0 => out.push(t as usize),
            t => return Err(format!("Reshape: target dimension {t} is invalid")),
        }
    }
    let known: usize = out.iter().product();
    if let Some(i) = infer {
        if known == 0 || !len.is_multiple_of(known) {
            return Err(format!(
                "Reshape: {len} values do not divide into {target:?}"
            ));
        }
        out[i] = len / known;
    }
    if out.iter().product::<usize>() != len {
        return Err(format!("Reshape: {len} values do not fit {target:?}"));
    }
    Ok(out)
}

fn constant(attrs: &Attrs) -> Result<Const, String> {
    if let Some(t) = attrs.tensor("value") {
        return Const::from_proto(t);
    }
    if attrs.has("value_float") {
        return Ok(Const::new(
            Vec::new(),
            Data::F32(vec![attrs.float("value_float", 0.0) as f32]),
        ));
    }
    if attrs.has("value_int") {
        return Ok(Const::scalar_i64(attrs.int("value_int", 0)));
    }
    if let Some(v) = attrs.floats("value_floats") {
        return Ok(Const::new(vec![v.len()], Data::F32(v)));
    }
    if let Some(v) = attrs.ints("value_ints") {
        return Ok(Const::new(vec![v.len()], Data::I64(v)));
    }
    Err(format!(
        "a Constant with attributes {:?} (netdx reads value, value_float(s), value_int(s))",
        attrs.names()
    ))
}

fn cast(x: &Const, to: i32) -> Const {
    let data = match DataType::try_from(to) {
        Ok(DataType::Float | DataType::Double | DataType::Float16 | DataType::Bfloat16) => {
            Data::F32(x.data.as_f32())
        }
        Ok(DataType::Bool) => Data::I64(
            (0..x.data.len())
                .map(|i| (x.data.get(i) != 0.0) as i64)
                .collect(),
        ),
        _ => Data::I64(x.data.as_i64()),
    };
    Const {
        dims: x.dims.clone(),
        data,
        source: x.source.clone(),
        rows_of: x.rows_of.clone(),
    }
}

/// `Shape`'s output for dimensions `dims`, with opset 15's `start` and `end`.
pub fn shape_slice(dims: &[i64], attrs: &Attrs) -> Const {
    let r = dims.len() as i64;
    let clamp = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
    let start = clamp(attrs.int("start", 0));
    let end = clamp(attrs.int("end", r));
    let v: Vec<i64> = dims[start..end.max(start)].to_vec();
    Const::new(vec![v.len()], Data::I64(v))
}

fn gather(data: &Const, indices: &Const, axis: i64) -> Result<Const, String> {
    let axis = norm_axis(axis, data.dims.len())?;
    let n = data.dims[axis] as i64;
    let idx: Vec<usize> = indices
        .data
        .as_i64()
        .iter()
        .map(|&i| {
            let j = if i < 0 { i + n } else { i };
            if (0..n).contains(&j) {
                Ok(j as usize)
            } else {
                Err(format!(
                    "Gather: index {i} is out of range for a dimension of {n}"
                ))
            }
        })
        .collect::<Result<_, _>>()?;
    let outer: usize = data.dims[..axis].iter().product();
    let inner: usize = data.dims[axis + 1..].iter().product();
    let mut dims = data.dims[..axis].to_vec();
    dims.extend(&indices.dims);
    dims.extend(&data.dims[axis + 1..]);
    bounded(&dims)?;
    let mut pick = Vec::with_capacity(outer * idx.len() * inner);
    for o in 0..outer {
        for &j in &idx {
            for k in 0..inner {
                pick.push((o * data.dims[axis] + j) * inner + k);
            }
        }
    }
    Ok(Const::new(dims, data.data.pick(&pick)))
}

fn slice(inputs: &[Option<&Const>]) -> Result<Const, String> {
    let x = need(inputs.first().copied().flatten(), 0)?;
    let get = |k: usize| inputs.get(k).copied().flatten().map(|c| c.data.as_i64());
    let starts = get(1).ok_or("Slice needs starts")?;
    let ends = get(2).ok_or("Slice needs ends")?;
    let rank = x.dims.len();
    let axes = get(3).unwrap_or_else(|| (0..starts.len() as i64).collect());
    let steps = get(4).unwrap_or_else(|| vec![1; starts.len()]);
    if ends.len() != starts.len() || axes.len() != starts.len() || steps.len() != starts.len() {
        return Err("Slice: starts, ends, axes and steps differ in length".into());
    }
    let mut ranges: Vec<(i64, i64, i64)> = x.dims.iter().map(|&d| (0, d as i64, 1)).collect();
    for k in 0..starts.len() {
        let a = norm_axis(axes[k], rank)?;
        let d = x.dims[a] as i64;
        let step = steps[k];
        if step == 0 {
            return Err("Slice: a step of 0".into());
        }
        let fix = |v: i64, lo: i64, hi: i64| (if v < 0 { v + d } else { v }).clamp(lo, hi);
        let (s, e) = if step > 0 {
            (fix(starts[k], 0, d), fix(ends[k], 0, d))
        } else {
            (fix(starts[k], -1, d - 1), fix(ends[k], -1, d - 1))
        };
        ranges[a] = (s, e, step);
    }
    let pos: Vec<Vec<usize>> = ranges
        .iter()
        .map(|&(s, e, st)| {
            let mut v = Vec::new();
            let mut i = s;
            while (st > 0 && i < e) || (st < 0 && i > e) {
                v.push(i as usize);
                i += st;
            }
            v
        })
        .collect();
    let dims: Vec<usize> = pos.iter().map(Vec::len).collect();
    // The first rows of an initializer, everything else whole: a learned table cut to length.
    let prefix = ranges
        .iter()
        .enumerate()
        .all(|(a, &(s, e, st))| st == 1 && s == 0 && (a == 0 || e == x.dims[a] as i64));
    let rows_of = match &x.source {
        Some(src) if prefix && !src.transposed => Some(src.name.clone()),
        _ => None,
    };
    let st = strides(&x.dims);
    let idx = grid(&dims)
        .into_iter()
        .map(|c| c.iter().enumerate().map(|(a, &i)| pos[a][i] * st[a]).sum())
        .collect::<Vec<usize>>();
    let mut out = Const::new(dims, x.data.pick(&idx));
    out.rows_of = rows_of;
    Ok(out)
}

/// Every coordinate of `dims` in row-major order.
fn grid(dims: &[usize]) -> Vec<Vec<usize>> {
    let n: usize = dims.iter().product();
    let st = strides(dims);
    (0..n)
        .map(|k| {
            dims.iter()
                .enumerate()
                .map(|(a, &d)| (k / st[a]) % d.max(1))
                .collect()
        })
        .collect()
}

fn concat(parts: &[&Const], axis: i64) -> Result<Const, String> {
    let first = parts.first().ok_or("Concat of nothing")?;
    let rank = first.dims.len();
    let axis = norm_axis(axis, rank)?;
    if let Some(p) = parts.iter().find(|p| {
        p.dims.len() != rank
            || p.dims
                .iter()
                .zip(&first.dims)
                .enumerate()
                .any(|(a, (x, y))| a != axis && x != y)
    }) {
        return Err(format!(
            "Concat along axis {axis} of {:?} and {:?}, which differ elsewhere",
            first.dims, p.dims
        ));
    }
    let outer: usize = first.dims[..axis].iter().product();
    let mut dims = first.dims.clone();
    dims[axis] = parts
        .iter()
        .map(|p| p.dims.get(axis).copied().unwrap_or(0))
        .sum();
    let ints = parts.iter().all(|p| matches!(p.data, Data::I64(_)));
    let mut f = Vec::new();
    let mut i = Vec::new();
    for o in 0..outer {
        for p in parts {
            if p.dims.len() != rank {
                return Err("Concat of tensors of different ranks".into());
            }
            let chunk: usize = p.dims[axis..].iter().product();
            let range: Vec<usize> = (o * chunk..(o + 1) * chunk).collect();
            match p.data.pick(&range) {
                Data::I64(v) if ints => i.extend(v),
                d => f.extend(d.as_f32()),
            }
        }
    }
    Ok(Const::new(
        dims,
        if ints { Data::I64(i) } else { Data::F32(f) },
    ))
}

fn transpose(x: &Const, perm: Option<Vec<i64>>) -> Result<Const, String> {
    let rank = x.dims.len();
    let perm: Vec<usize> = perm.map_or_else(
        || (0..rank).rev().collect(),
        |p| {
            p.iter()
                .map(|&a| usize::try_from(a).unwrap_or(usize::MAX))
                .collect()
        },
    );
    let mut sorted = perm.clone();
    sorted.sort();
    if sorted != (0..rank).collect::<Vec<_>>() {
        return Err(format!(
            "Transpose: perm {perm:?} is not a permutation of the {rank} axes"
        ));
    }
    let dims: Vec<usize> = perm.iter().map(|&a| x.dims[a]).collect();
    let st = strides(&x.dims);
    let idx: Vec<usize> = grid(&dims)
        .into_iter()
        .map(|c| c.iter().enumerate().map(|(a, &i)| i * st[perm[a]]).sum())
        .collect();
    let source = match &x.source {
        Some(s) if rank == 2 && perm == [1, 0] => Some(Source {
            name: s.name.clone(),
            transposed: !s.transposed,
        }),
        _ => None,
    };
    Ok(Const {
        dims,
        data: x.data.pick(&idx),
        source,
        rows_of: None,
    })
}

/// Numpy broadcasting of two shapes (`i64` where a dimension may be the batch sentinel).
pub fn broadcast<T: Copy + PartialEq + From<u8>>(a: &[T], b: &[T]) -> Option<Vec<T>> {
    let one = T::from(1);
    let r = a.len().max(b.len());
    (0..r)
        .map(|i| {
            let da = if i + a.len() >= r {
                a[i + a.len() - r]
            } else {
                one
            };
            let db = if i + b.len() >= r {
                b[i + b.len() - r]
            } else {
                one
            };
            if da == db || db == one {
                Some(da)
            } else if da == one {
                Some(db)
            } else {
                None
            }
        })
        .collect()
}

/// For each element of a tensor of `out` dims, the element of a tensor of `dims` that
/// broadcasts to it.
pub fn broadcast_index(dims: &[usize], out: &[usize]) -> Vec<usize> {
    let st = strides(dims);
    let off = out.len() - dims.len();
    grid(out)
        .into_iter()
        .map(|c| {
            (0..dims.len())
                .map(|a| if dims[a] == 1 { 0 } else { c[a + off] * st[a] })
                .sum()
        })
        .collect()
}

fn binary(op: &str, a: &Const, b: &Const, fmod: bool) -> Result<Const, String> {
    let dims = broadcast(&a.dims, &b.dims).ok_or_else(|| {
        format!(
            "{op}: shapes {:?} and {:?} do not broadcast",
            a.dims, b.dims
        )
    })?;
    bounded(&dims)?;
    let (ia, ib) = (
        broadcast_index(&a.dims, &dims),
        broadcast_index(&b.dims, &dims),
    );
    let n = ia.len();
    let compare = matches!(op, "Equal" | "Less" | "Greater" | "And" | "Or");
    let data = match (&a.data, &b.data) {
        (Data::I64(x), Data::I64(y)) => Data::I64(
            (0..n)
                .map(|k| {
                    let (p, q) = (x[ia[k]], y[ib[k]]);
                    Ok(match op {
                        "Add" => p.wrapping_add(q),
                        "Sub" => p.wrapping_sub(q),
                        "Mul" => p.wrapping_mul(q),
                        "Div" | "Mod" if q == 0 || (p == i64::MIN && q == -1) => {
                            return Err(format!("{op}: integer {p} by {q} has no result"))
                        }
                        "Div" => p / q,
                        "Mod" if fmod => p % q,
                        "Mod" => {
                            p.rem_euclid(q) + if q < 0 && p.rem_euclid(q) != 0 { q } else { 0 }
                        }
                        "Pow" => p.wrapping_pow(q.clamp(0, 63) as u32),
                        "Equal" => (p == q) as i64,
                        "Less" => (p < q) as i64,
                        "Greater" => (p > q) as i64,
                        "And" => (p != 0 && q != 0) as i64,
                        "Or" => (p != 0 || q != 0) as i64,
                        "Max" => p.max(q),
                        _ => p.min(q),
                    })
                })
                .collect::<Result<_, String>>()?,
        ),
        _ => {
            let v: Vec<f32> = (0..n)
                .map(|k| {
                    let (p, q) = (a.data.get(ia[k]) as f32, b.data.get(ib[k]) as f32);
                    match op {
                        "Add" => p + q,
                        "Sub" => p - q,
                        "Mul" => p * q,
                        "Div" => p / q,
                        "Mod" => p % q,
                        "Pow" => p.powf(q),
                        "Equal" => (p == q) as i64 as f32,
                        "Less" => (p < q) as i64 as f32,
                        "Greater" => (p > q) as i64 as f32,
                        "And" => (p != 0.0 && q != 0.0) as i64 as f32,
                        "Or" => (p != 0.0 || q != 0.0) as i64 as f32,
                        "Max" => p.max(q),
                        _ => p.min(q),
                    }
                })
                .collect();
            if compare {
                Data::I64(v.iter().map(|&x| x as i64).collect())
            } else {
                Data::F32(v)
            }
        }
    };
    Ok(Const::new(dims, data))
}

fn unary(op: &str, x: &Const) -> Const {
    let f = |v: f32| -> f32 {
        match op {
            "Sqrt" => v.sqrt(),
            "Neg" => -v,
            "Reciprocal" => 1.0 / v,
            "Not" => (v == 0.0) as i64 as f32,
            "Abs" => v.abs(),
            "Erf" => libm::erff(v),
            "Exp" => v.exp(),
            "Log" => v.ln(),
            "Relu" => v.max(0.0),
            "Floor" => v.floor(),
            _ => v.ceil(),
        }
    };
    let data = match (&x.data, op) {
        (Data::I64(v), "Neg") => Data::I64(v.iter().map(|&p| -p).collect()),
        (Data::I64(v), "Abs") => Data::I64(v.iter().map(|&p| p.abs()).collect()),
        (Data::I64(v), "Not") => Data::I64(v.iter().map(|&p| (p == 0) as i64).collect()),
        (Data::I64(v), "Relu") => Data::I64(v.iter().map(|&p| p.max(0)).collect()),
        (d, _) => Data::F32(d.as_f32().into_iter().map(f).collect()),
    };
    Const::new(x.dims.clone(), data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ints(dims: &[usize], v: &[i64]) -> Const {
        Const::new(dims.to_vec(), Data::I64(v.to_vec()))
    }

    #[test]
    fn slices_gathers_and_concatenates_shapes() {
        let shape = ints(&[4], &[super::super::tensor::BATCH, 3, 8, 8]);
        let none = Attrs(&[]);
        let g = gather(&shape, &Const::scalar_i64(0), 0).unwrap();
        assert_eq!(g.dims, Vec::<usize>::new());
        assert_eq!(g.data, Data::I64(vec![super::super::tensor::BATCH]));
        let s = slice(&[
            Some(&shape),
            Some(&ints(&[1], &[1])),
            Some(&ints(&[1], &[i64::MAX])),
            None,
            None,
        ])
        .unwrap();
        assert_eq!(s.data, Data::I64(vec![3, 8, 8]));
        let r = slice(&[
            Some(&shape),
            Some(&ints(&[1], &[-1])),
            Some(&ints(&[1], &[-5])),
            Some(&ints(&[1], &[0])),
            Some(&ints(&[1], &[-1])),
        ])
        .unwrap();
        assert_eq!(
            r.data,
            Data::I64(vec![8, 8, 3, super::super::tensor::BATCH])
        );
        let c = concat(&[&ints(&[1], &[2]), &ints(&[1], &[-1])], 0).unwrap();
        assert_eq!(c.data, Data::I64(vec![2, -1]));
        assert!(fold("Concat", &[None], &none).is_err());
    }

    #[test]
    fn transposes_and_keeps_the_initializer_name() {
        let mut w = Const::new(vec![2, 3], Data::F32(vec![0., 1., 2., 3., 4., 5.]));
        w.source = Some(Source {
            name: "0.weight".into(),
            transposed: false,
        });
        let t = transpose(&w, Some(vec![1, 0])).unwrap();
        assert!(transpose(&w, Some(vec![0, 2])).is_err());
        assert_eq!(t.dims, vec![3, 2]);
        assert_eq!(t.data, Data::F32(vec![0., 3., 1., 4., 2., 5.]));
        assert_eq!(
            t.source,
            Some(Source {
                name: "0.weight".into(),
                transposed: true
            })
        );
    }

    #[test]
    fn broadcasts_binary_ops_and_where() {
        let a = ints(&[2, 1], &[1, 2]);
        let b = ints(&[3], &[10, 20, 30]);
        let s = binary("Add", &a, &b, false).unwrap();
        assert_eq!(s.dims, vec![2, 3]);
        assert_eq!(s.data, Data::I64(vec![11, 21, 31, 12, 22, 32]));
        assert_eq!(
            binary("Mod", &ints(&[1], &[-7]), &ints(&[1], &[3]), false)
                .unwrap()
                .data,
            Data::I64(vec![2])
        );
        assert_eq!(reshape_dims(&[2, 3, 4], &[0, -1], 24).unwrap(), vec![2, 12]);
        assert!(reshape_dims(&[2, 3], &[4, -1], 6).is_err());
    }
}
