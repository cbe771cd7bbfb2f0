from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.template.loader import render_to_string
from django.utils import timezone

from deployments.loadtest.imports import loadtest_import
from deployments.services import deployment_save
from engagements.review.sections import PackContext, get_section

pytestmark = pytest.mark.django_db

REPORT = Path(__file__).parent / "data" / "guidellm_report.json"


def _section(engagement: Any) -> Any:
    section = get_section("load_tests")
    assert section is not None, "the load-test section registers itself with the review pack"
    return section, section.fn(PackContext(engagement=engagement, phase=engagement.phase, now=timezone.now()))


def test_the_pack_leaves_load_tests_out_until_a_deployment_has_one(engagement: Any) -> None:
    deployment_save(name="Claims GPU", base_url="http://127.0.0.1:9/v1", served_model_name="x", engagement=engagement)
    assert _section(engagement)[1] is None


def test_the_pack_shows_the_latest_load_test_of_each_deployment_with_its_curve(engagement: Any, fde: Any) -> None:
    deployment = deployment_save(
        name="Claims GPU", base_url="http://127.0.0.1:9/v1", served_model_name="x", engagement=engagement
    )
    loadtest_import(deployment=deployment, actor=fde, filename="sweep.json", content=REPORT.read_bytes())
    section, data = _section(engagement)
    [row] = data["runs"]
    assert row["deployment"] == "Claims GPU" and row["levels"] >= 1
    html = render_to_string(section.template, {"data": data})
    assert "Claims GPU" in html and 'data-figure="' in html and "p95 latency against throughput" in html
