"""Calibrating a prototype's abstention threshold from an eval run, and drafting unanswerable cases to do it with.

An eval run records each case's answerability (``EvalResult.confidence``). Over the run's answerable and
unanswerable cases that gives the curve of what each threshold would do, the AUROC, and the threshold that meets
the FDE's target (decline at most this share of answerable questions); saving it makes the prototype's next version.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go
from django.core.exceptions import ValidationError
from django.db import transaction

from deployments.gateway import chat_complete
from rag import abstention
from rag.models import EvalCase, EvalDataset, EvalRun, PrototypeVersion
from rag.prototypes.comparison import chart_json
from rag.prototypes.datasets import eval_case_save
from rag.prototypes.retrieval import retrieve
from rag.prototypes.scoring import abstention_scores
from rag.prototypes.services import prototype_version_save

DEFAULT_TARGET = 0.10


@dataclass(frozen=True)
class AbstentionReport:
    run: EvalRun
    calibration: abstention.Calibration | None  # None without both kinds of case
    current: abstention.CurvePoint | None  # what the run's own threshold does
    chart: str
    reason: str = ""  # why there is no calibration, and what to do

    @property
    def threshold_changes(self) -> bool:
        calibrated = self.calibration
        return calibrated is not None and abs(calibrated.threshold - self.run.version.abstain_below) > 1e-6


def _results(run: EvalRun) -> list[Any]:
    return list(run.results.select_related("case"))


def abstention_report(*, run: EvalRun, max_declined: float = DEFAULT_TARGET) -> AbstentionReport:
    """What each threshold would do on ``run``'s cases, and the one that meets ``max_declined``."""
    if run.status != EvalRun.Status.SUCCEEDED:
        return AbstentionReport(run, None, None, "", "The run has not finished yet.")
    if run.metrics.get("confidence_signal") != abstention.SIGNAL:
        return AbstentionReport(
            run, None, None, "", "This run predates the answerability signal: run the dataset again to calibrate."
        )
    answerable, unanswerable = abstention_scores(_results(run))
    if not unanswerable:
        return AbstentionReport(
            run,
            None,
            None,
            "",
            "The dataset has no unanswerable cases, so there is nothing to calibrate against: draft some questions "
            "the documents do not answer, review them, and run the dataset again.",
        )
    if not answerable:
        return AbstentionReport(run, None, None, "", "The dataset has no answerable cases to calibrate against.")
    calibration = abstention.calibrate(answerable, unanswerable, max_declined=max_declined)
    current = abstention.curve_point(run.version.abstain_below, answerable, unanswerable)
    points = abstention.curve(answerable, unanswerable)
    return AbstentionReport(run, calibration, current, _chart(points, calibration, current))


def _chart(
    points: list[abstention.CurvePoint], calibration: abstention.Calibration, current: abstention.CurvePoint
) -> str:
    figure = go.Figure()
    figure.add_scatter(
        name="every threshold",
        mode="lines+markers",
        line_shape="hv",
        x=[p.answerable_declined for p in points],
        y=[p.unanswerable_declined for p in points],
        text=[f"threshold {p.threshold:.4f}" for p in points],
        hovertemplate="%{text}<br>answerable declined %{x:.0%}<br>unanswerable declined %{y:.0%}<extra></extra>",
    )
    figure.add_scatter(
        name="no better than chance", mode="lines", x=[0, 1], y=[0, 1], line={"dash": "dot", "color": "#adb5bd"}
    )
    figure.add_scatter(
        name=f"calibrated ({calibration.threshold:.4f})",
        mode="markers",
        marker={"size": 13, "symbol": "star"},
        x=[calibration.answerable_declined],
        y=[calibration.unanswerable_declined],
    )
    figure.add_scatter(
        name=f"this version ({current.threshold:.4f})",
        mode="markers",
        marker={"size": 11, "symbol": "circle-open"},
        x=[current.answerable_declined],
        y=[current.unanswerable_declined],
    )
    figure.add_vline(x=calibration.target, line_dash="dash", line_color="#fd7e14")
    figure.update_layout(
        xaxis={"title": "answerable questions wrongly declined", "range": [-0.02, 1.02], "tickformat": ".0%"},
        yaxis={"title": "unanswerable questions declined", "range": [-0.02, 1.02], "tickformat": ".0%"},
    )
    return chart_json(figure)


