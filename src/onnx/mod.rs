//! The ONNX front-end of the model IR: a model exported from PyTorch (`torch.onnx.export`,
//! TorchScript or dynamo exporter) becomes a [`Graph`](crate::graph::Graph) whose parameters
//! are the file's initializers under their own names (the PyTorch `state_dict` names) and
//! whose initial values are the file's weights.
//!
//! The flow: [`file`] decodes the protobuf (prost, from the ONNX project's schema compiled at
//! build time), checks the opset and reads weights kept in external files; [`import`]
//! walks the nodes in order, folds every op whose inputs are constants ([`fold`]: the shape
//! arithmetic exporters emit), and maps the rest onto IR ops, deciding what is trainable by
//! the position an initializer feeds (a Gemm's B and C, a Conv's W and B, a normalization's
//! scale and bias, an embedding's table), never by its presence in the file.

mod attrs;
mod file;
mod fold;
mod import;
mod proto;
mod tensor;

pub use file::OPSETS;
pub use import::{import, import_for_shape, SUPPORTED_OPS};
