//! `netdx-peers`: the figures `netdx bench` reports, measured with burn's wgpu backend on the same
//! adapter, so the two can be compared by ratio.
//!
//! - square f32 matmul GFLOP/s (2n³ FLOP per product), best of several runs after warm-up
//!   (autotuning done), each run as many back-to-back products as last 20 ms (one on a software
//!   adapter, many on a GPU; as `netdx bench` times its kernels), ended by a device sync;
//! - training steps per second of an MLP 784-256-256-10 (Linear+ReLU, Linear+ReLU, Linear),
//!   softmax cross-entropy, plain SGD lr 0.01, random inputs and labels, the loss read back to
//!   the host every step, on burn's autodiff wgpu device;
//! - training steps (and tokens) per second of the `netdx bench` transformer, the model
//!   `torch_reference.py` also trains: token embedding (vocabulary 11, d = 64) and learned
//!   positions (context 64), two pre-LN residual layers of causal 4-head self-attention and a
//!   GELU MLP of 256, a final layer norm and a linear head, cross-entropy over every next token,
//!   AdamW lr 0.001 weight decay 0.01, batch 32 of random tokens, the loss read back every step.
//!
//! The graphics API follows `WGPU_BACKEND` (vulkan, gl, metal, dx12, webgpu) as wgpu's own
//! `from_env` would; unset, burn picks one. Progress goes to stderr, results to stdout.

use std::time::Instant;

use burn::module::{Initializer, Module, Param};
use burn::nn::attention::{
    generate_autoregressive_mask, MhaInput, MultiHeadAttention, MultiHeadAttentionConfig,
};
use burn::nn::loss::{CrossEntropyLoss, CrossEntropyLossConfig};
use burn::nn::{
    Embedding, EmbeddingConfig, Gelu, LayerNorm, LayerNormConfig, Linear, LinearConfig, Relu,
};
use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer, SgdConfig};
use burn::tensor::wgpu::WgpuBackend;
use burn::tensor::{Bool, Device, Distribution, Int, Tensor, TensorData};
use serde_json::json;

/// The burn release this crate is pinned to (keep in step with Cargo.toml / Cargo.lock).
const BURN_VERSION: &str = "0.22.1";

/// The shader language burn's kernels are compiled to. Only burn's `wgpu` feature is enabled
/// (not `vulkan`, which adds cubecl's SPIR-V compiler), so every graphics API gets WGSL, which
/// naga translates for the driver: the same route netdx's own shaders take.
const SHADERS: &str = "wgsl";

/// The benchmark MLP of `netdx bench`: 784-256-256-10.
#[derive(Module, Debug)]
struct Mlp {
    fc1: Linear,
    fc2: Linear,
    fc3: Linear,
    relu: Relu,
}

impl Mlp {
    fn new(device: &Device) -> Self {
        Self {
            fc1: LinearConfig::new(784, 256).init(device),
            fc2: LinearConfig::new(256, 256).init(device),
            fc3: LinearConfig::new(256, 10).init(device),
            relu: Relu::new(),
        }
    }

    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let x = self.relu.forward(self.fc1.forward(x));
        let x = self.relu.forward(self.fc2.forward(x));
        self.fc3.forward(x)
    }
}

/// The benchmark transformer's shape (configs/transformer.yaml, as `netdx bench` trains it).
const VOCAB: usize = 11;
const WIDTH: usize = 64;
const HEADS: usize = 4;
const LAYERS: usize = 2;
const TRANSFORMER_BATCH: usize = 32;
const TRANSFORMER_CONTEXT: usize = 64;

/// One transformer layer: two pre-LN residual blocks, causal self-attention and then the MLP.
#[derive(Module, Debug)]
struct Block {
    ln1: LayerNorm,
    attention: MultiHeadAttention,
    ln2: LayerNorm,
    fc1: Linear,
    gelu: Gelu,
    fc2: Linear,
}

impl Block {
    fn new(device: &Device) -> Self {
        Self {
            ln1: LayerNormConfig::new(WIDTH).init(device),
            // No dropout, as torch's `nn.MultiheadAttention` by default (burn's default is 0.1).
            attention: MultiHeadAttentionConfig::new(WIDTH, HEADS)
                .with_dropout(0.0)
                .init(device),
            ln2: LayerNormConfig::new(WIDTH).init(device),
            fc1: LinearConfig::new(WIDTH, 4 * WIDTH).init(device),
            gelu: Gelu::new(),
            fc2: LinearConfig::new(4 * WIDTH, WIDTH).init(device),
        }
    }

