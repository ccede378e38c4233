"""Train and export every model shipped in models/.

For each model this script writes, under models/<name>/:
  model.onnx   - the exported graph (checked with onnxruntime before it is saved)
  card.toml    - what the API serves about the model: features, ranges, labels,
                 examples, provenance (including the held-out metric)
  golden.json  - held-out rows with the outputs onnxruntime produced at export time, each with its
                 SHAP explanation (explain.py)
  background.csv - the training rows the API explains predictions against
  reference.json - how the training rows and the model's answers on them are distributed (reference.py)

Every dataset ships inside a package (scikit-learn, palmerpenguins,
vega_datasets), so nothing is downloaded. Seeds are fixed and the exporter's
random names are replaced, so running the script twice writes the same bytes.

Two kinds of model: iris, wine, diabetes, cancer and diabetes-trees take one
float matrix input (SPECS, train_one); penguins and cars are pipelines fitted
on a pandas DataFrame with missing values and text columns, exported with one
graph input per column (FRAME_SPECS, train_frame).

Usage (from the repository root):
    python3 -m venv .venv-train
    .venv-train/bin/pip install -r models/train/requirements.txt
    .venv-train/bin/python models/train/train.py
"""
from __future__ import annotations

import datetime
import importlib.metadata
import json
import math
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import onnx
import pandas as pd
import onnxruntime as ort
import skl2onnx
import sklearn
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType, StringTensorType
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris, load_wine
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import accuracy_score, mean_absolute_error, r2_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import explain  # models/train/explain.py
import reference  # models/train/reference.py

MODELS_DIR = Path(__file__).resolve().parent.parent
SEED = 42
TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}
INPUT_NAME = "input"
# shap's explanations are checked against exact Shapley values (2^columns subsets) for heads this narrow.
BRUTE_FORCE_COLUMNS = 13
# Written into each card's provenance: the day of the run (SOURCE_DATE_EPOCH,
# the reproducible-builds convention, fixes it) and the revision of this code
# (with "+changes" when the models tree differs from that commit).
TRAINED = datetime.datetime.fromtimestamp(
    int(os.environ.get("SOURCE_DATE_EPOCH", datetime.datetime.now(datetime.timezone.utc).timestamp())),
    datetime.timezone.utc,
).date().isoformat()


def code_version() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             check=True, cwd=MODELS_DIR).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "."], capture_output=True, text=True,
                               check=True, cwd=MODELS_DIR).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return rev + ("+changes" if dirty else "")


CODE_VERSION = code_version()


@dataclass
class Feature:
    name: str
    label: str
    unit: str
    description: str
    min: float
    max: float
    step: float
    choices: list[tuple[float, str]] = field(default_factory=list)


@dataclass
class Spec:
    name: str
    title: str
    description: str
    version: str
    task: str  # "classification" | "regression"
    dataset: str
    load: Callable[[], tuple[np.ndarray, np.ndarray]]
    features: list[Feature]
    build: Callable[[], Any]
    test_size: float
    classes: list[str] = field(default_factory=list)
    output_name: str = ""
    output_unit: str = ""
    output_description: str = ""
    # (label, k): classification uses the first held-out row of class k,
    # regression the k-th held-out row.
    examples: list[tuple[str, int]] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)


def iris_data() -> tuple[np.ndarray, np.ndarray]:
    d = load_iris()
    return d.data.astype(np.float32), d.target.astype(np.int64)


def wine_data() -> tuple[np.ndarray, np.ndarray]:
    d = load_wine()
    return d.data.astype(np.float32), d.target.astype(np.int64)


def cancer_data() -> tuple[np.ndarray, np.ndarray]:
    d = load_breast_cancer()
    # sklearn codes 0 = malignant, 1 = benign; the card's classes follow that order.
    return d.data.astype(np.float32), d.target.astype(np.int64)


def cancer_features() -> list[Feature]:
    d = load_breast_cancer()
    x = d.data
    features = []
    for i, raw in enumerate(d.feature_names):
        name = raw.replace(" ", "_")
        hi = float(x[:, i].max())
        top = float(f"{hi * 1.5:.2g}") if hi > 0 else 1.0
        step = float(f"{max(hi / 1000, 1e-4):.1g}")
        if raw.endswith(" error"):
            kind, what = "error", raw[: -len(" error")]
        else:
            kind, what = raw.split(" ", 1)  # "mean …" or "worst …"
        descr = {
            "mean": f"Mean {what} of the cell nuclei in the image.",
            "error": f"Standard error of the {what} of the cell nuclei.",
            "worst": f"Mean of the three largest values of the nuclei's {what}.",
        }[kind]
        features.append(Feature(name, raw.capitalize(), "", descr, 0.0, top, step))
    return features


def diabetes_features() -> list[Feature]:
    return [
            Feature("age", "Age", "years", "Age at the baseline visit.", 18.0, 90.0, 1.0),
            Feature(
                "sex", "Sex", "", "Sex as coded in the study; the dataset does not say which code is which.",
                1.0, 2.0, 1.0, choices=[(1.0, "Group 1"), (2.0, "Group 2")],
            ),
            Feature("bmi", "Body-mass index", "kg/m²", "Body-mass index.", 15.0, 50.0, 0.1),
            Feature("bp", "Blood pressure", "mm Hg", "Average blood pressure.", 50.0, 140.0, 0.1),
            Feature("s1", "Total cholesterol", "mg/dL", "Total serum cholesterol (tc).", 90.0, 320.0, 1.0),
            Feature("s2", "LDL cholesterol", "mg/dL", "Low-density lipoproteins (ldl).", 40.0, 250.0, 0.1),
            Feature("s3", "HDL cholesterol", "mg/dL", "High-density lipoproteins (hdl).", 20.0, 100.0, 1.0),
            Feature("s4", "Cholesterol / HDL", "ratio", "Total cholesterol divided by HDL (tch).", 1.0, 10.0, 0.01),
            Feature("s5", "Log triglycerides", "log mg/dL", "Natural log of serum triglycerides (ltg).", 3.0, 6.5, 0.0001),
            Feature("s6", "Blood sugar", "mg/dL", "Blood glucose level (glu).", 55.0, 130.0, 1.0),
        ]


def diabetes_data() -> tuple[np.ndarray, np.ndarray]:
    d = load_diabetes(scaled=False)
    return d.data.astype(np.float32), d.target.astype(np.float32)


def iris_pipeline() -> Pipeline:
    return Pipeline(
        [
            ("scaler", StandardScaler()),
            ("clf", LogisticRegression(max_iter=1000, random_state=SEED)),
        ]
    )


def cm(name: str, label: str, what: str, lo: float, hi: float) -> Feature:
    return Feature(name, label, "cm", what, lo, hi, 0.1)


