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
    /// Run the debugging checklist of a suite (default: the built-in suite on the spiral data)
    /// and report each check as pass / warn / fail. Exit 0 all passed, 1 a check failed.
    Run(RunArgs),
    /// Check config or suite files without running them: they parse, every case is valid, the
    /// data loads and the model fits it and the loss. Exit 0 when all are valid, 2 otherwise.
    Validate {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print a JSON Schema of the suite format (for editors' YAML completion and validation).
    Schema,
    /// List every check with its section, parameters and defaults.
    Checks {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List every GPU adapter on every backend, with the limits that matter for compute.
    Adapters {
        #[command(flatten)]
        device: DeviceArgs,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Train a model described by a YAML config and print loss and accuracy as it goes.
    Train(TrainArgs),
    /// Run the calibration corpus (tests/corpus/): healthy suites that should pass every check
    /// and suites with one planted problem that a named check must catch with a named fix,
    /// each over several seeds on one GPU. Prints per check the healthy pass / warn / fail /
    /// skip counts and the planted caught / flagged by another check / missed counts, totals
    /// per part (calibration, held-out), every false alarm and miss, and the slowest suites.
    /// Exit 0 when the targets are met (no healthy failure, at most one healthy warning per
    /// four suite runs, every planted entry caught with its fix on every seed), 1 when not,
    /// 2 on a usage or config error.
    Corpus(CorpusArgs),
    /// List, show, compare, rerun and prune run records.
    Runs {
        #[command(subcommand)]
        command: RunsCommand,
        /// The runs folder (default: NETDX_RUNS_DIR, else ./runs).
        #[arg(long, value_name = "DIR", global = true)]
        runs_dir: Option<PathBuf>,
    },
    /// Write a recorded run's HTML report: one self-contained file with the verdict table and
    /// plots (loss, learning-rate range, gradient norms, update ratios, dead units, activation
    /// histograms, saliency).
    Report {
        /// The run (any unique prefix of its id).
        id: String,
        /// Where to write it (default: report.html in the run's folder).
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// The runs folder (default: NETDX_RUNS_DIR, else ./runs).
        #[arg(long, value_name = "DIR")]
        runs_dir: Option<PathBuf>,
    },
    /// Merge the records of a suite's shards (`netdx run --shard K/N`) into one record with
    /// the report the unsharded run gives: checks.json, junit.xml, report.txt. Refuses shards
    /// of different suites, configs or options, and names missing shards (exit 2).
    Merge {
        /// The shards' run record folders.
        #[arg(required = true)]
        records: Vec<PathBuf>,
        /// The folder to write the merged record into (created; must not hold a record).
        #[arg(long, short)]
        output: PathBuf,
        /// Report format on stdout.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Save or list baselines: a known-good run's statistics at initialization, for
    /// `netdx run --baseline NAME` in CI.
    Baseline {
        #[command(subcommand)]
        command: BaselineCommand,
        /// The runs folder (default: NETDX_RUNS_DIR, else ./runs).
        #[arg(long, value_name = "DIR", global = true)]
        runs_dir: Option<PathBuf>,
    },
    /// Measure the adapter's peaks, the kernels and the training step, as ratios.
    Bench {
        /// Smaller sizes and fewer repetitions (for a quick look or CI).
        #[arg(long)]
        quick: bool,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// A user WGSL activation to measure beside the built-ins (repeatable).
        #[arg(long = "kernel", value_name = "FILE.wgsl")]
        kernels: Vec<PathBuf>,
        /// Measure only this ONNX model: the time to import it and its training steps per
        /// second, bare and fully instrumented, on random data of its input shape.
        #[arg(long, value_name = "FILE.onnx")]
        onnx: Option<PathBuf>,
        /// The ONNX model's input dimensions per example, where the file leaves them open
        /// (`--input 3,32,32`).
        #[arg(long, value_name = "DIMS", value_delimiter = ',', requires = "onnx")]
        input: Vec<usize>,
        #[command(flatten)]
        device: DeviceArgs,
    },
}

/// `netdx run`.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// The suite file; without it, the built-in default suite (configs/default.yaml).
    pub suite: Option<PathBuf>,
    /// Report format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Also write a JUnit XML report (a test case per check) to this file.
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Run only these checks (comma-separated or repeated; `*` and `?` match any text and any
    /// character: `--only 'gradient_*'`).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Leave out these checks (comma-separated or repeated; patterns as for --only).
    #[arg(long, value_delimiter = ',')]
    pub skip: Vec<String>,
    #[command(flatten)]
    pub settings: SettingsArgs,
    /// Exit 1 when a check warns, as when one fails (a CI that treats warnings as errors).
    #[arg(long)]
    pub fail_on_warn: bool,
    /// Stop at the first failed check; the report holds the checks run until then.
    #[arg(long)]
    pub fail_fast: bool,
    /// After the report, list the N slowest checks with their times (default 10).
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "10")]
    pub durations: Option<usize>,
    /// Colour the verdicts: auto (a terminal, unless NO_COLOR is set), always or never.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,
    /// Re-run each failing or warning check with its cheap fix (learning rate ÷ 10, a
    /// smaller init, …) and report the verdict before and after.
    #[arg(long)]
    pub try_fixes: bool,
    /// Also compare the statistics at initialization with this saved baseline (see
    /// `netdx baseline save`) and fail when one moved out of its band.
    #[arg(long, value_name = "NAME")]
    pub baseline: Option<String>,
    /// Also write the HTML report (verdicts and plots) into the run's record folder.
    #[arg(long)]
    pub report: bool,
    /// Run only shard K of N (`2/3`) of the suite's checks, split by a hash of case and check;
    /// `auto` (or `auto/N`) takes K and N from Slurm array or Kubernetes Indexed Job variables.
    /// Merge the shards' records with `netdx merge`.
    #[arg(long, value_name = "K/N|auto")]
    pub shard: Option<String>,
    #[command(flatten)]
    pub record: RecordArgs,
    #[command(flatten)]
    pub device: DeviceArgs,
}

/// Values written over the config from the command line (recorded with the run).
#[derive(Args, Debug, Clone, Default)]
pub struct SettingsArgs {
    /// Set a config value: `--set training.optimizer.lr=0.01` (repeatable; the value is YAML),
    /// as a `cases:` entry's `set:` does.
    #[arg(long = "set", value_name = "KEY.PATH=VALUE")]
    pub set: Vec<String>,
    /// The seed (the same as `--set seed=N`).
    #[arg(long)]
    pub seed: Option<u64>,
}

impl SettingsArgs {
    pub fn all(&self) -> Vec<String> {
        crate::config::settings::from_flags(&self.set, self.seed)
    }
}

/// `--color`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

impl ColorArg {
    /// Whether to colour stdout.
    pub fn enabled(self) -> bool {
        match self {
            ColorArg::Auto => crate::report::use_color(),
            ColorArg::Always => true,
            ColorArg::Never => false,
        }
    }
}

/// `netdx corpus`.
#[derive(Args, Debug, Clone)]
pub struct CorpusArgs {
    /// The corpus manifest.
    #[arg(default_value = "tests/corpus/manifest.yaml")]
    pub manifest: PathBuf,
    /// Run each suite with seeds 0..N (its `seed` replaced by each).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..))]
    pub seeds: u64,
    /// Which entries: those kept for calibrating thresholds, those held out, or all.
    #[arg(long, value_enum, default_value_t = PartArg::All)]
    pub part: PartArg,
    /// Only the entries marked `fast: true` (the subset tests/corpus.rs runs).
    #[arg(long)]
    pub fast: bool,
    /// Print the results as JSON: per entry and seed every finding's check, verdict,
    /// measured value, message and fix.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub device: DeviceArgs,
}

/// `netdx corpus --part`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PartArg {
    Calibration,
    HeldOut,
    All,
}

/// `netdx train`.
#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    /// The config file (see configs/spiral.yaml).
    pub config: PathBuf,
    /// Override `training.steps`.
    #[arg(long)]
    pub steps: Option<usize>,
    #[command(flatten)]
    pub settings: SettingsArgs,
    /// Print progress every N steps (0: only the summary).
    #[arg(long, default_value_t = 100)]
    pub every: usize,
    /// Evaluate on the validation split every N steps (and after the last): printed, in the
    /// record's metrics (`validation_loss`, `validation_accuracy`), TensorBoard and the report.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub eval_every: Option<u64>,
    /// End with one JSON object (steps, loss, train_accuracy, adapter, …) on stdout.
    #[arg(long)]
    pub json: bool,
    /// Start from these weights (safetensors, netdx or PyTorch nn.Sequential names)
    /// instead of `model.weights` or the seeded init.
    #[arg(long, value_name = "FILE.safetensors")]
    pub weights: Option<PathBuf>,
    /// Write the final weights here (safetensors: `layers.{i}.*` names, an ONNX model's own
    /// names; loadable again with --weights or `model.weights`, and by PyTorch's
    /// `load_state_dict`).
    #[arg(long, value_name = "FILE.safetensors")]
    pub save: Option<PathBuf>,
    /// With --save, also write the optimizer's state and the step (`optimizer.{tensor}.exp_avg`,
    /// `.exp_avg_sq`, `.momentum_buffer`, as PyTorch names them), so `--resume` continues the
    /// run exactly; `--weights` and PyTorch (`strict=False`) still read the weights.
    #[arg(long, requires = "save")]
    pub save_optimizer: bool,
    /// Continue a run from a checkpoint (`--save-optimizer`, `--checkpoint-every`, or the one
    /// an interrupted run leaves in its record): its weights, optimizer state and step. With
    /// the same config and steps, the result is bit for bit the uninterrupted run's.
    #[arg(
        long,
        value_name = "CHECKPOINT.safetensors",
        conflicts_with = "weights"
    )]
    pub resume: Option<PathBuf>,
    /// Also save the state every N steps and after the last, into the run record's
    /// `checkpoint.safetensors` (an interrupted run saves it there anyway).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub checkpoint_every: Option<u64>,
    /// Write every tensor of one step here: weights before the update, gradients, each
    /// layer's output, the batch and the loss (names in the README).
    #[arg(long, value_name = "FILE.safetensors")]
    pub dump: Option<PathBuf>,
    /// The step --dump captures, counted from 0.
    #[arg(long, default_value_t = 0, requires = "dump")]
    pub dump_step: usize,
    #[command(flatten)]
    pub record: RecordArgs,
    #[command(flatten)]
    pub device: DeviceArgs,
}

