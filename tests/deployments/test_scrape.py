from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from deployments import vllm
from deployments.gateway import chat_complete
from deployments.models import ServerSample
from deployments.scrape import server_metrics_scrape, server_sample_record
from deployments.series import server_series
from deployments.services import deployment_save

pytestmark = pytest.mark.django_db
MODEL = "llama"
LE = ["0.1", "0.5", "1.0", "+Inf"]
T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)


def metrics_text(*, ttft: list[int], requests: int, prompt: int, generation: int, hits: int, queries: int,
                 running: int = 1, waiting: int = 0, kv: float = 0.25, model: str = MODEL) -> str:  # fmt: skip
    """vLLM's /metrics in its own format: labelled by engine and model, one family of each kind we read."""
    labels = f'engine="0",model_name="{model}"'
    lines = [
        "# TYPE vllm:num_requests_running gauge", f"vllm:num_requests_running{{{labels}}} {running}",
        "# TYPE vllm:num_requests_waiting gauge", f"vllm:num_requests_waiting{{{labels}}} {waiting}",
        "# TYPE vllm:kv_cache_usage_perc gauge", f"vllm:kv_cache_usage_perc{{{labels}}} {kv}",
        "# TYPE vllm:request_success counter",
        f'vllm:request_success_total{{{labels},finished_reason="stop"}} {requests}',
        f'vllm:request_success_total{{{labels},finished_reason="length"}} 0',
        "# TYPE vllm:prompt_tokens counter", f"vllm:prompt_tokens_total{{{labels}}} {prompt}",
        "# TYPE vllm:generation_tokens counter", f"vllm:generation_tokens_total{{{labels}}} {generation}",
        "# TYPE vllm:prefix_cache_hits counter", f"vllm:prefix_cache_hits_total{{{labels}}} {hits}",
        "# TYPE vllm:prefix_cache_queries counter", f"vllm:prefix_cache_queries_total{{{labels}}} {queries}",
        "# TYPE vllm:num_preemptions counter", f"vllm:num_preemptions_total{{{labels}}} 0",
        "# TYPE vllm:time_to_first_token_seconds histogram",
    ]  # fmt: skip
    lines += [
        f'vllm:time_to_first_token_seconds_bucket{{{labels},le="{le}"}} {n}' for le, n in zip(LE, ttft, strict=True)
    ]
    lines += [f"vllm:time_to_first_token_seconds_count{{{labels}}} {ttft[-1]}",
              f"vllm:time_to_first_token_seconds_sum{{{labels}}} 1.0"]  # fmt: skip
    # another model on the same server must not be counted
    lines += ['vllm:generation_tokens_total{engine="0",model_name="other"} 999999']
    return "\n".join(lines) + "\n"


@pytest.fixture
def scraped(stand_in):
    return deployment_save(name="Stand-in vLLM", base_url=f"{stand_in.url}/v1", served_model_name=MODEL)


def _scrape(stand_in, deployment, at, **values):
    stand_in.serve_metrics(metrics_text(**values))
    return server_sample_record(deployment=deployment, snapshot=vllm.fetch_metrics(deployment), at=at)


def test_intervals_get_histogram_percentiles_rates_and_hit_rate(stand_in, scraped):
    first = _scrape(stand_in, scraped, T0, ttft=[2, 6, 9, 10], requests=10, prompt=1000, generation=500,
                    hits=100, queries=400)  # fmt: skip
    assert first.interval_s is None and first.ttft_p50_ms is None  # nothing to compare with yet
    assert (first.running, first.waiting, first.kv_cache_usage) == (1, 0, 0.25)
    assert first.generation_tokens_raw == 500  # the other model's 999999 is not ours

    second = _scrape(stand_in, scraped, T0 + timedelta(seconds=30), ttft=[4, 10, 15, 16], requests=16,
                     prompt=1600, generation=800, hits=250, queries=700)  # fmt: skip
    # bucket deltas [2, 4, 6, 6]: p50 rank 3 -> second bucket (2..4): 0.1 + 0.4 * (3 - 2) / 2 = 0.3 s
    assert second.ttft_p50_ms == pytest.approx(300)
    # p95 rank 5.7 -> third bucket (4..6): 0.5 + 0.5 * (5.7 - 4) / 2 = 0.925 s
    assert second.ttft_p95_ms == pytest.approx(925)
    assert second.interval_s == 30 and second.request_count == 6
    assert second.prompt_tps == pytest.approx(600 / 30) and second.generation_tps == pytest.approx(300 / 30)
    assert second.prefix_cache_hit_rate == pytest.approx(150 / 300)
    assert not second.reset