    /// `x + attention(ln1(x))`, then `x + fc2(gelu(fc1(ln2(x))))`. `mask` is true where a query
    /// may not see a key (the later positions).
    fn forward(&self, x: Tensor<3>, mask: Tensor<3, Bool>) -> Tensor<3> {
        let h = self.ln1.forward(x.clone());
        let attended = self
            .attention
            .forward(MhaInput::self_attn(h).mask_attn(mask));
        let x = x + attended.context;
        let h = self.ln2.forward(x.clone());
        x + self.fc2.forward(self.gelu.forward(self.fc1.forward(h)))
    }
}

/// The benchmark transformer: embedding + learned positions, the layers, layer norm, head.
#[derive(Module, Debug)]
struct Transformer {
    embedding: Embedding,
    positions: Param<Tensor<2>>,
    blocks: Vec<Block>,
    ln: LayerNorm,
    head: Linear,
}

impl Transformer {
    /// burn's default initializations: embedding N(0, 1) and linear layers uniform ±1/√fan_in,
    /// as torch's defaults in torch_reference.py (whose attention projections are Xavier-uniform
    /// with zero biases instead); the positions N(0, 0.02²).
    fn new(device: &Device) -> Self {
        Self {
            embedding: EmbeddingConfig::new(VOCAB, WIDTH).init(device),
            positions: Initializer::Normal {
                mean: 0.0,
                std: 0.02,
            }
            .init([TRANSFORMER_CONTEXT, WIDTH], device),
            blocks: (0..LAYERS).map(|_| Block::new(device)).collect(),
            ln: LayerNormConfig::new(WIDTH).init(device),
            head: LinearConfig::new(WIDTH, VOCAB).init(device),
        }
    }

    /// Logits `[batch, context, VOCAB]` for tokens `[batch, context]`.
    fn forward(&self, tokens: Tensor<2, Int>, mask: Tensor<3, Bool>) -> Tensor<3> {
        let [_, context] = tokens.dims();
        let positions = self.positions.val().slice([0..context, 0..WIDTH]);
        let mut x = self.embedding.forward(tokens) + positions.unsqueeze::<3>();
        for block in &self.blocks {
            x = block.forward(x, mask.clone());
        }
        self.head.forward(self.ln.forward(x))
    }
}

/// The same generator `netdx bench` draws its random data set from.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in [0, n).
    fn below(&mut self, n: usize) -> usize {
        (self.uniform() * n as f64) as usize % n.max(1)
    }
}

struct Options {
    quick: bool,
    json: bool,
    large: bool,
}

fn parse_args() -> Options {
    let mut options = Options {
        quick: false,
        json: false,
        large: false,
    };
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--quick" => options.quick = true,
            "--json" => options.json = true,
            "--large" => options.large = true,
            "-h" | "--help" => {
                println!(
                    "netdx-peers [--quick] [--json] [--large]\n\n\
                     burn {BURN_VERSION} (wgpu backend) on the adapter WGPU_BACKEND selects:\n\
                     square f32 matmul GFLOP/s, MLP 784-256-256-10 SGD steps/s and the\n\
                     benchmark transformer's AdamW steps/s and tokens/s (batch 32 × context 64),\n\
                     to compare with `netdx bench` on the same adapter.\n\n\
                     --quick  fewer repetitions, matmul n = 256, 512, MLP batch 128 only,\n\
                     \x20        transformer 20 timed steps (200 otherwise)\n\
                     --json   one JSON object on stdout instead of the table\n\
                     --large  also matmul n = 2048, 4096 (as `netdx bench` on a hardware GPU)"
                );
                std::process::exit(0);
            }
            other => {
                eprintln!("netdx-peers: unknown argument {other:?} (try --help)");
                std::process::exit(2);
            }
        }
    }
    options
}

