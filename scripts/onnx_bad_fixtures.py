#!/usr/bin/env python3
"""Bad ONNX models: tiny files that netdx must refuse with a clear error (exit code 2), never
a panic. Written under tests/fixtures/onnx/bad/ and read by tests/onnx_errors.rs.

Regenerate with `python3 scripts/onnx_bad_fixtures.py` (needs only the `onnx` Python
package). The output is deterministic: the models are built with onnx.helper from fixed
values (no randomness, no exporter, no timestamps), so a rerun writes the same bytes. The
files are deliberately invalid, so onnx.checker is not run on them.

Every model is a variation of one small classifier in the style of PyTorch's TorchScript
exporter (node names `/0/Gemm`, initializers named as a state_dict): input `input` float
[batch, 4] -> Gemm(0.weight [3, 4], 0.bias [3], transB=1) -> output `output` float
[batch, 3], opset 17 of the default domain, IR version 8. What each file gets wrong:

  unsupported_op.onnx          Softsign on the input (`/0/Softsign`, before the Gemm): an
                               op netdx does not map.
  unsupported_op_einsum.onnx   Einsum("bi->bi") on the input (`/0/Einsum`).
  opset11.onnx                 the valid model, declared as opset 11 (netdx reads 13-21).
  external_data_missing.onnx   0.weight stored in the external file
                               `external_data_missing.weights`, which does not exist.
  external_data_short.onnx     0.weight stored in `external_data_short.weights` (written
                               beside it) at offset 0, length 48, but that file has 20 bytes.
  external_data_outside.onnx   0.weight stored in `../mlp.torchscript.onnx`: a location
                               outside the model's folder.
  two_inputs.onnx              two graph inputs, `input` and `mask` (Add(input, mask) feeds
                               the Gemm).
  symbolic_dims.onnx           input [batch, features]: the feature dimension is symbolic,
                               so the config must give `model.input: [4]`.
  tied_weight.onnx             0.weight [4, 4] used by two Gemm nodes (`/0/Gemm`, `/2/Gemm`)
                               with a Relu between them.
  truncated_initializer.onnx   0.weight has dims [3, 4] (48 bytes of float32) but raw_data
                               of 20 bytes.
  dangling_input.onnx          `/1/Relu` reads `/0/Gemm_output_1`, which no node writes.

Malformed nodes (what a corrupted or hand-edited file can hold; each must be an error, not
an index out of bounds in the importer or the constant folder):

  add_one_input.onnx           `/1/Add` with one input (Add takes two).
  gemm_one_input.onnx          `/0/Gemm` with only the data input (no weight B).
  logsoftmax_no_output.onnx    `/1/LogSoftmax` with no outputs.
  unsqueeze_duplicate_axes.onnx  Unsqueeze of a constant scalar with axes [1, 1].
  slice_short_axes.onnx        Slice of a constant [4] with starts and ends of 2 values but
                               axes of 1.
  transpose_bad_perm.onnx      Transpose of a constant [2, 3] with perm [0, 5].
  int_div_overflow.onnx        Div of int64 constants: -2^63 / -1.
  range_zero_delta.onnx        Range(0.0, 4.0, 0.0) of float constants (an infinite range).
  constant_of_shape_huge.onnx  ConstantOfShape([2^20, 2^20, 2^10]) of float: 2^50 values.
  gather_scalar.onnx           Gather of a constant scalar (rank 0) along axis 0.
  concat_scalars.onnx          Concat of two constant scalars along axis 0.
  concat_mismatched.onnx       Concat along axis 1 of constants [2, 3] and [1, 3].
  squeeze_zero_dim.onnx        Squeeze of axis 0 of a constant [0, 3] (a size that is not 1),
                               then Gather of element 1 of the result.

The models from unsqueeze_duplicate_axes on fold at load (their inputs are constants) and
feed nothing the model needs.
"""

import os
import struct

import onnx
from onnx import TensorProto, helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "onnx", "bad")

FLOAT = TensorProto.FLOAT
INT64 = TensorProto.INT64


def floats(n, scale=0.1):
    """n fixed float32 values as little-endian raw bytes."""
    return struct.pack("<%df" % n, *[scale * ((i % 7) - 3) for i in range(n)])


def init(name, dims, raw=None):
    """A float32 initializer stored as raw_data, as PyTorch's exporters write them."""
    t = TensorProto()
    t.name = name
    t.data_type = FLOAT
    t.dims.extend(dims)
    n = 1
    for d in dims:
        n *= d
    t.raw_data = floats(n) if raw is None else raw
    return t


def const_node(name, output, tensor):
    return helper.make_node("Constant", [], [output], name=name, value=tensor)


def ints(name, values, dims=None):
    return helper.make_tensor(name, INT64, [len(values)] if dims is None else dims, values)


def value(name, dims, elem=FLOAT):
    return helper.make_tensor_value_info(name, elem, dims)


