"""Runs the curl examples of README.md and of every docs/*.md page against the
real API and checks each answer against the one the page shows after it
(`# {...}` lines), where it shows a whole JSON body; an abbreviated one
(`...` or `…`) has to parse and hold every key shown; a CSV answer must match line for line.

Only commands it can check are run: those of ```sh blocks that start with
`curl` (or `printf ... |` piping into curl) and call the default server,
127.0.0.1:8000. Blocks that start a server with `API_KEY=` are skipped (they
need a server of their own), and so are commands piped into `head` or
`grep` and `curl -si`. A page with curl examples of the default server of
which none ran is a failure. It also checks that the endpoint tables of
README.md and docs/api.md list the same endpoints (a Rust test checks the
README's against the OpenAPI document).

Usage: python3 tests/readme.py HOST:PORT   (tests/readme.sh runs it; stdlib only)
"""
from __future__ import annotations

import glob
import json
import re
import subprocess
import sys

ADDR = sys.argv[1]
DEFAULT = "127.0.0.1:8000"
# Keys whose values change from run to run: not compared.
VOLATILE = ("request_id", "took_ms")


def pages() -> list[str]:
    """README.md, then every docs page in name order."""
    return ["README.md"] + sorted(glob.glob("docs/*.md"))


def examples(text: str) -> list[tuple[int, str, list[str], bool]]:
    """(line, command, documented answer, needs a keyed server) for every
    curl command of a sh block, in order."""
    found = []
    for block in re.finditer(r"```sh\n(.*?)```", text, re.S):
        keyed = "API_KEY=" in block.group(1)
        first_line = text.count("\n", 0, block.start(1)) + 1
        lines = block.group(1).splitlines()
        i = 0
        while i < len(lines):
            line = lines[i]
            if not (line.startswith("curl ") or (line.startswith("printf ") and line.rstrip().endswith("|"))):
                i += 1
                continue
            start = i
            command = [line]
            # A command goes on after a trailing backslash or pipe, or inside an open quote.
            while (
                command[-1].endswith("\\") or command[-1].rstrip().endswith("|") or "\n".join(command).count("'") % 2
            ) and i + 1 < len(lines):
                i += 1
                command.append(lines[i])
            answer = []
            while i + 1 < len(lines) and lines[i + 1].startswith("#"):
                i += 1
                answer.append(lines[i][2:] if lines[i].startswith("# ") else lines[i][1:])
            joined = "\n".join(command)
            if "curl " in joined:
                found.append((first_line + start, joined, answer, keyed))
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


def check(command: str, documented: list[str]) -> str | None:
    """Runs one example; the failure, or None."""
    out = subprocess.run(
        ["bash", "-c", command.replace(DEFAULT, ADDR)], capture_output=True, text=True, timeout=60
    )
    if documented and not documented[0].lstrip().startswith("{"):
        # A CSV answer: the lines as shown.
        if out.stdout.splitlines() != documented:
            return f"  shown: {documented}\n  got:   {out.stdout.splitlines()}"
        return None
    try:
        got = json.loads(out.stdout)
    except json.JSONDecodeError:
        return f"  not JSON: {out.stdout[:300]!r} {out.stderr[:200]!r}"
    shown = " ".join(line.strip() for line in documented)
    if not shown:
        return None
    if "..." in shown or "…" in shown:
        # Abbreviated: every key the page shows must be in the answer (an
        # error body parses as JSON too, but has none of them).
        text = json.dumps(got, separators=(",", ":"))
        absent = [k for k in re.findall(r'"(\w+)":', shown) if f'"{k}":' not in text]
        return f"  keys shown but not answered: {absent}\n  got: {text[:300]}" if absent else None
    want = json.loads(shown)
    if isinstance(got, dict) and isinstance(want, dict):
        for key in VOLATILE:
            got.pop(key, None)
            want.pop(key, None)
    if not same(got, want):
        return f"  shown: {want}\n  got:   {got}"
    return None


def endpoints(text: str) -> set[tuple[str, str]]:
    """The (method, path) rows of a page's endpoint tables, as the Rust test reads them."""
    found = set()
    for line in text.splitlines():
        if not line.startswith("| `"):
            continue
        cell = line[3:].split("`", 1)[0]
        method, _, path = cell.partition(" ")
        if method in ("GET", "POST") and path:
            found.add((method, path))
    return found


def main() -> int:
    failures = 0
    total = 0
    for page in pages():
        text = open(page, encoding="utf-8").read()
        ran = failed = skipped = of_default = 0
        for line, command, documented, keyed in examples(text):
            if DEFAULT not in command:
                continue
            if keyed:
                skipped += 1
                continue
            of_default += 1
            if "| head" in command or "| grep" in command or "-si " in command:
                skipped += 1
                continue
            ran += 1
            problem = check(command, documented)
            if problem:
                failed += 1
                print(f"FAIL {page}:{line}: {command.splitlines()[0]}\n{problem}")
        if of_default and not ran:
            failed += 1
            print(f"FAIL {page}: {of_default} curl example(s) of the default server, none of them checkable")
        if ran or skipped or failed:
            print(f"{page}: {ran} examples run, {failed} failed, {skipped} skipped")
        failures += failed
        total += ran

    readme, api = (endpoints(open(p, encoding="utf-8").read()) for p in ("README.md", "docs/api.md"))
    if readme != api:
        failures += 1
        print(
            "FAIL the endpoint tables disagree:\n"
            f"  only in README.md:   {sorted(readme - api)}\n  only in docs/api.md: {sorted(api - readme)}"
        )
    print(f"{total} examples run in all, {failures} failed")
    return 1 if failures or total == 0 else 0


if __name__ == "__main__":
    raise SystemExit(main())
