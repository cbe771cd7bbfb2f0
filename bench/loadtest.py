"""Fidelity of the product's load generator against GuideLLM and the server's own histograms.

`python -m bench.loadtest [--requests 12] [--concurrency 2] [--write]` runs the same workload (synthetic prompts,
fixed-length outputs, fixed concurrency) against the local vLLM twice: once with the product's engine
(``deployments.loadtest.engine``) and once with GuideLLM from its own environment (``make guidellm``). Around each
run it scrapes the server's ``/metrics``, so each tool's medians are compared with the server's own time-to-first-token
and inter-token histograms over the same requests. ``--write`` replaces the section in bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import tempfile
import threading
from pathlib import Path

import httpx

from bench.prototype_setup import write_section
from deployments import histograms
from deployments.loadtest.engine import Level, Result, Target, run_level
from deployments.loadtest.workloads import synthetic
from deployments.vllm import MetricsSnapshot, parse_metrics

ROOT = Path(__file__).resolve().parent.parent
GUIDELLM = ROOT / "var" / "guidellm-venv" / "bin" / "guidellm"
URL, MODEL = "http://127.0.0.1:8001", "smollm2-135m-instruct"
TOKENIZER = ROOT / "var" / "models" / "smollm2-135m"


def _scrape() -> MetricsSnapshot:
    return parse_metrics(httpx.get(f"{URL}/metrics", timeout=10).text, model=MODEL)


def _server_medians(before: MetricsSnapshot, after: MetricsSnapshot) -> tuple[float | None, float | None]:
    out = []
    for key in ("ttft", "itl"):
        a, b = before.histograms[key], after.histograms[key]
        deltas, _ = histograms.bucket_increase(a.cumulative, b.cumulative)  # still cumulative, per bucket
        q = histograms.quantile(0.5, b.upper_bounds, deltas)
        out.append(None if q is None else q * 1000)
    return out[0], out[1]


def _ours(n: int, concurrency: int, prompt: int, output: int) -> tuple[float, float]:
    results: list[Result] = []
    run_level(
        target=Target(f"{URL}/v1", MODEL),
        level=Level("concurrent", concurrency=concurrency, duration_s=None, max_requests=n),
        prompts=synthetic(
            seed=1, input_tokens=prompt, input_sd=0, output_tokens=output, output_sd=0, fixed_output=True
        ),
        on_result=results.append,
        stop=threading.Event(),
    )
    ok = [r for r in results if r.ok]
    return statistics.median(r.ttft_ms or 0 for r in ok), statistics.median(r.itl_ms or 0 for r in ok)


def _guidellm(n: int, concurrency: int, prompt: int, output: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        subprocess.run(
            [str(GUIDELLM), "run", "--backend",
             f"kind=openai_http,target={URL},model={MODEL},request_format=/v1/chat/completions",
             "--profile", f"kind=concurrent,streams={concurrency}", "--constraint", f"kind=max_requests,count={n}",
             "--data", f"kind=synthetic_text,prompt_tokens={prompt},output_tokens={output}",
             "--tokenizer", f"kind=hf_auto,model={TOKENIZER}", "--output", f"kind=json,path={report}",
             "--disable-console"],
            check=True, env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}, capture_output=True,
        )  # fmt: skip
        done = json.loads(report.read_text())["benchmarks"][0]["requests"]["successful"]
    return (
        statistics.median(r["time_to_first_token_ms"] for r in done),
        statistics.median(r["inter_token_latency_ms"] for r in done),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=12)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--prompt", type=int, default=32)
    parser.add_argument("--output", type=int, default=16)
    parser.add_argument("--write", action="store_true")
    a = parser.parse_args()
    rows = []
    for name, tool in (("product engine", _ours), ("GuideLLM 0.8", _guidellm)):
        before = _scrape()
        ttft, itl = tool(a.requests, a.concurrency, a.prompt, a.output)
        server_ttft, server_itl = _server_medians(before, _scrape())
        rows.append((name, ttft, itl, server_ttft, server_itl))
        print(name, round(ttft, 1), round(itl, 1), server_ttft, server_itl, flush=True)
    (_, ours_ttft, ours_itl, *_), (_, g_ttft, g_itl, *_) = rows
    table = "\n".join(
        f"| {n} | {t:.1f} | {i:.1f} | {st if st is None else round(st, 1)} | {si if si is None else round(si, 1)} |"
        for n, t, i, st, si in rows
    )
    markdown = f"""### Load-generator fidelity ({dt.date.today()}, local SmolLM2-135M on CPU, {a.requests} requests at \
concurrency {a.concurrency}, {a.prompt} prompt / {a.output} output tokens)

| tool | median TTFT ms | median ITL ms | server's median TTFT ms (histogram) | server's median ITL ms (histogram) |
| --- | ---: | ---: | ---: | ---: |
{table}

Product engine against GuideLLM: median TTFT {100 * (ours_ttft - g_ttft) / g_ttft:+.1f}%, median inter-token \
latency {100 * (ours_itl - g_itl) / g_itl:+.1f}%. The server's figures are histogram medians (interpolated inside \
vLLM's buckets, which are coarse at these latencies) and count every request the shared server answered in the
meantime, so they bound rather than match."""
    print(markdown)
    if a.write:
        write_section("loadtest", markdown)


if __name__ == "__main__":
    main()
