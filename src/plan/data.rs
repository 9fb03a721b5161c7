//! The dataset on the device: resident (gathered by index in a shader each step) or streamed
//! (each step's rows written by the host), as the plans see it.

use std::sync::Arc;

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::gpu::{Gpu, Tensor};

/// Where the examples live while training.
pub enum Residency {
    /// All of x and y on the GPU; each step gathers its batch by index in a shader.
    Resident { x: Tensor, y: Tensor },
    /// Larger than one storage binding: the rows stay on the host and each step writes its
    /// batch's rows straight into the plan's input and target buffers (the queue stages the
    /// write, which lands before the step's submission runs); the gather dispatch is left out.
    Streamed { rows: Arc<Dataset> },
}

/// The dataset as the plans see it.
pub struct DeviceData {
    pub residency: Residency,
    pub n: usize,
    pub x_width: usize,
    pub y_width: usize,
}

/// How to place a dataset on the device.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Placement {
    /// Resident when x and y each fit one storage binding, streamed otherwise.
    #[default]
    Auto,
    /// Always streamed (tests of the streamed path on small data).
    Streamed,
}

impl DeviceData {
    /// Places `d` on the device (copied to a shared host copy only when streamed).
    pub fn upload(gpu: &Gpu, d: &Dataset) -> Result<Self> {
        if Self::fits(gpu, d) {
            Self::place(gpu, d, None)
        } else {
            Self::place(gpu, d, Some(Arc::new(d.clone())))
        }
    }

    /// Places the shared dataset `d` as `placement` says.
    pub fn upload_shared(gpu: &Gpu, d: &Arc<Dataset>, placement: Placement) -> Result<Self> {
        let stream = placement == Placement::Streamed || !Self::fits(gpu, d);
        Self::place(gpu, d, stream.then(|| d.clone()))
    }

    /// Whether x and y each fit one storage binding.
    fn fits(gpu: &Gpu, d: &Dataset) -> bool {
        let limit = gpu.limits().max_storage_buffer_binding_size;
        [d.x.len(), d.y.len()]
            .iter()
            .all(|len| (*len as u64) * 4 <= limit)
    }

    fn place(gpu: &Gpu, d: &Dataset, streamed: Option<Arc<Dataset>>) -> Result<Self> {
        let residency = if let Some(rows) = streamed {
            Residency::Streamed { rows }
        } else {
            Residency::Resident {
                x: gpu.tensor_from("data.x", &d.x)?,
                y: gpu.tensor_from("data.y", &d.y)?,
            }
        };
        Ok(DeviceData {
            residency,
            n: d.n,
            x_width: d.x_width,
            y_width: d.y_width,
        })
    }

    pub fn is_streamed(&self) -> bool {
        matches!(self.residency, Residency::Streamed { .. })
    }

    /// Replaces every feature (same shape) of resident data; streamed data is read-only.
    pub fn write_features(&self, gpu: &Gpu, x: &[f32]) -> Result<()> {
        match &self.residency {
            Residency::Resident { x: buffer, .. } if x.len() == buffer.len => {
                gpu.write(&buffer.buffer, x);
                Ok(())
            }
            _ => Err(Error::Usage(
                "write_features needs resident data of the same shape".into(),
            )),
        }
    }
}
