"""Export a zoo of scikit-learn models the way people do, for the API's compatibility test.

Each export goes to crates/onnx-ml/tests/zoo/<name>.onnx; crates/onnx-ml/tests/zoo/expected.json
holds, for each, the held-out input rows and what onnxruntime answered for them
(labels, probabilities or values). The Rust test loads every file through the
API's model loader and compares.

Families: linear and logistic regression, MLP, random forest, extra trees,
gradient boosting, hist gradient boosting; classifiers (binary and
multi-class) and regressors; skl2onnx's *default* options (Scaler, ZipMap)
and zipmap=False; two opsets. Deterministic: fixed seeds, stable graph names.

The pipeline zoo (pipeline_zoo) exports DataFrame pipelines to
crates/onnx-ml/tests/pipelines/<name>.onnx: imputers, one-hot, ordinal and
target encoders, scalers and binning before linear, tree, forest and boosting
heads (some taking NaN themselves), with one graph input per column (float,
int64, string [N, 1]) or one matrix input, on the penguins and cars data,
ZipMap on and off, three opsets; its expected.json holds rows with missing
values (null: fed as NaN, '' for a string, i64::MIN for an int64) and unseen
categories, what onnxruntime answered (or the error it raised), and which
inputs take a missing value or an unseen category.

Usage (from the repository root, with the pinned packages of requirements.txt):
    .venv-train/bin/python models/train/zoo.py              # both zoos
    .venv-train/bin/python models/train/zoo.py models       # crates/onnx-ml/tests/zoo/ only
    .venv-train/bin/python models/train/zoo.py pipelines    # crates/onnx-ml/tests/pipelines/ only
"""
from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pandas as pd
import skl2onnx
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType, Int64TensorType, StringTensorType
from sklearn.compose import ColumnTransformer
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
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.model_selection import KFold, train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import (
    KBinsDiscretizer,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    RobustScaler,
    SplineTransformer,
    StandardScaler,
    TargetEncoder,
)
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from train import FRAME_SPECS, MISSING_TEXT, TARGET_OPSET, f32, frame_features, is_missing, tidy

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


def model_zoo() -> None:
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



# ---------------------------------------------------------------------------
# The pipeline zoo: DataFrame pipelines (imputers, encoders, scalers, binning)
# with linear, forest and boosting heads, written to crates/onnx-ml/tests/pipelines/.

PIPELINES_OUT = Path(__file__).resolve().parents[2] / "crates" / "onnx-ml" / "tests" / "pipelines"
PIPELINE_ROWS = 20  # rows per model in expected.json, including missing values and unseen categories
# A missing int64 value: what skl2onnx's int64 Imputer replaces (np.float64(nan) cast to int64), and how expected.json's
# null in an int64 column is fed.
INT64_MISSING = int(np.iinfo(np.int64).min)
F32_MAX = float(np.finfo(np.float32).max)
CARS_INTS = ["cylinders", "weight", "year"]


def pipeline_data(dataset: str) -> dict[str, Any]:
    """Penguins (4 numbers, 2 categories, and the int year) or cars (6 numbers, 3 of them integers, 1 category).

    The test rows are the data's first rows with missing values (three penguins, two cars without a
    horsepower), then held-out rows, then made-up rows: an unseen category with a missing number, an unseen
    category alone, and a row with everything missing. The models train on every other row.
    """
    spec = next(s for s in FRAME_SPECS if s.name == dataset)
    raw, y, _ = spec.load()
    x = frame_features(spec.columns, raw)
    numbers = [c.name for c in spec.columns if not c.text]
    texts = [c.name for c in spec.columns if c.text]
    missing = [i for i in range(len(x)) if any(is_missing(c, x.iloc[i][c.name]) for c in spec.columns)]
    missing = missing[:3] if dataset == "penguins" else missing[:2]
    ints = CARS_INTS if dataset == "cars" else ["year"]
    if dataset == "penguins":  # an int64 column the shipped model leaves out (2007-2009): only the int layouts use it
        x["year"] = raw["year"].astype(np.float64)
    stratify = y if dataset == "penguins" else None
    _, held_out = train_test_split(np.arange(len(x)), test_size=0.2, random_state=SEED, stratify=stratify)
    held_out = [int(i) for i in held_out if i not in missing][: PIPELINE_ROWS - 3 - len(missing)]
    test = x.iloc[missing + held_out]
    train = x.drop(index=x.index[missing + held_out])
    y_train = y.drop(index=y.index[missing + held_out])
    first = x.iloc[held_out[0]]
    if dataset == "penguins":
        made_up = [
            {**first, "island": "Atlantis", "flipper_length_mm": np.nan},
            {**first, "sex": "unknown"},
        ]
        unseen = {"island": "Atlantis", "sex": "unknown"}
    else:
        made_up = [{**first, "origin": "Korea", "horsepower": np.nan}, {**first, "origin": "Korea"}]
        unseen = {"origin": "Korea"}
    made_up.append({c.name: MISSING_TEXT if c.text else np.nan for c in spec.columns})
    test = pd.concat([test, pd.DataFrame(made_up)], ignore_index=True)
    for c in numbers + [c for c in ints if c not in numbers]:
        test[c] = test[c].astype(np.float64)
    if dataset == "cars":
        targets = {"mpg": y_train.to_numpy(dtype=np.float64)}
    else:
        species = y_train.astype(str)
        classes = sorted(species.unique())
        targets = {
            "species": species.to_numpy(dtype=object),
            "adelie": np.where(species == "Adelie", "Adelie", "other").astype(object),
            "species_code": np.array([classes.index(s) for s in species], dtype=np.int64),
            "adelie_code": (species == "Adelie").to_numpy().astype(np.int64),
        }
    return {"train": train, "test": test, "numbers": numbers, "texts": texts, "ints": ints, "targets": targets,
            "unseen": unseen, "first": first}


