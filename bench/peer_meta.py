"""Writes the peer's model.json for one of our models, so both serve the same ONNX file.

Usage: python3 bench/peer_meta.py models/iris > meta.json
"""
import json
import sys
import tomllib
from pathlib import Path

card = tomllib.loads((Path(sys.argv[1]) / "card.toml").read_text())
meta = {
    "name": card["name"],
    "features": [f["name"] for f in card["features"]],
    "classes": card["classes"],
    # The peer checks min < v <= max; our card's bounds are inclusive and
    # start above 0, so the same bodies pass both.
    "feature_bounds": {f["name"]: {"min": 0.0, "max": f["max"]} for f in card["features"]},
    "onnx": {
        "input": card["onnx"]["input"],
        "label_output": card["onnx"]["label_output"],
        "probabilities_output": card["onnx"]["probabilities_output"],
    },
    "max_batch": 10000,
}
print(json.dumps(meta, indent=1))
