"""What the load scripts share: start a service and wait until it answers,
stop it, and read its memory and CPU time from /proc. Stdlib only; 127.0.0.1 only."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path


def start(cmd: list[str], env: dict, health: str) -> subprocess.Popen:
    """Runs `cmd` with `env` added, in its own session, until `health` answers 200 (at most 60 s)."""
    proc = subprocess.Popen(cmd, env=dict(os.environ, **env), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(health, timeout=1) as r:
                if r.status == 200:
                    if proc.poll() is not None:
                        raise SystemExit(f"{cmd[0]} exited; something else answers {health}")
                    return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"{health} never answered")


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM to the service's whole session (workers included), then waits."""
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=60)


def memory_mib(pid: int, field: str = "VmHWM") -> float:
    """`VmHWM` (peak RSS) or `VmRSS` of `pid`, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


TICKS = os.sysconf("SC_CLK_TCK")


def tree(pid: int) -> list[int]:
    """pid and every descendant (uvicorn workers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def cpu_seconds(pid: int) -> float:
    total = 0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total / TICKS


def wrk(pid: int, args: list[str], env: dict) -> tuple[dict, float]:
    """Runs wrk with `args` (a script of ours that prints a WRK_JSON line) and
    `env` added: its summary, and the CPU seconds service `pid` spent meanwhile."""
    before = cpu_seconds(pid)
    out = subprocess.run(["wrk", *args], capture_output=True, text=True, check=True, env=dict(os.environ, **env))
    cpu = cpu_seconds(pid) - before
    line = next(l for l in out.stdout.splitlines() if l.startswith("WRK_JSON "))
    return json.loads(line.removeprefix("WRK_JSON ")), cpu
