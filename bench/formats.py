"""Wire formats side by side on the same iris rows, same run: JSON /predict
against a single-row Open Inference Protocol (V2) JSON infer; a 1,000-row
JSON batch against a 1,000-row binary V2 infer; a 10,000-row CSV file
against the same rows as a JSON batch, through the API and through the UI's
download button; the API's peak RSS taking a 100,000-row file; and, given a
Python with `kserve` and `onnxruntime`, the KServe Python model server on the
same iris ONNX under the same wrk load.

Usage: python3 bench/formats.py <release dir> <models dir> <seconds> [<kserve python>]
Prints JSON. Stdlib only; wrk on PATH; traffic to 127.0.0.1 only, bounded in time.
"""
from __future__ import annotations

import json
import os
import random
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from serving import cpu_seconds, memory_mib, start, stop

release, models, seconds = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
kserve_python = sys.argv[4] if len(sys.argv) > 4 else None
here = Path(__file__).resolve().parent
API, UI, PEER = "127.0.0.1:18200", "127.0.0.1:18601", "127.0.0.1:18300"
FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
tmp = Path(tempfile.mkdtemp(prefix="bench-formats-"))


def rows(n: int) -> list[list[float]]:
    rng = random.Random(7)
    return [[round(rng.uniform(4.5, 7.5), 1), round(rng.uniform(2.2, 4.2), 1),
             round(rng.uniform(1.0, 6.5), 1), round(rng.uniform(0.1, 2.4), 1)] for _ in range(n)]


def write(name: str, data: bytes) -> Path:
    path = tmp / name
    path.write_bytes(data)
    return path


def json_batch(data: list[list[float]]) -> bytes:
    return json.dumps({"instances": [dict(zip(FEATURES, r)) for r in data]}).encode()


def csv_file(data: list[list[float]]) -> bytes:
    return (",".join(FEATURES) + "\n" + "".join(",".join(map(str, r)) + "\n" for r in data)).encode()


def v2_json(data: list[list[float]]) -> bytes:
    return json.dumps({"inputs": [{"name": "input", "shape": [len(data), 4], "datatype": "FP32",
                                   "data": [x for r in data for x in r]}]}).encode()


def v2_binary(data: list[list[float]]) -> tuple[bytes, int]:
    header = json.dumps({"inputs": [{"name": "input", "shape": [len(data), 4], "datatype": "FP32",
                                     "parameters": {"binary_data_size": 16 * len(data)}}],
                         "parameters": {"binary_data_output": True}}).encode()
    blob = b"".join(struct.pack("<4f", *r) for r in data)
    return header + blob, len(header)


def wrk(pid: int, url: str, body: Path, content_type: str | None, header_len: int | None,
        connections: int) -> dict:
    env = dict(os.environ, BODY_FILE=str(body), CONTENT_TYPE=content_type or "",
               HEADER_LENGTH=str(header_len or ""))
    before = cpu_seconds(pid)
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s",
                          str(here / "post.lua"), url], capture_output=True, text=True, env=env, check=True)
    cpu = cpu_seconds(pid) - before
    line = next(l for l in out.stdout.splitlines() if l.startswith("WRK_JSON "))
    result = json.loads(line[len("WRK_JSON "):])
    result["cpu_s"] = cpu
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["per_cpu_s"] = result["requests"] / cpu if cpu > 0 else None
    return result


def upload(data: bytes) -> float:
    boundary = "benchboundary7"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\ndownload\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"rows.csv\"\r\n"
            f"Content-Type: text/csv\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    req = urllib.request.Request(f"http://{UI}/models/iris/file", data=body,
                                 headers={"content-type": f"multipart/form-data; boundary={boundary}"})
    start_at = time.monotonic()
    with urllib.request.urlopen(req, timeout=120) as r:
        r.read()
    return time.monotonic() - start_at


