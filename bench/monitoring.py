"""What drift monitoring costs: the release API with MONITORING=true and
with MONITORING=false, interleaved (A B A B …), each loaded by wrk (2
threads, 32 connections) on POST /predict (iris, one row) and on a 1,000-row
batch; requests per CPU-second of the server, from /proc. 127.0.0.1 only.

Usage: python3 bench/monitoring.py <release dir> <models dir> [seconds] [repeats]
Prints JSON: each run, and the ratio on ÷ off of the medians.
"""
from __future__ import annotations

import json
import statistics
import sys
import tempfile
from pathlib import Path

from serving import start, stop, wrk

release, models = Path(sys.argv[1]), sys.argv[2]
seconds = int(sys.argv[3]) if len(sys.argv) > 3 else 10
repeats = int(sys.argv[4]) if len(sys.argv) > 4 else 3
PORT = 18700
ROW = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
LUA = str(Path(__file__).with_name("post.lua"))


def body(data: dict) -> str:
    f = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump(data, f)
    f.close()
    return f.name


ROUTES = {
    "predict": ("/predict", body(ROW)),
    "batch_1000": ("/predict/batch", body({"instances": [ROW] * 1000})),
}


def run(monitoring: str, route: str) -> dict:
    api = start([str(release / "api"), "--host", "127.0.0.1", "--port", str(PORT), "--models-dir", models],
                {"RUST_LOG": "warn", "MONITORING": monitoring}, f"http://127.0.0.1:{PORT}/readyz")
    path, file = ROUTES[route]
    result, cpu = wrk(api.pid, ["-t2", "-c32", f"-d{seconds}s", "-s", LUA, f"http://127.0.0.1:{PORT}{path}"],
                      {"BODY_FILE": file, "CONTENT_TYPE": "application/json"})
    stop(api)
    return {"monitoring": monitoring, "route": route, "requests": result["requests"],
            "errors_status": result["errors_status"], "per_cpu_s": result["requests"] / cpu}


def main() -> None:
    runs = []
    for _ in range(repeats):
        for route in ROUTES:
            for monitoring in ("true", "false"):
                runs.append(run(monitoring, route))
    summary = {}
    for route in ROUTES:
        on = statistics.median(r["per_cpu_s"] for r in runs if r["route"] == route and r["monitoring"] == "true")
        off = statistics.median(r["per_cpu_s"] for r in runs if r["route"] == route and r["monitoring"] == "false")
        summary[route] = {"on_per_cpu_s": round(on), "off_per_cpu_s": round(off), "on_over_off": round(on / off, 3)}
    print(json.dumps({"seconds": seconds, "repeats": repeats, "summary": summary, "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
