//! One test binary (as wgpu's own tests do), so the GPU device is opened once and shared.
//! Tiers: shader validation (no GPU), kernels against the f64 reference, whole training runs,
//! and the command line. See docs/testing.md.

mod common;

mod bad_configs;
mod checks;
mod cli;
mod cnn;
mod corpus;
mod data;
mod data_sequence;
mod diagnosis;
mod fuzz;
mod golden;
mod graphs;
mod hostile;
mod kernels;
mod onnx;
mod onnx_errors;
mod report;
mod resume;
mod robust_config;
mod robust_gpu;
mod robust_io;
mod robust_records;
mod robustness;
mod runs;
mod schema;
mod sequence_kernels;
mod shaders;
mod shard;
mod torch_fixtures;
mod training;
mod user_kernels;
mod weights;
