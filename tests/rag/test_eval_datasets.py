from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as HttpClient

from deployments.services import deployment_save
from rag.models import EvalCase, EvalDataset, KnowledgeBase
from rag.prototypes.datasets import eval_cases_import, eval_dataset_create
from tests.rag.prototype_builders import index, make_prototype


@pytest.fixture
def dataset(kb: KnowledgeBase) -> EvalDataset:
    return eval_dataset_create(knowledge_base=kb, name="Claims questions")


def _jsonl(*rows: Any) -> bytes:
    return "\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows).encode()


def test_jsonl_import_creates_and_then_updates_cases(dataset: EvalDataset) -> None:
    data = _jsonl(
        {"id": "q1", "question": "Claim deadline?", "reference_answer": "14 days", "relevant_documents": ["a.pdf"]},
        "",
        {"id": 2, "question": "Wer zahlt die Fracht?", "tags": ["de"], "unanswerable": True},
    )
    first = eval_cases_import(dataset=dataset, name="cases.jsonl", data=data)
    again = eval_cases_import(
        dataset=dataset, name="cases.jsonl", data=_jsonl({"id": "q1", "question": "Claim deadline, in days?"})
    )

    assert (first.created, first.updated, again.created, again.updated) == (2, 0, 0, 1)
    q2, q1 = dataset.cases.order_by("external_id")
    assert (q1.external_id, q1.question, q1.origin) == ("q1", "Claim deadline, in days?", EvalCase.Origin.IMPORTED)
    assert (q2.external_id, q2.tags, q2.unanswerable) == ("2", ["de"], True)


def test_csv_import_splits_lists_on_bars(dataset: EvalDataset) -> None:
    data = b"id,question,reference_answer,relevant_documents,tags\nc1,Rate?,42 EUR,rates.md|prices.md,rates|eu\n"
    eval_cases_import(dataset=dataset, name="cases.csv", data=data)
    case = dataset.cases.get()
    assert case.relevant_documents == ["rates.md", "prices.md"] and case.tags == ["rates", "eu"]


