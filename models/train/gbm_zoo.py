"""Export a zoo of XGBoost, LightGBM and CatBoost models to ONNX, for the onnx-ml crate's tests.

Each export goes to crates/onnx-ml/tests/gbm/<name>.onnx; crates/onnx-ml/tests/gbm/expected.json holds,
for each, about 20 held-out input rows (with missing values: null, fed as NaN, or '' for a string) and what
onnxruntime answered for them, in the pipeline zoo's format (see zoo.py) plus `library`, `converter`,
`head`, `task`, `opset`, `zipmap`, `missing_rows` and `notes`. Every answer is checked against the
library's own predict / predict_proba before it is written. crates/onnx-ml/tests/gbm/failures.json lists
every conversion the script attempted that failed upstream: raised, converted into something onnxruntime
refuses, or converted silently wrong (measured against the library).

What is exported:
- XGBoost through onnxmltools.convert_xgboost: binary:logistic, multi:softprob, reg:squarederror,
  count:poisson, reg:tweedie, reg:gamma, reg:absoluteerror, native categorical splits, a Booster from
  xgboost.train and an XGBRFRegressor; with and without NaN in the training data; one float [N, F] input.
- LightGBM through onnxmltools.convert_lightgbm: binary, multiclass (ZipMap on and off, text labels),
  regression, poisson, tweedie, gamma, lambdarank, dart, `categorical_feature` (integer codes), the
  converter's `split` option, Boosters from lightgbm.train, and one large model (500 trees x 63 leaves).
- CatBoost through its own save_model(format="onnx"): binary, multiclass, regression, nan_mode Min/Max.
- scikit-learn pipelines with an XGBoost or LightGBM head through skl2onnx (onnxmltools' converters
  registered with update_registered_converter): matrix pipelines and DataFrame ColumnTransformer
  pipelines with one input per column (float, int64, string).
- te5_*: the ai.onnx.ml opset-5 TreeEnsemble operator. No converter emits it (skl2onnx and onnxmltools
  write TreeEnsembleRegressor/Classifier at ai.onnx.ml 1 whatever target_opset says; onnx's version
  converter only converts the default domain), so `to_tree_ensemble` below rewrites a converted graph
  into it, merging BRANCH_EQ chains (categorical splits) into BRANCH_MEMBER nodes, and the result is
  checked with onnxruntime against the original graph.

Deterministic: fixed seeds, one thread, the exporters' random graph names replaced: a second run writes
the same bytes.

Usage (from the repository root; a venv outside the repository with requirements-gbm.txt):
    python3 -m venv /tmp/venv-gbm
    /tmp/venv-gbm/bin/pip install -r models/train/requirements-gbm.txt
    /tmp/venv-gbm/bin/python models/train/gbm_zoo.py
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import copy  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import tempfile  # noqa: E402
import warnings  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Callable  # noqa: E402

import catboost as cb  # noqa: E402
import lightgbm as lgb  # noqa: E402
import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
import pandas as pd  # noqa: E402
import xgboost as xgb  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from onnxmltools import convert_lightgbm, convert_xgboost  # noqa: E402
from onnxmltools.convert.common.data_types import FloatTensorType as MLFloatTensorType  # noqa: E402
from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm as lgbm_converter  # noqa: E402
from onnxmltools.convert.xgboost.operator_converters.XGBoost import convert_xgboost as xgb_converter  # noqa: E402
from skl2onnx import convert_sklearn, update_registered_converter  # noqa: E402
from skl2onnx.common.data_types import FloatTensorType, Int64TensorType, StringTensorType  # noqa: E402
from skl2onnx.common.shape_calculator import (  # noqa: E402
    calculate_linear_classifier_output_shapes,
    calculate_linear_regressor_output_shapes,
)
from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_iris, load_wine  # noqa: E402
from sklearn.impute import SimpleImputer  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "crates" / "onnx-ml" / "tests" / "gbm"
SEED = 0
ROWS = 20  # rows per model in expected.json
INPUT = "input"  # the matrix input's name (onnxmltools, skl2onnx); CatBoost names its input "features"
NAN_RATE = 0.1  # share of cells made missing in the *_nan models' data (completely at random)
MISSING_TEXT = ""  # a missing category, as the pipeline zoo feeds it
RTOL = 1e-5  # onnxruntime against the library: |a - b| <= RTOL * max(|b|, 1)

warnings.filterwarnings("ignore", category=UserWarning)
warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", category=DeprecationWarning)


# ---------------------------------------------------------------------------
# Data: only sets shipped inside packages (scikit-learn, palmerpenguins, vega_datasets).


def matrix_data(name: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(float32 features, target, class names or []) of a scikit-learn bundled set."""
    loader = {"cancer": load_breast_cancer, "iris": load_iris, "wine": load_wine, "diabetes": load_diabetes,
              "digits": load_digits}[name]
    d = loader()
    names = [str(n) for n in d.target_names] if hasattr(d, "target_names") else []
    return d.data.astype(np.float32), d.target, names


def with_nan(x: np.ndarray, seed: int, rate: float = NAN_RATE) -> np.ndarray:
    x = x.astype(np.float32).copy()
    x[np.random.default_rng(seed).random(x.shape) < rate] = np.nan
    return x


def split(x, y, classification: bool):
    return train_test_split(x, y, test_size=0.25, random_state=SEED, stratify=y if classification else None)