def num_steps(kind: str) -> list[tuple[str, Any]]:
    impute = {
        "std": SimpleImputer(strategy="median"),
        "mean_minmax": SimpleImputer(strategy="mean"),
        "mf_robust": SimpleImputer(strategy="most_frequent"),
        "const_std": SimpleImputer(strategy="constant", fill_value=0.0),
        "kbins_ord": SimpleImputer(strategy="median"),
        "kbins_1hot": SimpleImputer(strategy="median"),
    }
    after = {
        "std": StandardScaler(),
        "mean_minmax": MinMaxScaler(),
        "mf_robust": RobustScaler(),
        "const_std": StandardScaler(),
        "kbins_ord": KBinsDiscretizer(n_bins=4, encode="ordinal", quantile_method="averaged_inverted_cdf"),
        "kbins_1hot": KBinsDiscretizer(n_bins=4, encode="onehot-dense", quantile_method="averaged_inverted_cdf"),
    }
    return [("impute", impute[kind]), ("transform", after[kind])]


# Encoders fitted without an imputer on a frame whose missing categories are NaN (what pandas gives): scikit-learn
# keeps NaN as a category (OneHotEncoder, TargetEncoder) or encodes it as encoded_missing_value (OrdinalEncoder).
TEXT_NAN = {"ohe_nan", "ord_unk_nan", "ord_unk_miss", "te_nan"}


def text_steps(kind: str) -> list[tuple[str, Any]]:
    if kind.startswith("const_ohe"):
        impute = SimpleImputer(missing_values=MISSING_TEXT, strategy="constant", fill_value="missing")
    else:
        impute = SimpleImputer(missing_values=MISSING_TEXT, strategy="most_frequent")
    encode = {
        "ohe": lambda: OneHotEncoder(handle_unknown="ignore", sparse_output=False),
        "const_ohe": lambda: OneHotEncoder(handle_unknown="ignore", sparse_output=False),
        "const_ohe_error": lambda: OneHotEncoder(handle_unknown="error", sparse_output=False),
        "ohe_error": lambda: OneHotEncoder(handle_unknown="error", sparse_output=False),
        "ohe_drop": lambda: OneHotEncoder(drop="first", sparse_output=False),
        "ohe_nan": lambda: OneHotEncoder(handle_unknown="ignore", sparse_output=False),
        "ord_unk": lambda: OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
        "ord_unk_nan": lambda: OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                              encoded_missing_value=-1),
        "ord_unk_miss": lambda: OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                               encoded_missing_value=-2),
        "ord": OrdinalEncoder,
        "te": lambda: TargetEncoder(cv=KFold(5, shuffle=True, random_state=SEED)),
        "te_nan": lambda: TargetEncoder(cv=KFold(5, shuffle=True, random_state=SEED)),
    }[kind]()
    if kind in TEXT_NAN:
        return [("encode", encode)]
    return [("impute", impute), ("encode", encode)]


PIPELINE_HEADS = {
    "logreg": ("species", lambda: LogisticRegression(max_iter=2000)),
    "logreg_bin": ("adelie", lambda: LogisticRegression(max_iter=2000)),
    "rf": ("species", lambda: RandomForestClassifier(n_estimators=5, max_depth=4, random_state=SEED)),
    "rf_bin": ("adelie", lambda: RandomForestClassifier(n_estimators=5, max_depth=4, random_state=SEED)),
    "rf_int": ("species_code", lambda: RandomForestClassifier(n_estimators=5, max_depth=4, random_state=SEED)),
    "dt": ("species", lambda: DecisionTreeClassifier(max_depth=4, random_state=SEED)),
    "gb": ("species", lambda: GradientBoostingClassifier(n_estimators=5, max_depth=3, random_state=SEED)),
    "gb_bin": ("adelie", lambda: GradientBoostingClassifier(n_estimators=5, max_depth=3, random_state=SEED)),
    "hgb": ("species", lambda: HistGradientBoostingClassifier(max_iter=5, max_leaf_nodes=8, random_state=SEED)),
    "hgb_bin": ("adelie", lambda: HistGradientBoostingClassifier(max_iter=5, max_leaf_nodes=8, random_state=SEED)),
    "hgb_bin_int": ("adelie_code",
                    lambda: HistGradientBoostingClassifier(max_iter=5, max_leaf_nodes=8, random_state=SEED)),
    "linreg": ("mpg", LinearRegression),
    "ridge": ("mpg", lambda: Ridge(alpha=1.0)),
    "rf_reg": ("mpg", lambda: RandomForestRegressor(n_estimators=5, max_depth=4, random_state=SEED)),
    "dt_reg": ("mpg", lambda: DecisionTreeRegressor(max_depth=4, random_state=SEED)),
    "gb_reg": ("mpg", lambda: GradientBoostingRegressor(n_estimators=10, max_depth=3, random_state=SEED)),
    "hgb_reg": ("mpg", lambda: HistGradientBoostingRegressor(max_iter=10, max_leaf_nodes=8, random_state=SEED)),
}
# A head's variants, "+"-joined after its name (and "_"-joined into the model's): "zipmap" keeps skl2onnx's default
# ZipMap output (otherwise zipmap=False); "op15"/"op17" pass target_opset=15/17, "opdef" none at all (skl2onnx's
# latest: ai.onnx 22, IR 10). Without one, the opsets are train.py's TARGET_OPSET (ai.onnx 17, ai.onnx.ml 2).
PIPELINE_OPSETS = {"op15": 15, "op17": 17, "opdef": None}