SPECS = [
    Spec(
        name="iris",
        title="Iris species",
        description=(
            "Predicts the species of an iris flower from four measurements of its "
            "sepals and petals. Logistic regression on standardised features, "
            "trained on Fisher's 1936 iris data."
        ),
        version="1.0.0",
        task="classification",
        dataset="sklearn.datasets.load_iris (Fisher, 1936; 150 flowers, 3 species)",
        load=iris_data,
        build=iris_pipeline,
        test_size=0.2,
        features=[
            cm("sepal_length", "Sepal length", "Length of the sepal, the green leaf under the petals.", 0.1, 10.0),
            cm("sepal_width", "Sepal width", "Width of the sepal at its widest point.", 0.1, 6.0),
            cm("petal_length", "Petal length", "Length of the petal.", 0.1, 10.0),
            cm("petal_width", "Petal width", "Width of the petal at its widest point.", 0.1, 4.0),
        ],
        classes=["setosa", "versicolor", "virginica"],
        examples=[("Setosa-like flower", 0), ("Versicolor-like flower", 1), ("Virginica-like flower", 2)],
        options={StandardScaler: {"div": "div"}, LogisticRegression: {"zipmap": False}},
    ),
    Spec(
        name="wine",
        title="Wine cultivar",
        description=(
            "Tells which of three Italian grape cultivars a wine was made from, using "
            "13 results of its chemical analysis. A 50-tree random forest."
        ),
        version="1.0.0",
        task="classification",
        dataset="sklearn.datasets.load_wine (UCI Wine, Forina et al.; 178 wines from one region of Italy)",
        load=wine_data,
        build=lambda: RandomForestClassifier(
            n_estimators=50, max_depth=6, random_state=SEED, n_jobs=1
        ),
        test_size=0.25,
        features=[
            Feature("alcohol", "Alcohol", "% vol", "Alcohol content by volume.", 10.0, 16.0, 0.01),
            Feature("malic_acid", "Malic acid", "g/L", "Malic acid concentration.", 0.5, 7.0, 0.01),
            Feature("ash", "Ash", "g/L", "Ash (the inorganic residue after burning).", 1.0, 4.0, 0.01),
            Feature("alcalinity_of_ash", "Alcalinity of ash", "meq/L", "Alkalinity of the ash.", 8.0, 32.0, 0.1),
            Feature("magnesium", "Magnesium", "mg/L", "Magnesium concentration.", 60.0, 170.0, 1.0),
            Feature("total_phenols", "Total phenols", "g/L", "Total phenolic compounds.", 0.5, 4.5, 0.01),
            Feature("flavanoids", "Flavanoids", "g/L", "Flavanoid phenols.", 0.2, 6.0, 0.01),
            Feature("nonflavanoid_phenols", "Non-flavanoid phenols", "g/L", "Non-flavanoid phenols.", 0.05, 1.0, 0.01),
            Feature("proanthocyanins", "Proanthocyanins", "g/L", "Proanthocyanins (condensed tannins).", 0.2, 4.0, 0.01),
            Feature("color_intensity", "Colour intensity", "AU", "Absorbance-based colour intensity.", 1.0, 14.0, 0.01),
            Feature("hue", "Hue", "ratio", "Hue, as an absorbance ratio.", 0.4, 2.0, 0.01),
            Feature("od280_od315", "OD280/OD315", "ratio", "OD280/OD315 of diluted wine: protein content.", 1.0, 4.5, 0.01),
            Feature("proline", "Proline", "mg/L", "Proline (an amino acid) concentration.", 250.0, 1800.0, 1.0),
        ],
        classes=["cultivar_1", "cultivar_2", "cultivar_3"],
        examples=[("Wine from cultivar 1", 0), ("Wine from cultivar 2", 1), ("Wine from cultivar 3", 2)],
        options={RandomForestClassifier: {"zipmap": False}},
    ),
    Spec(
        name="diabetes",
        title="Diabetes progression",
        description=(
            "Estimates how far diabetes will have progressed one year after a baseline "
            "visit, from age, sex, body-mass index, blood pressure and six blood-serum "
            "measurements. Ordinary least-squares linear regression."
        ),
        version="1.0.0",
        task="regression",
        dataset="sklearn.datasets.load_diabetes(scaled=False) (Efron et al., 2004; 442 patients)",
        load=diabetes_data,
        build=LinearRegression,
        test_size=0.2,
        features=diabetes_features(),
        output_name="progression",
        output_unit="points",
        output_description="Quantitative measure of disease progression one year after baseline (the training targets span 25 to 346).",
        examples=[("Patient A", 0), ("Patient B", 1), ("Patient C", 2)],
    ),
    Spec(
        name="cancer",
        title="Breast tumour diagnosis",
        description=(
            "Tells a malignant breast tumour from a benign one using 30 measurements of cell "
            "nuclei in a digitised image of a fine-needle aspirate. Gradient-boosted trees, "
            "exported with skl2onnx's default options (ZipMap included)."
        ),
        version="1.0.0",
        task="classification",
        dataset="sklearn.datasets.load_breast_cancer (Wisconsin Diagnostic Breast Cancer; 569 tumours)",
        load=cancer_data,
        build=lambda: GradientBoostingClassifier(n_estimators=100, max_depth=3, random_state=SEED),
        test_size=0.2,
        features=cancer_features(),
        classes=["malignant", "benign"],
        examples=[("Malignant tumour", 0), ("Benign tumour", 1)],
    ),
    Spec(
        name="diabetes-trees",
        title="Diabetes progression (boosted trees)",
        description=(
            "The diabetes progression estimate from gradient-boosted regression trees instead "
            "of a straight line; exported with skl2onnx's default options."
        ),
        version="1.0.0",
        task="regression",
        dataset="sklearn.datasets.load_diabetes(scaled=False) (Efron et al., 2004; 442 patients)",
        load=diabetes_data,
        build=lambda: GradientBoostingRegressor(n_estimators=100, max_depth=3, learning_rate=0.05, random_state=SEED),
        test_size=0.2,
        features=diabetes_features(),
        output_name="progression",
        output_unit="points",
        output_description="Quantitative measure of disease progression one year after baseline (the training targets span 25 to 346).",
        examples=[("Patient A", 0), ("Patient B", 1), ("Patient C", 2)],
    ),
]


def export(spec: Spec, model: Any, n_features: int) -> onnx.ModelProto:
    options = {}
    for step in model.named_steps.values() if isinstance(model, Pipeline) else [model]:
        opts = spec.options.get(type(step))
        if opts:
            options[id(step)] = opts
    onx = convert_sklearn(
        model,
        name=spec.name,
        initial_types=[(INPUT_NAME, FloatTensorType([None, n_features]))],
        options=options or None,
        target_opset=TARGET_OPSET,
    )
    onx.producer_version = skl2onnx.__version__
    return tidy(onx, spec.name)


