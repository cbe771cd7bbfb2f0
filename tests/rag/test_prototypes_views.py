from __future__ import annotations

from typing import Any

import pytest
from django.test import Client as HttpClient

from deployments.services import deployment_save
from rag.models import Answer, EvalResult, Feedback, KnowledgeBase, Prototype
from rag.prototypes import evals
from rag.prototypes.datasets import eval_case_save, eval_dataset_create
from rag.prototypes.feedback import feedback_create
from rag.prototypes.services import answer_create
from tests.rag.prototype_builders import make_prototype


@pytest.fixture
def prototype(kb: KnowledgeBase) -> Prototype:
    deployment = deployment_save(name="Any model", base_url="http://127.0.0.1:9/v1", served_model_name="m")
    return make_prototype(kb, deployment)


def _answers(prototype: Prototype, user: Any, count: int) -> list[Answer]:
    made = []
    for i in range(count):
        answer = answer_create(version=prototype.versions.get(), question=f"Question {i}?", user=user)
        answer.status, answer.text = Answer.Status.DONE, f"Answer {i} [1]."
        answer.citations = [
            {
                "n": 1,
                "chunk_id": 0,
                "external_id": "a.md",
                "document_title": "A",
                "page": None,
                "score": 0.5,
                "vector_score": 0.5,
            }
        ]
        answer.save()
        made.append(answer)
    return made


def test_a_finished_answer_reconnecting_to_its_stream_gets_the_final_card(
    fde_http: HttpClient, fde: Any, prototype: Prototype
) -> None:
    (answer,) = _answers(prototype, fde, 1)

    body = b"".join(fde_http.get(f"/rag/answers/{answer.uuid}/stream/").streaming_content).decode()  # type: ignore[attr-defined]

    assert body.startswith("event: done\n") and 'data-status=\\"done\\"' not in body and 'data-status="done"' in body
    assert f'href="/rag/answers/{answer.uuid}/citations/1/"' in body  # the marker became a link


def test_an_fde_rates_an_answer_from_the_workspace(fde_http: HttpClient, fde: Any, prototype: Prototype) -> None:
    (answer,) = _answers(prototype, fde, 1)
    response = fde_http.post(f"/rag/answers/{answer.uuid}/feedback/", {"rating": "up"})
    assert "will be reviewed" in response.content.decode()
    assert Feedback.objects.get().author == fde


def test_pages_keep_a_flat_query_count(
    fde_http: HttpClient, fde: Any, client_member: Any, prototype: Prototype, django_assert_max_num_queries: Any
) -> None:
    answers = _answers(prototype, fde, 8) + _answers(prototype, client_member, 4)
    for answer in answers[-4:]:
        feedback_create(answer=answer, user=client_member, rating="down", correction="Better.")
    dataset = eval_dataset_create(knowledge_base=prototype.knowledge_base, name="Views")
    cases = [eval_case_save(dataset=dataset, external_id=f"c{i}", question=f"Q{i}?") for i in range(10)]
    run = evals.eval_run_create(version=prototype.versions.get(), dataset=dataset, enqueue=False)
    for case in cases:
        EvalResult.objects.create(run=run, case=case, hit=1.0, total_ms=10)
    evals.eval_run_finish(run_id=run.pk)
    member = HttpClient()
    member.force_login(client_member)

    pages = {
        f"/rag/prototypes/{prototype.uuid}/": fde_http,
        "/rag/eval/datasets/": fde_http,
        f"/rag/eval/datasets/{dataset.uuid}/": fde_http,
        f"/rag/eval/runs/{run.uuid}/": fde_http,
        "/rag/feedback/": fde_http,
        "/portal/prototypes/": member,
        f"/portal/prototypes/{prototype.uuid}/": member,
    }
    for url, http in pages.items():
        # 12 answers, 4 feedback items and 10 results: an N+1 anywhere would blow well past this
        with django_assert_max_num_queries(10):
            assert http.get(url).status_code == 200, url


def _cited_answer(prototype: Prototype, user: Any, text: str, cited: list[int], matched: list[int] = []) -> Answer:  # noqa: B006
    answer = answer_create(version=prototype.versions.get(), question="Which?", user=user)
    answer.status, answer.text = Answer.Status.DONE, text
    answer.citations = [
        {"n": n, "chunk_id": 0, "external_id": f"{n}.md", "document_title": f"Doc {n}", "page": None, "score": 0.5}
        | {"cited": n in cited, "matched": n in matched}
        for n in (1, 2, 3)
    ]
    answer.save()
    return answer


def test_only_the_cited_passages_are_listed_each_once(fde_http: HttpClient, fde: Any, prototype: Prototype) -> None:
    answer = _cited_answer(prototype, fde, "It is 7 days [3]. Really [3], see [7].", cited=[3])

    body = fde_http.get(f"/rag/answers/{answer.uuid}/").content.decode()

    sources = body.split('class="answer-sources', 1)[1]
    assert sources.count('class="source-item"') == 1 and 'data-n="3"' in sources
    assert 'data-flag="uncited"' not in body
    assert 'data-flag="invented"' in body and "[7]" in body  # a number that names no passage is pointed out


def test_an_answer_that_cites_nothing_is_flagged(fde_http: HttpClient, fde: Any, prototype: Prototype) -> None:
    answer = _cited_answer(prototype, fde, "Seven days, I think.", cited=[])

    body = fde_http.get(f"/rag/answers/{answer.uuid}/").content.decode()

    assert 'data-flag="uncited"' in body and "answer-sources" not in body
    assert body.count('class="source-item"') == 3  # the passages it was given, to check it against


def test_passages_matched_by_the_product_are_listed_and_said_to_be_matched(
    fde_http: HttpClient, fde: Any, prototype: Prototype
) -> None:
    answer = _cited_answer(prototype, fde, "It is 7 days [2].", cited=[], matched=[2])

    body = fde_http.get(f"/rag/answers/{answer.uuid}/").content.decode()

    assert 'data-flag="matched"' in body and 'data-flag="uncited"' not in body
    assert body.split('class="answer-sources', 1)[1].count('class="source-item"') == 1
