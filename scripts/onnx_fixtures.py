#!/usr/bin/env python3
"""ONNX import fixtures: small PyTorch models exported by both of PyTorch's ONNX exporters,
each with a float64 reference training step, under tests/fixtures/onnx/.

Models (state_dict names in brackets; README.md lists every initializer):

  mlp        input float32 [B, 12]: Linear(12,16), Tanh, Linear(16,16), LeakyReLU(0.1),
             Dropout(0.25), Linear(16,16), ReLU, Linear(16,5)                   [0.weight, ...]
  cnn_bn     input float32 [B, 3, 9, 9]: Conv2d(3,4,3,p=1), BatchNorm2d(4), ReLU, MaxPool2d(2),
             Conv2d(4,6,3,p=1), BatchNorm2d(6), Sigmoid, AvgPool2d(2), Flatten, Linear(24,4)
  resnet     input float32 [B, 2, 8, 8]: Conv2d(2,8,3,p=1,bias=False), BatchNorm2d(8), ReLU,
             2 x Block (relu(x + bn2(conv2(relu(bn1(conv1(x))))))), AdaptiveAvgPool2d(1),
             Flatten, Linear(8,3)                                  [3.conv1.weight, 4.bn2.bias]
  embedding  input int64 [B, 6], vocabulary 11: Embedding(11,8), Linear(8,16), GELU (erf),
             Linear(16,11); logits [B, 6, 11]
  gpt        input int64 [B, 8], vocabulary 13: tok Embedding(13,16) + pos Parameter [8,16]
             (sliced by T), one pre-LN block (ln1, nn.MultiheadAttention(16, 4 heads,
             batch_first) with the causal mask torch.triu(ones(T,T,bool),1) built in forward,
             ln2, mlp Linear(16,32) GELU Linear(32,16)), ln_f, head Linear(16,13)
                                     [tok.weight, pos, blocks.0.attn.in_proj_weight, head.bias]

Files, per model:

  {model}.torchscript.onnx
      torch.onnx.export(dynamo=False, opset_version=17, training=TrainingMode.TRAINING,
      do_constant_folding=False, dynamic_axes on the batch dimension): batch-norm nodes in
      training mode (training_mode=1, three outputs), Dropout with training_mode=True.
  gpt.torchscript14.onnx
      the GPT block from the TorchScript exporter at opset 14, which has no LayerNormalization:
      each layer norm is written as ReduceMean, Sub, Pow, Add, Sqrt, Div, Mul, Add.
  {model}.dynamo.onnx
      torch.onnx.export(dynamo=True, optimize=False, dynamic_shapes batch=Dim("batch")), the
      model in train() mode, the exporter's default opset (20 here). CAUTION: onnxscript's
      batch-norm translation forces inference mode, so these files' BatchNormalization nodes
      have no training_mode attribute (= 0: normalize with the running statistics) and one
      output, even though the model was in train() mode. Its Dropout nodes keep
      training_mode=True. The only change made to the exporter's output: the per-node
      metadata entry `pkg.torch.onnx.stack_trace` is deleted (it holds absolute paths of the
      machine that ran the export); the rest of the metadata (module names, PARAMETER /
      BUFFER kinds of the initializers, the graph signature) is kept.
  {model}.step.safetensors
      one training step in float64 from exactly the float32 weights in both ONNX files
      (they are identical; the script checks every initializer bit for bit):
        x              float32: the batch, [4, ...] for vectors and images, token ids as
                       float32 values [3, T] for token models
        y              float32: class ids [B], or next tokens [B, T] with y[:, t] = x[:, t+1]
                       and y[:, T-1] = -1 (not scored), the -1 convention of
                       scripts/torch_fixtures.py and src/data/tasks.rs
        loss           float64 [1]: mean softmax cross-entropy (over scored positions)
        output         float64: the logits, [B, classes] or [B, T, vocabulary]
        grad.<name>    float64: dloss/d parameter for every parameter (state_dict names)
        running.<name> float64: batch-norm running_mean / running_var after the
                       training-mode forward (PyTorch updates them during forward,
                       momentum 0.1, running_var from the unbiased batch variance)
      in train() mode, with dropout disabled for this step only (nn.Dropout p = 0 and the
      attention's dropout 0; the mlp's ONNX files keep ratio 0.25).
  README.md
      what each file holds: opset, inputs, op types with counts, the attributes seen per op
      type, initializers, the onnxruntime checks, and every node in order.

Running statistics: the TorchScript exporter runs the model forward in training mode while
tracing, which updates the batch-norm running statistics of the module it is given (once
per export). The script exports a copy and takes the state that copy is left in as the
model: both ONNX files and the reference step start from it, so the running statistics in
the files are not PyTorch's initial 0 / 1.

Run (from any folder; it writes next to itself):  python3 scripts/onnx_fixtures.py
Needs torch, onnx, onnxruntime, onnxscript, safetensors and numpy; only this script does.
The output is deterministic: a rerun writes the same bytes (one CPU thread, seeded
generators, no metadata in the safetensors files, stack traces removed from the dynamo
files); the script exports every file twice and checks that the bytes agree.

Why float32 weights and a float64 reference: netdx computes in f32 on the GPU; judging it
against a reference that itself carries f32 rounding would blur the tolerance. The weights
are rounded to f32 once, and everything after that is exact up to f64 rounding.

Parameters PyTorch initializes to constants (layer-norm and batch-norm affine parameters,
the attention's zero biases) get small seeded noise, so their gradients are not a special
case.
"""

