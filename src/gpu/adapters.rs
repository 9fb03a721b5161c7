//! What `netdx adapters` shows: every adapter on every backend with the limits and features a
//! kernel author needs to know about.

use serde::Serialize;

use super::context::AdapterChoice;

/// One adapter as reported to users and written into run records.
#[derive(Clone, Debug, Serialize)]
pub struct AdapterReport {
    pub index: usize,
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
    pub driver_info: String,
    pub max_storage_buffer_binding_size: u64,
    pub max_buffer_size: u64,
    pub max_storage_buffers_per_shader_stage: u32,
    pub max_compute_invocations_per_workgroup: u32,
    pub max_compute_workgroup_size: [u32; 3],
    pub max_compute_workgroup_storage_size: u32,
    pub max_compute_workgroups_per_dimension: u32,
    pub subgroup_min_size: u32,
    pub subgroup_max_size: u32,
    pub timestamp_query: bool,
    pub shader_f16: bool,
    pub subgroups: bool,
    /// Whether a device opens on it, as `netdx adapters` finds by opening one (absent where
    /// not tried): wgpu lists some adapters it cannot open (its GL backend on NVIDIA's Linux
    /// driver).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opens: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_error: Option<String>,
}

impl AdapterReport {
    pub(crate) fn new(
        index: usize,
        info: &wgpu::AdapterInfo,
        limits: &wgpu::Limits,
        features: wgpu::Features,
    ) -> Self {
        AdapterReport {
            index,
            name: info.name.clone(),
            backend: format!("{:?}", info.backend).to_lowercase(),
            device_type: format!("{:?}", info.device_type),
            driver: info.driver.clone(),
            driver_info: info.driver_info.clone(),
            max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
            max_buffer_size: limits.max_buffer_size,
            max_storage_buffers_per_shader_stage: limits.max_storage_buffers_per_shader_stage,
            max_compute_invocations_per_workgroup: limits.max_compute_invocations_per_workgroup,
            max_compute_workgroup_size: [
                limits.max_compute_workgroup_size_x,
                limits.max_compute_workgroup_size_y,
                limits.max_compute_workgroup_size_z,
            ],
            max_compute_workgroup_storage_size: limits.max_compute_workgroup_storage_size,
            max_compute_workgroups_per_dimension: limits.max_compute_workgroups_per_dimension,
            subgroup_min_size: info.subgroup_min_size,
            subgroup_max_size: info.subgroup_max_size,
            timestamp_query: features.contains(wgpu::Features::TIMESTAMP_QUERY),
            shader_f16: features.contains(wgpu::Features::SHADER_F16),
            subgroups: features.contains(wgpu::Features::SUBGROUP),
            opens: None,
            open_error: None,
        }
    }

    /// The human-readable block `netdx adapters` prints for one adapter.
    pub fn to_text(&self) -> String {
        let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
        format!(
            "[{}] {}\n    backend {}, type {}, driver {} {}\n    largest storage binding {:.0} MiB, largest buffer {:.0} MiB, storage buffers per stage {}\n    workgroup: {} invocations, size {:?}, {} bytes shared, {} groups per dimension\n    subgroup size {}..{}, subgroups {}, timestamp queries {}, shader-f16 {}",
            self.index,
            self.name,
            self.backend,
            self.device_type,
            self.driver,
            self.driver_info,
            mib(self.max_storage_buffer_binding_size),
            mib(self.max_buffer_size),
            self.max_storage_buffers_per_shader_stage,
            self.max_compute_invocations_per_workgroup,
            self.max_compute_workgroup_size,
            self.max_compute_workgroup_storage_size,
            self.max_compute_workgroups_per_dimension,
            self.subgroup_min_size,
            self.subgroup_max_size,
            yes_no(self.subgroups),
            yes_no(self.timestamp_query),
            yes_no(self.shader_f16),
        ) + &match (self.opens, &self.open_error) {
            (Some(true), _) => "\n    device: opens".to_string(),
            (Some(false), Some(e)) => format!("\n    device: does not open: {e}"),
            _ => String::new(),
        }
    }
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// Every adapter the choice's backends can see, indexed as `--adapter` expects, each tried by
/// opening a device on it.
pub fn describe_adapters(choice: &AdapterChoice) -> Vec<AdapterReport> {
    let (_instance, adapters) = choice.enumerate();
    adapters
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let mut report = AdapterReport::new(i, &a.get_info(), &a.limits(), a.features());
            let opened =
                pollster::block_on(a.request_device(&super::context::device_descriptor(a)));
            report.opens = Some(opened.is_ok());
            report.open_error = opened.err().map(|e| e.to_string());
            report
        })
        .collect()
}
