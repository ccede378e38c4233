"""Tree ensembles for the benchmark, and onnxruntime's rows/s on them.

Writes to the folder given as the first argument (default target/bench/trees):
  forest-50.onnx, forest-200.onnx, forest-500.onnx, gboost-100.onnx, hgb-300.onnx
      RandomForestClassifier with 50/200/500 trees, a 100-round
      GradientBoostingClassifier and a 300-round HistGradientBoostingClassifier
      trained with 10% of its values missing (NaN, which its trees route), all
      3 classes and 20 features from sklearn.datasets.make_classification
      (generated, nothing downloaded), exported with zipmap=False so stock
      tract can load them too;
  rows.json   10,000 held-out rows (and the same rows with 10% missing, as
              null, for the models trained with missing values), which model
              takes which, and onnxruntime's scores of the first 1,024 rows of
              each, so the Rust benchmark checks it computes the same before it
              times anything;
  ort.json    onnxruntime's rows/s (and rows per CPU-second) at batch 1, 1,024
              and 10,000 for each model, and how long it takes to load each.
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
from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier, RandomForestClassifier

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "target/bench/trees")
WIDTH = 20
TRAIN, TEST = 4000, 10_000
CHECKED = 1024
BATCHES = (1, 1024, 10_000)


def rows_per_second(sess: ort.InferenceSession, batches: list[np.ndarray], budget_s: float = 2.0) -> tuple[float, float]:
    """Calls in turn with each batch (all the same size) until the budget is
    spent: rows per second, and rows per CPU-second of this process (all its
    threads: onnxruntime splits the work over the cores)."""
    name = sess.get_inputs()[0].name
    sess.run(None, {name: batches[0]})  # warm-up
    runs, start, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - start < budget_s or runs < 3:
        sess.run(None, {name: batches[runs % len(batches)]})
        runs += 1
    rows = runs * len(batches[0])
    return rows / (time.perf_counter() - start), rows / (time.process_time() - cpu)


def load_ms(path: Path) -> float:
    """The median of three InferenceSession creations: reading, checking and preparing the graph."""
    times = []
    for _ in range(3):
        start = time.perf_counter()
        ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        times.append((time.perf_counter() - start) * 1e3)
    return sorted(times)[1]


def with_missing(x: np.ndarray, share: float, seed: int) -> np.ndarray:
    x = x.copy()
    x[np.random.default_rng(seed).random(x.shape) < share] = np.nan
    return x


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    x, y = make_classification(
        n_samples=TRAIN + TEST, n_features=WIDTH, n_informative=12, n_classes=3, random_state=0
    )
    x = x.astype(np.float32)
    x_train, x_test, y_train = x[:TRAIN], x[TRAIN:], y[:TRAIN]
    rows = {"clean": x_test, "missing": with_missing(x_test, 0.1, 1)}
    models = {
        "forest-50": ("clean", lambda: RandomForestClassifier(n_estimators=50, max_depth=12, random_state=0, n_jobs=2)),
        "forest-200": ("clean", lambda: RandomForestClassifier(n_estimators=200, max_depth=12, random_state=0, n_jobs=2)),
        "forest-500": ("clean", lambda: RandomForestClassifier(n_estimators=500, max_depth=12, random_state=0, n_jobs=2)),
        "gboost-100": ("clean", lambda: GradientBoostingClassifier(n_estimators=100, max_depth=4, random_state=0)),
        # 300 rounds of one tree per class; early stopping off so all 300 are kept.
        "hgb-300": ("missing", lambda: HistGradientBoostingClassifier(max_iter=300, early_stopping=False, random_state=0)),
    }
    timings, cpu, loads, expected = {}, {}, {}, {}
    for name, (kind, make) in models.items():
        path = OUT / f"{name}.onnx"
        if not path.exists():
            model = make()
            model.fit(with_missing(x_train, 0.1, 2) if kind == "missing" else x_train, y_train)
            onx = convert_sklearn(
                model,
                initial_types=[("input", FloatTensorType([None, WIDTH]))],
                options={id(model): {"zipmap": False}},
                target_opset={"": 17, "ai.onnx.ml": 3},
            )
            path.write_bytes(onx.SerializeToString())
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        x_rows = rows[kind]
        expected[name] = sess.run(None, {"input": x_rows[:CHECKED]})[1].tolist()
        # One row per call goes through the 1,024 rows in turn, as a server's
        # single-row requests would: the same row every call would let the
        # processor learn its path through every tree.
        measured = {
            f"batch {b}": rows_per_second(sess, [x_rows[i : i + 1] for i in range(CHECKED)] if b == 1 else [x_rows[:b]])
            for b in BATCHES
        }
        timings[name] = {k: wall for k, (wall, _) in measured.items()}
        cpu[name] = {k: per_cpu for k, (_, per_cpu) in measured.items()}
        loads[name] = load_ms(path)
        print(f"onnxruntime {name}: " + ", ".join(f"{k} {v:,.0f} rows/s" for k, v in timings[name].items())
              + f"; loads in {loads[name]:.1f} ms")

    def as_json(x: np.ndarray) -> list:
        return [[None if np.isnan(v) else float(v) for v in row] for row in x]

    spec = {
        "width": WIDTH,
        "models": [{"name": name, "rows": kind} for name, (kind, _) in models.items()],
        "rows": {kind: as_json(x) for kind, x in rows.items()},
        "expected": expected,
    }
    (OUT / "rows.json").write_text(json.dumps(spec))
    (OUT / "ort.json").write_text(json.dumps(
        {"onnxruntime": ort.__version__, "rows_per_s": timings, "rows_per_cpu_s": cpu, "load_ms": loads}, indent=1
    ))


if __name__ == "__main__":
    main()