def test_a_bad_file_names_every_bad_line_and_imports_nothing(dataset: EvalDataset) -> None:
    data = _jsonl(
        {"id": "ok", "question": "Fine?"},
        "{not json",
        {"id": "q3"},
        {"id": "ok", "question": "Again?"},
        {"id": "q5", "question": "Docs?", "relevant_documents": "a.pdf", "colour": "red"},
    )
    with pytest.raises(ValidationError) as caught:
        eval_cases_import(dataset=dataset, name="cases.jsonl", data=data)

    text = " ".join(caught.value.messages)
    assert "Nothing was imported" in text
    assert "line 2: not valid JSON" in text
    assert "line 3: question: Field required" in text
    assert "line 4: the id 'ok' appears twice" in text
    assert "line 5: relevant_documents" in text and "colour" in text
    assert not dataset.cases.exists()


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("cases.jsonl", b"", "no cases"),
        ("cases.jsonl", b"\xff\xfe\x00bad", "not UTF-8"),
        ("cases.csv", b"question\nwhat?\n", "columns id and question"),
    ],
)
def test_unreadable_files_get_a_clear_error(dataset: EvalDataset, name: str, data: bytes, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        eval_cases_import(dataset=dataset, name=name, data=data)


def test_the_import_form_reports_errors_on_the_page(fde_http: HttpClient, dataset: EvalDataset) -> None:
    upload = SimpleUploadedFile("cases.jsonl", _jsonl({"id": "x"}))
    response = fde_http.post(f"/rag/eval/datasets/{dataset.uuid}/import/", {"file": upload})
    assert response.status_code == 422 and "line 1: question: Field required" in response.content.decode()

    upload = SimpleUploadedFile("cases.jsonl", _jsonl({"id": "x", "question": "Fine?"}))
    response = fde_http.post(f"/rag/eval/datasets/{dataset.uuid}/import/", {"file": upload}, follow=True)
    assert "Imported 1 new and updated 0 cases" in response.content.decode()


def test_cases_written_by_hand_through_the_page(fde_http: HttpClient, dataset: EvalDataset) -> None:
    fde_http.post(
        f"/rag/eval/datasets/{dataset.uuid}/cases/",
        {
            "external_id": "h1",
            "question": "Who pays?",
            "reference_answer": "The carrier.",
            "relevant_documents_text": "a.pdf\nb.pdf\n",
            "tags_text": "payment, carrier",
        },
    )
    case = dataset.cases.get()
    assert (case.relevant_documents, case.tags, case.origin) == (["a.pdf", "b.pdf"], ["payment", "carrier"], "manual")


def test_drafts_wait_for_review_before_they_are_used(fde_http: HttpClient, dataset: EvalDataset) -> None:
    draft = EvalCase.objects.create(
        dataset=dataset, external_id="draft-1", question="Q?", origin="generated", status=EvalCase.Status.DRAFT
    )
    fde_http.post(f"/rag/eval/datasets/{dataset.uuid}/cases/{draft.uuid}/review/", {"action": "approve"})
    draft.refresh_from_db()
    assert draft.status == EvalCase.Status.READY


def test_datasets_are_invisible_to_client_users_and_outsiders(
    member_http: HttpClient, outsider_http: HttpClient, dataset: EvalDataset
) -> None:
    for http in (member_http, outsider_http):
        assert http.get("/rag/eval/datasets/").status_code == 404
        assert http.get(f"/rag/eval/datasets/{dataset.uuid}/").status_code == 404
        upload = SimpleUploadedFile("cases.jsonl", _jsonl({"id": "x", "question": "q"}))
        assert http.post(f"/rag/eval/datasets/{dataset.uuid}/import/", {"file": upload}).status_code == 404
    assert not dataset.cases.exists()


def test_drafting_against_a_down_model_stops_with_the_reason(
    fde_http: HttpClient, dataset: EvalDataset, kb: KnowledgeBase
) -> None:
    index(kb)
    down = deployment_save(name="Down model", base_url="http://127.0.0.1:9/v1", served_model_name="m")
    prototype = make_prototype(kb, down)

    html = fde_http.post(
        f"/rag/eval/datasets/{dataset.uuid}/draft/",
        {"prototype": prototype.pk, "count": 3, "done": 0},
        headers={"HX-Request": "true"},
    ).content.decode()

    assert "Down model" in html and "refused the connection" in html
    assert 'hx-trigger="load"' not in html
    assert not dataset.cases.exists()


def test_a_running_evaluation_shows_its_live_progress_bar_in_the_runs_table(
    fde_http: HttpClient, dataset: EvalDataset, kb: KnowledgeBase
) -> None:
    from jobs import services as job_services
    from rag.models import EvalRun
    from rag.prototypes import evals
    from rag.prototypes.datasets import eval_case_save

    deployment = deployment_save(name="Any model", base_url="http://127.0.0.1:9/v1", served_model_name="m")
    version = make_prototype(kb, deployment).versions.get()
    for key in ("c1", "c2", "c3"):
        eval_case_save(dataset=dataset, external_id=key, question=f"{key}?", reference_answer="r")
    running = evals.eval_run_create(version=version, dataset=dataset, use_judge=False, enqueue=False)
    job = job_services.claim(EvalRun, running.pk)
    assert job is not None
    job_services.heartbeat(job, progress=1, total=3, step="Scoring c2")

    html = fde_http.get(f"/rag/eval/datasets/{dataset.uuid}/").content.decode()

    # The shared progress partial, compact, polling until the run ends: the same bar as on the Jobs page.
    assert f'id="job-eval-run-{running.uuid}"' in html and "job-progress-compact" in html
    assert f"/jobs/eval-run/{running.uuid}/?compact=1" in html and "1 / 3 cases" in html
    job_services.finish(job)
    html = fde_http.get(f"/rag/eval/datasets/{dataset.uuid}/").content.decode()
    assert f'id="job-eval-run-{running.uuid}"' not in html and "Succeeded" in html
