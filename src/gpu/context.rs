//! Opening one device per process on the adapter the user chose, honouring wgpu's environment
//! variables (`WGPU_BACKEND`, `WGPU_ADAPTER_NAME`, `WGPU_POWER_PREF`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};

use crate::kernels::{ConvVariant, MatmulVariant, MATMUL_TILED};

use super::adapters::AdapterReport;
use super::pipelines::CachedPipeline;

/// A backend the user may name on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendName {
    Vulkan,
    Metal,
    Dx12,
    Gl,
}

impl BackendName {
    fn backends(self) -> wgpu::Backends {
        match self {
            BackendName::Vulkan => wgpu::Backends::VULKAN,
            BackendName::Metal => wgpu::Backends::METAL,
            BackendName::Dx12 => wgpu::Backends::DX12,
            BackendName::Gl => wgpu::Backends::GL,
        }
    }
}

/// Which adapter to open: flags first, then wgpu's environment variables, then wgpu's default.
#[derive(Clone, Debug, Default)]
pub struct AdapterChoice {
    /// `--backend`; `None` falls back to `WGPU_BACKEND`, then to every backend.
    pub backend: Option<BackendName>,
    /// `--adapter INDEX|NAME-SUBSTRING`; `None` falls back to `WGPU_ADAPTER_NAME`.
    pub adapter: Option<String>,
}

impl AdapterChoice {
    pub(crate) fn instance(&self) -> wgpu::Instance {
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
        if let Some(b) = self.backend {
            desc.backends = b.backends();
        }
        wgpu::Instance::new(desc)
    }

    /// Refuses a `WGPU_BACKEND` that names no backend wgpu knows (wgpu itself only logs a
    /// warning and tries nothing, which reads as "no adapter"). `--backend` overrides it.
    pub fn check_env(&self) -> Result<()> {
        if self.backend.is_some() {
            return Ok(());
        }
        let Ok(value) = std::env::var("WGPU_BACKEND") else {
            return Ok(());
        };
        // wgpu's own names (wgpu-types `Backends::from_comma_list`).
        const KNOWN: &[&str] = &[
            "vulkan", "vk", "dx12", "d3d12", "metal", "mtl", "opengl", "gles", "gl", "webgpu",
            "noop",
        ];
        let lower = value.to_lowercase();
        let unknown: Vec<&str> = lower
            .split(',')
            .map(str::trim)
            .filter(|b| !KNOWN.contains(b))
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        Err(Error::Usage(format!(
            "WGPU_BACKEND={value:?}: {} not a backend; use vulkan, metal, dx12 or gl (a comma list tries several), or unset it to try all",
            unknown
                .iter()
                .map(|b| format!("`{b}` is"))
                .collect::<Vec<_>>()
                .join(", ")
        )))
    }

    /// "No adapter" for this choice, naming the adapters that the backends it left out do have
    /// (`--backend dx12` on Linux, where lavapipe is on Vulkan).
    pub fn no_adapter(&self) -> Error {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
            backends: wgpu::Backends::all(),
            ..wgpu::InstanceDescriptor::new_without_display_handle_from_env()
        });
        let others: Vec<String> =
            pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()))
                .iter()
                .map(|a| {
                    let info = a.get_info();
                    format!("{} ({:?})", info.name, info.backend)
                })
                .collect();
        let hint = if others.is_empty() {
            "on Debian/Ubuntu a software adapter comes with `apt-get install mesa-vulkan-drivers libvulkan1` (Vulkan, lavapipe); the GL backend needs EGL (`libegl1 libegl-mesa0`). Set WGPU_BACKEND=vulkan or WGPU_BACKEND=gl to pick one".to_string()
        } else {
            format!(
                "adapters on other backends: {}; pick one with --backend or WGPU_BACKEND",
                others.join(", ")
            )
        };
        Error::NoAdapter {
            tried: self.backends_tried(),
            hint,
        }
    }

    pub fn backends_tried(&self) -> String {
        let backends = match self.backend {
            Some(b) => b.backends(),
            None => wgpu::Backends::from_env().unwrap_or(wgpu::Backends::all()),
        };
        let names: Vec<&str> = [
            (wgpu::Backends::VULKAN, "vulkan"),
            (wgpu::Backends::METAL, "metal"),
            (wgpu::Backends::DX12, "dx12"),
            (wgpu::Backends::GL, "gl"),
        ]
        .iter()
        .filter(|(b, _)| backends.contains(*b))
        .map(|(_, n)| *n)
        .collect();
        names.join(", ")
    }

    /// Every adapter this choice's backends can see, in a stable order (the index users pass to
    /// `--adapter`).
    pub(crate) fn enumerate(&self) -> (wgpu::Instance, Vec<wgpu::Adapter>) {
        let instance = self.instance();
        let adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
        (instance, adapters)
    }

    fn select(&self) -> Result<wgpu::Adapter> {
        let (instance, adapters) = self.enumerate();
        if adapters.is_empty() {
            return Err(self.no_adapter());
        }
        let selector = self
            .adapter
            .clone()
            .or_else(|| std::env::var("WGPU_ADAPTER_NAME").ok());
        if let Some(sel) = selector {
            let infos: Vec<wgpu::AdapterInfo> = adapters.iter().map(|a| a.get_info()).collect();
            let pick = match sel.parse::<usize>() {
                Ok(i) if i < adapters.len() => Some(i),
                _ => infos
                    .iter()
                    .position(|i| i.name.to_lowercase().contains(&sel.to_lowercase())),
            };
            return match pick {
                Some(i) => Ok(adapters.into_iter().nth(i).expect("index checked above")),
                None => Err(Error::AdapterNotFound {
                    selector: sel,
                    available: infos
                        .iter()
                        .enumerate()
                        .map(|(i, a)| format!("  [{i}] {} ({:?})", a.name, a.backend))
                        .collect::<Vec<_>>()
                        .join("\n"),
                }),
            };
        }
        let options = wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::from_env().unwrap_or_default(),
            ..Default::default()
        };
        match pollster::block_on(instance.request_adapter(&options)) {
            Ok(a) => Ok(a),
            // wgpu's default choice can refuse a software adapter; any adapter beats none.
            Err(_) => Ok(adapters.into_iter().next().expect("checked non-empty")),
        }
    }
}

