from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from rag.models import Answer, EvalRun
from rag.prototypes.evals import eval_run_create
from rag.prototypes.feedback import feedback_accept, feedback_create
from rag.prototypes.selectors import prototype_latest_version
from rag.prototypes.services import answer_create
from rag.services.knowledge_base import knowledge_base_create
from tests.rag.prototype_builders import make_prototype

pytestmark = pytest.mark.django_db


@pytest.fixture
def answered(engagement, fde, client_member, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    from deployments.services import deployment_save

    kb = knowledge_base_create(engagement=engagement, name="Policies", actor=fde)
    deployment = deployment_save(
        name="Local", base_url="http://127.0.0.1:9/v1", served_model_name="x", engagement=engagement
    )
    prototype = make_prototype(kb, deployment, name="Claims bot")
    version = prototype_latest_version(prototype=prototype)
    answer = answer_create(version=version, question="How long to file a claim?", user=client_member)
    answer.status, answer.text = Answer.Status.DONE, "A year."
    answer.save()
    return version, answer


def _finished_run(version, dataset, fde, when, **metrics):
    run = eval_run_create(version=version, dataset=dataset, user=fde, enqueue=False)
    EvalRun.objects.filter(pk=run.pk).update(status="succeeded", finished_at=when, metrics=metrics)
    return run


def test_you_said_we_did_shows_the_fix_the_eval_case_and_the_score_move(member_http, answered, fde):
    version, answer = answered
    feedback = feedback_create(answer=answer, user=answer.asked_by, rating="down", correction="Fourteen days.")
    case = feedback_accept(feedback=feedback, reviewer=fde, fix_note="We now cite the claims policy's deadline.")
    before = feedback.created_at - dt.timedelta(hours=1)
    _finished_run(version, case.dataset, fde, before, hit=0.5, f1=0.25)
    _finished_run(version, case.dataset, fde, timezone.now() + dt.timedelta(minutes=1), hit=0.75, f1=0.5)
    page = member_http.get("/portal/feedback/").content.decode()
    assert "Fourteen days." in page and "We now cite the claims policy&#x27;s deadline." in page
    assert case.external_id in page
    assert "0.50 → 0.75" in page and "+0.25" in page


def test_unreviewed_feedback_says_so_and_outsiders_see_none(member_http, outsider_http, answered):
    _, answer = answered
    feedback_create(answer=answer, user=answer.asked_by, rating="down", correction="SECRET-CORRECTION")
    assert "Not reviewed yet." in member_http.get("/portal/feedback/").content.decode()
    assert "SECRET-CORRECTION" not in outsider_http.get("/portal/feedback/").content.decode()


def test_the_fde_writes_the_fix_note_when_reviewing(fde_http, answered):
    _, answer = answered
    feedback = feedback_create(answer=answer, user=answer.asked_by, rating="down", correction="Fourteen days.")
    fde_http.post(f"/rag/feedback/{feedback.uuid}/review/", {"action": "accept", "fix_note": "Cited the policy."})
    feedback.refresh_from_db()
    assert feedback.fix_note == "Cited the policy." and feedback.eval_case is not None
