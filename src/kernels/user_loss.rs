//! Losses written by users in WGSL. A user file defines, for one example,
//!
//! ```wgsl
//! fn loss() -> f32          // this example's loss
//! fn grad(j: u32) -> f32    // d loss / d logit(j)
//! ```
//!
//! reading the example through functions netdx provides: `logit(j)`, `label(j)` (with class
//! labels, `label(0u)` is the class index) and `outputs()`. netdx averages over the batch,
//! scales the gradient by 1/batch and counts accuracy (argmax, or a single logit's sign, against
//! the class) as it does for its own losses. Override constants are parameters, as for user
//! activations (`kernels::user`), and the f64 mirror (`reference::wgsl_eval`) is the CPU
//! reference, with `logit`, `target` and `outputs` supplied by the host.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::source::{self, WgslFile};
use super::user::{
    base_dir, check_file, check_range, contract_error, leak, mirror_with_params, read_kernel_file,
    text_hash, Parameterized, Registry,
};
use super::{wgsl, Binding, Kernel};
use crate::error::Result;
use crate::reference::wgsl_eval::ScalarProgram;

use Binding::{Read as R, ReadWrite as RW, Uniform as U};

const PRELUDE: WgslFile = wgsl!("user_loss_prelude.wgsl");
const ACCESSORS: WgslFile = wgsl!("user_loss_accessors.wgsl");
const LOSS_TEMPLATE: WgslFile = wgsl!("user_loss.wgsl");
const PROBE_TEMPLATE: WgslFile = wgsl!("user_loss_probe.wgsl");

/// What the targets of a user loss are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Targets {
    /// One class index per example; the model has one output per class (or one logit for two
    /// classes).
    Classes,
    /// As many values per example as the model has outputs.
    Values,
}

/// How a suite names a user loss: `loss: {wgsl: FILE}` or
/// `loss: {wgsl: {file, targets, params, range}}`.
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct UserLossSpec {
    pub file: PathBuf,
    #[serde(default = "default_targets")]
    pub targets: Targets,
    /// Values of the file's `override` constants.
    #[serde(default)]
    pub params: BTreeMap<String, f64>,
    /// The logit range the gradient check samples (targets: values also draws targets there).
    #[serde(default = "default_range")]
    pub range: [f64; 2],
}

fn default_targets() -> Targets {
    Targets::Classes
}

fn default_range() -> [f64; 2] {
    [-4.0, 4.0]
}

impl UserLossSpec {
    pub fn from_file(file: PathBuf) -> UserLossSpec {
        UserLossSpec {
            file,
            targets: default_targets(),
            params: BTreeMap::new(),
            range: default_range(),
        }
    }
}

/// A loaded user loss: its kernels, parameters and f64 mirror.
pub struct UserLoss {
    pub name: &'static str,
    pub spec: UserLossSpec,
    pub hash: String,
    pub params: Vec<(&'static str, f64)>,
    /// Drop-in for `kernels::LOSS` (same bindings and parameters).
    pub kernel: &'static Kernel,
    pub probe: &'static Kernel,
    mirror: Mutex<ScalarProgram>,
}

impl std::fmt::Debug for UserLoss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserLoss")
            .field("name", &self.name)
            .field("spec", &self.spec)
            .finish()
    }
}

impl UserLoss {
    pub fn classes(&self) -> bool {
        self.spec.targets == Targets::Classes
    }

    /// The pipeline constants: the file's parameters and the kind of targets.
    pub fn constants(&self) -> Vec<(&'static str, f64)> {
        let mut c = self.params.clone();
        c.push(("NETDX_CLASSES", if self.classes() { 1.0 } else { 0.0 }));
        c
    }

    /// (loss, gradient w.r.t. each logit) of one example by the f64 mirror; `targets` is one
    /// class index or `logits.len()` values. NaN where the mirror fails (tried at load time).
    pub fn example_f64(&self, logits: &[f64], targets: &[f64]) -> (f64, Vec<f64>) {
        let w = logits.len();
        let classes = self.classes();
        let host = |name: &str, args: &[f64]| -> Option<f64> {
            let j = || (args.first().copied().unwrap_or(0.0).max(0.0) as usize).min(w - 1);
            match name {
                "logit" => Some(logits[j()]),
                "label" if classes => Some(targets[0]),
                "label" => Some(targets[j()]),
                "outputs" => Some(w as f64),
                _ => None,
            }
        };
        let Ok(p) = self.mirror.lock() else {
            return (f64::NAN, vec![f64::NAN; w]);
        };
        let loss = p.call_with("loss", &[], &host).unwrap_or(f64::NAN);
        let grad = (0..w)
            .map(|j| p.call_with("grad", &[j as f64], &host).unwrap_or(f64::NAN))
            .collect();
        (loss, grad)
    }
}

static REGISTRY: Registry<UserLoss> = Registry::new();

/// The loss with id `id` (as held by `LossKind::User`).
pub fn get(id: u32) -> &'static UserLoss {
    REGISTRY.get(id)
}

/// Loads the loss `spec` names, relative to the config being parsed.
pub fn load_relative(spec: UserLossSpec) -> Result<u32> {
    load(spec, &base_dir())
}