def tidy(onx: onnx.ModelProto, name: str) -> onnx.ModelProto:
    """Makes an export reproducible and checks it.

    skl2onnx writes the default domain twice in opset_import and gives the
    graph a random name; keep one entry per domain and a stable name so the
    bytes are the same on every run.
    """
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


def run_onnx(onx: onnx.ModelProto, x: np.ndarray) -> dict[str, np.ndarray]:
    sess = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, {INPUT_NAME: x})))


def toml_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def toml_num(v: float) -> str:
    if float(v).is_integer() and abs(v) < 1e15:
        return f"{v:.1f}"
    return repr(float(v))


def f32(v: float) -> float:
    """The shortest decimal that reads back as the same float32 (25.8, not 25.799999237060547)."""
    return float(str(np.float32(v)))


def round_to_step(v: float, step: float) -> float:
    decimals = max(0, -int(math.floor(math.log10(step))))
    return round(round(v / step) * step, decimals)


def card_toml(spec: Spec, outputs: list[str], metrics: dict[str, float], examples: list[tuple[str, list[float]]],
              n_train: int, n_test: int, defaults: list[float]) -> str:
    lines = [
        "# Generated by models/train/train.py; edit the script, not this file.",
        f"name = {toml_str(spec.name)}",
        f"title = {toml_str(spec.title)}",
        f"description = {toml_str(spec.description)}",
        f"version = {toml_str(spec.version)}",
        f"task = {toml_str(spec.task)}",
    ]
    if spec.task == "classification":
        lines.append(f"classes = [{', '.join(toml_str(c) for c in spec.classes)}]")
    lines += ["", "[onnx]", f"input = {toml_str(INPUT_NAME)}"]
    if spec.task == "classification":
        lines.append(f"label_output = {toml_str(outputs[0])}")
        lines.append(f"probabilities_output = {toml_str(outputs[1])}")
    else:
        lines.append(f"value_output = {toml_str(outputs[0])}")
    if spec.task == "regression":
        lines += [
            "",
            "[output]",
            f"name = {toml_str(spec.output_name)}",
            f"unit = {toml_str(spec.output_unit)}",
            f"description = {toml_str(spec.output_description)}",
            f"min = {toml_num(metrics['target_min'])}",
            f"max = {toml_num(metrics['target_max'])}",
        ]
    for f, default in zip(spec.features, defaults):
        lines += [
            "",
            "[[features]]",
            f"name = {toml_str(f.name)}",
            f"label = {toml_str(f.label)}",
            f"unit = {toml_str(f.unit)}",
            f"description = {toml_str(f.description)}",
            f"min = {toml_num(f.min)}",
            f"max = {toml_num(f.max)}",
            f"step = {toml_num(f.step)}",
            f"default = {toml_num(default)}",
        ]
        if f.choices:
            lines.append(
                "choices = ["
                + ", ".join(f"{{ value = {toml_num(v)}, label = {toml_str(lbl)} }}" for v, lbl in f.choices)
                + "]"
            )
    for label, values in examples:
        lines += ["", "[[examples]]", f"label = {toml_str(label)}", "values = { " + ", ".join(
            f"{f.name} = {toml_num(v)}" for f, v in zip(spec.features, values)) + " }"]
    lines += [
        "",
        "[provenance]",
        f"dataset = {toml_str(spec.dataset)}",
        'script = "models/train/train.py"',
        f"trained = {toml_str(TRAINED)}",
        f"code_version = {toml_str(CODE_VERSION)}",
        f"estimator = {toml_str(spec.estimator_repr)}",
        f"train_rows = {n_train}",
        f"test_rows = {n_test}",
        f"random_state = {SEED}",
        f"libraries = {{ scikit-learn = {toml_str(sklearn.__version__)}, skl2onnx = {toml_str(skl2onnx.__version__)}, "
        f"onnx = {toml_str(onnx.__version__)}, onnxruntime = {toml_str(ort.__version__)} }}",
        "",
        "[provenance.metrics]",
    ]
    for k, v in metrics.items():
        if not k.startswith("target_"):
            lines.append(f"{k} = {round(v, 4)!r}")
    return "\n".join(lines) + "\n"


def split_one(spec: Spec) -> tuple[np.ndarray, ...]:
    """x, y and the split: x_tr, x_te, y_tr, y_te (reference.py rebuilds the training rows with it)."""
    x, y = spec.load()
    stratify = y if spec.task == "classification" else None
    return x, y, *train_test_split(x, y, test_size=spec.test_size, random_state=SEED, stratify=stratify)


