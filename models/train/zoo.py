"""Export a zoo of scikit-learn models the way people do, for the API's compatibility test.

Each export goes to crates/onnx-ml/tests/zoo/<name>.onnx; crates/onnx-ml/tests/zoo/expected.json
holds, for each, the held-out input rows and what onnxruntime answered for them
(labels, probabilities or values). The Rust test loads every file through the
API's model loader and compares.

Families: linear and logistic regression, MLP, random forest, extra trees,
gradient boosting, hist gradient boosting; classifiers (binary and
multi-class) and regressors; skl2onnx's *default* options (Scaler, ZipMap)
and zipmap=False; two opsets. Deterministic: fixed seeds, stable graph names.

Usage (from the repository root, with the pinned packages of requirements.txt):
    .venv-train/bin/python models/train/zoo.py
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris, load_wine
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from train import tidy

OUT = Path(__file__).resolve().parents[2] / "crates" / "onnx-ml" / "tests" / "zoo"
SEED = 0
ROWS = 25  # held-out rows kept per model


def data(name: str):
    loader = {"iris": load_iris, "wine": load_wine, "cancer": load_breast_cancer, "diabetes": load_diabetes}[name]
    d = loader()
    x = d.data.astype(np.float32)
    y = d.target if name != "diabetes" else d.target.astype(np.float32)
    return train_test_split(x, y, test_size=0.3, random_state=SEED)


def scaled(model):
    return make_pipeline(StandardScaler(), model)


CLASSIFIERS = {
    "logistic": lambda: scaled(LogisticRegression(max_iter=2000, random_state=SEED)),
    "mlp": lambda: scaled(MLPClassifier(hidden_layer_sizes=(16,), max_iter=2000, random_state=SEED)),
    "forest": lambda: RandomForestClassifier(n_estimators=20, max_depth=6, random_state=SEED),
    "extratrees": lambda: ExtraTreesClassifier(n_estimators=20, max_depth=6, random_state=SEED),
    "gboost": lambda: GradientBoostingClassifier(n_estimators=20, max_depth=3, random_state=SEED),
    "histgb": lambda: HistGradientBoostingClassifier(max_iter=20, random_state=SEED),
}
REGRESSORS = {
    "linear": lambda: scaled(LinearRegression()),
    "mlp": lambda: scaled(MLPRegressor(hidden_layer_sizes=(16,), max_iter=3000, random_state=SEED)),
    "forest": lambda: RandomForestRegressor(n_estimators=20, max_depth=6, random_state=SEED),
    "extratrees": lambda: ExtraTreesRegressor(n_estimators=20, max_depth=6, random_state=SEED),
    "gboost": lambda: GradientBoostingRegressor(n_estimators=20, max_depth=3, random_state=SEED),
    "histgb": lambda: HistGradientBoostingRegressor(max_iter=20, random_state=SEED),
}


def export(model, n_features: int, name: str, opset: int, zipmap: bool | None):
    """zipmap None: a regressor (no such option); True: skl2onnx's defaults."""
    options = None
    if zipmap is False:
        last = model.steps[-1][1] if hasattr(model, "steps") else model
        options = {id(last): {"zipmap": False}}
    onx = convert_sklearn(
        model,
        name=name,
        initial_types=[("input", FloatTensorType([None, n_features]))],
        options=options,
        target_opset={"": opset, "ai.onnx.ml": 3 if opset >= 16 else 1},
    )
    return tidy(onx, name)


def run(onx, x):
    sess = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return names, sess.run(names, {"input": x})


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    expected = {}
    jobs = []
    for ds in ["iris", "cancer"]:
        for family, build in CLASSIFIERS.items():
            for zipmap in (True, False):
                jobs.append((ds, family, build, zipmap, "classifier"))
    for family, build in REGRESSORS.items():
        jobs.append(("diabetes", family, build, None, "regressor"))
    for ds, family, build, zipmap, kind in jobs:
        x_tr, x_te, y_tr, _ = data(ds)
        model = build()
        model.fit(x_tr, y_tr)
        for opset in (15, 17):
            name = f"{ds}_{family}_{'default' if zipmap else 'nozipmap'}_op{opset}"
            if kind == "regressor":
                name = f"{ds}_{family}_op{opset}"
            onx = export(model, x_tr.shape[1], name, opset, zipmap)
            rows = x_te[:ROWS]
            names, outs = run(onx, rows)
            entry = {"input": "input", "rows": rows.tolist(), "outputs": names}
            if kind == "classifier":
                labels, probs = outs
                if isinstance(probs, list):  # ZipMap: a list of {class: probability}
                    keys = sorted(probs[0].keys())
                    probs = np.array([[p[k] for k in keys] for p in probs], dtype=np.float32)
                entry["labels"] = [int(v) for v in labels]
                entry["probabilities"] = np.asarray(probs, dtype=np.float64).tolist()
                entry["n_classes"] = int(np.asarray(probs).shape[1])
            else:
                entry["values"] = np.asarray(outs[0], dtype=np.float64).reshape(-1).tolist()
            (OUT / f"{name}.onnx").write_bytes(onx.SerializeToString())
            ops = sorted({f"{n.domain or 'ai.onnx'}:{n.op_type}" for n in onx.graph.node})
            entry["ops"] = ops
            expected[name] = entry
            print(name, ops)
    (OUT / "expected.json").write_text(json.dumps(expected, indent=0, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
