"""Gateway overhead: time to first token through the gateway and through LiteLLM's proxy, against vLLM direct.

``python -m bench.gateway [--rounds 40] [--write]``. Starts the gateway process (``python -m deployments.proxy``, as
the Procfile does) on the bench database and LiteLLM's proxy (``litellm``, installed in its own virtual environment
``var/litellm-venv`` because its pins clash with the app's) in front of the same local vLLM, then sends the same
streamed chat request to all three, taking turns in short blocks so drift in the shared CPU hits them alike, at 1
and at 16 concurrent streams. Time to first token is measured by the client, from sending the request to the first
content byte; the overhead of a proxy is its percentile minus the direct percentile at the same concurrency.

The gateway runs with everything on: key lookup, rate limit, breaker, concurrency admission (all in Redis), prompt
hashing and the call log. LiteLLM runs with its defaults, a master key (it refuses to start without one) and no
database.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import secrets
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
BLOCK_REQUESTS = 10  # timed requests per path in a row (at 16 streams: one round)
SETTLE_REQUESTS = 2  # untimed requests that start each block (at 16 streams: one round)
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


def _litellm(upstreams: dict[str, str]) -> tuple[subprocess.Popen[bytes], str, str]:
    if not (LITELLM_VENV / "bin" / "litellm").exists():
        subprocess.run([sys.executable, "-m", "venv", str(LITELLM_VENV)], check=True)
        subprocess.run([str(LITELLM_VENV / "bin" / "pip"), "install", "--quiet", "litellm[proxy]"], check=True)
    config = BASE_DIR / "var" / "bench-litellm.yaml"
    models = "".join(
        f"  - model_name: {model}\n    litellm_params:\n      model: hosted_vllm/{model}\n"
        f"      api_base: {url}\n      api_key: none\n"
        for model, url in upstreams.items()
    )
    config.write_text(f"model_list:\n{models}litellm_settings:\n  telemetry: false\n  drop_params: true\n")
    port = _free_port()
    master_key = f"sk-{secrets.token_hex(32)}"
    env = {
        **os.environ,
        "LITELLM_MASTER_KEY": master_key,
        "LITELLM_LOG": "ERROR",
        "LITELLM_TELEMETRY": "False",
        "DISABLE_SCHEMA_UPDATE": "True",
    }
    env.pop("DATABASE_URL", None)  # LiteLLM would try to use the app's database as its own
    proc = _start(
        [str(LITELLM_VENV / "bin" / "litellm"), "--config", str(config), "--host", "127.0.0.1", "--port", str(port),
         "--num_workers", "1"],
        env, f"http://127.0.0.1:{port}/health/liveliness", "litellm",
    )  # fmt: skip
    return proc, f"http://127.0.0.1:{port}/v1", master_key


def _instant_chunk(model: str, content: str | None, finish: str | None = None) -> bytes:
    delta = {"content": content} if content is not None else {"role": "assistant", "content": ""}
    chunk = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 0, "model": model,
             "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}  # fmt: skip
    data = b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n"
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


async def _instant_upstream(port: int) -> None:
    """An OpenAI-style server that streams 16 tokens at once: the proxies' own cost is all that is left to time."""
    models = json.dumps({"object": "list", "data": [{"id": "instant", "object": "model"}]}).encode()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = json.loads(await reader.readexactly(length)) if length else {}
                if head.startswith(b"GET"):
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                                 + str(len(models)).encode() + b"\r\n\r\n" + models)  # fmt: skip
                    continue
                model = body.get("model", "instant")
                out = [b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n",
                       _instant_chunk(model, None)]  # fmt: skip
                out += [_instant_chunk(model, f" tok{i}") for i in range(15)]
                out.append(_instant_chunk(model, " end", "length"))
                counts = {"prompt_tokens": 20, "completion_tokens": 16, "total_tokens": 36}
                usage = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "model": model, "choices": [],
                         "usage": counts}  # fmt: skip
                if (body.get("stream_options") or {}).get("include_usage"):
                    data = b"data: " + json.dumps(usage).encode() + b"\n\n"
                    out.append(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                done = b"data: [DONE]\n\n"
                out.append(f"{len(done):x}\r\n".encode() + done + b"\r\n0\r\n\r\n")
                writer.write(b"".join(out))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=256)
    async with server:
        await server.serve_forever()


async def _ttft(client: httpx.AsyncClient, url: str, key: str, model: str) -> float:
    body = {"model": model, "messages": PROMPT, "max_tokens": 16, "temperature": 0, "stream": True}
    started = time.perf_counter()
    async with client.stream(
        "POST", f"{url}/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"}
    ) as response:
        response.raise_for_status()
        first, line = None, ""
        async for line in response.aiter_lines():
            if first is None and line.startswith("data:") and '"content":"' in line and '"content":""' not in line:
                first = time.perf_counter()
    if first is None:
        raise RuntimeError(f"{url} streamed no content (last line: {line[:200]!r})")
    return (first - started) * 1000