def test_a_server_restart_counts_the_new_values_as_the_increase(stand_in, scraped):
    _scrape(stand_in, scraped, T0, ttft=[4, 10, 15, 16], requests=16, prompt=1600, generation=800, hits=250,
            queries=700)  # fmt: skip
    after = _scrape(stand_in, scraped, T0 + timedelta(seconds=30), ttft=[1, 3, 4, 4], requests=4, prompt=200,
                    generation=90, hits=0, queries=50)  # fmt: skip
    assert after.reset
    # increases are the new values: deltas [1, 3, 4, 4]; p50 rank 2 -> 0.1 + 0.4 * (2 - 1) / 2 = 0.3 s
    assert after.ttft_p50_ms == pytest.approx(300)
    assert after.request_count == 4 and after.generation_tps == pytest.approx(90 / 30)
    # the running totals carry on across the restart
    assert after.generation_tokens_total == 800 + 90
    assert after.ttft_total == [5, 13, 19, 20]


def test_an_interval_without_requests_has_no_percentiles_and_zero_rates(stand_in, scraped):
    values = {"ttft": [2, 6, 9, 10], "requests": 10, "prompt": 1000, "generation": 500, "hits": 1, "queries": 4}
    _scrape(stand_in, scraped, T0, **values)
    quiet = _scrape(stand_in, scraped, T0 + timedelta(seconds=30), **values)
    assert quiet.ttft_p50_ms is None and quiet.ttft_p99_ms is None
    assert quiet.request_count == 0 and quiet.generation_tps == 0
    assert quiet.prefix_cache_hit_rate is None


def test_a_failed_scrape_is_recorded_and_the_next_compares_with_the_last_good_one(stand_in, scraped):
    _scrape(stand_in, scraped, T0, ttft=[2, 6, 9, 10], requests=10, prompt=1000, generation=500, hits=1, queries=4)
    stand_in.routes.pop("/metrics")
    failed = server_metrics_scrape(deployment=scraped)
    assert failed.ok is False and "HTTP 404" in failed.error
    ServerSample.objects.filter(pk=failed.pk).update(scraped_at=T0 + timedelta(seconds=30))
    later = _scrape(stand_in, scraped, T0 + timedelta(seconds=60), ttft=[4, 10, 15, 16], requests=16,
                    prompt=1600, generation=800, hits=1, queries=4)  # fmt: skip
    assert later.interval_s == 60 and later.generation_tps == pytest.approx(300 / 60)


def test_server_series_takes_percentiles_of_each_buckets_increase(stand_in, scraped):
    common = {"prompt": 0, "hits": 0, "queries": 0}
    _scrape(stand_in, scraped, T0 - timedelta(minutes=1), ttft=[0, 0, 0, 0], requests=0, generation=0, **common)
    _scrape(stand_in, scraped, T0 + timedelta(minutes=20), ttft=[2, 6, 9, 10], requests=10, generation=600, **common)
    _scrape(stand_in, scraped, T0 + timedelta(minutes=50), ttft=[2, 8, 9, 12], requests=12, generation=900, **common)
    _scrape(stand_in, scraped, T0 + timedelta(minutes=70), ttft=[3, 9, 10, 13], requests=13, generation=960, **common)
    series = server_series(deployment=scraped, start=T0, end=T0 + timedelta(hours=2), step=timedelta(hours=1))
    assert series.t == [T0, T0 + timedelta(hours=1)]
    # first hour: its last scrape (10:50) minus the one before the range (09:59): [2, 8, 9, 12]
    # p50 rank 6 -> second bucket (2..8): 0.1 + 0.4 * 4 / 6
    assert series.ttft[0][0] == pytest.approx((0.1 + 0.4 * 4 / 6) * 1000)
    # second hour: 11:10 minus 10:50: [1, 1, 1, 1]; p50 rank 0.5 -> first bucket: 0.1 * 0.5 / 1
    assert series.ttft[1][0] == pytest.approx(50)
    assert series.requests == [12, 1]
    assert series.generation_tps[0] == pytest.approx(900 / (51 * 60))


@pytest.mark.vllm
def test_the_scraper_reads_the_real_local_vllm(local_deployment):
    snapshot = vllm.fetch_metrics(local_deployment)
    assert snapshot.gauges["running"] is not None and snapshot.gauges["kv_cache_usage"] is not None
    assert snapshot.counters["generation_tokens"] is not None and snapshot.counters["prefix_queries"] is not None
    assert snapshot.counters["prefill_seconds"] is not None
    for key in ("ttft", "itl", "e2e"):
        histogram = snapshot.histograms[key]
        assert histogram.upper_bounds[-1] == float("inf") and len(histogram.upper_bounds) > 5
    before = server_sample_record(deployment=local_deployment, snapshot=snapshot)
    chat_complete(deployment=local_deployment, messages=[("user", "Say hello.")], caller="test.scrape", max_tokens=8)
    after = server_metrics_scrape(deployment=local_deployment)
    assert after.ok, after.error
    assert after.request_count >= 1 and after.generation_tokens_total > before.generation_tokens_total
    assert after.ttft_p50_ms is not None and after.e2e_p95_ms is not None and after.generation_tps > 0
