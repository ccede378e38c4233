"""SIGTERM under steady keep-alive load: do accepted requests get answered?

Starts the service, runs CLIENTS keep-alive clients (plain http.client, one
connection each, reconnecting when the server asks them to close or refuses)
for a second, sends SIGTERM, and keeps them going until the process exits.
A request is *lost* when it was written on an open connection and no answer
came back; a refused or reset *connect* is not a loss (the request was never
accepted). With `wrk`, wrk (2 threads, 48 connections) loads the same route
at the same time, so the drain happens at full load; wrk cannot tell a lost
request from a connection refused after the exit, so the counting is the
instrumented clients'. Prints JSON; traffic to 127.0.0.1 only, bounded.

Targets: `api` (POST /predict), `batch` (POST /models/iris/predict/batch,
1,000 rows), `ui` (a result page, the UI calling the API).

Usage: [SHUTDOWN_GRACE_MS=…] python3 bench/sigterm.py <release dir> <models dir> api|batch|ui [clients] [wrk]
"""
from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from serving import start

release, models, which = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
clients = int(sys.argv[4]) if len(sys.argv) > 4 else 16
with_wrk = len(sys.argv) > 5 and sys.argv[5] == "wrk"
API_PORT, UI_PORT = 18400, 18401
ROW = json.dumps({"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2})
BATCH = json.dumps({"instances": [json.loads(ROW)] * 1000})
LUA = str(Path(__file__).with_name("drain.lua"))
# SHUTDOWN_GRACE_MS=0 closes idle connections at once: the behaviour before the drain.
GRACE = os.environ.get("SHUTDOWN_GRACE_MS", "1000")
RESULT = "/models/iris?sepal_length=6.7&sepal_width=3.0&petal_length=5.2&petal_width=2.3"


counts = {"answered": 0, "closed_by_server_after_answer": 0, "lost": 0, "refused": 0, "non_200": 0}
lock = threading.Lock()
stop = threading.Event()


def add(key: str) -> None:
    with lock:
        counts[key] += 1


def client(port: int) -> None:
    conn: http.client.HTTPConnection | None = None
    while not stop.is_set():
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                conn.connect()
            except OSError:
                add("refused")
                conn = None
                time.sleep(0.01)
                continue
        try:
            if which == "api":
                conn.request("POST", "/predict", body=ROW, headers={"content-type": "application/json"})
            elif which == "batch":
                conn.request("POST", "/models/iris/predict/batch", body=BATCH,
                             headers={"content-type": "application/json"})
            else:
                conn.request("GET", RESULT)
        except OSError:
            # The connection was already closed before the request went out.
            add("refused")
            conn.close()
            conn = None
            continue
        try:
            response = conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            add("lost")
            conn.close()
            conn = None
            continue
        add("answered" if response.status == 200 else "non_200")
        if response.getheader("connection", "").lower() == "close":
            add("closed_by_server_after_answer")
            conn.close()
            conn = None


def main() -> None:
    api = start([str(release / "api"), "--host", "127.0.0.1", "--port", str(API_PORT), "--models-dir", models],
                {"RUST_LOG": "warn", "SHUTDOWN_GRACE_MS": GRACE}, f"http://127.0.0.1:{API_PORT}/readyz")
    ui = None
    target = api
    if which == "ui":
        ui = start([str(release / "ui")], {"HOST": "127.0.0.1", "PORT": str(UI_PORT), "RUST_LOG": "warn",
                                           "SHUTDOWN_GRACE_MS": GRACE,
                                           "API_URL": f"http://127.0.0.1:{API_PORT}"}, f"http://127.0.0.1:{UI_PORT}/healthz")
        target = ui
    port = UI_PORT if which == "ui" else API_PORT
    wrk = None
    if with_wrk:
        body = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
        body.write({"api": ROW, "batch": BATCH}.get(which, ""))
        body.close()
        path = {"api": "/predict", "batch": "/models/iris/predict/batch"}.get(which, RESULT)
        wrk = subprocess.Popen(["wrk", "-t2", "-c48", "-d5s", "--timeout", "10s", "-s", LUA,
                                f"http://127.0.0.1:{port}{path}"],
                               env={"BODY_FILE": body.name if which != "ui" else "", "PATH": "/usr/bin:/bin"},
                               stdout=subprocess.PIPE, text=True)
    threads = [threading.Thread(target=client, args=(port,), daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    with lock:
        before = counts["answered"]
    signalled = time.monotonic()
    target.send_signal(signal.SIGTERM)
    code = target.wait(timeout=60)
    exited_after = time.monotonic() - signalled
    stop.set()
    for t in threads:
        t.join(timeout=35)
    if ui is not None:
        api.send_signal(signal.SIGTERM)
        api.wait(timeout=60)
    wrk_counts = {}
    if wrk is not None:
        out, _ = wrk.communicate(timeout=60)
        line = next((l for l in out.splitlines() if l.startswith("WRK_JSON ")), "WRK_JSON {}")
        wrk_counts = {"wrk_" + k: v for k, v in json.loads(line.removeprefix("WRK_JSON ")).items()}
    print(json.dumps({"service": which, "grace_ms": int(GRACE), "clients": clients, "answered_before_signal": before, **counts,
                      "exit_code": code, "exit_after_s": round(exited_after, 3), **wrk_counts}, indent=1))


if __name__ == "__main__":
    main()
