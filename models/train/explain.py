"""SHAP explanations for the golden rows: what the API's explanations must reproduce.

The API explains a prediction with interventional SHAP against a background sample of training rows
(models/<name>/background.csv). It runs the graph's own preprocessing — every node before the head, the
TreeEnsemble*/LinearClassifier/LinearRegressor node — on the row and on every background row, in float32, and
explains the head on those transformed columns. This module computes the same quantities with the `shap`
package, for train.py to write into golden.json:

- the transformed columns come from onnxruntime (the head node's input added as a graph output of a copy of
  the export), never from scikit-learn's transformers, which compute in double and can land on the other side
  of a tree threshold;
- tree heads: shap.TreeExplainer(head, data=Independent(background), feature_perturbation="interventional",
  model_output="raw"), with the graph's float32 split thresholds (float32_splits); linear heads:
  shap.LinearExplainer(head, Independent(background)), i.e. phi_j = coef_j * (x_j - mean_j), with the
  coefficients the graph holds (float32);
- the explained output: a regressor's value; a random forest classifier's probability of the predicted class;
  a boosted or logistic classifier's raw score of the predicted class (multi-class: that class's margin;
  binary: the log-odds of class 1, negated with every contribution when the predicted class is 0);
- one contribution per card feature: the sum of the SHAP values of the feature's transformed columns (the
  one-hot columns of a category).
"""
from __future__ import annotations

import copy
import csv
import io
import itertools
import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import onnx
import onnxruntime as ort
import shap
from sklearn.base import is_classifier
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LinearRegression, LogisticRegression