# (dataset, layout, numbers' steps, categories' steps, heads). Layouts: "cols" one input per column (float and
# string [N, 1]); "mx" one float matrix of the numbers; "mxtext" one string matrix of the categories. With int64
# [N, 1] inputs for the integer columns (cars' cylinders, weight and year; the penguins' year): "int" scaled without
# an imputer, cylinders also one-hot as int64 categories; "icols" imputed and scaled in a group of their own (an int64
# Imputer); "imix" in one group with the float numbers, floats first (cast to float, a float Imputer); "ipass" left to
# remainder='passthrough' (cast to float); "idrop" the year dropped (remainder='drop': an input nothing reads).
# Numbers' steps "none": passthrough, no imputer or scaler, the trees take NaN; "pass": no transformer at all,
# the numbers reach the head through remainder='passthrough'.
PIPELINE_CASES = [
    ("penguins", "cols", "std", "ohe", ["logreg", "logreg_bin", "rf", "rf_bin", "rf_int", "gb", "gb_bin", "hgb",
                                        "hgb_bin", "hgb_bin_int"]),
    ("penguins", "cols", "std", "ohe_error", ["logreg", "hgb"]),
    ("penguins", "cols", "std", "ohe_drop", ["logreg"]),
    ("penguins", "cols", "std", "ord_unk", ["rf", "hgb"]),
    ("penguins", "cols", "std", "ord", ["logreg"]),
    ("penguins", "cols", "mean_minmax", "ohe", ["logreg", "gb"]),
    ("penguins", "cols", "mf_robust", "ohe", ["rf", "hgb_bin"]),
    ("penguins", "cols", "const_std", "const_ohe", ["logreg", "rf"]),
    ("penguins", "cols", "kbins_ord", "ohe", ["logreg", "rf"]),
    ("penguins", "cols", "kbins_1hot", "ohe", ["logreg", "gb"]),
    ("penguins", "cols", "none", "ohe", ["hgb"]),
    ("cars", "cols", "std", "ohe", ["linreg", "rf_reg", "gb_reg", "hgb_reg"]),
    ("cars", "cols", "std", "ohe_error", ["linreg"]),
    ("cars", "cols", "std", "ord_unk", ["gb_reg"]),
    ("cars", "cols", "std", "ord", ["rf_reg"]),
    ("cars", "cols", "mean_minmax", "ohe", ["linreg", "hgb_reg"]),
    ("cars", "cols", "mf_robust", "ohe", ["linreg", "rf_reg"]),
    ("cars", "cols", "const_std", "const_ohe", ["gb_reg"]),
    ("cars", "cols", "kbins_ord", "ohe", ["linreg"]),
    ("cars", "cols", "kbins_1hot", "ohe", ["linreg", "rf_reg"]),
    ("cars", "cols", "none", "ohe", ["hgb_reg"]),
    ("cars", "int", "std", "ohe", ["linreg", "gb_reg"]),
    ("penguins", "mx", "std", None, ["logreg", "logreg_bin", "hgb", "rf_bin"]),
    ("penguins", "mx", "mean_minmax", None, ["gb"]),
    ("penguins", "mx", "kbins_1hot", None, ["logreg"]),
    ("penguins", "mx", "kbins_ord", None, ["rf"]),
    ("penguins", "mxtext", None, "ohe", ["logreg"]),
    ("penguins", "mxtext", None, "ohe_error", ["rf"]),
    ("penguins", "mxtext", None, "ord_unk", ["hgb"]),
    ("penguins", "mxtext", None, "const_ohe", ["logreg_bin"]),
    ("cars", "mx", "std", None, ["linreg", "gb_reg"]),
    ("cars", "mx", "mf_robust", None, ["hgb_reg"]),
    # Integer columns as int64 inputs.
    ("cars", "icols", "std", "ohe", ["linreg", "rf_reg+op15", "hgb_reg+opdef"]),
    ("cars", "icols", "mf_robust", "ohe", ["ridge"]),
    ("cars", "icols", "std", "const_ohe_error", ["gb_reg"]),
    ("cars", "icols", "std", "te", ["ridge+opdef"]),
    ("penguins", "icols", "std", "ohe", ["logreg+zipmap", "rf_bin", "hgb+op15"]),
    ("cars", "imix", "std", "ohe", ["linreg", "gb_reg+op15"]),
    ("penguins", "imix", "std", "ohe", ["logreg_bin", "hgb+zipmap"]),
    ("cars", "ipass", "std", "ohe", ["rf_reg"]),
    ("penguins", "ipass", "std", "ohe", ["gb+zipmap+op15"]),
    ("penguins", "idrop", "std", "ohe", ["logreg"]),
    # A text column imputed with a constant the encoder never saw, before OneHotEncoder(handle_unknown='error').
    ("penguins", "cols", "std", "const_ohe_error", ["logreg", "rf+zipmap"]),
    ("cars", "cols", "std", "const_ohe_error", ["linreg", "gb_reg+opdef"]),
    # OrdinalEncoder(handle_unknown='use_encoded_value'), after an imputer or on NaN categories.
    ("penguins", "cols", "std", "ord_unk", ["logreg+zipmap", "gb_bin+op15"]),
    ("penguins", "cols", "std", "ord_unk_nan", ["rf"]),
    ("penguins", "cols", "std", "ord_unk_miss", ["rf_bin"]),
    ("cars", "cols", "std", "ord_unk_nan", ["rf_reg+op15"]),
    # TargetEncoder (binary and continuous targets: skl2onnx refuses a multiclass one).
    ("penguins", "cols", "std", "te", ["logreg_bin", "hgb_bin_int+op15"]),
    ("penguins", "cols", "std", "te_nan", ["logreg_bin"]),
    ("cars", "cols", "std", "te", ["linreg", "gb_reg+opdef"]),
    # OneHotEncoder on NaN categories: 'nan' becomes a category.
    ("penguins", "cols", "std", "ohe_nan", ["logreg+op15"]),
    # Heads that take NaN themselves.
    ("penguins", "cols", "none", "ohe", ["hgb_bin", "rf", "rf_bin+zipmap", "dt"]),
    ("cars", "cols", "none", "ohe", ["rf_reg", "dt_reg", "hgb_reg+op15"]),
    ("penguins", "cols", "pass", "ord_unk", ["hgb"]),
    ("cars", "cols", "pass", "ord_unk", ["hgb_reg", "rf_reg+opdef"]),
    # ZipMap and the opsets on the common shape.
    ("penguins", "cols", "std", "ohe", ["logreg+zipmap", "logreg+opdef", "rf_int+zipmap", "logreg_bin+zipmap+op15",
                                        "hgb+zipmap+op17"]),
    ("cars", "cols", "std", "ohe", ["linreg+op15"]),
    ("penguins", "mx", "std", None, ["logreg+zipmap+opdef"]),
]
INT_LAYOUTS = ("int", "icols", "imix", "ipass", "idrop")


