//! The one GL error wgpu does not check: `glBufferStorage` running out of memory. wgpu's GL
//! backend ignores it and hands back a buffer with no storage, so training goes on with
//! zeros where gradients or optimizer state should be — silently wrong results (seen on
//! llvmpipe under an address-space limit: a different loss at step 2, no error). netdx asks GL
//! after every allocation instead.

/// Whether GL has flagged `GL_OUT_OF_MEMORY` since the last call; `false` on other backends.
pub(crate) fn gl_out_of_memory(device: &wgpu::Device) -> bool {
    #[cfg(not(target_arch = "wasm32"))]
    {
        use glow::HasContext;
        // SAFETY: the hal device is only borrowed to read GL's error flags; nothing is created
        // or destroyed through it.
        let Some(hal) = (unsafe { device.as_hal::<wgpu::hal::api::Gles>() }) else {
            return false;
        };
        let gl = hal.context().lock();
        // glGetError returns one flag per call until none are left.
        let mut out_of_memory = false;
        for _ in 0..16 {
            // SAFETY: glGetError has no preconditions beyond a current context, which the
            // lock makes current.
            match unsafe { gl.get_error() } {
                glow::NO_ERROR => break,
                glow::OUT_OF_MEMORY => out_of_memory = true,
                _ => {}
            }
        }
        out_of_memory
    }
    #[cfg(target_arch = "wasm32")]
    {
        let _ = device;
        false
    }
}