/// One adapter, its device and queue, and the pipeline cache. Shared by every plan in the
/// process; `Sync`, so tests on several threads use the same device.
pub struct Gpu {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    pub(crate) info: wgpu::AdapterInfo,
    pub(crate) limits: wgpu::Limits,
    pub(crate) features: wgpu::Features,
    pub(crate) pipelines: Mutex<HashMap<String, Arc<CachedPipeline>>>,
    /// The matmul kernel every plan on this device uses…
    matmul: MatmulVariant,
    /// …of those it can run (the bench and the tests run each).
    matmul_variants: Vec<MatmulVariant>,
    /// The conv2d kernels every plan on this device uses, of those it can run.
    conv: ConvVariant,
    conv_variants: Vec<ConvVariant>,
    /// Buffers, bind groups and pipelines created so far: a training step after the first
    /// creates none.
    pub(crate) created: AtomicU64,
    /// Errors outside any error scope land here instead of wgpu's panicking default handler.
    pub(crate) uncaptured: Arc<Mutex<Vec<String>>>,
    /// Why the device was lost, once it has been (driver reset, out of memory, `destroy`).
    /// Every later error names this cause rather than its consequences.
    lost: Arc<Mutex<Option<String>>>,
    /// A wait timed out: work may still run on the device, and dropping it would wait for
    /// that work without bound, so it is leaked instead.
    wedged: AtomicBool,
}

