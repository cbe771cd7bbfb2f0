"""Shared by the tenancy crawl and the browser's page crawl: every route of the site, and one client's world of
objects to fill their ids with."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.db import models, transaction
from django.test import Client as HttpClient
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.regex_helper import normalize

from accounts.services import client_branding_update
from deployments.applications import application_create, gateway_key_create
from deployments.loadtest.imports import loadtest_import
from deployments.loadtest.services import capacity_plan_save
from deployments.services import deployment_save
from engagements.review.services import gate_review_record
from engagements.services import engagement_create
from engagements.services.gates import criterion_create
from engagements.services.kpis import kpi_create, kpi_measurement_record
from engagements.services.records import decision_create, requirement_create, risk_create, stakeholder_create
from rag.models import Answer, Conversation
from rag.prototypes import retrieval
from rag.prototypes.datasets import eval_case_save, eval_dataset_create
from rag.prototypes.evals import eval_run_create
from rag.prototypes.feedback import feedback_create
from rag.prototypes.selectors import prototype_latest_version
from rag.prototypes.services import answer_create
from rag.services.knowledge_base import knowledge_base_create
from tests.engagements.review_builders import finished_pack
from tests.engagements.roi_builders import roi_fill
from tests.portal.images import png_upload
from tests.rag.prototype_builders import index, make_prototype


@dataclass(frozen=True)
class Route:
    name: str
    regex: str  # the full pattern, as the resolver matches it
    params: tuple[str, ...]
    converters: dict[str, Any]

    def url(self, values: dict[str, str]) -> str:
        for template, params in normalize(self.regex):
            if set(params) == set(self.params):
                return "/" + template % values
        raise AssertionError(f"cannot build a URL for {self.name}")


def routes() -> list[Route]:
    found: list[Route] = []

    def walk(patterns: list[Any], prefix: str, namespace: str, converters: dict[str, Any]) -> None:
        for p in patterns:
            regex = prefix + p.pattern.regex.pattern.lstrip("^")
            conv = {**converters, **getattr(p.pattern, "converters", {})}
            if isinstance(p, URLResolver):
                ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
                walk(p.url_patterns, regex.rstrip("$").removesuffix("\\Z"), ns, conv)
            elif isinstance(p, URLPattern):
                name = f"{namespace}{p.name}" if p.name else f"{namespace}<unnamed {regex}>"
                params = tuple(re.findall(r"\?P<(\w+)>", regex))
                found.append(Route(name=name, regex=regex, params=params, converters=conv))

    walk(get_resolver().url_patterns, "", "", {})
    return found


# --- one client's world -------------------------------------------------------------------------------------------


@pytest.fixture
def world(client_org: Any, fde: Any, client_member: Any, client_admin: Any, settings: Any, tmp_path: Any) -> Any:
    settings.MEDIA_ROOT = tmp_path / "media"
    client_branding_update(client=client_org, brand_name="", accent_color="#aa3355", logo=png_upload())
    engagement = engagement_create(client=client_org, name="Crawlable claims pilot", lead=fde)
    stakeholder_create(engagement=engagement, actor=fde, name="Pat Sponsor", role="sponsor", email=client_admin.email)
    requirement = requirement_create(engagement=engagement, actor=fde, title="Cite every answer")
    risk_create(engagement=engagement, actor=fde, title="Scanned claims forms", likelihood=3, impact=4)
    decision_create(engagement=engagement, actor=fde, title="Use the local model", decision="SmolLM2 first")
    kpi = kpi_create(engagement=engagement, actor=fde, name="Claims handled per hour")
    kpi_measurement_record(kpi=kpi, actor=fde, measured_on=engagement.created_at.date(), value=4.0)
    criterion_create(engagement=engagement, actor=fde, phase=engagement.phase, label="Sponsor agrees the scope")
    kb = knowledge_base_create(engagement=engagement, name="Crawlable policy library", actor=fde)
    index(kb, {"policies/claims-crawl.md": b"# Claims\n\nDamaged freight claims are filed within 14 days."})
    deployment = deployment_save(
        name="Crawlable GPU endpoint", base_url="http://10.9.8.7:9/v1", served_model_name="x", engagement=engagement
    )
    prototype = make_prototype(kb, deployment, name="Crawlable claims bot", abstain_below=0.0)
    version = prototype_latest_version(prototype=prototype)
    conversation = Conversation.objects.create(prototype=prototype, started_by=client_member)
    answer = answer_create(
        version=version,
        question="How long do crawlers have to file a claim?",
        user=client_member,
        conversation=conversation,
    )
    found = retrieval.retrieve(version=version, question=answer.question)
    answer.citations = [p.as_citation(n) for n, p in enumerate(found.passages, start=1)]
    answer.status, answer.text = Answer.Status.DONE, "Within 14 days [1]."
    answer.save()
    feedback_create(answer=answer, user=client_member, rating="down", correction="Fourteen calendar days.")
    dataset = eval_dataset_create(knowledge_base=kb, name="Crawlable eval set")
    eval_case_save(dataset=dataset, external_id="c1", question="Claim deadline?", requirement=requirement)
    eval_case_save(dataset=dataset, external_id="c2", question="Draft case?", status="draft")
    eval_run_create(version=version, dataset=dataset, user=fde, enqueue=False)
    application = application_create(engagement=engagement, name="Crawlable support bot", actor=fde)
    gateway_key_create(application=application, name="Crawlable key", deployments=[deployment], actor=fde)
    roi_fill(engagement, fde)
    pack = finished_pack(engagement, fde)
    gate_review_record(pack=pack, user=client_admin, decision="changes", comment="Add the carrier breakdown.")
    report = Path(__file__).parent / "deployments" / "data" / "guidellm_report.json"
    loadtest_import(deployment=deployment, actor=fde, filename="crawlable-guidellm.json", content=report.read_bytes())
    capacity_plan_save(deployment=deployment, actor=fde, peak_rps=2, input_tokens=100, output_tokens=50)
    return engagement


def owned_rows(other_client: Any) -> list[models.Model]:
    """Every row with a public id, except the other client's own record: the fixture built them all for one client."""
    rows: list[models.Model] = []
    for model in apps.get_models():
        if any(f.name == "uuid" for f in model._meta.fields):
            rows += [r for r in model._default_manager.all() if r != other_client]
    return rows