pub fn load(spec: UserLossSpec, base: &Path) -> Result<u32> {
    let (path, text) = read_kernel_file(base, &spec.file, "user loss")?;
    load_text(spec, &path, text)
}

/// Loads a loss from its WGSL `text`, reported as coming from `path`.
pub fn load_text(spec: UserLossSpec, path: &Path, text: String) -> Result<u32> {
    REGISTRY.intern(
        |u| u.spec == spec && u.kernel.files[0].text == text,
        || compile(spec.clone(), path, text.clone()),
    )
}

fn compile(spec: UserLossSpec, path: &Path, text: String) -> Result<UserLoss> {
    let user = WgslFile {
        name: leak(path.display().to_string()),
        text: leak(text),
    };
    // netdx's accessors are not the file's to define (naga would blame the stub's line).
    for name in ["logit", "label", "outputs"] {
        let needle = format!("fn {name}(");
        if user
            .text
            .lines()
            .any(|l| l.trim_start().starts_with(&needle))
        {
            return Err(contract_error(
                path,
                user.text,
                Some(&needle),
                format!(
                    "`{name}` is provided by netdx: a user loss calls it but does not define it"
                ),
            ));
        }
    }
    // The file with stub accessors: its own errors and its contract first.
    let module = source::validate(&[user, PRELUDE])?;
    check_contract(&module, path, user.text)?;
    let Parameterized {
        mirror,
        declared,
        values: params,
    } = mirror_with_params(module, &spec.params, path, user.text)?;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "user_loss".into());
    let id = REGISTRY.next_id();
    let mut constants = declared;
    constants.push("NETDX_CLASSES");
    let constants: &'static [&'static str] = Box::leak(constants.into_boxed_slice());
    let kernel = |role: &str,
                  template: WgslFile,
                  bindings: &'static [Binding],
                  workgroup: [u32; 3]|
     -> Result<&'static Kernel> {
        let k: &'static Kernel = Box::leak(Box::new(Kernel {
            name: leak(format!("{stem}.{role}#{id}")),
            files: Box::leak(Box::new([user, ACCESSORS, template])),
            bindings,
            workgroup,
            constants,
        }));
        source::validate(k.files)?;
        Ok(k)
    };
    let loss = UserLoss {
        name: leak(stem.clone()),
        hash: text_hash(user.text),
        kernel: kernel("loss", LOSS_TEMPLATE, &[U, R, R, R, RW, RW], [256, 1, 1])?,
        probe: kernel("probe", PROBE_TEMPLATE, &[U, R, R, R, RW], [64, 1, 1])?,
        spec,
        params,
        mirror: Mutex::new(mirror),
    };
    // The mirror must run on an example like those the check draws.
    check_range(loss.spec.range, path, user.text)?;
    let [lo, hi] = loss.spec.range;
    let probe = [lo, 0.5 * (lo + hi), hi];
    let targets = if loss.classes() {
        vec![1.0]
    } else {
        probe.to_vec()
    };
    let (l, g) = loss.example_f64(&probe, &targets);
    if l.is_nan() || g.iter().any(|v| v.is_nan()) {
        let why = {
            let p = loss.mirror.lock().expect("fresh mirror");
            let host = |name: &str, _: &[f64]| match name {
                "logit" | "label" => Some(1.0),
                "outputs" => Some(3.0),
                _ => None,
            };
            p.call_with("loss", &[], &host)
                .and_then(|_| p.call_with("grad", &[0.0], &host))
                .err()
                .unwrap_or_else(|| "it gives NaN".into())
        };
        return Err(contract_error(
            path,
            user.text,
            Some("fn loss"),
            format!("netdx's f64 mirror of the file cannot evaluate it: {why}"),
        ));
    }
    Ok(loss)
}

/// `loss() -> f32` and `grad(u32) -> f32`; no entry points, bindings or reserved names.
fn check_contract(module: &naga::Module, path: &Path, text: &str) -> Result<()> {
    let scalar = |ty: naga::Handle<naga::Type>, kind: naga::ScalarKind| matches!(module.types[ty].inner, naga::TypeInner::Scalar(s) if s.kind == kind && s.width == 4);
    let find = |name: &str| {
        module
            .functions
            .iter()
            .find(|(_, f)| f.name.as_deref() == Some(name))
            .map(|(_, f)| f)
    };
    for (name, signature) in [
        ("loss", "fn loss() -> f32"),
        ("grad", "fn grad(j: u32) -> f32"),
    ] {
        let Some(f) = find(name) else {
            return Err(contract_error(
                path,
                text,
                None,
                format!("a user loss defines `{signature}`; `{name}` is missing"),
            ));
        };
        let args_ok = match name {
            "loss" => f.arguments.is_empty(),
            _ => f.arguments.len() == 1 && scalar(f.arguments[0].ty, naga::ScalarKind::Uint),
        };
        let result_ok = f
            .result
            .as_ref()
            .is_some_and(|r| scalar(r.ty, naga::ScalarKind::Float));
        if !(args_ok && result_ok) {
            return Err(contract_error(
                path,
                text,
                Some(&format!("fn {name}")),
                format!("`{name}` must be `{signature}`"),
            ));
        }
    }
    check_file(module, path, text)
}
