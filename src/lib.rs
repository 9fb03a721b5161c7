//! netdx: the neural-network debugging checklist as a runnable, GPU-accelerated test suite.
//!
//! Data flows one way: YAML config → validated spec → model graph (`graph`, built by the
//! `model` front-end) → plan (`plan`: pipelines and buffers made once) → steps (`train`:
//! encode, submit, one small read-back) → statistics → checks → report and run record.

pub mod app;
pub mod bench;
pub mod checks;
pub mod cli;
pub mod config;
pub mod corpus;
pub mod data;
pub mod env_var;
pub mod error;
pub mod gpu;
pub mod graph;
pub mod interrupt;
pub mod io;
pub mod kernels;
pub mod limits;
pub mod model;
pub mod onnx;
pub mod ops;
pub mod plan;
pub mod reference;
pub mod report;
pub mod rng;
pub mod runs;
pub mod suite;
pub mod text;
pub mod train;

pub use error::{Error, Result};
