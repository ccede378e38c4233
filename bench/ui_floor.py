"""The UI's floor: our UI's result page against the simplest axum app
rendering the same askama template from answers fetched once
(crates/ui/examples/floor-ui.rs: same axum, no middleware, no API call), loaded
by the same wrk (1 thread, 8 connections), interleaved, on the same URL.
Pages per second, per CPU-second of the UI process (from /proc; the API's
CPU for ours is reported beside it) and p99, and the ratios ours ÷ floor.
127.0.0.1 only.

Usage: python3 bench/ui_floor.py <release dir> <models dir> [seconds] [repeats]
Prints JSON: each run, the medians and ratios.
"""
from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

from serving import cpu_seconds, start, stop, wrk

release, models = Path(sys.argv[1]), sys.argv[2]
seconds = int(sys.argv[3]) if len(sys.argv) > 3 else 10
repeats = int(sys.argv[4]) if len(sys.argv) > 4 else 3
API, UI = 18110, 18510
QUERY = "sepal_length=6.7&sepal_width=3.0&petal_length=5.2&petal_width=2.3"
HERE = Path(__file__).parent
SERVERS = {
    "ours": [str(release / "ui"), "--host", "127.0.0.1", "--port", str(UI), "--api-url", f"http://127.0.0.1:{API}"],
    "floor": [str(release / "examples" / "floor-ui"), str(UI), f"http://127.0.0.1:{API}", "iris", QUERY],
}


def run(api_pid: int, server: str) -> dict:
    proc = start(SERVERS[server], {}, f"http://127.0.0.1:{UI}/models/iris?{QUERY}")
    try:
        api_before = cpu_seconds(api_pid)
        r, cpu = wrk(proc.pid, ["-t1", "-c8", f"-d{seconds}s", "--latency", "-s", str(HERE / "get.lua"),
                                f"http://127.0.0.1:{UI}/models/iris?{QUERY}"], {})
        api_cpu = cpu_seconds(api_pid) - api_before
    finally:
        stop(proc)
    if r["errors_status"] or r["errors_timeout"]:
        raise SystemExit(f"{server}: {r['errors_status']} bad statuses, {r['errors_timeout']} timeouts")
    return {"server": server, "per_s": r["requests"] / (r["duration_us"] / 1e6),
            "per_cpu_s": r["requests"] / cpu, "api_cpu_us_per_page": api_cpu / r["requests"] * 1e6,
            "p99_us": r["p99_us"]}


def main() -> None:
    api = start([str(release / "api"), "--host", "127.0.0.1", "--port", str(API), "--models-dir", models], {},
                f"http://127.0.0.1:{API}/readyz")
    try:
        runs = [run(api.pid, server) for _ in range(repeats) for server in SERVERS]
    finally:
        stop(api)
    med = {s: {k: statistics.median(r[k] for r in runs if r["server"] == s)
               for k in ("per_s", "per_cpu_s", "p99_us", "api_cpu_us_per_page")} for s in SERVERS}
    summary = {
        **{f"{s}_{k}": round(v) for s, m in med.items() for k, v in m.items() if k != "api_cpu_us_per_page"},
        "ours_api_cpu_us_per_page": round(med["ours"]["api_cpu_us_per_page"], 1),
        "per_s_ratio": round(med["ours"]["per_s"] / med["floor"]["per_s"], 3),
        "per_cpu_s_ratio": round(med["ours"]["per_cpu_s"] / med["floor"]["per_cpu_s"], 3),
        "p99_ratio": round(med["ours"]["p99_us"] / med["floor"]["p99_us"], 2),
    }
    print(json.dumps({"seconds": seconds, "repeats": repeats, "summary": summary, "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
