//! Activations written by users in WGSL. A user file defines
//!
//! ```wgsl
//! fn forward(x: f32) -> f32
//! fn backward(x: f32, y: f32, dy: f32) -> f32   // dL/dx from dL/dy = dy, y = forward(x)
//! ```
//!
//! and may declare `override` constants (f32) that a suite sets as parameters. netdx splices the
//! file in front of its own kernel templates through the same mechanism as the built-ins
//! (`source::compose`, so naga errors name the user's file and line), and keeps an f64 mirror of
//! it (`reference::wgsl_eval`) as the CPU reference.
//!
//! Loaded kernels are interned for the life of the process: pipelines and the model refer to
//! them as `&'static`, like the built-ins, and an activation is a `Copy` id.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::source::{self, WgslFile};
use super::{wgsl, Binding, Kernel};
use crate::error::{Error, Result};
use crate::reference::wgsl_eval::ScalarProgram;

use Binding::{Read as R, ReadWrite as RW, Uniform as U};

const FORWARD_TEMPLATE: WgslFile = wgsl!("user_activation_forward.wgsl");
const BACKWARD_TEMPLATE: WgslFile = wgsl!("user_activation_backward.wgsl");
const PROBE_TEMPLATE: WgslFile = wgsl!("user_activation_probe.wgsl");

/// The input range a kernel gradient check samples when the suite gives none.
pub const DEFAULT_RANGE: [f64; 2] = [-6.0, 6.0];

/// How a suite names a user activation: `{wgsl: FILE}` or `{wgsl: {file, params, kinks, range}}`.
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct UserActivationSpec {
    pub file: PathBuf,
    /// Values of the file's `override` constants.
    #[serde(default)]
    pub params: BTreeMap<String, f64>,
    /// Inputs where the function is not differentiable; the gradient check samples beside them
    /// and never across them.
    #[serde(default)]
    pub kinks: Vec<f64>,
    /// The input range the gradient check samples.
    #[serde(default = "default_range")]
    pub range: [f64; 2],
}

fn default_range() -> [f64; 2] {
    DEFAULT_RANGE
}

/// A loaded user activation: its kernels, its parameters and its f64 mirror.
pub struct UserActivation {
    /// The file's stem, for model descriptions and reports.
    pub name: &'static str,
    pub spec: UserActivationSpec,
    /// Every override constant of the file with the value it runs with.
    pub params: Vec<(&'static str, f64)>,
    pub forward: &'static Kernel,
    pub backward: &'static Kernel,
    /// Evaluates forward and backward at given points, for the kernel gradient check.
    pub probe: &'static Kernel,
    /// FNV-1a 64 of the file's text, so that a run record says which version of it ran.
    pub hash: String,
    mirror: Mutex<ScalarProgram>,
}

impl std::fmt::Debug for UserActivation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserActivation")
            .field("name", &self.name)
            .field("spec", &self.spec)
            .finish()
    }
}

impl UserActivation {
    /// forward(x) by the f64 mirror; NaN if the mirror fails (it was tried at load time).
    pub fn forward_f64(&self, x: f64) -> f64 {
        self.call("forward", &[x])
    }

    /// backward(x, forward(x), dy) by the f64 mirror.
    pub fn backward_f64(&self, x: f64, dy: f64) -> f64 {
        let y = self.forward_f64(x);
        self.call("backward", &[x, y, dy])
    }

    fn call(&self, name: &str, args: &[f64]) -> f64 {
        match self.mirror.lock() {
            Ok(p) => p.call(name, args).unwrap_or(f64::NAN),
            Err(_) => f64::NAN,
        }
    }

    /// The pipeline constants that set the file's parameters.
    pub fn constants(&self) -> Vec<(&'static str, f64)> {
        self.params.clone()
    }
}

/// User kernels loaded so far, interned for the life of the process and named by their index.
pub(crate) struct Registry<T: 'static>(Mutex<Vec<&'static T>>);

impl<T> Registry<T> {
    pub(crate) const fn new() -> Self {
        Registry(Mutex::new(Vec::new()))
    }

