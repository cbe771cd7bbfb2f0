from __future__ import annotations

from collections.abc import Iterator

import pytest

from engagements import metrics
from engagements.metrics import MetricResult, get_provider, register
from engagements.models import Engagement, GateCriterion
from engagements.services import (
    criterion_create,
    gate_evaluate,
    requirement_create,
    risk_create,
    signoff_record,
    stakeholder_create,
)


@pytest.fixture
def exploding_provider() -> Iterator[str]:
    key = "tests.exploding"

    @register(key, label="Exploding metric")
    def explode(engagement: Engagement, params: dict) -> MetricResult:
        raise RuntimeError("the vector store is unreachable")

    yield key
    metrics._REGISTRY.pop(key)


def _value(engagement: Engagement, key: str, **params: object) -> MetricResult:
    provider = get_provider(key)
    assert provider is not None
    return provider.compute(engagement, dict(params))


def test_engagement_providers_are_registered_at_startup() -> None:
    keys = {p.key for p in metrics.all_providers()}
    assert {"engagements.signoffs", "engagements.requirements_coverage", "engagements.open_high_risks"} <= keys


def test_requirements_coverage_counts_must_haves_with_acceptance_criteria(engagement: Engagement, fde) -> None:
    assert _value(engagement, "engagements.requirements_coverage", priority="must").value is None
    requirement_create(engagement=engagement, actor=fde, title="A", priority="must", acceptance_criteria="ok")
    requirement_create(engagement=engagement, actor=fde, title="B", priority="must")
    requirement_create(engagement=engagement, actor=fde, title="C", priority="could")
    result = _value(engagement, "engagements.requirements_coverage", priority="must")
    assert result.value == 50.0 and "1 of 2" in result.detail
    assert result.source_url.endswith("/requirements/")


def test_signoffs_count_per_phase_and_role(engagement: Engagement, fde) -> None:
    sponsor = stakeholder_create(engagement=engagement, actor=fde, name="Sam", role="sponsor")
    champion = stakeholder_create(engagement=engagement, actor=fde, name="Cy", role="champion")
    signoff_record(stakeholder=champion, actor=fde)
    assert _value(engagement, "engagements.signoffs").value == 1
    assert _value(engagement, "engagements.signoffs", role="sponsor").value == 0
    signoff_record(stakeholder=sponsor, actor=fde)
    assert _value(engagement, "engagements.signoffs", role="sponsor", phase="discover").value == 1
    assert _value(engagement, "engagements.signoffs", phase="validate").value == 0


def test_open_high_risks_ignore_closed_and_low_scores(engagement: Engagement, fde) -> None:
    risk_create(engagement=engagement, actor=fde, title="Severe", likelihood=4, impact=4)
    risk_create(engagement=engagement, actor=fde, title="Minor", likelihood=2, impact=2)
    risk_create(engagement=engagement, actor=fde, title="Done", likelihood=5, impact=5, status="closed")
    result = _value(engagement, "engagements.open_high_risks")
    assert result.value == 1 and "Severe" in result.detail


def test_a_provider_that_raises_fails_its_criterion_with_the_error(
    engagement: Engagement, fde, exploding_provider: str
) -> None:
    criterion_create(
        engagement=engagement,
        actor=fde,
        phase="discover",
        label="Boom",
        kind="metric",
        provider_key=exploding_provider,
        threshold=1,
    )
    status = next(s for s in gate_evaluate(engagement=engagement) if s.criterion.label == "Boom")
    assert not status.passed and status.value is None
    assert status.error == "Exploding metric could not be computed: the vector store is unreachable"


def test_the_gate_panel_shows_a_raising_provider_instead_of_failing(
    fde_http, engagement: Engagement, fde, exploding_provider: str
) -> None:
    GateCriterion.objects.create(
        engagement=engagement,
        phase="discover",
        kind="metric",
        label="Boom",
        provider_key=exploding_provider,
        threshold=1,
    )
    response = fde_http.get(f"/engagements/{engagement.uuid}/gate/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "the vector store is unreachable" in response.content.decode()


def test_a_provider_registered_later_is_used_by_existing_criteria(engagement: Engagement, fde) -> None:
    criterion_create(
        engagement=engagement,
        actor=fde,
        phase="discover",
        label="Docs",
        kind="metric",
        provider_key="tests.later_docs",
        comparison="gte",
        threshold=50,
    )
    before = next(s for s in gate_evaluate(engagement=engagement) if s.criterion.label == "Docs")
    assert "is available yet" in before.error

    register("tests.later_docs", label="Documents ingested")(
        lambda engagement, params: MetricResult(value=64, source_url="/rag/kb/1/", detail="64 documents")
    )
    try:
        after = next(s for s in gate_evaluate(engagement=engagement) if s.criterion.label == "Docs")
    finally:
        metrics._REGISTRY.pop("tests.later_docs")
    assert after.passed and after.value == 64 and after.source_url == "/rag/kb/1/"
