//! Buffers: every storage buffer is a named [`Tensor`], checked against the adapter's limits
//! before it is created, so an oversized model fails with the tensor's name and the limit.

use bytemuck::Pod;

use crate::error::{Error, Result};

use super::context::Gpu;

/// A storage buffer of 4-byte elements (f32 or u32) with a name for errors and dumps. A clone
/// names the same buffer (a plan aliases a gradient that passes through unchanged).
#[derive(Clone, Debug)]
pub struct Tensor {
    pub name: String,
    pub buffer: wgpu::Buffer,
    /// Number of elements (not bytes).
    pub len: usize,
}

/// What a buffer is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TensorUsage {
    /// Bound to kernels, copied to and from.
    Storage,
    /// The destination of a copy that the host maps and reads.
    ReadBack,
}

impl Gpu {
    fn check_size(&self, name: &str, bytes: u64, storage: bool) -> Result<()> {
        if storage && bytes > self.limits.max_storage_buffer_binding_size {
            return Err(Error::BufferLimit {
                tensor: name.to_string(),
                bytes,
                limit: "max_storage_buffer_binding_size",
                max: self.limits.max_storage_buffer_binding_size,
            });
        }
        if bytes > self.limits.max_buffer_size {
            return Err(Error::BufferLimit {
                tensor: name.to_string(),
                bytes,
                limit: "max_buffer_size",
                max: self.limits.max_buffer_size,
            });
        }
        Ok(())
    }

    /// A zero-filled tensor of `len` elements (at least one, since empty bindings are invalid).
    /// Its buffer is a whole number of vec4s, so kernels may read and write any tensor as vec4s:
    /// the reductions read past `len` and leave those values out; the elementwise kernels'
    /// last vec4 may write past `len`. Nothing reads the padding as values.
    pub fn tensor(&self, name: &str, len: usize, usage: TensorUsage) -> Result<Tensor> {
        let bytes = (len.max(1).div_ceil(4) * 16) as u64;
        self.check_size(name, bytes, usage == TensorUsage::Storage)?;
        let usage = match usage {
            TensorUsage::Storage => {
                wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_SRC
                    | wgpu::BufferUsages::COPY_DST
            }
            TensorUsage::ReadBack => wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        };
        self.count_created();
        let buffer = self.scoped(name, || {
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(name),
                size: bytes,
                usage,
                mapped_at_creation: false,
            })
        })?;
        Ok(Tensor {
            name: name.to_string(),
            buffer,
            len,
        })
    }

    /// A storage tensor holding `data`.
    pub fn tensor_from<T: Pod>(&self, name: &str, data: &[T]) -> Result<Tensor> {
        assert_eq!(std::mem::size_of::<T>(), 4, "tensors hold 4-byte elements");
        let t = self.tensor(name, data.len(), TensorUsage::Storage)?;
        // The upload allocates a staging buffer as large as the tensor: where memory runs out,
        // it runs out here, and the error should name this tensor.
        self.scoped(name, || self.write(&t.buffer, data))?;
        Ok(t)
    }

    /// A uniform buffer holding `value` (kernel parameters, fixed at plan time).
    pub fn uniform<T: Pod>(&self, name: &str, value: &T) -> Result<wgpu::Buffer> {
        // Not `mapped_at_creation`: mapping memory the driver could not back crashes inside
        // wgpu on lavapipe, where a queued write reports out-of-memory as an error instead.
        self.count_created();
        let buffer = self.scoped(name, || {
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(name),
                size: std::mem::size_of::<T>() as u64,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        })?;
        self.queue
            .write_buffer(&buffer, 0, bytemuck::bytes_of(value));
        Ok(buffer)
    }

    /// Overwrites the start of a buffer; staged into the next submission.
    pub fn write<T: Pod>(&self, buffer: &wgpu::Buffer, data: &[T]) {
        if !data.is_empty() {
            self.queue
                .write_buffer(buffer, 0, bytemuck::cast_slice(data));
        }
    }

    /// Copies a tensor back to the host and waits for it. For tests, dumps and the end of a
    /// run; the training step reads its statistics through one [`ReadBack`] per step instead.
    pub fn read<T: Pod>(&self, t: &Tensor) -> Result<Vec<T>> {
        let staging = self.tensor(
            &format!("{} (read-back)", t.name),
            t.len,
            TensorUsage::ReadBack,
        )?;
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("read"),
            });
        encoder.copy_buffer_to_buffer(&t.buffer, 0, &staging.buffer, 0, (t.len.max(1) * 4) as u64);
        self.submit_commands(&staging.name, encoder.finish());
        self.map_read(&staging)
    }

    /// Maps a read-back buffer whose copy has been submitted, waits, and returns its contents.
    pub fn map_read<T: Pod>(&self, staging: &Tensor) -> Result<Vec<T>> {
        let slice = staging.buffer.slice(..);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        self.wait(&staging.name)?;
        match rx.recv() {
            Ok(Ok(())) => {}
            _ => return Err(Error::ReadBack(staging.name.clone())),
        }
        let data = {
            let view = slice
                .get_mapped_range()
                .map_err(|_| Error::ReadBack(staging.name.clone()))?;
            let all: &[T] = bytemuck::cast_slice(&view);
            all[..staging.len].to_vec()
        };
        staging.buffer.unmap();
        Ok(data)
    }
}