def train_one(spec: Spec) -> None:
    x, y, x_tr, x_te, y_tr, y_te = split_one(spec)
    model = spec.build()
    model.fit(x_tr, y_tr)
    spec.estimator_repr = repr(model).replace("\n", "").replace("  ", "")

    n = len(spec.features)
    assert x.shape[1] == n, f"{spec.name}: {x.shape[1]} columns but {n} features"
    for i, f in enumerate(spec.features):
        lo, hi = float(x[:, i].min()), float(x[:, i].max())
        assert f.min <= lo and hi <= f.max, f"{spec.name}.{f.name}: data spans {lo}..{hi}, card {f.min}..{f.max}"

    onx = export(spec, model, n)
    out = run_onnx(onx, x_te)
    names = list(out)
    metrics: dict[str, float] = {}
    if spec.task == "classification":
        label_name, prob_name = names
        labels, probs = out[label_name], matrix_answers(spec, out)
        assert probs.shape == (len(x_te), len(spec.classes)), probs.shape
        # The API serves the argmax of the probabilities as the label: check
        # that it always agrees with the graph's own label output.
        assert (labels == probs.argmax(axis=1)).all(), f"{spec.name}: label != argmax(probabilities)"
        skl = model.predict(x_te)
        assert (labels == skl).all(), f"{spec.name}: onnxruntime labels differ from scikit-learn"
        np.testing.assert_allclose(probs, model.predict_proba(x_te), atol=1e-5)
        metrics["accuracy"] = float(accuracy_score(y_te, labels))
        golden = [
            {"features": dict(zip((f.name for f in spec.features), map(f32, row))),
             "class_index": int(lbl), "label": spec.classes[int(lbl)],
             "probabilities": [float(p) for p in pr]}
            for row, lbl, pr in zip(x_te, labels, probs)
        ]
    else:
        (value_name,) = names
        values = out[value_name].reshape(-1)
        np.testing.assert_allclose(values, model.predict(x_te), rtol=1e-4, atol=1e-3)
        metrics["r2"] = float(r2_score(y_te, values))
        metrics["mae"] = float(mean_absolute_error(y_te, values))
        metrics["target_min"] = float(y.min())
        metrics["target_max"] = float(y.max())
        golden = [
            {"features": dict(zip((f.name for f in spec.features), map(f32, row))), "value": float(v)}
            for row, v in zip(x_te, values)
        ]

    # Examples are held-out rows; defaults are the training medians, snapped to the step.
    def example_row(k: int) -> int:
        return int(np.flatnonzero(y_te == k)[0]) if spec.task == "classification" else k

    examples = [(label, [f32(v) for v in x_te[example_row(k)]]) for label, k in spec.examples]
    defaults = []
    for i, f in enumerate(spec.features):
        med = float(np.median(x_tr[:, i]))
        if f.choices:
            med = min((v for v, _ in f.choices), key=lambda v: abs(v - med))
        defaults.append(round_to_step(med, f.step))

    # Explanations against a background sample of training rows; column j of the head's input is feature j.
    background = x_tr[explain.background_indices(len(x_tr))]
    feature_names = [f.name for f in spec.features]

    def transform(rows: np.ndarray) -> np.ndarray:
        return explain.head_inputs(onx, {INPUT_NAME: rows})

    def bumped(j: int) -> np.ndarray:
        other = background.copy()
        other[:, j] += np.float32(1.0)
        return other

    groups = [[j] for j in range(n)]
    explain.check_groups(transform, background, [bumped(j) for j in range(n)], groups, feature_names)
    explainer = add_explanations(
        spec.name, onx, model.steps[-1][1] if isinstance(model, Pipeline) else model, transform, background,
        matrix_answers(spec, run_onnx(onx, background)), x_te, golden, groups, feature_names, spec.classes,
    )

    target = MODELS_DIR / spec.name
    target.mkdir(parents=True, exist_ok=True)
    (target / "model.onnx").write_bytes(onx.SerializeToString())
    (target / "card.toml").write_text(
        card_toml(spec, names, metrics, examples, len(x_tr), len(x_te), defaults), encoding="utf-8"
    )
    write_golden(target, spec.name, explainer, golden)
    write_background(target, feature_names, [[float(v) for v in row] for row in background])
    reference.write(target, reference.api_rows(feature_names, x_tr), matrix_answers(spec, run_onnx(onx, x_tr)))
    shown = {k: round(v, 4) for k, v in metrics.items() if not k.startswith("target_")}
    print(f"{spec.name}: {len(golden)} golden rows, outputs {names}, {shown}")
    print(f"  explained: {explainer}")


def matrix_answers(spec: Spec, out: dict[str, np.ndarray]) -> np.ndarray:
    """A matrix model's probabilities [N, classes] or values [N], from onnxruntime's outputs."""
    names = list(out)
    if spec.task != "classification":
        return out[names[0]].reshape(-1)
    probs = out[names[1]]
    if isinstance(probs, list):  # a default export's ZipMap: one {class: probability} per row
        probs = np.array([[p[k] for k in sorted(p)] for p in probs], dtype=np.float32)
    return probs


def add_explanations(name: str, onx: onnx.ModelProto, head: Any, transform: Callable[[Any], np.ndarray],
                     background: Any, background_answers: np.ndarray, rows: Any, golden: list[dict[str, Any]],
                     groups: list[list[int]], features: list[str], classes: list[str]) -> dict[str, Any]:
    """Adds an "explanation" to every golden row (explain.py) and returns golden.json's "explainer".

    transform gives the head's input for raw rows, as onnxruntime computes it; background and rows are raw
    rows (rows: the golden rows', in order); groups[i] are the head's columns of card feature i. Checks that the
    head answers the graph's answers for the background and golden rows, that base value plus contributions is
    the explained output, that this output is the graph's probability or value, and, for a narrow head, that
    shap's values are the exact Shapley values.
    """
    x_background = transform(background)
    e = explain.make_explainer(head, onx, x_background)
    explain.check_outputs(e, x_background, background_answers, f"{name}: the background rows")
    x = transform(rows)
    if classes:
        explain.check_outputs(e, x, np.array([g["probabilities"] for g in golden]), f"{name}: the golden rows")
        predicted = [g["class_index"] for g in golden]
    else:
        explain.check_outputs(e, x, np.array([g["value"] for g in golden]), f"{name}: the golden rows")
        predicted = [None] * len(golden)
    for g, explanation in zip(golden, explain.explain(e, x, predicted, groups, features, classes)):
        if explanation["space"] == "probability":
            assert abs(explanation["output"] - g["probabilities"][g["class_index"]]) <= 1e-5, (name, explanation)
        elif explanation["space"] == "value":
            assert abs(explanation["output"] - g["value"]) <= 1e-4 * max(1.0, abs(g["value"])), (name, explanation)
        g["explanation"] = explanation
    if x.shape[1] <= BRUTE_FORCE_COLUMNS:
        explain.check_brute_force(e, x, x_background, predicted, [0, 1, len(golden) - 1], groups, golden, features)
    return e.summary()


def write_golden(target: Path, name: str, explainer: dict[str, Any], golden: list[dict[str, Any]]) -> None:
    (target / "golden.json").write_text(
        json.dumps(
            {"model": name, "source": "onnxruntime " + ort.__version__, "explainer": explainer, "rows": golden},
            indent=1,
        )
        + "\n",
        encoding="utf-8",
    )


def write_background(target: Path, names: list[str], rows: list[list[Any]]) -> None:
    """background.csv: numbers as the shortest decimal that reads back as the same float32 (f32)."""
    (target / "background.csv").write_text(
        explain.background_csv(names, rows, lambda v: str(f32(v))), encoding="utf-8"
    )


# ---------------------------------------------------------------------------
# Models trained from DataFrames: one graph input per column.
#
# skl2onnx exports a ColumnTransformer fitted on a DataFrame with one graph
# input per column, each [N, 1]: a number as float, a category as string. The
# server feeds a missing number as NaN and a missing category as MISSING_TEXT.
# skl2onnx cannot convert a string SimpleImputer whose missing_values is
# np.nan, so the training data marks a missing category with MISSING_TEXT too,
# and the graph's imputers answer what scikit-learn's do.

MISSING_TEXT = ""


@dataclass
class Column:
    """One DataFrame column: one graph input, one card feature."""

    name: str
    label: str
    unit: str
    description: str
    min: float = 0.0  # numbers only: the card's inclusive range and step
    max: float = 0.0
    step: float = 0.0
    text: bool = False  # a category, fed as a string


