//! Every kernel parses and validates with naga, and its declared bindings and override
//! constants match naga's reflection of the shader — so the Rust side cannot drift from WGSL.

use netdx::kernels::{self, source, Binding};

#[test]
fn every_kernel_validates_and_matches_its_declared_bindings() {
    for k in kernels::ALL {
        let module = source::validate(k.files).unwrap_or_else(|e| panic!("{}: {e}", k.name));
        let ep = module
            .entry_points
            .iter()
            .find(|e| e.name == "main")
            .unwrap_or_else(|| panic!("{}: no entry point `main`", k.name));
        assert_eq!(ep.stage, naga::ShaderStage::Compute, "{}", k.name);
        assert_eq!(ep.workgroup_size, k.workgroup, "{}: workgroup size", k.name);

        let mut found: Vec<(u32, Binding)> = Vec::new();
        for (_, var) in module.global_variables.iter() {
            let Some(rb) = &var.binding else { continue };
            assert_eq!(rb.group, 0, "{}: group of {:?}", k.name, var.name);
            let kind = match var.space {
                naga::AddressSpace::Uniform => Binding::Uniform,
                naga::AddressSpace::Storage { access } => {
                    if access.contains(naga::StorageAccess::STORE) {
                        Binding::ReadWrite
                    } else {
                        Binding::Read
                    }
                }
                other => panic!("{}: unexpected address space {other:?}", k.name),
            };
            found.push((rb.binding, kind));
        }
        found.sort_by_key(|(b, _)| *b);
        let declared: Vec<(u32, Binding)> = k
            .bindings
            .iter()
            .enumerate()
            .map(|(i, b)| (i as u32, *b))
            .collect();
        assert_eq!(
            found, declared,
            "{}: bindings differ from the shader",
            k.name
        );

        let mut overrides: Vec<String> = module
            .overrides
            .iter()
            .filter_map(|(_, o)| o.name.clone())
            .collect();
        overrides.sort();
        let mut consts: Vec<String> = k.constants.iter().map(|s| s.to_string()).collect();
        consts.sort();
        assert_eq!(overrides, consts, "{}: override constants", k.name);
    }
}

#[test]
fn shader_errors_name_the_file_and_line() {
    static LIB: source::WgslFile = source::WgslFile {
        name: "lib.wgsl",
        text: "fn ok() -> f32 { return 1.0; }\n",
    };
    static BAD: source::WgslFile = source::WgslFile {
        name: "user.wgsl",
        text: "// a comment\nfn broken() -> f32 {\n  return undefined_name;\n}\n",
    };
    let err = source::validate(&[LIB, BAD]).expect_err("must fail");
    let msg = err.to_string();
    assert!(
        msg.contains("user.wgsl:3:"),
        "message should point at user.wgsl line 3: {msg}"
    );
}

/// A kernel naga accepts but the device refuses — its workgroup is one invocation over this
/// adapter's `max_compute_invocations_per_workgroup` (the limit differs between backends and
/// vendors, so the same WGSL can compile on one and fail on another) — gives a typed error
/// naming the kernel, not a panic.
#[test]
fn a_kernel_the_device_rejects_is_named_in_a_typed_error() {
    let Some(gpu) = crate::common::gpu() else {
        return;
    };
    let over = gpu.limits().max_compute_invocations_per_workgroup + 1;
    let text: &'static str = Box::leak(
        format!(
            "@group(0) @binding(0) var<storage, read_write> out: array<f32>;\n\
             @compute @workgroup_size({over})\n\
             fn main(@builtin(global_invocation_id) id: vec3<u32>) {{ out[id.x] = 1.0; }}\n"
        )
        .into_boxed_str(),
    );
    let kernel: &'static kernels::Kernel = Box::leak(Box::new(kernels::Kernel {
        name: "oversized_workgroup",
        files: Box::leak(Box::new([source::WgslFile {
            name: "oversized.wgsl",
            text,
        }])),
        bindings: &[Binding::ReadWrite],
        workgroup: [over, 1, 1],
        constants: &[],
    }));
    source::validate(kernel.files).expect("naga alone accepts the kernel");
    let out = gpu
        .tensor("out", 4, netdx::gpu::TensorUsage::Storage)
        .unwrap();
    match gpu.dispatch(kernel, &[], &[&out.buffer], [1, 1, 1]) {
        Ok(_) => panic!("a workgroup of {over} invocations was accepted"),
        Err(netdx::Error::Gpu { kernel, message }) => {
            assert_eq!(kernel, "oversized_workgroup");
            assert!(!message.is_empty());
            eprintln!("refused: {message}");
        }
        Err(e) => panic!("expected a GPU error naming the kernel, got: {e}"),
    }
}