/// Where a run's record goes.
#[derive(Args, Debug, Clone, Default)]
pub struct RecordArgs {
    /// The runs folder (default: NETDX_RUNS_DIR, else ./runs).
    #[arg(long, value_name = "DIR")]
    pub runs_dir: Option<PathBuf>,
    /// Do not leave a run record.
    #[arg(long)]
    pub no_record: bool,
    /// Also write TensorBoard event files into DIR/<run id>/ (one sub-folder per case of a
    /// sweep): the step scalars, and for `run` the activation histograms.
    #[arg(long, value_name = "DIR")]
    pub tensorboard: Option<PathBuf>,
}

/// `netdx runs …`.
#[derive(Subcommand, Debug)]
pub enum RunsCommand {
    /// A table of the recorded runs, oldest first.
    List {
        /// Only runs whose suite name or file contains this.
        #[arg(long)]
        suite: Option<String>,
        /// Only runs with this status.
        #[arg(long, value_enum)]
        status: Option<StatusArg>,
        /// Only runs started at or after this: a date (2026-12-01), a UTC time
        /// (2026-12-01T08:30), today, yesterday, or an age (90m, 24h, 7d, 2w).
        #[arg(long, value_name = "WHEN")]
        since: Option<String>,
        /// Print the records as JSON.
        #[arg(long)]
        json: bool,
    },
    /// One run: what ran, on what, how it ended, and its checks.
    Show {
        /// A run id, or any unique prefix of it or of its short id.
        id: String,
        /// Print record.json.
        #[arg(long)]
        json: bool,
    },
    /// Two runs side by side: config, environment, verdicts and step metrics.
    Diff { a: String, b: String },
    /// Run again from the record and say whether the result matched, and why not.
    Rerun {
        id: String,
        #[command(flatten)]
        device: DeviceArgs,
    },
    /// Remove all but the newest runs (running ones are kept).
    Gc {
        /// How many finished runs to keep.
        #[arg(long)]
        keep: usize,
        /// Only list what would be removed.
        #[arg(long)]
        dry_run: bool,
    },
}

/// `netdx baseline …`.
#[derive(Subcommand, Debug)]
pub enum BaselineCommand {
    /// Save the statistics of a recorded `netdx run` as a named baseline.
    Save {
        /// The run (any unique prefix of its id).
        id: String,
        /// The baseline's name (default: the suite's name).
        #[arg(long)]
        name: Option<String>,
    },
    /// List the saved baselines.
    List,
}

/// Run statuses, for `runs list --status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum StatusArg {
    Running,
    Passed,
    Failed,
    Interrupted,
    Crashed,
    /// Running elsewhere as far as its heartbeat says (another host or PID namespace).
    Unknown,
}

/// Report formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
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