impl Gpu {
    /// Opens the chosen adapter with its own (not WebGPU's default) limits.
    pub fn open(choice: &AdapterChoice) -> Result<Gpu> {
        gpu_timeout_setting()?;
        choice.check_env()?;
        // From here on the loops read the interrupt flag and wind down on it.
        crate::interrupt::graceful();
        let adapter = choice.select()?;
        let info = adapter.get_info();
        let desc = device_descriptor(&adapter);
        let (limits, features) = (desc.required_limits.clone(), desc.required_features);
        let (device, queue) = pollster::block_on(adapter.request_device(&desc)).map_err(|e| {
            let mut message = e.to_string();
            // Seen on an H200 with driver 580: the adapter is listed, the device never opens.
            if info.backend == wgpu::Backend::Gl && info.name.contains("NVIDIA") {
                message.push_str(
                    " (wgpu's GL backend does not open devices on NVIDIA's Linux GL driver, \
                     gfx-rs/wgpu#7068; use --backend vulkan)",
                );
            }
            Error::RequestDevice {
                adapter: info.name.clone(),
                message,
            }
        })?;
        let uncaptured = Arc::new(Mutex::new(Vec::new()));
        let sink = uncaptured.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            if let Ok(mut v) = sink.lock() {
                v.push(e.to_string());
            }
        }));
        let matmul_variants = runnable_matmul_variants(&info, &limits, features);
        let matmul = matmul_variant(&info, &matmul_variants)?;
        let conv_variants = runnable_conv_variants(&matmul_variants);
        let conv = conv_variant(&info, &conv_variants)?;
        let lost = Arc::new(Mutex::new(None));
        let lost_sink = lost.clone();
        device.set_device_lost_callback(move |reason, message| {
            if let Ok(mut l) = lost_sink.lock() {
                l.get_or_insert(match reason {
                    wgpu::DeviceLostReason::Destroyed => "the device was destroyed".to_string(),
                    wgpu::DeviceLostReason::Unknown if message.is_empty() => {
                        "no reason given by the driver".to_string()
                    }
                    wgpu::DeviceLostReason::Unknown => message,
                });
            }
        });
        Ok(Gpu {
            device,
            queue,
            info,
            limits,
            features,
            pipelines: Mutex::new(HashMap::new()),
            matmul,
            matmul_variants,
            conv,
            conv_variants,
            created: AtomicU64::new(0),
            uncaptured,
            lost,
            wedged: AtomicBool::new(false),
        })
    }

    /// The adapter this device runs on, for reports and run records.
    pub fn report(&self) -> AdapterReport {
        AdapterReport::new(0, &self.info, &self.limits, self.features)
    }

    /// `name (backend, driver driver_info)` for log lines.
    pub fn describe(&self) -> String {
        format!(
            "{} ({:?}, {} {})",
            self.info.name, self.info.backend, self.info.driver, self.info.driver_info
        )
    }

    pub fn info(&self) -> &wgpu::AdapterInfo {
        &self.info
    }

    /// Destroys the device, as a driver reset or a removed GPU would: every later use fails
    /// with an error. For tests of how netdx handles a lost device.
    pub fn destroy(&self) {
        self.device.destroy();
    }

    pub fn limits(&self) -> &wgpu::Limits {
        &self.limits
    }

    /// Buffers, bind groups and pipelines this device has created: what a loop that should
    /// allocate nothing (a training step after the first) is checked against.
    pub fn objects_created(&self) -> u64 {
        self.created.load(Ordering::Relaxed)
    }

    pub(crate) fn count_created(&self) {
        self.created.fetch_add(1, Ordering::Relaxed);
    }

    /// The matmul kernel chosen for this adapter (see [`matmul_variant`]).
    pub fn matmul_variant(&self) -> MatmulVariant {
        self.matmul
    }

    /// Every matmul kernel this adapter can run.
    pub fn matmul_variants(&self) -> &[MatmulVariant] {
        &self.matmul_variants
    }

    /// The conv2d kernels chosen for this adapter (see [`conv_variant`]).
    pub fn conv_variant(&self) -> ConvVariant {
        self.conv
    }

    /// Every conv2d kernel family this adapter can run.
    pub fn conv_variants(&self) -> &[ConvVariant] {
        &self.conv_variants
    }

    /// Values each stage-1 reduction lane folds at least. A GPU needs many lanes in flight, so
    /// 16 values each. A CPU adapter runs 8 lanes per core at a time and pays for every byte it
    /// moves: at 16 values a lane, its partial records (8 floats each) would be half as many
    /// bytes again as the tensor, so its lanes fold 256 values, with records 1/32 of the tensor.
    pub fn reduce_values_per_lane(&self) -> usize {
        if self.info.device_type == wgpu::DeviceType::Cpu {
            256
        } else {
            16
        }
    }

    pub fn has_timestamps(&self) -> bool {
        self.features.contains(wgpu::Features::TIMESTAMP_QUERY)
    }

    /// Blocks until all submitted work is done, at most `NETDX_GPU_TIMEOUT_S` (default 600 s:
    /// no run is left hanging on a wedged driver); errors raised meanwhile outside any scope are
    /// returned here, naming what was being waited for.
    pub fn wait(&self, what: &str) -> Result<()> {
        let polled = {
            let _watched = super::watchdog::guard(what, gpu_timeout());
            self.device.poll(wgpu::PollType::Wait {
                submission_index: None,
                timeout: Some(gpu_timeout()),
            })
        };
        if let Err(e) = polled {
            if matches!(e, wgpu::PollError::Timeout) {
                self.wedged.store(true, Ordering::Relaxed);
            }
            return Err(Error::Poll(format!("{what}: {e}")));
        }
        self.take_uncaptured(what)
    }

    /// Submits `commands`. Watched: GL on llvmpipe runs the work inside the submission.
    pub(crate) fn submit_commands(&self, what: &str, commands: wgpu::CommandBuffer) {
        let _watched = super::watchdog::guard(what, gpu_timeout());
        self.queue.submit(Some(commands));
    }

    /// The device-lost error for `what`, if the device has been lost.
    pub(crate) fn check_lost(&self, what: &str) -> Result<()> {
        let lost = self.lost.lock().ok().and_then(|l| l.clone());
        match lost {
            None => Ok(()),
            Some(reason) => Err(Error::DeviceLost {
                during: what.to_string(),
                reason,
            }),
        }
    }

    pub(crate) fn take_uncaptured(&self, what: &str) -> Result<()> {
        self.check_lost(what)?;
        let mut errs = self.uncaptured.lock().map_err(|_| Error::Gpu {
            kernel: what.to_string(),
            message: "error sink poisoned".into(),
        })?;
        if errs.is_empty() {
            return Ok(());
        }
        let message = errs.join("; ");
        errs.clear();
        Err(Error::Gpu {
            kernel: what.to_string(),
            message,
        })
    }

    /// Runs `f` inside a validation + out-of-memory error scope and turns anything caught into
    /// a typed error naming `what`.
    pub(crate) fn scoped<T>(&self, what: &str, f: impl FnOnce() -> T) -> Result<T> {
        let internal = self.device.push_error_scope(wgpu::ErrorFilter::Internal);
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let value = f();
        let v = pollster::block_on(validation.pop());
        let o = pollster::block_on(oom.pop());
        let i = pollster::block_on(internal.pop());
        self.check_lost(what)?;
        if o.is_some() || super::gl_errors::gl_out_of_memory(&self.device) {
            return Err(Error::OutOfMemory {
                tensor: what.to_string(),
            });
        }
        match v.or(i) {
            None => Ok(value),
            Some(e) => Err(Error::Gpu {
                kernel: what.to_string(),
                message: e.to_string(),
            }),
        }
    }
}

