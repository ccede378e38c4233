"""A real repository: 450 small models (the three test zoos, some twice,
under other names) in one MODELS_DIR, none with a card. Starts the API on it
a few times and reports, as medians: the time from start to ready (the API's
own `startup_ms`, and the wall clock to the first 200 of /readyz), the RSS
once ready, how many models serve, and GET /models: its size and latency.

Usage: python3 bench/repository.py [API_BINARY] [RUNS]
       (default target/release/api, 3 runs; 127.0.0.1 only, stdlib only)
"""
from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from serving import memory_mib

ROOT = Path(__file__).resolve().parent.parent
ZOOS = [ROOT / "crates/onnx-ml/tests" / s for s in ("zoo", "pipelines", "gbm")]
MODELS = 450


def repository(into: Path) -> int:
    """Fills `into` with MODELS cardless model files; answers how many."""
    files = sorted(f for zoo in ZOOS for f in zoo.glob("*.onnx"))
    copies = 0
    while copies < MODELS:
        for f in files:
            if copies == MODELS:
                break
            suffix = "" if copies < len(files) else f"-copy{copies // len(files)}"
            name = f"{f.parent.name}-{f.stem}{suffix}".replace("_", "-")
            shutil.copy(f, into / f"{name}.onnx")
            copies += 1
    return copies


def get(url: str) -> tuple[int, bytes, float]:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as r:
        body = r.read()
        return r.status, body, time.perf_counter() - started


def one_run(binary: str, models: Path, port: int) -> dict:
    env = dict(os.environ, HOST="127.0.0.1", PORT=str(port), MODELS_DIR=str(models), MODELS_WATCH="off",
               DEFAULT_MODEL=sorted(p.stem for p in models.glob("*.onnx"))[0], LOG_FORMAT="json",
               RUST_LOG="warn,api=info")
    started = time.perf_counter()
    proc = subprocess.Popen([binary], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        startup_ms = None
        for line in proc.stdout:
            event = json.loads(line) if line.startswith("{") else {}
            if event.get("message") == "ready":
                startup_ms = event.get("startup_ms")
                break
        url = f"http://127.0.0.1:{port}"
        while True:
            try:
                status, body, _ = get(f"{url}/readyz")
                break
            except OSError:
                time.sleep(0.005)
        wall_ms = (time.perf_counter() - started) * 1000
        ready = json.loads(body)
        rss = memory_mib(proc.pid, "VmRSS")
        listing = [get(f"{url}/models") for _ in range(20)]
        return {
            "startup_ms": startup_ms,
            "wall_ms": wall_ms,
            "rss_mib": rss,
            # An older binary listed every name and failure instead of counting.
            "served": ready.get("model_count", len(ready["models"])),
            "failed": ready.get("failure_count", len(ready.get("failures", []))),
            "readyz_bytes": len(body),
            "models_bytes": len(listing[0][1]),
            "models_ms": statistics.median(t for _, _, t in listing) * 1000,
        }
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    binary = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "target/release/api")
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    with tempfile.TemporaryDirectory() as tmp:
        models = Path(tmp)
        count = repository(models)
        results = [one_run(binary, models, 18950 + i) for i in range(runs)]
    median = {k: statistics.median(r[k] for r in results) for k in results[0]}
    print(f"{count} models, {runs} runs (medians):")
    print(f"  ready: {median['startup_ms']:.0f} ms after start (its log), {median['wall_ms']:.0f} ms wall clock to the first /readyz")
    print(f"  served {median['served']:.0f}, failed {median['failed']:.0f}; RSS {median['rss_mib']:.1f} MiB")
    print(f"  /readyz {median['readyz_bytes']:.0f} bytes; GET /models {median['models_bytes'] / 1024:.1f} KiB in {median['models_ms']:.2f} ms")
    print("REPOSITORY_JSON " + json.dumps({"models": count, "runs": results, "median": median}))


if __name__ == "__main__":
    main()
