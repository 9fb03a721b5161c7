//! The f64 mirror of 2-D convolution, NCHW with PyTorch's conventions: input [n, c, h, w],
//! weight [o, c, kh, kw], bias [o], output [n, o, oh, ow] with
//! oh = (h + 2·padding − dilation·(kh − 1) − 1) / stride + 1 (and likewise ow).

/// The geometry of one convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2d {
    pub batch: usize,
    pub in_channels: usize,
    pub out_channels: usize,
    pub height: usize,
    pub width: usize,
    pub kernel: [usize; 2],
    pub stride: usize,
    pub padding: usize,
    pub dilation: usize,
}

impl Conv2d {
    /// The output's (height, width), or `None` when the kernel does not fit the padded input.
    pub fn output_size(&self) -> Option<(usize, usize)> {
        let side = |size: usize, k: usize| {
            let span = self.dilation * (k - 1) + 1;
            let padded = size + 2 * self.padding;
            (self.stride > 0 && padded >= span).then(|| (padded - span) / self.stride + 1)
        };
        Some((
            side(self.height, self.kernel[0])?,
            side(self.width, self.kernel[1])?,
        ))
    }

    pub fn input_len(&self) -> usize {
        self.batch * self.in_channels * self.height * self.width
    }

    pub fn weight_len(&self) -> usize {
        self.out_channels * self.in_channels * self.kernel[0] * self.kernel[1]
    }

    pub fn output_len(&self) -> usize {
        let (oh, ow) = self.output_size().unwrap_or((0, 0));
        self.batch * self.out_channels * oh * ow
    }

    /// Calls `f(output index, input index, weight index)` for every product the convolution
    /// sums, skipping taps that fall in the padding.
    fn for_each_tap(&self, mut f: impl FnMut(usize, usize, usize)) {
        let (oh, ow) = self.output_size().expect("checked by the caller");
        let [kh, kw] = self.kernel;
        for n in 0..self.batch {
            for o in 0..self.out_channels {
                for y in 0..oh {
                    for x in 0..ow {
                        let out = ((n * self.out_channels + o) * oh + y) * ow + x;
                        for c in 0..self.in_channels {
                            for i in 0..kh {
                                for j in 0..kw {
                                    let iy = (y * self.stride + i * self.dilation) as isize
                                        - self.padding as isize;
                                    let ix = (x * self.stride + j * self.dilation) as isize
                                        - self.padding as isize;
                                    if iy < 0
                                        || ix < 0
                                        || iy as usize >= self.height
                                        || ix as usize >= self.width
                                    {
                                        continue;
                                    }
                                    let input = ((n * self.in_channels + c) * self.height
                                        + iy as usize)
                                        * self.width
                                        + ix as usize;
                                    let weight = ((o * self.in_channels + c) * kh + i) * kw + j;
                                    f(out, input, weight);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The multiply-adds one forward pass performs (taps in the padding skipped); each
    /// gradient takes as many.
    pub fn taps(&self) -> usize {
        let mut n = 0;
        self.for_each_tap(|_, _, _| n += 1);
        n
    }

    /// y = conv(x, w) + b.
    pub fn forward(&self, x: &[f64], w: &[f64], b: &[f64]) -> Vec<f64> {
        let (oh, ow) = self.output_size().expect("kernel fits the input");
        let mut y: Vec<f64> = (0..self.output_len())
            .map(|i| b[(i / (oh * ow)) % self.out_channels])
            .collect();
        self.for_each_tap(|out, input, weight| y[out] += x[input] * w[weight]);
        y
    }

    /// (dx, dw, db) from dy.
    pub fn backward(&self, x: &[f64], w: &[f64], dy: &[f64]) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let (oh, ow) = self.output_size().expect("kernel fits the input");
        let mut dx = vec![0.0; self.input_len()];
        let mut dw = vec![0.0; self.weight_len()];
        let mut db = vec![0.0; self.out_channels];
        for (i, g) in dy.iter().enumerate() {
            db[(i / (oh * ow)) % self.out_channels] += g;
        }
        self.for_each_tap(|out, input, weight| {
            dx[input] += dy[out] * w[weight];
            dw[weight] += dy[out] * x[input];
        });
        (dx, dw, db)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize, seed: u64) -> Vec<f64> {
        let mut rng = crate::rng::SplitMix64::new(seed);
        (0..n).map(|_| rng.uniform_in(-1.0, 1.0)).collect()
    }

    #[test]
    fn taps_skip_the_padding() {
        let c = Conv2d {
            batch: 2,
            in_channels: 3,
            out_channels: 4,
            height: 5,
            width: 6,
            kernel: [1, 1],
            stride: 1,
            padding: 0,
            dilation: 1,
        };
        assert_eq!(c.taps(), 2 * 4 * 5 * 6 * 3);
        // A 3×3 kernel with padding 1 on a 1×1 input: only the centre tap is inside.
        let c = Conv2d {
            height: 1,
            width: 1,
            kernel: [3, 3],
            padding: 1,
            ..c
        };
        assert_eq!(c.taps(), 2 * 4 * 3);
    }

    #[test]
    fn output_sizes_follow_pytorch() {
        let c = |h, k, s, p, d| Conv2d {
            batch: 1,
            in_channels: 1,
            out_channels: 1,
            height: h,
            width: h,
            kernel: [k, k],
            stride: s,
            padding: p,
            dilation: d,
        };
        // torch.nn.Conv2d(1, 1, k, stride=s, padding=p, dilation=d)(torch.zeros(1, 1, h, h)).shape
        assert_eq!(c(28, 5, 1, 0, 1).output_size(), Some((24, 24)));
        assert_eq!(c(28, 3, 2, 1, 1).output_size(), Some((14, 14)));
        assert_eq!(c(7, 3, 1, 0, 2).output_size(), Some((3, 3)));
        assert_eq!(c(4, 5, 1, 0, 1).output_size(), None);
    }

    /// Every gradient against central differences of `forward`, on an odd geometry with
    /// stride, padding and dilation.
    #[test]
    fn backward_matches_finite_differences() {
        let c = Conv2d {
            batch: 2,
            in_channels: 3,
            out_channels: 2,
            height: 7,
            width: 5,
            kernel: [3, 2],
            stride: 2,
            padding: 1,
            dilation: 2,
        };
        let (x, w, b) = (
            values(c.input_len(), 1),
            values(c.weight_len(), 2),
            values(2, 3),
        );
        let r = values(c.output_len(), 4);
        // L = Σ r·y, so dL/dy = r.
        let loss = |x: &[f64], w: &[f64], b: &[f64]| -> f64 {
            c.forward(x, w, b).iter().zip(&r).map(|(y, r)| y * r).sum()
        };
        let (dx, dw, db) = c.backward(&x, &w, &r);
        let h = 1e-6;
        let check = |name: &str, analytic: &[f64], perturb: &dyn Fn(usize, f64) -> f64| {
            for (i, a) in analytic.iter().enumerate() {
                let n = (perturb(i, h) - perturb(i, -h)) / (2.0 * h);
                assert!(
                    (a - n).abs() <= 1e-7 * a.abs().max(1.0),
                    "{name}[{i}]: {a} vs {n}"
                );
            }
        };
        check("dx", &dx, &|i, d| {
            let mut x = x.clone();
            x[i] += d;
            loss(&x, &w, &b)
        });
        check("dw", &dw, &|i, d| {
            let mut w = w.clone();
            w[i] += d;
            loss(&x, &w, &b)
        });
        check("db", &db, &|i, d| {
            let mut b = b.clone();
            b[i] += d;
            loss(&x, &w, &b)
        });
    }
}