async def _measure(
    targets: dict[str, tuple[str, str]], model: str, rounds: int, concurrency: int
) -> tuple[dict[str, list[float]], dict[str, int]]:
    """Time to first token per target, and how many requests failed (counted, never hidden in the percentiles).

    The paths take turns in blocks, in a new random order each time, so drift in the shared CPU hits them alike.
    Each block starts with untimed rounds: a proxy keeps working for a while after it answered (LiteLLM's logging
    and bookkeeping), and on two shared cores that work would otherwise land on the next path's first requests.
    """
    results: dict[str, list[float]] = {name: [] for name in targets}
    failed = dict.fromkeys(targets, 0)
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    timed_per_block = max(1, BLOCK_REQUESTS // concurrency)
    settle = -(-SETTLE_REQUESTS // concurrency)

    async def one(client: httpx.AsyncClient, name: str, timed: bool) -> None:
        url, key = targets[name]
        try:
            ttft = await _ttft(client, url, key, model)
        except (httpx.HTTPError, RuntimeError):
            failed[name] += timed
            return
        if timed:
            results[name].append(ttft)

    async with httpx.AsyncClient(timeout=600, limits=limits) as client:
        for name in targets:  # warm every path (connections, caches) before timing
            await asyncio.gather(*[one(client, name, False) for _ in range(concurrency)])
        done = 0
        while done < rounds:
            block = min(timed_per_block, rounds - done)
            order = list(targets)
            random.shuffle(order)
            for name in order:
                for i in range(settle + block):
                    await asyncio.gather(*[one(client, name, i >= settle) for _ in range(concurrency)])
            done += block
    return results, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--rounds", type=int, default=40, help="rounds per concurrency (each sends c requests per target)"
    )
    parser.add_argument("--write", action="store_true", help="Write the figures into bench/README.md.")
    parser.add_argument("--only", choices=["local vLLM", "instant stand-in"], help="measure one upstream only")
    parser.add_argument("--instant-upstream", type=int, help=argparse.SUPPRESS)  # runs the stand-in server
    args = parser.parse_args()
    if args.instant_upstream:
        import uvloop

        uvloop.run(_instant_upstream(args.instant_upstream))
        return
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
    instant_port = _free_port()
    instant = _start(
        [sys.executable, "-m", "bench.gateway", "--instant-upstream", str(instant_port)],
        dict(os.environ), f"http://127.0.0.1:{instant_port}/v1/models", "instant-upstream",
    )  # fmt: skip
    instant_url = f"http://127.0.0.1:{instant_port}/v1"
    deployments = [
        deployment_save(name="Bench local vLLM", base_url=vllm_url, served_model_name=model),
        deployment_save(name="Bench instant stand-in", base_url=instant_url, served_model_name="instant"),
    ]
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
        application=application, name="bench", deployments=deployments, actor=lead, requests_per_minute=100_000
    )
    settings_dict = connection.settings_dict
    database_url = (
        f"postgres://{settings_dict['USER']}@/{settings_dict['NAME']}?host={settings_dict['HOST']}"
        f"&port={settings_dict['PORT']}"
    )
    port = _free_port()
    started: list[subprocess.Popen[bytes]] = [instant]
    figures: dict[tuple[str, int], tuple[dict[str, list[float]], dict[str, int]]] = {}
    try:
        started.append(
            _start(
                [sys.executable, "-m", "deployments.proxy"],  # as the Procfile starts it
                # as patient as LiteLLM's default, so a busy shared CPU measures latency, not the timeout
                {**os.environ, "DATABASE_URL": database_url, "GATEWAY_HOST": "127.0.0.1", "GATEWAY_PORT": str(port),
                 "MODEL_READ_TIMEOUT": "600",
                 "GATEWAY_CALL_DEADLINE": "600"}, f"http://127.0.0.1:{port}/healthz", "gateway",
            )
        )  # fmt: skip
        litellm, litellm_url, litellm_key = _litellm({model: vllm_url, "instant": instant_url})
        started.append(litellm)
        runs = {
            "local vLLM": (model, vllm_url, args.rounds),
            "instant stand-in": ("instant", instant_url, args.rounds * 5),
        }
        for upstream, (served, url, rounds) in runs.items():
            if args.only and upstream != args.only:
                continue
            targets = {
                "direct": (url, "none"),
                "FDE gateway": (f"http://127.0.0.1:{port}/v1", key),
                "LiteLLM proxy": (litellm_url, litellm_key),
            }
            for concurrency in (1, 16):
                figures[upstream, concurrency] = asyncio.run(
                    _measure(targets, served, rounds // (1 if concurrency == 1 else 4), concurrency)
                )
    finally:
        for proc in started:
            _stop(proc)
    version = subprocess.run(
        [str(LITELLM_VENV / "bin" / "python"), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
        capture_output=True, text=True, check=False,
    ).stdout.strip()  # fmt: skip
    load = os.getloadavg()[0]
    lines = [
        f"### Gateway overhead on time to first token ({dt.date.today():%Y-%m-%d}, LiteLLM {version}, 2 shared cores)",
        "",
        f"Load average at the end of the run: {load:.1f} on 2 cores, which the model server, both proxies, the "
        "stand-in and the client share.",
        "",
        "| upstream | streams | path | requests | failed | TTFT p50 ms | TTFT p95 ms | added p50 ms | added p95 ms |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for (upstream, concurrency), (results, failed) in figures.items():
        if not results["direct"]:
            continue
        base50 = setup.percentile(results["direct"], 0.5)
        base95 = setup.percentile(results["direct"], 0.95)
        for name, values in results.items():
            if not values:
                lines.append(f"| {upstream} | {concurrency} | {name} | 0 | {failed[name]} | – | – | – | – |")
                continue
            p50, p95 = setup.percentile(values, 0.5), setup.percentile(values, 0.95)
            added = "–" if name == "direct" else f"{p50 - base50:+.1f}"
            added95 = "–" if name == "direct" else f"{p95 - base95:+.1f}"
            lines.append(
                f"| {upstream} | {concurrency} | {name} | {len(values)} | {failed[name]} | {p50:.1f} | {p95:.1f} | "
                f"{added} | {added95} |"
            )
    report = "\n".join(lines)
    print(report)
    if args.write:
        setup.write_section("gateway", report)


if __name__ == "__main__":
    main()