def common_pipe(layout: str, numbers: list[str], texts: list[str], num: str, cat: str, head: Any,
                ints: list[str] = ()) -> Pipeline:
    num_part = "passthrough" if num in ("none", "pass") else Pipeline(num_steps(num))
    parts = [("numbers", num_part, numbers), ("categories", Pipeline(text_steps(cat)), texts)]
    remainder = "drop"
    floats = [c for c in numbers if c not in ints]
    if layout == "int":  # the int64 inputs: scaled (Scaler takes int64), and cylinders one-hot as int64 categories
        parts = [
            ("numbers", num_part, [c for c in numbers if c not in CARS_INTS]),
            ("ints", StandardScaler(), CARS_INTS),
            ("cylinders", OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["cylinders"]),
            parts[1],
        ]
    elif layout == "icols":
        parts = [("numbers", num_part, floats), ("ints", Pipeline(num_steps(num)), list(ints)), parts[1]]
    elif layout == "imix":
        parts[0] = ("numbers", num_part, floats + list(ints))
    elif layout in ("ipass", "idrop"):
        parts[0] = ("numbers", num_part, floats)
        remainder = "passthrough" if layout == "ipass" else "drop"
    if num == "pass":
        parts, remainder = parts[1:], "passthrough"
    prep = ColumnTransformer(parts) if remainder == "drop" else ColumnTransformer(parts, remainder=remainder)
    return Pipeline([("prep", prep), ("head", head)])


# Pipelines people write that skl2onnx 1.20 cannot export (or exports wrongly): attempted, reported, not written.
def failing_cases(numbers: list[str], texts: list[str], classifier: bool) -> dict[str, tuple[Pipeline, str]]:
    std, ohe = num_steps("std"), text_steps("ohe")
    ct = lambda n, c: ColumnTransformer([("numbers", Pipeline(n), numbers), ("categories", Pipeline(c), texts)])  # noqa: E731
    logreg = (lambda: LogisticRegression(max_iter=2000)) if classifier else LinearRegression  # noqa: E731
    hgb = HistGradientBoostingClassifier if classifier else HistGradientBoostingRegressor
    return {
        "imputer_add_indicator": (Pipeline([("prep", ct([("impute", SimpleImputer(strategy="median", add_indicator=True)),
                                                        ("scale", StandardScaler())], ohe)), ("head", logreg())]), ""),
        "ohe_infrequent": (Pipeline([("prep", ct(std, [ohe[0], ("encode", OneHotEncoder(
            handle_unknown="infrequent_if_exist", min_frequency=0.2))])), ("head", logreg())]), ""),
        "kbins_onehot_sparse": (Pipeline([("prep", ct([std[0], ("bin", KBinsDiscretizer(
            n_bins=4, encode="onehot", quantile_method="averaged_inverted_cdf"))], ohe)), ("head", logreg())]), ""),
        "text_imputer_nan": (Pipeline([("prep", ct(std, [("impute", SimpleImputer(strategy="most_frequent")),
                                                         ohe[1]])), ("head", logreg())]), "nan"),
        "target_encoder_multiclass": (Pipeline([("prep", ct(std, [ohe[0], ("encode", TargetEncoder(cv=KFold(5)))])),
                                                ("head", logreg())]), ""),
        "spline": (Pipeline([("prep", ct([std[0], ("spline", SplineTransformer())], ohe)), ("head", logreg())]), ""),
        "hgb_native_categorical": (Pipeline([("prep", ct(std, [ohe[0], ("encode", OrdinalEncoder())])), (
            "head", hgb(max_iter=5, categorical_features=[len(numbers) + i for i in range(
                len(texts))], random_state=SEED))]), ""),
    }