import collections
import copy
import io
import os
import sys
import tempfile
import warnings

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import numpy_helper
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "onnx")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_fixtures import perturb  # noqa: E402  (the same seeded noise as the YAML fixtures)

TS_OPSET = 17


# ---------------------------------------------------------------------------------------
# Models


class Block(nn.Module):
    """A basic residual block: relu(x + bn2(conv2(relu(bn1(conv1(x))))))."""

    def __init__(self, channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x):
        return F.relu(x + self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))


class GptBlock(nn.Module):
    """Pre-LN transformer block with causal self-attention."""

    def __init__(self, dim, heads, hidden):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.ln2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x):
        t = x.shape[1]
        mask = torch.triu(torch.ones(t, t, dtype=torch.bool, device=x.device), 1)
        h = self.ln1(x)
        x = x + self.attn(h, h, h, attn_mask=mask, need_weights=False)[0]
        return x + self.mlp(self.ln2(x))


class Gpt(nn.Module):
    def __init__(self, vocab=13, context=8, dim=16, heads=4, hidden=32, layers=1):
        super().__init__()
        self.tok = nn.Embedding(vocab, dim)
        self.pos = nn.Parameter(torch.randn(context, dim) * 0.02)
        self.blocks = nn.ModuleList([GptBlock(dim, heads, hidden) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab)

    def forward(self, idx):
        t = idx.shape[1]
        x = self.tok(idx) + self.pos[:t]
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))


def mlp():
    return nn.Sequential(
        nn.Linear(12, 16),
        nn.Tanh(),
        nn.Linear(16, 16),
        nn.LeakyReLU(0.1),
        nn.Dropout(0.25),
        nn.Linear(16, 16),
        nn.ReLU(),
        nn.Linear(16, 5),
    )


def cnn_bn():
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, padding=1),
        nn.BatchNorm2d(6),
        nn.Sigmoid(),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(6 * 2 * 2, 4),
    )


def resnet():
    return nn.Sequential(
        nn.Conv2d(2, 8, 3, padding=1, bias=False),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        Block(8),
        Block(8),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 3),
    )


def embedding():
    return nn.Sequential(
        nn.Embedding(11, 8),
        nn.Linear(8, 16),
        nn.GELU(),
        nn.Linear(16, 11),
    )


# ---------------------------------------------------------------------------------------
# Batches


def classes(shape, n_classes, seed, images):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(shape, generator=g) if images else torch.randn(shape, generator=g)
    labels = torch.randint(0, n_classes, (shape[0],), generator=g)
    return x, x.numpy(), labels.numpy().astype(np.float32)


