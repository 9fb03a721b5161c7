//! Compiling kernels into pipelines (cached by kernel and override constants), building bind
//! groups, and recording dispatches. Plans create every [`Dispatch`] once; a step only encodes
//! them.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::kernels::Binding;
pub use crate::kernels::Kernel;

use super::context::Gpu;

/// A compiled kernel with the bind group layout derived from its declared bindings.
pub struct CachedPipeline {
    pub(crate) pipeline: wgpu::ComputePipeline,
    pub(crate) layout: wgpu::BindGroupLayout,
}

/// One recorded kernel launch: pipeline, bound buffers and workgroup counts.
#[derive(Clone)]
pub struct Dispatch {
    pub(crate) name: &'static str,
    /// What this launch does in its plan (e.g. `layers.0 forward`), for profiles.
    pub(crate) label: String,
    pub(crate) pipeline: Arc<CachedPipeline>,
    pub(crate) bind_group: wgpu::BindGroup,
    pub(crate) groups: [u32; 3],
}

impl Dispatch {
    pub fn kernel_name(&self) -> &'static str {
        self.name
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    /// Names this launch's role in its plan.
    pub fn labeled(mut self, label: impl Into<String>) -> Self {
        self.set_label(label);
        self
    }

    pub fn set_label(&mut self, label: impl Into<String>) {
        self.label = label.into();
    }
}

impl Gpu {
    /// The pipeline for `kernel` specialized with `constants`, compiled on first use.
    pub fn pipeline(
        &self,
        kernel: &'static Kernel,
        constants: &[(&str, f64)],
    ) -> Result<Arc<CachedPipeline>> {
        let key = format!("{}{:?}", kernel.name, constants);
        let poisoned = || Error::Gpu {
            kernel: kernel.name.to_string(),
            message: "pipeline cache poisoned".into(),
        };
        if let Some(p) = self.pipelines.lock().map_err(|_| poisoned())?.get(&key) {
            return Ok(p.clone());
        }
        let compiled = Arc::new(self.compile(kernel, constants)?);
        self.pipelines
            .lock()
            .map_err(|_| poisoned())?
            .insert(key, compiled.clone());
        Ok(compiled)
    }

    fn compile(
        &self,
        kernel: &'static Kernel,
        constants: &[(&str, f64)],
    ) -> Result<CachedPipeline> {
        let source = kernel.source();
        let entries: Vec<wgpu::BindGroupLayoutEntry> = kernel
            .bindings
            .iter()
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupLayoutEntry {
                binding: i as u32,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: match b {
                    Binding::Uniform => wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    Binding::Read | Binding::ReadWrite => wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Storage {
                            read_only: *b == Binding::Read,
                        },
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                },
                count: None,
            })
            .collect();
        self.count_created();
        self.scoped(kernel.name, || {
            let module = self
                .device
                .create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(kernel.name),
                    source: wgpu::ShaderSource::Wgsl(source.into()),
                });
            let layout = self
                .device
                .create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                    label: Some(kernel.name),
                    entries: &entries,
                });
            let pipeline_layout =
                self.device
                    .create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                        label: Some(kernel.name),
                        bind_group_layouts: &[Some(&layout)],
                        immediate_size: 0,
                    });
            let pipeline = self
                .device
                .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(kernel.name),
                    layout: Some(&pipeline_layout),
                    module: &module,
                    entry_point: Some("main"),
                    compilation_options: wgpu::PipelineCompilationOptions {
                        constants,
                        // Every kernel initializes its workgroup memory before reading it.
                        zero_initialize_workgroup_memory: false,
                    },
                    cache: None,
                });
            CachedPipeline { pipeline, layout }
        })
    }

    /// Records a launch of `kernel` over `buffers` (bound to bindings 0, 1, … in order).
    pub fn dispatch(
        &self,
        kernel: &'static Kernel,
        constants: &[(&str, f64)],
        buffers: &[&wgpu::Buffer],
        groups: [u32; 3],
    ) -> Result<Dispatch> {
        if buffers.len() != kernel.bindings.len() {
            return Err(Error::Gpu {
                kernel: kernel.name.to_string(),
                message: format!(
                    "{} buffers given for {} bindings",
                    buffers.len(),
                    kernel.bindings.len()
                ),
            });
        }
        let pipeline = self.pipeline(kernel, constants)?;
        let entries: Vec<wgpu::BindGroupEntry> = buffers
            .iter()
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource: b.as_entire_binding(),
            })
            .collect();
        self.count_created();
        let bind_group = self.scoped(kernel.name, || {
            self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(kernel.name),
                layout: &pipeline.layout,
                entries: &entries,
            })
        })?;
        Ok(Dispatch {
            name: kernel.name,
            label: kernel.name.to_string(),
            pipeline,
            bind_group,
            groups,
        })
    }

    /// Workgroup counts for `n` invocations of a 1-D kernel.
    pub fn groups_1d(&self, kernel: &Kernel, n: usize) -> [u32; 3] {
        crate::kernels::groups_1d(
            n,
            kernel.workgroup[0],
            self.limits.max_compute_workgroups_per_dimension,
        )
    }

    /// Encodes `dispatches` into one compute pass of `encoder`, in order.
    pub fn encode(&self, encoder: &mut wgpu::CommandEncoder, dispatches: &[Dispatch]) {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("netdx"),
            timestamp_writes: None,
        });
        for d in dispatches {
            pass.set_pipeline(&d.pipeline.pipeline);
            pass.set_bind_group(0, &d.bind_group, &[]);
            pass.dispatch_workgroups(d.groups[0], d.groups[1], d.groups[2]);
        }
    }

    /// Encodes, submits and waits for `dispatches` (tests and one-off work).
    pub fn run(&self, dispatches: &[Dispatch]) -> Result<()> {
        let mut encoder = self.device.create_command_encoder(&Default::default());
        self.encode(&mut encoder, dispatches);
        let what = dispatches.first().map(|d| d.name).unwrap_or("run");
        self.submit_commands(what, encoder.finish());
        self.wait(what)
    }

    pub fn new_encoder(&self) -> wgpu::CommandEncoder {
        self.device.create_command_encoder(&Default::default())
    }

    pub fn submit(&self, encoder: wgpu::CommandEncoder) {
        self.submit_commands("a step's kernels", encoder.finish());
    }
}