@transaction.atomic
def prototype_version_calibrate_abstention(*, run: EvalRun, max_declined: float, user: Any = None) -> PrototypeVersion:
    """Save the prototype's next version with the threshold calibrated on ``run`` for ``max_declined``."""
    report = abstention_report(run=run, max_declined=max_declined)
    if report.calibration is None:
        raise ValidationError(report.reason)
    calibrated = report.calibration
    note = (
        f"Abstention calibrated on {run.dataset.name}: declines {calibrated.unanswerable_declined:.0%} of "
        f"unanswerable, {calibrated.answerable_declined:.0%} of answerable"
    )
    return prototype_version_save(
        prototype=run.version.prototype, user=user, note=note[:300], abstain_below=round(calibrated.threshold, 6)
    )


@transaction.atomic
def prototype_version_calibrate_by_retrieval(
    *, version: PrototypeVersion, dataset: EvalDataset, max_declined: float = DEFAULT_TARGET, user: Any = None
) -> PrototypeVersion | None:
    """Calibrate ``version``'s threshold on ``dataset``'s ready cases from retrieval alone (no answers written).

    Answerability depends only on retrieval, so this gives the same calibration an eval run would, in the time it
    takes to search each question. Returns the new version, or None when the dataset lacks either kind of case or
    the calibrated threshold would decline no more unanswerable questions than the current one.
    """
    cases = list(dataset.cases.filter(status=EvalCase.Status.READY))
    scores = [(case.unanswerable, retrieve(version=version, question=case.question).confidence) for case in cases]
    answerable = [score for unanswerable, score in scores if not unanswerable]
    unanswerable = [score for flagged, score in scores if flagged]
    if not answerable or not unanswerable:
        return None
    calibrated = abstention.calibrate(answerable, unanswerable, max_declined=max_declined)
    current = abstention.curve_point(version.abstain_below, answerable, unanswerable)
    if calibrated.unanswerable_declined <= current.unanswerable_declined:
        return None
    note = (
        f"Abstention calibrated on {dataset.name} by retrieval: declines {calibrated.unanswerable_declined:.0%} of "
        f"unanswerable, {calibrated.answerable_declined:.0%} of answerable"
    )
    return prototype_version_save(
        prototype=version.prototype, user=user, note=note[:300], abstain_below=round(calibrated.threshold, 6)
    )


MAX_UNANSWERABLE_DRAFTS = 5
UNANSWERABLE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"question": {"type": "string", "minLength": 10, "maxLength": 300}},
    "required": ["question"],
    "additionalProperties": False,
}
UNANSWERABLE_SYSTEM = (
    "You write test questions for a document search assistant. You are shown what a document collection covers. "
    "Write one question that a user of this collection could plausibly ask but that the collection does not answer: "
    "about a neighbouring topic, a detail, product or case it never mentions. Reply as JSON."
)


def eval_cases_draft_unanswerable(*, dataset: EvalDataset, version: PrototypeVersion, count: int = 3) -> list[EvalCase]:
    """Draft up to ``count`` questions the base's documents do not cover, as unanswerable drafts for review.

    The model sees the base's name, its document titles and a few cases already in the dataset; a person decides
    whether each draft really is unanswerable before it counts.
    """
    kb = dataset.knowledge_base
    titles = [d.title or d.external_id for d in kb.documents.filter(status="ready").order_by("?")[:30]]
    examples = list(dataset.cases.filter(unanswerable=False).values_list("question", flat=True)[:5])
    known = {q.strip().lower() for q in dataset.cases.values_list("question", flat=True)}
    brief = f"Collection: {kb.name}\nDocuments:\n" + "\n".join(f"- {t}" for t in titles)
    if examples:
        brief += "\nQuestions it does answer:\n" + "\n".join(f"- {q}" for q in examples)
    drafts: list[EvalCase] = []
    for _ in range(min(count, MAX_UNANSWERABLE_DRAFTS)):
        stream = chat_complete(
            deployment=version.deployment,
            messages=[("system", UNANSWERABLE_SYSTEM), ("user", brief[:6000])],
            caller="rag.draft",
            engagement=kb.engagement,
            json_schema=UNANSWERABLE_SCHEMA,
            max_tokens=120,
            temperature=0.9,
        )
        try:
            question = str(json.loads(stream.text)["question"]).strip()
        except (json.JSONDecodeError, KeyError, TypeError):
            continue
        if len(question) < 10 or question.lower() in known:
            continue
        known.add(question.lower())
        drafts.append(
            eval_case_save(
                dataset=dataset,
                external_id=f"unanswerable-{uuid.uuid4().hex[:8]}",
                question=question,
                unanswerable=True,
                origin=EvalCase.Origin.GENERATED,
                status=EvalCase.Status.DRAFT,
            )
        )
    return drafts
