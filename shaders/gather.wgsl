// Copies the rows idx[0..batch] of the resident dataset (x_all [N, x_width], y_all
// [N, y_width]) into the batch buffers. The host writes only the batch's indices each step.
struct Params {
    batch: u32,
    x_width: u32,
    y_width: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> idx: array<u32>;
@group(0) @binding(2) var<storage, read> x_all: array<f32>;
@group(0) @binding(3) var<storage, read> y_all: array<f32>;
@group(0) @binding(4) var<storage, read_write> x_batch: array<f32>;
@group(0) @binding(5) var<storage, read_write> y_batch: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    let nx = p.batch * p.x_width;
    if (i < nx) {
        let row = i / p.x_width;
        let col = i % p.x_width;
        x_batch[i] = x_all[idx[row] * p.x_width + col];
        return;
    }
    let k = i - nx;
    if (k < p.batch * p.y_width) {
        let row = k / p.y_width;
        let col = k % p.y_width;
        y_batch[k] = y_all[idx[row] * p.y_width + col];
    }
}