    pub(crate) fn get(&self, id: u32) -> &'static T {
        self.0.lock().expect("user kernel registry")[id as usize]
    }

    /// The id the next kernel interned will get (for its pipelines' names).
    pub(crate) fn next_id(&self) -> usize {
        self.0.lock().expect("user kernel registry").len()
    }

    /// The id of the kernel for which `same` holds, or of the one `make` builds and interns.
    pub(crate) fn intern(
        &self,
        same: impl Fn(&T) -> bool,
        make: impl FnOnce() -> Result<T>,
    ) -> Result<u32> {
        if let Some(i) = self
            .0
            .lock()
            .expect("user kernel registry")
            .iter()
            .position(|k| same(k))
        {
            return Ok(i as u32);
        }
        let kernel = make()?;
        let mut registry = self.0.lock().expect("user kernel registry");
        registry.push(Box::leak(Box::new(kernel)));
        Ok((registry.len() - 1) as u32)
    }
}

/// A user kernel file (`file` relative to `base`) and its text.
pub(crate) fn read_kernel_file(base: &Path, file: &Path, what: &str) -> Result<(PathBuf, String)> {
    let path = crate::io::resolve(base, file);
    let bytes = crate::io::bounded::read(&path, &crate::io::Limit::KERNEL)
        .map_err(|e| Error::Usage(format!("{what} {}: {e}", path.display())))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        Error::Usage(format!(
            "{what} {}: not UTF-8 text (byte {})",
            path.display(),
            e.utf8_error().valid_up_to()
        ))
    })?;
    Ok((path, text))
}

static REGISTRY: Registry<UserActivation> = Registry::new();

/// The activation with id `id` (as held by `Activation::User`).
pub fn get(id: u32) -> &'static UserActivation {
    REGISTRY.get(id)
}