def tokens(batch, length, vocab, seed):
    """Random token ids; y[:, t] = x[:, t+1], the last position -1 (not scored)."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, vocab, (batch, length), generator=g)
    y = np.full((batch, length), -1.0, dtype=np.float32)
    y[:, :-1] = ids[:, 1:].numpy()
    return ids, ids.numpy().astype(np.float32), y


# name, model builder, seed, perturb seed, batch builder
SPECS = [
    ("mlp", mlp, 10, 11, lambda: classes((4, 12), 5, 12, images=False)),
    ("cnn_bn", cnn_bn, 20, 21, lambda: classes((4, 3, 9, 9), 4, 22, images=True)),
    ("resnet", resnet, 30, 31, lambda: classes((4, 2, 8, 8), 3, 32, images=True)),
    ("embedding", embedding, 40, 41, lambda: tokens(3, 6, 11, 42)),
    ("gpt", Gpt, 50, 51, lambda: tokens(3, 8, 13, 52)),
]


# ---------------------------------------------------------------------------------------
# Reference step


def no_dropout(model):
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.p = 0.0
        if isinstance(module, nn.MultiheadAttention):
            module.dropout = 0.0
    return model


def loss_of(logits, y):
    target = torch.from_numpy(y).long()
    return F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=-1
    )


def step(model, inputs, x, y):
    """One float64 training-mode forward and backward on a copy of `model`."""
    ref = no_dropout(copy.deepcopy(model).double().train())
    h = inputs.double() if inputs.is_floating_point() else inputs
    logits = ref(h)
    loss = loss_of(logits, y)
    loss.backward()
    out = {"x": torch.from_numpy(x), "y": torch.from_numpy(y)}
    out["loss"] = loss.detach().reshape(1).clone()
    out["output"] = logits.detach().clone()
    for name, p in ref.named_parameters():
        out[f"grad.{name}"] = p.grad.detach().clone()
    for name, b in ref.named_buffers():
        if name.endswith("running_mean") or name.endswith("running_var"):
            out[f"running.{name}"] = b.detach().clone()
    return out


# ---------------------------------------------------------------------------------------
# Export


def export_torchscript(model, inputs, path, opset=TS_OPSET):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (inputs,),
            path,
            dynamo=False,
            opset_version=opset,
            training=torch.onnx.TrainingMode.TRAINING,
            do_constant_folding=False,
            input_names=["input"],
            output_names=["output"],
            dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
        )


def export_dynamo(model, inputs, path, dynamic):
    """Returns None, or the error text when the export failed."""
    kwargs = {}
    if dynamic:
        kwargs["dynamic_shapes"] = ({0: torch.export.Dim("batch")},)
    quiet = io.StringIO()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            old_out, old_err = sys.stdout, sys.stderr
            sys.stdout = sys.stderr = quiet
            try:
                torch.onnx.export(
                    model,
                    (inputs,),
                    path,
                    dynamo=True,
                    optimize=False,
                    input_names=["input"],
                    output_names=["output"],
                    external_data=False,
                    verbose=False,
                    **kwargs,
                )
            finally:
                sys.stdout, sys.stderr = old_out, old_err
    except Exception as e:  # noqa: BLE001 - report and fall back
        return f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
    m = onnx.load(path)
    for node in m.graph.node:
        keep = [p for p in node.metadata_props if p.key != "pkg.torch.onnx.stack_trace"]
        del node.metadata_props[:]
        node.metadata_props.extend(keep)
    onnx.save(m, path)
    return None


def both_exports(model, inputs, directory, stem):
    """Exports `model` (a train()-mode module) with both exporters into directory.

    Returns (the model's state after the TorchScript export, dynamo note)."""
    ts = copy.deepcopy(model).train()
    export_torchscript(ts, inputs, os.path.join(directory, f"{stem}.torchscript.onnx"))
    note = None
    path = os.path.join(directory, f"{stem}.dynamo.onnx")
    err = export_dynamo(copy.deepcopy(ts).train(), inputs, path, dynamic=True)
    if err is not None:
        note = f"dynamic batch failed ({err}); exported with a static batch"
        err2 = export_dynamo(copy.deepcopy(ts).train(), inputs, path, dynamic=False)
        if err2 is not None:
            raise RuntimeError(f"{stem}: dynamo export failed: {err2}")
    return ts, note


# ---------------------------------------------------------------------------------------
# Inspection


DTYPES = {v: k for k, v in onnx.TensorProto.DataType.items()}


def fmt_float(v):
    """The shortest text that reads back as the same float32 (attributes are float32)."""
    return str(np.float32(v)) if np.float32(v) == v else repr(v)


def fmt_tensor(t):
    a = numpy_helper.to_array(t)
    dt = DTYPES[t.data_type].lower()
    if a.size <= 8:
        vals = ", ".join(fmt_float(v) if a.dtype.kind == "f" else str(v) for v in a.ravel())
        return f"{dt}{list(a.shape)} [{vals}]"
    return f"{dt}{list(a.shape)} (…)"


def fmt_attr(a):
    v = onnx.helper.get_attribute_value(a)
    if a.type == onnx.AttributeProto.TENSOR:
        return fmt_tensor(v)
    if a.type == onnx.AttributeProto.FLOAT:
        return fmt_float(v)
    if a.type == onnx.AttributeProto.FLOATS:
        return "[" + ", ".join(fmt_float(x) for x in v) + "]"
    if a.type == onnx.AttributeProto.STRING:
        return repr(v.decode())
    if a.type == onnx.AttributeProto.INTS:
        return str(list(v))
    return str(v)


def attrs_of(node):
    return ", ".join(f"{a.name}={fmt_attr(a)}" for a in sorted(node.attribute, key=lambda a: a.name))


def shape_of(value_info):
    t = value_info.type.tensor_type
    dims = [d.dim_param if d.HasField("dim_param") else str(d.dim_value) for d in t.shape.dim]
    return f"{DTYPES[t.elem_type].lower()} [{', '.join(dims)}]"


def constant_values(graph):
    """name -> formatted value of every Constant node output and initializer."""
    out = {}
    for node in graph.node:
        if node.op_type == "Constant":
            out[node.output[0]] = fmt_attr(node.attribute[0])
    for t in graph.initializer:
        out[t.name] = fmt_tensor(t)
    return out


def inspect(path, state):
    """A dict describing the ONNX file at path."""
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    g = m.graph
    assert not any(
        t.data_location == onnx.TensorProto.EXTERNAL for t in g.initializer
    ), f"{path}: external data"
    opset = {o.domain or "ai.onnx": o.version for o in m.opset_import}
    counts = collections.Counter(n.op_type for n in g.node)
    consts = constant_values(g)
    attrs = collections.defaultdict(collections.Counter)
    for n in g.node:
        if n.op_type == "Constant":
            continue
        key = attrs_of(n) or "(none)"
        key += f"; {len(n.input)} in / {len(n.output)} out"
        if n.op_type == "Dropout":
            key += "; inputs: " + ", ".join(
                f"{i}={consts.get(i, '(computed)')}" for i in n.input[1:]
            )
        attrs[n.op_type][key] += 1
    kinds = {}
    for vi in g.value_info:
        for p in vi.metadata_props:
            if p.key == "pkg.torch.export.graph_signature.InputSpec.kind":
                kinds[vi.name] = p.value
    inits = []
    mismatched, foreign = [], []
    for t in g.initializer:
        a = numpy_helper.to_array(t)
        if t.name in state:
            if not (a.dtype == np.float32 and np.array_equal(a, state[t.name].numpy())):
                mismatched.append(t.name)
        else:
            foreign.append(t.name)
        inits.append((t.name, f"{DTYPES[t.data_type].lower()} {list(a.shape)}", kinds.get(t.name)))
    names = {t.name for t in g.initializer}
    missing = [k for k in state if k not in names]
    nodes = []
    for i, n in enumerate(g.node):
        s = f"{i:3d}  {n.op_type}({', '.join(n.input)}) -> {', '.join(n.output)}"
        a = attrs_of(n)
        if a:
            s += f"  {{{a}}}"
        nodes.append(s)
    return {
        "model": m,
        "opset": opset,
        "ir_version": m.ir_version,
        "producer": f"{m.producer_name} {m.producer_version}",
        "inputs": [(v.name, shape_of(v)) for v in g.input],
        "outputs": [(v.name, shape_of(v)) for v in g.output],
        "counts": counts,
        "attrs": attrs,
        "inits": inits,
        "mismatched": mismatched,
        "foreign": foreign,
        "missing": missing,
        "nodes": nodes,
        "size": os.path.getsize(path),
    }


def bn_training(model_proto):
    """Set of training_mode values of the BatchNormalization nodes (0 when absent)."""
    modes = set()
    for n in model_proto.graph.node:
        if n.op_type == "BatchNormalization":
            mode = 0
            for a in n.attribute:
                if a.name == "training_mode":
                    mode = a.i
            modes.add(mode)
    return modes


def without_dropout(model_proto):
    """A copy whose Dropout ratios are 0 (the Constant or initializer feeding input 1)."""
    m = copy.deepcopy(model_proto)
    ratios = {n.input[1] for n in m.graph.node if n.op_type == "Dropout" and len(n.input) > 1}
    for n in m.graph.node:
        if n.op_type == "Constant" and n.output[0] in ratios:
            t = n.attribute[0].t
            a = numpy_helper.to_array(t)
            t.CopyFrom(numpy_helper.from_array(np.zeros_like(a), t.name))
    for t in m.graph.initializer:
        if t.name in ratios:
            a = numpy_helper.to_array(t)
            t.CopyFrom(numpy_helper.from_array(np.zeros_like(a), t.name))
    return m


def with_bn_stats(model_proto):
    """A copy that also outputs the running statistics of training-mode BatchNormalization.

    Returns (model, [(state_dict running_mean name, output name), ...])."""
    m = copy.deepcopy(model_proto)
    extra = []
    for n in m.graph.node:
        if n.op_type == "BatchNormalization" and len(n.output) == 3:
            for init, out in ((n.input[3], n.output[1]), (n.input[4], n.output[2])):
                m.graph.output.append(onnx.helper.make_empty_tensor_value_info(out))
                extra.append((init, out))
    return m, extra


def session(model_proto):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(
        model_proto.SerializeToString(), opts, providers=["CPUExecutionProvider"]
    )


def ort_check(info, state_model, inputs, fixture):
    """Runs the file in onnxruntime and compares it with PyTorch (float32).

    Returns a list of lines describing what was compared."""
    lines = []
    proto = info["model"]
    has_dropout = info["counts"].get("Dropout", 0) > 0
    modes = bn_training(proto)
    feed = {"input": inputs.numpy()}
    if has_dropout:
        proto = without_dropout(proto)
    proto, extra = with_bn_stats(proto)
    sess = session(proto)
    res = sess.run(None, feed)
    got = res[0]

    torch_model = no_dropout(copy.deepcopy(state_model))
    if modes == {1}:
        torch_model.train()
        mode = "train() (batch statistics, the file's BatchNormalization has training_mode=1)"
    elif modes == {0}:
        torch_model.eval()
        mode = "eval() (running statistics: the file's BatchNormalization has training_mode=0)"
    else:
        torch_model.train()
        mode = "train() (no batch norm)"
    # Record each batch norm's input, to compute both running-variance conventions.
    seen = {}
    hooks = [
        module.register_forward_hook(
            lambda mod, args, out, name=name: seen.__setitem__(name, args[0].detach().clone())
        )
        for name, module in torch_model.named_modules()
        if isinstance(module, nn.BatchNorm2d)
    ]
    with torch.no_grad():
        want = torch_model(inputs).numpy()
    for h in hooks:
        h.remove()
    err = float(np.abs(got - want).max())
    assert err < 1e-4, f"onnxruntime disagrees with PyTorch: {err}"
    what = "the file with its Dropout ratio set to 0 in memory" if has_dropout else "the file"
    lines.append(
        f"onnxruntime on {what} vs PyTorch float32 {mode}: max |diff| {err:.2e}"
    )
    if modes == {1}:
        ref = fixture["output"].numpy()
        err64 = float(np.abs(got - ref).max())
        assert err64 < 1e-4
        lines.append(f"onnxruntime output vs the step's float64 output: max |diff| {err64:.2e}")
    if extra:
        names = [o.name for o in sess.get_outputs()]
        diffs = collections.defaultdict(float)
        start = state_model.state_dict()
        for init, out in extra:
            got_stat = res[names.index(out)]
            module = init.rsplit(".", 1)[0]
            h = seen[module].double()
            old = start[init].double()
            if init.endswith("running_mean"):
                expect = {"PyTorch": 0.9 * old + 0.1 * h.mean(dim=(0, 2, 3))}
                kind = "mean"
            else:
                expect = {
                    "PyTorch (unbiased batch variance)":
                        0.9 * old + 0.1 * h.var(dim=(0, 2, 3), unbiased=True),
                    "biased batch variance": 0.9 * old + 0.1 * h.var(dim=(0, 2, 3), unbiased=False),
                }
                kind = "var"
            for label, e in expect.items():
                d = float(np.abs(got_stat - e.numpy()).max())
                diffs[(kind, label)] = max(diffs[(kind, label)], d)
        lines.append(
            "onnxruntime's BatchNormalization outputs 1 and 2 (running mean / var) vs the "
            "update 0.9 * old + 0.1 * batch statistic: "
            + "; ".join(f"{k} with {lab}: max |diff| {d:.2e}" for (k, lab), d in diffs.items())
        )
        info["ort_running_var"] = diffs
    return lines


# ---------------------------------------------------------------------------------------
# Output


def save_step(path, fixture):
    fixture = {k: v.contiguous() for k, v in fixture.items()}
    save_file(fixture, path)
    os.chmod(path, 0o644)  # save_file creates the file private (0600)


def step_table(fixture):
    rows = []
    for k, v in fixture.items():
        rows.append(f"| `{k}` | {str(v.dtype).replace('torch.', '')} | {list(v.shape)} |")
    return rows


def readme(results, dynamo_opset):
    L = []
    w = L.append
    w("# ONNX import fixtures")
    w("")
    w("Generated by `scripts/onnx_fixtures.py` (regenerate with `python3 scripts/onnx_fixtures.py`;")
    w("deterministic: a rerun writes the same bytes). Do not edit by hand; the script's header")
    w("docstring describes the models and the step files in full.")
    w("")
    w(f"Exporters: torch {torch.__version__}, onnx {onnx.__version__}, onnxruntime "
      f"{ort.__version__}, onnxscript {__import__('onnxscript').__version__}.")
    w("")
    w("- `*.torchscript.onnx`: `torch.onnx.export(dynamo=False, opset_version=17, "
      "training=TrainingMode.TRAINING, do_constant_folding=False, input_names=[\"input\"], "
      "output_names=[\"output\"], dynamic_axes` batch`)`.")
    w(f"- `*.dynamo.onnx`: `torch.onnx.export(dynamo=True, optimize=False, "
      f"dynamic_shapes=({{0: Dim(\"batch\")}},), external_data=False)` on the model in "
      f"`train()` mode; the exporter's default opset is **{dynamo_opset}**. Node metadata "
      "`pkg.torch.onnx.stack_trace` removed (machine paths); all other metadata kept — each "
      "graph value that is an initializer has a `value_info` entry whose metadata "
      "`pkg.torch.export.graph_signature.InputSpec.kind` says `PARAMETER` or `BUFFER`.")
    w("- `*.step.safetensors`: one float64 training step (train() mode, dropout off) from "
      "exactly the float32 initializers of both ONNX files of the model (checked bit for bit).")
    w("")
    w("All initializers are stored inside the files (no external data); every file passes")
    w("`onnx.checker.check_model(full_check=True)`. The graph input is named `input`, the")
    w("output `output`, both with a symbolic batch dimension `batch` in every file.")
    w("")
    w("## Things an importer must know")
    w("")
    for line in NOTES:
        w(line)
    w("")
    w("## Files")
    w("")
    w("| file | opset | input | output | bytes | purpose |")
    w("|---|---|---|---|---|---|")
    for r in results:
        for kind in ("torchscript", "dynamo"):
            i = r[kind]
            ops = ", ".join(f"{d} {v}" for d, v in i["opset"].items())
            w(f"| `{r['name']}.{kind}.onnx` | {ops} | `{i['inputs'][0][1]}` | "
              f"`{i['outputs'][0][1]}` | {i['size']} | {PURPOSE[kind]} |")
        w(f"| `{r['name']}.step.safetensors` | | | | {r['step_size']} | reference step |")
    w("")
    for r in results:
        w(f"## {r['name']}")
        w("")
        w(r["doc"])
        w("")
        w(f"Reference step `{r['name']}.step.safetensors`: loss {r['loss']:.9f}")
        w("")
        w("| tensor | dtype | shape |")
        w("|---|---|---|")
        L.extend(r["step_rows"])
        w("")
        for kind in ("torchscript", "dynamo"):
            i = r[kind]
            w(f"### {r['name']}.{kind}.onnx")
            w("")
            ops = ", ".join(f"{d} {v}" for d, v in i["opset"].items())
            w(f"- opset {ops}; IR version {i['ir_version']}; producer {i['producer']}")
            w(f"- inputs: " + "; ".join(f"`{n}` {s}" for n, s in i["inputs"]))
            w(f"- outputs: " + "; ".join(f"`{n}` {s}" for n, s in i["outputs"]))
            if kind == "dynamo" and r["dynamo_note"]:
                w(f"- **{r['dynamo_note']}**")
            w(f"- {len(i['nodes'])} nodes; op types: "
              + ", ".join(f"{k} ×{v}" for k, v in sorted(i["counts"].items())))
            for line in i["ort"]:
                w(f"- {line}")
            if i["missing"]:
                w(f"- state_dict entries not in the file: "
                  + ", ".join(f"`{k}`" for k in i["missing"]))
            if i["foreign"]:
                w(f"- initializers that are not state_dict entries: "
                  + ", ".join(f"`{k}`" for k in i["foreign"]))
            w("")
            w("Initializers (in file order; all equal to the state_dict bit for bit):")
            w("")
            for name, desc, kind_meta in i["inits"]:
                extra = f" — {kind_meta}" if kind_meta else ""
                w(f"- `{name}` {desc}{extra}")
            w("")
            w("Attributes seen, per op type (Constant values are in the node list below):")
            w("")
            w("| op | count | attributes; number of inputs / outputs |")
            w("|---|---|---|")
            for op in sorted(i["attrs"]):
                for key, c in sorted(i["attrs"][op].items()):
                    w(f"| {op} | {c} | {key.replace('|', '/')} |")
            w("")
    w("## Appendix: every node, in order")
    w("")
    w("Format: `index  OpType(inputs) -> outputs  {attributes}`; Constant values are shown")
    w("when they have at most 8 elements. An empty input name is an omitted optional input.")
    w("")
    for r in results:
        for kind in ("torchscript", "dynamo"):
            i = r[kind]
            w("<details>")
            w(f"<summary>{r['name']}.{kind}.onnx — {len(i['nodes'])} nodes</summary>")
            w("")
            w("```")
            L.extend(i["nodes"])
            w("```")
            w("")
            w("</details>")
            w("")
    return "\n".join(L) + "\n"


PURPOSE = {
    "torchscript": "import test: TorchScript exporter, training-mode ops",
    "dynamo": "import test: dynamo exporter, optimize=False",
}

NOTES = []  # filled in by main() from what the export produced


DOCS = {
    "mlp": "Linear(12,16), Tanh, Linear(16,16), LeakyReLU(0.1), Dropout(0.25), Linear(16,16), "
    "ReLU, Linear(16,5). Input float32 [B, 12], 5 classes, B = 4 in the step.",
    "cnn_bn": "Conv2d(3,4,3,padding=1), BatchNorm2d(4), ReLU, MaxPool2d(2), Conv2d(4,6,3,padding=1), "
    "BatchNorm2d(6), Sigmoid, AvgPool2d(2), Flatten, Linear(24,4). Input float32 [B, 3, 9, 9], "
    "4 classes, B = 4 in the step.",
    "resnet": "Conv2d(2,8,3,padding=1,bias=False), BatchNorm2d(8), ReLU, Block(8), Block(8), "
    "AdaptiveAvgPool2d(1), Flatten, Linear(8,3), where Block.forward(x) = "
    "relu(x + bn2(conv2(relu(bn1(conv1(x)))))) with bias-free 3×3 convs. Input float32 "
    "[B, 2, 8, 8], 3 classes, B = 4 in the step.",
    "embedding": "Embedding(11,8), Linear(8,16), GELU (exact, erf), Linear(16,11). Input int64 "
    "token ids [B, 6], logits [B, 6, 11], next-token targets, B = 3 in the step.",
    "gpt": "tok Embedding(13,16) + pos Parameter[8,16][:T]; one pre-LN block: x + attn(ln1(x)) "
    "with nn.MultiheadAttention(16, 4 heads, batch_first=True, dropout 0) and the causal mask "
    "`torch.triu(torch.ones(T,T,dtype=torch.bool),1)` built in forward (need_weights=False), "
    "then x + mlp(ln2(x)) with Linear(16,32), GELU, Linear(32,16); ln_f, head Linear(16,13). "
    "Input int64 token ids [B, 8], logits [B, 8, 13], next-token targets, B = 3 in the step.",
}


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    results = []
    dynamo_opsets = set()
    for name, build, seed, pseed, batch in SPECS:
        torch.manual_seed(seed)
        model = build()
        perturb(model, pseed)
        model.train()
        inputs, x, y = batch()

        state_model, note = both_exports(model, inputs, OUT, name)
        # Determinism: export again from the same starting state and compare bytes.
        with tempfile.TemporaryDirectory() as tmp:
            both_exports(model, inputs, tmp, name)
            for kind in ("torchscript", "dynamo"):
                a = open(os.path.join(OUT, f"{name}.{kind}.onnx"), "rb").read()
                b = open(os.path.join(tmp, f"{name}.{kind}.onnx"), "rb").read()
                assert a == b, f"{name}.{kind}.onnx: a second export wrote different bytes"

        state = {
            k: v.detach().clone()
            for k, v in state_model.state_dict().items()
            if not k.endswith("num_batches_tracked")
        }
        if name == "gpt":
            # Opset 14, where LayerNormalization does not exist yet: the exporter writes each
            # layer norm as ReduceMean, Sub, Pow, Add, Sqrt, Div, Mul, Add.
            export_torchscript(
                copy.deepcopy(state_model).train(),
                inputs,
                os.path.join(OUT, "gpt.torchscript14.onnx"),
                opset=14,
            )
        fixture = step(state_model, inputs, x, y)
        step_path = os.path.join(OUT, f"{name}.step.safetensors")
        save_step(step_path, fixture)

        r = {
            "name": name,
            "doc": DOCS[name],
            "loss": fixture["loss"].item(),
            "step_rows": step_table(fixture),
            "step_size": os.path.getsize(step_path),
            "dynamo_note": note,
        }
        for kind in ("torchscript", "dynamo"):
            info = inspect(os.path.join(OUT, f"{name}.{kind}.onnx"), state)
            assert not info["mismatched"], f"{name}.{kind}: {info['mismatched']} differ"
            info["ort"] = ort_check(info, state_model, inputs, fixture)
            r[kind] = info
            if kind == "dynamo":
                dynamo_opsets.add(info["opset"].get("ai.onnx"))
        results.append(r)

    assert len(dynamo_opsets) == 1
    dynamo_opset = dynamo_opsets.pop()
    NOTES.extend(notes(results))
    with open(os.path.join(OUT, "README.md"), "w") as f:
        f.write(readme(results, dynamo_opset))

    for r in results:
        print(f"== {r['name']}: loss {r['loss']:.9f}, step file {r['step_size']} bytes")
        for kind in ("torchscript", "dynamo"):
            i = r[kind]
            print(f"  {r['name']}.{kind}.onnx  {i['size']} bytes, opset {i['opset']}, "
                  f"input {i['inputs'][0][1]}")
            if kind == "dynamo" and r["dynamo_note"]:
                print(f"    {r['dynamo_note']}")
            print("    ops: " + ", ".join(f"{k} x{v}" for k, v in sorted(i["counts"].items())))
            print("    initializers: " + ", ".join(n for n, _, _ in i["inits"]))
            if i["missing"]:
                print("    state_dict entries not in the file: " + ", ".join(i["missing"]))
            if i["foreign"]:
                print("    initializers not in the state_dict: " + ", ".join(i["foreign"]))
            for line in i["ort"]:
                print(f"    {line}")
    print("notes:")
    for line in NOTES:
        print(line)


def consumed(graph):
    """Names read by some node or returned as a graph output."""
    used = {o.name for o in graph.output}
    for n in graph.node:
        used.update(n.input)
    return used


def notes(results):
    """What an importer must know, from the files just written (checked, not remembered)."""
    out = []
    by = {(r["name"], k): r[k] for r in results for k in ("torchscript", "dynamo")}

    def graph(name, kind):
        return by[(name, kind)]["model"].graph

    def nodes(kind, op, names=None):
        for r in results:
            if names and r["name"] not in names:
                continue
            for n in graph(r["name"], kind).node:
                if n.op_type == op:
                    yield r["name"], n

    def attr(n, name, default=None):
        for a in n.attribute:
            if a.name == name:
                return onnx.helper.get_attribute_value(a)
        return default

    # Batch norm.
    ts_bn = list(nodes("torchscript", "BatchNormalization"))
    dy_bn = list(nodes("dynamo", "BatchNormalization"))
    assert all(attr(n, "training_mode") == 1 and len(n.output) == 3 for _, n in ts_bn)
    assert all(attr(n, "training_mode", 0) == 0 and len(n.output) == 1 for _, n in dy_bn)
    dangling = all(
        n.output[1] not in consumed(graph(m, "torchscript"))
        and n.output[2] not in consumed(graph(m, "torchscript"))
        for m, n in ts_bn
    )
    moms = sorted({fmt_float(attr(n, "momentum")) for _, n in ts_bn + dy_bn})
    eps = sorted({fmt_float(attr(n, "epsilon")) for _, n in ts_bn + dy_bn})
    out.append(
        f"- **BatchNormalization, TorchScript files**: training_mode=1, three outputs (Y, "
        f"running_mean, running_var), momentum={', '.join(moms)} (ONNX momentum = 1 − "
        f"PyTorch's 0.1: running = momentum·running + (1−momentum)·batch), "
        f"epsilon={', '.join(eps)}. Outputs 1 and 2 "
        + ("feed nothing and are not graph outputs: the running-statistics update is visible "
           "only as those dangling outputs." if dangling else "are used.")
    )
    out.append(
        "- **BatchNormalization, dynamo files: inference mode** (no training_mode attribute, "
        "i.e. 0; one output) although the model was exported in train() mode: onnxscript's "
        "translation of `aten._native_batch_norm_legit_functional` sets `training = False` "
        "unconditionally (its comment: ORT supports training mode only below opset 14). Run "
        "as written these nodes normalize with the running statistics, and onnxruntime "
        "matches PyTorch eval(), not train(). To reproduce the training step an importer has "
        "to treat BatchNormalization as training-mode (batch statistics; update the running "
        "statistics with momentum 0.1) whatever the attribute says, or report that the file "
        "says inference. The graph signature in the file's metadata still lists the "
        "BUFFER_MUTATION outputs (running_mean, running_var, num_batches_tracked) that the "
        "ONNX graph dropped."
    )
    rv = [r[k].get("ort_running_var") for r in results for k in ("torchscript",)]
    rv = [d for d in rv if d]
    biased = max(d[("var", "biased batch variance")] for d in rv)
    unbiased = max(d[("var", "PyTorch (unbiased batch variance)")] for d in rv)
    assert biased < 1e-6 < unbiased
    out.append(
        "- **Running variance**: PyTorch updates running_var with the *unbiased* batch "
        "variance (×n/(n−1), n = B·H·W); the ONNX spec — and onnxruntime, checked here: max "
        f"|diff| {biased:.1e} against the biased update, {unbiased:.1e} against PyTorch's — "
        "uses the *biased* one. The step files' `running.*` are PyTorch's (unbiased). The "
        "normalization itself uses the biased batch variance in both."
    )
    # Dropout.
    for kind in ("torchscript", "dynamo"):
        g = graph("mlp", kind)
        consts = constant_values(g)
        for _, n in nodes(kind, "Dropout", ["mlp"]):
            mask = "no mask output"
            if len(n.output) > 1:
                mask = "output 1 (mask) " + (
                    "unused" if n.output[1] not in consumed(g) else "used")
            out.append(
                f"- **Dropout, {kind}** (mlp): no attributes; input 1 ratio = "
                f"{consts.get(n.input[1], '(computed)')}, input 2 training_mode = "
                f"{consts.get(n.input[2], '(computed)')} (both Constant nodes); "
                f"{len(n.output)} output{'s' if len(n.output) > 1 else ''}, {mask}. The step files are computed with "
                "dropout off; onnxruntime was checked on a copy with ratio 0."
            )
    # Linear.
    gemms = [n for k in ("torchscript", "dynamo") for _, n in nodes(k, "Gemm")]
    assert all(attr(n, "transB") == 1 and attr(n, "transA", 0) == 0 for n in gemms)
    out.append(
        "- **nn.Linear**: on a 2-D input both exporters write Gemm(x, weight, bias) with "
        "transB=1 (weight [out, in] as in the state_dict; alpha=beta=1; dynamo also writes "
        "transA=0). On a 3-D input (embedding, gpt mlp and head) it is "
        "Transpose(weight, perm=[1,0]) → MatMul(x, ·) → Add (TorchScript: Add(bias, matmul); "
        "dynamo: Add(matmul, bias)). nn.MultiheadAttention's in_proj is the 3-D form on "
        "[T, B, E]; its out_proj is a Gemm on a [T·B, E] Reshape."
    )
    # Conv bias.
    ts_conv = [n for _, n in nodes("torchscript", "Conv", ["resnet"])]
    dy_conv = [n for _, n in nodes("dynamo", "Conv", ["resnet"])]
    assert all(len(n.input) == 2 for n in ts_conv) and all(len(n.input) == 3 for n in dy_conv)
    out.append(
        "- **Conv without bias** (resnet): TorchScript writes Conv with two inputs; dynamo "
        "gives every bias-free Conv a third input computed in the graph: "
        "Expand(CastLike(Constant 0.0, x), Expand(Shape(weight, start=0, end=1), [1])) — a "
        "zero vector of out_channels. Conv attributes: TorchScript dilations, group, "
        "kernel_shape, pads, strides; dynamo adds auto_pad='NOTSET'."
    )
    # Pooling and flatten.
    assert any(True for _ in nodes("torchscript", "GlobalAveragePool", ["resnet"]))
    assert any(True for _ in nodes("dynamo", "ReduceMean", ["resnet"]))
    out.append(
        "- **AdaptiveAvgPool2d(1)** (resnet): TorchScript → GlobalAveragePool; dynamo → "
        "ReduceMean(x, axes) keepdims=1 with axes = Reshape(Constant [-1, -2], [-1]). "
        "**Flatten**: TorchScript → Flatten(axis=1); dynamo → Reshape(x, Concat(Reshape("
        "batch, [-1]), [features])) with allowzero=1, the batch size taken from "
        "Squeeze(Shape(input, start=0, end=1)). MaxPool2d(2) / AvgPool2d(2): see the "
        "attribute tables (kernel_shape [2, 2], strides [2, 2], pads 0)."
    )
    # GELU.
    assert any(True for _ in nodes("torchscript", "Erf"))
    gelus = [n for _, n in nodes("dynamo", "Gelu")]
    assert gelus and all(attr(n, "approximate") == b"none" for n in gelus)
    out.append(
        "- **GELU**: TorchScript at opset 17 has no Gelu op and writes "
        "x · (Erf(x / 1.4142135) + 1) · 0.5 (Div, Erf, Add, Mul, Mul); dynamo (opset 20) "
        "writes Gelu(approximate='none')."
    )
    out.append(
        "- **LayerNormalization**: axis=-1, epsilon=1e-05, three inputs (x, weight, bias), "
        "one output; dynamo adds stash_type=1. **Embedding**: Gather(weight, int64 ids) "
        "(axis 0). **Position table**: Slice(pos, starts 0, ends T, axes 0, steps 1), T "
        "a constant (dynamo) or Gather(Shape(input), 1) (TorchScript)."
    )
    out.append(
        "- **Attention** (gpt; both exporters, see the node lists): Transpose to [T, B, E]; "
        "qkv = in_proj → Reshape [T, B, 3, E] → Unsqueeze(0) → Transpose(perm [3,1,2,0,4]) → "
        "Squeeze → Gather(·, 0 / 1 / 2) for q, k, v; each → Reshape [T, B·H, E/H] → "
        "Transpose [1,0,2] → Reshape [B, H, T, E/H]. Scores = MatMul(q · √s, kᵀ · √s) with "
        "s = 1/√(E/H) (the scale is split over q and k: Mul by Sqrt of it, twice), + mask, "
        "Softmax(axis=-1), MatMul with v, Transpose(perm [2,0,1,3]), Reshape [T·B, E], Gemm "
        "out_proj, Reshape [T, B, E], Transpose back, residual Add. The boolean causal mask "
        "becomes Trilu(upper=1, k=1) of a bool all-ones [T, T] (ConstantOfShape in "
        "TorchScript, Expand in dynamo), then the additive mask Where(mask, -inf, 0.0), "
        "Unsqueezed to broadcast over [B, H]."
    )
    out.append(
        "- **Shape arithmetic**: Shape, Gather on shapes, Unsqueeze, Concat, Slice, Squeeze, "
        "Mod, Cast, CastLike, Reshape of int64 vectors, Expand and ConstantOfShape compute "
        "only shapes, the mask and the zero conv biases; all of it folds to constants once "
        "the input shape is fixed. Constant nodes use `value` (a tensor) in TorchScript and "
        "`value`, `value_ints`, `value_float` in dynamo. Reshape's allowzero is 0 in "
        "TorchScript (absent or 0), 0 or 1 in dynamo (no shape here contains a 0)."
    )
    out.append(
        f"- **Dynamic dimensions**: every input and output has dim_param `batch` on axis 0; "
        f"the TorchScript gpt output's axis 1 is named "
        f"`{by[('gpt', 'torchscript')]['outputs'][0][1].split(', ')[1]}` (shape inference's "
        "name for T, which is 8 in the input)."
    )
    assert not any(i["foreign"] or i["missing"] for i in by.values())
    out.append(
        "- **Initializers**: named exactly as the state_dict in both exporters (no renaming "
        "with optimize=False), every state_dict entry present; the order differs (dynamo "
        "lists parameters, then buffers; TorchScript puts gpt's `pos` first). `num_batches_tracked` is in neither. No initializer is a non-parameter "
        "constant here (the causal mask is computed in the graph). In dynamo files each "
        "initializer also has a value_info whose metadata_props "
        "`pkg.torch.export.graph_signature.InputSpec.kind` is PARAMETER or BUFFER."
    )
    return out


if __name__ == "__main__":
    main()
