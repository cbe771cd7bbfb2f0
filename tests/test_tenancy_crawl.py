"""Every URL of the site and every API route, filled with real ids of one client's objects and requested by people
who must not see them: another client's user (by session and by API token), that client's own users on provider-only
pages, and anonymous callers; GET and POST, with and without HX-Request. Each must answer 403, 404 or a login
redirect (401 for the API), and no body may carry the client's names or ids.

Routes come from the URL resolver (which includes the API's router), so a new route is crawled without editing this
file. Its ids come from whatever rows exist: for each route, the ids with which the owning FDE reaches it (a GET, or a
POST inside a transaction that is rolled back) are the ones the others are tried with. A new route whose objects the
fixture below does not build fails with a message saying so.
"""

from __future__ import annotations

import itertools
import re
import uuid as uuidlib
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.db import models, transaction
from django.test import Client as HttpClient
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils.regex_helper import normalize

from accounts.services import api_token_create
from config.api import api
from deployments.services import deployment_save
from engagements.services import engagement_create
from engagements.services.gates import criterion_create
from engagements.services.kpis import kpi_create, kpi_measurement_record
from engagements.services.records import decision_create, requirement_create, risk_create, stakeholder_create
from rag.models import Answer
from rag.prototypes import retrieval
from rag.prototypes.datasets import eval_case_save, eval_dataset_create
from rag.prototypes.evals import eval_run_create
from rag.prototypes.feedback import feedback_create
from rag.prototypes.selectors import prototype_latest_version
from rag.prototypes.services import answer_create
from rag.services.knowledge_base import knowledge_base_create
from tests.rag.prototype_builders import index, make_prototype

pytestmark = pytest.mark.django_db

# Public by design, each with its reason. Everything else is crawled.
PUBLIC = {
    "accounts:login": "the login page itself",
    "accounts:logout": "logging out needs no rights (and would end the crawling persona's session)",
    "healthz": "anonymous callers get up/down per component, no names or ids (tests/test_health.py)",
    "api:openapi-json": "the API's schema describes routes, never data",
    "api:openapi-view": "Swagger UI for the schema above, served from the package's own files",
    "admin:login": "the admin site's login page",
    "admin:logout": "logging out needs no rights",
    "admin:jsi18n": "the admin's translation catalogue, the same for everyone",
    "home": "sends each signed-in person to their own start page",
}
# Routes that find their object from the form body, so an empty request cannot show the owner reaches them; they are
# tried with every id instead.
BODY_LOOKUPS = {"engagements:unassign": "the team member to remove comes from the form's 'assignment' field"}
# Routes of the client portal: a client's own users may use them, so only outsiders and anonymous callers try them.
PORTAL = ("portal:",)
# API routes are for clients' programs too; they scope by the caller, so they are tried by outsiders and anonymously.
API = ("api:",)
DENIED = {403, 404}


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


def _routes() -> list[Route]:
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
    engagement = engagement_create(client=client_org, name="Crawlable claims pilot", lead=fde)
    stakeholder_create(engagement=engagement, actor=fde, name="Pat Sponsor", role="sponsor")
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
    answer = answer_create(version=version, question="How long do crawlers have to file a claim?", user=client_member)
    found = retrieval.retrieve(version=version, question=answer.question)
    answer.citations = [p.as_citation(n) for n, p in enumerate(found.passages, start=1)]
    answer.status, answer.text = Answer.Status.DONE, "Within 14 days [1]."
    answer.save()
    feedback_create(answer=answer, user=client_member, rating="down", correction="Fourteen calendar days.")
    dataset = eval_dataset_create(knowledge_base=kb, name="Crawlable eval set")
    eval_case_save(dataset=dataset, external_id="c1", question="Claim deadline?", requirement=requirement)
    eval_case_save(dataset=dataset, external_id="c2", question="Draft case?", status="draft")
    eval_run_create(version=version, dataset=dataset, user=fde, enqueue=False)
    return engagement


