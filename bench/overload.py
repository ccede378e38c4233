"""Overload: many more concurrent batch requests than MAX_CONCURRENT_PREDICTIONS.
Does every client get an answer (200, or 503 with Retry-After), with no
resets, no timeouts and no other 5xx, and does the server answer normally
right after? Plain http.client keep-alive clients; 127.0.0.1 only; bounded.

The flood runs in its own process at the lowest CPU priority (nice 19), as
if it were on other machines: on this 2-core box a Python load generator
otherwise takes the CPU the server needs and its own thread scheduling
shows up as latency. A separate probe, one keep-alive client sending a batch
every 20 ms, measures what an admitted request costs during the flood
against the same probe before it.

Usage: python3 bench/overload.py <release dir> <models dir> [clients] [seconds] [permits]
Prints JSON.
"""
from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from serving import memory_mib, start
from serving import stop as stop_service

release, models = Path(sys.argv[1]), sys.argv[2]
clients = int(sys.argv[3]) if len(sys.argv) > 3 else 160
seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 8
permits = sys.argv[5] if len(sys.argv) > 5 else "8"
PORT = 18500
ROW = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
BODY = json.dumps({"instances": [ROW] * 2000}).encode()

counts: dict[str, int] = {}
latencies_200: list[float] = []
lock = threading.Lock()
stop = threading.Event()


def add(key: str, latency: float | None = None) -> None:
    with lock:
        counts[key] = counts.get(key, 0) + 1
        if latency is not None:
            latencies_200.append(latency)


def client() -> None:
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    while not stop.is_set():
        started = time.monotonic()
        try:
            conn.request("POST", "/predict/batch", body=BODY, headers={"content-type": "application/json"})
            response = conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException) as e:
            add(f"error {type(e).__name__}")
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
            continue
        if response.status == 200:
            add("200", time.monotonic() - started)
        elif response.status == 503 and response.getheader("retry-after"):
            add("503 with Retry-After")
        else:
            add(f"status {response.status}")


def p50(xs: list[float]) -> float | None:
    xs = sorted(xs)
    return round(xs[len(xs) // 2] * 1000, 1) if xs else None


def p99(xs: list[float]) -> float | None:
    xs = sorted(xs)
    return round(xs[int(len(xs) * 0.99)] * 1000, 1) if xs else None


def flood() -> None:
    """The flood itself (run niced in its own process): prints the answer counts."""
    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join(timeout=35)
    print(json.dumps(counts))


def probe(until: float) -> tuple[list[float], dict[str, int]]:
    """One client posting the batch every 20 ms until `until`: latencies of its 200s, and its answers."""
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    latencies, answers = [], {}
    while time.monotonic() < until:
        started = time.monotonic()
        conn.request("POST", "/predict/batch", body=BODY, headers={"content-type": "application/json"})
        response = conn.getresponse()
        response.read()
        took = time.monotonic() - started
        answers[str(response.status)] = answers.get(str(response.status), 0) + 1
        if response.status == 200:
            latencies.append(took)
        time.sleep(max(0.0, 0.02 - took))
    conn.close()
    return latencies, answers


def main() -> None:
    api = start([str(release / "api"), "--host", "127.0.0.1", "--port", str(PORT), "--models-dir", models],
                {"RUST_LOG": "warn", "MAX_CONCURRENT_PREDICTIONS": permits}, f"http://127.0.0.1:{PORT}/readyz")
    probe(time.monotonic() + 0.5)  # warm up: the first requests pay for lazy set-up
    alone, _ = probe(time.monotonic() + 3)
    load = subprocess.Popen(["nice", "-n", "19", sys.executable, __file__, str(release), models, str(clients),
                             str(seconds), permits, "flood"], stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ))
    time.sleep(1)  # let the flood reach full strength
    admitted, probe_answers = probe(time.monotonic() + seconds - 2)
    out, _ = load.communicate(timeout=seconds + 60)
    answers = json.loads(out.strip().splitlines()[-1])
    after_started = time.monotonic()
    urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{PORT}/predict/batch", data=BODY,
                                                  headers={"content-type": "application/json"}), timeout=10).read()
    after = time.monotonic() - after_started
    rss = memory_mib(api.pid)
    stop_service(api)
    print(json.dumps({"clients": clients, "seconds": seconds, "max_concurrent_predictions": int(permits),
                      "rows_per_request": 2000, "answers": answers, "probe_answers": probe_answers,
                      "p50_alone_ms": p50(alone), "p99_alone_ms": p99(alone),
                      "p50_admitted_ms": p50(admitted), "p99_admitted_ms": p99(admitted),
                      "first_answer_after_load_ms": round(after * 1000, 1),
                      "peak_rss_mib": round(rss, 1)}, indent=1))


if __name__ == "__main__":
    flood() if sys.argv[-1] == "flood" else main()