/// The graphics API `WGPU_BACKEND` names, spelled as wgpu's `Backends::from_comma_list` accepts.
/// burn pins one API, so of a comma list the first is taken.
fn backend_from_env() -> Result<(WgpuBackend, String), String> {
    let Ok(value) = std::env::var("WGPU_BACKEND") else {
        return Ok((WgpuBackend::Auto, "auto".into()));
    };
    let names: Vec<String> = value
        .split(',')
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    let Some(first) = names.first() else {
        return Ok((WgpuBackend::Auto, "auto".into()));
    };
    if names.len() > 1 {
        eprintln!("WGPU_BACKEND={value}: burn pins one graphics API, taking {first}");
    }
    let api = match first.as_str() {
        "vulkan" | "vk" => WgpuBackend::Vulkan,
        "gl" | "gles" | "opengl" => WgpuBackend::Gl,
        "metal" | "mtl" => WgpuBackend::Metal,
        "dx12" | "d3d12" => WgpuBackend::Dx12,
        "webgpu" => WgpuBackend::WebGpu,
        other => return Err(format!("WGPU_BACKEND: unknown graphics API {other:?}")),
    };
    Ok((api, first.clone()))
}

fn sync(device: &Device) {
    device.sync().expect("device sync failed");
}

/// GFLOP/s of one n×n by n×n f32 product, best of `reps` runs after `warmup` runs.
fn matmul_gflops(device: &Device, n: usize, warmup: usize, reps: usize) -> f64 {
    let a = Tensor::<2>::random([n, n], Distribution::Uniform(-1.0, 1.0), device);
    let b = Tensor::<2>::random([n, n], Distribution::Uniform(-1.0, 1.0), device);
    sync(device);
    // Warm-up: kernel compilation and autotuning for this shape happen here. Each warm-up run
    // reads a sum back, which checks the result and gives a readback-inclusive time to set
    // beside the sync-ended ones.
    let started = Instant::now();
    let mut with_readback = f64::INFINITY;
    for i in 0..warmup {
        let t = Instant::now();
        let c = a.clone().matmul(b.clone());
        let check: f32 = c.sum().into_scalar();
        if i > 0 {
            with_readback = with_readback.min(t.elapsed().as_secs_f64());
        }
        assert!(check.is_finite(), "matmul n = {n} gave a non-finite sum");
    }
    eprintln!(
        "  matmul n = {n}: warm-up {:.1} s; with sum + readback {:.2} GFLOP/s",
        started.elapsed().as_secs_f64(),
        2.0 * (n as f64).powi(3) / with_readback / 1e9
    );
    // Products per timed run: enough to last 20 ms, so that a GPU is not timed by one sync.
    let t = Instant::now();
    let c = a.clone().matmul(b.clone());
    sync(device);
    drop(c);
    let launches = ((0.02 / t.elapsed().as_secs_f64().max(1e-7)).ceil() as usize).clamp(1, 256);
    let mut best = f64::INFINITY;
    for _ in 0..reps {
        let t = Instant::now();
        let products: Vec<_> = (0..launches).map(|_| a.clone().matmul(b.clone())).collect();
        sync(device);
        best = best.min(t.elapsed().as_secs_f64() / launches as f64);
        drop(products);
    }
    2.0 * (n as f64).powi(3) / best / 1e9
}

/// One SGD step at a time over a data set held on the device, batches taken in order.
struct Trainer {
    x: Tensor<2>,
    y: Tensor<1, Int>,
    rows: usize,
    batch: usize,
    cursor: usize,
    optim: ModuleOptimizer,
    loss_fn: CrossEntropyLoss,
}

impl Trainer {
    /// Forward, loss, backward, SGD update; then the loss is read back to the host.
    fn step(&mut self, model: Mlp) -> (Mlp, f32) {
        let start = if self.cursor + self.batch > self.rows {
            0
        } else {
            self.cursor
        };
        self.cursor = start + self.batch;
        let xb = self.x.clone().slice(start..start + self.batch);
        let yb = self.y.clone().slice(start..start + self.batch);
        let loss = self.loss_fn.forward(model.forward(xb), yb);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let model = self.optim.step(0.01, model, grads);
        (model, loss.into_scalar::<f32>())
    }
}

/// SGD steps per second of the benchmark MLP at `batch`, timed over `steps` after `warmup`.
fn mlp_steps_per_second(device: &Device, batch: usize, warmup: usize, steps: usize) -> (f64, f32) {
    let device = device.clone().autodiff();
    // The data set `netdx bench` uses: max(batch, 1024) random rows, 10 random classes.
    let rows = batch.max(1024);
    let mut rng = SplitMix64(7);
    let x: Vec<f32> = (0..rows * 784).map(|_| rng.uniform() as f32).collect();
    let y: Vec<i64> = (0..rows).map(|_| rng.below(10) as i64).collect();
    let x = Tensor::<2>::from_data(TensorData::new(x, [rows, 784]), &device);
    let y = Tensor::<1, Int>::from_data(TensorData::new(y, [rows]), &device);

    let mut trainer = Trainer {
        x,
        y,
        rows,
        batch,
        cursor: 0,
        optim: SgdConfig::new().init(),
        loss_fn: CrossEntropyLossConfig::new().init(&device),
    };
    let mut model = Mlp::new(&device);
    let mut last_loss = f32::NAN;

    let started = Instant::now();
    for _ in 0..warmup {
        (model, last_loss) = trainer.step(model);
    }
    sync(&device);
    eprintln!(
        "  MLP batch {batch}: warm-up ({warmup} steps) {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    for _ in 0..steps {
        (model, last_loss) = trainer.step(model);
    }
    sync(&device);
    let rate = steps as f64 / t.elapsed().as_secs_f64();
    (rate, last_loss)
}

