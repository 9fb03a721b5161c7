//! Compiles the ONNX schema (`proto/onnx.proto3`, the ONNX project's file as published) into
//! Rust types with prost, using protox (a protobuf compiler written in Rust) so that building
//! netdx needs no `protoc`.

fn main() {
    let proto = "proto/onnx.proto3";
    println!("cargo:rerun-if-changed={proto}");
    let files = protox::compile([proto], ["proto"]).expect("proto/onnx.proto3 compiles");
    prost_build::Config::new()
        .compile_fds(files)
        .expect("prost generates the ONNX types");
}
