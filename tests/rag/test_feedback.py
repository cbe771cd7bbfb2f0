from __future__ import annotations

from typing import Any

import pytest
from django.test import Client as HttpClient

from deployments.services import deployment_save
from engagements.metrics import get_provider
from engagements.models import Engagement, Requirement
from rag.models import Answer, EvalCase, Feedback, KnowledgeBase, Prototype
from rag.prototypes.services import answer_create
from tests.rag.prototype_builders import make_prototype


@pytest.fixture
def prototype(kb: KnowledgeBase) -> Prototype:
    # No generation happens in these tests, so the deployment need not answer.
    deployment = deployment_save(name="Any model", base_url="http://127.0.0.1:9/v1", served_model_name="m")
    return make_prototype(kb, deployment)


def _finished_answer(prototype: Prototype, user: Any, question: str = "How long do claims take?") -> Answer:
    answer = answer_create(version=prototype.versions.get(), question=question, user=user)
    answer.status, answer.text = Answer.Status.DONE, "About a week [1]."
    answer.citations = [{"n": 1, "chunk_id": 0, "external_id": "handbook/claims.pdf", "document_title": "Claims"}]
    answer.save()
    return answer


def test_a_client_member_rates_and_corrects_an_answer_in_the_portal(
    member_http: HttpClient, client_member: Any, prototype: Prototype
) -> None:
    answer = _finished_answer(prototype, client_member)

    page = member_http.get(f"/portal/prototypes/{prototype.uuid}/").content.decode()
    response = member_http.post(
        f"/portal/answers/{answer.uuid}/feedback/", {"rating": "down", "correction": "Within 14 days."}
    )

    assert "About a week" in page
    assert response.status_code == 200 and "will be reviewed" in response.content.decode()
    feedback = Feedback.objects.get()
    assert (feedback.rating, feedback.correction, feedback.author) == ("down", "Within 14 days.", client_member)
    assert feedback.status == Feedback.Status.NEW


def test_a_bad_rating_is_refused_with_a_message(
    member_http: HttpClient, client_member: Any, prototype: Prototype
) -> None:
    answer = _finished_answer(prototype, client_member)
    response = member_http.post(f"/portal/answers/{answer.uuid}/feedback/", {"rating": "meh"})
    assert "not one of the available choices" in response.content.decode()
    assert not Feedback.objects.exists()


def test_an_accepted_correction_becomes_an_eval_case_linked_to_its_requirement(
    fde_http: HttpClient, fde: Any, client_member: Any, prototype: Prototype, engagement: Engagement
) -> None:
    answer = _finished_answer(prototype, client_member)
    member = HttpClient()
    member.force_login(client_member)
    member.post(f"/portal/answers/{answer.uuid}/feedback/", {"rating": "down", "correction": "Within 14 days."})
    feedback = Feedback.objects.get()
    requirement = Requirement.objects.create(engagement=engagement, title="Cite the claim deadline")
    coverage = get_provider("rag.eval_coverage")
    assert coverage is not None
    assert coverage.compute(engagement, {}).value == 0.0

    queue = fde_http.get("/rag/feedback/").content.decode()
    fde_http.post(f"/rag/feedback/{feedback.uuid}/review/", {"action": "accept", "requirement": requirement.pk})

    assert "Within 14 days." in queue
    case = EvalCase.objects.get()
    assert case.question == answer.question and case.reference_answer == "Within 14 days."
    assert case.origin == EvalCase.Origin.FEEDBACK and case.requirement == requirement
    assert case.relevant_documents == ["handbook/claims.pdf"]
    feedback.refresh_from_db()
    assert feedback.status == Feedback.Status.ACCEPTED and feedback.eval_case == case and feedback.reviewed_by == fde
    assert "Within 14 days." not in fde_http.get("/rag/feedback/").content.decode()
    assert coverage.compute(engagement, {}).value == 100.0


def test_outsiders_cannot_see_or_rate_another_clients_answers(
    outsider_http: HttpClient, client_member: Any, prototype: Prototype
) -> None:
    answer = _finished_answer(prototype, client_member)
    assert outsider_http.get("/portal/prototypes/").content.decode().count(prototype.name) == 0
    assert outsider_http.get(f"/portal/prototypes/{prototype.uuid}/").status_code == 404
    assert outsider_http.get(f"/portal/answers/{answer.uuid}/").status_code == 404
    assert outsider_http.get(f"/portal/answers/{answer.uuid}/stream/").status_code == 404
    assert outsider_http.post(f"/portal/answers/{answer.uuid}/feedback/", {"rating": "up"}).status_code == 404
    assert outsider_http.post(f"/portal/prototypes/{prototype.uuid}/ask/", {"question": "hi"}).status_code == 404
    assert not Feedback.objects.exists()


def test_client_users_see_only_their_own_answers_and_never_the_review_queue(
    member_http: HttpClient, fde: Any, client_member: Any, prototype: Prototype
) -> None:
    fde_answer = _finished_answer(prototype, fde, question="An FDE's trial question?")
    assert member_http.get(f"/portal/answers/{fde_answer.uuid}/").status_code == 404
    assert "trial question" not in member_http.get(f"/portal/prototypes/{prototype.uuid}/").content.decode()
    assert member_http.get("/rag/feedback/").status_code == 404
    assert prototype.name in member_http.get("/portal/prototypes/").content.decode()
