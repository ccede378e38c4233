"""The HTTP floor: our API against the simplest axum app doing the same
exchange (crates/api/examples/floor.rs: same axum, hyper and tokio, no
middleware, a fixed answer), loaded by the same wrk (1 thread, 32
connections), interleaved, on POST /predict (iris, one row) and on the
health GET. Requests per second, per CPU-second of the server (from /proc)
and p99, and the ratios ours ÷ floor. 127.0.0.1 only.

Between the two, the ladder: the floor's app with our layers added one at a
time (our serve loop, the exchange layer, the gate), so the CPU per request
of each rung minus the one below is what that layer costs; ours minus the
top rung is our handler (extractors, parse, inference, serialization,
prediction metrics, drift tally). Every POST carries an API key, which
ours and the gate rung check.

Usage: python3 bench/floor.py <release dir> <models dir> [seconds] [repeats]
Prints JSON: each run, the medians and ratios, and the ladder.
"""
from __future__ import annotations

import json
import statistics
import sys
import tempfile
from pathlib import Path

from serving import memory_mib, start, stop, wrk

release, models = Path(sys.argv[1]), sys.argv[2]
seconds = int(sys.argv[3]) if len(sys.argv) > 3 else 10
repeats = int(sys.argv[4]) if len(sys.argv) > 4 else 3
PORT = 18800
ROW = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
HERE = Path(__file__).parent

with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
    json.dump(ROW, f)
    BODY = f.name

KEY = "bench-key"
FLOOR = str(release / "examples" / "floor")
BARE_PATHS = {"post": "/predict", "get": "/health"}
# Ours at its defaults (logging at info), with an API key set.
SERVERS = {
    "ours": ([str(release / "api"), "--host", "127.0.0.1", "--port", str(PORT), "--models-dir", models],
             {"API_KEY": KEY}, "/readyz", {"post": "/predict", "get": "/healthz"}),
    "floor": ([FLOOR, str(PORT), "bare"], {}, "/health", BARE_PATHS),
    "floor+serve": ([FLOOR, str(PORT), "serve"], {}, "/health", BARE_PATHS),
    "floor+serve+exchange": ([FLOOR, str(PORT), "exchange"], {}, "/health", BARE_PATHS),
    "floor+serve+exchange+gate": ([FLOOR, str(PORT), "gate"], {}, "/health", BARE_PATHS),
}
LADDER = ["floor", "floor+serve", "floor+serve+exchange", "floor+serve+exchange+gate", "ours"]
GETS = ["floor", "ours"]


def run(server: str, kind: str) -> dict:
    cmd, env, ready, paths = SERVERS[server]
    proc = start(cmd, env, f"http://127.0.0.1:{PORT}{ready}")
    script = HERE / ("post.lua" if kind == "post" else "get.lua")
    auth = ["-H", f"Authorization: Bearer {KEY}"] if kind == "post" else []
    try:
        r, cpu = wrk(proc.pid, ["-t1", "-c32", f"-d{seconds}s", "--latency", *auth, "-s", str(script),
                                f"http://127.0.0.1:{PORT}{paths[kind]}"],
                     {"BODY_FILE": BODY, "CONTENT_TYPE": "application/json"})
        rss = memory_mib(proc.pid, "VmRSS")
    finally:
        stop(proc)
    if r["errors_status"] or r["errors_timeout"]:
        raise SystemExit(f"{server} {kind}: {r['errors_status']} bad statuses, {r['errors_timeout']} timeouts")
    return {"server": server, "kind": kind, "per_s": r["requests"] / (r["duration_us"] / 1e6),
            "per_cpu_s": r["requests"] / cpu, "p99_us": r["p99_us"], "rss_mib": round(rss, 1)}


def main() -> None:
    plan = [(server, "post") for server in LADDER] + [(server, "get") for server in GETS]
    runs = [run(server, kind) for _ in range(repeats) for server, kind in plan]

    def median(server: str, kind: str, key: str) -> float:
        return statistics.median(r[key] for r in runs if r["server"] == server and r["kind"] == kind)

    summary = {}
    for kind in ("post", "get"):
        med = {s: {k: median(s, kind, k) for k in ("per_s", "per_cpu_s", "p99_us")} for s in ("ours", "floor")}
        summary[kind] = {
            **{f"{s}_{k}": round(v) for s, m in med.items() for k, v in m.items()},
            "per_s_ratio": round(med["ours"]["per_s"] / med["floor"]["per_s"], 3),
            "per_cpu_s_ratio": round(med["ours"]["per_cpu_s"] / med["floor"]["per_cpu_s"], 3),
            "p99_ratio": round(med["ours"]["p99_us"] / med["floor"]["p99_us"], 2),
            "ours_rss_after_load_mib": max(r["rss_mib"] for r in runs if r["server"] == "ours" and r["kind"] == kind),
        }
    # CPU microseconds per request on each rung, and what the rung adds.
    ladder, below = [], None
    for server in LADDER:
        cpu_us = 1e6 / median(server, "post", "per_cpu_s")
        ladder.append({"server": server, "cpu_us": round(cpu_us, 2),
                       "adds_us": None if below is None else round(cpu_us - below, 2),
                       "per_cpu_s": round(median(server, "post", "per_cpu_s")),
                       "p99_us": round(median(server, "post", "p99_us"))})
        below = cpu_us
    print(json.dumps({"seconds": seconds, "repeats": repeats, "summary": summary, "ladder": ladder,
                      "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