impl Drop for Gpu {
    fn drop(&mut self) {
        if self.wedged.load(Ordering::Relaxed) {
            // Dropping the last handle waits for the queue to go idle, which a kernel past the
            // timeout may never do: keep one handle of each alive until the process ends.
            std::mem::forget(self.device.clone());
            std::mem::forget(self.queue.clone());
        }
    }
}

/// How long one wait for the GPU may take: `NETDX_GPU_TIMEOUT_S`, else 600 s.
fn gpu_timeout() -> std::time::Duration {
    static TIMEOUT: std::sync::OnceLock<std::time::Duration> = std::sync::OnceLock::new();
    // `Gpu::open` has refused a bad setting before any wait.
    *TIMEOUT.get_or_init(|| gpu_timeout_setting().unwrap_or(std::time::Duration::from_secs(600)))
}

/// `NETDX_GPU_TIMEOUT_S` (unset or empty: 600 s); a value that is not a number of seconds
/// above 0 (at most 10⁹) is refused rather than replaced by the default.
pub fn gpu_timeout_setting() -> Result<std::time::Duration> {
    const MOST: f64 = 1e9;
    let Some(value) = crate::env_var::given("NETDX_GPU_TIMEOUT_S") else {
        return Ok(std::time::Duration::from_secs(600));
    };
    match value.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 && s <= MOST => {
            Ok(std::time::Duration::from_secs_f64(s))
        }
        _ => Err(Error::Usage(format!(
            "NETDX_GPU_TIMEOUT_S={value:?}: must be a number of seconds above 0 and at most {MOST:e} (how long one wait for the GPU may take; unset, 600)"
        ))),
    }
}

/// What netdx asks of an adapter's device: its own limits (not WebGPU's defaults), and
/// timestamp queries and subgroups where it has them. `netdx adapters` asks the same when it
/// tries each adapter.
pub(crate) fn device_descriptor(adapter: &wgpu::Adapter) -> wgpu::DeviceDescriptor<'static> {
    let wanted = wgpu::Features::TIMESTAMP_QUERY | wgpu::Features::SUBGROUP;
    wgpu::DeviceDescriptor {
        label: Some("netdx"),
        required_features: adapter.features() & wanted,
        required_limits: adapter.limits(),
        experimental_features: wgpu::ExperimentalFeatures::disabled(),
        memory_hints: wgpu::MemoryHints::Performance,
        trace: wgpu::Trace::Off,
    }
}

