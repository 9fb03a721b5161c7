//! The model resident on the GPU: parameters, batch-norm running statistics, optimizer moments
//! and the per-step uniform. Created once; every [`BatchPlan`](super::BatchPlan) binds these
//! buffers.

use crate::error::Result;
use crate::gpu::{Gpu, Tensor, TensorUsage};
use crate::graph::{Graph, ParamInfo};
use crate::kernels::StepUniform;
use crate::model::{HostParams, HostTensor};
use crate::ops::OptimizerKind;

pub struct DeviceNetwork {
    pub graph: Graph,
    /// `graph.params`, in order.
    pub infos: Vec<ParamInfo>,
    pub params: Vec<Tensor>,
    pub state: Vec<Tensor>,
    /// First moments (momentum buffers); `None` for plain SGD.
    pub m: Vec<Option<Tensor>>,
    /// Second moments; `None` unless Adam/AdamW.
    pub v: Vec<Option<Tensor>>,
    pub step: wgpu::Buffer,
    /// Distinct placeholders for bindings a specialization does not touch (one buffer may not
    /// be bound writable twice in a dispatch).
    pub placeholders: [Tensor; 3],
}

impl DeviceNetwork {
    pub fn upload(
        gpu: &Gpu,
        graph: &Graph,
        host: &HostParams,
        optimizer: OptimizerKind,
    ) -> Result<Self> {
        let infos = graph.params.clone();
        let params = host
            .params
            .iter()
            .map(|t| gpu.tensor_from(&t.name, &t.data))
            .collect::<Result<Vec<_>>>()?;
        let state = host
            .state
            .iter()
            .map(|t| gpu.tensor_from(&t.name, &t.data))
            .collect::<Result<Vec<_>>>()?;
        let needs_m = optimizer != OptimizerKind::Sgd;
        let m = infos
            .iter()
            .map(|i| {
                needs_m
                    .then(|| {
                        gpu.tensor(
                            &format!("{}.momentum", i.name),
                            i.len(),
                            TensorUsage::Storage,
                        )
                    })
                    .transpose()
            })
            .collect::<Result<Vec<_>>>()?;
        let v = infos
            .iter()
            .map(|i| {
                optimizer
                    .uses_second_moment()
                    .then(|| {
                        gpu.tensor(
                            &format!("{}.second_moment", i.name),
                            i.len(),
                            TensorUsage::Storage,
                        )
                    })
                    .transpose()
            })
            .collect::<Result<Vec<_>>>()?;
        let step = gpu.uniform("step", &StepUniform::default())?;
        let placeholders = [
            gpu.tensor("placeholder0", 1, TensorUsage::Storage)?,
            gpu.tensor("placeholder1", 1, TensorUsage::Storage)?,
            gpu.tensor("placeholder2", 1, TensorUsage::Storage)?,
        ];
        Ok(DeviceNetwork {
            graph: graph.clone(),
            infos,
            params,
            state,
            m,
            v,
            step,
            placeholders,
        })
    }

    /// Overwrites the optimizer's moments (a resumed run's): `m[i]` and `v[i]` for trainable
    /// tensor `i` where this optimizer keeps them. Staged into the next submission.
    pub fn set_moments(&self, gpu: &Gpu, m: &[Option<Vec<f32>>], v: &[Option<Vec<f32>>]) {
        for (device, host) in self.m.iter().zip(m).chain(self.v.iter().zip(v)) {
            if let (Some(t), Some(data)) = (device, host) {
                gpu.write(&t.buffer, data);
            }
        }
    }

    /// Reads every parameter and state tensor back to the host.
    pub fn download(&self, gpu: &Gpu) -> Result<HostParams> {
        let read =
            |ts: &[Tensor], shapes: &dyn Fn(usize) -> Vec<usize>| -> Result<Vec<HostTensor>> {
                ts.iter()
                    .enumerate()
                    .map(|(i, t)| {
                        Ok(HostTensor {
                            name: t.name.clone(),
                            shape: shapes(i),
                            data: gpu.read::<f32>(t)?,
                        })
                    })
                    .collect()
            };
        Ok(HostParams {
            params: read(&self.params, &|i| self.infos[i].shape.clone())?,
            state: read(&self.state, &|i| self.graph.state[i].shape.clone())?,
        })
    }
}
