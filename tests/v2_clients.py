"""The Open Inference Protocol journey, with the stock clients, against the real API.

tritonclient[http] (its defaults: binary inputs and outputs; and with JSON,
gzip, deflate, one requested output, a 64-row batch) and the kserve SDK's
REST client call every shipped model. Their answers must equal each other
and the JSON API's /models/{name}/predict/batch answers; errors must raise
the client's own exception carrying our message.

Usage: python tests/v2_clients.py HOST:PORT   (tests/v2_clients.sh runs it)
"""
from __future__ import annotations

import asyncio
import json
import sys
import urllib.request

import numpy as np
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

ADDR = sys.argv[1]
BASE = f"http://{ADDR}"
failures: list[str] = []
passed = 0


def check(what: str, condition: bool, detail: str = "") -> None:
    global passed
    if condition:
        passed += 1
    else:
        failures.append(f"{what}: {detail}")
        print(f"FAIL {what}: {detail}", flush=True)


def get_json(path: str) -> dict:
    with urllib.request.urlopen(BASE + path) as r:
        return json.load(r)


def post_json(path: str, body: dict) -> dict:
    req = urllib.request.Request(BASE + path, data=json.dumps(body).encode(), headers={"content-type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.load(r)


def batch_rows(card: dict, n: int) -> list[dict]:
    """n rows cycling through the card's examples (what a missing key leaves out stays missing)."""
    examples = [e["values"] for e in card["examples"]]
    return [examples[i % len(examples)] for i in range(n)]


def inputs_for(card: dict, rows: list[dict], binary: bool) -> list[httpclient.InferInput]:
    features = card["features"]
    matrix = card["onnx"].get("input")
    if matrix:
        x = np.array([[float(r[f["name"]]) for f in features] for r in rows], dtype=np.float32)
        tensor = httpclient.InferInput(matrix, list(x.shape), "FP32")
        tensor.set_data_from_numpy(x, binary_data=binary)
        return [tensor]
    tensors = []
    for f in features:
        if f.get("categories") is not None:
            column = np.array([[str(r.get(f["name"], "")).encode()] for r in rows], dtype=np.object_)
            tensor = httpclient.InferInput(f["name"], list(column.shape), "BYTES")
        else:
            column = np.array([[float(r.get(f["name"], float("nan")))] for r in rows], dtype=np.float32)
            tensor = httpclient.InferInput(f["name"], list(column.shape), "FP32")
        tensor.set_data_from_numpy(column, binary_data=binary)
        tensors.append(tensor)
    return tensors


def answer_arrays(card: dict, result) -> dict[str, np.ndarray]:
    onnx = card["onnx"]
    if card["task"] == "classification":
        labels = result.as_numpy(onnx.get("label_output") or "label")
        return {"label": labels, "probabilities": result.as_numpy(onnx["probabilities_output"])}
    return {"value": result.as_numpy(onnx["value_output"]).reshape(-1)}


def same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    for k in a:
        x, y = a[k], b[k]
        if x.dtype == np.object_ or y.dtype == np.object_:
            if [v.decode() if isinstance(v, bytes) else str(v) for v in x.reshape(-1)] != [
                v.decode() if isinstance(v, bytes) else str(v) for v in y.reshape(-1)
            ]:
                return False
        elif not np.array_equal(x, y):
            return False
    return True


def triton_journey(client: httpclient.InferenceServerClient, card: dict) -> None:
    name = card["name"]
    check(f"{name}: is_model_ready", client.is_model_ready(name))
    meta = client.get_model_metadata(name)
    check(f"{name}: metadata names the model and its version", meta["name"] == name and meta["versions"] == [card["version"]], str(meta))
    check(f"{name}: metadata shapes start with the batch -1", all(t["shape"][0] == -1 for t in meta["inputs"] + meta["outputs"]), str(meta))
    check(f"{name}: versioned metadata", client.get_model_metadata(name, card["version"])["name"] == name)

    rows = batch_rows(card, 64)
    default = answer_arrays(card, client.infer(name, inputs_for(card, rows, binary=True)))
    json_in = answer_arrays(card, client.infer(name, inputs_for(card, rows, binary=False),
                                               outputs=[httpclient.InferRequestedOutput(o, binary_data=False) for o in output_names(card)]))
    gzip = answer_arrays(card, client.infer(name, inputs_for(card, rows, binary=True),
                                            request_compression_algorithm="gzip", response_compression_algorithm="gzip"))
    deflate = answer_arrays(card, client.infer(name, inputs_for(card, rows, binary=False),
                                               request_compression_algorithm="deflate", response_compression_algorithm="deflate"))
    check(f"{name}: binary and JSON answers are equal", same(default, json_in))
    check(f"{name}: gzip answers are equal", same(default, gzip))
    check(f"{name}: deflate answers are equal", same(default, deflate))
    n_rows = len(next(iter(default.values())))
    check(f"{name}: a 64-row batch gets 64 answers", n_rows == 64, str(n_rows))

    first = output_names(card)[-1]
    only = client.infer(name, inputs_for(card, rows[:3], binary=True), outputs=[httpclient.InferRequestedOutput(first)])
    outputs = [o["name"] for o in only.get_response()["outputs"]]
    check(f"{name}: one requested output comes back alone", outputs == [first], str(outputs))

    explained = client.infer(name, inputs_for(card, rows[:5], binary=True),
                             outputs=[httpclient.InferRequestedOutput("explanation")]).as_numpy("explanation")
    reference = post_json(f"/models/{name}/explain/batch", {"instances": rows[:5]})["explanations"]
    want = np.array([[c["contribution"] for c in e["contributions"]] + [e["base_value"]] for e in reference],
                    dtype=np.float32)
    check(f"{name}: the explanation output is [rows, features + 1]", explained.shape == (5, len(card["features"]) + 1),
          str(explained.shape))
    check(f"{name}: the explanation output equals /explain/batch", np.allclose(explained, want, rtol=1e-6, atol=1e-6),
          f"{explained} vs {want}")

    json_api = post_json(f"/models/{name}/predict/batch", {"instances": rows})["predictions"]
    if card["task"] == "classification":
        probs = np.array([[p["probabilities"][c] for c in card["classes"]] for p in json_api], dtype=np.float32)
        check(f"{name}: probabilities equal the JSON API's", np.array_equal(probs, default["probabilities"]))
        indices = [p["class_index"] for p in json_api]
        check(f"{name}: labels are the JSON API's classes", list(default["probabilities"].argmax(axis=1)) == indices)
    else:
        values = np.array([p["value"] for p in json_api], dtype=np.float32)
        check(f"{name}: values equal the JSON API's", np.array_equal(values, default["value"]))


def output_names(card: dict) -> list[str]:
    onnx = card["onnx"]
    if card["task"] == "classification":
        return [onnx.get("label_output") or "label", onnx["probabilities_output"]]
    return [onnx["value_output"]]


def triton_errors(client: httpclient.InferenceServerClient) -> None:
    x = np.array([[5.1, 3.5, 1.4, 0.2]] * 3 + [[5.1, 3.5, 1.4, 9.0]], dtype=np.float32)
    tensor = httpclient.InferInput("input", list(x.shape), "FP32")
    tensor.set_data_from_numpy(x)
    try:
        client.infer("iris", [tensor])
        check("an out-of-range value raises", False, "no exception")
    except InferenceServerException as e:
        check("an out-of-range value raises with the row and feature", e.status() == "400" and
              "input 'input' row 3 feature 'petal_width': must be between 0.1 and 4 cm; got 9" in e.message(), str(e))
    try:
        client.infer("tulip", [tensor])
        check("an unknown model raises", False, "no exception")
    except InferenceServerException as e:
        check("an unknown model raises naming the real ones", e.status() == "404" and "available models" in e.message(), str(e))
    check("an unknown model is not ready", not client.is_model_ready("tulip"))


async def kserve_journey(cards: list[dict]) -> None:
    from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig
    import httpx

    client = InferenceRESTClient(RESTConfig(protocol="v2", retries=0, timeout=30))
    try:
        check("kserve: is_server_live", await client.is_server_live(BASE) is True)
        check("kserve: is_server_ready", await client.is_server_ready(BASE) is True)
        for card in cards:
            if not card["onnx"].get("input"):
                continue
            name = card["name"]
            check(f"kserve {name}: is_model_ready", await client.is_model_ready(BASE, name) is True)
            rows = batch_rows(card, 8)
            x = np.array([[float(r[f["name"]]) for f in card["features"]] for r in rows], dtype=np.float32)
            answers = []
            for binary in (False, True):
                tensor = InferInput(name=card["onnx"]["input"], shape=list(x.shape), datatype="FP32")
                tensor.set_data_from_numpy(x, binary_data=binary)
                response = await client.infer(BASE, InferRequest(model_name=name, infer_inputs=[tensor], request_id="k-1"), model_name=name)
                answers.append({o.name: o.as_numpy() for o in response.outputs})
                check(f"kserve {name}: the id comes back", response.id == "k-1", str(response.id))
            check(f"kserve {name}: JSON and binary answers are equal",
                  all(np.array_equal(answers[0][k], answers[1][k]) for k in answers[0]))
        bad = InferInput(name="input", shape=[1, 4], datatype="FP32")
        bad.set_data_from_numpy(np.array([[5.1, 3.5, 1.4, 9.0]], dtype=np.float32), binary_data=False)
        try:
            await client.infer(BASE, InferRequest(model_name="iris", infer_inputs=[bad]), model_name="iris")
            check("kserve: an out-of-range value raises", False, "no exception")
        except httpx.HTTPStatusError as e:
            check("kserve: the error carries our message", "feature 'petal_width': must be between 0.1 and 4 cm" in str(e), str(e))
    finally:
        await client.close()


def readme_example() -> None:
    """The tritonclient example of docs/open-inference.md, run as written (but for the address)."""
    import contextlib
    import io

    with open("docs/open-inference.md", encoding="utf-8") as f:
        text = f.read()
    block = text.split("With `tritonclient[http]`", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(block.replace("127.0.0.1:8000", ADDR), {})
    lines = printed.getvalue().splitlines()
    said = [line.split("# ", 1)[1] for line in block.splitlines() if line.startswith("print(")]
    check("the docs' tritonclient example prints the labels it says", lines[:1] == said[:1], f"{lines} vs {said}")
    check("the docs' tritonclient example prints the probabilities it says",
          " ".join(" ".join(lines[1:]).split()) == said[1], f"{lines} vs {said}")


def main() -> int:
    client = httpclient.InferenceServerClient(url=ADDR)
    check("is_server_live", client.is_server_live())
    check("is_server_ready", client.is_server_ready())
    server = client.get_server_metadata()
    check("server metadata lists the binary extension", "binary_tensor_data" in server["extensions"], str(server))
    # /models lists summaries; each model's page has its whole card.
    cards = [get_json(f"/models/{m['name']}") for m in get_json("/models")["models"]]
    for card in cards:
        triton_journey(client, card)
    triton_errors(client)
    asyncio.run(kserve_journey(cards))
    readme_example()
    print(f"{passed} passed, {len(failures)} failed", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