@dataclass
class FrameSpec:
    name: str
    title: str
    description: str
    version: str
    task: str  # "classification" | "regression"
    dataset: str
    # -> the feature columns (raw: NaN where missing), the target and a name per row for example labels
    load: Callable[[], tuple[pd.DataFrame, pd.Series, pd.Series]]
    columns: list[Column]
    build: Callable[[list[Column]], Pipeline]
    test_size: float
    data_libraries: list[str]  # the packages the data comes from, recorded in the card's provenance
    output_name: str = ""
    output_unit: str = ""
    output_description: str = ""
    # (label, k, blanked): classification uses a held-out row of the k-th class, regression the k-th held-out row
    # or a later one; a row whose `blanked` features are already missing is preferred, otherwise they are
    # blanked (left out). The label may name the row ({name}) and its columns ({year:.0f}).
    examples: list[tuple[str, int, tuple[str, ...]]] = field(default_factory=list)
    # Extra golden rows: the k-th held-out row with these features blanked (() blanks every feature).
    blanked_golden: list[tuple[int, tuple[str, ...]]] = field(default_factory=list)


def frame_pipeline(columns: list[Column], head: Any) -> Pipeline:
    """Numbers: median imputation and standard scaling; categories: most-frequent imputation and one-hot."""
    numbers = [c.name for c in columns if not c.text]
    texts = [c.name for c in columns if c.text]
    prep = ColumnTransformer(
        [
            ("numbers", Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]), numbers),
            (
                "categories",
                Pipeline(
                    [
                        ("impute", SimpleImputer(missing_values=MISSING_TEXT, strategy="most_frequent")),
                        ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
                    ]
                ),
                texts,
            ),
        ]
    )
    return Pipeline([("prep", prep), ("head", head)])


def frame_features(columns: list[Column], raw: pd.DataFrame) -> pd.DataFrame:
    """The training frame: numbers as float32 values (what the graph takes) held in float64, so that
    scikit-learn fits in double on exactly what onnxruntime is fed; categories as str, MISSING_TEXT if missing."""
    out = {}
    for c in columns:
        if c.text:
            out[c.name] = pd.Series(
                [MISSING_TEXT if pd.isna(v) else str(v) for v in raw[c.name]], index=raw.index, dtype=object
            )
        else:
            out[c.name] = raw[c.name].astype(np.float64).astype(np.float32).astype(np.float64)
    return pd.DataFrame(out, index=raw.index)


def is_missing(c: Column, v: Any) -> bool:
    return v == MISSING_TEXT if c.text else bool(np.isnan(v))


def frame_feeds(columns: list[Column], x: pd.DataFrame) -> dict[str, np.ndarray]:
    """onnxruntime's feeds: one [N, 1] tensor per column; NaN and MISSING_TEXT stand for missing values."""
    return {
        c.name: (
            np.array([str(v) for v in x[c.name]], dtype=object)
            if c.text
            else x[c.name].to_numpy(dtype=np.float32)
        ).reshape(-1, 1)
        for c in columns
    }


def column_facts(model: Pipeline) -> dict[str, tuple[bool, list[str] | None, bool]]:
    """Per column, read from the fitted ColumnTransformer: (imputed, the encoder's categories, unknown ignored)."""
    facts = {}
    for _, trans, cols in model.named_steps["prep"].transformers_:
        if isinstance(trans, str):  # "drop" / "passthrough"
            continue
        steps = [s for _, s in trans.steps] if isinstance(trans, Pipeline) else [trans]
        imputers = [s for s in steps if isinstance(s, SimpleImputer)]
        for imp in imputers:
            if imp.statistics_.dtype == object:
                assert imp.missing_values == MISSING_TEXT, "a category's imputer must take the server's marker"
        encoder = next((s for s in steps if isinstance(s, OneHotEncoder)), None)
        for i, col in enumerate(cols):
            cats = [str(v) for v in encoder.categories_[i]] if encoder is not None else None
            facts[col] = (bool(imputers), cats, encoder is not None and encoder.handle_unknown == "ignore")
    return facts


def imputed_values(model: Pipeline) -> dict[str, Any]:
    """What the fitted imputers put in place of a missing value, per column."""
    values = {}
    for _, trans, cols in model.named_steps["prep"].transformers_:
        if isinstance(trans, Pipeline):
            for _, step in trans.steps:
                if isinstance(step, SimpleImputer):
                    values.update(zip(cols, step.statistics_))
    return values


def frame_types(columns: list[Column]) -> list[tuple[str, Any]]:
    """The graph inputs, declared: [N, 1] each, float for a number and string for a category."""
    return [(c.name, StringTensorType([None, 1]) if c.text else FloatTensorType([None, 1])) for c in columns]


def export_frame(spec: FrameSpec, model: Pipeline) -> onnx.ModelProto:
    options = {id(model.steps[-1][1]): {"zipmap": False}} if spec.task == "classification" else None
    onx = convert_sklearn(
        model, name=spec.name, initial_types=frame_types(spec.columns), options=options, target_opset=TARGET_OPSET
    )
    onx.producer_version = skl2onnx.__version__
    return tidy(onx, spec.name)


def run_frame(onx: onnx.ModelProto, columns: list[Column], x: pd.DataFrame) -> dict[str, np.ndarray]:
    sess = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == [c.name for c in columns], "one graph input per column"
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, frame_feeds(columns, x))))


def graph_classes(onx: onnx.ModelProto) -> list[str]:
    """The classifier node's class labels: the order of the probability columns."""
    for node in onx.graph.node:
        for a in node.attribute:
            if a.name == "classlabels_strings":
                return [v.decode() for v in a.strings]
    raise ValueError("no classlabels_strings in the graph")