def gemm(name, x, w, b, out):
    return helper.make_node("Gemm", [x, w, b], [out], name=name, alpha=1.0, beta=1.0, transB=1)


def model(nodes, initializers, inputs=None, outputs=None, opset=17):
    graph = helper.make_graph(
        nodes,
        "netdx_bad",
        inputs if inputs is not None else [value("input", ["batch", 4])],
        outputs if outputs is not None else [value("output", ["batch", 3])],
        initializer=initializers,
    )
    m = helper.make_model(
        graph,
        producer_name="netdx scripts/onnx_bad_fixtures.py",
        opset_imports=[helper.make_opsetid("", opset)],
    )
    m.ir_version = 8
    return m


def weights():
    return [init("0.weight", [3, 4]), init("0.bias", [3])]


def external(location):
    """The weights with 0.weight (48 bytes) kept in the external file `location`."""
    ws = weights()
    w = ws[0]
    w.ClearField("raw_data")
    w.data_location = TensorProto.EXTERNAL
    for k, v in [("location", location), ("offset", "0"), ("length", "48")]:
        e = w.external_data.add()
        e.key = k
        e.value = v
    return ws


def base_gemm(x="input", out="output"):
    return gemm("/0/Gemm", x, "0.weight", "0.bias", out)


def folded_then_model(const_nodes):
    """Constant-only nodes first (folded at load, read by nothing), then the valid model."""
    return model(const_nodes + [base_gemm()], weights())


