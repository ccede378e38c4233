"""Reference profiles: how each model's training rows, and its answers on them, are distributed.

For every shipped model this writes models/<name>/reference.json, which the API reads (strictly, against
the card) to tell how far the traffic it serves has drifted from the training data:

  features   - in card order. A number: the sorted unique training deciles
               (np.quantile of the known values at 0.1 .. 0.9, linear) as `edges`, the share of ALL
               training rows in each bin (value v in bin np.searchsorted(edges, v, side="right")),
               the `missing` share and the known values' `min`/`max`. A category (the card has
               `categories`): the share of each card category in the card's order, `other` (not in
               the card) and `missing` (None, NaN or ''). Coded `choices` are numbers.
  prediction - a classifier: the share of rows predicted as each card class (argmax of the graph's
               probabilities); a regressor: the predicted values binned as a number, with min/max.

The values are the API's: a number is the shortest decimal that reads back as the float32 the model is fed
(as in golden.json and background.csv), a category its text. Shares are rounded to 6 decimals; an edge is
the float64 quantile of those values. The API compares values with edges as float32: the script checks that
the edges stay distinct in float32 and that float32 binning puts every training row where float64 does.

`profile()` makes the dict from rows the caller already has; `write()` reads the card next to it, checks it
and writes the file (train.py calls it after a fit). `main()` writes every shipped model's profile without
retraining: it rebuilds the training split with train.py's own code and runs the SHIPPED model.onnx.

Usage (from the repository root):
    .venv-train/bin/python models/train/reference.py [name ...]
"""
from __future__ import annotations

import json
import math
import sys
import tomllib
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

SEED = 42
SOURCE = f"the training split of models/train/train.py (seed {SEED})"
DECILES = [k / 10 for k in range(1, 10)]
DECIMALS = 6
SUM_TOLERANCE = 1e-6
PSI_FLOOR = 1e-4


def api_value(v: Any) -> float | str | None:
    """A raw value as the API receives it: None if missing (None, NaN, ''), a category as text, a number as
    the shortest decimal that reads back as the same float32."""
    if v is None or (isinstance(v, str) and v == ""):
        return None
    if isinstance(v, str):
        return v
    if math.isnan(float(v)):
        return None
    return float(str(np.float32(v)))


