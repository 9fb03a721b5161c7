//! The GPU runtime: the only module that builds wgpu objects. Everything above it asks for
//! buffers, pipelines and submissions through [`Gpu`], so limits are checked in one place and
//! validation errors come back as typed errors naming the kernel or tensor.

mod adapters;
mod buffers;
mod context;
mod gl_errors;
mod pipelines;
mod profile;
pub mod watchdog;

pub use adapters::{describe_adapters, AdapterReport};
pub use buffers::{Tensor, TensorUsage};
pub use context::{AdapterChoice, BackendName, Gpu};
pub use pipelines::{Dispatch, Kernel};
