//! Compiles the protocol buffers netdx reads and writes into Rust types with prost, using protox
//! (a protobuf compiler written in Rust) so that building netdx needs no `protoc`: the ONNX
//! schema (`proto/onnx.proto3`, the ONNX project's file as published) for models, and
//! TensorBoard's event and HParams schemas (`proto/tensorboard/`, see its README) for
//! `--tensorboard`.

const PROTOS: [&str; 3] = [
    "proto/onnx.proto3",
    "proto/tensorboard/compat/proto/event.proto",
    "proto/tensorboard/plugins/hparams/plugin_data.proto",
];

fn main() {
    // The imported files count too: any change under proto/ regenerates.
    println!("cargo:rerun-if-changed=proto");
    let files = protox::compile(PROTOS, ["proto"]).expect("the files under proto/ compile");
    prost_build::Config::new()
        // The HParams sessions' map of hyperparameters, encoded in name order: the same run
        // writes the same bytes.
        .btree_map([".tensorboard"])
        .compile_fds(files)
        .expect("prost generates the ONNX and TensorBoard types");
}
