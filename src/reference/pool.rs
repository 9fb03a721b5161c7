//! The f64 mirror of 2-D pooling over each plane (one channel of one example) of an NCHW
//! batch, with PyTorch's conventions: `nn.MaxPool2d` (padding never wins; the first maximum
//! in row-major window order takes the gradient) and `nn.AvgPool2d` with its default
//! `count_include_pad=True` (the divisor is the whole window, padding included). Global
//! average pooling is average pooling with the whole plane as the window.

use crate::model::PoolKind;

/// The geometry of one pooling over `planes` = batch · channels planes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool2d {
    pub kind: PoolKind,
    pub planes: usize,
    pub height: usize,
    pub width: usize,
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: usize,
}

impl Pool2d {
    /// The output's (height, width), or `None` when the window does not fit the padded input.
    pub fn output_size(&self) -> Option<(usize, usize)> {
        let side = |size: usize, k: usize, s: usize| {
            let padded = size + 2 * self.padding;
            (s > 0 && k > 0 && padded >= k).then(|| (padded - k) / s + 1)
        };
        Some((
            side(self.height, self.kernel[0], self.stride[0])?,
            side(self.width, self.kernel[1], self.stride[1])?,
        ))
    }

    pub fn input_len(&self) -> usize {
        self.planes * self.height * self.width
    }

    pub fn output_len(&self) -> usize {
        let (oh, ow) = self.output_size().unwrap_or((0, 0));
        self.planes * oh * ow
    }