def secret_strings(rows: list[models.Model]) -> set[str]:
    found: set[str] = set()
    for row in rows:
        found.add(str(row.uuid))  # type: ignore[attr-defined]
        for field in ("name", "title", "question", "external_id", "base_url"):
            value = getattr(row, field, None)
            if isinstance(value, str) and len(value) >= 8:
                found.add(value)
    return found


def candidates(route: Route, uuids: list[str]) -> list[dict[str, str]]:
    from deployments.views.planner import LAUNCH_FILES
    from engagements.views.roi import INPUTS as ROI_INPUTS
    from engagements.views.sections import SECTION_KEYS
    from jobs.registry import kinds

    choices: list[list[str]] = []
    for param in route.params:
        conv = type(route.converters.get(param)).__name__
        if conv == "UUIDConverter" or param in {"uuid", "item", "case"}:
            choices.append(uuids)
        elif param == "section":
            choices.append(sorted(SECTION_KEYS))
        elif param == "kind":
            # Job kinds, ROI input kinds and launch-file kinds share the parameter's name.
            choices.append(sorted(set(kinds()) | set(ROI_INPUTS) | set(LAUNCH_FILES)))
        elif param == "action":
            choices.append(["primary", "delete"])
        elif conv == "IntConverter":
            choices.append(["1", "0"])
        elif param == "fmt":
            choices.append(["md", "html"])
        elif param == "app_label":
            choices.append(["accounts"])
        else:
            choices.append(["1"])
    return [dict(zip(route.params, combo, strict=True)) for combo in itertools.product(*choices)]


def reaches(http: HttpClient, url: str) -> bool:
    """Whether the owner gets past the route's object lookup: a GET, or a POST whose writes are rolled back."""
    response = http.get(url)
    if response.status_code == 405:
        with transaction.atomic():
            response = http.post(url)
            transaction.set_rollback(True)
    return response.status_code not in {404, 405}


def owner_url(
    route: Route, owner: HttpClient, uuids: list[str], related: set[tuple[str, str]], learned: dict[str, str]
) -> str | None:
    """A URL of the route filled with ids the owning FDE reaches, or None; ``learned`` remembers, per URL prefix,
    which id worked, so routes under the same prefix find theirs at the first try."""
    if not route.params:
        return "/" + normalize(route.regex)[0][0]
    prefix = route.regex.split("(?P<", 1)[0]
    first = next((p for p in route.params if p in {"uuid", "item", "case"}), None)
    combos = candidates(route, uuids)
    if first is not None:
        combos.sort(key=lambda values: values[first] != learned.get(prefix))
    for values in combos:
        pair = tuple(v for k, v in values.items() if k in {"uuid", "item", "case"})
        if len(pair) == 2 and pair not in related:
            continue  # a child id only makes sense under its own parent
        url = route.url(values)
        if reaches(owner, url):
            if first is not None:
                learned[prefix] = values[first]
            return url
    return None


def related_pairs(rows: list[models.Model]) -> set[tuple[str, str]]:
    by_pk = {(type(r)._meta.label, r.pk): str(r.uuid) for r in rows}  # type: ignore[attr-defined]
    pairs = set()
    for row in rows:
        for field in row._meta.fields:
            if isinstance(field, models.ForeignKey):
                parent = by_pk.get((field.related_model._meta.label, getattr(row, field.attname)))
                if parent:
                    pairs.add((parent, str(row.uuid)))  # type: ignore[attr-defined]
    return pairs
