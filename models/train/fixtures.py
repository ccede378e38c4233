"""Writes the API's test fixture with one input per column, of two types.

crates/api/tests/fixtures/hostile/if_branches.onnx is an invalid graph that
made the server crash at load (an If node whose branches yield different
numbers of outputs), crates/api/tests/fixtures/wide/wide.onnx is a linear
regressor over 2,000
columns (for the bounds on error listings), and
crates/api/tests/fixtures/models/mixed/model.onnx is a hand-built graph of
standard operators (no training): a float column `size` and a text column
`colour`; `colour` is mapped to a code by CategoryMapper (red 0, green 1,
blue 2, anything else -1), and the answer is 2 * size + 10 * code + 1. The
test suite checks the API's answers against that formula, and this script
checks the graph with onnxruntime before saving it.

Usage (from the repository root, with the training venv of README.md):
    .venv-train/bin/python models/train/fixtures.py
"""
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

OUT = Path(__file__).resolve().parents[2] / "crates/api/tests/fixtures/models/mixed/model.onnx"


def build() -> onnx.ModelProto:
    size = helper.make_tensor_value_info("size", TensorProto.FLOAT, ["N", 1])
    colour = helper.make_tensor_value_info("colour", TensorProto.STRING, ["N", 1])
    value = helper.make_tensor_value_info("value", TensorProto.FLOAT, ["N", 1])
    nodes = [
        helper.make_node(
            "CategoryMapper", ["colour"], ["code"], domain="ai.onnx.ml",
            cats_strings=["red", "green", "blue"], cats_int64s=[0, 1, 2], default_int64=-1,
        ),
        helper.make_node("Cast", ["code"], ["code_f"], to=TensorProto.FLOAT),
        helper.make_node("Concat", ["size", "code_f"], ["x"], axis=1),
        helper.make_node("MatMul", ["x", "w"], ["xw"]),
        helper.make_node("Add", ["xw", "b"], ["value"]),
    ]
    inits = [
        numpy_helper.from_array(np.array([[2.0], [10.0]], dtype=np.float32), "w"),
        numpy_helper.from_array(np.array([1.0], dtype=np.float32), "b"),
    ]
    graph = helper.make_graph(nodes, "mixed", [size, colour], [value], inits)
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 3)],
        producer_name="models/train/fixtures.py",
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


WIDE = Path(__file__).resolve().parents[2] / "crates/api/tests/fixtures/wide/wide.onnx"
WIDTH = 2000


def build_wide() -> onnx.ModelProto:
    """A linear regressor over one [N, 2000] float matrix: the sum of the
    columns. Its card (inferred) has 2,000 features, for the bounds on
    error listings."""
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", WIDTH])
    y = helper.make_tensor_value_info("variable", TensorProto.FLOAT, ["N", 1])
    node = helper.make_node(
        "LinearRegressor", ["input"], ["variable"], domain="ai.onnx.ml",
        coefficients=[1.0] * WIDTH, intercepts=[0.0], targets=1,
    )
    graph = helper.make_graph([node], "wide", [x], [y])
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 3)],
        producer_name="models/train/fixtures.py",
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


HOSTILE = Path(__file__).resolve().parents[2] / "crates/api/tests/fixtures/hostile/if_branches.onnx"


def build_if_branches() -> onnx.ModelProto:
    """A hostile graph (issue 27): an If node whose branches yield different
    numbers of outputs, which makes tract's analyser panic. Not checked with
    onnx.checker (it is invalid on purpose)."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1])
    one = helper.make_tensor_value_info("one", TensorProto.FLOAT, ["N", 1])
    two = helper.make_tensor_value_info("two", TensorProto.FLOAT, ["N", 1])
    then_branch = helper.make_graph([helper.make_node("Identity", ["x"], ["one"])], "then", [], [one])
    else_branch = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["one"]), helper.make_node("Identity", ["x"], ["two"])],
        "else", [], [one, two],
    )
    node = helper.make_node("If", ["cond"], ["y"], then_branch=then_branch, else_branch=else_branch)
    cond = numpy_helper.from_array(np.array(True), "cond")
    graph = helper.make_graph([node], "if_branches", [x], [y], [cond])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="models/train/fixtures.py")
    model.ir_version = 8
    return model


def main() -> None:
    HOSTILE.parent.mkdir(parents=True, exist_ok=True)
    HOSTILE.write_bytes(build_if_branches().SerializeToString())
    print(f"wrote {HOSTILE}")
    wide = build_wide()
    session = ort.InferenceSession(wide.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": np.ones((2, WIDTH), dtype=np.float32)})[0]
    assert np.allclose(got[:, 0], [WIDTH, WIDTH]), got
    WIDE.write_bytes(wide.SerializeToString())
    print(f"wrote {WIDE}")

    model = build()
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(None, {
        "size": np.array([[2.0], [0.5]], dtype=np.float32),
        "colour": np.array([["green"], ["purple"]], dtype=object),
    })[0]
    assert np.allclose(got[:, 0], [2 * 2.0 + 10 * 1 + 1, 2 * 0.5 - 10 + 1]), got
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_bytes(model.SerializeToString())
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
