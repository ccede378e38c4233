"""Prints the benchmark's tables (Markdown) from one results folder.

Usage: python3 bench/report.py target/bench/results/<stamp>
Reads the peer's bench.py summary (api/summary.json; absent when the peer
was skipped), criterion's estimates under target/criterion/, ui.json,
floor.json, ui_floor.json, ort.json, formats.json and monitoring.json. Stdlib only.
"""
import json
import os
import platform
import sys
from pathlib import Path

results = Path(sys.argv[1])
criterion = Path(os.environ.get("CARGO_TARGET_DIR", "target")) / "criterion"


def criterion_estimates() -> dict:
    """(group, function) -> mean seconds per iteration, and elements per iteration."""
    found = {}
    for bench in criterion.glob("**/new/benchmark.json"):
        meta = json.loads(bench.read_text())
        est = json.loads((bench.parent / "estimates.json").read_text())
        elements = (meta.get("throughput") or {}).get("Elements", 1)
        found[(meta["group_id"], meta["function_id"])] = (est["mean"]["point_estimate"] / 1e9, elements)
    return found


def fmt(v, digits=0):
    return "–" if v is None else f"{v:,.{digits}f}"


est = criterion_estimates()
summary_path = results / "api" / "summary.json"
has_peer = summary_path.exists()
api = {row["server"]: row for row in json.loads(summary_path.read_text())} if has_peer else {}
ours, uv, gu = api.get("rust-api", {}), api.get("uvicorn1", {}), api.get("gunicorn2", {})
meta_path = results / "api" / "meta.json"
meta = json.loads(meta_path.read_text()) if meta_path.exists() else {"loadavg_start": " ".join(f"{x:.2f}" for x in os.getloadavg())}

print(f"Machine: {os.cpu_count()} cores, {platform.platform()}; load average at start {meta.get('loadavg_start')}; "
      f"run {results.name} (UTC). Command: `bash bench/run.sh`.\n")
if not has_peer:
    print("(No comparison with the FastAPI peer: it was not found beside the repository, so that part was skipped.)\n")