def int_failing_cases(d: dict[str, Any], classifier: bool) -> dict[str, Pipeline]:
    """Int64 inputs ("icols" inputs) that skl2onnx 1.20 cannot export."""
    floats = [c for c in d["numbers"] if c not in d["ints"]]
    cats = ("categories", Pipeline(text_steps("ohe")), d["texts"])
    logreg = (lambda: LogisticRegression(max_iter=2000)) if classifier else LinearRegression  # noqa: E731
    return {
        # the DataFrame's order for cars (cylinders first): the imputer's first input decides its type
        "int_first_imputer": Pipeline([("prep", ColumnTransformer([
            ("numbers", Pipeline(num_steps("std")), d["ints"] + floats), cats])), ("head", logreg())]),
        # a mean that is not a whole number cannot be an int64 Imputer's value
        "int_mean_imputer": Pipeline([("prep", ColumnTransformer([
            ("numbers", Pipeline(num_steps("std")), floats), ("ints", Pipeline(num_steps("mean_minmax")), d["ints"]),
            cats])), ("head", logreg())]),
    }


def row_value(v: Any, text: bool) -> Any:
    if text:
        return None if v == MISSING_TEXT else str(v)
    return None if np.isnan(v) else f32(v)


def pipeline_inputs(layout: str, d: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """(input name, type, skl2onnx type) per graph input."""
    if layout == "mx":
        return [("X", "float", FloatTensorType([None, len(d["numbers"])]))]
    if layout == "mxtext":
        return [("X", "string", StringTensorType([None, len(d["texts"])]))]
    ints = CARS_INTS if layout == "int" else d["ints"] if layout in INT_LAYOUTS else []
    out = []
    for c in d["numbers"] + [c for c in ints if c not in d["numbers"]]:
        if c in ints:
            out.append((c, "int64", Int64TensorType([None, 1])))
        else:
            out.append((c, "float", FloatTensorType([None, 1])))
    return out + [(c, "string", StringTensorType([None, 1])) for c in d["texts"]]


def input_columns(layout: str, d: dict[str, Any], name: str) -> list[str]:
    """The frame's columns behind one graph input."""
    if name == "X":
        return d["numbers"] if layout == "mx" else d["texts"]
    return [name]


def pipeline_frames(layout: str, d: dict[str, Any], frame: pd.DataFrame, nan_texts: list[str] = ()) -> Any:
    """What scikit-learn is fitted on / predicts from for this layout: the inputs' columns, in the frame's order,
    integer columns as int64 (unless a value is missing), and the nan_texts' missing categories as NaN."""
    if layout == "mx":
        return frame[d["numbers"]].to_numpy(dtype=np.float64)
    if layout == "mxtext":
        return frame[d["texts"]].to_numpy(dtype=object)
    inputs = pipeline_inputs(layout, d)
    names = {n for n, _, _ in inputs}
    frame = frame[[c for c in frame.columns if c in names]].copy()
    for name, kind, _ in inputs:
        if kind == "int64" and frame[name].notna().all():
            frame[name] = frame[name].astype(np.int64)
    for c in nan_texts:
        frame[c] = frame[c].where(frame[c] != MISSING_TEXT, np.nan)
    return frame


def pipeline_feeds(inputs: list[tuple[str, str, Any]], d: dict[str, Any], frame: pd.DataFrame) -> dict[str, Any]:
    feeds = {}
    for name, kind, _ in inputs:
        cols = d["numbers"] if (name == "X" and kind == "float") else d["texts"] if name == "X" else [name]
        block = frame[cols]
        if kind == "string":
            feeds[name] = block.to_numpy(dtype=object).astype(str).astype(object)
        elif kind == "int64":
            values = block.to_numpy(dtype=np.float64)
            feeds[name] = np.full(values.shape, INT64_MISSING, dtype=np.int64)
            known = ~np.isnan(values)
            feeds[name][known] = values[known].astype(np.int64)
        else:
            feeds[name] = block.to_numpy(dtype=np.float32)
    return feeds


def pipeline_rows(inputs: list[tuple[str, str, Any]], feeds: dict[str, Any]) -> dict[str, list[Any]]:
    """expected.json's rows: per input, one value per row ([N, 1]) or one list per row ([N, K]); null = missing."""
    rows = {}
    for name, kind, t in inputs:
        block = feeds[name]
        if kind == "int64":
            values = [[None if v == INT64_MISSING else int(v) for v in r] for r in block]
        else:
            values = [[row_value(v, kind == "string") for v in r] for r in block]
        rows[name] = [r[0] for r in values] if t.shape[1] == 1 else values
    return rows


def session(onx) -> ort.InferenceSession:
    return ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])


def run_pipeline(onx, feeds, classes: list[Any] | None = None):
    """The output names and values; ZipMap's list of {class: probability} as a matrix in the classes' order."""
    sess = onx if isinstance(onx, ort.InferenceSession) else session(onx)
    names = [o.name for o in sess.get_outputs()]
    outs = sess.run(names, feeds)
    if len(outs) == 2 and isinstance(outs[1], list):
        assert classes is not None and [str(k) for k in outs[1][0]] == [str(c) for c in classes], "ZipMap's classes"
        outs[1] = np.array([[p[c] for c in classes] for p in outs[1]], dtype=np.float32)
    return names, outs


