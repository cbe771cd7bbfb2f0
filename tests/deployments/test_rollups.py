from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from deployments import rollups
from deployments.models import Deployment, ModelCall, ModelCallHour
from deployments.series import ORIGIN, GatewaySeries, _gateway_series, gateway_rows_exact, gateway_series
from deployments.services import deployment_save

pytestmark = pytest.mark.django_db
HOUR = timedelta(hours=1)


@pytest.fixture
def deployment() -> Deployment:
    return deployment_save(name="Claims model", base_url="http://gpu:8000/v1", served_model_name="m")


@pytest.fixture
def hour():
    """The start of a whole hour three hours ago, on the dashboard's bucket grid."""
    now = timezone.now()
    return now - (now - ORIGIN) % HOUR - 3 * HOUR


def _call(deployment, at, ttft, total=None, gap=20.0, status=ModelCall.Status.OK, tokens=(50, 40)):
    return ModelCall(deployment=deployment, caller="rag.ask", created_at=at, status=status, ttft_ms=ttft,
                     total_ms=total if total is not None else ttft * 3, gap_mean_ms=gap, prompt_tokens=tokens[0],
                     completion_tokens=tokens[1])  # fmt: skip


def _exact(deployment, start, end, step) -> GatewaySeries:
    return _gateway_series(gateway_rows_exact(deployment=deployment, start=start, end=end, step=step))


def _assert_agrees(fast: GatewaySeries, exact: GatewaySeries) -> None:
    assert fast.t == exact.t
    for name in ("calls", "errors", "prompt_tokens", "completion_tokens", "timed_calls"):
        assert getattr(fast, name) == getattr(exact, name), name
    for name in ("prefill_s", "decode_s"):
        assert getattr(fast, name) == pytest.approx(getattr(exact, name)), name
    for name in ("ttft", "itl", "e2e"):
        for got, want in zip(getattr(fast, name), getattr(exact, name), strict=True):
            for g, w in zip(got, want, strict=True):
                assert (g is None) == (w is None), name
                if w is not None:
                    assert abs(g - w) < rollups.RESOLUTION * w, (name, g, w)


def test_a_week_in_hours_gives_the_hand_computed_percentiles_within_the_bucket_resolution(deployment, hour):
    # ttft 100, 200, ..., 1000 ms: percentile_cont gives p50 550, p95 955 and p99 991 ms; one failed call besides.
    calls = [_call(deployment, hour + timedelta(minutes=5 * i), ttft=100.0 * (i + 1)) for i in range(10)]
    calls.append(_call(deployment, hour + timedelta(minutes=51), ttft=None, total=30_000, gap=None,
                       status=ModelCall.Status.TIMEOUT))  # fmt: skip
    ModelCall.objects.bulk_create(calls)
    end = timezone.now()
    fast = gateway_series(deployment=deployment, start=end - timedelta(days=7), end=end, step=HOUR)
    exact = _exact(deployment, end - timedelta(days=7), end, HOUR)

    assert exact.t == [hour] and exact.ttft[0] == pytest.approx([550.0, 955.0, 991.0])
    assert fast.t == [hour] and fast.calls == [11] and fast.errors == [1] and fast.timed_calls == [10]
    for got, want in zip(fast.ttft[0], [550.0, 955.0, 991.0], strict=True):
        assert abs(got - want) < 0.044 * want
    assert fast.itl[0] == pytest.approx([20.0, 20.0, 20.0], rel=0.044)
    _assert_agrees(fast, exact)


def test_the_partial_hours_at_the_window_edges_count_only_the_calls_inside_it(deployment, hour):
    ModelCall.objects.bulk_create(
        [_call(deployment, hour + timedelta(minutes=m), ttft=100.0 + m) for m in (5, 20, 40, 55)]
        + [_call(deployment, hour + HOUR + timedelta(minutes=m), ttft=300.0 + m) for m in (10, 30)]
    )
    start, end = hour + timedelta(minutes=30), hour + HOUR + timedelta(minutes=20)
    fast = gateway_series(deployment=deployment, start=start, end=end, step=HOUR)
    assert fast.calls == [2, 1]
    _assert_agrees(fast, _exact(deployment, start, end, HOUR))


def test_longer_buckets_add_up_their_hours(deployment, hour):
    rng = random.Random(7)
    ModelCall.objects.bulk_create(
        _call(deployment, hour - timedelta(minutes=rng.uniform(0, 30 * 60)), ttft=rng.lognormvariate(5.5, 0.8),
              total=rng.lognormvariate(7.5, 0.6), gap=rng.lognormvariate(3, 0.5),
              status=ModelCall.Status.ERROR if rng.random() < 0.05 else ModelCall.Status.OK)
        for _ in range(600)
    )  # fmt: skip
    end = timezone.now()
    for step in (HOUR, 3 * HOUR, 6 * HOUR):
        start = end - timedelta(days=2)
        _assert_agrees(gateway_series(deployment=deployment, start=start, end=end, step=step),
                       _exact(deployment, start, end, step))  # fmt: skip


