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
from typing import Any

import pytest
from django.test import Client as HttpClient
from django.urls import resolve

from accounts.services import api_token_create
from config.api import api
from tests.crawl import Route, candidates, owned_rows, owner_url, related_pairs, routes, secret_strings

pytestmark = pytest.mark.django_db

# Public by design, each with its reason: the only routes an anonymous caller may get a page from. Everything else is
# crawled, and anonymous callers must get 401, 403, 404 or the login page there. Static files are not routes of the
# site (WhiteNoise serves them), uploaded files are served only by the permission-checked views crawled here, and
# there are no password-reset pages.
PUBLIC = {
    "accounts:login": "the login page itself",
    "accounts:logout": "logging out needs no rights (and would end the crawling persona's session)",
    "healthz": "anonymous callers get up/down per component, no names or ids (tests/test_health.py)",
    "api:openapi-json": "the API's schema describes routes, never data",
    "api:openapi-view": "Swagger UI for the schema above, served from the package's own files",
    "admin:login": "the admin site's login page",
    "admin:logout": "logging out needs no rights",
    "admin:jsi18n": "the admin's translation catalogue, the same for everyone",
}
# Routes that find their object from the form body, so an empty request cannot show the owner reaches them; they are
# tried with every id instead.
BODY_LOOKUPS = {"engagements:unassign": "the team member to remove comes from the form's 'assignment' field"}
# Routes of the client portal: a client's own users may use them, so only outsiders and anonymous callers try them.
PORTAL = ("portal:",)
# API routes are for clients' programs too; they scope by the caller, so they are tried by outsiders and anonymously.
API = ("api:",)
# Routes without ids where any signed-in client user sees their own things, or is sent to their own start page.
OWN_PAGES = (*PORTAL, *API, "home")
DENIED = {403, 404}


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
    """A portal or API route without ids shows a signed-in client user their own things; only leaks count there.

    Anonymous callers have no things of their own, and a provider page without ids is still the provider's: a
    client's user, of this client or another, must be turned away from it.
    """
    return not route.params and who != "anonymous" and route.name.startswith(OWN_PAGES)


def test_no_route_gives_one_clients_objects_to_anyone_else(
    world: Any, fde: Any, client_member: Any, client_admin: Any, outsider: Any, other_client_org: Any, client_org: Any
) -> None:
    rows = owned_rows(other_client_org)
    uuids = [str(r.uuid) for r in rows]  # type: ignore[attr-defined]
    secrets = secret_strings(rows)
    related = related_pairs(rows)
    owner = HttpClient()
    owner.force_login(fde)
    people: dict[str, HttpClient] = {"anonymous": HttpClient()}
    for name, user in (("outsider", outsider), ("client member", client_member), ("client admin", client_admin)):
        people[name] = HttpClient()
        people[name].force_login(user)
    _, token = api_token_create(user=outsider, name="crawler")
    people["outsider token"] = HttpClient(headers={"Authorization": f"Bearer {token}"})

    crawled = [r for r in routes() if r.name not in PUBLIC and not r.name.startswith("admin:")]
    unreached, problems, tried = [], [], 0
    learned: dict[str, str] = {}
    for route in crawled:
        url = owner_url(route, owner, uuids, related, learned)
        if url is None and route.name not in BODY_LOOKUPS:
            unreached.append(route.name)
            continue
        urls = [url] if url else [route.url(values) for values in candidates(route, uuids)]
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
    admin_routes = [r for r in routes() if r.name.startswith("admin:") and r.name not in PUBLIC]
    assert len(admin_routes) > 20
    problems = []
    for route, (who, http) in itertools.product(admin_routes, people.items()):
        values = {p: ("accounts" if p == "app_label" else "1") for p in route.params}
        response = http.get(route.url(values))
        if not (response.status_code == 302 and "/admin/login/" in response["Location"]):
            problems.append(f"{who} {route.name} -> {response.status_code}")
    assert not problems, "\n".join(problems)


def test_every_api_operation_is_in_the_crawl() -> None:
    crawled = {r.name for r in routes()}
    paths = api.get_openapi_schema()["paths"]
    assert len(paths) > 5
    for path in paths:
        match = resolve(re.sub(r"\{\w+\}", str(uuidlib.uuid4()), path))
        assert f"{match.namespace}:{match.url_name}" in crawled, path