def _owned_rows(other_client: Any) -> list[models.Model]:
    """Every row with a public id, except the other client's own record: the fixture built them all for one client."""
    rows: list[models.Model] = []
    for model in apps.get_models():
        if any(f.name == "uuid" for f in model._meta.fields):
            rows += [r for r in model._default_manager.all() if r != other_client]
    return rows


def _secrets(rows: list[models.Model]) -> set[str]:
    found: set[str] = set()
    for row in rows:
        found.add(str(row.uuid))  # type: ignore[attr-defined]
        for field in ("name", "title", "question", "external_id", "base_url"):
            value = getattr(row, field, None)
            if isinstance(value, str) and len(value) >= 8:
                found.add(value)
    return found


def _candidates(route: Route, uuids: list[str]) -> list[dict[str, str]]:
    from engagements.views.sections import SECTION_KEYS

    choices: list[list[str]] = []
    for param in route.params:
        conv = type(route.converters.get(param)).__name__
        if conv == "UUIDConverter" or param in {"uuid", "item", "case"}:
            choices.append(uuids)
        elif param == "section":
            choices.append(sorted(SECTION_KEYS))
        elif conv == "IntConverter":
            choices.append(["1", "0"])
        elif param == "app_label":
            choices.append(["accounts"])
        else:
            choices.append(["1"])
    return [dict(zip(route.params, combo, strict=True)) for combo in itertools.product(*choices)]


def _reaches(http: HttpClient, url: str) -> bool:
    """Whether the owner gets past the route's object lookup: a GET, or a POST whose writes are rolled back."""
    response = http.get(url)
    if response.status_code == 405:
        with transaction.atomic():
            response = http.post(url)
            transaction.set_rollback(True)
    return response.status_code not in {404, 405}


def _owner_url(
    route: Route, owner: HttpClient, uuids: list[str], related: set[tuple[str, str]], learned: dict[str, str]
) -> str | None:
    """A URL of the route filled with ids the owning FDE reaches, or None; ``learned`` remembers, per URL prefix,
    which id worked, so routes under the same prefix find theirs at the first try."""
    if not route.params:
        return "/" + normalize(route.regex)[0][0]
    prefix = route.regex.split("(?P<", 1)[0]
    first = next((p for p in route.params if p in {"uuid", "item", "case"}), None)
    combos = _candidates(route, uuids)
    if first is not None:
        combos.sort(key=lambda values: values[first] != learned.get(prefix))
    for values in combos:
        pair = tuple(v for k, v in values.items() if k in {"uuid", "item", "case"})
        if len(pair) == 2 and pair not in related:
            continue  # a child id only makes sense under its own parent
        url = route.url(values)
        if _reaches(owner, url):
            if first is not None:
                learned[prefix] = values[first]
            return url
    return None


def _related_pairs(rows: list[models.Model]) -> set[tuple[str, str]]:
    by_pk = {(type(r)._meta.label, r.pk): str(r.uuid) for r in rows}  # type: ignore[attr-defined]
    pairs = set()
    for row in rows:
        for field in row._meta.fields:
            if isinstance(field, models.ForeignKey):
                parent = by_pk.get((field.related_model._meta.label, getattr(row, field.attname)))
                if parent:
                    pairs.add((parent, str(row.uuid)))  # type: ignore[attr-defined]
    return pairs


def _check(http: HttpClient, url: str, who: str, secrets: set[str], *, api_route: bool, own_view: bool) -> list[str]:
    """``own_view``: a route without ids, where a person sees their own things; only leaks count there."""
    problems = []
    for method, hx in itertools.product(("get", "post"), (False, True)):
        headers = {"HX-Request": "true"} if hx else {}
        response = getattr(http, method)(url, headers=headers)
        status = response.status_code
        location = response.get("Location", "")
        allowed = own_view or status in DENIED or (status == 302 and "/login/" in location)
        # 401: no or a refused credential (the API, /metrics). 405: a method the route does not take. 400/422 on
        # an API POST: the body is parsed and checked against the schema before the route runs. All three are
        # answered before any object is looked up.
        allowed = allowed or status in {401, 405} or (api_route and method == "post" and status in {400, 422})
        body = b"".join(response.streaming_content) if response.streaming else response.content
        text = body.decode(errors="replace")
        leaked = sorted(s for s in secrets if s in text)
        if not allowed or leaked:
            problems.append(f"{who} {method.upper()}{' HX' if hx else ''} {url} -> {status} {location} {leaked}")
    return problems