def main() -> None:
    one = rows(1)
    single_json = write("single.json", json.dumps(dict(zip(FEATURES, one[0]))).encode())
    single_v2 = write("single-v2.json", v2_json(one))
    thousand = rows(1000)
    batch_json = write("batch1000.json", json_batch(thousand))
    blob, header_len = v2_binary(thousand)
    batch_v2 = write("batch1000.bin", blob)
    ten_k = rows(10_000)
    csv_10k = csv_file(ten_k)
    csv_path, json_10k = write("rows10k.csv", csv_10k), write("rows10k.json", json_batch(ten_k))
    out: dict = {"seconds": seconds}

    api = start([str(release / "api"), "--host", "127.0.0.1", "--port", API.split(":")[1],
                 "--models-dir", str(models)],
                {"MAX_BATCH": "10000", "LOG_FORMAT": "json", "RUST_LOG": "warn"}, f"http://{API}/readyz")
    ui = start([str(release / "ui")], {"HOST": "127.0.0.1", "PORT": UI.split(":")[1], "API_URL": f"http://{API}",
                                       "LOG_FORMAT": "json", "RUST_LOG": "warn"}, f"http://{UI}/healthz")
    peer = None
    if kserve_python:
        peer = start([kserve_python, str(here / "kserve_peer.py"), str(models / "iris" / "model.onnx"),
                      PEER.split(":")[1]], {}, f"http://{PEER}/v2/health/ready")
    try:
        # Interleaved, so drift on a shared machine hits every side alike.
        for rep in range(2):
            if peer is not None:
                r = wrk(peer.pid, f"http://{PEER}/v2/models/iris/infer", single_v2, "application/json", None, 8)
                out.setdefault("kserve_v2_json_1", []).append(r)
            for key, path, body, ctype, hlen, conns in [
                ("predict_json_1", "/predict", single_json, "application/json", None, 8),
                ("v2_json_1", "/v2/models/iris/infer", single_v2, "application/json", None, 8),
                ("batch_json_1000", "/predict/batch", batch_json, "application/json", None, 2),
                ("v2_binary_1000", "/v2/models/iris/infer", batch_v2, "application/octet-stream", header_len, 2),
                ("batch_json_10000", "/predict/batch", json_10k, "application/json", None, 2),
                ("batch_csv_10000", "/predict/batch", csv_path, "text/csv", None, 2),
            ]:
                r = wrk(api.pid, f"http://{API}{path}", body, ctype, hlen, conns)
                out.setdefault(key, []).append(r)
        times = [upload(csv_10k) for _ in range(5)]
        out["ui_download_10000_s"] = sorted(times)[len(times) // 2]
        if peer is not None:
            out["kserve_rss_mib"] = sum(memory_mib(p) for p in tree(peer.pid))
        out["api_rss_mib"] = memory_mib(api.pid)
    finally:
        if peer is not None:
            stop(peer)
        stop(ui)
        stop(api)

    big = write("rows100k.csv", csv_file(rows(100_000)))
    api = start([str(release / "api"), "--host", "127.0.0.1", "--port", API.split(":")[1],
                 "--models-dir", str(models)],
                {"MAX_BATCH": "100000", "LOG_FORMAT": "json", "RUST_LOG": "warn"}, f"http://{API}/readyz")
    try:
        out["rss_idle_mib"] = memory_mib(api.pid)
        req = urllib.request.Request(f"http://{API}/predict/batch", data=big.read_bytes(),
                                     headers={"content-type": "text/csv"})
        started = time.monotonic()
        with urllib.request.urlopen(req, timeout=300) as r:
            answered = r.read().count(b"\n") - 1
        out["csv_100000_s"] = time.monotonic() - started
        out["csv_100000_rows"] = answered
        out["csv_100000_file_mib"] = big.stat().st_size / 2**20
        out["rss_peak_100000_mib"] = memory_mib(api.pid)
    finally:
        stop(api)

    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
