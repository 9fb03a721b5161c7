//! The one error type of the library. Every variant carries enough context for a user to act on
//! it without a backtrace: the file and position of a bad key, the layer whose shapes disagree,
//! the kernel a validation error came from, the limit a tensor exceeds.

use std::path::PathBuf;

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A YAML config that does not parse or does not fit the schema.
    #[error("{file}:{line}:{column}: {message}")]
    Config {
        file: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },

    /// A config that parses but asks for something impossible (value out of range, wrong loss).
    #[error("{file}: {key}: {message}")]
    ConfigValue {
        file: PathBuf,
        key: String,
        message: String,
    },

    /// A data file that cannot be used: the file, and the tensor (in a file of several), line
    /// (of a text file such as a CSV: 1-based, blank lines counted, as an editor shows it) and
    /// column where known.
    #[error("{file}{}: {message}", location(tensor.as_deref(), *line, column.as_deref()))]
    Data {
        file: PathBuf,
        tensor: Option<String>,
        line: Option<u64>,
        column: Option<String>,
        message: String,
    },

    /// Initial weights that do not fit the model: one line per missing, extra or misshapen
    /// tensor.
    #[error("{file}: the weights do not fit the model:\n  {}", problems.join("\n  "))]
    Weights {
        file: PathBuf,
        problems: Vec<String>,
    },

    /// A checkpoint that cannot resume this run: one line per reason (not a checkpoint, another
    /// optimizer, a missing or misshapen moment).
    #[error("{file}: this checkpoint cannot resume the run:\n  {}", problems.join("\n  "))]
    Checkpoint {
        file: PathBuf,
        problems: Vec<String>,
    },

    /// Two consecutive layers whose widths do not match. `layer` is the top-level layer,
    /// `name` the layer as a user reads it (`3`, or `2.1` inside a block), `path` its config
    /// key path (`model.layers[2].residual[1]`).
    #[error("layer {name} ({kind}): expects input width {expected}, but the previous layer gives {found}")]
    Shape {
        layer: usize,
        path: String,
        name: String,
        kind: String,
        expected: usize,
        found: usize,
    },

    /// A layer that cannot take what the layer before it gives (an image where a vector is
    /// needed, a kernel larger than its padded input, a block that changes the residual
    /// stream, …).
    #[error("layer {name} ({kind}): {message}")]
    LayerShape {
        layer: usize,
        path: String,
        name: String,
        kind: String,
        message: String,
    },

    /// An ONNX model that cannot be read or imported: `node` names the node (its name, op
    /// type and opset) or the tensor the message is about.
    #[error("{}: {}{message}", file.display(), node.as_deref().map(|n| format!("{n}: ")).unwrap_or_default())]
    Onnx {
        file: PathBuf,
        node: Option<String>,
        message: String,
    },

    /// The declared input image shape does not fit the data.
    #[error("model.shape: {message}")]
    InputShape { message: String },

    /// The model's output does not fit the loss or the data.
    #[error("model output: {message}")]
    OutputShape {
        message: String,
        /// The loss does not fit the task (rather than a layer's width the data).
        loss_at_fault: bool,
    },

    /// No adapter could be found at all.
    #[error("no GPU adapter found (backends tried: {tried}).\n  hint: {hint}")]
    NoAdapter {
        tried: String,
        /// The adapters on the backends left out, or how to install a software adapter.
        hint: String,
    },

    /// An adapter selector that matches none of the adapters present.
    #[error("no adapter matches `{selector}`; adapters present:\n{available}")]
    AdapterNotFound { selector: String, available: String },

    /// The device could not be created.
    #[error("could not open a device on `{adapter}`: {message}")]
    RequestDevice { adapter: String, message: String },

    /// A buffer that exceeds one of the adapter's limits.
    #[error(
        "tensor `{tensor}` needs {bytes} bytes, more than the adapter's {limit} ({max} bytes)"
    )]
    BufferLimit {
        tensor: String,
        bytes: u64,
        limit: &'static str,
        max: u64,
    },

    /// A WGSL source that naga rejects.
    #[error("shader {file}:{line}:{column}: {message}")]
    Shader {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },

    /// A wgpu validation or out-of-memory error caught by an error scope.
    #[error("GPU error in `{kernel}`: {message}")]
    Gpu { kernel: String, message: String },

    /// The driver could not allocate a buffer.
    #[error("out of GPU memory allocating `{tensor}` (try a smaller model or batch size)")]
    OutOfMemory { tensor: String },

    /// The device stopped working: a driver reset, a removed GPU, or memory the driver could
    /// not allocate (wgpu treats that as fatal on some backends).
    #[error("the GPU device was lost at `{during}`: {reason} (a driver reset, a removed GPU, or memory the driver could not allocate; `netdx adapters` shows whether the GPU is still there)")]
    DeviceLost { during: String, reason: String },

    /// Waiting for the GPU failed or timed out.
    #[error("waiting for the GPU failed: {0} (NETDX_GPU_TIMEOUT_S sets how long a wait may take; default 600 s)")]
    Poll(String),

    /// Mapping a read-back buffer failed.
    #[error("reading `{0}` back from the GPU failed (was the device lost or reset? `netdx adapters` shows whether it is still there)")]
    ReadBack(String),

    /// Training produced a non-finite loss; the records written so far are kept. `step`
    /// counts from 0 (as `--dump-step` does); the message also gives the 1-based count that
    /// progress lines print.
    #[error("non-finite loss at step {step} (steps count from 0, as in the records; `--dump FILE --dump-step {step}` captures its tensors)")]
    NonFinite { step: usize },

    /// Ctrl-C or SIGTERM: the step in flight finished and the records so far are kept.
    #[error("interrupted after step {} (the records so far are kept)", step + 1)]
    Interrupted { step: usize },

    /// An interrupted `train` whose state after the step was saved as a checkpoint: the
    /// message gives the command that continues the run.
    #[error("interrupted after step {} (the records so far are kept); its state is saved in {}; go on with: {resume}", step + 1, checkpoint.display())]
    InterruptedResumable {
        step: usize,
        checkpoint: PathBuf,
        resume: String,
    },

    /// A run record that cannot be read back: empty, truncated or corrupt.
    #[error("{path}: the run record is {message}; netdx cannot read this run (restore the file, or move its folder out of the runs folder)")]
    Record { path: PathBuf, message: String },

    /// A file refused before or while reading it: not a regular file (a directory, a named
    /// pipe, a device), a symbolic link loop, or more bytes than its limit.
    #[error("{path}: {problem}")]
    File {
        path: PathBuf,
        #[source]
        problem: crate::io::Refused,
    },

    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{0}")]
    Usage(String),
}

