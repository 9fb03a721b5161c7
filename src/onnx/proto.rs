//! The ONNX schema as Rust types, generated at build time by prost from `proto/onnx.proto3`
//! (the ONNX project's own file; see `build.rs`).

#![allow(clippy::all, missing_docs)]

include!(concat!(env!("OUT_DIR"), "/onnx.rs"));