def models():
    m = {}
    m["unsupported_op"] = model(
        [
            helper.make_node("Softsign", ["input"], ["/0/Softsign_output_0"], name="/0/Softsign"),
            gemm("/1/Gemm", "/0/Softsign_output_0", "0.weight", "0.bias", "output"),
        ],
        weights(),
    )
    m["unsupported_op_einsum"] = model(
        [
            helper.make_node(
                "Einsum", ["input"], ["/0/Einsum_output_0"], name="/0/Einsum", equation="bi->bi"
            ),
            gemm("/1/Gemm", "/0/Einsum_output_0", "0.weight", "0.bias", "output"),
        ],
        weights(),
    )
    m["opset11"] = model([base_gemm()], weights(), opset=11)

    m["external_data_missing"] = model([base_gemm()], external("external_data_missing.weights"))
    m["external_data_short"] = model([base_gemm()], external("external_data_short.weights"))
    m["external_data_outside"] = model([base_gemm()], external("../mlp.torchscript.onnx"))

    m["two_inputs"] = model(
        [
            helper.make_node("Add", ["input", "mask"], ["/Add_output_0"], name="/Add"),
            base_gemm(x="/Add_output_0"),
        ],
        weights(),
        inputs=[value("input", ["batch", 4]), value("mask", ["batch", 4])],
    )
    m["symbolic_dims"] = model(
        [base_gemm()], weights(), inputs=[value("input", ["batch", "features"])]
    )
    m["tied_weight"] = model(
        [
            gemm("/0/Gemm", "input", "0.weight", "0.bias", "/0/Gemm_output_0"),
            helper.make_node("Relu", ["/0/Gemm_output_0"], ["/1/Relu_output_0"], name="/1/Relu"),
            gemm("/2/Gemm", "/1/Relu_output_0", "0.weight", "2.bias", "output"),
        ],
        [init("0.weight", [4, 4]), init("0.bias", [4]), init("2.bias", [4])],
        outputs=[value("output", ["batch", 4])],
    )
    m["truncated_initializer"] = model(
        [base_gemm()], [init("0.weight", [3, 4], raw=floats(5)), init("0.bias", [3])]
    )
    m["dangling_input"] = model(
        [
            base_gemm(out="/0/Gemm_output_0"),
            helper.make_node("Relu", ["/0/Gemm_output_1"], ["output"], name="/1/Relu"),
        ],
        weights(),
    )

    # Malformed nodes.
    m["add_one_input"] = model(
        [
            base_gemm(out="/0/Gemm_output_0"),
            helper.make_node("Add", ["/0/Gemm_output_0"], ["output"], name="/1/Add"),
        ],
        weights(),
    )
    m["gemm_one_input"] = model(
        [helper.make_node("Gemm", ["input"], ["output"], name="/0/Gemm", transB=1)], weights()
    )
    m["logsoftmax_no_output"] = model(
        [
            base_gemm(),
            helper.make_node("LogSoftmax", ["output"], [], name="/1/LogSoftmax", axis=-1),
        ],
        weights(),
    )
    m["unsqueeze_duplicate_axes"] = folded_then_model(
        [
            const_node("/c/Constant", "/c/x", helper.make_tensor("x", INT64, [], [7])),
            const_node("/c/Constant_1", "/c/axes", ints("axes", [1, 1])),
            helper.make_node("Unsqueeze", ["/c/x", "/c/axes"], ["/c/y"], name="/c/Unsqueeze"),
        ]
    )
    m["slice_short_axes"] = folded_then_model(
        [
            const_node("/c/Constant", "/c/x", ints("x", [1, 2, 3, 4])),
            const_node("/c/Constant_1", "/c/starts", ints("starts", [0, 0])),
            const_node("/c/Constant_2", "/c/ends", ints("ends", [1, 1])),
            const_node("/c/Constant_3", "/c/axes", ints("axes", [0])),
            helper.make_node(
                "Slice", ["/c/x", "/c/starts", "/c/ends", "/c/axes"], ["/c/y"], name="/c/Slice"
            ),
        ]
    )
    m["transpose_bad_perm"] = folded_then_model(
        [
            const_node("/c/Constant", "/c/x", ints("x", [1, 2, 3, 4, 5, 6], dims=[2, 3])),
            helper.make_node("Transpose", ["/c/x"], ["/c/y"], name="/c/Transpose", perm=[0, 5]),
        ]
    )
    m["int_div_overflow"] = folded_then_model(
        [
            const_node("/c/Constant", "/c/a", helper.make_tensor("a", INT64, [], [-(2**63)])),
            const_node("/c/Constant_1", "/c/b", helper.make_tensor("b", INT64, [], [-1])),
            helper.make_node("Div", ["/c/a", "/c/b"], ["/c/y"], name="/c/Div"),
        ]
    )
    m["range_zero_delta"] = folded_then_model(
        [
            const_node("/c/Constant", "/c/start", helper.make_tensor("start", FLOAT, [], [0.0])),
            const_node("/c/Constant_1", "/c/limit", helper.make_tensor("limit", FLOAT, [], [4.0])),
            const_node("/c/Constant_2", "/c/delta", helper.make_tensor("delta", FLOAT, [], [0.0])),
            helper.make_node(
                "Range", ["/c/start", "/c/limit", "/c/delta"], ["/c/y"], name="/c/Range"
            ),
        ]
    )
    m["constant_of_shape_huge"] = folded_then_model(
        [
            const_node("/c/Constant", "/c/shape", ints("shape", [2**20, 2**20, 2**10])),
            helper.make_node("ConstantOfShape", ["/c/shape"], ["/c/y"], name="/c/ConstantOfShape"),
        ]
    )
    m["gather_scalar"] = folded_then_model(
        [
            const_node("/c/Constant", "/c/x", helper.make_tensor("x", INT64, [], [5])),
            const_node("/c/Constant_1", "/c/i", helper.make_tensor("i", INT64, [], [0])),
            helper.make_node("Gather", ["/c/x", "/c/i"], ["/c/y"], name="/c/Gather", axis=0),
        ]
    )
    m["concat_scalars"] = folded_then_model(
        [
            const_node("/c/Constant", "/c/x", helper.make_tensor("x", INT64, [], [5])),
            helper.make_node("Concat", ["/c/x", "/c/x"], ["/c/y"], name="/c/Concat", axis=0),
        ]
    )
    m["concat_mismatched"] = folded_then_model(
        [
            const_node("/c/Constant", "/c/a", ints("a", [1, 2, 3, 4, 5, 6], dims=[2, 3])),
            const_node("/c/Constant_1", "/c/b", ints("b", [1, 2, 3], dims=[1, 3])),
            helper.make_node("Concat", ["/c/a", "/c/b"], ["/c/y"], name="/c/Concat", axis=1),
        ]
    )
    m["squeeze_zero_dim"] = folded_then_model(
        [
            const_node("/c/Constant", "/c/x", helper.make_tensor("x", INT64, [0, 3], [])),
            const_node("/c/Constant_1", "/c/axes", ints("axes", [0])),
            helper.make_node("Squeeze", ["/c/x", "/c/axes"], ["/c/s"], name="/c/Squeeze"),
            const_node("/c/Constant_2", "/c/i", helper.make_tensor("i", INT64, [], [1])),
            helper.make_node("Gather", ["/c/s", "/c/i"], ["/c/y"], name="/c/Gather", axis=0),
        ]
    )
    return m


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, m in sorted(models().items()):
        path = os.path.join(OUT, name + ".onnx")
        data = m.SerializeToString(deterministic=True)
        with open(path, "wb") as f:
            f.write(data)
        print("%-32s %4d bytes" % (name + ".onnx", len(data)))
    # 20 of the 48 bytes external_data_short.onnx asks for.
    with open(os.path.join(OUT, "external_data_short.weights"), "wb") as f:
        f.write(floats(5))
    print("%-32s %4d bytes" % ("external_data_short.weights", 20))
    # The external file must stay missing.
    missing = os.path.join(OUT, "external_data_missing.weights")
    if os.path.exists(missing):
        os.remove(missing)


if __name__ == "__main__":
    main()