impl Error {
    /// Process exit code: 2 for usage and config errors (the user must change something before
    /// running again), 1 for everything that went wrong while running.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Config { .. }
            | Error::ConfigValue { .. }
            | Error::Data { .. }
            | Error::Weights { .. }
            | Error::Checkpoint { .. }
            | Error::Onnx { .. }
            | Error::Shape { .. }
            | Error::LayerShape { .. }
            | Error::InputShape { .. }
            | Error::OutputShape { .. }
            | Error::NoAdapter { .. }
            | Error::AdapterNotFound { .. }
            | Error::BufferLimit { .. }
            | Error::Io { .. }
            | Error::Record { .. }
            | Error::File { .. }
            | Error::Usage(_) => 2,
            Error::Interrupted { .. } | Error::InterruptedResumable { .. } => 130,
            _ => 1,
        }
    }
}

fn location(tensor: Option<&str>, line: Option<u64>, column: Option<&str>) -> String {
    let tensor = tensor
        .map(|t| format!(": tensor `{t}`"))
        .unwrap_or_default();
    tensor
        + &match (line, column) {
            (Some(l), Some(c)) => format!(": line {l}, column `{c}`"),
            (Some(l), None) => format!(": line {l}"),
            (None, Some(c)) => format!(": column `{c}`"),
            (None, None) => String::new(),
        }
}
