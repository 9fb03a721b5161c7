//! Weights in and out as safetensors. netdx names a tensor `layers.{i}.weight`, `.bias`,
//! `.running_mean`, `.running_var`, where `i` counts every layer of the list (activations and
//! dropout included), and a nested block's tensors `layers.{i}.{j}.…`; PyTorch's
//! `nn.Sequential` names the same tensors `{i}.weight`, `{i}.{j}.in_proj_weight`, … with the
//! same counting and the same `[out, in]` (`nn.Linear`) and `[out, in, kh, kw]` (`nn.Conv2d`)
//! layouts, so a `state_dict` saved with `safetensors.torch.save_file` loads as it is. Batch
//! norm's `num_batches_tracked` is ignored. An imported ONNX model's tensors keep their names
//! in the file (the `state_dict` names when PyTorch exported it), in and out. A checkpoint's
//! optimizer tensors (`optimizer.…`, see `train::checkpoint`) are not weights and are skipped.

use std::collections::BTreeMap;
use std::path::Path;

use super::{init_params, Graph, HostParams, HostTensor};
use crate::error::{Error, Result};
use crate::io::safetensors::{self, Named, SafetensorsFile};

/// The model's name of a tensor named either way (`0.weight` → `layers.0.weight` for a layer
/// list; an imported model's tensors keep the names they have in its file).
fn canonical(model: &Graph, name: &str) -> String {
    let known =
        model.params.iter().any(|p| p.name == name) || model.state.iter().any(|s| s.name == name);
    if known || name.starts_with("layers.") {
        name.to_string()
    } else {
        format!("layers.{name}")
    }
}

/// What the model has at layer `i`, for the message about an extra tensor.
fn layer_hint(model: &Graph, name: &str) -> String {
    let index = name
        .strip_prefix("layers.")
        .and_then(|r| r.split('.').next())
        .and_then(|i| i.parse::<usize>().ok());
    match index.map(|i| (i, model.layer_output(i))) {
        Some((i, Some(n))) if n.layer == i && model.layer_nodes(i).count() > 1 => {
            let kinds: Vec<&str> = model.layer_nodes(i).map(|n| n.kind()).collect();
            format!("layer {i} is a block of {}", kinds.join(", "))
        }
        Some((i, Some(n))) => format!("layer {i} is {}", n.kind()),
        Some((_, None)) => format!("the model has {} layers", model.layer_count),
        None => "not a layer tensor".into(),
    }
}

/// Initial weights for `model` from the safetensors file `path`. Every trainable tensor and
/// batch-norm statistic must be present with its shape; the error lists each missing, extra
/// or misshapen tensor.
pub fn load(path: &Path, model: &Graph) -> Result<HostParams> {
    load_from(&SafetensorsFile::open(path)?, model)
}

/// [`load`] from a file already open (a checkpoint reads its optimizer state from it too).
pub fn load_from(file: &SafetensorsFile, model: &Graph) -> Result<HostParams> {
    let mut expected = init_params(model, 0);
    let mut found: BTreeMap<String, (String, Vec<usize>)> = BTreeMap::new();
    let mut problems = Vec::new();
    for (name, shape) in file.shapes() {
        if name.ends_with(".num_batches_tracked")
            || name.starts_with(crate::train::checkpoint::OPTIMIZER_PREFIX)
        {
            continue;
        }
        let key = canonical(model, &name);
        if let Some((other, _)) = found.get(&key) {
            problems.push(format!(
                "`{name}` and `{other}` are the same tensor, given twice"
            ));
            continue;
        }
        found.insert(key, (name, shape));
    }
    let mut fill = |t: &mut HostTensor, problems: &mut Vec<String>| -> Result<()> {
        match found.remove(&t.name) {
            None => problems.push(format!("missing `{}` {:?}", t.name, t.shape)),
            Some((name, shape)) => {
                // A PyTorch [n] and a netdx [n] agree; so do [out, in] layouts.
                if shape != t.shape {
                    let hint = if shape.len() == 2
                        && shape[0] == t.shape.get(1).copied().unwrap_or(0)
                        && shape[1] == t.shape[0]
                    {
                        " (transposed? weights are [out, in], as nn.Linear stores them)"
                    } else {
                        ""
                    };
                    problems.push(format!(
                        "misshapen `{name}`: expected {:?}, found {shape:?}{hint}",
                        t.shape
                    ));
                } else {
                    let array = file.read(&name)?;
                    if let Some(i) = array.data.iter().position(|v| !v.is_finite()) {
                        problems.push(format!("`{name}` element {i} is not finite"));
                    }
                    t.data = array.data;
                }
            }
        }
        Ok(())
    };
    for t in expected.params.iter_mut().chain(expected.state.iter_mut()) {
        fill(t, &mut problems)?;
    }
    for (key, (name, shape)) in &found {
        problems.push(format!(
            "extra `{name}` {shape:?}: the model has no such tensor ({})",
            layer_hint(model, key)
        ));
    }
    if problems.is_empty() {
        Ok(expected)
    } else {
        Err(Error::Weights {
            file: file.path().to_path_buf(),
            problems,
        })
    }
}

/// Writes `params` (trainable tensors and batch-norm statistics) to `path` under their netdx
/// names, with `metadata` (model, seed, step, …) in the header.
pub fn save(path: &Path, params: &HostParams, metadata: BTreeMap<String, String>) -> Result<()> {
    let named: Vec<Named> = params
        .params
        .iter()
        .chain(&params.state)
        .map(|t| Named {
            name: t.name.clone(),
            shape: t.shape.clone(),
            data: &t.data,
        })
        .collect();
    safetensors::write(path, &named, metadata)
}