/// One AdamW step at a time of the benchmark transformer over random tokens held on the device,
/// batches taken in order.
struct TransformerTrainer {
    tokens: Tensor<2, Int>,
    rows: usize,
    batch: usize,
    context: usize,
    cursor: usize,
    mask: Tensor<3, Bool>,
    optim: ModuleOptimizer,
    loss_fn: CrossEntropyLoss,
}

impl TransformerTrainer {
    /// Forward, loss over every next token, backward, AdamW update; then the loss is read back.
    fn step(&mut self, model: Transformer) -> (Transformer, f32) {
        let start = if self.cursor + self.batch > self.rows {
            0
        } else {
            self.cursor
        };
        self.cursor = start + self.batch;
        let (b, t) = (self.batch, self.context);
        let rows = self.tokens.clone().slice([start..start + b, 0..t + 1]);
        let x = rows.clone().slice([0..b, 0..t]);
        let y = rows.slice([0..b, 1..t + 1]).reshape([b * t]);
        let logits = model.forward(x, self.mask.clone()).reshape([b * t, VOCAB]);
        let loss = self.loss_fn.forward(logits, y);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let model = self.optim.step(0.001, model, grads);
        (model, loss.into_scalar::<f32>())
    }
}

/// The losses a transformer run saw: its first step's, the first and last timed steps'.
struct Losses {
    first: f32,
    first_timed: f32,
    last: f32,
}

/// AdamW steps per second of the benchmark transformer at `batch` × `context`, timed over
/// `steps` after `warmup`.
fn transformer_steps_per_second(
    device: &Device,
    batch: usize,
    context: usize,
    warmup: usize,
    steps: usize,
) -> (f64, Losses) {
    let device = device.clone().autodiff();
    // max(batch, 1024) rows of context + 1 random tokens from 0 to 9, as torch_reference.py's
    // `randint(0, vocab - 1)` (the vocabulary's last token never occurs).
    let rows = batch.max(1024);
    let mut rng = SplitMix64(11);
    let tokens: Vec<i64> = (0..rows * (context + 1))
        .map(|_| rng.below(VOCAB - 1) as i64)
        .collect();
    let tokens = Tensor::<2, Int>::from_data(TensorData::new(tokens, [rows, context + 1]), &device);

    let mut trainer = TransformerTrainer {
        tokens,
        rows,
        batch,
        context,
        cursor: 0,
        mask: generate_autoregressive_mask(batch, context, &device),
        // Betas 0.9, 0.999 (burn's defaults, as torch's); epsilon 1e-8 as torch's AdamW (burn's
        // default is 1e-5).
        optim: AdamWConfig::new()
            .with_epsilon(1e-8)
            .with_weight_decay(0.01)
            .init(),
        loss_fn: CrossEntropyLossConfig::new().init(&device),
    };
    let mut model = Transformer::new(&device);
    let mut losses = Losses {
        first: f32::NAN,
        first_timed: f32::NAN,
        last: f32::NAN,
    };

    let started = Instant::now();
    for i in 0..warmup {
        let loss;
        (model, loss) = trainer.step(model);
        if i == 0 {
            losses.first = loss;
        }
    }
    sync(&device);
    eprintln!(
        "  transformer batch {batch} × context {context}: warm-up ({warmup} steps) {:.1} s, \
         first loss {:.4}",
        started.elapsed().as_secs_f64(),
        losses.first
    );
    let t = Instant::now();
    for i in 0..steps {
        let loss;
        (model, loss) = trainer.step(model);
        if i == 0 {
            losses.first_timed = loss;
        }
        losses.last = loss;
    }
    sync(&device);
    let rate = steps as f64 / t.elapsed().as_secs_f64();
    (rate, losses)
}

