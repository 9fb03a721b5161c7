//! `netdx-peers`: the figures `netdx bench` reports, measured with burn's wgpu backend on the same
//! adapter, so the two can be compared by ratio.
//!
//! - square f32 matmul GFLOP/s (2n³ FLOP per product), best of several runs after warm-up
//!   (autotuning done), each run as many back-to-back products as last 20 ms (one on a software
//!   adapter, many on a GPU; as `netdx bench` times its kernels), ended by a device sync;
//! - training steps per second of an MLP 784-256-256-10 (Linear+ReLU, Linear+ReLU, Linear),
//!   softmax cross-entropy, plain SGD lr 0.01, random inputs and labels, the loss read back to
//!   the host every step, on burn's autodiff wgpu device.
//!
//! The graphics API follows `WGPU_BACKEND` (vulkan, gl, metal, dx12, webgpu) as wgpu's own
//! `from_env` would; unset, burn picks one. Progress goes to stderr, results to stdout.

use std::time::Instant;

use burn::module::Module;
use burn::nn::loss::{CrossEntropyLoss, CrossEntropyLossConfig};
use burn::nn::{Linear, LinearConfig, Relu};
use burn::optim::{GradientsParams, ModuleOptimizer, SgdConfig};
use burn::tensor::wgpu::WgpuBackend;
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
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
                     square f32 matmul GFLOP/s and MLP 784-256-256-10 SGD steps/s,\n\
                     to compare with `netdx bench` on the same adapter.\n\n\
                     --quick  fewer repetitions, matmul n = 256, 512 and batch 128 only\n\
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
    }
}
