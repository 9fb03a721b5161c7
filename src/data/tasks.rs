//! Seeded algorithmic sequence tasks that need no files, for debugging sequence models: copy,
//! reverse and sort a list of symbols, and addition modulo a prime. Each example is a token
//! sequence `seq`; the model reads `x = seq[..−1]` and predicts `y = seq[1..]`, with −1 (not
//! scored) wherever the next token is not part of the answer.
//!
//! Layouts (`L` = `length`, `SEP` = id `symbols`):
//! - copy: `a1 … aL SEP a1 … aL`; reverse: `a1 … aL SEP aL … a1`; sort: `a1 … aL SEP sorted(a)`.
//!   The context is `2L`; `y[t]` is scored for `t ≥ L` (the position of SEP predicts the first
//!   answer token). Vocabulary `symbols + 1`.
//! - modular_addition: `a + b = c` with `c = (a + b) mod p`, `+` = id `p`, `=` = id `p + 1`;
//!   `x = [a, +, b, =]`, `y = [−1, −1, −1, c]`. Vocabulary `p + 2`. By default all `p²` pairs in
//!   a seeded order; `points` takes the first that many of that order.

use super::{BuiltinKind, DataSpec, Dataset, SequenceInfo};
use crate::rng::SplitMix64;

/// Default operand length of copy, reverse and sort.
pub const DEFAULT_LENGTH: usize = 8;
/// Default alphabet size of copy, reverse and sort.
pub const DEFAULT_SYMBOLS: usize = 10;
/// Default number of examples of copy, reverse and sort.
pub const DEFAULT_POINTS: usize = 2048;
/// Default modulus of modular_addition: 23 (529 examples) is learnt by a small transformer in
/// a few hundred steps; 97, the grokking papers' choice, takes thousands.
pub const DEFAULT_MODULUS: usize = 23;

/// The target of a position that is not scored.
pub const IGNORE: f32 = -1.0;

/// Generates sequence task `kind` (one of the sequence built-ins) from `rng`.
pub fn generate(kind: BuiltinKind, spec: &DataSpec, rng: &mut SplitMix64) -> Dataset {
    if kind == BuiltinKind::ModularAddition {
        return modular_addition(spec, rng);
    }
    let length = spec.length.unwrap_or(DEFAULT_LENGTH);
    let symbols = spec.symbols.unwrap_or(DEFAULT_SYMBOLS);
    let n = spec.points.unwrap_or(DEFAULT_POINTS);
    let sep = symbols;
    let context = 2 * length;
    let mut x = Vec::with_capacity(n * context);
    let mut y = Vec::with_capacity(n * context);
    let mut seq = Vec::with_capacity(context + 1);
    for _ in 0..n {
        seq.clear();
        seq.extend((0..length).map(|_| rng.below(symbols)));
        seq.push(sep);
        let mut answer = seq[..length].to_vec();
        match kind {
            BuiltinKind::Reverse => answer.reverse(),
            BuiltinKind::Sort => answer.sort_unstable(),
            _ => {}
        }
        seq.extend(answer);
        x.extend(seq[..context].iter().map(|t| *t as f32));
        y.extend((0..context).map(|t| {
            if t >= length {
                seq[t + 1] as f32
            } else {
                IGNORE
            }
        }));
    }
    let vocab = symbols + 1;
    let mut class_names: Vec<String> = (0..symbols).map(|s| s.to_string()).collect();
    class_names.push("SEP".into());
    let name = match kind {
        BuiltinKind::Reverse => "reverse",
        BuiltinKind::Sort => "sort",
        _ => "copy",
    };
    Dataset {
        name: format!("{name}(points={n}, length={length}, symbols={symbols})"),
        x,
        y,
        n,
        x_width: context,
        y_width: context,
        classes: Some(vocab),
        class_names,
        image: None,
        sequence: Some(SequenceInfo { context, vocab }),
    }
}

fn modular_addition(spec: &DataSpec, rng: &mut SplitMix64) -> Dataset {
    let p = spec.modulus.unwrap_or(DEFAULT_MODULUS);
    let mut pairs: Vec<(usize, usize)> = (0..p).flat_map(|a| (0..p).map(move |b| (a, b))).collect();
    rng.shuffle(&mut pairs);
    let n = spec.points.unwrap_or(pairs.len()).min(pairs.len());
    let (plus, equals) = (p, p + 1);
    let mut x = Vec::with_capacity(n * 4);
    let mut y = Vec::with_capacity(n * 4);
    for &(a, b) in &pairs[..n] {
        x.extend([a, plus, b, equals].map(|t| t as f32));
        y.extend([IGNORE, IGNORE, IGNORE, ((a + b) % p) as f32]);
    }
    let mut class_names: Vec<String> = (0..p).map(|s| s.to_string()).collect();
    class_names.extend(["+".to_string(), "=".to_string()]);
    Dataset {
        name: format!("modular_addition(modulus={p}, points={n})"),
        x,
        y,
        n,
        x_width: 4,
        y_width: 4,
        classes: Some(p + 2),
        class_names,
        image: None,
        sequence: Some(SequenceInfo {
            context: 4,
            vocab: p + 2,
        }),
    }
}
