"""Model swaps under steady load: the release API serves a cardless model
`flower` to 8 keep-alive clients while its file is replaced 10 times by
another good export and 5 times by a truncated one (each through a
temporary name and a rename, as docs/models.md says). Counts failed requests,
times each swap from the rename to the first answer from the new file, and
checks a truncated file never changes an answer. 127.0.0.1 only; about 40 s.

Usage: python3 bench/reload.py [target/release/api]
"""
from __future__ import annotations

import http.client
import json
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from serving import start, stop  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ZOO = ROOT / "crates/onnx-ml/tests/zoo"
GOOD = [ZOO / "iris_logistic_default_op17.onnx", ZOO / "iris_gboost_default_op17.onnx"]
ROW = json.dumps({"f0": 6.3, "f1": 2.8, "f2": 5.1, "f3": 1.5}).encode()
CLIENTS = 8


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Load:
    """Clients posting ROW until stopped; each answer's probabilities and when it came."""

    def __init__(self, port: int):
        self.port, self.stop_flag = port, threading.Event()
        self.ok = self.failed = 0
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.latest: tuple[float, str] = (0.0, "")
        self.answers: list[tuple[float, str]] = []
        self.threads = [threading.Thread(target=self.client, daemon=True) for _ in range(CLIENTS)]
        for t in self.threads:
            t.start()

    def client(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        while not self.stop_flag.is_set():
            try:
                conn.request("POST", "/models/flower/predict", ROW, {"content-type": "application/json"})
                r = conn.getresponse()
                body = r.read()
                now = time.monotonic()
                with self.lock:
                    if r.status == 200:
                        self.ok += 1
                        answer = json.dumps(json.loads(body)["probabilities"], sort_keys=True)
                        self.answers.append((now, answer))
                        self.latest = (now, answer)
                    else:
                        self.failed += 1
                        self.errors.append(f"{r.status} {body[:200]!r}")
            except (OSError, http.client.HTTPException) as e:
                with self.lock:
                    self.failed += 1
                    self.errors.append(repr(e))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)

    def answer_after(self, t: float) -> str:
        """The first answer given after monotonic time `t`."""
        while True:
            with self.lock:
                at, answer = self.latest
            if at > t:
                return answer
            time.sleep(0.001)

    def stop(self) -> None:
        self.stop_flag.set()
        for t in self.threads:
            t.join()


def place(src_bytes: bytes, dst: Path) -> float:
    """Writes under a temporary name, renames into place; returns when it was renamed."""
    part = dst.with_suffix(".part")
    part.write_bytes(src_bytes)
    part.rename(dst)
    return time.monotonic()


def get(port: int, path: str) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path)
    return json.loads(conn.getresponse().read())


def main() -> None:
    binary = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "target/release/api")
    with tempfile.TemporaryDirectory() as tmp:
        models = Path(tmp)
        shutil.copytree(ROOT / "models/iris", models / "iris")
        flower = models / "flower" / "model.onnx"
        flower.parent.mkdir()
        shutil.copy(GOOD[0], flower)
        port = free_port()
        proc = start([binary], {"PORT": str(port), "HOST": "127.0.0.1", "MODELS_DIR": str(models),
                                "LOG_FORMAT": "json"}, f"http://127.0.0.1:{port}/readyz")
        load = Load(port)
        time.sleep(2)
        swaps, load_ms, unchanged_after_bad = [], [], 0
        current = 0
        for round_ in range(15):
            if round_ % 3 == 2:
                before = load.answer_after(time.monotonic())
                data = GOOD[1 - current].read_bytes()
                renamed = place(data[: len(data) // 2], flower)
                time.sleep(1.5)
                failures = get(port, "/models")["failures"]
                after = load.answer_after(time.monotonic())
                unchanged_after_bad += int(after == before and any(f["model"] == "flower" for f in failures))
                continue
            current = 1 - current
            renamed = place(GOOD[current].read_bytes(), flower)
            old = load.answer_after(renamed - 1)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                with load.lock:
                    changed = [t for t, a in load.answers if t >= renamed and a != old]
                if changed:
                    swaps.append((min(changed) - renamed) * 1000)
                    break
                time.sleep(0.005)
            with load.lock:
                load.answers.clear()
            load_ms.append(get(port, "/models/flower")["status"]["load_ms"])
            time.sleep(0.5)
        time.sleep(1)
        load.stop()
        stop(proc)
    print(f"clients {CLIENTS}, requests {load.ok + load.failed}, failed {load.failed}")
    if load.errors:
        print("  first errors:", load.errors[:3])
    print(f"good swaps {len(swaps)}/10: rename -> first new answer p50 {statistics.median(swaps):.0f} ms, "
          f"max {max(swaps):.0f} ms (of which the {500} ms quiet period); load+check+warm-up "
          f"p50 {statistics.median(load_ms):.0f} ms")
    print(f"truncated files 5: answers unchanged and failure reported in {unchanged_after_bad}/5")
    if load.failed or len(swaps) != 10 or unchanged_after_bad != 5:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