def agreement(outs, model, x_skl, classifier) -> np.ndarray:
    """Per row: onnxruntime's answer is scikit-learn's (labels equal, probabilities within 1e-5, values 1e-4)."""
    if classifier:
        labels, probs = outs
        close = np.isclose(probs, model.predict_proba(x_skl), rtol=0, atol=1e-5).all(axis=1)
        return (labels == model.predict(x_skl)) & close
    return np.isclose(outs[0].reshape(-1), model.predict(x_skl), rtol=1e-4, atol=1e-3)


def prep_session(model, inputs) -> ort.InferenceSession:
    """The exported preprocessing alone (everything before the head)."""
    return session(convert_sklearn(model[:-1], initial_types=[(n, t) for n, _, t in inputs], target_opset=TARGET_OPSET))


def two_steps(prep_sess, model, feeds, outs, x_skl, classifier, nan_as=None) -> tuple[np.ndarray, np.ndarray]:
    """Per row, as train.py checks: (the exported preprocessing gives scikit-learn's feature vector within float32
    rounding, scikit-learn's head answers onnxruntime's answer on onnxruntime's own vector). A whole pipeline can
    differ from scikit-learn where a float32 value lands on a threshold; these two steps cannot. nan_as: what a NaN
    feature is to the exported trees (they send it down the false branch, i.e. above every threshold, where
    scikit-learn's go the way they learnt)."""
    _, (vectors,) = run_pipeline(prep_sess, feeds)
    vectors = vectors.astype(np.float64)
    if nan_as is not None:
        vectors = np.where(np.isnan(vectors), nan_as, vectors)
    reference = model[:-1].transform(x_skl).astype(np.float64)
    close = np.isclose(vectors, reference, atol=1e-4, equal_nan=True).all(axis=1)
    return close, agreement(outs, model[-1], vectors, classifier)


def probe(sess, prep_sess, model, layout, d, inputs, nan_texts, classes) -> tuple[list[str], ...]:
    """Tries, on every complete training row, each input missing (NaN, '', an int64 as INT64_MISSING) and each text
    input unseen. Answers four lists of inputs: missing_ok, where a missing value gets scikit-learn's feature vector
    for it (within float32 rounding) and scikit-learn's answer on every row (the whole pipeline's, or its head's on
    onnxruntime's vector: float32 rounding can move a feature across a histogram-boosting threshold either way);
    missing_differs, where onnxruntime answers something else (float and text inputs only: an int64 has no
    missing value but the Imputer's marker); refused, where onnxruntime fails the Run (a constant the encoder
    never saw); unknown_ok, the text inputs where an unseen category gets an answer rather than an error."""
    texts = set(d["texts"])
    base = d["train"]
    known = np.ones(len(base), dtype=bool)
    for n, _, _ in inputs:
        for c in input_columns(layout, d, n):
            known &= (base[c] != MISSING_TEXT).to_numpy() if c in texts else base[c].notna().to_numpy()
    base = base[known].reset_index(drop=True)
    classifier = classes is not None

    def answers(frame):
        feeds = pipeline_feeds(inputs, d, frame)
        try:
            _, outs = run_pipeline(sess, feeds, classes)
        except Exception:  # noqa: BLE001 - onnxruntime refuses it
            return None
        x_skl = pipeline_frames(layout, d, frame, nan_texts)
        try:
            close, head_same = two_steps(prep_sess, model, feeds, outs, x_skl, classifier)
            same = agreement(outs, model, x_skl, classifier)
        except ValueError:  # scikit-learn refuses it
            return np.zeros(len(frame), dtype=bool)
        return close & (same | head_same)

    assert answers(base).all(), "the complete training rows"
    missing_ok, differs, refused, unknown_ok = [], [], [], []
    for name, kind, _ in inputs:
        status = "ok"
        for c in input_columns(layout, d, name):
            agree = answers(base.assign(**{c: MISSING_TEXT if c in texts else np.nan}))
            if agree is None:
                status = "error"
                break
            if not agree.all():
                status = "differs"
        if status == "ok":
            missing_ok.append(name)
        elif status == "differs" and kind != "int64":
            differs.append(name)
        elif status == "error":
            refused.append(name)
        if kind == "string":
            unseen = {c: d["unseen"][c] for c in input_columns(layout, d, name)}
            if all(answers(base.assign(**{c: v})) is not None for c, v in unseen.items()):
                unknown_ok.append(name)
    return missing_ok, differs, refused, unknown_ok


def coverage_rows(layout, d, test, missing_ok, differs, refused, unknown_ok) -> list[dict[str, Any]]:
    """Made-up rows (from the first held-out row) for what the test rows do not show yet: every missing_ok input
    missing at once, each missing_differs input missing, each input whose missing value onnxruntime refuses
    missing alone (an error row), an unseen category in each unknown_ok input. test: the rows kept so far."""
    texts = set(d["texts"])
    null = {c: MISSING_TEXT if c in texts else np.nan for c in test.columns}
    is_null = {c: (test[c] == MISSING_TEXT if c in texts else test[c].isna()).to_numpy() for c in test.columns}
    first, rows = d["first"], []
    ok = [c for n in missing_ok for c in input_columns(layout, d, n)]
    if ok and not np.logical_and.reduce([is_null[c] for c in ok]).any():
        rows.append({**first, **{c: null[c] for c in ok}})
    wrong = [c for n in differs for c in input_columns(layout, d, n)]
    if any(not is_null[c].any() for c in wrong):
        rows.append({**first, **{c: null[c] for c in wrong}})
    for c in [c for n in refused for c in input_columns(layout, d, n)]:
        rows.append({**first, c: null[c]})
    for c in [c for n in unknown_ok for c in input_columns(layout, d, n)]:
        if not (test[c] == d["unseen"][c]).any():
            rows.append({**first, c: d["unseen"][c]})
    return rows