def own_view(route: Route, who: str) -> bool:
    """A route without ids shows each person their own things; to a client's user a provider page must still 404."""
    return not route.params and not who.startswith("client")


def test_no_route_gives_one_clients_objects_to_anyone_else(
    world: Any, fde: Any, client_member: Any, client_admin: Any, outsider: Any, other_client_org: Any, client_org: Any
) -> None:
    rows = _owned_rows(other_client_org)
    uuids = [str(r.uuid) for r in rows]  # type: ignore[attr-defined]
    secrets = _secrets(rows)
    related = _related_pairs(rows)
    owner = HttpClient()
    owner.force_login(fde)
    people: dict[str, HttpClient] = {"anonymous": HttpClient()}
    for name, user in (("outsider", outsider), ("client member", client_member), ("client admin", client_admin)):
        people[name] = HttpClient()
        people[name].force_login(user)
    _, token = api_token_create(user=outsider, name="crawler")
    people["outsider token"] = HttpClient(headers={"Authorization": f"Bearer {token}"})

    routes = [r for r in _routes() if r.name not in PUBLIC and not r.name.startswith("admin:")]
    unreached, problems, tried = [], [], 0
    learned: dict[str, str] = {}
    for route in routes:
        url = _owner_url(route, owner, uuids, related, learned)
        if url is None and route.name not in BODY_LOOKUPS:
            unreached.append(route.name)
            continue
        urls = [url] if url else [route.url(values) for values in _candidates(route, uuids)]
        is_api, is_portal = route.name.startswith(API), route.name.startswith(PORTAL)
        for url, (who, http) in itertools.product(urls, people.items()):
            if who.startswith("client") and (is_api or is_portal):
                continue  # their own client's data, which they may see
            if who == "outsider token" and not is_api:
                continue
            hidden = secrets - {client_org.name} if who.startswith("client") else secrets  # their own page header
            problems += _check(http, url, who, hidden, api_route=is_api, own_view=own_view(route, who))
            tried += 4
    assert not unreached, f"the owning FDE reaches none of these with the fixture's objects; build them: {unreached}"
    assert not problems, "\n".join(problems)
    assert tried > 500


def test_the_admin_site_sends_everyone_but_staff_to_its_login(world: Any, client_admin: Any, outsider: Any) -> None:
    people = {"anonymous": HttpClient()}
    for name, user in (("client admin", client_admin), ("outsider", outsider)):
        people[name] = HttpClient()
        people[name].force_login(user)
    admin_routes = [r for r in _routes() if r.name.startswith("admin:") and r.name not in PUBLIC]
    assert len(admin_routes) > 20
    problems = []
    for route, (who, http) in itertools.product(admin_routes, people.items()):
        values = {p: ("accounts" if p == "app_label" else "1") for p in route.params}
        response = http.get(route.url(values))
        if not (response.status_code == 302 and "/admin/login/" in response["Location"]):
            problems.append(f"{who} {route.name} -> {response.status_code}")
    assert not problems, "\n".join(problems)


def test_every_api_operation_is_in_the_crawl() -> None:
    crawled = {r.name for r in _routes()}
    paths = api.get_openapi_schema()["paths"]
    assert len(paths) > 5
    for path in paths:
        match = resolve(re.sub(r"\{\w+\}", str(uuidlib.uuid4()), path))
        assert f"{match.namespace}:{match.url_name}" in crawled, path
