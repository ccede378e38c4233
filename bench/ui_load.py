"""The UI's share of the benchmark: first-load weight, and the server time
to render a result page (UI -> API -> HTML) under load, with RSS.

Usage: python3 bench/ui_load.py <release dir> <models dir> <seconds>; prints JSON.
Stdlib only; wrk on PATH. Traffic goes to 127.0.0.1 only.
"""
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

release, models, seconds = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
here = Path(__file__).resolve().parent
API, UI = "http://127.0.0.1:18100", "http://127.0.0.1:18501"
RESULT = "/models/iris?sepal_length=6.7&sepal_width=3.0&petal_length=5.2&petal_width=2.3"


def wait(url: str) -> float:
    start = time.monotonic()
    while time.monotonic() - start < 30:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return (time.monotonic() - start) * 1000
        except OSError:
            time.sleep(0.005)
    raise SystemExit(f"{url} never answered")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def get(path: str) -> bytes:
    with urllib.request.urlopen(UI + path, timeout=5) as r:
        return r.read()


def wrk(url: str, connections: int) -> dict:
    out = subprocess.run(
        ["timeout", str(seconds + 5), "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(here / "get.lua"), url],
        capture_output=True, text=True, check=True,
    ).stdout
    data = json.loads(next(l for l in out.splitlines() if l.startswith("WRK_JSON "))[9:])
    data["rps"] = data["requests"] / (data["duration_us"] / 1e6)
    return data


env = {**os.environ, "RUST_LOG": "warn", "LOG_FORMAT": "json"}
api = subprocess.Popen([release / "api", "--host", "127.0.0.1", "--port", "18100", "--models-dir", models], env=env, stdout=subprocess.DEVNULL)
try:
    wait(API + "/readyz")
    spawned = time.monotonic()
    ui = subprocess.Popen([release / "ui", "--host", "127.0.0.1", "--port", "18501", "--api-url", API], env=env, stdout=subprocess.DEVNULL)
    try:
        cold = wait(UI + "/healthz")
        home = get("/")
        css_path = re.search(rb'href="(/assets/style\.[0-9a-f]+\.css)"', home).group(1).decode()
        css = get(css_path)
        form = get("/models/iris")
        result = get(RESULT)
        rss_idle = rss_mib(ui.pid)
        load = wrk(UI + RESULT, 8)
        print(json.dumps({
            "ui_cold_start_ms": round(cold, 1),
            "first_load_requests": 2,  # the page and its one stylesheet; the favicon is inline
            "first_load_bytes": len(home) + len(css),
            "home_bytes": len(home), "css_bytes": len(css), "form_bytes": len(form), "result_bytes": len(result),
            "ui_rss_idle_mib": round(rss_idle, 1),
            "result_page_rps": round(load["rps"], 1),
            "result_page_p50_ms": load["p50_us"] / 1000,
            "result_page_p99_ms": load["p99_us"] / 1000,
            "result_page_errors": load["errors_status"] + load["errors_timeout"],
            "ui_rss_after_load_mib": round(rss_mib(ui.pid), 1),
            "api_rss_after_load_mib": round(rss_mib(api.pid), 1),
        }, indent=1))
    finally:
        ui.send_signal(signal.SIGTERM)
        ui.wait(10)
finally:
    api.send_signal(signal.SIGTERM)
    api.wait(10)
