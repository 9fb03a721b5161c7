//! Command-line interface: clap derive structs only; `main.rs` dispatches them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::gpu::{AdapterChoice, BackendName};

#[derive(Parser, Debug)]
#[command(
    name = "netdx",
    version,
    about = "The neural-network debugging checklist as a GPU-accelerated test suite"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// List every GPU adapter on every backend, with the limits that matter for compute.
    Adapters {
        #[command(flatten)]
        device: DeviceArgs,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Train a model described by a YAML config and print loss and accuracy as it goes.
    Train {
        /// The config file (see configs/spiral.yaml).
        config: PathBuf,
        /// Override `training.steps`.
        #[arg(long)]
        steps: Option<usize>,
        /// Print progress every N steps (0: only the summary).
        #[arg(long, default_value_t = 100)]
        every: usize,
        /// End with one JSON object (steps, loss, train_accuracy, adapter, …) on stdout.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        device: DeviceArgs,
    },
    /// Measure the adapter's peaks, the kernels and the training step, as ratios.
    Bench {
        /// Smaller sizes and fewer repetitions (for a quick look or CI).
        #[arg(long)]
        quick: bool,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        device: DeviceArgs,
    },
}

/// Adapter selection shared by every command that uses the GPU.
#[derive(Args, Debug, Clone, Default)]
pub struct DeviceArgs {
    /// Adapter index (from `netdx adapters`) or a substring of its name.
    #[arg(long)]
    pub adapter: Option<String>,
    /// Restrict to one backend (default: WGPU_BACKEND, else all).
    #[arg(long, value_enum)]
    pub backend: Option<BackendName>,
}

impl DeviceArgs {
    pub fn choice(&self) -> AdapterChoice {
        AdapterChoice {
            backend: self.backend,
            adapter: self.adapter.clone(),
        }
    }
}
