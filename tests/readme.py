"""Runs the README's curl examples against the real API and checks each
answer against the one the README shows after it (`# {...}` lines), where
it shows a whole JSON body; an abbreviated one (`...`) only has to parse.

Usage: python3 tests/readme.py HOST:PORT   (tests/readme.sh runs it; stdlib only)
"""
from __future__ import annotations

import json
import re
import subprocess
import sys

ADDR = sys.argv[1]
README = open("README.md", encoding="utf-8").read()


def examples() -> list[tuple[str, list[str]]]:
    """(command, documented answer) for every curl example of a sh block."""
    found = []
    for block in re.findall(r"```sh\n(.*?)```", README, re.S):
        if "API_KEY=" in block:  # needs a server started with a key
            continue
        lines = block.splitlines()
        i = 0
        while i < len(lines):
            if not lines[i].startswith("curl "):
                i += 1
                continue
            command = [lines[i]]
            # A command goes on after a trailing backslash or inside an open quote.
            while (command[-1].endswith("\\") or "\n".join(command).count("'") % 2) and i + 1 < len(lines):
                i += 1
                command.append(lines[i])
            answer = []
            while i + 1 < len(lines) and lines[i + 1].startswith("#"):
                i += 1
                answer.append(lines[i][2:] if lines[i].startswith("# ") else lines[i][1:])
            found.append(("\n".join(command), answer))
            i += 1
    return found


def same(got, want) -> bool:
    """Equal JSON, floats within 1e-9 relative (their last digits may differ between CPUs)."""
    if isinstance(want, float) and isinstance(got, (int, float)) and not isinstance(got, bool):
        return abs(got - want) <= 1e-9 * max(abs(want), 1e-300)
    if isinstance(want, dict):
        return isinstance(got, dict) and got.keys() == want.keys() and all(same(got[k], want[k]) for k in want)
    if isinstance(want, list):
        return isinstance(got, list) and len(got) == len(want) and all(same(g, w) for g, w in zip(got, want))
    return got == want


def main() -> int:
    failures = 0
    ran = 0
    for command, documented in examples():
        if "127.0.0.1:8000" not in command or "| head" in command or "| grep" in command or "-si " in command:
            continue
        out = subprocess.run(["bash", "-c", command.replace("127.0.0.1:8000", ADDR)], capture_output=True, text=True, timeout=60)
        ran += 1
        if documented and not documented[0].lstrip().startswith("{"):
            # A CSV answer: the lines as shown.
            if out.stdout.splitlines() != documented:
                print(f"FAIL {command}\n  README: {documented}\n  got:    {out.stdout.splitlines()}")
                failures += 1
            continue
        try:
            got = json.loads(out.stdout)
        except json.JSONDecodeError:
            print(f"FAIL not JSON: {command}\n{out.stdout[:300]}")
            failures += 1
            continue
        shown = " ".join(line.strip() for line in documented)
        if not shown or "..." in shown or "…" in shown:
            continue
        want = json.loads(shown)
        if isinstance(got, dict):
            got.pop("request_id", None)
            want.pop("request_id", None)
        if not same(got, want):
            print(f"FAIL {command}\n  README: {want}\n  got:    {got}")
            failures += 1
    print(f"{ran} README examples run, {failures} failed")
    return 1 if failures or ran == 0 else 0


if __name__ == "__main__":
    raise SystemExit(main())
