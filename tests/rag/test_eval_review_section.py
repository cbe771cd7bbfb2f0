"""The gate review pack's eval scorecard, with a finished run whose case scores the test chose: the figures a client
reads (each metric's mean and 95% interval) and the chart's error bars, checked against figures computed here."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from django.template.loader import render_to_string
from django.utils import timezone

from deployments.services import deployment_save
from engagements.review.sections import PackContext, get_section
from rag.models import KnowledgeBase
from tests.rag.prototype_builders import make_prototype, scored_eval_run

pytestmark = pytest.mark.django_db

HITS = [1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1, 1, 1, 1, 0, 1]  # 12 of 16
F1 = [0.92, 0.35, 0.0, 0.81, 0.66, 1.0, 0.12, 0.74, 0.58, 0.05, 0.88, 0.47, 0.93, 0.7, 0.2, 0.61]
SCORES = {
    f"case-{i}": {"hit": hit, "f1": f1, "total_ms": 900.0 + 40 * i}
    for i, (hit, f1) in enumerate(zip(HITS, F1, strict=True))
}


def _bootstrap(values: Sequence[float]) -> tuple[float, float, float]:
    """The 95% percentile bootstrap interval of the mean, with far more resamples than the pack draws, and the
    bootstrap standard error: the pack's interval must agree within a fraction of that error."""
    x = np.asarray(values, dtype=float)
    rng = np.random.default_rng(20260)
    means = x[rng.integers(0, len(x), size=(50_000, len(x)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high), float(means.std())


def _section(engagement: Any) -> tuple[Any, Any]:
    section = get_section("evals")
    assert section is not None, "the eval scorecard registers itself with the review pack"
    return section, section.fn(PackContext(engagement=engagement, phase=engagement.phase, now=timezone.now()))


def test_the_pack_says_when_no_eval_run_has_finished(engagement: Any) -> None:
    section, data = _section(engagement)
    assert data == {"runs": []}
    assert "No evaluation run has finished yet." in render_to_string(section.template, {"data": data})


def test_the_scorecard_shows_each_metrics_mean_and_95_interval_and_draws_them_as_error_bars(
    engagement: Any, kb: KnowledgeBase
) -> None:
    deployment = deployment_save(name="Claims GPU", base_url="http://127.0.0.1:9/v1", served_model_name="m")
    scored_eval_run(make_prototype(kb, deployment), SCORES)

    section, data = _section(engagement)
    [run] = data["runs"]
    assert run["dataset"] == "Claims questions" and run["cases"] == 16 and run["errors"] == 0
    rows = {row["key"]: row for row in run["rows"]}
    assert set(rows) == {"hit", "f1", "total_ms"}, "metrics no case was scored on are left out"

    expected: dict[str, Sequence[float]] = {"hit": HITS, "f1": F1}
    for key, values in expected.items():
        row = rows[key]
        low, high, se = _bootstrap(values)
        assert row["n"] == 16
        assert row["mean"] == pytest.approx(sum(values) / len(values))
        # Within 0.15 standard errors: a 90% interval is off by 0.25 to 0.6 of one on these scores.
        assert abs(row["low"] - low) <= 0.15 * se, (key, row["low"], low, se)
        assert abs(row["high"] - high) <= 0.15 * se, (key, row["high"], high, se)
        assert row["low"] < row["mean"] < row["high"]
    assert rows["hit"]["mean"] == pytest.approx(0.75)
    assert rows["total_ms"]["mean"] == pytest.approx(900 + 40 * 7.5) and rows["total_ms"]["unit"] == "ms"

    figure = json.loads(run["chart"])
    [trace] = figure["data"]
    # The 0-1 scores only: a latency in ms on the same axis would squash them.
    assert trace["y"] == ["hit@k", "token F1"]
    bars = trace["error_x"]
    assert bars["type"] == "data" and bars["symmetric"] is False
    for i, key in enumerate(("hit", "f1")):
        mean = sum(expected[key]) / len(expected[key])
        low, high, se = _bootstrap(expected[key])
        assert trace["x"][i] == pytest.approx(mean)
        assert trace["x"][i] + bars["array"][i] == pytest.approx(high, abs=0.15 * se)
        assert trace["x"][i] - bars["arrayminus"][i] == pytest.approx(low, abs=0.15 * se)
        assert bars["array"][i] > 0 and bars["arrayminus"][i] > 0
    assert figure["layout"]["xaxis"]["title"]["text"] == "score (95% interval)"

    html = render_to_string(section.template, {"data": data})
    f1 = rows["f1"]
    assert f"{f1['mean']:.3f}" in html and f"{f1['low']:.3f} – {f1['high']:.3f}" in html
    assert "Claims questions" in html and "16 cases" in html and 'data-figure="' in html


def test_the_scorecard_shows_the_latest_finished_run_of_each_dataset(engagement: Any, kb: KnowledgeBase) -> None:
    deployment = deployment_save(name="Claims GPU", base_url="http://127.0.0.1:9/v1", served_model_name="m")
    prototype = make_prototype(kb, deployment)
    scored_eval_run(prototype, {"a": {"hit": 0}, "b": {"hit": 0}})
    scored_eval_run(prototype, {"a": {"hit": 1}, "b": {"hit": 0}})
    scored_eval_run(prototype, {"c": {"hit": 1}}, dataset="Rates questions")
    runs = {run["dataset"]: run for run in _section(engagement)[1]["runs"]}
    assert set(runs) == {"Claims questions", "Rates questions"}
    [hit] = runs["Claims questions"]["rows"]
    assert hit["mean"] == pytest.approx(0.5), "the earlier run of the same dataset (mean 0) is not the one shown"
