"""Gateway overhead: time to first token through the gateway and through LiteLLM's proxy, against vLLM direct.

``python -m bench.gateway [--rounds 40] [--write]``. Starts the gateway process (uvicorn, as the Procfile does) on
the bench database and LiteLLM's proxy (``litellm``, installed in its own virtual environment ``var/litellm-venv``
because its pins clash with the app's) in front of the same local vLLM, then sends the same streamed chat request
to all three, interleaved round by round so drift in the shared CPU hits them alike, at 1 and at 16 concurrent
streams. Time to first token is measured by the client, from sending the request to the first content byte; the
overhead of a proxy is its percentile minus the direct percentile at the same concurrency.

The gateway runs with everything on: key lookup, rate limit, breaker, concurrency admission (all in Redis), prompt
hashing and the call log. LiteLLM runs with its defaults, no database and no master key (so no key checks at all).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench import prototype_setup as setup

BASE_DIR = Path(__file__).resolve().parent.parent
LITELLM_VENV = BASE_DIR / "var" / "litellm-venv"
LOG_DIR = BASE_DIR / "var" / "log"
PROMPT = [
    {"role": "system", "content": "You are a terse assistant for a freight company."},
    {"role": "user", "content": "In one short sentence: what should I do when a pallet arrives damaged?"},
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(args: list[str], env: dict[str, str], health: str, name: str) -> subprocess.Popen[bytes]:
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = (LOG_DIR / f"bench-{name}.log").open("ab")
    proc = subprocess.Popen(args, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited at start; see var/log/bench-{name}.log")
        try:
            if httpx.get(health, timeout=2).status_code < 500:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    _stop(proc)
    raise SystemExit(f"{name} did not answer within 180 s; see var/log/bench-{name}.log")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def _litellm(model: str, vllm_url: str) -> tuple[subprocess.Popen[bytes], str]:
    if not (LITELLM_VENV / "bin" / "litellm").exists():
        subprocess.run([sys.executable, "-m", "venv", str(LITELLM_VENV)], check=True)
        subprocess.run([str(LITELLM_VENV / "bin" / "pip"), "install", "--quiet", "litellm[proxy]"], check=True)
    config = BASE_DIR / "var" / "bench-litellm.yaml"
    config.write_text(
        "model_list:\n"
        f"  - model_name: {model}\n"
        "    litellm_params:\n"
        f"      model: hosted_vllm/{model}\n"
        f"      api_base: {vllm_url}\n"
        "      api_key: none\n"
        "litellm_settings:\n"
        "  telemetry: false\n"
        "  drop_params: true\n"
    )
    port = _free_port()
    env = {**os.environ, "LITELLM_LOG": "ERROR", "LITELLM_TELEMETRY": "False", "DISABLE_SCHEMA_UPDATE": "True"}
    env.pop("DATABASE_URL", None)  # LiteLLM would try to use the app's database as its own
    proc = _start(
        [str(LITELLM_VENV / "bin" / "litellm"), "--config", str(config), "--host", "127.0.0.1", "--port", str(port),
         "--num_workers", "1"],
        env, f"http://127.0.0.1:{port}/health/liveliness", "litellm",
    )  # fmt: skip
    return proc, f"http://127.0.0.1:{port}/v1"


async def _ttft(client: httpx.AsyncClient, url: str, key: str, model: str) -> float:
    body = {"model": model, "messages": PROMPT, "max_tokens": 16, "temperature": 0, "stream": True}
    started = time.perf_counter()
    async with client.stream(
        "POST", f"{url}/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"}
    ) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if line.startswith("data:") and '"content":"' in line and '"content":""' not in line:
                first = time.perf_counter()
                async for _ in response.aiter_lines():
                    pass
                return (first - started) * 1000
    raise RuntimeError(f"{url} streamed no content")


async def _measure(
    targets: dict[str, tuple[str, str]], model: str, rounds: int, concurrency: int
) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {name: [] for name in targets}
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        for url, key in targets.values():  # warm every path (connections, caches) before timing
            await asyncio.gather(*[_ttft(client, url, key, model) for _ in range(concurrency)])
        for _ in range(rounds):
            order = list(targets)
            random.shuffle(order)
            for name in order:
                url, key = targets[name]
                results[name] += await asyncio.gather(*[_ttft(client, url, key, model) for _ in range(concurrency)])
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--rounds", type=int, default=40, help="rounds per concurrency (each sends c requests per target)"
    )
    parser.add_argument("--write", action="store_true", help="Write the figures into bench/README.md.")
    args = parser.parse_args()
    setup.django_setup()
    from django.conf import settings
    from django.db import connection

    from accounts.models import Client, User
    from accounts.services import client_create, user_create_provider
    from deployments.applications import application_create, gateway_key_create
    from deployments.models import ClientApplication
    from deployments.services import deployment_save
    from engagements.models import Engagement
    from engagements.services import engagement_create

    model, vllm_url = settings.LOCAL_VLLM_MODEL, settings.LOCAL_VLLM_URL
    httpx.get(f"{vllm_url}/models", timeout=5).raise_for_status()
    deployment = deployment_save(name="Bench local vLLM", base_url=vllm_url, served_model_name=model)
    lead = User.objects.filter(email="bench-gateway@provider.test").first() or user_create_provider(
        email="bench-gateway@provider.test", password="bench-pass-1234"
    )
    client = Client.objects.filter(name="Bench gateway client").first() or client_create(name="Bench gateway client")
    engagement = Engagement.objects.filter(client=client).first() or engagement_create(
        client=client, name="Bench gateway", problem_statement="Measure the gateway.", lead=lead
    )
    ClientApplication.objects.filter(engagement=engagement).delete()
    application = application_create(engagement=engagement, name="Bench", actor=lead)
    _, key = gateway_key_create(
        application=application, name="bench", deployments=[deployment], actor=lead, requests_per_minute=100_000
    )
    settings_dict = connection.settings_dict
    database_url = (
        f"postgres://{settings_dict['USER']}@/{settings_dict['NAME']}?host={settings_dict['HOST']}"
        f"&port={settings_dict['PORT']}"
    )
    port = _free_port()
    gateway = _start(
        [sys.executable, "-m", "uvicorn", "deployments.proxy.asgi:app", "--host", "127.0.0.1", "--port", str(port),
         "--no-access-log", "--loop", "uvloop", "--http", "httptools"],
        {**os.environ, "DATABASE_URL": database_url}, f"http://127.0.0.1:{port}/healthz", "gateway",
    )  # fmt: skip
    litellm, litellm_url = _litellm(model, vllm_url)
    targets = {
        "vLLM direct": (vllm_url, "none"),
        "FDE gateway": (f"http://127.0.0.1:{port}/v1", key),
        "LiteLLM proxy": (litellm_url, "none"),
    }
    try:
        figures = {c: asyncio.run(_measure(targets, model, args.rounds // (1 if c == 1 else 4), c)) for c in (1, 16)}
    finally:
        _stop(gateway)
        _stop(litellm)
    version = subprocess.run(
        [str(LITELLM_VENV / "bin" / "python"), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
        capture_output=True, text=True, check=False,
    ).stdout.strip()  # fmt: skip
    lines = [
        f"### Gateway overhead on time to first token ({dt.date.today():%Y-%m-%d}, local SmolLM2-135M on CPU, "
        f"LiteLLM {version})",
        "",
        "| concurrent streams | path | requests | TTFT p50 ms | TTFT p95 ms | added p50 ms | added p95 ms |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for concurrency, results in figures.items():
        base50 = setup.percentile(results["vLLM direct"], 0.5)
        base95 = setup.percentile(results["vLLM direct"], 0.95)
        for name, values in results.items():
            p50, p95 = setup.percentile(values, 0.5), setup.percentile(values, 0.95)
            added = "–" if name == "vLLM direct" else f"{p50 - base50:+.1f}"
            added95 = "–" if name == "vLLM direct" else f"{p95 - base95:+.1f}"
            lines.append(f"| {concurrency} | {name} | {len(values)} | {p50:.1f} | {p95:.1f} | {added} | {added95} |")
    report = "\n".join(lines)
    print(report)
    if args.write:
        setup.write_section("gateway", report)


if __name__ == "__main__":
    main()