def test_rows(x_te: np.ndarray, seed: int, protect: tuple[int, ...] = ()) -> np.ndarray:
    """The first ROWS held-out rows; the last six get missing values: the first feature, a quarter and half
    of the features, all of them, every other one, and one at random (not the `protect`ed columns)."""
    x = x_te[:ROWS].astype(np.float32).copy()
    rng = np.random.default_rng(seed)
    f = x.shape[1]
    cols = [c for c in range(f) if c not in protect]
    x[ROWS - 6, cols[0]] = np.nan
    x[ROWS - 5, rng.choice(cols, max(1, len(cols) // 4), replace=False)] = np.nan
    x[ROWS - 4, rng.choice(cols, max(1, len(cols) // 2), replace=False)] = np.nan
    x[ROWS - 3, cols] = np.nan
    x[ROWS - 2, cols[::2]] = np.nan
    x[ROWS - 1, rng.choice(cols)] = np.nan
    return x


def penguins_frame() -> pd.DataFrame:
    from palmerpenguins import load_penguins  # reads the CSV inside the package; nothing is downloaded

    df = load_penguins()
    for c in ("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"):
        df[c] = df[c].astype(np.float64).astype(np.float32).astype(np.float64)
    for c in ("island", "sex"):
        df[c] = pd.Series([MISSING_TEXT if pd.isna(v) else str(v) for v in df[c]], index=df.index, dtype=object)
    df["year"] = df["year"].astype(np.int64)
    df["species"] = df["species"].astype(str).astype(object)
    return df


def cars_frame() -> pd.DataFrame:
    from vega_datasets import local_data  # reads the JSON inside the package; nothing is downloaded

    df = local_data.cars()
    df = df[df["Miles_per_Gallon"].notna()].reset_index(drop=True)
    out = pd.DataFrame({
        "cylinders": df["Cylinders"].astype(np.int64),
        "displacement": df["Displacement"].astype(np.float64),
        "horsepower": df["Horsepower"].astype(np.float64),
        "weight": df["Weight_in_lbs"].astype(np.float64),
        "acceleration": df["Acceleration"].astype(np.float64),
        "year": df["Year"].dt.year.astype(np.int64),
        "origin": df["Origin"].astype(str).astype(object),
        "mpg": df["Miles_per_Gallon"].astype(np.float64),
    })
    for c in ("displacement", "horsepower", "weight", "acceleration"):
        out[c] = out[c].astype(np.float32).astype(np.float64)
    return out


PENGUIN_NUMBERS = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
CAR_FLOATS = ["displacement", "horsepower", "weight", "acceleration"]


def coded(values: pd.Series, categories: list[Any]) -> np.ndarray:
    """Integer codes (as float32) of a column's categories; NaN for a missing or unlisted one."""
    index = {c: i for i, c in enumerate(categories)}
    return np.array([index.get(v, np.nan) for v in values], dtype=np.float32)


def cars_coded() -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The cars as a float matrix with two integer-coded categorical columns: year (70..82 -> 0..12) and
    origin (0..2); horsepower is missing for six cars."""
    df = cars_frame()
    cols = ["cylinders", "displacement", "horsepower", "weight", "acceleration", "year", "origin"]
    x = np.column_stack([
        df["cylinders"].to_numpy(np.float32), df[CAR_FLOATS].to_numpy(np.float32),
        (df["year"] - 1970).to_numpy(np.float32), coded(df["origin"], ["Europe", "Japan", "USA"]),
    ]).astype(np.float32)
    return x, df["mpg"].to_numpy(np.float64), cols


def penguins_coded() -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Penguins as a float matrix: four measurements (two penguins lack them), island (0..2) and sex
    (0..1, NaN for the eleven not recorded) integer-coded; target: the species code 0..2."""
    df = penguins_frame()
    x = np.column_stack([
        df[PENGUIN_NUMBERS].to_numpy(np.float32), coded(df["island"], ["Biscoe", "Dream", "Torgersen"]),
        coded(df["sex"], ["female", "male"]),
    ]).astype(np.float32)
    y = coded(df["species"], ["Adelie", "Chinstrap", "Gentoo"]).astype(np.int64)
    return x, y, PENGUIN_NUMBERS + ["island", "sex"]


# ---------------------------------------------------------------------------
# Graph helpers.


def tidy(onx: onnx.ModelProto, name: str) -> onnx.ModelProto:
    """One opset_import entry per domain (skl2onnx writes the default one twice), a stable graph name
    instead of the exporters' random one, no doc string; and the checker's approval."""
    seen: dict[str, int] = {}
    for imp in onx.opset_import:
        seen[imp.domain] = max(seen.get(imp.domain, 0), imp.version)
    del onx.opset_import[:]
    for domain, version in sorted(seen.items()):
        onx.opset_import.add(domain=domain, version=version)
    onx.graph.name = name
    onx.doc_string = ""
    onnx.checker.check_model(onx)
    return onx


def session(onx: onnx.ModelProto) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 4  # the converters declare the label's shape [1]: no warning per run
    return ort.InferenceSession(onx.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def run(onx: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> tuple[list[str], list[Any]]:
    sess = session(onx)
    names = [o.name for o in sess.get_outputs()]
    return names, sess.run(names, feeds)


def opsets(onx: onnx.ModelProto) -> dict[str, int]:
    return {(i.domain or "ai.onnx"): i.version for i in onx.opset_import}


def ops(onx: onnx.ModelProto) -> list[str]:
    return sorted({f"{n.domain or 'ai.onnx'}:{n.op_type}" for n in onx.graph.node})


ELEM = {TensorProto.FLOAT: "float", TensorProto.INT64: "int64", TensorProto.STRING: "string",
        TensorProto.DOUBLE: "double"}


def graph_inputs(onx: onnx.ModelProto) -> list[dict[str, Any]]:
    out = []
    for i in onx.graph.input:
        t = i.type.tensor_type
        shape = [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]
        out.append({"name": i.name, "type": ELEM[t.elem_type], "shape": shape})
    return out


def tree_nodes(onx: onnx.ModelProto) -> list[onnx.NodeProto]:
    return [n for n in onx.graph.node if n.op_type in ("TreeEnsembleClassifier", "TreeEnsembleRegressor",
                                                       "TreeEnsemble")]


def attrs(node: onnx.NodeProto) -> dict[str, Any]:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def graph_facts(onx: onnx.ModelProto, sess: ort.InferenceSession, outs: list[Any]) -> list[str]:
    """What a server reading only the graph would see: the tree operators' comparison modes, how many
    branches send NaN to the true side, post transforms, the outputs' types and declared-vs-actual shapes."""
    facts = []
    for n in tree_nodes(onx):
        a = attrs(n)
        if n.op_type == "TreeEnsemble":
            modes = Counter(int(m) for m in numpy_helper.to_array(a["nodes_modes"]))
            names = ["LEQ", "LT", "GTE", "GT", "EQ", "NEQ", "MEMBER"]
            mvtt = a.get("nodes_missing_value_tracks_true", [])
            facts.append(f"TreeEnsemble: {len(a['tree_roots'])} trees, modes "
                         + ", ".join(f"BRANCH_{names[k]} {v}" for k, v in sorted(modes.items()))
                         + f", {sum(mvtt)} of {len(mvtt)} nodes send NaN to the true branch, "
                         f"post_transform {a.get('post_transform', 0)}, n_targets {a.get('n_targets')}")
            continue
        modes = Counter(m.decode() for m in a["nodes_modes"])
        mvtt = a.get("nodes_missing_value_tracks_true", [])
        branches = sum(v for k, v in modes.items() if k != "LEAF")
        tracks = sum(t for t, m in zip(mvtt, a["nodes_modes"]) if m != b"LEAF")
        trees = len(set(a["nodes_treeids"]))
        facts.append(
            f"{n.op_type}: {trees} trees, " + ", ".join(f"{k} {v}" for k, v in sorted(modes.items()))
            + f"; nodes_missing_value_tracks_true=1 on {tracks} of {branches} branches"
            + f"; post_transform {a.get('post_transform', b'NONE').decode()}"
            + (f"; base_values {[round(v, 6) for v in a['base_values']]}" if a.get("base_values") else ""))
    for o, v in zip(sess.get_outputs(), outs):
        actual = list(np.asarray(v).shape) if not isinstance(v, list) else [len(v)]
        facts.append(f"output {o.name}: {o.type} declared {o.shape}, actual {actual}")
    return facts


def shortest(v: float) -> float:
    """The shortest decimal that reads back as the same float32."""
    return float(str(np.float32(v)))


# ---------------------------------------------------------------------------
# The zoo's entries.


@dataclass
class Export:
    name: str
    library: str  # xgboost | lightgbm | catboost | sklearn-pipeline
    converter: str  # onnxmltools | catboost | skl2onnx | gbm_zoo (the opset-5 rewrite)
    head: str
    task: str  # classification | regression
    onx: onnx.ModelProto
    feeds: dict[str, np.ndarray]  # onnxruntime's inputs: NaN / '' where missing
    reference: Callable[[], Any]  # the library's answers: (labels, probabilities in `classes` order) or values
    classes: list[Any] = field(default_factory=list)
    zipmap: bool | None = None
    notes: list[str] = field(default_factory=list)
    unknown_rows: list[int] | None = None  # rows with a category unseen in training
    # Why onnxruntime may differ from the library on some rows (LightGBM: float32 thresholds), or None.
    explain: Callable[[], list[str]] | None = None


EXPECTED: dict[str, Any] = {}
FAILURES: list[dict[str, Any]] = []
MODELS: dict[str, onnx.ModelProto] = {}  # written exports, for the opset-5 rewrite


def rows_of(onx: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> dict[str, list[Any]]:
    out = {}
    for spec in graph_inputs(onx):
        block = feeds[spec["name"]]
        values = []
        for r in block:
            row = []
            for v in r:
                if spec["type"] == "string":
                    row.append(None if v == MISSING_TEXT else str(v))
                elif spec["type"] == "int64":
                    row.append(int(v))
                else:
                    row.append(None if np.isnan(v) else shortest(v))
            values.append(row)
        out[spec["name"]] = [r[0] for r in values] if spec["shape"][1] == 1 else values
    return out


def missing_count(feeds: dict[str, np.ndarray]) -> int:
    n = len(next(iter(feeds.values())))
    miss = np.zeros(n, dtype=bool)
    for block in feeds.values():
        if block.dtype == object:
            miss |= (block == MISSING_TEXT).any(axis=1)
        elif block.dtype.kind == "f":
            miss |= np.isnan(block).any(axis=1)
    return int(miss.sum())


def close_gap(got: np.ndarray, want: np.ndarray) -> float:
    """max |got - want| / max(|want|, 1): the Rust tests' measure (relative above 1, absolute below)."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    return float(np.max(np.abs(got - want) / np.maximum(np.abs(want), 1.0)))


def probabilities_matrix(probs: Any, classes: list[Any]) -> np.ndarray:
    if isinstance(probs, list):  # ZipMap: one {class: probability} per row
        return np.array([[p[c] for c in classes] for p in probs], dtype=np.float64)
    return np.asarray(probs, dtype=np.float64)


def emit(e: Export) -> None:
    """Runs the export with onnxruntime, checks it against the library, writes it and its entry."""
    onx = tidy(e.onx, e.name)
    sess = session(onx)
    names = [o.name for o in sess.get_outputs()]
    outs = sess.run(names, e.feeds)
    entry: dict[str, Any] = {
        "inputs": graph_inputs(onx),
        "ops": ops(onx),
        "outputs": names,
        "rows": rows_of(onx, e.feeds),
        "library": e.library,
        "converter": e.converter,
        "head": e.head,
        "task": e.task,
        "opset": opsets(onx),
        "zipmap": e.zipmap,
        "missing_rows": missing_count(e.feeds),
    }
    notes = list(e.notes)
    e.classes = [c.item() if isinstance(c, np.generic) else c for c in e.classes]
    ref = e.reference()
    if e.task == "classification":
        labels, probs = outs[0], probabilities_matrix(outs[1], e.classes)
        want_labels, want_probs = ref
        labels_list = [v if isinstance(v, str) else int(v) for v in np.asarray(labels).reshape(-1).tolist()]
        want_list = [v if isinstance(v, str) else int(v) for v in np.asarray(want_labels).reshape(-1).tolist()]
        label_rows = [i for i, (a, b) in enumerate(zip(labels_list, want_list)) if a != b]
        gap = close_gap(probs, want_probs)
        if label_rows:
            why = e.explain() if e.explain else []
            if not why:
                raise AssertionError(f"{e.name}: labels {labels_list} vs the library's {want_list}")
            notes.append(f"rows {label_rows}: onnxruntime's label differs from the library's (see below)")
        entry["labels"] = labels_list
        entry["probabilities"] = probs.tolist()
        kind = "a string" if isinstance(labels_list[0], str) else "an int64"
        notes.append(f"label is {kind} tensor ({np.asarray(labels).dtype}); probabilities "
                     + ("a ZipMap sequence of maps (the rows' probabilities here in class order "
                        f"{e.classes})" if isinstance(outs[1], list) else "a float tensor [N, classes]"))
    else:
        values = np.asarray(outs[0], dtype=np.float64).reshape(-1)
        gap = close_gap(values, np.asarray(ref, dtype=np.float64).reshape(-1))
        entry["values"] = values.tolist()
    if gap > RTOL:
        why = e.explain() if e.explain else []
        if why:
            notes.append(f"onnxruntime differs from the library by up to {gap:.2g}: " + "; ".join(why))
        elif gap > 1e-4:
            raise AssertionError(f"{e.name}: onnxruntime differs from the library by {gap:.3g}")
        else:
            notes.append(f"onnxruntime differs from the library by up to {gap:.2g} (relative): float32 sums of "
                         "many trees' leaves (onnxruntime) against double (the library)")
    elif e.converter == "gbm_zoo":
        notes.append(f"onnxruntime agrees with the original export's answers within {max(gap, 1e-9):.1g}")
    else:
        notes.append(f"onnxruntime agrees with the library within {max(gap, 1e-9):.1g}")
    if e.unknown_rows is not None:
        entry["unknown_category_rows"] = e.unknown_rows
    entry["notes"] = notes + graph_facts(onx, sess, outs)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{e.name}.onnx").write_bytes(onx.SerializeToString())
    EXPECTED[e.name] = entry
    MODELS[e.name] = onx
    print(f"{e.name}: {entry['ops']} {entry['opset']} missing rows {entry['missing_rows']}, gap {gap:.2g}")


def failed(name: str, library: str, converter: str, kind: str, what: str, reason: str) -> None:
    """kind: error (the conversion raises), unloadable (onnxruntime refuses the graph), wrong (onnxruntime
    disagrees with the library), unsupported (the converter has no way to emit it)."""
    FAILURES.append({"name": name, "library": library, "converter": converter, "kind": kind, "what": what,
                     "reason": reason})
    print(f"{name}: FAILED ({kind}): {reason}")


def exception_text(e: BaseException) -> str:
    text = re.sub(r"\[\d\d:\d\d:\d\d\] ", "", str(e)).strip().splitlines()  # XGBoost's messages carry the time
    return f"{type(e).__name__}: {text[0][:300] if text else ''}".strip()


# ---------------------------------------------------------------------------
# XGBoost (onnxmltools).


def xgb_params(**kw) -> dict[str, Any]:
    return {"n_estimators": 30, "max_depth": 4, "learning_rate": 0.2, "n_jobs": 1, "random_state": SEED, **kw}


def convert_xgb(model, n_features: int, opset: int | None = None) -> onnx.ModelProto:
    return convert_xgboost(model, initial_types=[(INPUT, MLFloatTensorType([None, n_features]))],
                           target_opset=opset)


def lgbm_crossings(booster, x: np.ndarray) -> list[str]:
    """The rows whose path in a LightGBM tree meets a numeric split whose double threshold t and its float32
    rounding (what the converter writes, to nearest) fall on either side of the row's value: LightGBM and the
    graph take different branches there."""
    x = np.asarray(x, dtype=np.float64)
    found: list[str] = []
    with np.errstate(over="ignore"):  # LightGBM writes 1e300 thresholds
        for k, tree in enumerate(booster.dump_model()["tree_info"]):
            crossings_in_tree(k, tree, x, found)
    return found


def crossings_in_tree(k: int, tree: dict[str, Any], x: np.ndarray, found: list[str]) -> None:
    """Walks each row down tree k as LightGBM does (NaN: the default side, or as 0 when the split learnt no
    missing values; a category: in the split's set or not) and notes every numeric split on the way where
    the float32 threshold would send the row the other way."""
    for r in range(len(x)):
        nd = tree["tree_structure"]
        while "split_feature" in nd:
            v = x[r, nd["split_feature"]]
            if nd["decision_type"] == "==":
                members = {int(float(c)) for c in str(nd["threshold"]).split("||")}
                left = not np.isnan(v) and v >= 0 and int(v) in members
            else:
                t = float(nd["threshold"])
                if np.isnan(v):
                    left = nd["default_left"] if nd["missing_type"] == "NaN" else 0.0 <= t
                else:
                    left = v <= t
                    if left != (np.float32(v) <= np.float32(t)):
                        found.append(f"row {r}, tree {k}: feature {nd['split_feature']} = {np.float32(v)} is "
                                     f"{'<=' if left else '>'} LightGBM's threshold {t!r} but "
                                     f"{'>' if left else '<='} its float32 rounding {np.float32(t)} (the graph's)")
            nd = nd["left_child"] if left else nd["right_child"]


def classifier_reference(model, x, classes=None) -> Callable[[], Any]:
    return lambda: (model.predict(x), model.predict_proba(x))


def xgboost_zoo() -> None:
    # (name, data, objective, nan, opset, extra params)
    cases = [
        ("xgb_binary", "cancer", "binary:logistic", False, None, {}),
        ("xgb_binary_nan", "cancer", "binary:logistic", True, None, {}),
        ("xgb_binary_nan_op13", "cancer", "binary:logistic", True, 13, {}),
        ("xgb_multiclass", "wine", "multi:softprob", False, None, {}),
        ("xgb_multiclass_nan", "wine", "multi:softprob", True, None, {}),
        ("xgb_multiclass_digits", "digits", "multi:softprob", False, None, {"n_estimators": 20, "max_depth": 3}),
        ("xgb_regression", "diabetes", "reg:squarederror", False, None, {}),
        ("xgb_regression_nan", "diabetes", "reg:squarederror", True, None, {}),
        ("xgb_regression_nan_exact", "diabetes", "reg:squarederror", True, None, {"tree_method": "exact"}),
        ("xgb_poisson", "diabetes", "count:poisson", False, None, {}),
        ("xgb_poisson_nan_op13", "diabetes", "count:poisson", True, 13, {}),
        ("xgb_tweedie_nan", "diabetes", "reg:tweedie", True, None, {}),
        ("xgb_gamma_nan", "diabetes", "reg:gamma", True, None, {}),
        ("xgb_absoluteerror_op9", "diabetes", "reg:absoluteerror", False, 9, {}),
    ]
    heads = {"binary:logistic": "binary", "multi:softprob": "multiclass", "reg:squarederror": "regression",
             "count:poisson": "poisson", "reg:tweedie": "tweedie", "reg:gamma": "gamma",
             "reg:absoluteerror": "absoluteerror"}
    for i, (name, ds, objective, nan, opset, extra) in enumerate(cases):
        x, y, class_names = matrix_data(ds)
        classification = objective.startswith(("binary", "multi"))
        x_tr, x_te, y_tr, _ = split(x, y, classification)
        if nan:
            x_tr, x_te = with_nan(x_tr, SEED + i), with_nan(x_te, SEED + 100 + i)
        rows = test_rows(x_te, SEED + i)
        cls = xgb.XGBClassifier if classification else xgb.XGBRegressor
        model = cls(**xgb_params(objective=objective, **extra)).fit(x_tr, y_tr)
        onx = convert_xgb(model, x.shape[1], opset)
        notes = [f"objective {objective}; trained {'with' if nan else 'without'} NaN"
                 + (f"; target_opset {opset}" if opset else "; onnxmltools' default target_opset")]
        if classification:
            emit(Export(name, "xgboost", "onnxmltools", heads[objective], "classification", onx, {INPUT: rows},
                        classifier_reference(model, rows), classes=list(model.classes_), zipmap=None,
                        notes=notes + ["the XGBoost converter has no ZipMap option: probabilities are a tensor"]))
        else:
            emit(Export(name, "xgboost", "onnxmltools", heads[objective], "regression", onx, {INPUT: rows},
                        lambda m=model, r=rows: m.predict(r), notes=notes))

    # Native categorical splits (enable_categorical): the cars with year and origin as pandas categories;
    # the graph takes the integer codes.
    x, y, cols = cars_coded()
    x_tr, x_te, y_tr, _ = split(x, y, False)
    cats = {5: list(range(13)), 6: list(range(3))}

    def frame(a: np.ndarray, names: list[str]) -> pd.DataFrame:
        df = pd.DataFrame(a, columns=names)
        for c, levels in cats.items():
            df[names[c]] = pd.Categorical(a[:, c], categories=levels)
        return df

    named = xgb.XGBRegressor(**xgb_params(n_estimators=5, enable_categorical=True)).fit(frame(x_tr, cols), y_tr)
    try:
        convert_xgb(named, x.shape[1])
        raise AssertionError("onnxmltools now converts a model trained on named columns")
    except RuntimeError as e:
        failed("xgb_feature_names", "xgboost", "onnxmltools", "error",
               "a model fitted on a DataFrame with named columns (the cars: cylinders, ...)", exception_text(e))
    plain = [f"f{i}" for i in range(len(cols))]  # the names onnxmltools accepts
    model = xgb.XGBRegressor(**xgb_params(enable_categorical=True, max_cat_to_onehot=1, tree_method="hist"))
    model.fit(frame(x_tr, plain), y_tr)
    rows = test_rows(x_te, SEED + 50)
    rows[ROWS - 8, 6] = 7.0  # an origin code unseen in training
    rows[ROWS - 7, 5] = np.nan  # a missing year
    onx = convert_xgb(model, x.shape[1])
    emit(Export("xgb_categorical", "xgboost", "onnxmltools", "regression", "regression", onx, {INPUT: rows},
                lambda: model.predict(frame(rows, plain)), unknown_rows=[ROWS - 8],
                notes=["enable_categorical with year (codes 0..12) and origin (0..2) as pandas categories, "
                       "max_cat_to_onehot=1 (partition splits), columns named f0..f6 (onnxmltools refuses other names): the converter writes each category set as a "
                       "chain of BRANCH_EQ nodes sharing one true child; the graph takes the codes as floats",
                       "cars: horsepower missing in six training cars"]))

    # A Booster from xgboost.train, and a random forest.
    x, y, _ = matrix_data("cancer")
    x_tr, x_te, y_tr, _ = split(x, y, True)
    x_tr, x_te = with_nan(x_tr, 60), with_nan(x_te, 61)
    rows = test_rows(x_te, 62)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 3, "eta": 0.3, "nthread": 1, "seed": SEED},
                        xgb.DMatrix(x_tr, y_tr), num_boost_round=20)

    def booster_ref():
        p = booster.predict(xgb.DMatrix(rows))
        return (p > 0.5).astype(np.int64), np.column_stack([1 - p, p])

    emit(Export("xgb_booster_binary_nan", "xgboost", "onnxmltools", "binary", "classification",
                convert_xgb(booster, x.shape[1]), {INPUT: rows}, booster_ref, classes=[0, 1],
                notes=["an xgboost.Booster from xgboost.train (not the scikit-learn wrapper); the library's label "
                       "is p > 0.5"]))
    x, y, _ = matrix_data("diabetes")
    x_tr, x_te, y_tr, _ = split(x, y, False)
    rows = test_rows(x_te, 63)
    model = xgb.XGBRFRegressor(n_estimators=20, max_depth=5, n_jobs=1, random_state=SEED).fit(x_tr, y_tr)
    emit(Export("xgb_rf_regression", "xgboost", "onnxmltools", "random-forest", "regression",
                convert_xgb(model, x.shape[1]), {INPUT: rows}, lambda: model.predict(rows),
                notes=["XGBRFRegressor: one boosting round of 20 parallel trees"]))

    xgboost_failures()


def xgboost_failures() -> None:
    x, y, _ = matrix_data("diabetes")
    attempts: list[tuple[str, str, Callable[[], Any]]] = []

    def regressor(**kw):
        return lambda: xgb.XGBRegressor(**xgb_params(n_estimators=10, **kw)).fit(x, y)

    xc, yc, _ = matrix_data("cancer")
    xi, yi, _ = matrix_data("iris")
    attempts += [
        ("xgb_binary_logitraw", "objective binary:logitraw",
         lambda: xgb.XGBClassifier(**xgb_params(n_estimators=10, objective="binary:logitraw")).fit(xc, yc)),
        ("xgb_reg_logistic", "objective reg:logistic (target scaled to [0, 1])",
         lambda: xgb.XGBRegressor(**xgb_params(n_estimators=10, objective="reg:logistic")).fit(x, y / y.max())),
        ("xgb_multi_softmax", "objective multi:softmax",
         lambda: xgb.XGBClassifier(**xgb_params(n_estimators=10, objective="multi:softmax")).fit(xi, yi)),
        ("xgb_missing_zero", "missing=0.0 (zero marks a missing value)", regressor(missing=0.0)),
        ("xgb_dart", "booster='dart'", regressor(booster="dart")),
        ("xgb_gblinear", "booster='gblinear'", regressor(booster="gblinear")),
        ("xgb_multi_target", "two regression targets, multi_strategy='one_output_per_tree'",
         lambda: xgb.XGBRegressor(**xgb_params(n_estimators=10)).fit(x, np.column_stack([y, y / 2]))),
        ("xgb_multi_output_tree", "two regression targets, multi_strategy='multi_output_tree'",
         lambda: xgb.XGBRegressor(**xgb_params(n_estimators=10, multi_strategy="multi_output_tree")).fit(
             x, np.column_stack([y, y / 2]))),
        ("xgb_ranker", "XGBRanker (rank:pairwise)",
         lambda: xgb.XGBRanker(**xgb_params(n_estimators=10)).fit(x, (y // 100).astype(int),
                                                                  qid=np.arange(len(y)) // 40)),
        ("xgb_opset17", "target_opset=17 (the default domain's current opsets)",
         lambda: xgb.XGBRegressor(**xgb_params(n_estimators=10)).fit(x, y)),
    ]
    for name, what, build in attempts:
        model = build()
        data = xc if name in ("xgb_binary_logitraw",) else xi if name == "xgb_multi_softmax" else x
        try:
            onx = convert_xgb(model, data.shape[1], 17 if name == "xgb_opset17" else None)
        except Exception as e:  # noqa: BLE001 - recorded
            failed(name, "xgboost", "onnxmltools", "error", what, exception_text(e))
            continue
        try:
            _, outs = run(onx, {INPUT: data})
        except Exception as e:  # noqa: BLE001 - recorded
            failed(name, "xgboost", "onnxmltools", "unloadable", what, exception_text(e))
            continue
        if hasattr(model, "predict_proba") and name != "xgb_reg_logistic":
            same = float(np.mean(outs[0] == model.predict(data)))
            gap = close_gap(outs[1], model.predict_proba(data))
            failed(name, "xgboost", "onnxmltools", "wrong", what,
                   f"converts; labels agree on {same:.0%} of the rows but probabilities differ from "
                   f"predict_proba by up to {gap:.3g} (the graph applies no softmax: post_transform NONE)")
        else:
            want = model.predict(data)
            got = np.asarray(outs[0])
            if got.size != want.size:
                failed(name, "xgboost", "onnxmltools", "wrong", what,
                       f"converts silently wrong: the graph answers shape {list(got.shape)}, predict "
                       f"{list(want.shape)}; its first column differs from the first target by up to "
                       f"{close_gap(got.reshape(len(data), -1)[:, 0], want.reshape(len(data), -1)[:, 0]):.3g}")
                continue
            got = got.reshape(want.shape)
            gap = close_gap(got, want)
            assert gap > 1e-4, f"{name} converts correctly: export it"
            failed(name, "xgboost", "onnxmltools", "wrong", what,
                   f"converts silently wrong: onnxruntime differs from predict by up to {gap:.3g} "
                   + ("(the graph has no sigmoid: post_transform NONE)" if name == "xgb_reg_logistic" else
                      "(n_targets 2, but every leaf writes target 0: both targets' trees are summed into the first "
                      "column, the second answers 0)"))


# ---------------------------------------------------------------------------
# LightGBM (onnxmltools).


def lgbm_params(**kw) -> dict[str, Any]:
    return {"n_estimators": 30, "num_leaves": 15, "learning_rate": 0.1, "n_jobs": 1, "random_state": SEED,
            "deterministic": True, "force_row_wise": True, "verbose": -1, **kw}


def convert_lgbm(model, n_features: int, zipmap: bool = True, opset: int | None = None, **kw) -> onnx.ModelProto:
    return convert_lightgbm(model, initial_types=[(INPUT, MLFloatTensorType([None, n_features]))],
                            zipmap=zipmap, target_opset=opset, **kw)


def lightgbm_zoo() -> None:
    # (name, data, objective, nan, zipmap, opset, extra params, string labels)
    cases = [
        ("lgbm_binary", "cancer", "binary", False, False, None, {}, False),
        ("lgbm_binary_zipmap", "cancer", "binary", False, True, None, {}, False),
        ("lgbm_binary_nan", "cancer", "binary", True, False, None, {}, False),
        ("lgbm_binary_nan_zipmap_op13", "cancer", "binary", True, True, 13, {}, False),
        ("lgbm_multiclass", "wine", "multiclass", False, False, None, {}, False),
        ("lgbm_multiclass_zipmap", "wine", "multiclass", False, True, None, {}, False),
        ("lgbm_multiclass_nan", "wine", "multiclass", True, False, None, {}, False),
        ("lgbm_multiclass_nan_op9", "wine", "multiclass", True, False, 9, {}, False),
        ("lgbm_multiclass_strlabels_zipmap", "iris", "multiclass", True, True, None, {}, True),
        ("lgbm_multiclass_strlabels", "iris", "multiclass", True, False, None, {}, True),
        ("lgbm_regression", "diabetes", "regression", False, None, None, {}, False),
        ("lgbm_regression_nan", "diabetes", "regression", True, None, None, {}, False),
        ("lgbm_regression_nan_op13", "diabetes", "regression", True, None, 13, {}, False),
        ("lgbm_poisson", "diabetes", "poisson", False, None, None, {}, False),
        ("lgbm_tweedie_nan", "diabetes", "tweedie", True, None, None, {}, False),
        ("lgbm_dart_nan", "diabetes", "regression", True, None, None, {"boosting_type": "dart"}, False),
    ]
    for i, (name, ds, objective, nan, zipmap, opset, extra, strlabels) in enumerate(cases):
        x, y, class_names = matrix_data(ds)
        classification = objective in ("binary", "multiclass")
        if strlabels:
            y = np.array(class_names, dtype=object)[y]
        x_tr, x_te, y_tr, _ = split(x, y, classification)
        if nan:
            x_tr, x_te = with_nan(x_tr, SEED + 200 + i), with_nan(x_te, SEED + 300 + i)
        rows = test_rows(x_te, SEED + 200 + i)
        cls = lgb.LGBMClassifier if classification else lgb.LGBMRegressor
        model = cls(**lgbm_params(objective=objective, **extra)).fit(x_tr, y_tr)
        onx = convert_lgbm(model, x.shape[1], zipmap=bool(zipmap), opset=opset)
        notes = [f"objective {objective}; trained {'with' if nan else 'without'} NaN"
                 + (f"; target_opset {opset}" if opset else "; onnxmltools' default target_opset")]
        if classification:
            emit(Export(name, "lightgbm", "onnxmltools", objective, "classification", onx, {INPUT: rows},
                        classifier_reference(model, rows), classes=list(model.classes_), zipmap=bool(zipmap),
                        notes=notes, explain=lambda m=model, r=rows: lgbm_crossings(m.booster_, r)))
        else:
            head = {"regression": "dart" if extra else "regression"}.get(objective, objective)
            emit(Export(name, "lightgbm", "onnxmltools", head, "regression", onx, {INPUT: rows},
                        lambda m=model, r=rows: m.predict(r), notes=notes,
                        explain=lambda m=model, r=rows: lgbm_crossings(m.booster_, r)))

    # The converter's `split` option: the trees in several TreeEnsembleRegressor nodes of `split` trees each,
    # summed with Add (less float32 rounding).
    x, y, _ = matrix_data("diabetes")
    x_tr, x_te, y_tr, _ = split(x, y, False)
    x_tr, x_te = with_nan(x_tr, 400), with_nan(x_te, 401)
    rows = test_rows(x_te, 402)
    model = lgb.LGBMRegressor(**lgbm_params(n_estimators=40)).fit(x_tr, y_tr)
    emit(Export("lgbm_regression_split", "lightgbm", "onnxmltools", "regression", "regression",
                convert_lgbm(model, x.shape[1], split=10), {INPUT: rows}, lambda: model.predict(rows),
                notes=["convert_lightgbm(split=10): four TreeEnsembleRegressor nodes of 10 trees, added by a Sum node"],
                explain=lambda: lgbm_crossings(model.booster_, rows)))

    # Categorical features (integer codes): the cars' year and origin.
    x, y, cols = cars_coded()
    x_tr, x_te, y_tr, _ = split(x, y, False)
    model = lgb.LGBMRegressor(**lgbm_params(n_estimators=40, min_data_per_group=5, cat_smooth=1.0,
                                            max_cat_to_onehot=2)).fit(x_tr, y_tr, categorical_feature=[5, 6])
    rows = test_rows(x_te, 410)
    rows[ROWS - 8, 5] = 20.0  # a year code unseen in training
    rows[ROWS - 7, 6] = np.nan  # a missing origin
    onx = convert_lgbm(model, x.shape[1])
    emit(Export("lgbm_categorical", "lightgbm", "onnxmltools", "regression", "regression", onx, {INPUT: rows},
                lambda: model.predict(rows), unknown_rows=[ROWS - 8],
                notes=["categorical_feature=[5, 6]: year (codes 0..12) and origin (0..2) of the cars; the converter "
                       "unfolds a split on a set of categories into a chain of BRANCH_EQ nodes that share their true "
                       "child (a DAG, not a tree); an unseen or missing code goes to the false side, as in LightGBM",
                       "LightGBM truncates a non-integer code (2.5 -> 2), BRANCH_EQ does not: feed integer codes"],
                explain=lambda: lgbm_crossings(model.booster_, rows)))

    # Penguins: island and sex as categories, missing sex and measurements in the data; three species.
    x, y, cols = penguins_coded()
    x_tr, x_te, y_tr, _ = split(x, y, True)
    model = lgb.LGBMClassifier(**lgbm_params(n_estimators=20, num_leaves=8, min_data_per_group=5, cat_smooth=1.0,
                                             max_cat_to_onehot=1)).fit(x_tr, y_tr, categorical_feature=[4, 5])
    rows = test_rows(x_te, 420)
    rows[ROWS - 8, 4] = 5.0  # an unseen island code
    emit(Export("lgbm_categorical_multiclass", "lightgbm", "onnxmltools", "multiclass", "classification",
                convert_lgbm(model, x.shape[1], zipmap=False), {INPUT: rows}, classifier_reference(model, rows),
                classes=list(model.classes_), zipmap=False, unknown_rows=[ROWS - 8],
                notes=["penguins: categorical_feature=[4, 5] (island 0..2, sex 0..1; sex missing for 11 "
                       "penguins), species codes 0..2; max_cat_to_onehot=1"],
                explain=lambda: lgbm_crossings(model.booster_, rows)))

    # One large model: 500 trees of 63 leaves on the digits (odd against even), trained with NaN.
    x, y, _ = matrix_data("digits")
    y = (y % 2).astype(np.int64)
    x_tr, x_te, y_tr, _ = split(x, y, True)
    x_tr, x_te = with_nan(x_tr, 430, 0.05), with_nan(x_te, 431, 0.05)
    rows = test_rows(x_te, 432)
    model = lgb.LGBMClassifier(**lgbm_params(n_estimators=500, num_leaves=63, learning_rate=0.05,
                                             min_child_samples=3, min_split_gain=0.0,
                                             colsample_bytree=0.8, subsample=0.8, subsample_freq=1))
    model.fit(x_tr, y_tr)
    leaves = [t["num_leaves"] for t in model.booster_.dump_model()["tree_info"]]
    emit(Export("lgbm_large_binary_nan", "lightgbm", "onnxmltools", "binary", "classification",
                convert_lgbm(model, x.shape[1], zipmap=False), {INPUT: rows}, classifier_reference(model, rows),
                classes=list(model.classes_), zipmap=False,
                notes=[f"500 trees, num_leaves=63 ({sum(leaves)} leaves, {sum(1 for v in leaves if v == 63)} trees "
                       "with all 63) on the 1797 digits (odd against even, 8x8 pixels as 64 features, 5% NaN)"],
                explain=lambda: lgbm_crossings(model.booster_, rows)))

    # Boosters from lightgbm.train, and a ranker.
    x, y, _ = matrix_data("diabetes")
    x_tr, x_te, y_tr, _ = split(x, y, False)
    x_tr, x_te = with_nan(x_tr, 440), with_nan(x_te, 441)
    rows = test_rows(x_te, 442)
    params = {"objective": "regression", "num_leaves": 15, "learning_rate": 0.1, "num_threads": 1, "seed": SEED,
              "deterministic": True, "force_row_wise": True, "verbose": -1}
    booster = lgb.train(params, lgb.Dataset(x_tr, y_tr), num_boost_round=30)
    emit(Export("lgbm_booster_regression_nan", "lightgbm", "onnxmltools", "regression", "regression",
                convert_lgbm(booster, x.shape[1]), {INPUT: rows}, lambda: booster.predict(rows),
                notes=["a lightgbm.Booster from lightgbm.train (not the scikit-learn wrapper)"],
                explain=lambda: lgbm_crossings(booster, rows)))
    xc, yc, _ = matrix_data("cancer")
    xc_tr, xc_te, yc_tr, _ = split(xc, yc, True)
    xc_tr, xc_te = with_nan(xc_tr, 443), with_nan(xc_te, 444)
    rows_c = test_rows(xc_te, 445)
    booster_c = lgb.train({**params, "objective": "binary"}, lgb.Dataset(xc_tr, yc_tr), num_boost_round=30)

    def booster_c_ref():
        p = booster_c.predict(rows_c)
        return (p > 0.5).astype(np.int64), np.column_stack([1 - p, p])

    emit(Export("lgbm_booster_binary_nan", "lightgbm", "onnxmltools", "binary", "classification",
                convert_lgbm(booster_c, xc.shape[1], zipmap=False), {INPUT: rows_c}, booster_c_ref, classes=[0, 1],
                zipmap=False, notes=["a lightgbm.Booster (binary) from lightgbm.train; the library's label is "
                                     "p > 0.5; the graph's labels are classes 0/1"],
                explain=lambda: lgbm_crossings(booster_c, rows_c)))
    ranker = lgb.LGBMRanker(**lgbm_params(n_estimators=20)).fit(
        x_tr, (y_tr // 70).astype(int), group=[len(y_tr) // 3, len(y_tr) // 3, len(y_tr) - 2 * (len(y_tr) // 3)])
    emit(Export("lgbm_ranker_nan", "lightgbm", "onnxmltools", "lambdarank", "regression",
                convert_lgbm(ranker, x.shape[1]), {INPUT: rows}, lambda: ranker.predict(rows),
                notes=["LGBMRanker (lambdarank): the graph is a regressor answering the ranking score"],
                explain=lambda: lgbm_crossings(ranker.booster_, rows)))

    lightgbm_failures()


def lightgbm_failures() -> None:
    x, y, _ = matrix_data("diabetes")
    xi, yi, _ = matrix_data("iris")
    rng = np.random.default_rng(450)
    xz = x.copy()
    xz[rng.random(x.shape) < 0.2] = 0.0
    attempts = [
        ("lgbm_cross_entropy", "objective cross_entropy (xentropy), target in [0, 1]",
         lambda: lgb.LGBMRegressor(**lgbm_params(objective="cross_entropy")).fit(x, y / y.max()), x),
        ("lgbm_multiclassova", "objective multiclassova",
         lambda: lgb.LGBMClassifier(**lgbm_params(objective="multiclassova")).fit(xi, yi), xi),
        ("lgbm_linear_tree", "linear_tree=True",
         lambda: lgb.LGBMRegressor(**lgbm_params(linear_tree=True)).fit(x, y), x),
        ("lgbm_rf", "boosting_type='rf'",
         lambda: lgb.LGBMRegressor(**lgbm_params(boosting_type="rf", bagging_freq=1, bagging_fraction=0.8)).fit(x, y),
         x),
        ("lgbm_zero_as_missing", "zero_as_missing=True (rows with zeros)",
         lambda: lgb.LGBMRegressor(**lgbm_params(zero_as_missing=True)).fit(x, y), xz),
    ]
    for name, what, build, data in attempts:
        model = build()
        try:
            onx = convert_lgbm(model, data.shape[1], zipmap=False)
        except Exception as e:  # noqa: BLE001 - recorded
            failed(name, "lightgbm", "onnxmltools", "error", what, exception_text(e))
            continue
        _, outs = run(onx, {INPUT: data})
        if hasattr(model, "predict_proba"):
            same = float(np.mean(outs[0] == model.predict(data)))
            gap = close_gap(outs[1], model.predict_proba(data))
            failed(name, "lightgbm", "onnxmltools", "wrong", what,
                   f"converts; labels agree on {same:.0%} of the rows but probabilities differ from predict_proba "
                   f"by up to {gap:.3g} (softmax over one-vs-all scores instead of a sigmoid each)")
        else:
            got, want = np.asarray(outs[0]).reshape(-1), model.predict(data)
            bad = float(np.mean(np.abs(got - want) > RTOL * np.maximum(np.abs(want), 1)))
            reason = {"lgbm_linear_tree": "the leaves' linear models are dropped (constant leaves only)",
                      "lgbm_rf": "the trees are summed, not averaged",
                      "lgbm_zero_as_missing": "a zero is not treated as missing (only NaN is)"}[name]
            failed(name, "lightgbm", "onnxmltools", "wrong", what,
                   f"converts silently wrong: onnxruntime differs from predict on {bad:.0%} of the rows, by up to "
                   f"{close_gap(got, want):.3g} ({reason})")


# ---------------------------------------------------------------------------
# CatBoost (its own exporter).


def cat_params(**kw) -> dict[str, Any]:
    return {"iterations": 40, "depth": 4, "learning_rate": 0.2, "thread_count": 1, "random_seed": SEED,
            "allow_writing_files": False, "verbose": False, **kw}


def catboost_onnx(model, name: str) -> onnx.ModelProto:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.onnx"
        model.save_model(str(path), format="onnx", export_parameters={"onnx_graph_name": name})
        onx = onnx.load(str(path))
    # CatBoost writes its training options, history and version into metadata_props; two of them change on
    # every run: fixed here.
    for prop in onx.metadata_props:
        if prop.key == "train_finish_time":
            prop.value = "2000-01-01T00:00:00Z"
        elif prop.key == "model_guid":
            prop.value = f"gbm-zoo-{name}"
    return onx


def catboost_zoo() -> None:
    # (name, data, kind, nan, params, string labels)
    cases = [
        ("cat_binary", "cancer", "binary", False, {}, False),
        ("cat_binary_nan", "cancer", "binary", True, {}, False),
        ("cat_binary_strlabels_nan", "cancer", "binary", True, {}, True),
        ("cat_multiclass_nan", "wine", "multiclass", True, {}, False),
        ("cat_multiclass_strlabels", "iris", "multiclass", True, {}, True),
        ("cat_regression", "diabetes", "regression", False, {}, False),
        ("cat_regression_nan", "diabetes", "regression", True, {}, False),
        ("cat_regression_nanmax", "diabetes", "regression", True, {"nan_mode": "Max"}, False),
        ("cat_mae_nan", "diabetes", "mae", True, {"loss_function": "MAE"}, False),
    ]
    for i, (name, ds, kind, nan, extra, strlabels) in enumerate(cases):
        x, y, class_names = matrix_data(ds)
        classification = kind in ("binary", "multiclass")
        if strlabels:
            y = np.array(class_names, dtype=object)[y]
        x_tr, x_te, y_tr, _ = split(x, y, classification)
        if nan:
            x_tr, x_te = with_nan(x_tr, SEED + 500 + i), with_nan(x_te, SEED + 600 + i)
        rows = test_rows(x_te, SEED + 500 + i)
        notes = [f"trained {'with' if nan else 'without'} NaN; nan_mode {extra.get('nan_mode', 'Min')}"
                 + (f"; loss {extra['loss_function']}" if "loss_function" in extra else ""),
                 "CatBoost writes its own graph: ir_version 3?, ai.onnx.ml 2 only (no default-domain opset), input "
                 "'features', oblivious trees unrolled into full binary trees of BRANCH_GT nodes (hitrates 1); "
                 "nan_mode Min is missing_value_tracks_true=0 on every branch (NaN < every threshold), Max is 1"]
        if classification:
            model = cb.CatBoostClassifier(**cat_params(**extra)).fit(x_tr, y_tr)
            onx = catboost_onnx(model, name)
            notes[1] = notes[1].replace("ir_version 3?", f"ir_version {onx.ir_version}")

            def ref(m=model, r=rows):
                return np.asarray(m.predict(r)).reshape(-1), m.predict_proba(r)

            emit(Export(name, "catboost", "catboost", kind, "classification", onx, {"features": rows}, ref,
                        classes=list(model.classes_), zipmap=True,
                        notes=notes + ["CatBoost always writes a ZipMap (no option to leave it out)"]))
        else:
            model = cb.CatBoostRegressor(**cat_params(**extra)).fit(x_tr, y_tr)
            onx = catboost_onnx(model, name)
            notes[1] = notes[1].replace("ir_version 3?", f"ir_version {onx.ir_version}")
            emit(Export(name, "catboost", "catboost", "regression" if kind == "regression" else kind, "regression",
                        onx, {"features": rows}, lambda m=model, r=rows: m.predict(r),
                        notes=notes + ["the output 'predictions' is declared [N] but is [N, 1]"]))
    catboost_failures()


def catboost_failures() -> None:
    x, y, _ = matrix_data("diabetes")
    xi, yi, _ = matrix_data("iris")
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(x.shape[1])])
    frame["sex"] = np.where(x[:, 1] > 0, "m", "f")
    text = frame.copy()
    text["note"] = np.where(np.random.default_rng(0).random(len(x)) > 0.5, "good day", "bad night")
    attempts = [
        ("cat_categorical", "cat_features=['sex'] (a text category)",
         lambda: cb.CatBoostRegressor(**cat_params(cat_features=["sex"])).fit(frame, y), frame, None),
        ("cat_categorical_onehot", "cat_features=['sex'] with one_hot_max_size=4",
         lambda: cb.CatBoostRegressor(**cat_params(cat_features=["sex"], one_hot_max_size=4)).fit(frame, y), frame,
         None),
        ("cat_text", "text_features=['note']",
         lambda: cb.CatBoostRegressor(**cat_params(text_features=["note"], cat_features=["sex"])).fit(text, y),
         text, None),
        ("cat_poisson", "loss_function='Poisson'",
         lambda: cb.CatBoostRegressor(**cat_params(loss_function="Poisson")).fit(x, np.round(y / 10)), x,
         "the graph answers the raw formula value (log of the prediction): no Exp"),
        ("cat_tweedie", "loss_function='Tweedie:variance_power=1.5'",
         lambda: cb.CatBoostRegressor(**cat_params(loss_function="Tweedie:variance_power=1.5")).fit(x, y), x,
         "the graph answers the raw formula value (log of the prediction): no Exp"),
        ("cat_multiclass_ova", "loss_function='MultiClassOneVsAll'",
         lambda: cb.CatBoostClassifier(**cat_params(loss_function="MultiClassOneVsAll")).fit(xi, yi), xi,
         "a softmax over the one-vs-all scores instead of a sigmoid each"),
        ("cat_multi_rmse", "loss_function='MultiRMSE' (two targets)",
         lambda: cb.CatBoostRegressor(**cat_params(loss_function="MultiRMSE")).fit(x, np.column_stack([y, y / 2])),
         x, None),
        ("cat_rmse_uncertainty", "loss_function='RMSEWithUncertainty'",
         lambda: cb.CatBoostRegressor(**cat_params(loss_function="RMSEWithUncertainty")).fit(x, y), x, None),
    ]
    for name, what, build, data, why in attempts:
        model = build()
        try:
            onx = catboost_onnx(model, name)
        except Exception as e:  # noqa: BLE001 - recorded
            failed(name, "catboost", "catboost", "error", what, exception_text(e))
            continue
        try:
            _, outs = run(onx, {"features": np.asarray(data, dtype=np.float32)})
        except Exception as e:  # noqa: BLE001 - recorded
            failed(name, "catboost", "catboost", "unloadable", what,
                   "save_model writes the graph, onnxruntime refuses it: " + exception_text(e))
            continue
        if isinstance(model, cb.CatBoostClassifier):
            probs = probabilities_matrix(outs[1], list(model.classes_))
            gap = close_gap(probs, model.predict_proba(data))
            same = float(np.mean(np.asarray(outs[0]).reshape(-1) == np.asarray(model.predict(data)).reshape(-1)))
            failed(name, "catboost", "catboost", "wrong", what,
                   f"converts; labels agree on {same:.0%} of the rows, probabilities differ from predict_proba by up "
                   f"to {gap:.3g}: {why}")
        else:
            got, want = np.asarray(outs[0]).reshape(-1), model.predict(data)
            raw = model.predict(data, prediction_type="RawFormulaVal")
            failed(name, "catboost", "catboost", "wrong", what,
                   f"converts silently wrong: differs from predict by up to {close_gap(got, want):.3g} "
                   f"(from the raw formula value by {close_gap(got, raw):.2g}): {why}")


# ---------------------------------------------------------------------------
# scikit-learn pipelines with XGBoost / LightGBM heads (skl2onnx with onnxmltools' converters).


def register_converters() -> None:
    classifier_options = {"nocl": [True, False], "zipmap": [True, False, "columns"]}
    update_registered_converter(xgb.XGBClassifier, "XGBoostXGBClassifier", calculate_linear_classifier_output_shapes,
                                xgb_converter, options=classifier_options)
    update_registered_converter(xgb.XGBRegressor, "XGBoostXGBRegressor", calculate_linear_regressor_output_shapes,
                                xgb_converter)
    update_registered_converter(lgb.LGBMClassifier, "LightGbmLGBMClassifier",
                                calculate_linear_classifier_output_shapes, lgbm_converter, options=classifier_options)
    update_registered_converter(lgb.LGBMRegressor, "LightGbmLGBMRegressor", calculate_linear_regressor_output_shapes,
                                lgbm_converter)


def pipeline_frames() -> dict[str, dict[str, Any]]:
    """Penguins and cars as DataFrames, split; the test rows: the data's rows with missing values, held-out
    rows, then made-up ones (an unseen category with a missing number, every float and text missing)."""
    out = {}
    for ds in ("penguins", "cars"):
        df = penguins_frame() if ds == "penguins" else cars_frame()
        if ds == "penguins":
            floats, ints, texts, target = PENGUIN_NUMBERS, ["year"], ["island", "sex"], "species"
        else:
            floats, ints, texts, target = CAR_FLOATS, ["cylinders", "year"], ["origin"], "mpg"
        x = df[floats + ints + texts]
        missing = [i for i in range(len(x)) if x.iloc[i][floats].isna().any() or (x.iloc[i][texts] == "").any()]
        missing = missing[:4]
        stratify = df[target] if ds == "penguins" else None
        _, held = train_test_split(np.arange(len(x)), test_size=0.2, random_state=SEED, stratify=stratify)
        held = [int(i) for i in held if i not in missing][: ROWS - 2 - len(missing)]
        test = x.iloc[missing + held]
        train = x.drop(index=x.index[missing + held])
        y = df[target].drop(index=df.index[missing + held])
        first = x.iloc[held[0]].to_dict()
        if ds == "penguins":
            made = [{**first, "island": "Atlantis", "flipper_length_mm": np.nan}]
            unseen = {"island": "Atlantis"}
        else:
            made = [{**first, "origin": "Korea", "horsepower": np.nan}]
            unseen = {"origin": "Korea"}
        made.append({**first, **{c: np.nan for c in floats}, **{c: MISSING_TEXT for c in texts}})
        test = pd.concat([test, pd.DataFrame(made)], ignore_index=True)
        for c in floats:
            test[c] = test[c].astype(np.float64)
        for c in ints:
            test[c] = test[c].astype(np.int64)
        unknown = [i for i in range(len(test)) if any(test.iloc[i][c] == v for c, v in unseen.items())]
        out[ds] = {"train": train.reset_index(drop=True), "y": y.reset_index(drop=True), "test": test,
                   "floats": floats, "ints": ints, "texts": texts, "unknown": unknown}
    return out


def frame_types(d: dict[str, Any]) -> list[tuple[str, Any]]:
    return ([(c, FloatTensorType([None, 1])) for c in d["floats"]]
            + [(c, Int64TensorType([None, 1])) for c in d["ints"]]
            + [(c, StringTensorType([None, 1])) for c in d["texts"]])


def frame_feeds(d: dict[str, Any], x: pd.DataFrame) -> dict[str, np.ndarray]:
    feeds = {}
    for c in d["floats"]:
        feeds[c] = x[[c]].to_numpy(np.float32)
    for c in d["ints"]:
        feeds[c] = x[[c]].to_numpy(np.int64)
    for c in d["texts"]:
        feeds[c] = x[[c]].to_numpy(dtype=object).astype(str).astype(object)
    return feeds


def pipeline_explain(model: Pipeline, x: Any, feeds: dict[str, np.ndarray], types: list[tuple[str, Any]],
                     opset: dict[str, int], classes: list[Any] | None) -> Callable[[], list[str]]:
    """Checks the pipeline in two steps, as zoo.py does: the exported preprocessing against scikit-learn's in
    float32, and the library's head on onnxruntime's own feature vectors against the whole graph."""

    def explain() -> list[str]:
        prep_onx = convert_sklearn(model[:-1], initial_types=types, target_opset=opset)
        _, (vectors,) = run(prep_onx, feeds)
        vectors = np.asarray(vectors, dtype=np.float32)
        reference = np.asarray(model[:-1].transform(x), dtype=np.float64).astype(np.float32)
        differ = [int(i) for i in np.flatnonzero(~((vectors == reference) | (np.isnan(vectors) & np.isnan(reference)))
                                                  .all(axis=1))]
        full = convert_sklearn(model, initial_types=types, target_opset=opset,
                               options={id(model[-1]): {"zipmap": False}} if classes else None)
        _, outs = run(full, feeds)
        head = model[-1]
        if classes:
            same = bool((np.asarray(outs[0]) == head.predict(vectors)).all())
            gap = close_gap(outs[1], head.predict_proba(vectors)) if same else float("inf")
            whole = np.asarray(outs[1], dtype=np.float64) - model.predict_proba(x)
        else:
            gap = close_gap(np.asarray(outs[0]).reshape(-1), head.predict(vectors))
            whole = np.asarray(outs[0], dtype=np.float64).reshape(-1, 1) - model.predict(x).reshape(-1, 1)
        off = [int(i) for i in np.flatnonzero(np.abs(whole).max(axis=1) > 1e-6)]
        notes = []
        if gap <= RTOL and differ:
            notes.append(f"rows {off} answer otherwise than scikit-learn: the graph's float32 Scaler "
                         "((x - offset) * scale) gives another float32 than scikit-learn's double StandardScaler "
                         f"for some value (on rows {differ}), and on those rows it lands on the other side of a "
                         "split; on the graph's own scaled vectors the library's head answers what onnxruntime "
                         f"answers (within {max(gap, 1e-9):.1g})")
        if isinstance(head, (lgb.LGBMClassifier, lgb.LGBMRegressor)):
            notes += lgbm_crossings(head.booster_, vectors)
        return notes

    return explain


# skl2onnx's default target_opset (the installed onnx's newest: ai.onnx.ml 5) fails with onnxmltools' converters
# (recorded in failures.json); the project's train.py uses this one.
PIPE_OPSET = {"": 17, "ai.onnx.ml": 3}


def pipeline_default_opset_failures() -> None:
    x, y, _ = matrix_data("cancer")
    for lib, est in (("xgboost", xgb.XGBClassifier(**xgb_params(n_estimators=5))),
                     ("lightgbm", lgb.LGBMClassifier(**lgbm_params(n_estimators=5)))):
        model = Pipeline([("scale", StandardScaler()), ("head", est)]).fit(x, y)
        try:
            onx = convert_sklearn(model, initial_types=[(INPUT, FloatTensorType([None, x.shape[1]]))])
        except Exception as e:  # noqa: BLE001 - recorded
            failed(f"pipe_{lib}_default_opset", lib, "skl2onnx", "error",
                   f"convert_sklearn(Pipeline(StandardScaler, {type(est).__name__})) with skl2onnx's default "
                   "target_opset", exception_text(e))
        else:
            print(f"pipe_{lib}_default_opset converts: {opsets(onx)}")


def pipelines_zoo() -> None:
    register_converters()
    pipeline_default_opset_failures()
    # Matrix pipelines: StandardScaler (NaN passes through skl2onnx's Scaler) and a head.
    # (name, data, head, nan, zipmap, target_opset)
    cases = [
        ("pipe_cancer_std_xgb_bin_nan", "cancer", "xgb", True, True, PIPE_OPSET),
        ("pipe_cancer_std_xgb_bin_nan_nozipmap", "cancer", "xgb", True, False, PIPE_OPSET),
        ("pipe_wine_std_lgbm_multi_nan_op22", "wine", "lgbm", True, True, {"": 22, "ai.onnx.ml": 3}),
        ("pipe_wine_std_lgbm_multi_nozipmap_op15", "wine", "lgbm", False, False, {"": 15, "ai.onnx.ml": 2}),
        ("pipe_diabetes_std_xgb_reg_nan_op13", "diabetes", "xgb", True, None, {"": 13, "ai.onnx.ml": 1}),
        ("pipe_diabetes_std_lgbm_reg_nan", "diabetes", "lgbm", True, None, PIPE_OPSET),
    ]
    for i, (name, ds, head, nan, zipmap, opset) in enumerate(cases):
        x, y, _ = matrix_data(ds)
        classification = zipmap is not None
        x_tr, x_te, y_tr, _ = split(x, y, classification)
        if nan:
            x_tr, x_te = with_nan(x_tr, 700 + i), with_nan(x_te, 710 + i)
        rows = test_rows(x_te, 720 + i)
        if head == "xgb":
            est = (xgb.XGBClassifier if classification else xgb.XGBRegressor)(**xgb_params())
        else:
            est = (lgb.LGBMClassifier if classification else lgb.LGBMRegressor)(**lgbm_params())
        model = Pipeline([("scale", StandardScaler()), ("head", est)]).fit(x_tr, y_tr)
        options = {id(est): {"zipmap": False}} if zipmap is False else None
        onx = convert_sklearn(model, name=name, initial_types=[(INPUT, FloatTensorType([None, x.shape[1]]))],
                              options=options, target_opset=opset)
        notes = [f"Pipeline(StandardScaler, {type(est).__name__}) on a float matrix with NaN (the Scaler passes "
                 "NaN through to the trees)", f"target_opset {opset}"]
        task = "classification" if classification else "regression"
        lib_head = ("binary" if ds == "cancer" else "multiclass") if classification else "regression"
        types = [(INPUT, FloatTensorType([None, x.shape[1]]))]
        explain = pipeline_explain(model, rows, {INPUT: rows}, types, opset,
                                   list(model.classes_) if classification else None)
        if classification:
            emit(Export(name, "sklearn-pipeline", "skl2onnx", f"{head}-{lib_head}", task, onx, {INPUT: rows},
                        classifier_reference(model, rows), classes=list(model.classes_), zipmap=zipmap, notes=notes,
                        explain=explain))
        else:
            emit(Export(name, "sklearn-pipeline", "skl2onnx", f"{head}-{lib_head}", task, onx, {INPUT: rows},
                        lambda m=model, r=rows: m.predict(r), notes=notes, explain=explain))

    # DataFrame pipelines, one input per column: floats pass through (NaN goes down the trees' missing
    # branches), ints (int64 inputs) pass through, texts are imputed ('' -> most frequent) and one-hot
    # encoded (unseen categories ignored) -- or ordinal-encoded for LightGBM's categorical splits.
    frames = pipeline_frames()
    species = ["Adelie", "Chinstrap", "Gentoo"]
    df_cases = [
        ("pipe_penguins_lgbm_cols", "penguins", "lgbm", "ohe", False, PIPE_OPSET),
        ("pipe_penguins_lgbm_cols_zipmap", "penguins", "lgbm", "ohe", True, PIPE_OPSET),
        ("pipe_penguins_xgb_cols", "penguins", "xgb", "ohe", False, PIPE_OPSET),
        ("pipe_penguins_lgbm_ordinal_cols", "penguins", "lgbm", "ordinal", False, PIPE_OPSET),
        ("pipe_cars_lgbm_reg_cols", "cars", "lgbm", "ohe", None, PIPE_OPSET),
        ("pipe_cars_xgb_reg_cols", "cars", "xgb", "ohe", None, PIPE_OPSET),
        ("pipe_cars_lgbm_reg_cols_op15", "cars", "lgbm", "ohe", None, {"": 15, "ai.onnx.ml": 2}),
    ]
    for name, ds, head, encode, zipmap, opset in df_cases:
        d = frames[ds]
        classification = ds == "penguins"
        y = d["y"]
        if classification and head == "xgb":
            y = np.array([species.index(s) for s in y], dtype=np.int64)  # XGBoost wants codes 0..K-1
        text_encode = (OneHotEncoder(handle_unknown="ignore", sparse_output=False) if encode == "ohe" else
                       OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1))
        prep = ColumnTransformer([
            ("floats", "passthrough", d["floats"]),
            ("ints", "passthrough", d["ints"]),
            ("texts", Pipeline([("impute", SimpleImputer(missing_values=MISSING_TEXT, strategy="most_frequent")),
                                ("encode", text_encode)]), d["texts"]),
        ])
        if head == "xgb":
            est = (xgb.XGBClassifier if classification else xgb.XGBRegressor)(**xgb_params())
        else:
            extra = {"min_data_per_group": 5, "cat_smooth": 1.0, "max_cat_to_onehot": 1} if encode == "ordinal" else {}
            est = (lgb.LGBMClassifier if classification else lgb.LGBMRegressor)(**lgbm_params(n_estimators=20, **extra))
        model = Pipeline([("prep", prep), ("head", est)])
        fit_params = {}
        if encode == "ordinal":
            first = len(d["floats"]) + len(d["ints"])
            fit_params["head__categorical_feature"] = list(range(first, first + len(d["texts"])))
        model.fit(d["train"], y, **fit_params)
        options = {id(est): {"zipmap": False}} if zipmap is False else None
        onx = convert_sklearn(model, name=name, initial_types=frame_types(d), options=options, target_opset=opset)
        test = d["test"]
        feeds = frame_feeds(d, test)
        explain = pipeline_explain(model, test, feeds, frame_types(d), opset,
                                   list(model.classes_) if classification else None)
        notes = [f"ColumnTransformer: {', '.join(d['floats'])} (float) and {', '.join(d['ints'])} (int64) pass "
                 f"through, {', '.join(d['texts'])} (string) SimpleImputer('' -> most frequent) then "
                 + ("OneHotEncoder(handle_unknown='ignore')" if encode == "ohe" else
                    "OrdinalEncoder(unknown -> -1) into LightGBM categorical_feature (BRANCH_EQ chains)")
                 + f"; {type(est).__name__} head", f"target_opset {opset}"]
        if classification:
            notes.append("class labels: " + ("int64 codes 0..2 (XGBoost needs them)" if head == "xgb" else
                                             "the species names (strings)"))
            emit(Export(name, "sklearn-pipeline", "skl2onnx", f"{head}-multiclass", "classification", onx, feeds,
                        classifier_reference(model, test), classes=list(model.classes_), zipmap=bool(zipmap),
                        notes=notes, unknown_rows=d["unknown"], explain=explain))
        else:
            emit(Export(name, "sklearn-pipeline", "skl2onnx", f"{head}-regression", "regression", onx, feeds,
                        lambda m=model, t=test: m.predict(t), notes=notes, unknown_rows=d["unknown"],
                        explain=explain))


# ---------------------------------------------------------------------------
# The ai.onnx.ml opset-5 TreeEnsemble operator: a rewrite of TreeEnsembleRegressor/Classifier graphs.

MODE_CODES = {"BRANCH_LEQ": 0, "BRANCH_LT": 1, "BRANCH_GTE": 2, "BRANCH_GT": 3, "BRANCH_EQ": 4, "BRANCH_NEQ": 5,
              "BRANCH_MEMBER": 6}
POST_CODES = {"NONE": 0, "SOFTMAX": 1, "LOGISTIC": 2, "SOFTMAX_ZERO": 3, "PROBIT": 4}


def to_tree_ensemble(model: onnx.ModelProto, member: bool = True, post_in_node: bool = False) -> onnx.ModelProto:
    """Rewrites the graph's TreeEnsembleRegressor or TreeEnsembleClassifier node (ai.onnx.ml 1-3, list
    attributes) into the ai.onnx.ml opset-5 TreeEnsemble operator, with the same outputs.

    - Each tree is written in preorder (true branch first), as a tree: a node the converter shares between
      parents (LightGBM's and XGBoost's category chains share their true child) is written once per parent.
    - member=True: a chain of BRANCH_EQ nodes on one feature that share their true child, each the only
      parent of the next, becomes one BRANCH_MEMBER node whose set is the chain's values (in
      `membership_values`, NaN-separated, in the order of the member nodes); NaN goes to the true side if
      any node of the chain sent it there (a NaN equals no value, so it walks the chain to such a node).
    - A leaf holds one weight for one target: a tree whose leaves feed several targets (CatBoost multiclass)
      is written once per target. Base values become one single-leaf tree per target (a node whose two
      branches are that leaf). A tree that is only a leaf gets the same one-node form.
    - Regressor: TreeEnsemble (aggregate SUM, the same post_transform) writes the output.
    - Classifier: TreeEnsemble answers the class scores (aggregate SUM, post_transform NONE) and a Sigmoid
      or Softmax(axis=1) node applies the classifier's post_transform -- or, post_in_node=True (several
      classes only), TreeEnsemble's own post_transform does. The zoo does not use that: onnxruntime 1.32
      ignores TreeEnsemble's LOGISTIC for a single target and swaps SOFTMAX (1) and LOGISTIC (2) for
      several (te5_runtime_checks records it); onnx.reference ignores post_transform altogether.
      Binary (two labels, one scored class): p = Sigmoid(score), probabilities Concat(1 - p, p). The label
      is Gather(classlabels, ArgMax(probabilities)) -- ties go to the first class.
    The opsets become ai.onnx.ml 5 and ai.onnx >= 21 (IR 10): the deprecated operators must be gone.
    """
    model = copy.deepcopy(model)
    graph = model.graph
    [node] = [n for n in graph.node if n.op_type in ("TreeEnsembleRegressor", "TreeEnsembleClassifier")]
    position = list(graph.node).index(node)
    a = attrs(node)
    if any(k.endswith("_as_tensor") for k in a):
        raise NotImplementedError("tensor-valued attributes (ai.onnx.ml 3)")
    classifier = node.op_type == "TreeEnsembleClassifier"
    if a.get("aggregate_function", b"SUM") != b"SUM":
        raise NotImplementedError("aggregate_function other than SUM")
    pre = "class_" if classifier else "target_"
    n_nodes = len(a["nodes_nodeids"])
    mvtt_all = a.get("nodes_missing_value_tracks_true") or [0] * n_nodes
    nodes: dict[tuple[int, int], dict[str, Any]] = {}
    for i in range(n_nodes):
        nodes[(a["nodes_treeids"][i], a["nodes_nodeids"][i])] = {
            "mode": a["nodes_modes"][i].decode(), "feature": a["nodes_featureids"][i], "value": a["nodes_values"][i],
            "true": a["nodes_truenodeids"][i], "false": a["nodes_falsenodeids"][i], "mvtt": mvtt_all[i]}
    parents: Counter = Counter()
    for (t, _), nd in nodes.items():
        if nd["mode"] != "LEAF":
            parents[(t, nd["true"])] += 1
            parents[(t, nd["false"])] += 1
    weights: dict[tuple[int, int], dict[int, float]] = defaultdict(lambda: defaultdict(float))
    for t, n, k, w in zip(a[pre + "treeids"], a[pre + "nodeids"], a[pre + "ids"], a[pre + "weights"]):
        weights[(t, n)][k] += w
    post = a.get("post_transform", b"NONE").decode()
    labels: list[Any] = []
    if classifier:
        labels = ([v.decode() for v in a["classlabels_strings"]] if a.get("classlabels_strings")
                  else list(a["classlabels_int64s"]))
        used = sorted({k for w in weights.values() for k in w})
        binary = len(labels) == 2 and len(used) == 1
        if binary and post != "LOGISTIC":
            raise NotImplementedError(f"binary classifier with post_transform {post}")
        target_of = {used[0]: 0} if binary else {k: k for k in range(len(labels))}
        n_targets = 1 if binary else len(labels)
    else:
        binary = False
        n_targets = a.get("n_targets", 1)
        target_of = {k: k for k in range(n_targets)}
    base = list(a.get("base_values") or [])

    out: dict[str, list[Any]] = {k: [] for k in ("splits", "features", "modes", "true", "false", "trueleaf",
                                                  "falseleaf", "mvtt", "roots", "leaf_target", "leaf_weight")}
    members: list[float] = []

    def leaf(weight: float, target: int) -> int:
        out["leaf_weight"].append(weight)
        out["leaf_target"].append(target)
        return len(out["leaf_weight"]) - 1

    def add_node(mode: int, feature: int, split_value: float, mvtt: int) -> int:
        out["modes"].append(mode)
        out["features"].append(feature)
        out["splits"].append(split_value)
        out["mvtt"].append(mvtt)
        for k in ("true", "false", "trueleaf", "falseleaf"):
            out[k].append(0)
        return len(out["modes"]) - 1

    def write(t: int, n: int, k: int) -> tuple[int, int]:
        """Writes node n of tree t for class/target k; answers (index, is_leaf)."""
        nd = nodes[(t, n)]
        if nd["mode"] == "LEAF":
            return leaf(weights[(t, n)].get(k, 0.0), target_of[k]), 1
        mode, false, mvtt, values = nd["mode"], nd["false"], nd["mvtt"], [nd["value"]]
        if member and mode == "BRANCH_EQ":
            cur = nd
            while True:
                nxt = nodes[(t, cur["false"])]
                if (nxt["mode"] == "BRANCH_EQ" and nxt["feature"] == nd["feature"] and nxt["true"] == nd["true"]
                        and parents[(t, cur["false"])] == 1):
                    values.append(nxt["value"])
                    mvtt = mvtt or nxt["mvtt"]
                    cur = nxt
                else:
                    break
            false = cur["false"]
            if len(values) > 1:
                mode = "BRANCH_MEMBER"
        index = add_node(MODE_CODES[mode], nd["feature"], nd["value"] if mode != "BRANCH_MEMBER" else 0.0, mvtt)
        if mode == "BRANCH_MEMBER":
            members.extend(values + [float("nan")])
        out["true"][index], out["trueleaf"][index] = write(t, nd["true"], k)
        out["false"][index], out["falseleaf"][index] = write(t, false, k)
        return index, 0

    def single_leaf(weight: float, target: int) -> None:
        index = add_node(MODE_CODES["BRANCH_LEQ"], 0, 0.0, 0)
        out["roots"].append(index)
        lf = leaf(weight, target)
        out["true"][index] = out["false"][index] = lf
        out["trueleaf"][index] = out["falseleaf"][index] = 1

    trees = sorted({t for t, _ in nodes})
    for t in trees:
        children = {c for (tt, _), nd in nodes.items() if tt == t and nd["mode"] != "LEAF"
                    for c in (nd["true"], nd["false"])}
        [root] = [n for (tt, n) in nodes if tt == t and n not in children]
        ks = sorted({k for (tt, _), w in weights.items() if tt == t for k in w})
        for k in ks:
            if nodes[(t, root)]["mode"] == "LEAF":
                single_leaf(weights[(t, root)].get(k, 0.0), target_of[k])
            else:
                out["roots"].append(len(out["modes"]))
                write(t, root, k)
    if binary and len(base) == 2:
        base = [base[1]]  # the scored class's base value
    for k, b in enumerate(base):
        if b != 0.0:
            single_leaf(float(b), k if not classifier else (0 if binary else k))

    x_name = node.input[0]
    te_attrs = {
        "n_targets": n_targets,
        "aggregate_function": 1,
        "post_transform": POST_CODES[post] if (not classifier or post_in_node) else 0,
        "tree_roots": out["roots"],
        "nodes_featureids": out["features"],
        "nodes_splits": numpy_helper.from_array(np.array(out["splits"], dtype=np.float32), "nodes_splits"),
        "nodes_modes": numpy_helper.from_array(np.array(out["modes"], dtype=np.uint8), "nodes_modes"),
        "nodes_truenodeids": out["true"],
        "nodes_falsenodeids": out["false"],
        "nodes_trueleafs": out["trueleaf"],
        "nodes_falseleafs": out["falseleaf"],
        "nodes_missing_value_tracks_true": out["mvtt"],
        "leaf_targetids": out["leaf_target"],
        "leaf_weights": numpy_helper.from_array(np.array(out["leaf_weight"], dtype=np.float32), "leaf_weights"),
    }
    if members:
        te_attrs["membership_values"] = numpy_helper.from_array(np.array(members, dtype=np.float32),
                                                                "membership_values")
    new_nodes = []
    if not classifier:
        new_nodes.append(helper.make_node("TreeEnsemble", [x_name], [node.output[0]], name="TreeEnsemble",
                                          domain="ai.onnx.ml", **te_attrs))
    else:
        label_out, prob_out = node.output[0], node.output[1]
        if post_in_node and (binary or post not in ("SOFTMAX", "NONE")):
            raise NotImplementedError(f"post_transform {post} in the node for {n_targets} target(s)")
        scores = prob_out if not binary else "te_positive"
        if post_in_node or post == "NONE":
            new_nodes.append(helper.make_node("TreeEnsemble", [x_name], [scores], name="TreeEnsemble",
                                              domain="ai.onnx.ml", **te_attrs))
        else:
            new_nodes.append(helper.make_node("TreeEnsemble", [x_name], ["te_scores"], name="TreeEnsemble",
                                              domain="ai.onnx.ml", **te_attrs))
            if post == "LOGISTIC":
                new_nodes.append(helper.make_node("Sigmoid", ["te_scores"], [scores], name="te_sigmoid"))
            elif post == "SOFTMAX":
                new_nodes.append(helper.make_node("Softmax", ["te_scores"], [scores], name="te_softmax", axis=1))
            else:
                raise NotImplementedError(f"classifier post_transform {post}")
        if binary:
            graph.initializer.append(numpy_helper.from_array(np.array([1.0], dtype=np.float32), "te_one"))
            new_nodes.append(helper.make_node("Sub", ["te_one", scores], ["te_negative"], name="te_complement"))
            new_nodes.append(helper.make_node("Concat", ["te_negative", scores], [prob_out], name="te_concat",
                                              axis=1))
        new_nodes.append(helper.make_node("ArgMax", [prob_out], ["te_argmax"], name="te_argmax", axis=1,
                                          keepdims=0))
        label_array = (np.array(labels, dtype=object) if isinstance(labels[0], str)
                       else np.array(labels, dtype=np.int64))
        graph.initializer.append(numpy_helper.from_array(label_array, "te_classlabels"))
        new_nodes.append(helper.make_node("Gather", ["te_classlabels", "te_argmax"], [label_out], name="te_label",
                                          axis=0))
    if not classifier:  # CatBoost declares its regressor's output [N]; TreeEnsemble's is [N, n_targets]
        for o in graph.output:
            dims = o.type.tensor_type.shape.dim
            if o.name == node.output[0] and len(dims) == 1:
                first = copy.deepcopy(dims[0])
                del dims[:]
                dims.add().CopyFrom(first)
                dims.add().dim_value = n_targets
    graph.node.remove(node)
    for offset, n in enumerate(new_nodes):
        graph.node.insert(position + offset, n)
    versions = {i.domain: i.version for i in model.opset_import}
    versions["ai.onnx.ml"] = 5
    versions[""] = max(versions.get("", 0), 21)
    del model.opset_import[:]
    for domain, version in sorted(versions.items()):
        model.opset_import.add(domain=domain, version=version)
    model.ir_version = max(model.ir_version, 10)
    return model


def te5_zoo() -> None:
    """Opset-5 rewrites of written exports, checked against the original graph (labels equal, scores within
    1e-6) and, through the original's entry, against the library."""
    cases = [
        ("te5_xgb_regression_nan", "xgb_regression_nan", True, False,
         "XGBoost regression, BRANCH_LT, the base value as a one-node tree"),
        ("te5_xgb_binary_nan", "xgb_binary_nan", True, False,
         "XGBoost binary: TreeEnsemble score, Sigmoid, Sub/Concat, ArgMax, Gather"),
        ("te5_xgb_categorical_member", "xgb_categorical", True, False, "XGBoost categorical sets as BRANCH_MEMBER"),
        ("te5_lgbm_regression_nan", "lgbm_regression_nan", True, False, "LightGBM regression, BRANCH_LEQ"),
        ("te5_lgbm_multiclass_nan", "lgbm_multiclass_nan", True, False,
         "LightGBM 3 classes: TreeEnsemble scores, Softmax node, ArgMax, Gather; the graph's Identity/Cast/Mul "
         "nodes kept"),
        ("te5_lgbm_categorical_member", "lgbm_categorical", True, False,
         "LightGBM categorical splits as BRANCH_MEMBER"),
        ("te5_lgbm_categorical_eq", "lgbm_categorical", False, False,
         "LightGBM categorical chains kept as BRANCH_EQ (the shared true children duplicated)"),
        ("te5_cat_multiclass_nan", "cat_multiclass_nan", True, False,
         "CatBoost 3 classes: each tree written once per class, BRANCH_GT, Softmax node; ZipMap kept"),
        ("te5_cat_regression_nanmax", "cat_regression_nanmax", True, False,
         "CatBoost nan_mode Max: BRANCH_GT with missing_value_tracks_true=1, the base value as a one-node tree; "
         "the output declared [N, 1] (CatBoost declares [N])"),
    ]
    for name, source, member, post_in_node, what in cases:
        original = MODELS[source]
        entry = EXPECTED[source]
        rewritten = to_tree_ensemble(original, member=member, post_in_node=post_in_node)
        onnx.checker.check_model(rewritten, full_check=True)
        feeds = {}
        for spec in entry["inputs"]:
            feeds[spec["name"]] = np.array([[np.nan if v is None else v for v in r] for r in entry["rows"][spec["name"]]],
                                           dtype=np.float32)
        _, want = run(original, feeds)
        _, got = run(rewritten, feeds)
        classes = None
        if entry["task"] == "classification":
            assert [v for v in np.asarray(got[0]).tolist()] == [v for v in np.asarray(want[0]).tolist()], name
            classes = list(dict.fromkeys(want[1][0])) if isinstance(want[1], list) else None
            gap = close_gap(probabilities_matrix(got[1], classes), probabilities_matrix(want[1], classes))
        else:
            gap = close_gap(np.asarray(got[0]).reshape(-1), np.asarray(want[0]).reshape(-1))
        assert gap <= 1e-6, f"{name}: the rewrite differs from {source} by {gap}"
        te = attrs(next(n for n in rewritten.graph.node if n.op_type == "TreeEnsemble"))
        n_member = int(np.sum(numpy_helper.to_array(te["nodes_modes"]) == 6))
        n_eq = int(np.sum(numpy_helper.to_array(te["nodes_modes"]) == 4))
        if member and "categorical" in source:
            assert n_member > 0, f"{name}: no BRANCH_MEMBER node"
        reference_note = reference_check(rewritten, feeds, got, entry["task"], classes)
        base_entry = EXPECTED[source]

        def ref(e=base_entry):
            if e["task"] == "classification":
                return e["labels"], np.array(e["probabilities"])
            return np.array(e["values"])

        emit(Export(name, base_entry["library"], "gbm_zoo", base_entry["head"], base_entry["task"], rewritten, feeds,
                    ref, classes=classes or [], zipmap=base_entry["zipmap"], unknown_rows=base_entry.get(
                        "unknown_category_rows"),
                    notes=[f"{source} rewritten by gbm_zoo.to_tree_ensemble ({what}); onnxruntime agrees with the "
                           f"original graph within {max(gap, 1e-9):.1g}; {n_member} BRANCH_MEMBER and {n_eq} "
                           "BRANCH_EQ nodes; compared here with the original graph's answers (which matched the "
                           "library)", reference_note]))


def reference_check(onx: onnx.ModelProto, feeds: dict[str, np.ndarray], got: list[Any], task: str,
                    classes: list[Any] | None) -> str:
    """onnx's Python reference implementation of the rewritten graph, for the record."""
    from onnx.reference import ReferenceEvaluator

    try:
        outs = ReferenceEvaluator(onx).run(None, feeds)
    except Exception as e:  # noqa: BLE001 - recorded in the notes
        return f"onnx.reference cannot run it: {exception_text(e)}"
    if task == "classification":
        gap = close_gap(probabilities_matrix(outs[1], classes), probabilities_matrix(got[1], classes))
        same = list(np.asarray(outs[0]).tolist()) == list(np.asarray(got[0]).tolist())
        return (f"onnx.reference: labels {'equal' if same else 'DIFFER'}, probabilities within {gap:.1g}"
                + (reference_bugs(onx) if gap > 1e-5 else ""))
    gap = close_gap(np.asarray(outs[0]).reshape(-1), np.asarray(got[0]).reshape(-1))
    return f"onnx.reference agrees with onnxruntime within {gap:.1g}" if gap <= 1e-5 else (
        f"onnx.reference DIFFERS from onnxruntime by up to {gap:.3g}" + reference_bugs(onx))


def reference_bugs(onx: onnx.ModelProto) -> str:
    """What in the graph meets onnx 1.23's reference TreeEnsemble's two bugs."""
    a = attrs(next(n for n in onx.graph.node if n.op_type == "TreeEnsemble"))
    single = sum(1 for r in a["tree_roots"] if a["nodes_trueleafs"][r] and a["nodes_falseleafs"][r]
                 and a["nodes_truenodeids"][r] == a["nodes_falsenodeids"][r])
    members = numpy_helper.to_array(a["membership_values"]) if "membership_values" in a else np.array([])
    zeros = int(np.sum(members == 0.0))
    why = []
    if single:
        why.append(f"{single} one-node trees (a base value or a leaf-only tree), whose leaf onnx.reference reads as "
                   "leaf_weights[root node index] instead of the leaf the node points to")
    if zeros:
        why.append(f"{zeros} member sets holding the value 0.0, which ends a set in onnx.reference (`while (v := "
                   "next(it)) and not isnan(v)`)")
    return ": " + "; ".join(why) if why else ""


def te5_runtime_checks() -> None:
    """onnxruntime's TreeEnsemble post_transform, measured on the rewrites (recorded as kind 'runtime')."""
    for source, what in (("lgbm_multiclass_nan", "3 classes"), ("xgb_binary_nan", "binary (one target)")):
        original = MODELS[source]
        entry = EXPECTED[source]
        feeds = {INPUT: np.array([[np.nan if v is None else v for v in r] for r in entry["rows"][INPUT]],
                                 dtype=np.float32)}
        plain = to_tree_ensemble(original)
        plain.graph.output.append(helper.make_tensor_value_info("te_scores", TensorProto.FLOAT, None))
        _, outs = run(plain, feeds)
        scores = np.asarray(outs[-1], dtype=np.float64)
        found = []
        for code, label in ((1, "SOFTMAX"), (2, "LOGISTIC")):
            m = copy.deepcopy(plain)
            te = next(n for n in m.graph.node if n.op_type == "TreeEnsemble")
            next(a for a in te.attribute if a.name == "post_transform").i = code
            _, got = run(m, feeds)
            got = np.asarray(got[-1], dtype=np.float64)
            candidates = {"nothing (raw scores)": scores, "logistic": 1 / (1 + np.exp(-scores))}
            if scores.shape[1] > 1:
                soft = np.exp(scores - scores.max(axis=1, keepdims=True))
                candidates["softmax"] = soft / soft.sum(axis=1, keepdims=True)
            did = next((k for k, v in candidates.items() if close_gap(got, v) <= 1e-5), "something else")
            found.append(f"post_transform {code} ({label}) applies {did}")
        failed(f"te5_onnxruntime_post_transform_{'multiclass' if 'multi' in source else 'binary'}", "onnxruntime",
               f"onnxruntime {ort.__version__}", "runtime",
               f"TreeEnsemble (ai.onnx.ml 5) post_transform on {what}, the {source} rewrite",
               "; ".join(found) + " (the spec: 1 SOFTMAX, 2 LOGISTIC); the te5_* exports use post_transform 0 "
               "and a Sigmoid / Softmax node")


def te5_failures() -> None:
    """Does any converter emit the opset-5 TreeEnsemble? (No: recorded.)"""
    x, y, _ = matrix_data("diabetes")
    register_converters()
    for target in ({"": 21, "ai.onnx.ml": 5}, {"": 21, "ai.onnx.ml": 4}, {"": 19, "ai.onnx.ml": 3}):
        for lib, est in (("xgboost", xgb.XGBRegressor(**xgb_params(n_estimators=5))),
                         ("lightgbm", lgb.LGBMRegressor(**lgbm_params(n_estimators=5)))):
            est.fit(x, y)
            name = f"te5_skl2onnx_{lib}_ml{target['ai.onnx.ml']}"
            what = f"convert_sklearn({type(est).__name__}, target_opset={target})"
            try:
                onx = convert_sklearn(est, initial_types=[(INPUT, FloatTensorType([None, x.shape[1]]))],
                                      target_opset=target)
            except Exception as e:  # noqa: BLE001 - recorded
                failed(name, lib, "skl2onnx", "error", what, exception_text(e))
                continue
            got = sorted({f"{n.domain or 'ai.onnx'}:{n.op_type}" for n in onx.graph.node})
            ml = max(i.version for i in onx.opset_import if i.domain == "ai.onnx.ml")
            if "ai.onnx.ml:TreeEnsemble" not in got:
                failed(name, lib, "skl2onnx", "unsupported", what,
                       f"writes {', '.join(got)} and declares ai.onnx.ml {ml}: no TreeEnsemble (the registered "
                       "onnxmltools converter only knows TreeEnsembleRegressor/Classifier)")
    from sklearn.ensemble import HistGradientBoostingRegressor

    hgb = HistGradientBoostingRegressor(max_iter=5, random_state=SEED).fit(x, y)
    for target in ({"": 21, "ai.onnx.ml": 5}, None):
        onx = convert_sklearn(hgb, initial_types=[(INPUT, FloatTensorType([None, x.shape[1]]))],
                              target_opset=target)
        failed(f"te5_skl2onnx_sklearn_trees_{'ml5' if target else 'default'}", "sklearn", "skl2onnx", "unsupported",
               f"convert_sklearn(HistGradientBoostingRegressor, target_opset={target})",
               f"writes {', '.join(ops(onx))} and declares ai.onnx.ml "
               f"{max(i.version for i in onx.opset_import if i.domain == 'ai.onnx.ml')}: skl2onnx 1.20 has no "
               "converter that writes TreeEnsemble")
    from onnx import version_converter

    onx = convert_lgbm(lgb.LGBMRegressor(**lgbm_params(n_estimators=5)).fit(x, y), x.shape[1])
    try:
        converted = version_converter.convert_version(onx, 21)
        ml = {i.domain: i.version for i in converted.opset_import}.get("ai.onnx.ml")
        reason = (f"converts the default domain only: ai.onnx.ml stays {ml}, the TreeEnsembleRegressor stays; it "
                  "takes no target for other domains")
    except Exception as e:  # noqa: BLE001 - recorded
        reason = exception_text(e)
    failed("te5_onnx_version_converter", "lightgbm", "onnx.version_converter", "unsupported",
           "onnx.version_converter.convert_version(model, 21) on a LightGBM export", reason)


# ---------------------------------------------------------------------------


def main() -> None:
    ort.set_default_logger_severity(4)  # the unloadable failures are recorded, not logged
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.onnx"):
        old.unlink()
    xgboost_zoo()
    lightgbm_zoo()
    catboost_zoo()
    pipelines_zoo()
    te5_zoo()
    te5_runtime_checks()
    te5_failures()
    (OUT / "expected.json").write_text(json.dumps(EXPECTED, indent=0, sort_keys=True) + "\n")
    versions = {m.__name__: m.__version__ for m in (xgb, lgb, cb, onnx, ort, np, pd)}
    import onnxmltools
    import skl2onnx
    import sklearn

    versions.update({"onnxmltools": onnxmltools.__version__, "skl2onnx": skl2onnx.__version__,
                     "sklearn": sklearn.__version__})
    (OUT / "failures.json").write_text(json.dumps({"versions": versions, "failures": FAILURES}, indent=1,
                                                  sort_keys=True) + "\n")
    counts = Counter(e["library"] for e in EXPECTED.values())
    print(f"gbm zoo: {len(EXPECTED)} exports {dict(counts)}; {len(FAILURES)} upstream failures recorded")


if __name__ == "__main__":
    main()
