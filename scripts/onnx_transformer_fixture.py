#!/usr/bin/env python3
"""The ONNX export of configs/transformer.yaml, for tests/onnx.rs ("the same numbers as its
YAML form").

Builds the PyTorch model of configs/transformer.yaml exactly as scripts/torch_fixtures.py does
(its `transformer()`), loads the committed weights tests/fixtures/torch/transformer.weights.safetensors,
and exports it with the TorchScript exporter (opset 17, training-mode ops kept) to
tests/fixtures/onnx/transformer.torchscript.onnx. netdx then trains the YAML model from those
weights and the imported model from the file on the same batch, and compares.

Run (from any folder):  python3 scripts/onnx_transformer_fixture.py
Needs torch, onnx and safetensors; only this script does. The output is deterministic.
"""

import os
import sys

import onnx
import torch
from safetensors.torch import load_file

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from torch_fixtures import transformer  # noqa: E402


def main():
    torch.set_num_threads(1)
    model = transformer()
    weights = load_file(os.path.join(ROOT, "tests", "fixtures", "torch", "transformer.weights.safetensors"))
    model.load_state_dict(weights, strict=True)
    model.train()
    out = os.path.join(ROOT, "tests", "fixtures", "onnx", "transformer.torchscript.onnx")
    x = torch.zeros(2, 16, dtype=torch.long)
    torch.onnx.export(
        model,
        (x,),
        out,
        dynamo=False,
        opset_version=17,
        training=torch.onnx.TrainingMode.TRAINING,
        do_constant_folding=False,
        input_names=["input"],
        output_names=["output"],
        dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
    )
    onnx.checker.check_model(out, full_check=True)
    m = onnx.load(out)
    ops = sorted({n.op_type for n in m.graph.node})
    print(f"{out}: {os.path.getsize(out)} bytes, opset {m.opset_import[0].version}, ops {ops}")


if __name__ == "__main__":
    main()
