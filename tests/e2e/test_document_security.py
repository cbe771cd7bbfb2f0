from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from deployments.services import deployment_save
from engagements.models import Engagement
from rag.models import Answer, Prototype
from rag.prototypes import retrieval
from rag.prototypes.selectors import prototype_latest_version
from rag.prototypes.services import answer_create
from rag.services.knowledge_base import knowledge_base_create
from tests.conftest import PASSWORD
from tests.fixtures_services import login
from tests.rag.prototype_builders import index, make_prototype

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

HOSTILE_HTML = b"""<!doctype html><html><head><title>Carrier notice</title>
<script>alert('script ran in the product: ' + document.cookie)</script></head>
<body onload="alert('onload ran')"><h1>Carrier notice</h1>
<p>Claims for damaged freight must be filed within 14 days of delivery to the carrier claims desk.</p>
<img src="x" onerror="alert('onerror ran')">
<svg onload="alert('svg ran')"></svg>
<iframe srcdoc="<script>alert('iframe ran')</script>"></iframe>
</body></html>"""
HOSTILE_TEXT = (
    b"<html><body><script>alert('text file ran')</script>Hazardous freight claims carry a 15% surcharge "
    b"and must name the carrier.</body></html>"
)


@pytest.fixture
def prototype(engagement: Engagement, fde: Any, settings: Any, tmp_path: Path) -> Prototype:
    settings.MEDIA_ROOT = tmp_path / "media"
    kb = knowledge_base_create(engagement=engagement, name="Notices", actor=fde, chunk_size=300, chunk_overlap=40)
    index(kb, {"notices/carrier.html": HOSTILE_HTML, "notices/surcharges.txt": HOSTILE_TEXT})
    deployment = deployment_save(name="Unused", base_url="http://127.0.0.1:9/v1", served_model_name="x")
    return make_prototype(kb, deployment, abstain_below=0.0)


def _answer(prototype: Prototype, user: Any) -> Answer:
    version = prototype_latest_version(prototype=prototype)
    question = "How many days do we have to file a claim for damaged freight, and what surcharge applies?"
    answer = answer_create(version=version, question=question, user=user)
    found = retrieval.retrieve(version=version, question=question)
    answer.citations = [p.as_citation(n) for n, p in enumerate(found.passages, start=1)]
    answer.text, answer.status = "Within 14 days [1].", Answer.Status.DONE
    answer.save()
    assert {c["external_id"] for c in answer.citations} == {"notices/carrier.html", "notices/surcharges.txt"}
    return answer


def _watch(page: Any) -> tuple[list[str], list[str]]:
    """Every dialog (dismissed and recorded) and every CSP report in the console, on this page and any it opens."""
    dialogs: list[str] = []
    violations: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    def on_console(message: Any) -> None:
        if "Content Security Policy" in message.text:
            violations.append(message.text)

    def attach(p: Any) -> None:
        p.on("dialog", on_dialog)
        p.on("console", on_console)

    attach(page)
    page.context.on("page", attach)
    return dialogs, violations


def _open_cited(page: Any, answer: Answer, external_id: str) -> Any:
    cited = next(c for c in answer.citations if c["external_id"] == external_id)
    card = page.wait_for_selector(f"#answer-{answer.uuid}")
    card.query_selector_all(".answer-sources li a.source-link")[cited["n"] - 1].click()
    citation = page.wait_for_selector(f".citation-card[data-chunk='{cited['chunk_id']}']")
    with page.context.expect_page() as opened:
        citation.query_selector("a[target=_blank]").click()
    document = opened.value
    document.wait_for_load_state("load")
    return document


def _check_documents(page: Any, answer: Answer, dialogs: list[str]) -> None:
    html = _open_cited(page, answer, "notices/carrier.html")
    assert "within 14 days of delivery" in html.inner_text("main")
    assert html.query_selector("main iframe, main svg, main img[src=x]") is None
    assert "csrftoken" not in html.evaluate("document.cookie"), "the CSRF cookie is readable from script"
    with html.expect_download() as download:
        html.click("text=Download the original")
    assert download.value.suggested_filename == "carrier.html"

    text = _open_cited(page, answer, "notices/surcharges.txt")
    assert "<script>alert('text file ran')</script>" in text.inner_text("body"), "shown as text, not run"
    assert dialogs == [], f"script from an uploaded document ran: {dialogs}"


def test_an_uploaded_html_document_never_runs_script_for_a_client_user(
    page: Any, client_member: Any, prototype: Prototype
) -> None:
    answer = _answer(prototype, client_member)
    dialogs, violations = _watch(page)
    login(page, client_member.email, PASSWORD)
    page.goto(f"/portal/prototypes/{prototype.uuid}/")
    _check_documents(page, answer, dialogs)
    assert violations == []


def test_an_uploaded_html_document_never_runs_script_for_a_superuser(page: Any, fde: Any, prototype: Prototype) -> None:
    fde.is_superuser = True
    fde.save(update_fields=["is_superuser"])
    answer = _answer(prototype, fde)
    dialogs, violations = _watch(page)
    login(page, fde.email, PASSWORD)
    page.goto(f"/rag/prototypes/{prototype.uuid}/")
    _check_documents(page, answer, dialogs)
    assert violations == []
