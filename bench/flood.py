"""Connection flood: IDLE idle keep-alive connections (each has made one
request) and SLOW clients that never finish their headers, held open while
one client makes normal requests. Reports the normal requests' p50/p99 and
the API's RSS before and during the flood. 127.0.0.1 only; bounded.

Usage: python3 bench/flood.py <release dir> <models dir> [idle] [slow] [seconds]
Prints JSON. Raises this process's open-file limit as far as it may.
"""
from __future__ import annotations

import http.client
import json
import resource
import socket
import sys
import time
from pathlib import Path

from serving import memory_mib, start, stop

release, models = Path(sys.argv[1]), sys.argv[2]
idle_n = int(sys.argv[3]) if len(sys.argv) > 3 else 5000
slow_n = int(sys.argv[4]) if len(sys.argv) > 4 else 500
seconds = float(sys.argv[5]) if len(sys.argv) > 5 else 5
PORT = 18600
ROW = json.dumps({"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2})


def normal(duration: float) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
    took = []
    end = time.monotonic() + duration
    while time.monotonic() < end:
        started = time.monotonic()
        conn.request("POST", "/predict", body=ROW, headers={"content-type": "application/json"})
        conn.getresponse().read()
        took.append(time.monotonic() - started)
    conn.close()
    return sorted(took)


def pct(xs: list[float], q: float) -> float:
    return round(xs[min(len(xs) - 1, int(len(xs) * q))] * 1000, 3)


def main() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, idle_n + slow_n + 1024)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))
    api = start([str(release / "api"), "--host", "127.0.0.1", "--port", str(PORT), "--models-dir", models],
                {"RUST_LOG": "warn"}, f"http://127.0.0.1:{PORT}/readyz")
    quiet = normal(seconds)
    rss_before = memory_mib(api.pid, "VmRSS")
    held = []
    for _ in range(idle_n):
        s = socket.create_connection(("127.0.0.1", PORT))
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        s.recv(4096)
        held.append(s)
    for _ in range(slow_n):
        s = socket.create_connection(("127.0.0.1", PORT))
        s.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\n")
        held.append(s)
    loud = normal(seconds)
    rss_during = memory_mib(api.pid, "VmRSS")
    for s in held:
        s.close()
    stop(api)
    print(json.dumps({"idle_keep_alive": idle_n, "slow_headers": slow_n,
                      "quiet": {"requests": len(quiet), "p50_ms": pct(quiet, 0.5), "p99_ms": pct(quiet, 0.99)},
                      "flooded": {"requests": len(loud), "p50_ms": pct(loud, 0.5), "p99_ms": pct(loud, 0.99)},
                      "rss_before_mib": round(rss_before, 1), "rss_during_mib": round(rss_during, 1)}, indent=1))


if __name__ == "__main__":
    main()
