"""Forests for the tree-ensemble benchmark, and onnxruntime's rows/s on them.

Writes to the folder given as the first argument (default target/bench/trees):
  forest-50.onnx, forest-200.onnx, forest-500.onnx, gboost-100.onnx
      RandomForestClassifier with 50/200/500 trees and a 100-tree
      GradientBoostingClassifier, 3 classes, 20 features, trained on
      sklearn.datasets.make_classification (generated, nothing downloaded),
      exported with zipmap=False so stock tract can load them too;
  rows.json   1,024 held-out rows the Rust benchmark feeds all engines;
  ort.json    onnxruntime's rows/s at batch 1 and 1,024 for each model.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.datasets import make_classification
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "target/bench/trees")
WIDTH = 20


def rows_per_second(sess: ort.InferenceSession, x: np.ndarray, budget_s: float = 2.0) -> float:
    name = sess.get_inputs()[0].name
    sess.run(None, {name: x})  # warm-up
    runs, start = 0, time.perf_counter()
    while time.perf_counter() - start < budget_s:
        sess.run(None, {name: x})
        runs += 1
    return runs * len(x) / (time.perf_counter() - start)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    x, y = make_classification(n_samples=6000, n_features=WIDTH, n_informative=12, n_classes=3, random_state=0)
    x = x.astype(np.float32)
    x_train, x_test, y_train = x[:4000], x[4000:5024], y[:4000]
    models = {
        "forest-50": RandomForestClassifier(n_estimators=50, max_depth=12, random_state=0, n_jobs=2),
        "forest-200": RandomForestClassifier(n_estimators=200, max_depth=12, random_state=0, n_jobs=2),
        "forest-500": RandomForestClassifier(n_estimators=500, max_depth=12, random_state=0, n_jobs=2),
        "gboost-100": GradientBoostingClassifier(n_estimators=100, max_depth=4, random_state=0),
    }
    timings = {}
    for name, model in models.items():
        path = OUT / f"{name}.onnx"
        if not path.exists():
            model.fit(x_train, y_train)
            onx = convert_sklearn(
                model,
                initial_types=[("input", FloatTensorType([None, WIDTH]))],
                options={id(model): {"zipmap": False}},
                target_opset={"": 17, "ai.onnx.ml": 3},
            )
            path.write_bytes(onx.SerializeToString())
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        timings[name] = {
            "batch 1": rows_per_second(sess, x_test[:1]),
            "batch 1024": rows_per_second(sess, x_test),
        }
        print(f"onnxruntime {name}: " + ", ".join(f"{k} {v:,.0f} rows/s" for k, v in timings[name].items()))
    (OUT / "rows.json").write_text(json.dumps({"width": WIDTH, "models": list(models), "rows": x_test.tolist()}))
    (OUT / "ort.json").write_text(json.dumps({"onnxruntime": ort.__version__, "rows_per_s": timings}, indent=1))


if __name__ == "__main__":
    main()
