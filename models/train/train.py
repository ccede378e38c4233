"""Train and export every model shipped in models/.

For each model this script writes, under models/<name>/:
  model.onnx   - the exported graph (checked with onnxruntime before it is saved)
  card.toml    - what the API serves about the model: features, ranges, labels,
                 examples, provenance (including the held-out metric)
  golden.json  - held-out rows with the outputs onnxruntime produced at export time

Every dataset ships inside scikit-learn, so nothing is downloaded. Seeds are
fixed and the exporter's random names are replaced, so running the script
twice writes the same bytes.

Usage (from the repository root):
    python3 -m venv .venv-train
    .venv-train/bin/pip install -r models/train/requirements.txt
    .venv-train/bin/python models/train/train.py
"""
from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import onnx
import onnxruntime as ort
import skl2onnx
import sklearn
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris, load_wine
from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor, RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import accuracy_score, mean_absolute_error, r2_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

MODELS_DIR = Path(__file__).resolve().parent.parent
SEED = 42
TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}
INPUT_NAME = "input"


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


def train_one(spec: Spec) -> None:
    x, y = spec.load()
    stratify = y if spec.task == "classification" else None
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=spec.test_size, random_state=SEED, stratify=stratify)
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
        labels, probs = out[label_name], out[prob_name]
        if isinstance(probs, list):  # a default export's ZipMap: one {class: probability} per row
            probs = np.array([[p[k] for k in sorted(p)] for p in probs], dtype=np.float32)
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

    target = MODELS_DIR / spec.name
    target.mkdir(parents=True, exist_ok=True)
    (target / "model.onnx").write_bytes(onx.SerializeToString())
    (target / "card.toml").write_text(
        card_toml(spec, names, metrics, examples, len(x_tr), len(x_te), defaults), encoding="utf-8"
    )
    (target / "golden.json").write_text(
        json.dumps({"model": spec.name, "source": "onnxruntime " + ort.__version__, "rows": golden}, indent=1) + "\n",
        encoding="utf-8",
    )
    shown = {k: round(v, 4) for k, v in metrics.items() if not k.startswith("target_")}
    print(f"{spec.name}: {len(golden)} golden rows, outputs {names}, {shown}")


def main() -> int:
    np.random.seed(SEED)
    wanted = set(sys.argv[1:])
    for spec in SPECS:
        if not wanted or spec.name in wanted:
            train_one(spec)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