else:
    print("### API: ours and the FastAPI peer, same iris ONNX file, interleaved\n")
    cols = [
        ("cold start to ready (ms)", "cold_start_ms", 0),
        ("RSS after warm-up (MiB)", "rss_warm_mib", 1),
        ("RSS after load (MiB)", "rss_after_load_mib", 1),
        ("`/predict` req/s (32 conn)", "single_rps", 0),
        ("`/predict` p50 (ms)", "single_p50_ms", 2),
        ("`/predict` p99 (ms)", "single_p99_ms", 2),
        ("`/predict` req per CPU-second", "single_req_per_cpu_s", 0),
        ("batch ×1000 req/s (8 conn)", "batch_rps", 1),
        ("batch ×1000 rows/s", None, 0),
        ("batch ×1000 p99 (ms)", "batch_p99_ms", 1),
    ]
    print("| figure | rust-api | uvicorn 1 worker | gunicorn 2 workers | ours ÷ uvicorn | ours ÷ gunicorn |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, key, digits in cols:
        def get(row):
            if key is None:
                return row.get("batch_rps", 0) * 1000 if row else None
            return row.get(key)
        a, b, c = get(ours), get(uv), get(gu)
        ratio = lambda x, y: (f"{x / y:.1f}×" if x / y >= 1 else f"{x / y:.2f}×") if x and y else "–"
        print(f"| {label} | {fmt(a, digits)} | {fmt(b, digits)} | {fmt(c, digits)} | {ratio(a, b)} | {ratio(a, c)} |")
    print(f"\n(non-2xx: ours {fmt(ours.get('single_errors'))} single / {fmt(ours.get('batch_errors'))} batch; "
          f"server cores used on /predict: ours {fmt(ours.get('single_cores_used'), 2)}, uvicorn {fmt(uv.get('single_cores_used'), 2)}, "
          f"gunicorn {fmt(gu.get('single_cores_used'), 2)})\n")

print("### Hot path, in process (criterion, iris)\n")
print("| step | 1 row | 1,000 rows |")
print("|---|---:|---:|")
for step in ["parse and validate", "inference", "serialize response"]:
    one, many = est.get(("iris 1 row", step)), est.get(("iris 1000 rows", step))
    print(f"| {step} | {fmt(one[0] * 1e6, 2) if one else '–'} µs | {fmt(many[0] * 1e6, 0) if many else '–'} µs |")
infer = est.get(("iris 1000 rows", "inference"))
if infer and ours.get("batch_rps"):
    ceiling = 1000 / infer[0]
    http = ours["batch_rps"] * 1000
    print(f"\nIn-process ceiling: {ceiling:,.0f} rows/s through the model alone; over HTTP the batch endpoint "
          f"moved {http:,.0f} rows/s = {http / ceiling:.0%} of it.\n")

ui_path = results / "ui.json"
if ui_path.exists():
    ui = json.loads(ui_path.read_text())
    print("### UI (Streamlit's figures from the peer's README: 3.1 MB, 85 requests, ~2 s to the form)\n")
    print("| figure | value |")
    print("|---|---:|")
    for key, label in [
        ("first_load_requests", "first-load requests"), ("first_load_bytes", "first-load bytes (home + CSS)"),
        ("form_bytes", "iris form page bytes"), ("result_bytes", "iris result page bytes"),
        ("ui_cold_start_ms", "cold start to /healthz (ms)"),
        ("result_page_rps", "result pages/s (UI → API → HTML, 8 conn)"),
        ("result_page_p50_ms", "result page p50 (ms)"), ("result_page_p99_ms", "result page p99 (ms)"),
        ("ui_rss_idle_mib", "UI RSS idle (MiB)"), ("ui_rss_after_load_mib", "UI RSS after load (MiB)"),
    ]:
        print(f"| {label} | {ui.get(key)} |")
    print()

floor_path = results / "floor.json"
if floor_path.exists():
    fl = json.loads(floor_path.read_text())
    print(f"### The HTTP floor: ours against a bare axum app (same axum, hyper, tokio), wrk -t1 -c32, "
          f"{fl['repeats']} interleaved runs, medians\n")
    print("| exchange | server | req/s | req per CPU-second | p99 (ms) |")
    print("|---|---|---:|---:|---:|")
    for kind, label in (("post", "POST /predict (iris)"), ("get", "GET health")):
        row = fl["summary"][kind]
        for server in ("ours", "floor"):
            print(f"| {label} | {server} | {fmt(row[server + '_per_s'])} | {fmt(row[server + '_per_cpu_s'])} | "
                  f"{row[server + '_p99_us'] / 1000:.2f} |")
        print(f"| {label} | ours ÷ floor | {row['per_s_ratio']:.2f}× | {row['per_cpu_s_ratio']:.2f}× | "
              f"{row['p99_ratio']:.2f}× |")
    print()
    print("The ladder, POST /predict: CPU per request on each rung, and what the rung adds\n")
    print("| rung | CPU µs per request | adds (µs) | req per CPU-second | p99 (ms) |")
    print("|---|---:|---:|---:|---:|")
    for rung in fl["ladder"]:
        adds = "" if rung["adds_us"] is None else f"{rung['adds_us']:+.2f}"
        print(f"| {rung['server']} | {rung['cpu_us']:.2f} | {adds} | {fmt(rung['per_cpu_s'])} | "
              f"{rung['p99_us'] / 1000:.2f} |")
    print(f"\nOur API's RSS after the load: {fl['summary']['post']['ours_rss_after_load_mib']} MiB\n")

ui_floor_path = results / "ui_floor.json"
if ui_floor_path.exists():
    uf = json.loads(ui_floor_path.read_text())["summary"]
    print("### The UI's floor: our result page against a bare axum + askama app rendering the same "
          "template from fixed answers, wrk -t1 -c8, medians\n")
    print("| server | pages/s | pages per CPU-second (UI process) | p99 (ms) |")
    print("|---|---:|---:|---:|")
    for server in ("ours", "floor"):
        print(f"| {server} | {fmt(uf[server + '_per_s'])} | {fmt(uf[server + '_per_cpu_s'])} | "
              f"{uf[server + '_p99_us'] / 1000:.2f} |")
    print(f"| ours ÷ floor | {uf['per_s_ratio']:.2f}× | {uf['per_cpu_s_ratio']:.2f}× | {uf['p99_ratio']:.2f}× |")
    print(f"\nThe API's CPU behind each of our pages: {uf['ours_api_cpu_us_per_page']} µs\n")

ort_path = results / "ort.json"
if ort_path.exists():
    ort = json.loads(ort_path.read_text())
    print(f"### Tree ensembles: rows/s (onnxruntime {ort['onnxruntime']} from Python, same rows, same run)\n")
    def rps_at(model, batch, engine):
        e = est.get((f"{model}/batch {batch}", engine))
        return e[1] / e[0] if e else None

    print("Stock tract scores rows one at a time (no batch speed-up), milliseconds each here, so it is "
          "measured at batch 1 and that rate is shown for the larger batches too.\n")
    print("| model | batch | ours | stock tract | onnxruntime | ours ÷ stock | ours ÷ onnxruntime |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for model, per_batch in ort["rows_per_s"].items():
        for batch_label, ort_rps in per_batch.items():
            batch = int(batch_label.split()[1])
            a, s = rps_at(model, batch, "ours"), rps_at(model, batch, "stock tract")
            if batch > 1 and s is None:
                # Stock tract scores rows one by one: its batch-1 rate stands for any batch.
                s = rps_at(model, 1, "stock tract")
            print(f"| {model} | {batch:,} | {fmt(a)} | {fmt(s)} | {fmt(ort_rps)} | "
                  f"{f'{a / s:.0f}×' if a and s else '–'} | {f'{a / ort_rps:.2f}×' if a else '–'} |")
    print("\nLoading a graph, from the file to a plan ready to run (onnxruntime: creating its session):\n")
    print("| model | ours (ms) | onnxruntime (ms) |")
    print("|---|---:|---:|")
    for m in ort["rows_per_s"]:
        e = est.get((f"{m}/load", "ours"))
        print(f"| {m} | {fmt(e[0] * 1e3 if e else None, 1)} | {fmt(ort.get('load_ms', {}).get(m), 1)} |")
    cpu = ort.get("rows_per_cpu_s", {})
    if cpu:
        print("\nonnxruntime's rows per CPU-second (its threads together) at batch 1: "
              + ", ".join(f"{m} {fmt(v.get('batch 1'))}" for m, v in cpu.items()) + ".\n")

formats_path = results / "formats.json"
if formats_path.exists():
    f = json.loads(formats_path.read_text())

    def total(key: str, field: str) -> float | None:
        runs = f.get(key) or []
        return sum(r[field] for r in runs) if runs else None

    def rate(key: str) -> float | None:
        runs = f.get(key) or []
        return sum(r["requests"] for r in runs) / (sum(r["duration_us"] for r in runs) / 1e6) if runs else None

    def per_cpu(key: str) -> float | None:
        cpu = total(key, "cpu_s")
        return total(key, "requests") / cpu if cpu else None

    def p99(key: str) -> float | None:
        runs = f.get(key) or []
        return max(r["p99_us"] for r in runs) / 1000 if runs else None

    print("### Wire formats, interleaved in one run (iris; wrk, 2 repeats)\n")
    print("| scenario | rows/request | req/s | rows/s | req per CPU-second | p99 (ms) |")
    print("|---|---:|---:|---:|---:|---:|")
    for key, label, n in [
        ("predict_json_1", "JSON `/predict`", 1),
        ("v2_json_1", "V2 JSON infer", 1),
        ("kserve_v2_json_1", "KServe Python server, V2 JSON infer", 1),
        ("batch_json_1000", "JSON `/predict/batch`", 1000),
        ("v2_binary_1000", "V2 binary infer", 1000),
        ("batch_json_10000", "JSON `/predict/batch`", 10000),
        ("batch_csv_10000", "CSV `/predict/batch` (CSV answer)", 10000),
    ]:
        r = rate(key)
        if r is None:
            continue
        print(f"| {label} | {n:,} | {fmt(r)} | {fmt(r * n)} | {fmt(per_cpu(key))} | {fmt(p99(key), 1)} |")
    ratio = lambda a, b: f"{a / b:.2f}" if a and b else "–"
    print()
    print(f"- V2 JSON single row ÷ `/predict`, requests per CPU-second: "
          f"{ratio(per_cpu('v2_json_1'), per_cpu('predict_json_1'))}")
    print(f"- V2 binary 1,000 rows ÷ JSON batch 1,000 rows, rows/s: "
          f"{ratio(rate('v2_binary_1000'), rate('batch_json_1000'))}")
    print(f"- ours ÷ the KServe Python server, V2 JSON requests per CPU-second: "
          f"{ratio(per_cpu('v2_json_1'), per_cpu('kserve_v2_json_1'))}; RSS {fmt(f.get('api_rss_mib'), 1)} MiB "
          f"against {fmt(f.get('kserve_rss_mib'), 1)} MiB")
    print(f"- CSV ÷ JSON, 10,000-row batches, rows/s: {ratio(rate('batch_csv_10000'), rate('batch_json_10000'))}")
    print(f"- a 10,000-row CSV through the UI's *Download CSV* (median of 5): "
          f"{fmt(f.get('ui_download_10000_s', 0) * 1000, 1)} ms")
    print(f"- a 100,000-row CSV ({fmt(f.get('csv_100000_file_mib'), 1)} MiB) with `MAX_BATCH=100000`: "
          f"{fmt(f.get('csv_100000_s', 0) * 1000)} ms; the API's peak RSS {fmt(f.get('rss_peak_100000_mib'), 1)} MiB "
          f"(idle {fmt(f.get('rss_idle_mib'), 1)} MiB)")
    print()

monitoring_path = results / "monitoring.json"
if monitoring_path.exists():
    m = json.loads(monitoring_path.read_text())
    print("### Drift monitoring: what counting every row costs (MONITORING on ÷ off, interleaved)\n")
    print("| route | on, requests per CPU-second | off | on ÷ off |")
    print("|---|---:|---:|---:|")
    for route, s in m["summary"].items():
        print(f"| {route} | {fmt(s['on_per_cpu_s'])} | {fmt(s['off_per_cpu_s'])} | {s['on_over_off']:.3f} |")
    print()
