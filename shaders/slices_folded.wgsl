// The entry point of slices.wgsl's kernels that also fold every value they write into partial
// statistics, as reduce_partial would read them back (so the numbers are the same bit for bit,
// and the tensor is not read again): each of p.fold_lanes invocations writes slices q = lane,
// lane + fold_lanes, …, folds each slice's values below p.n in order, and stores its partial
// record at partials[p.fold_partial + 8·lane] for reduce_combine. A file of the kernel's own
// declares partials after its other bindings. Bit for bit where the compiler does not fuse the
// value's last multiply into the Welford update (the software adapters, where it is tested);
// to rounding where it does.
@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let lane = gid.x + gid.y * nwg.x * 256u;
    if (lane >= p.fold_lanes) {
        return;
    }
    var a = acc_empty();
    let slices = (p.n + 3u) / 4u;
    for (var q = lane; q < slices; q = q + p.fold_lanes) {
        let v = slice_value(q);
        y[q] = v;
        a = push_slice(a, v, q, p.n);
    }
    let o = p.fold_partial + lane * 8u;
    partials[o] = a.count;
    partials[o + 1u] = a.mean;
    partials[o + 2u] = a.m2;
    partials[o + 3u] = a.sum;
    partials[o + 4u] = a.sumsq;
    partials[o + 5u] = a.lo;
    partials[o + 6u] = a.hi;
    partials[o + 7u] = a.bad;
}