BACKGROUND_ROWS = 200
BACKGROUND_SEED = 42
HEAD_OPS = {"TreeEnsembleClassifier", "TreeEnsembleRegressor", "TreeEnsemble", "LinearClassifier", "LinearRegressor"}
TREE_HEADS = (
    RandomForestClassifier,
    RandomForestRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
LINEAR_HEADS = (LogisticRegression, LinearRegression)


def background_indices(n_train: int) -> np.ndarray:
    """Up to BACKGROUND_ROWS training rows, drawn without replacement with a fixed seed, in training order."""
    rng = np.random.default_rng(BACKGROUND_SEED)
    return np.sort(rng.choice(n_train, size=min(BACKGROUND_ROWS, n_train), replace=False))


def background_csv(names: list[str], rows: list[list[Any]], number: Callable[[float], str]) -> str:
    """The background sample as the API reads it: a header of the card's feature names, then one row per line.

    A number is written with `number` (train.py: the shortest decimal that reads back as the same float32); a
    category is its text; a missing value (None, NaN or the empty category) is an empty cell.
    """

    def cell(v: Any) -> str:
        if v is None or isinstance(v, str):
            return v or ""
        if math.isnan(v):
            return ""
        return number(v)

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return out.getvalue()


def head_node(onx: onnx.ModelProto) -> onnx.NodeProto:
    (node,) = [n for n in onx.graph.node if n.domain == "ai.onnx.ml" and n.op_type in HEAD_OPS]
    return node


def head_inputs(onx: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> np.ndarray:
    """The head's input for these feeds, as onnxruntime computes it (float32, one column per head feature)."""
    name = head_node(onx).input[0]
    if name in {i.name for i in onx.graph.input}:  # no preprocessing in the graph: the head takes the input
        return np.asarray(feeds[name], dtype=np.float32)
    probe = copy.deepcopy(onx)
    probe.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    sess = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    (out,) = sess.run([name], feeds)
    assert out.dtype == np.float32 and out.ndim == 2, (out.dtype, out.shape)
    return out


def check_groups(transform: Callable[[Any], np.ndarray], rows: Any, perturbed: list[Any],
                 groups: list[list[int]], names: list[str]) -> None:
    """Checks the column-to-feature mapping numerically: changing feature i (perturbed[i]: the rows with
    feature i changed on every row) must change exactly the transformed columns of groups[i]."""
    base = transform(rows)
    assert sorted(j for g in groups for j in g) == list(range(base.shape[1])), ("groups", groups, base.shape)
    for name, group, other in zip(names, groups, perturbed):
        moved = np.flatnonzero((transform(other) != base).any(axis=0))
        assert sorted(moved) == sorted(group), f"{name}: changing it moves columns {list(moved)}, not {group}"


@dataclass
class Explainer:
    method: str  # "tree_interventional" | "linear"
    head: Any
    explainer: Any
    space: str  # "value" | "probability" | "log_odds"
    background_rows: int

    def summary(self) -> dict[str, Any]:
        return {"method": self.method, "shap": shap.__version__, "background_rows": self.background_rows}


def linear_head_from_graph(head: Any, onx: onnx.ModelProto) -> Any:
    """A copy of a linear head with the coefficients and intercepts the graph holds (float32), so that the
    explanation is the graph's and does not depend on the last bits of the fit."""
    node = head_node(onx)
    attrs = {a.name: a for a in node.attribute}
    coef = np.array(attrs["coefficients"].floats, dtype=np.float32).astype(np.float64)
    intercept = np.array(attrs["intercepts"].floats, dtype=np.float32).astype(np.float64)
    coef = coef.reshape(len(intercept), -1)
    want_coef, want_intercept = np.atleast_2d(head.coef_), np.atleast_1d(head.intercept_)
    assert coef.shape == want_coef.shape and intercept.shape == want_intercept.shape, (coef.shape, want_coef.shape)
    np.testing.assert_allclose(coef, want_coef, rtol=1e-5, atol=1e-6 * np.abs(want_coef).max())
    np.testing.assert_allclose(intercept, want_intercept, rtol=1e-5, atol=1e-6 * np.abs(want_intercept).max())
    out = copy.deepcopy(head)
    out.coef_ = coef.reshape(np.shape(head.coef_))
    out.intercept_ = intercept.reshape(np.shape(head.intercept_)) if np.ndim(head.intercept_) else float(intercept[0])
    return out


def float32_down(t: np.ndarray) -> np.ndarray:
    """The largest float32 not above each threshold (as float64): for a float32 x, x <= t exactly when
    x <= float32_down(t). skl2onnx writes these into the graph (sklearn_threshold)."""
    f = t.astype(np.float32)
    return np.where(f.astype(np.float64) > t, np.nextafter(f, np.float32(-np.inf)), f).astype(np.float64)


def float32_splits(head: Any, onx: onnx.ModelProto) -> Any:
    """A copy of a tree head whose split thresholds are the graph's float32 ones (checked against the graph).

    shap's interventional algorithm holds thresholds as float32 rounded to nearest (tree_shap.h: Node.thres is
    a float), while scikit-learn compares with the double threshold: a threshold just below a float32 value v
    rounds up to v, and an input equal to v goes left in shap but right in scikit-learn (wine:
    12.769999980926514 -> 12.77, an alcohol a held-out wine has), and the base value plus the contributions is
    off by the leaves' difference. With the graph's float32 thresholds the cast is exact, and shap, the copy and
    the graph take the same branches:
    - decision trees (random forest, gradient boosting): skl2onnx writes the largest float32 not above the
      threshold (float32_down), which splits float32 inputs exactly as scikit-learn does;
    - histogram gradient boosting: skl2onnx writes the nearest float32 (no adjustment), so the graph, and
      the copy, may send an input equal to that float32 the other way from scikit-learn.
    """
    out = copy.deepcopy(head)
    splits = []
    if isinstance(out, HistGradientBoostingClassifier | HistGradientBoostingRegressor):
        for predictors in out._predictors:
            for p in predictors:
                inner = p.nodes["is_leaf"] == 0
                p.nodes["num_threshold"][inner] = p.nodes["num_threshold"][inner].astype(np.float32)
                splits.append(p.nodes["num_threshold"][inner])
    else:
        for est in np.ravel(out.estimators_):
            state = est.tree_.__getstate__()
            nodes = state["nodes"]
            inner = nodes["left_child"] != -1
            nodes["threshold"][inner] = float32_down(nodes["threshold"][inner])
            est.tree_.__setstate__(state)
            splits.append(est.tree_.threshold[est.tree_.children_left != -1])
    attrs = {a.name: a for a in head_node(onx).attribute}
    modes = np.array(attrs["nodes_modes"].strings)
    graph = np.sort(np.array(attrs["nodes_values"].floats, dtype=np.float32)[modes != b"LEAF"])
    assert set(modes[modes != b"LEAF"]) == {b"BRANCH_LEQ"}, set(modes)
    assert np.array_equal(graph, np.sort(np.concatenate(splits).astype(np.float32))), "the graph's thresholds"
    assert np.array_equal(np.concatenate(splits), np.concatenate(splits).astype(np.float32)), "float32 thresholds"
    return out


def make_explainer(head: Any, onx: onnx.ModelProto, background: np.ndarray) -> Explainer:
    """background: the head's input for the background rows (head_inputs), float32."""
    data = background.astype(np.float64)
    if isinstance(head, TREE_HEADS):
        head = float32_splits(head, onx)
        # shap turns an array `data` into Independent(data, max_samples=100), a random 100 rows: pass the masker.
        explainer = shap.TreeExplainer(
            head, data=shap.maskers.Independent(data, max_samples=len(data)),
            feature_perturbation="interventional", model_output="raw",
        )
        assert explainer.data.shape == data.shape, explainer.data.shape
        method = "tree_interventional"
    elif isinstance(head, LINEAR_HEADS):
        head = linear_head_from_graph(head, onx)
        explainer = shap.LinearExplainer(head, shap.maskers.Independent(data, max_samples=len(data)))
        method = "linear"
    else:
        raise TypeError(f"no explainer for {type(head).__name__}")
    if not is_classifier(head):
        space = "value"
    elif isinstance(head, (RandomForestClassifier,)):
        space = "probability"
    else:
        space = "log_odds"
    return Explainer(method, head, explainer, space, len(data))


def raw_outputs(e: Explainer, x: np.ndarray) -> np.ndarray:
    """The head's explained quantity for every class (classifiers: [N, classes]; binary boosted and logistic
    models: [N] log-odds of class 1) or its value ([N])."""
    if e.space == "value":
        return e.head.predict(x)
    if e.space == "probability":
        return e.head.predict_proba(x)
    return e.head.decision_function(x)


def explained(e: Explainer, everything: np.ndarray, k: int) -> tuple[float, float]:
    """(sign, output) for one row: the explained output is sign * its raw quantity of class k."""
    if e.space == "value":
        return 1.0, float(everything)
    if everything.ndim == 0:  # binary log-odds of class 1
        sign = 1.0 if k == 1 else -1.0
        return sign, sign * float(everything)
    return 1.0, float(everything[k])


def shap_rows(e: Explainer, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """shap's values [N, columns, outputs] and base values [outputs] (outputs = 1 for a single output)."""
    values = np.asarray(e.explainer.shap_values(x))
    base = np.atleast_1d(np.asarray(e.explainer.expected_value, dtype=np.float64)).reshape(-1)
    if values.ndim == 2:
        values = values[:, :, None]
    assert values.shape == (len(x), x.shape[1], len(base)), (values.shape, base.shape)
    return values, base


def explain(e: Explainer, x: np.ndarray, classes: list[int | None], groups: list[list[int]],
            names: list[str], class_names: list[str]) -> list[dict[str, Any]]:
    """x: the head's input for the rows (head_inputs); classes: each row's predicted class index (None for a
    regressor). One golden "explanation" object per row."""
    x64 = x.astype(np.float64)
    values, base = shap_rows(e, x64)
    outputs = raw_outputs(e, x64)
    result = []
    for i, k in enumerate(classes):
        sign, output = explained(e, outputs[i], -1 if k is None else k)
        col = 0 if values.shape[2] == 1 else k
        phi = sign * values[i, :, col]
        base_value = sign * base[col]
        contributions = {name: float(phi[g].sum()) for name, g in zip(names, groups)}
        total = base_value + math.fsum(contributions.values())
        assert abs(total - output) <= 1e-5 * max(1.0, abs(output)), f"row {i}: {base_value} + ... = {total} != {output}"
        result.append({
            "space": e.space,
            "class": None if k is None else class_names[k],
            "base_value": float(base_value),
            "output": output,
            "contributions": contributions,
        })
    return result


def check_outputs(e: Explainer, x: np.ndarray, answers: np.ndarray, what: str) -> None:
    """The head on the graph's transformed rows answers what the graph answers: answers are the graph's
    probabilities [N, classes] or values [N]."""
    x64 = x.astype(np.float64)
    if is_classifier(e.head):
        np.testing.assert_allclose(e.head.predict_proba(x64), answers, atol=1e-5, err_msg=what)
    else:
        np.testing.assert_allclose(e.head.predict(x64), answers, rtol=1e-4, atol=1e-3, err_msg=what)


def brute_force(e: Explainer, x: np.ndarray, background: np.ndarray, k: int | None) -> tuple[float, np.ndarray]:
    """Exact interventional Shapley values of one row over the head's columns, for checking shap:
    v(S) = mean over the background of f(x_S, z_notS), f the explained output. -> (base value, phi)."""
    m = x.shape[0]
    z = background.astype(np.float64)
    masks = np.array(list(itertools.product([False, True], repeat=m)), dtype=bool)  # every subset S
    stacked = np.where(masks[:, None, :], x.astype(np.float64)[None, None, :], z[None, :, :]).reshape(-1, m)
    raw = raw_outputs(e, stacked)
    f = np.array([explained(e, r, -1 if k is None else k)[1] for r in raw]).reshape(len(masks), len(z))
    v = f.mean(axis=1)
    index = {tuple(s): n for n, s in enumerate(masks)}
    weight = [math.factorial(s) * math.factorial(m - s - 1) / math.factorial(m) for s in range(m)]
    phi = np.zeros(m)
    for s, mask in enumerate(masks):
        size = int(mask.sum())
        for j in np.flatnonzero(~mask):
            with_j = mask.copy()
            with_j[j] = True
            phi[j] += weight[size] * (v[index[tuple(with_j)]] - v[s])
    return float(v[0]), phi


def check_brute_force(e: Explainer, x: np.ndarray, background: np.ndarray, classes: list[int | None],
                      rows: list[int], groups: list[list[int]], golden: list[dict[str, Any]], names: list[str]) -> None:
    """shap agrees with the exact Shapley values, column by column and summed per feature, within 1e-6."""
    values, base = shap_rows(e, x[rows].astype(np.float64))
    for n, i in enumerate(rows):
        k = classes[i]
        base_value, phi = brute_force(e, x[i], background, k)
        sign, _ = explained(e, raw_outputs(e, x[i : i + 1].astype(np.float64))[0], -1 if k is None else k)
        col = 0 if values.shape[2] == 1 else k
        np.testing.assert_allclose(sign * values[n, :, col], phi, rtol=0, atol=1e-6, err_msg=f"row {i}")
        assert abs(sign * base[col] - base_value) <= 1e-6, (i, base_value, sign * base[col])
        got = golden[i]["explanation"]
        assert abs(got["base_value"] - base_value) <= 1e-6
        for name, g in zip(names, groups):
            assert abs(got["contributions"][name] - phi[g].sum()) <= 1e-6, (i, name)