    /// The input indices of output `o`'s window that lie inside the input, row-major.
    fn window(&self, o: usize) -> impl Iterator<Item = usize> + '_ {
        let (oh, ow) = self.output_size().expect("checked by the caller");
        let (plane, y, x) = (o / (oh * ow), (o / ow) % oh, o % ow);
        let [kh, kw] = self.kernel;
        (0..kh).flat_map(move |i| {
            (0..kw).filter_map(move |j| {
                let iy = (y * self.stride[0] + i) as isize - self.padding as isize;
                let ix = (x * self.stride[1] + j) as isize - self.padding as isize;
                (iy >= 0 && ix >= 0 && (iy as usize) < self.height && (ix as usize) < self.width)
                    .then(|| (plane * self.height + iy as usize) * self.width + ix as usize)
            })
        })
    }

    /// y, and for max pooling the input index each output took its value from.
    pub fn forward(&self, x: &[f64]) -> (Vec<f64>, Vec<usize>) {
        let n = self.output_len();
        let divisor = (self.kernel[0] * self.kernel[1]) as f64;
        let mut y = Vec::with_capacity(n);
        let mut argmax = Vec::new();
        for o in 0..n {
            match self.kind {
                PoolKind::Max => {
                    let mut best: Option<usize> = None;
                    for i in self.window(o) {
                        // NaN propagates, as in PyTorch.
                        if best.is_none_or(|b| x[i] > x[b] || x[i].is_nan()) {
                            best = Some(i);
                        }
                    }
                    let b = best.expect("padding ≤ kernel/2 leaves every window a pixel");
                    y.push(x[b]);
                    argmax.push(b);
                }
                PoolKind::Avg => y.push(self.window(o).map(|i| x[i]).sum::<f64>() / divisor),
            }
        }
        (y, argmax)
    }

    /// dx from dy (`argmax` from `forward`, unused for average pooling).
    pub fn backward(&self, argmax: &[usize], dy: &[f64]) -> Vec<f64> {
        let mut dx = vec![0.0; self.input_len()];
        let divisor = (self.kernel[0] * self.kernel[1]) as f64;
        for (o, g) in dy.iter().enumerate() {
            match self.kind {
                PoolKind::Max => dx[argmax[o]] += g,
                PoolKind::Avg => {
                    for i in self.window(o) {
                        dx[i] += g / divisor;
                    }
                }
            }
        }
        dx
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize, seed: u64) -> Vec<f64> {
        let mut rng = crate::rng::SplitMix64::new(seed);
        (0..n).map(|_| rng.uniform_in(-1.0, 1.0)).collect()
    }

    fn pool(kind: PoolKind, h: usize, w: usize, k: [usize; 2], s: [usize; 2], p: usize) -> Pool2d {
        Pool2d {
            kind,
            planes: 3,
            height: h,
            width: w,
            kernel: k,
            stride: s,
            padding: p,
        }
    }

    #[test]
    fn output_sizes_follow_pytorch() {
        // torch.nn.MaxPool2d(k, stride=s, padding=p)(torch.zeros(1, 1, h, w)).shape
        assert_eq!(
            pool(PoolKind::Max, 28, 28, [2, 2], [2, 2], 0).output_size(),
            Some((14, 14))
        );
        assert_eq!(
            pool(PoolKind::Max, 7, 5, [3, 3], [2, 2], 1).output_size(),
            Some((4, 3))
        );
        assert_eq!(
            pool(PoolKind::Avg, 5, 5, [2, 3], [1, 2], 0).output_size(),
            Some((4, 2))
        );
        assert_eq!(
            pool(PoolKind::Avg, 1, 1, [2, 2], [2, 2], 0).output_size(),
            None
        );
    }

    #[test]
    fn known_values() {
        // One 2×4 plane, 2×2 windows.
        let p = Pool2d {
            planes: 1,
            ..pool(PoolKind::Max, 2, 4, [2, 2], [2, 2], 0)
        };
        let x = [1.0, 5.0, -1.0, -2.0, 3.0, 5.0, -3.0, -4.0];
        let (y, argmax) = p.forward(&x);
        assert_eq!(y, vec![5.0, -1.0]);
        // A tie goes to the first maximum in row-major order.
        assert_eq!(argmax, vec![1, 2]);
        let avg = Pool2d {
            kind: PoolKind::Avg,
            ..p
        };
        assert_eq!(avg.forward(&x).0, vec![3.5, -2.5]);
        // Padding counts in the divisor (count_include_pad=True): a 3×3 window with padding 1
        // over a 1×1 plane holds one pixel out of nine.
        let padded = Pool2d {
            planes: 1,
            ..pool(PoolKind::Avg, 1, 1, [3, 3], [1, 1], 1)
        };
        assert_eq!(padded.forward(&[9.0]).0, vec![1.0]);
    }

    /// Gradients against central differences, away from ties (max pooling is piecewise
    /// linear, so the check holds wherever the argmax is unique).
    #[test]
    fn backward_matches_finite_differences() {
        for kind in [PoolKind::Max, PoolKind::Avg] {
            for (h, w, k, s, p) in [
                (7, 5, [3, 3], [2, 2], 1),
                (4, 6, [2, 3], [2, 1], 0),
                (3, 3, [3, 3], [1, 1], 0),
            ] {
                let pl = pool(kind, h, w, k, s, p);
                let x = values(pl.input_len(), 7);
                let r = values(pl.output_len(), 8);
                let loss =
                    |x: &[f64]| -> f64 { pl.forward(x).0.iter().zip(&r).map(|(y, r)| y * r).sum() };
                let (_, argmax) = pl.forward(&x);
                let dx = pl.backward(&argmax, &r);
                let h = 1e-6;
                for i in 0..x.len() {
                    let (mut a, mut b) = (x.clone(), x.clone());
                    a[i] += h;
                    b[i] -= h;
                    let n = (loss(&a) - loss(&b)) / (2.0 * h);
                    assert!(
                        (dx[i] - n).abs() <= 1e-7 * dx[i].abs().max(1.0),
                        "{kind:?} {h}×{w} k{k:?} s{s:?} p{p}: dx[{i}] = {} vs {n}",
                        dx[i]
                    );
                }
            }
        }
    }
}
