//! Per-dispatch GPU time: each dispatch in its own compute pass between two timestamp writes,
//! where the adapter has timestamp queries; otherwise each dispatch is submitted and waited for
//! alone and timed by the wall clock (which then includes submission overhead).

use std::time::Instant;

use crate::error::{Error, Result};

use super::context::Gpu;
use super::pipelines::Dispatch;
use super::{Tensor, TensorUsage};

/// wgpu's upper bound on queries in one query set.
const MAX_QUERIES: usize = 4096;

impl Gpu {
    /// Seconds spent by each dispatch, in order.
    pub fn profile(&self, dispatches: &[Dispatch]) -> Result<Vec<f64>> {
        if !self.has_timestamps() {
            return dispatches
                .iter()
                .map(|d| {
                    let t = Instant::now();
                    self.run(std::slice::from_ref(d))?;
                    Ok(t.elapsed().as_secs_f64())
                })
                .collect();
        }
        let mut out = Vec::with_capacity(dispatches.len());
        for chunk in dispatches.chunks(MAX_QUERIES / 2) {
            out.extend(self.profile_chunk(chunk)?);
        }
        Ok(out)
    }

    fn profile_chunk(&self, dispatches: &[Dispatch]) -> Result<Vec<f64>> {
        let count = (dispatches.len() * 2) as u32;
        let queries = self.scoped("timestamps", || {
            self.device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("timestamps"),
                ty: wgpu::QueryType::Timestamp,
                count,
            })
        })?;
        let bytes = count as u64 * 8;
        self.count_created();
        let resolve = self.scoped("timestamps", || {
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("timestamps"),
                size: bytes,
                usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            })
        })?;
        let staging: Tensor = self.tensor(
            "timestamps (read-back)",
            count as usize * 2,
            TensorUsage::ReadBack,
        )?;
        let mut encoder = self.new_encoder();
        for (i, d) in dispatches.iter().enumerate() {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(d.name),
                timestamp_writes: Some(wgpu::ComputePassTimestampWrites {
                    query_set: &queries,
                    beginning_of_pass_write_index: Some(2 * i as u32),
                    end_of_pass_write_index: Some(2 * i as u32 + 1),
                }),
            });
            pass.set_pipeline(&d.pipeline.pipeline);
            pass.set_bind_group(0, &d.bind_group, &[]);
            pass.dispatch_workgroups(d.groups[0], d.groups[1], d.groups[2]);
        }
        encoder.resolve_query_set(&queries, 0..count, &resolve, 0);
        encoder.copy_buffer_to_buffer(&resolve, 0, &staging.buffer, 0, bytes);
        self.submit(encoder);
        let raw: Vec<u32> = self.map_read(&staging)?;
        let period = self.queue.get_timestamp_period() as f64 * 1e-9;
        let ticks = |i: usize| raw[2 * i] as u64 | ((raw[2 * i + 1] as u64) << 32);
        (0..dispatches.len())
            .map(|i| {
                let (a, b) = (ticks(2 * i), ticks(2 * i + 1));
                if b < a {
                    return Err(Error::Gpu {
                        kernel: dispatches[i].name.to_string(),
                        message: "timestamps went backwards".into(),
                    });
                }
                Ok((b - a) as f64 * period)
            })
            .collect()
    }
}