def check_pipeline(name, prep_sess, model, outs, feeds, x_skl, classifier, nan_as=None) -> list[int]:
    """Checks onnxruntime against scikit-learn in two steps (two_steps, as train.py does): the exported
    preprocessing against scikit-learn's up to float32 rounding, the head on onnxruntime's own feature vectors
    exactly. Answers the rows on which the whole pipeline differs from scikit-learn (a value on a tree threshold
    or a bin edge: float32 against double)."""
    close, head_same = two_steps(prep_sess, model, feeds, outs, x_skl, classifier, nan_as)
    same = agreement(outs, model, x_skl, classifier)
    assert (head_same | same).all(), f"{name}: rows {np.flatnonzero(~head_same & ~same)} differ from scikit-learn"
    return [int(i) for i in np.flatnonzero(~same | ~close)]


def pipeline_zoo() -> None:
    PIPELINES_OUT.mkdir(parents=True, exist_ok=True)
    ort.set_default_logger_severity(4)  # the handle_unknown='error' runs fail on purpose: no log lines
    warnings.filterwarnings("ignore", message="Bins whose width are too small")  # cars' cylinders: fewer bins
    warnings.filterwarnings("ignore", message="invalid value encountered in cast")  # skl2onnx: int64(NaN), on purpose
    expected: dict[str, Any] = {}
    attempted, failed = 0, []
    data = {ds: pipeline_data(ds) for ds in ("penguins", "cars")}
    for ds, layout, num, cat, heads in PIPELINE_CASES:
        d = data[ds]
        for spec in heads:
            head_name, *variants = spec.split("+")
            target, make_head = PIPELINE_HEADS[head_name]
            name = "_".join([ds, layout] + [p for p in (num, cat) if p] + [head_name] + variants)
            assert name not in expected, name
            attempted += 1
            head = make_head()
            if layout == "mx":
                model = Pipeline(num_steps(num) + [("head", head)])
            elif layout == "mxtext":
                model = Pipeline(text_steps(cat) + [("head", head)])
            else:
                model = common_pipe(layout, d["numbers"], d["texts"], num, cat, head, d["ints"])
            inputs = pipeline_inputs(layout, d)
            nan_texts = d["texts"] if cat in TEXT_NAN else []
            model.fit(pipeline_frames(layout, d, d["train"], nan_texts), d["targets"][target])
            classifier = target != "mpg"
            classes = list(head.classes_) if classifier else None
            zipmap = "zipmap" in variants
            options = {id(head): {"zipmap": False}} if classifier and not zipmap else None
            opset = next((PIPELINE_OPSETS[v] for v in variants if v in PIPELINE_OPSETS), TARGET_OPSET)
            onx = convert_sklearn(model, name=name, initial_types=[(n, t) for n, _, t in inputs], options=options,
                                  target_opset=opset)
            onx.producer_version = skl2onnx.__version__
            onx = tidy(onx, name)
            sess, prep_sess = session(onx), prep_session(model, inputs)
            missing_ok, differs, refused, unknown_ok = probe(sess, prep_sess, model, layout, d, inputs, nan_texts,
                                                             classes)

            test = d["test"]
            no_null = [n for n, k, _ in inputs if k == "int64" and n not in missing_ok]
            if no_null:  # an int64 input that nothing imputes has no missing value
                test = test[test[no_null].notna().all(axis=1)].reset_index(drop=True)
            keep, errors = [], []

            def classify(start):  # onnxruntime answers the row, or fails the whole Run
                for i in range(start, len(test)):
                    try:
                        run_pipeline(sess, pipeline_feeds(inputs, d, test.iloc[i : i + 1]), classes)
                    except Exception as e:  # noqa: BLE001 - recorded in error_rows
                        errors.append((i, str(e)))
                    else:
                        keep.append(i)

            classify(0)
            extra = coverage_rows(layout, d, test.iloc[keep], missing_ok, differs, refused, unknown_ok)
            if extra:
                n = len(test)
                test = pd.concat([test, pd.DataFrame(extra)], ignore_index=True)
                classify(n)
            rows = test.iloc[keep].reset_index(drop=True)
            uses_text = layout != "mx"
            unknown = [i for i in range(len(rows)) if uses_text and any(
                rows.iloc[i][c] == v for c, v in d["unseen"].items())]
            feeds = pipeline_feeds(inputs, d, rows)
            names, outs = run_pipeline(sess, feeds, classes)

            # scikit-learn's side: a missing category as NaN where the encoders took NaN and the graph answers
            # as they do; a missing number as F32_MAX for trees whose export lost where NaN goes.
            sk_rows, nan_as = rows.copy(), None
            if any(k == "float" and n in differs for n, k, _ in inputs):
                floats = [c for n, k, _ in inputs if k == "float" for c in input_columns(layout, d, n)]
                sk_rows[floats] = sk_rows[floats].fillna(F32_MAX)
                nan_as = F32_MAX
            sk_nan = [c for c in nan_texts if c in missing_ok]
            sk_ok = []
            for i in range(len(rows)):
                try:
                    model.predict(pipeline_frames(layout, d, sk_rows.iloc[i : i + 1], sk_nan))
                except ValueError:  # an unseen category scikit-learn refuses
                    continue
                sk_ok.append(i)
            x_skl = pipeline_frames(layout, d, sk_rows.iloc[sk_ok], sk_nan)
            sub_feeds = {k: v[sk_ok] for k, v in feeds.items()}
            differ = check_pipeline(name, prep_sess, model, [o[sk_ok] for o in outs], sub_feeds, x_skl, classifier,
                                    nan_as)
            entry: dict[str, Any] = {
                "inputs": [{"name": n, "type": k, "shape": [None, t.shape[1]]} for n, k, t in inputs],
                "rows": pipeline_rows(inputs, feeds),
                "outputs": names,
                "ops": sorted({f"{n.domain or 'ai.onnx'}:{n.op_type}" for n in onx.graph.node}),
                "unknown_category_rows": unknown,
                "missing_ok": missing_ok,
                "missing_differs": differs,
                "unknown_ok": unknown_ok,
            }
            if classifier:
                labels, probs = outs
                entry["labels"] = [v if isinstance(v, str) else int(v) for v in labels.tolist()]
                entry["probabilities"] = np.asarray(probs, dtype=np.float64).tolist()
            else:
                entry["values"] = np.asarray(outs[0], dtype=np.float64).reshape(-1).tolist()
            if errors:
                entry["error_rows"] = []
                for i, message in errors:
                    feed = pipeline_feeds(inputs, d, test.iloc[i : i + 1])
                    entry["error_rows"].append({
                        "inputs": {k: v[0] for k, v in pipeline_rows(inputs, feed).items()}, "error": message})
            (PIPELINES_OUT / f"{name}.onnx").write_bytes(onx.SerializeToString())
            expected[name] = entry
            note = f"; {len(differ)} rows differ from scikit-learn (float32 on a threshold): {differ}" if differ else ""
            print(f"{name}: {len(keep)} rows, {len(errors)} error rows, missing ok {missing_ok}, differs {differs}, "
                  f"unknown ok {unknown_ok}, {entry['ops']}{note}")
    for ds in ("penguins", "cars"):
        d = data[ds]
        y = d["targets"]["species" if ds == "penguins" else "mpg"]
        inputs = pipeline_inputs("cols", d)
        for case, (model, marker) in failing_cases(d["numbers"], d["texts"], ds == "penguins").items():
            if ds == "cars" and case == "target_encoder_multiclass":
                continue  # a regression target: only the multiclass case fails
            attempted += 1
            name = f"{ds}_{case}"
            x = pipeline_frames("cols", d, d["train"])
            if marker == "nan":  # the text imputer keyed on np.nan: missing categories as NaN
                for c in d["texts"]:
                    x[c] = x[c].where(x[c] != MISSING_TEXT, np.nan)
            try:
                model.fit(x, y)
                onx = convert_sklearn(model, initial_types=[(n, t) for n, _, t in inputs],
                                      options={id(model[-1]): {"zipmap": False}} if ds == "penguins" else None,
                                      target_opset=TARGET_OPSET)
            except Exception as e:  # noqa: BLE001 - recorded and reported
                reason = f"{type(e).__name__}: {str(e).splitlines()[0][:160]}"
                failed.append((name, reason))
                print(f"{name}: NOT CONVERTED: {reason}")
                continue
            _, outs = run_pipeline(onx, pipeline_feeds(inputs, d, x))
            if ds == "penguins":
                agree = float(np.mean(outs[0] == model.predict(x)))
            else:
                agree = float(np.mean(np.isclose(outs[0].reshape(-1), model.predict(x), rtol=1e-4, atol=1e-3)))
            assert agree < 0.99, f"{name} converts and agrees: add it to PIPELINE_CASES"
            failed.append((name, f"converts, but onnxruntime agrees with scikit-learn on {agree:.0%} of the "
                                 "training rows (categorical splits are exported as numeric ones)"))
            print(f"{name}: CONVERTED WRONGLY: answers agree on {agree:.0%} of the training rows")
        inputs = pipeline_inputs("icols", d)
        for case, model in int_failing_cases(d, ds == "penguins").items():
            attempted += 1
            name = f"{ds}_{case}"
            try:
                model.fit(pipeline_frames("icols", d, d["train"]), y)
                convert_sklearn(model, initial_types=[(n, t) for n, _, t in inputs], target_opset=TARGET_OPSET)
            except Exception as e:  # noqa: BLE001 - recorded and reported
                reason = f"{type(e).__name__}: {str(e).splitlines()[0][:160]}"
                failed.append((name, reason))
                print(f"{name}: NOT CONVERTED: {reason}")
                continue
            raise AssertionError(f"{name} converts: add it to PIPELINE_CASES")
    (PIPELINES_OUT / "expected.json").write_text(json.dumps(expected, indent=0, sort_keys=True) + "\n")
    print(f"pipeline zoo: {len(expected)} of {attempted} pipelines written; not exported: {len(failed)}")


def main() -> None:
    wanted = set(sys.argv[1:]) or {"models", "pipelines"}
    if "models" in wanted:
        model_zoo()
    if "pipelines" in wanted:
        pipeline_zoo()


if __name__ == "__main__":
    main()