def test_deleted_and_changed_calls_leave_the_rollup(deployment, hour):
    ModelCall.objects.bulk_create(_call(deployment, hour + timedelta(minutes=m), ttft=100.0 + m) for m in range(6))
    ModelCall.objects.filter(deployment=deployment, ttft_ms=100.0).delete()
    ModelCall.objects.filter(deployment=deployment, ttft_ms=105.0).update(ttft_ms=5000.0, status="error")
    rolled = ModelCallHour.objects.get(deployment=deployment, hour=hour)
    assert (rolled.calls, rolled.errors, sum(rolled.ttft_counts)) == (5, 1, 4)
    end = timezone.now()
    _assert_agrees(gateway_series(deployment=deployment, start=end - timedelta(days=3), end=end, step=HOUR),
                   _exact(deployment, end - timedelta(days=3), end, HOUR))  # fmt: skip


def test_a_call_logged_late_under_its_start_time_lands_in_its_hour(deployment, hour):
    ModelCall.objects.create(**{f.name: getattr(_call(deployment, hour, 100.0), f.name)
                                for f in ModelCall._meta.concrete_fields if f.name not in ("id",)})  # fmt: skip
    assert ModelCallHour.objects.get(deployment=deployment, hour=hour).calls == 1


def test_quantiles_interpolate_between_ranks_like_percentile_cont():
    lower, upper = rollups.bucket_bounds(200)
    assert upper / lower == pytest.approx(1 + rollups.RESOLUTION)
    # two calls in two buckets: the median lies halfway between the two calls' places in their buckets
    low, high = rollups.quantiles([0.0, 1.0], [200, 300], [1, 1])
    median = rollups.quantiles([0.5], [200, 300], [1, 1])[0]
    assert low is not None and high is not None and median == pytest.approx((low + high) / 2)
    assert rollups.bucket_bounds(200)[0] < low < rollups.bucket_bounds(200)[1]
    assert rollups.quantiles([0.5], [], []) == [None]
    assert rollups.quantiles([0.99], [rollups.TOP_BUCKET], [3]) == [rollups.bucket_bounds(rollups.TOP_BUCKET)[0]]


def test_the_week_on_the_dashboard_and_on_the_fleet_page_agree(deployment, hour):
    from deployments.costs import figures_from_series, fleet_figures
    from deployments.models import HardwareType
    from deployments.series import server_series

    Deployment.objects.filter(pk=deployment.pk).update(hardware=HardwareType.objects.get(name="L4 24 GB"))
    deployment.refresh_from_db()
    rng = random.Random(3)
    ModelCall.objects.bulk_create(
        _call(deployment, hour - timedelta(minutes=rng.uniform(-150, 3 * 24 * 60)), ttft=rng.uniform(50, 900),
              tokens=(rng.randint(10, 900), rng.randint(1, 300)),
              status=ModelCall.Status.TIMEOUT if rng.random() < 0.1 else ModelCall.Status.OK)
        for _ in range(300)
    )  # fmt: skip
    end = timezone.now()
    start = end - timedelta(days=7)
    gateway = gateway_series(deployment=deployment, start=start, end=end, step=HOUR)
    server = server_series(deployment=deployment, start=start, end=end, step=HOUR)
    shown = figures_from_series(deployment=deployment, start=start, end=end, step=HOUR, gateway=gateway, server=server)
    fleet = fleet_figures(deployments=[deployment], start=start, end=end)[deployment.pk]
    assert (shown.calls, shown.errors, shown.input_tokens, shown.output_tokens) == (
        fleet.calls, fleet.errors, fleet.input_tokens, fleet.output_tokens
    )  # fmt: skip
    assert shown.prefill_s == pytest.approx(fleet.prefill_s) and shown.decode_s == pytest.approx(fleet.decode_s)
    assert shown.usd_per_1m_output == pytest.approx(fleet.usd_per_1m_output)
    assert shown.peak_tps == pytest.approx(fleet.peak_tps)


def test_the_fleet_pages_busiest_hour_counts_only_the_window(deployment, hour):
    from deployments.costs import fleet_figures

    ModelCall.objects.bulk_create(
        [_call(deployment, hour + timedelta(minutes=10), ttft=100.0, tokens=(10, 1000)),
         _call(deployment, hour + timedelta(minutes=40), ttft=100.0, tokens=(10, 300)),
         _call(deployment, hour + timedelta(minutes=70), ttft=100.0, tokens=(10, 200)),
         _call(deployment, hour + timedelta(minutes=130), ttft=100.0, tokens=(10, 250))]
    )  # fmt: skip
    start, end = hour + timedelta(minutes=30), hour + timedelta(minutes=125)
    figures = fleet_figures(deployments=[deployment], start=start, end=end)[deployment.pk]
    assert figures.output_tokens == 500 and figures.peak_tps == pytest.approx(300 / 3600)