/// The matmul kernels this adapter can run: the register-blocked one everywhere, the tiled one
/// where the workgroup limits hold its tile, the subgroup and vec4 ones where subgroups are
/// exactly 8 lanes wide.
fn runnable_matmul_variants(
    info: &wgpu::AdapterInfo,
    limits: &wgpu::Limits,
    features: wgpu::Features,
) -> Vec<MatmulVariant> {
    let [x, y, _] = MATMUL_TILED.workgroup;
    let tiled = limits.max_compute_invocations_per_workgroup >= x * y
        && limits.max_compute_workgroup_size_x >= x
        && limits.max_compute_workgroup_size_y >= y
        // Two 16×64 f32 slices.
        && limits.max_compute_workgroup_storage_size >= 2 * 16 * 64 * 4;
    let subgroup = features.contains(wgpu::Features::SUBGROUP)
        && info.subgroup_min_size == 8
        && info.subgroup_max_size == 8;
    MatmulVariant::ALL
        .into_iter()
        .filter(|v| match v {
            MatmulVariant::Register => true,
            MatmulVariant::Tiled => tiled,
            MatmulVariant::Subgroup | MatmulVariant::Vec4 => subgroup,
        })
        .collect()
}

/// The conv2d kernels this adapter can run: the direct ones everywhere, the implicit GEMMs on
/// the subgroup tile where the vec4 matmul runs (subgroups exactly 8 lanes wide).
fn runnable_conv_variants(matmul: &[MatmulVariant]) -> Vec<ConvVariant> {
    ConvVariant::ALL
        .into_iter()
        .filter(|v| *v == ConvVariant::Direct || matmul.contains(&MatmulVariant::Vec4))
        .collect()
}

/// The conv2d kernels for an adapter: `NETDX_CONV=direct|gemm` when set, else the implicit
/// GEMMs on software adapters that can run them, the direct kernels elsewhere (the GEMMs' tile
/// needs subgroups of 8, which hardware GPUs do not have).
fn conv_variant(info: &wgpu::AdapterInfo, runnable: &[ConvVariant]) -> Result<ConvVariant> {
    let forced = forced_variant(
        ("NETDX_CONV", "those conv2d kernels"),
        info,
        (&ConvVariant::ALL, runnable),
        ConvVariant::parse,
        ConvVariant::name,
    )?;
    if let Some(variant) = forced {
        return Ok(variant);
    }
    let gemm = info.device_type == wgpu::DeviceType::Cpu && runnable.contains(&ConvVariant::Gemm);
    Ok(if gemm {
        ConvVariant::Gemm
    } else {
        ConvVariant::Direct
    })
}

/// The kernel family that the environment variable `var` names, if it is set: a usage error
/// when it names none of `all`, or one this adapter cannot run (`what`: what it cannot run).
fn forced_variant<V: Copy + PartialEq>(
    (var, what): (&str, &str),
    info: &wgpu::AdapterInfo,
    (all, runnable): (&[V], &[V]),
    parse: fn(&str) -> Option<V>,
    name: fn(V) -> &'static str,
) -> Result<Option<V>> {
    let Ok(value) = std::env::var(var) else {
        return Ok(None);
    };
    let names = |vs: &[V]| vs.iter().map(|&v| name(v)).collect::<Vec<_>>().join(", ");
    let variant = parse(&value)
        .ok_or_else(|| Error::Usage(format!("{var}={value}: expected one of {}", names(all))))?;
    if !runnable.contains(&variant) {
        return Err(Error::Usage(format!(
            "{var}={value}: `{}` cannot run {what} (it runs {})",
            info.name,
            names(runnable)
        )));
    }
    Ok(Some(variant))
}

/// The matmul kernel for an adapter: `NETDX_MATMUL=register|tiled|subgroup|vec4` when set (to
/// measure or test one variant anywhere it runs), else on software adapters register blocking
/// (memory access is their cost and a barrier switches threads), with vec4 reads and a tall tile
/// shared by subgroup broadcasts where subgroups are 8 wide — at n = 512 on lavapipe, Mesa 25,
/// measured side by side: vec4 53 GFLOP/s, subgroup 15, register 12, tiled 7 — and on hardware
/// GPUs workgroup-memory tiles where the limits hold the tile (an H200: tiled 4.9 TFLOP/s at
/// n = 512, register 2.4).
fn matmul_variant(info: &wgpu::AdapterInfo, runnable: &[MatmulVariant]) -> Result<MatmulVariant> {
    let forced = forced_variant(
        ("NETDX_MATMUL", "its matmul kernel"),
        info,
        (&MatmulVariant::ALL, runnable),
        MatmulVariant::parse,
        MatmulVariant::name,
    )?;
    if let Some(variant) = forced {
        return Ok(variant);
    }
    let preferred: &[MatmulVariant] = match info.device_type {
        wgpu::DeviceType::Cpu => &[MatmulVariant::Vec4],
        _ => &[MatmulVariant::Tiled],
    };
    Ok(preferred
        .iter()
        .copied()
        .find(|v| runnable.contains(v))
        .unwrap_or(MatmulVariant::Register))
}