def frame_card_toml(spec: FrameSpec, outputs: list[str], classes: list[str], facts: dict, defaults: list[Any],
                    examples: list[tuple[str, dict[str, Any]]], metrics: dict[str, float], estimator: str,
                    n_train: int, n_test: int) -> str:
    def value(c: Column, v: Any) -> str:
        return toml_str(v) if c.text else toml_num(v)

    lines = [
        "# Generated by models/train/train.py; edit the script, not this file.",
        f"name = {toml_str(spec.name)}",
        f"title = {toml_str(spec.title)}",
        f"description = {toml_str(spec.description)}",
        f"version = {toml_str(spec.version)}",
        f"task = {toml_str(spec.task)}",
    ]
    if spec.task == "classification":
        lines.append(f"classes = [{', '.join(toml_str(c) for c in classes)}]")
    # No `input`: the graph takes one input per feature, named as the feature.
    lines += ["", "[onnx]"]
    if spec.task == "classification":
        lines.append(f"label_output = {toml_str(outputs[0])}")
        lines.append(f"probabilities_output = {toml_str(outputs[1])}")
    else:
        lines.append(f"value_output = {toml_str(outputs[0])}")
        lines += [
            "",
            "[output]",
            f"name = {toml_str(spec.output_name)}",
            f"unit = {toml_str(spec.output_unit)}",
            f"description = {toml_str(spec.output_description)}",
            f"min = {toml_num(metrics['target_min'])}",
            f"max = {toml_num(metrics['target_max'])}",
        ]
    for c, default in zip(spec.columns, defaults):
        imputed, categories, unknown = facts[c.name]
        lines += [
            "",
            "[[features]]",
            f"name = {toml_str(c.name)}",
            f"label = {toml_str(c.label)}",
            f"unit = {toml_str(c.unit)}",
            f"description = {toml_str(c.description)}",
        ]
        if c.text:
            lines.append(f"categories = [{', '.join(toml_str(v) for v in categories)}]")
        else:
            lines += [f"min = {toml_num(c.min)}", f"max = {toml_num(c.max)}", f"step = {toml_num(c.step)}"]
        lines.append(f"default = {value(c, default)}")
        if imputed:
            lines.append('missing = "allowed"')
        if unknown:
            lines.append('unknown = "allowed"')
    for label, values in examples:
        lines += ["", "[[examples]]", f"label = {toml_str(label)}", "values = { " + ", ".join(
            f"{c.name} = {value(c, values[c.name])}" for c in spec.columns if c.name in values) + " }"]
    libraries = {
        "scikit-learn": sklearn.__version__,
        "skl2onnx": skl2onnx.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": ort.__version__,
        "pandas": pd.__version__,
    }
    for package in spec.data_libraries:  # the installed distribution's version (palmerpenguins' __version__ lags)
        libraries[package] = importlib.metadata.version(package)
    lines += [
        "",
        "[provenance]",
        f"dataset = {toml_str(spec.dataset)}",
        'script = "models/train/train.py"',
        f"trained = {toml_str(TRAINED)}",
        f"code_version = {toml_str(CODE_VERSION)}",
        f"estimator = {toml_str(estimator)}",
        f"train_rows = {n_train}",
        f"test_rows = {n_test}",
        f"random_state = {SEED}",
        "libraries = { " + ", ".join(f"{k} = {toml_str(v)}" for k, v in libraries.items()) + " }",
        "",
        "[provenance.metrics]",
    ]
    for k, v in metrics.items():
        if not k.startswith("target_"):
            lines.append(f"{k} = {round(v, 4)!r}")
    return "\n".join(lines) + "\n"


def check_frame(spec: FrameSpec, model: Pipeline, rows: pd.DataFrame, labels: np.ndarray | None,
                answers: np.ndarray) -> list[int]:
    """Checks onnxruntime's answers (labels and probabilities, or values) against scikit-learn in two steps.

    The graph's preprocessing must give scikit-learn's feature vectors up to float32 rounding, and its head
    must answer exactly what scikit-learn's head answers for the graph's own feature vectors. The whole
    pipeline can differ on a row whose scaled value lands exactly on a tree threshold (integer data: the
    threshold between 2210 and 2220 lb is 2215): onnxruntime scales in float32, scikit-learn in double, and
    the last bit decides the branch. Those rows are returned, so that the script can name them.
    """
    prep, head = model.named_steps["prep"], model.named_steps["head"]
    prep_onx = convert_sklearn(prep, initial_types=frame_types(spec.columns), target_opset=TARGET_OPSET)
    (vectors,) = run_frame(prep_onx, spec.columns, rows).values()
    np.testing.assert_allclose(vectors, prep.transform(rows), atol=1e-5, err_msg=f"{spec.name}: feature vectors")
    vectors = vectors.astype(np.float64)
    if labels is not None:
        assert (labels == head.predict(vectors)).all(), f"{spec.name}: onnxruntime labels differ from scikit-learn"
        np.testing.assert_allclose(answers, head.predict_proba(vectors), atol=1e-5)
        same = (labels == model.predict(rows)) & np.isclose(answers, model.predict_proba(rows), atol=1e-5).all(axis=1)
    else:
        np.testing.assert_allclose(answers, head.predict(vectors), rtol=1e-4, atol=1e-3)
        same = np.isclose(answers, model.predict(rows), rtol=1e-4, atol=1e-3)
    return [int(i) for i in np.flatnonzero(~same)]


def split_frame(spec: FrameSpec) -> tuple[Any, ...]:
    """x, y and the split: x_tr, x_te, y_tr, y_te, names_tr, names_te (reference.py rebuilds the training rows
    with it)."""
    raw, y, row_names = spec.load()
    x = frame_features(spec.columns, raw)
    stratify = y if spec.task == "classification" else None
    return x, y, *train_test_split(x, y, row_names, test_size=spec.test_size, random_state=SEED, stratify=stratify)


