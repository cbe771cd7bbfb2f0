"""The gate review pack's latency section, over calls whose latencies the test chose: each deployment's p95 figures
over the last week against its SLA, the verdict per target, and the chart with the SLA's lines."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from django.template.loader import render_to_string
from django.utils import timezone

from deployments.rollups import RESOLUTION
from deployments.services import deployment_save
from engagements.review.sections import PackContext, get_section
from tests.deployments.call_builders import logged_calls

pytestmark = pytest.mark.django_db

TTFT = [120, 135, 150, 160, 180, 190, 210, 220, 240, 250, 260, 275, 290, 300, 310, 330, 345, 360, 380, 395]
CLAIMS_E2E = [t + 900 for t in TTFT]
SEARCH_E2E = [t + 1400 + 33 * i for i, t in enumerate(TTFT)]


TTFT_P95, E2E_P95 = "p95 time to first token", "p95 end-to-end latency"  # the targets' labels in the pack


def _p95(values: Sequence[float]) -> float:
    return float(np.percentile(values, 95))  # linear interpolation between the ranks around 0.95 x (n - 1)


def _section(engagement: Any, now: Any) -> tuple[Any, Any]:
    section = get_section("latency")
    assert section is not None, "the latency section registers itself with the review pack"
    return section, section.fn(PackContext(engagement=engagement, phase=engagement.phase, now=now))


def test_each_deployment_is_judged_against_its_sla_on_the_weeks_p95_and_charted_with_the_sla_lines(
    engagement: Any,
) -> None:
    now = timezone.now()
    claims = deployment_save(name="Claims GPU", base_url="http://127.0.0.1:9/v1", served_model_name="claims-8b",
                             engagement=engagement, sla_ttft_p95_ms=400, sla_e2e_p95_ms=1500)  # fmt: skip
    search = deployment_save(name="Search GPU", base_url="http://127.0.0.1:9/v1", served_model_name="search-8b",
                             engagement=engagement, sla_ttft_p95_ms=400, sla_e2e_p95_ms=1500)  # fmt: skip
    for deployment, e2e in ((claims, CLAIMS_E2E), (search, SEARCH_E2E)):
        logged_calls(deployment, at=now - timedelta(hours=3), ttft_ms=TTFT, total_ms=e2e)
        # Failed calls and calls from before the week count toward neither p95.
        logged_calls(deployment, at=now - timedelta(hours=3), ttft_ms=[9000], total_ms=[30000], status="error")
        logged_calls(deployment, at=now - timedelta(days=8), ttft_ms=[9000] * 5, total_ms=[30000] * 5)

    section, data = _section(engagement, now)
    assert data["window_days"] == 7
    claims_row, search_row = data["deployments"]
    assert (claims_row["name"], search_row["name"]) == ("Claims GPU", "Search GPU")
    assert claims_row["calls"] == search_row["calls"] == 21  # the week's calls, the failed one among them

    expected = {
        "Claims GPU": {TTFT_P95: (_p95(TTFT), True), E2E_P95: (_p95(CLAIMS_E2E), True)},
        "Search GPU": {TTFT_P95: (_p95(TTFT), True), E2E_P95: (_p95(SEARCH_E2E), False)},
    }
    assert _p95(CLAIMS_E2E) < 1500 < _p95(SEARCH_E2E), "the two deployments fall either side of the SLA"
    for row in (claims_row, search_row):
        targets = {t["label"]: t for t in row["targets"]}
        assert set(targets) == set(expected[row["name"]])
        for label, (value, met) in expected[row["name"]].items():
            assert targets[label]["value"] == pytest.approx(value), (row["name"], label)
            assert targets[label]["met"] is met, (row["name"], label)
        assert {t["limit"] for t in row["targets"]} == {400.0, 1500.0}

        figure = json.loads(row["chart"])
        lines = sorted(shape["y0"] for shape in figure["layout"]["shapes"] if shape["type"] == "line")
        assert lines == [400, 1500], "a dashed line at each SLA target"
        traces = {trace["name"]: trace for trace in figure["data"]}
        assert set(traces) == {"Time to first token p95", "End to end p95"}
        charted = [y for y in traces["End to end p95"]["y"] if y is not None]
        assert len(charted) == 1, "the week's calls fell in one hourly bucket"
        assert charted[0] == pytest.approx(expected[row["name"]][E2E_P95][0], rel=RESOLUTION), (
            "the hourly rollups are within their resolution"
        )
        assert figure["layout"]["yaxis"]["title"]["text"] == "ms (dashed: SLA)"

    html = render_to_string(section.template, {"data": data})
    claims_html, search_html = html.split("Search GPU")
    assert claims_html.count('class="text-success">met<') == 2 and "missed" not in claims_html
    assert search_html.count('class="text-success">met<') == 1 and search_html.count('class="text-danger">missed<') == 1
    assert f"{_p95(SEARCH_E2E):.1f} ms" in search_html and "21 calls logged by the gateway in the last 7 days" in html


def test_a_deployment_without_an_sla_or_calls_shows_no_verdict_and_no_chart(engagement: Any) -> None:
    deployment_save(name="Claims GPU", base_url="http://127.0.0.1:9/v1", served_model_name="m", engagement=engagement)
    section, data = _section(engagement, timezone.now())
    [row] = data["deployments"]
    assert (row["calls"], row["targets"], row["has_sla"], row["chart"]) == (0, [], False, "")
    assert "No SLA is set for this deployment." in render_to_string(section.template, {"data": data})
