from __future__ import annotations

import itertools
import statistics
import threading
from collections.abc import Iterator

import httpx
import pytest

from deployments.loadtest.engine import Level, Prompt, Result, ServerGone, Target, run_level
from deployments.loadtest.services import DEFAULT_SWEEP
from tests.deployments.servers import PacedServer

FIRST_TOKEN_MS, GAP_MS, TOKENS = 200.0, 40.0, 8
PROMPTS = itertools.repeat(Prompt(messages=[{"role": "user", "content": "hi"}], max_tokens=TOKENS))


@pytest.fixture(scope="module")
def paced() -> Iterator[PacedServer]:
    server = PacedServer(PACED_FIRST_TOKEN_S=str(FIRST_TOKEN_MS / 1000), PACED_GAP_S=str(GAP_MS / 1000))
    yield server
    server.stop()


def _run(server: PacedServer, level: Level, stop: threading.Event | None = None) -> list[Result]:
    results: list[Result] = []
    run_level(
        target=Target(server.base_url, "paced"),
        level=level,
        prompts=PROMPTS,
        on_result=results.append,
        stop=stop or threading.Event(),
    )
    return results


def test_measured_first_token_and_gaps_match_the_servers_delays_at_the_sweeps_top_concurrency() -> None:
    # The default concurrency sweep's last level: the engine must time as well there as at one stream. The warm-up
    # drops the first wave, which also pays for opening the connections.
    concurrency = int(max(DEFAULT_SWEEP["concurrency"]))
    level = Level("concurrent", concurrency=concurrency, duration_s=None, max_requests=4 * concurrency, warmup_s=0.3)
    server = PacedServer(PACED_FIRST_TOKEN_S=str(FIRST_TOKEN_MS / 1000), PACED_GAP_S=str(GAP_MS / 1000))
    try:
        results = _run(server, level)
        kept = httpx.get(f"{server.base_url}/paced/kept").json()
    finally:
        server.stop()
    measured = [r for r in results if not r.warmup]
    assert len(measured) >= 4 * concurrency and all(r.ok for r in results)
    assert all(r.output_tokens == TOKENS and r.prompt_tokens == 7 for r in measured)
    ttft = [r.ttft_ms for r in measured if r.ttft_ms is not None]
    gaps = [g for r in measured for g in r.gaps_ms]
    itl = statistics.median(r.itl_ms for r in measured if r.itl_ms is not None)
    tpot = statistics.median(r.tpot_ms for r in measured if r.tpot_ms is not None)
    figures = {"ttft": _spread(ttft), "gap": _spread(gaps), "itl": itl, "tpot": tpot,
               "kept first token": _spread(kept["first_token_ms"]), "kept gap": _spread(kept["gap_ms"])}  # fmt: skip
    # The server's own schedule, as it kept it: on cores busy enough to make it late, the failure says so.
    assert abs(statistics.median(kept["first_token_ms"]) - FIRST_TOKEN_MS) <= 2, figures
    assert abs(statistics.median(kept["gap_ms"]) - GAP_MS) <= 2, figures
    # Every stream of a wave gets its token at the same instant, from this server as from vLLM's batches: the tail
    # is wider than the median, never late by more than a burst's work.
    assert abs(statistics.median(ttft) - FIRST_TOKEN_MS) <= 5, figures
    assert _p95(ttft) - FIRST_TOKEN_MS <= 30, figures
    assert abs(statistics.median(gaps) - GAP_MS) <= 5, figures
    assert _p95(gaps) - GAP_MS <= 20, figures
    assert abs(itl - GAP_MS) <= 5 and abs(tpot - GAP_MS) <= 5, figures


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18]


def _spread(values: list[float]) -> str:
    return f"median {statistics.median(values):.1f}, p95 {_p95(values):.1f}, min {min(values):.1f} ms"


def test_poisson_arrivals_are_seeded_and_keep_the_rate(paced: PacedServer) -> None:
    level = Level("poisson", rate=20, duration_s=None, max_requests=30, seed=7)
    first = [round(r.started_s, 1) for r in sorted(_run(paced, level), key=lambda r: r.index)]
    assert len(first) == 30
    # 30 arrivals at 20/s take about 1.5 s; a seeded schedule is the same schedule every time.
    assert 0.5 < first[-1] < 4.0


def test_a_stop_ends_the_level_and_keeps_what_finished(paced: PacedServer) -> None:
    stop = threading.Event()
    results: list[Result] = []

    def on_result(result: Result) -> None:
        results.append(result)
        if len(results) == 5:
            stop.set()

    run_level(
        target=Target(paced.base_url, "paced"),
        level=Level("concurrent", concurrency=4, duration_s=600),
        prompts=PROMPTS,
        on_result=on_result,
        stop=stop,
    )
    assert 5 <= len(results) < 20


def test_a_server_that_dies_mid_run_records_errors_and_ends() -> None:
    server = PacedServer(PACED_FIRST_TOKEN_S="0.05", PACED_GAP_S="0.01", PACED_DIE_AFTER="6")
    try:
        with pytest.raises(ServerGone, match="in a row failed"):
            _run(server, Level("concurrent", concurrency=2, duration_s=120))
    finally:
        server.stop()


def test_an_unknown_profile_or_a_rate_of_zero_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown profile"):
        Level("ramp")
    with pytest.raises(ValueError, match="rate above 0"):
        Level("poisson", rate=0)