thread_local! {
    static BASE_DIR: std::cell::RefCell<Option<PathBuf>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` (a config deserialization) with `dir` as the folder user kernel files are relative
/// to: layers are deserialized without knowing which file they came from.
pub fn with_base_dir<T>(dir: &Path, f: impl FnOnce() -> T) -> T {
    let previous = BASE_DIR.with(|b| b.replace(Some(dir.to_path_buf())));
    let out = f();
    BASE_DIR.with(|b| *b.borrow_mut() = previous);
    out
}

/// Loads the activation `spec` names (relative to the config being parsed) and returns its id;
/// the same file with the same parameters is loaded once per process.
pub fn load_relative(spec: UserActivationSpec) -> Result<u32> {
    load(spec, &base_dir())
}

pub fn load(spec: UserActivationSpec, base: &Path) -> Result<u32> {
    let (path, text) = read_kernel_file(base, &spec.file, "user kernel")?;
    load_text(spec, &path, text)
}

/// Loads an activation from its WGSL `text`, reported as coming from `path`.
pub fn load_text(spec: UserActivationSpec, path: &Path, text: String) -> Result<u32> {
    REGISTRY.intern(
        |u| u.spec == spec && u.forward.files[0].text == text,
        || compile(spec.clone(), path, text.clone()),
    )
}

/// FNV-1a 64 of a kernel file's text, for run records.
pub(crate) fn text_hash(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("fnv1a64:{h:016x}")
}

/// The folder of the config being parsed (see [`with_base_dir`]).
pub(crate) fn base_dir() -> PathBuf {
    BASE_DIR.with(|b| b.borrow().clone()).unwrap_or_default()
}

pub(crate) fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// An error about the file's contract, at the first occurrence of `near` in its text when
/// there is one (a function's or a constant's name), else about the file as a whole.
pub(crate) fn contract_error(
    path: &Path,
    text: &str,
    near: Option<&str>,
    message: String,
) -> Error {
    let at = near.and_then(|n| {
        text.lines()
            .enumerate()
            .find_map(|(i, l)| l.find(n).map(|c| (i + 1, c + 1)))
    });
    match at {
        Some((line, column)) => Error::Shader {
            file: path.display().to_string(),
            line,
            column,
            message,
        },
        None => Error::Usage(format!("user kernel {}: {message}", path.display())),
    }
}

fn compile(spec: UserActivationSpec, path: &Path, text: String) -> Result<UserActivation> {
    let file_name = leak(path.display().to_string());
    let user = WgslFile {
        name: file_name,
        text: leak(text),
    };
    // The file alone first: its own syntax errors and its contract, before the templates.
    let module = source::validate(&[user])?;
    check_contract(&module, path, user.text)?;
    let Parameterized {
        mirror,
        declared,
        values: params,
    } = mirror_with_params(module, &spec.params, path, user.text)?;
    // The mirror must run where the check will sample it.
    check_range(spec.range, path, user.text)?;
    let [lo, hi] = spec.range;
    for x in [lo, 0.5 * (lo + hi), hi] {
        mirror
            .call("forward", &[x])
            .and_then(|y| mirror.call("backward", &[x, y, 1.0]))
            .map_err(|m| {
                contract_error(
                    path,
                    user.text,
                    Some("fn forward"),
                    format!("netdx's f64 mirror of the file cannot evaluate it at x = {x}: {m}"),
                )
            })?;
    }

    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "user".into());
    let id = REGISTRY.next_id();
    let constants: &'static [&'static str] = Box::leak(declared.into_boxed_slice());
    let kernel =
        |role: &str, template: WgslFile, bindings: &'static [Binding]| -> Result<&'static Kernel> {
            let files: &'static [WgslFile] = Box::leak(Box::new([user, template]));
            let k: &'static Kernel = Box::leak(Box::new(Kernel {
                name: leak(format!("{stem}.{role}#{id}")),
                files,
                bindings,
                workgroup: [256, 1, 1],
                constants,
            }));
            source::validate(k.files)?;
            Ok(k)
        };
    Ok(UserActivation {
        name: leak(stem.clone()),
        forward: kernel("forward", FORWARD_TEMPLATE, &[U, R, RW])?,
        backward: kernel("backward", BACKWARD_TEMPLATE, &[U, R, R, R, RW])?,
        probe: kernel("probe", PROBE_TEMPLATE, &[U, R, RW])?,
        hash: text_hash(user.text),
        spec,
        params,
        mirror: Mutex::new(mirror),
    })
}

/// `forward(f32) -> f32` and `backward(f32, f32, f32) -> f32`, no entry points, no bindings,
/// and none of the names the templates use.
fn check_contract(module: &naga::Module, path: &Path, text: &str) -> Result<()> {
    let f32_type = |ty: naga::Handle<naga::Type>| {
        matches!(
            module.types[ty].inner,
            naga::TypeInner::Scalar(naga::Scalar {
                kind: naga::ScalarKind::Float,
                width: 4
            })
        )
    };
    for (name, arity, signature) in [
        ("forward", 1, "fn forward(x: f32) -> f32"),
        ("backward", 3, "fn backward(x: f32, y: f32, dy: f32) -> f32"),
    ] {
        let Some((_, f)) = module
            .functions
            .iter()
            .find(|(_, f)| f.name.as_deref() == Some(name))
        else {
            return Err(contract_error(
                path,
                text,
                None,
                format!("a user activation defines `{signature}`; `{name}` is missing"),
            ));
        };
        let ok = f.arguments.len() == arity
            && f.arguments.iter().all(|a| f32_type(a.ty))
            && f.result.as_ref().is_some_and(|r| f32_type(r.ty));
        if !ok {
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

/// The rules every user kernel file keeps, whatever it defines: functions, `const`s and f32
/// `override`s only (no entry points, bindings or globals), no `@id` on an override (netdx
/// sets parameters by name), and none of the names netdx's templates use.
pub(crate) fn check_file(module: &naga::Module, path: &Path, text: &str) -> Result<()> {
    let f32_type = |ty: naga::Handle<naga::Type>| {
        matches!(
            module.types[ty].inner,
            naga::TypeInner::Scalar(naga::Scalar {
                kind: naga::ScalarKind::Float,
                width: 4
            })
        )
    };
    if let Some(ep) = module.entry_points.first() {
        return Err(contract_error(
            path,
            text,
            Some(&format!("fn {}", ep.name)),
            format!(
                "entry point `{}`: a user kernel file defines functions only (netdx adds the entry point)",
                ep.name
            ),
        ));
    }
    if let Some((_, g)) = module.global_variables.iter().next() {
        return Err(contract_error(
            path,
            text,
            g.name.as_deref(),
            format!(
                "global variable `{}`: a user kernel file has no bindings or globals (use `const` or `override`)",
                g.name.as_deref().unwrap_or("?")
            ),
        ));
    }
    let reserved = module
        .functions
        .iter()
        .filter_map(|(_, f)| f.name.as_deref())
        .chain(
            module
                .constants
                .iter()
                .filter_map(|(_, c)| c.name.as_deref()),
        )
        .chain(module.types.iter().filter_map(|(_, t)| t.name.as_deref()))
        .chain(
            module
                .overrides
                .iter()
                .filter_map(|(_, o)| o.name.as_deref()),
        )
        .find(|n| *n == "main" || n.to_lowercase().starts_with("netdx"));
    if let Some(n) = reserved {
        return Err(contract_error(
            path,
            text,
            Some(n),
            format!(
                "`{n}` is reserved for netdx's templates (`main`, and names starting with `netdx` in any case)"
            ),
        ));
    }
    for (_, o) in module.overrides.iter() {
        if let Some(id) = o.id {
            return Err(contract_error(
                path,
                text,
                o.name.as_deref(),
                format!(
                    "override `{}` has @id({id}): netdx sets parameters by name, so give it none",
                    o.name.as_deref().unwrap_or("?")
                ),
            ));
        }
        if !f32_type(o.ty) {
            return Err(contract_error(
                path,
                text,
                o.name.as_deref(),
                format!(
                    "override `{}` must be f32 (suite parameters are numbers)",
                    o.name.as_deref().unwrap_or("?")
                ),
            ));
        }
    }
    Ok(())
}

/// A user file's f64 mirror with its parameters set.
pub(crate) struct Parameterized {
    pub mirror: ScalarProgram,
    /// Every `override` the file declares: the pipelines' constants.
    pub declared: Vec<&'static str>,
    /// The values the suite sets.
    pub values: Vec<(&'static str, f64)>,
}

/// The file's declared parameters set from `params` (each declared, each a finite f32), and
/// its f64 mirror running with them.
pub(crate) fn mirror_with_params(
    module: naga::Module,
    params: &BTreeMap<String, f64>,
    path: &Path,
    text: &str,
) -> Result<Parameterized> {
    let declared: Vec<String> = module
        .overrides
        .iter()
        .filter_map(|(_, o)| o.name.clone())
        .collect();
    for (name, v) in params {
        if !declared.contains(name) {
            return Err(contract_error(
                path,
                text,
                None,
                format!(
                    "parameter `{name}` is not an `override` of the file (it declares: {})",
                    if declared.is_empty() {
                        "none".to_string()
                    } else {
                        declared.join(", ")
                    }
                ),
            ));
        }
        if !(v.is_finite() && v.abs() <= f32::MAX as f64) {
            return Err(contract_error(
                path,
                text,
                None,
                format!("parameter `{name}` = {v} is not a finite f32"),
            ));
        }
    }
    let set: Vec<(String, f64)> = params.iter().map(|(k, v)| (k.clone(), *v)).collect();
    let mirror =
        ScalarProgram::new(module, &set).map_err(|m| contract_error(path, text, None, m))?;
    Ok(Parameterized {
        mirror,
        declared: declared.into_iter().map(leak).collect(),
        values: params.iter().map(|(k, v)| (leak(k.clone()), *v)).collect(),
    })
}

/// A sampling range: two finite numbers, low < high.
pub(crate) fn check_range(range: [f64; 2], path: &Path, text: &str) -> Result<()> {
    let [lo, hi] = range;
    if lo.is_finite() && hi.is_finite() && lo < hi {
        Ok(())
    } else {
        Err(contract_error(
            path,
            text,
            None,
            format!("range [{lo}, {hi}] must be two finite numbers, low < high"),
        ))
    }
}