def api_rows(names: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
    """Rows (sequences in `names` order: a matrix's rows, a DataFrame's tuples) as {name: api_value}."""
    return [dict(zip(names, map(api_value, row), strict=True)) for row in rows]


def is_missing(v: Any) -> bool:
    return v is None or (isinstance(v, str) and v == "") or (not isinstance(v, str) and math.isnan(float(v)))


def share(count: int, n: int) -> float:
    return round(count / n, DECIMALS)


def edges_of(known: np.ndarray) -> list[float]:
    """The sorted unique training deciles (float64, numpy's default linear interpolation)."""
    return sorted({float(q) for q in np.quantile(known, DECILES)})


def bin_counts(edges: Sequence[float], known: np.ndarray) -> np.ndarray:
    """Rows per bin: bin k holds edges[k-1] <= v < edges[k]."""
    return np.bincount(np.searchsorted(np.asarray(edges, dtype=np.float64), known, side="right"),
                       minlength=len(edges) + 1)


def check_float32(what: str, edges: list[float], known: np.ndarray) -> None:
    """The API casts edges and values to float32: the edges must stay distinct and every value in its bin."""
    e32 = np.asarray(edges, dtype=np.float32)
    assert (np.diff(e32) > 0).all(), f"{what}: edges {edges} collide as float32"
    as32 = np.searchsorted(e32, known.astype(np.float32), side="right")
    as64 = np.searchsorted(np.asarray(edges, dtype=np.float64), known, side="right")
    assert (as32 == as64).all(), f"{what}: float32 binning differs from float64 binning"


def numeric(name: str, values: Sequence[Any], with_missing: bool = True) -> dict[str, Any]:
    n = len(values)
    missing = [is_missing(v) for v in values]
    known = np.array([float(v) for v, m in zip(values, missing) if not m], dtype=np.float64)
    assert len(known), f"{name}: no known value"
    edges = edges_of(known)
    check_float32(name, edges, known)
    counts = bin_counts(edges, known)
    assert counts.sum() + sum(missing) == n
    out: dict[str, Any] = {"name": name, "kind": "numeric"} if with_missing else {"kind": "value"}
    out["edges"] = edges
    out["shares"] = [share(int(c), n) for c in counts]
    if with_missing:
        out["missing"] = share(sum(missing), n)
    out["min"] = float(known.min())
    out["max"] = float(known.max())
    return out


def categorical(name: str, categories: Sequence[str], values: Sequence[Any]) -> dict[str, Any]:
    n = len(values)
    missing = sum(is_missing(v) for v in values)
    counts = [sum(1 for v in values if not is_missing(v) and str(v) == c) for c in categories]
    other = n - missing - sum(counts)
    return {
        "name": name,
        "kind": "categorical",
        "categories": list(categories),
        "shares": [share(c, n) for c in counts],
        "other": share(other, n),
        "missing": share(missing, n),
    }


def distribution(p: Mapping[str, Any]) -> list[float]:
    """A feature's or prediction's shares, with its other/missing shares last (what PSI sums over)."""
    return [*p["shares"], *([p["other"]] if "other" in p else []), *([p["missing"]] if "missing" in p else [])]


def check_sums(profile: Mapping[str, Any], rows: Sequence[Mapping[str, Any]], predictions: Sequence[Any]) -> None:
    """Re-bins the rows with the profile's own rule (observed()): the exact shares sum to 1 within 1e-6 and
    round to the written ones; the written (rounded) shares sum to 1 within half a unit of the 6th decimal
    per share (plain rounding: 133 rows in 11 bins can sum to 0.999999)."""
    for p in [*profile["features"], profile["prediction"]]:
        what = f"{profile['model']}: {p.get('name', 'prediction')}"
        exact = observed(p, [row[p["name"]] for row in rows] if "name" in p else predictions)
        assert abs(sum(exact) - 1.0) <= SUM_TOLERANCE, f"{what}: shares {exact} sum to {sum(exact)}"
        shares = distribution(p)
        assert [round(x, DECIMALS) for x in exact] == shares, f"{what}: {shares} are not {exact} rounded"
        total = sum(shares)
        assert abs(total - 1.0) <= len(shares) * 0.5 * 10**-DECIMALS + 1e-12, f"{what}: shares sum to {total}"


def profile(model: str, rows: Sequence[Mapping[str, Any]], features: Sequence[Mapping[str, Any]],
            predictions: Sequence[Any], classes: Sequence[str] | None = None) -> dict[str, Any]:
    """The reference profile of `model`.

    rows: the training rows as the API receives them, {feature name: value}, a missing value None / NaN / '';
    features: the card's [[features]] tables (name; `categories` for a category), in card order;
    predictions: the model's answer on each row, a class name (classifier: give the card's `classes`) or a
    number (regressor: classes None).
    """
    assert rows and len(predictions) == len(rows), (len(rows), len(predictions))
    names = [f["name"] for f in features]
    for row in rows:
        assert list(row) == names, f"{model}: row features {list(row)} are not the card's {names}"
    out_features = []
    for f in features:
        values = [row[f["name"]] for row in rows]
        if "categories" in f:
            out_features.append(categorical(f["name"], f["categories"], values))
        else:
            out_features.append(numeric(f["name"], values))
    if classes:
        unknown = set(predictions) - set(classes)
        assert not unknown, f"{model}: predicted {unknown}, not among the card's classes {classes}"
        prediction = {
            "kind": "classes",
            "classes": list(classes),
            "shares": [share(sum(1 for p in predictions if p == c), len(predictions)) for c in classes],
        }
    else:
        assert not any(is_missing(p) for p in predictions), f"{model}: a missing prediction"
        prediction = numeric("prediction", list(predictions), with_missing=False)
    result = {"model": model, "source": SOURCE, "rows": len(rows), "features": out_features, "prediction": prediction}
    check_sums(result, rows, predictions)
    return result


def observed(p: Mapping[str, Any], values: Sequence[Any]) -> list[float]:
    """The shares of other rows (or predictions) binned by profile entry p's rule, in distribution() order."""
    n = len(values)
    kind = p["kind"]
    if kind == "categorical":
        missing = sum(is_missing(v) for v in values)
        counts = [sum(1 for v in values if not is_missing(v) and str(v) == c) for c in p["categories"]]
        return [c / n for c in counts] + [(n - missing - sum(counts)) / n, missing / n]
    if kind == "classes":
        return [sum(1 for v in values if v == c) / n for c in p["classes"]]
    missing = [is_missing(v) for v in values]
    known = np.array([float(v) for v, m in zip(values, missing) if not m], dtype=np.float64)
    shares = [c / n for c in bin_counts(p["edges"], known)]
    return shares + ([sum(missing) / n] if kind == "numeric" else [])


def psi(a: Sequence[float], b: Sequence[float]) -> float:
    """Population stability index: sum (a - b) ln(a / b), both floored at 1e-4."""
    assert len(a) == len(b)
    return float(sum((x - y) * math.log(x / y) for x, y in ((max(x, PSI_FLOOR), max(y, PSI_FLOOR)) for x, y in zip(a, b))))


def read_card(target: Path) -> dict[str, Any]:
    return tomllib.loads((target / "card.toml").read_text(encoding="utf-8"))


def predictions_of(card: Mapping[str, Any], answers: np.ndarray) -> list[Any]:
    """The graph's answers on the rows -> predictions: a classifier's probabilities [N, classes] (in the card's
    class order) -> the argmax's class name; a regressor's values [N] -> numbers as the API sees them."""
    answers = np.asarray(answers)
    if card["task"] == "classification":
        classes = card["classes"]
        assert answers.ndim == 2 and answers.shape[1] == len(classes), (answers.shape, classes)
        return [classes[int(k)] for k in answers.argmax(axis=1)]
    return [api_value(v) for v in answers.reshape(-1)]


def dumps(p: Mapping[str, Any]) -> str:
    return json.dumps(p, indent=1, ensure_ascii=False, allow_nan=False) + "\n"


def write(target: Path, rows: Sequence[Mapping[str, Any]], answers: np.ndarray) -> dict[str, Any]:
    """Profiles the training rows of the model in `target` against its card.toml and writes reference.json.

    answers: the graph's probabilities [N, classes] (card class order) or values [N] on the rows.
    """
    card = read_card(target)
    features = card["features"]
    classes = card.get("classes") if card["task"] == "classification" else None
    result = profile(card["name"], rows, features, predictions_of(card, answers), classes)
    train_rows = card.get("provenance", {}).get("train_rows")
    assert train_rows in (None, result["rows"]), f"{card['name']}: {result['rows']} rows, the card says {train_rows}"
    assert [f["name"] for f in result["features"]] == [f["name"] for f in features]
    assert result["prediction"].get("classes", classes) == classes
    (target / "reference.json").write_text(dumps(result), encoding="utf-8")
    return result


# ---------------------------------------------------------------------------
# Every shipped model, without retraining.


def shipped_answers(model_path: Path, feeds: dict[str, Any], card: Mapping[str, Any]) -> np.ndarray:
    """Runs the shipped graph: the probabilities [N, classes] in card class order, or the values [N]."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    out = dict(zip(names, sess.run(names, feeds)))
    onnx_names = card["onnx"]
    if card["task"] != "classification":
        return np.asarray(out[onnx_names["value_output"]], dtype=np.float32).reshape(-1)
    labels, probs = out[onnx_names["label_output"]], out[onnx_names["probabilities_output"]]
    classes = card["classes"]
    if isinstance(probs, list):  # ZipMap: one {class: probability} per row, keyed by class index or name
        keys = sorted(probs[0])
        assert keys == list(range(len(classes))) or keys == sorted(classes), keys
        order = list(range(len(classes))) if isinstance(keys[0], int) else classes
        probs = np.array([[p[k] for k in order] for p in probs], dtype=np.float32)
    probs = np.asarray(probs)
    # The graph's own label agrees with the argmax the API serves.
    top = probs.argmax(axis=1)
    want = top if np.asarray(labels).dtype.kind in "iu" else np.array(classes, dtype=object)[top]
    assert (np.asarray(labels).reshape(-1) == want).all(), f"{card['name']}: label != argmax(probabilities)"
    return probs


def half_psi(result: Mapping[str, Any], rows: Sequence[Mapping[str, Any]], predictions: Sequence[Any]) -> dict:
    """PSI of a random half of the training rows against the full profile, per feature and the prediction."""
    pick = np.sort(np.random.default_rng(SEED).choice(len(rows), size=len(rows) // 2, replace=False))
    out = {}
    for f in result["features"]:
        out[f["name"]] = psi(observed(f, [rows[i][f["name"]] for i in pick]), distribution(f))
    out["(prediction)"] = psi(observed(result["prediction"], [predictions[i] for i in pick]),
                              distribution(result["prediction"]))
    return out


def main() -> int:
    import train  # models/train/train.py: the specs and the split (imported here, not at the top: it imports us)

    wanted = set(sys.argv[1:])
    specs = [("matrix", s) for s in train.SPECS] + [("frame", s) for s in train.FRAME_SPECS]
    unknown = wanted - {s.name for _, s in specs}
    assert not unknown, f"no such model: {unknown}"
    for how, spec in specs:
        if wanted and spec.name not in wanted:
            continue
        target = train.MODELS_DIR / spec.name
        card = read_card(target)
        names = [f["name"] for f in card["features"]]
        if how == "matrix":
            _, _, x_tr, *_ = train.split_one(spec)
            assert names == [f.name for f in spec.features], (names, spec.features)
            feeds = {train.INPUT_NAME: x_tr}
            rows = api_rows(names, x_tr)
            background = [[float(v) for v in row] for row in x_tr[train.explain.background_indices(len(x_tr))]]
        else:
            _, _, x_tr, *_ = train.split_frame(spec)
            assert names == [c.name for c in spec.columns], (names, spec.columns)
            feeds = train.frame_feeds(spec.columns, x_tr)
            rows = api_rows(names, x_tr[names].itertuples(index=False))
            bg = x_tr.iloc[train.explain.background_indices(len(x_tr))]
            background = [[row[c.name] for c in spec.columns] for _, row in bg.iterrows()]
        # The split is train.py's: the committed background.csv is a sample of these very rows.
        csv = train.explain.background_csv(names, background, lambda v: str(train.f32(v)))
        assert csv == (target / "background.csv").read_text(encoding="utf-8"), f"{spec.name}: background.csv differs"

        answers = shipped_answers(target / "model.onnx", feeds, card)
        result = write(target, rows, answers)
        scores = half_psi(result, rows, predictions_of(card, answers))
        bins = ", ".join(
            f"{f['name']} {len(f['shares'])}" + (f"+missing {f['missing']}" if f.get("missing") else "")
            for f in result["features"]
        )
        worst = max(scores, key=scores.get)
        print(f"{spec.name}: {result['rows']} rows; bins: {bins}; prediction {len(result['prediction']['shares'])}")
        print(f"  half-sample PSI: max {scores[worst]:.4f} ({worst}); "
              + ", ".join(f"{k} {v:.4f}" for k, v in scores.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
