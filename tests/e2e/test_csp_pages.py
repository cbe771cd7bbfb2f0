"""Every page of the site in a real browser under the site's Content-Security-Policy: no violation, no script error,
and htmx, its SSE extension and Plotly still at work. Pages come from the URL resolver, as in the tenancy crawl."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import pytest
from django.test import Client as HttpClient

from tests.conftest import PASSWORD
from tests.crawl import owned_rows, owner_url, related_pairs, routes
from tests.fixtures_services import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SKIP = ("api:", "admin:", "accounts:logout", "healthz", "metrics")


def _watch(page: Any) -> list[str]:
    problems: list[str] = []

    def on_console(message: Any) -> None:
        # A failed load is reported below with its address; the browser's own /favicon.ico probe is not ours.
        if message.type in {"error", "warning"} and not message.text.startswith("Failed to load resource"):
            problems.append(f"console: {message.text}")

    def on_response(response: Any) -> None:
        if response.status >= 400 and not response.url.endswith("/favicon.ico"):
            problems.append(f"HTTP {response.status}: {response.url}")

    page.on("console", on_console)
    page.on("response", on_response)
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    return problems


def _pages(user: Any, other_client: Any) -> list[str]:
    """The URLs of HTML pages ``user`` reaches with the world's ids."""
    rows = owned_rows(other_client)
    uuids = [str(r.uuid) for r in rows]  # type: ignore[attr-defined]
    related, learned = related_pairs(rows), dict[str, str]()
    http = HttpClient()
    http.force_login(user)
    found = []
    for route in routes():
        if route.name.startswith(SKIP):
            continue
        url = owner_url(route, http, uuids, related, learned)
        if url is None:
            continue
        response = http.get(url)
        full_page = response.status_code == 200 and not response.streaming and b"<html" in response.content
        if full_page:  # fragments are checked inside the pages that swap them in
            found.append(url)
    return found


def _visit(page: Any, urls: list[str]) -> tuple[list[str], int]:
    problems = _watch(page)
    charts = 0
    for url in urls:
        before = len(problems)
        page.goto(url)
        page.wait_for_load_state("networkidle")
        charts += page.locator(".js-plotly-plot").count()
        problems[before:] = [f"{url}: {p}" for p in problems[before:]]
    return problems, charts


def test_every_provider_page_runs_under_the_csp_without_a_violation(
    page: Any, world: Any, fde: Any, other_client_org: Any
) -> None:
    fde.is_superuser = True
    fde.save(update_fields=["is_superuser"])
    urls = _pages(fde, other_client_org)
    assert len(urls) > 25
    login(page, fde.email, PASSWORD)
    problems, charts = _visit(page, [*urls, "/admin/", "/admin/accounts/user/"])
    assert problems == [], "\n".join(problems)
    assert charts > 0, "Plotly drew no chart"
    assert page.context.cookies() and all(
        c["httpOnly"] for c in page.context.cookies() if c["name"] in {"csrftoken", "sessionid"}
    )


def test_every_portal_page_runs_under_the_csp_and_an_answer_streams(
    page: Any, world: Any, client_member: Any, other_client_org: Any
) -> None:
    urls = _pages(client_member, other_client_org)
    assert any("/portal/prototypes/" in u for u in urls)
    login(page, client_member.email, PASSWORD)
    problems, _ = _visit(page, urls)
    assert problems == [], "\n".join(problems)
    prototype_page = next(u for u in urls if u.startswith("/portal/prototypes/") and u.count("/") == 4)
    page.goto(prototype_page)
    page.fill("#ask-form textarea[name=question]", "How long do crawlers have to file a claim?")
    page.click("#ask-form button[type=submit]")
    # The model behind the world's prototype does not answer: the card still arrives through htmx and SSE.
    card = page.wait_for_selector(".answer-card[data-status=failed]", timeout=60_000)
    assert "not answering right now" in card.inner_text()
    assert page.input_value("#ask-form textarea[name=question]") == "", "the form was reset after it was accepted"
    assert problems == [], "\n".join(problems)


def test_the_api_docs_load_from_the_site_alone(page: Any, live_server: Any, fde: Any) -> None:
    hosts: set[str] = set()
    page.on("request", lambda r: hosts.add(urlparse(r.url).netloc))
    problems = _watch(page)
    login(page, fde.email, PASSWORD)
    page.goto("/api/docs")
    title = page.wait_for_selector(".swagger-ui .info .title")
    assert "FDE Toolkit API" in title.inner_text()
    assert page.locator(".opblock").count() > 5
    assert hosts == {urlparse(live_server.url).netloc}, f"the docs page asked other hosts: {hosts}"
    assert problems == [], "\n".join(problems)
