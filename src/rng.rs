//! Seeded random numbers on the host, documented so the same seed gives the same weights and
//! data on every machine: SplitMix64 (Steele, Lea & Flood 2014) for streams, the Box–Muller
//! transform for normals, and a mirror of shaders/rng.wgsl for dropout masks.

/// SplitMix64: a 64-bit state advanced by a Weyl constant and mixed; passes BigCrush and is
/// trivially reproducible in any language.
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// An independent stream for (seed, stream id), e.g. one per layer, so adding a layer does
    /// not change the weights of the others.
    pub fn stream(seed: u64, stream: u64) -> Self {
        let mut mix = SplitMix64::new(seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03));
        SplitMix64::new(mix.next_u64())
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    pub fn uniform_in(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }

    /// Standard normal by Box–Muller (one value per call; the second is discarded for
    /// simplicity of the documented sequence).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // (0, 1]
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// Uniform integer in [0, n).
    pub fn below(&mut self, n: usize) -> usize {
        (self.uniform() * n as f64) as usize % n.max(1)
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

/// The PCG hash of shaders/rng.wgsl.
pub fn pcg_hash(v: u32) -> u32 {
    let state = v.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
    let word = ((state >> ((state >> 28) + 4)) ^ state).wrapping_mul(277_803_737);
    (word >> 22) ^ word
}

/// The dropout generator of shaders/rng.wgsl, bit for bit: uniform in [0, 1) with 24 bits.
pub fn counter_uniform(seed: u32, step: u32, layer: u32, index: u32) -> f32 {
    let h = pcg_hash(index ^ pcg_hash(layer ^ pcg_hash(step ^ pcg_hash(seed))));
    (h >> 8) as f32 * (1.0 / 16_777_216.0)
}