def train_frame(spec: FrameSpec) -> None:
    x, y, x_tr, x_te, y_tr, y_te, _, names_te = split_frame(spec)
    model = spec.build(spec.columns)
    model.fit(x_tr, y_tr)
    estimator = repr(model).replace("\n", "").replace("  ", "")
    assert "..." not in estimator, estimator

    for c in spec.columns:
        if not c.text:
            lo, hi = float(x[c.name].min()), float(x[c.name].max())
            assert c.min <= lo and hi <= c.max, f"{spec.name}.{c.name}: data spans {lo}..{hi}, card {c.min}..{c.max}"
    facts = column_facts(model)
    assert set(facts) == {c.name for c in spec.columns}, "every column goes through the ColumnTransformer"

    # The golden rows: every held-out row, then some with features blanked.
    blanked_rows, blanked_names = [], []
    for k, blanked in spec.blanked_golden:
        row = x_te.iloc[[k]].copy()
        names = list(blanked) or [c.name for c in spec.columns]
        for c in spec.columns:
            if c.name in names:
                row[c.name] = MISSING_TEXT if c.text else np.nan
        blanked_rows.append(row)
        blanked_names.append(names)
    rows = pd.concat([x_te, *blanked_rows])
    n_test = len(x_te)

    onx = export_frame(spec, model)
    out = run_frame(onx, spec.columns, rows)
    names = list(out)

    # The graph imputes: feeding the missing markers answers what feeding the imputed values does.
    stats = imputed_values(model)
    filled = rows.copy()
    for c in spec.columns:
        missing = filled[c.name].map(lambda v, c=c: is_missing(c, v))
        if missing.any():
            assert facts[c.name][0], f"{spec.name}.{c.name}: missing values but no imputer"
            filled.loc[missing, c.name] = stats[c.name]
    for name, got in run_frame(onx, spec.columns, filled).items():
        np.testing.assert_array_equal(got, out[name], err_msg=f"{spec.name}: {name} of the imputed rows")

    def features(row: pd.Series) -> dict[str, Any]:
        return {
            c.name: None if is_missing(c, row[c.name]) else (str(row[c.name]) if c.text else f32(row[c.name]))
            for c in spec.columns
        }

    metrics: dict[str, float] = {}
    if spec.task == "classification":
        label_name, prob_name = names
        labels, probs = out[label_name], out[prob_name]
        classes = graph_classes(onx)
        assert classes == [str(c) for c in model.classes_], (classes, model.classes_)
        assert probs.shape == (len(rows), len(classes)), probs.shape
        # The API serves the argmax of the probabilities as the label.
        assert (labels == np.array(classes, dtype=object)[probs.argmax(axis=1)]).all(), "label != argmax"
        on_threshold = check_frame(spec, model, rows, labels, probs)
        metrics["accuracy"] = float(accuracy_score(y_te, labels[:n_test]))
        golden = [
            {"features": features(row), "class_index": classes.index(str(lbl)), "label": str(lbl),
             "probabilities": [float(p) for p in pr]}
            for (_, row), lbl, pr in zip(rows.iterrows(), labels, probs)
        ]
    else:
        (value_name,) = names
        values = out[value_name].reshape(-1)
        on_threshold = check_frame(spec, model, rows, None, values)
        classes = []
        metrics["r2"] = float(r2_score(y_te, values[:n_test]))
        metrics["mae"] = float(mean_absolute_error(y_te, values[:n_test]))
        metrics["target_min"] = float(y.min())
        metrics["target_max"] = float(y.max())
        golden = [{"features": features(row), "value": float(v)} for (_, row), v in zip(rows.iterrows(), values)]
    for entry, blanked in zip(golden[n_test:], blanked_names):
        entry["blanked"] = blanked

    # Examples are held-out rows (missing values left out); defaults are the training medians snapped to the
    # step, and the most frequent category.
    examples, used = [], set()
    for label, k, blanked in spec.examples:
        if spec.task == "classification":
            candidates = [i for i in range(n_test) if str(y_te.iloc[i]) == classes[k]]
        else:
            candidates = list(range(k, n_test))

        def n_missing(i: int, among: list[Column]) -> int:
            return sum(is_missing(c, x_te.iloc[i][c.name]) for c in among)

        wanted = [c for c in spec.columns if c.name in blanked]
        others = [c for c in spec.columns if c.name not in blanked]
        fresh = [i for i in candidates if i not in used]
        i = next((i for i in fresh if n_missing(i, wanted) == len(wanted) and n_missing(i, others) == 0),
                 next(i for i in fresh if n_missing(i, spec.columns) == 0))
        used.add(i)
        row = x_te.iloc[i]
        values = {c.name: (str(row[c.name]) if c.text else f32(row[c.name])) for c in spec.columns
                  if c.name not in blanked and not is_missing(c, row[c.name])}
        examples.append((label.format(name=names_te.iloc[i], **values), values))
    defaults: list[Any] = []
    for c in spec.columns:
        known = x_tr[c.name][~x_tr[c.name].map(lambda v, c=c: is_missing(c, v))]
        if c.text:
            counts = known.value_counts()
            defaults.append(sorted(counts[counts == counts.max()].index)[0])
            assert defaults[-1] in facts[c.name][1]
        else:
            defaults.append(round_to_step(float(np.median(known)), c.step))

    # Explanations against a background sample of training rows (missing values and all). The head sees the
    # ColumnTransformer's columns: one per number, one per category of a text column (its one-hot encoding).
    background = x_tr.iloc[explain.background_indices(len(x_tr))]
    feature_names = [c.name for c in spec.columns]
    groups, column_names = frame_groups(model, spec.columns)

    def transform(frame: pd.DataFrame) -> np.ndarray:
        return explain.head_inputs(onx, frame_feeds(spec.columns, frame))

    def changed(c: Column) -> pd.DataFrame:
        """The background with column c changed on every row (a missing value made known)."""
        other = background.copy()
        if c.text:
            cats = facts[c.name][1]
            filled = [stats[c.name] if is_missing(c, v) else v for v in other[c.name]]
            other[c.name] = [cats[(cats.index(v) + 1) % len(cats)] for v in filled]
        else:
            other[c.name] = [float(stats[c.name]) + 1.0 if is_missing(c, v) else v + 1.0 for v in other[c.name]]
        return other

    explain.check_groups(transform, background, [changed(c) for c in spec.columns], groups, feature_names)
    bg_out = run_frame(onx, spec.columns, background)
    explainer = add_explanations(
        spec.name, onx, model.named_steps["head"], transform, background,
        bg_out[names[1]] if spec.task == "classification" else bg_out[names[0]].reshape(-1),
        rows, golden, groups, feature_names, classes,
    )

    target = MODELS_DIR / spec.name
    target.mkdir(parents=True, exist_ok=True)
    (target / "model.onnx").write_bytes(onx.SerializeToString())
    (target / "card.toml").write_text(
        frame_card_toml(spec, names, classes, facts, defaults, examples, metrics, estimator, len(x_tr), n_test),
        encoding="utf-8",
    )
    write_golden(target, spec.name, explainer, golden)
    write_background(target, feature_names, [[row[c.name] for c in spec.columns] for _, row in background.iterrows()])
    tr_out = run_frame(onx, spec.columns, x_tr)
    reference.write(target, reference.api_rows(feature_names, x_tr[feature_names].itertuples(index=False)),
                    tr_out[names[1]] if spec.task == "classification" else tr_out[names[0]].reshape(-1))
    shown = {k: round(v, 4) for k, v in metrics.items() if not k.startswith("target_")}
    ops = sorted({f"{n.domain or 'ai.onnx'}:{n.op_type}" for n in onx.graph.node})
    print(f"{spec.name}: {len(golden)} golden rows ({len(golden) - n_test} blanked), outputs {names}, {shown}")
    print(f"  ops: {ops}")
    if on_threshold:
        print(f"  golden rows on a tree threshold (scikit-learn's double scaling goes the other way): {on_threshold}")
    print(f"  explained: {explainer}; the head's columns: "
          + "; ".join(f"{c.name} = {', '.join(column_names[j] for j in g)}" for c, g in zip(spec.columns, groups)))


def frame_groups(model: Pipeline, columns: list[Column]) -> tuple[list[list[int]], list[str]]:
    """The head's input columns of each card feature, read from the fitted ColumnTransformer (in the order of
    its transformers; one column per number, one per category of a one-hot encoded column), and the columns'
    names (get_feature_names_out, which the order is checked against)."""
    prep = model.named_steps["prep"]
    where: dict[str, list[int]] = {}
    expected: list[str] = []
    for name, trans, cols in prep.transformers_:
        if isinstance(trans, str):
            assert trans == "drop", f"{name}: {trans}"
            continue
        steps = [s for _, s in trans.steps] if isinstance(trans, Pipeline) else [trans]
        encoder = next((s for s in steps if isinstance(s, OneHotEncoder)), None)
        for i, col in enumerate(cols):
            outs = [f"{name}__{col}_{v}" for v in encoder.categories_[i]] if encoder is not None else [f"{name}__{col}"]
            where[col] = list(range(len(expected), len(expected) + len(outs)))
            expected += outs
    names = [str(v) for v in prep.get_feature_names_out()]
    assert names == expected, (names, expected)
    return [where[c.name] for c in columns], names