fn main() {
    let options = parse_args();
    let (api, api_name) = backend_from_env().unwrap_or_else(|e| {
        eprintln!("netdx-peers: {e}");
        std::process::exit(2);
    });
    let device = Device::wgpu_options()
        .graphics_api(api)
        .init()
        .unwrap_or_else(|e| {
            eprintln!("netdx-peers: no wgpu device on {api_name}: {e}");
            std::process::exit(1);
        });
    let adapter = device
        .identity()
        .map(|i| i.name)
        .unwrap_or_else(|| "unknown".into());
    eprintln!("burn {BURN_VERSION} wgpu on {adapter} (graphics API {api_name}, {SHADERS} shaders)");

    let sizes: &[usize] = match (options.quick, options.large) {
        (true, _) => &[256, 512],
        (false, false) => &[256, 512, 1024],
        (false, true) => &[256, 512, 1024, 2048, 4096],
    };
    let (warmup, reps) = if options.quick { (2, 3) } else { (3, 5) };
    let mut matmul = Vec::new();
    for &n in sizes {
        let gflops = matmul_gflops(&device, n, warmup, reps);
        eprintln!("matmul n = {n}: {gflops:.2} GFLOP/s");
        matmul.push((n, gflops));
    }

    let runs: &[(usize, usize)] = if options.quick {
        &[(128, 10)]
    } else {
        &[(128, 40), (1024, 8)]
    };
    let mut mlp = Vec::new();
    for &(batch, steps) in runs {
        let (rate, loss) = mlp_steps_per_second(&device, batch, 5, steps);
        eprintln!("MLP batch {batch}: {rate:.2} steps/s ({steps} steps, last loss {loss:.4})");
        mlp.push((batch, rate));
    }

    let (batch, context) = (TRANSFORMER_BATCH, TRANSFORMER_CONTEXT);
    let steps = if options.quick { 20 } else { 200 };
    let (rate, losses) = transformer_steps_per_second(&device, batch, context, 5, steps);
    let tokens_per_second = rate * (batch * context) as f64;
    eprintln!(
        "transformer batch {batch} × context {context}: {rate:.2} steps/s, \
         {tokens_per_second:.0} tokens/s ({steps} steps; loss {:.4} at the first step, \
         {:.4} at the first timed step, {:.4} at the last)",
        losses.first, losses.first_timed, losses.last
    );
    if !losses.last.is_finite() {
        eprintln!("netdx-peers: the transformer's loss is not finite");
        std::process::exit(1);
    }
    let transformer = [(batch, context, rate, tokens_per_second)];

    if options.json {
        let report = json!({
            "peer": "burn",
            "burn_version": BURN_VERSION,
            "adapter": adapter,
            "graphics_api": api_name,
            "shaders": SHADERS,
            "quick": options.quick,
            "matmul": matmul
                .iter()
                .map(|&(n, gflops)| json!({ "n": n, "gflops": gflops }))
                .collect::<Vec<_>>(),
            "mlp": mlp
                .iter()
                .map(|&(batch, sps)| json!({ "batch": batch, "steps_per_second": sps }))
                .collect::<Vec<_>>(),
            "transformer": transformer
                .iter()
                .map(|&(batch, context, sps, tps)| {
                    json!({
                        "batch": batch,
                        "context": context,
                        "steps_per_second": sps,
                        "tokens_per_second": tps,
                    })
                })
                .collect::<Vec<_>>(),
        });
        println!("{report}");
    } else {
        println!("peer: burn {BURN_VERSION} (wgpu backend, fusion + autotune)");
        println!("adapter: {adapter} ({api_name}, {SHADERS} shaders)");
        println!("matmul (square, f32):");
        for (n, gflops) in &matmul {
            println!("  n = {n:>4}: {gflops:7.2} GFLOP/s");
        }
        println!("MLP 784-256-256-10, softmax cross-entropy, SGD, loss read back every step:");
        for (batch, rate) in &mlp {
            println!("  batch {batch:>4}: {rate:7.2} steps/s");
        }
        println!(
            "transformer {LAYERS} × pre-LN (d = {WIDTH}, {HEADS} causal heads, GELU MLP {}), vocab {VOCAB}, \
             AdamW, loss read back every step:",
            4 * WIDTH
        );
        for (batch, context, rate, tps) in &transformer {
            println!(
                "  batch {batch:>4} × context {context}: {rate:7.2} steps/s, {tps:9.0} tokens/s"
            );
        }
    }
}
