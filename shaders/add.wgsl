// y[i] = a[i] + b[i % period]: a residual connection (period = n), learned positions added to
// a [batch, seq, d] activation (b the first seq·d values of the table, period = seq·d), and
// gradient accumulation. y must be a third buffer: wgpu refuses a buffer bound both read-only
// and read-write in one dispatch. add_vec4.wgsl serves periods that are multiples of 4.
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p.n) {
        return;
    }
    y[i] = a[i] + b[i % max(p.period, 1u)];
}