def penguins_data() -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    from palmerpenguins import load_penguins  # reads the CSV inside the package; nothing is downloaded

    df = load_penguins()
    return df, df["species"].astype(object), pd.Series([""] * len(df), index=df.index)


def cars_data() -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    from vega_datasets import local_data  # reads the JSON inside the package; nothing is downloaded

    df = local_data.cars()
    df = df[df["Miles_per_Gallon"].notna()].reset_index(drop=True)  # only a missing target drops a row
    raw = pd.DataFrame(
        {
            "cylinders": df["Cylinders"],
            "displacement": df["Displacement"],
            "horsepower": df["Horsepower"],
            "weight": df["Weight_in_lbs"],
            "acceleration": df["Acceleration"],
            "year": df["Year"].dt.year,
            "origin": df["Origin"],
        }
    )
    return raw, df["Miles_per_Gallon"].astype(np.float64), df["Name"].map(car_name)


def car_name(name: str) -> str:
    """The dataset's lower-case name, for an example's label: "amc gremlin" -> "AMC Gremlin"."""
    upper = {"amc", "bmw", "vw", "gl", "gt", "sw", "dl", "gle", "sj", "se", "ii"}
    return " ".join(w.upper() if w in upper else w.capitalize() for w in name.split())


def mm(name: str, label: str, what: str, lo: float, hi: float, step: float) -> Column:
    return Column(name, label, "mm", what, lo, hi, step)


FRAME_SPECS = [
    FrameSpec(
        name="penguins",
        title="Penguin species",
        description=(
            "Tells an Adelie, a Chinstrap and a Gentoo penguin apart from the island it was seen on, its sex and "
            "four body measurements, any of which may be missing (the model fills it in as in training). "
            "Histogram gradient-boosted trees after imputation, scaling and one-hot encoding, trained on the "
            "Palmer Station penguins."
        ),
        version="1.0.0",
        task="classification",
        dataset=(
            "palmerpenguins.load_penguins (Gorman, Williams & Fraser, 2014; Palmer Station LTER; "
            "344 penguins, 3 species; rows with missing values kept)"
        ),
        load=penguins_data,
        columns=[
            Column(
                "island", "Island", "", "Island of the Palmer Archipelago (Antarctica) where the penguin was seen.",
                text=True,
            ),
            mm("bill_length_mm", "Bill length", "Length of the bill (culmen), from its tip to the base.", 20.0, 70.0, 0.1),
            mm("bill_depth_mm", "Bill depth", "Depth (height) of the bill (culmen) at its base.", 10.0, 25.0, 0.1),
            mm("flipper_length_mm", "Flipper length", "Length of the flipper.", 150.0, 250.0, 1.0),
            Column("body_mass_g", "Body mass", "g", "Body mass.", 2000.0, 7000.0, 25.0),
            Column("sex", "Sex", "", "Sex of the penguin, where the researchers recorded it.", text=True),
        ],
        build=lambda columns: frame_pipeline(
            columns, HistGradientBoostingClassifier(max_iter=50, max_leaf_nodes=8, random_state=SEED)
        ),
        test_size=0.2,
        data_libraries=["palmerpenguins"],
        examples=[
            ("Adelie penguin", 0, ()),
            ("Chinstrap penguin", 1, ()),
            ("Gentoo penguin", 2, ()),
            ("Gentoo penguin of unrecorded sex", 2, ("sex",)),
        ],
        blanked_golden=[
            (0, ("sex",)),
            (1, ("sex",)),
            (2, ("island",)),
            (3, ("bill_length_mm",)),
            (4, ("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g")),
            (5, ("flipper_length_mm", "sex")),
            (6, ()),
        ],
    ),
    FrameSpec(
        name="cars",
        title="Car fuel economy",
        description=(
            "Estimates a car's fuel economy in miles per US gallon from its engine, weight, acceleration, model year "
            "and region of origin; a missing value is filled in as in training. Gradient-boosted regression trees "
            "after imputation, scaling and one-hot encoding, trained on cars of the 1970s and early 1980s."
        ),
        version="1.0.0",
        task="regression",
        dataset=(
            "vega_datasets.local_data.cars (StatLib \"cars\", Donoho & Ramos, 1982; 406 cars of 1970-1982; "
            "the 398 with a known fuel economy)"
        ),
        load=cars_data,
        columns=[
            Column("cylinders", "Cylinders", "", "Number of cylinders in the engine.", 2.0, 16.0, 1.0),
            Column("displacement", "Displacement", "cu in", "Engine displacement.", 40.0, 600.0, 1.0),
            Column("horsepower", "Horsepower", "hp", "Engine power.", 30.0, 400.0, 1.0),
            Column("weight", "Weight", "lb", "Weight of the car.", 1000.0, 7000.0, 1.0),
            Column("acceleration", "Acceleration", "s", "Time to accelerate from 0 to 60 mph.", 5.0, 30.0, 0.1),
            Column("year", "Model year", "", "Model year (the data covers 1970 to 1982).", 1965.0, 1990.0, 1.0),
            Column("origin", "Origin", "", "Region the car comes from.", text=True),
        ],
        build=lambda columns: frame_pipeline(
            columns,
            GradientBoostingRegressor(n_estimators=200, max_depth=3, learning_rate=0.05, random_state=SEED),
        ),
        test_size=0.2,
        data_libraries=["vega_datasets"],
        output_name="fuel_economy",
        output_unit="mpg",
        output_description="Fuel economy in miles per US gallon (the training targets span 9 to 46.6).",
        examples=[
            ("{name} ({year:.0f})", 0, ()),
            ("{name} ({year:.0f})", 1, ()),
            ("{name} ({year:.0f})", 2, ()),
            ("{name} ({year:.0f}), horsepower not recorded", 0, ("horsepower",)),
        ],
        blanked_golden=[
            (0, ("horsepower",)),
            (1, ("origin",)),
            (2, ("displacement", "weight")),
            (3, ()),
        ],
    ),
]


def main() -> int:
    np.random.seed(SEED)
    wanted = set(sys.argv[1:])
    for spec in SPECS:
        if not wanted or spec.name in wanted:
            train_one(spec)
    for frame_spec in FRAME_SPECS:
        if not wanted or frame_spec.name in wanted:
            train_frame(frame_spec)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
