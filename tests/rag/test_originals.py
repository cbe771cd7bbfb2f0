from __future__ import annotations

import re
from typing import Any

import pytest
from django.http import HttpResponse, HttpResponseBase
from django.test import Client as HttpClient

from deployments.services import deployment_save
from rag.models import Answer, Chunk, KnowledgeBase, Prototype
from rag.prototypes.selectors import prototype_latest_version
from rag.prototypes.services import answer_create
from tests.rag import files
from tests.rag.prototype_builders import index, make_prototype

HOSTILE_HTML = (
    b"<!doctype html><html><head><script>alert(document.cookie)</script></head>"
    b"<body><h1>Carrier notice</h1><p>Claims must be filed within 14 days of delivery.</p></body></html>"
)
CORPUS = {
    "handbook/claims.pdf": files.make_pdf(["Claims handbook.", "Claims must be filed within 14 days."]),
    "notes.txt": b"<html><script>alert(1)</script>Hazardous freight carries a 15% surcharge.</html>",
    "rates.md": b"# Rates\n\nStandard pallets cost 42 EUR each within the EU.",
    "carriers.csv": b"carrier,sla\nDHL,48h\nUPS,72h\n",
    "faq.json": b'{"question": "When are addresses deleted?", "answer": "90 days after delivery."}',
    "notices/carrier.html": HOSTILE_HTML,
    "returns.docx": files.make_docx("Returns", {"Window": "Goods may be returned within 30 days."}),
}
INLINE = {"handbook/claims.pdf", "notes.txt", "rates.md", "carriers.csv", "faq.json"}
DOWNLOAD_ONLY = set(CORPUS) - INLINE


@pytest.fixture
def prototype(kb: KnowledgeBase) -> Prototype:
    unused = deployment_save(name="Unused", base_url="http://127.0.0.1:9/v1", served_model_name="x")
    return make_prototype(index(kb, CORPUS), unused)


@pytest.fixture
def answer(prototype: Prototype, client_member: Any) -> Answer:
    """A client member's answer citing one passage of every document, so each kind of original can be opened."""
    answer = answer_create(
        version=prototype_latest_version(prototype=prototype), question="Claims?", user=client_member
    )
    chunks = {c.document.external_id: c for c in Chunk.objects.filter(index=0).select_related("document")}
    assert set(chunks) == set(CORPUS)
    answer.citations = [
        {"n": n, "chunk_id": chunks[name].pk, "external_id": name, "page": chunks[name].page}
        for n, name in enumerate(sorted(CORPUS), start=1)
    ]
    answer.text, answer.status = "Within 14 days [1].", Answer.Status.DONE
    answer.save()
    return answer


def _policy(response: HttpResponseBase) -> dict[str, list[str]]:
    header = response.get("Content-Security-Policy", "")
    directives = [part.split() for part in header.split(";") if part.strip()]
    return {parts[0]: parts[1:] for parts in directives}


def _document(view: tuple[HttpClient, str], answer: Answer, name: str, query: str) -> HttpResponseBase:
    http, prefix = view
    n = next(c["n"] for c in answer.citations if c["external_id"] == name)
    response = http.get(f"{prefix}/answers/{answer.uuid}/citations/{n}/document/?{query}")
    assert response.status_code == 200
    return response


@pytest.fixture(params=["provider", "portal"])
def view(request: Any, fde_http: HttpClient, member_http: HttpClient) -> tuple[HttpClient, str]:
    return (fde_http, "/rag") if request.param == "provider" else (member_http, "/portal")


def test_pages_carry_a_csp_whose_scripts_need_the_pages_nonce(
    fde_http: HttpClient, member_http: HttpClient, prototype: Prototype
) -> None:
    for http, url in ((fde_http, f"/rag/prototypes/{prototype.uuid}/"), (member_http, "/portal/")):
        response = http.get(url)
        assert response.status_code == 200, url
        policy = _policy(response)
        nonces = [s for s in policy.get("script-src", []) if s.startswith("'nonce-")]
        assert len(nonces) == 1, (url, policy)
        for directive in ("script-src", "default-src"):
            assert not {"'unsafe-inline'", "'unsafe-eval'", "*"} & set(policy.get(directive, [])), (url, directive)
        assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
        page = response.content.decode()
        used = set(re.findall(r'<script nonce="([^"]+)"', page))
        assert used == {nonces[0][len("'nonce-") : -1]}, "every script tag carries the nonce the policy names"
        assert "<script>" not in page and "<script " not in page.replace("<script nonce=", "")


@pytest.mark.parametrize("name", sorted(INLINE))
def test_pdf_and_plain_text_originals_open_inline_without_running_anything(
    view: tuple[HttpClient, str], answer: Answer, name: str
) -> None:
    response = _document(view, answer, name, "original=1")

    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("inline")
    policy = _policy(response)
    if name.endswith(".pdf"):
        assert response["Content-Type"] == "application/pdf"
        # Chrome's PDF viewer refuses a sandboxed document; the site's own policy still allows no foreign script.
        assert "'unsafe-inline'" not in policy["script-src"] and policy["object-src"] == ["'none'"]
    else:
        assert response["Content-Type"] == "text/plain; charset=utf-8"
        assert "sandbox" in policy and policy["default-src"] == ["'none'"]
        assert "script-src" not in policy


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_every_original_downloads_as_a_sandboxed_attachment(
    view: tuple[HttpClient, str], answer: Answer, name: str
) -> None:
    response = _document(view, answer, name, "download=1")

    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("attachment")
    if name not in INLINE:
        assert response["Content-Type"] == "application/octet-stream"
    if not name.endswith(".pdf"):
        assert "sandbox" in _policy(response) and _policy(response)["default-src"] == ["'none'"]


@pytest.mark.parametrize("name", sorted(DOWNLOAD_ONLY))
def test_html_and_office_originals_are_never_served_inline(
    view: tuple[HttpClient, str], answer: Answer, name: str
) -> None:
    response = _document(view, answer, name, "original=1")

    assert "Content-Disposition" not in response, "asked for inline, it gets the extracted text as our own page"
    assert isinstance(response, HttpResponse)
    page = response.content.decode()
    assert "alert(document.cookie)" not in page and "<script>alert" not in page
    assert "nonce-" in response["Content-Security-Policy"]
