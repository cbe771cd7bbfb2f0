from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client as HttpClient

from deployments.services import deployment_save
from rag.models import KnowledgeBase, Prototype
from rag.prototypes.prompting import build_prompt, validate_templates
from rag.prototypes.retrieval import Passage
from rag.prototypes.services import prototype_clone, prototype_version_save
from rag.services.knowledge_base import embedding_model_register
from tests.rag.prototype_builders import make_prototype


@pytest.fixture
def prototype(kb: KnowledgeBase) -> Prototype:
    deployment = deployment_save(name="Any model", base_url="http://127.0.0.1:9/v1", served_model_name="m")
    return make_prototype(kb, deployment)


def _passage(n: int, chars: int) -> Passage:
    return Passage(
        chunk_id=n,
        text="x" * chars,
        document_uuid="u",
        document_title=f"Doc {n}",
        external_id=f"d{n}",
        page=None,
        score=1,
    )


def test_saving_settings_makes_a_new_version_and_keeps_the_old_one(prototype: Prototype, fde: Any) -> None:
    v2 = prototype_version_save(prototype=prototype, user=fde, note="fewer passages", top_k=2, retrieval_mode="vector")

    v1 = prototype.versions.get(number=1)
    assert (v2.number, v2.top_k, v2.retrieval_mode, v2.deployment) == (2, 2, "vector", v1.deployment)
    assert (v1.top_k, v1.retrieval_mode) == (4, "hybrid")


def test_cloning_starts_variant_b_from_an_exact_copy(prototype: Prototype) -> None:
    v1 = prototype.versions.get()
    clone = prototype_clone(version=v1, name="Claims bot B", top_k=8)

    copy = clone.versions.get()
    assert clone.cloned_from == v1 and copy.number == 1
    assert (copy.top_k, copy.system_prompt, copy.abstain_below) == (8, v1.system_prompt, v1.abstain_below)
    with pytest.raises(ValidationError):
        prototype_clone(version=v1, name="Claims bot B")


@pytest.mark.parametrize(
    ("system", "user", "message"),
    [
        ("Use {context}.", "Tell me {answer}", "Unknown variable {answer}"),
        ("Use {context}.", "No question here", "must contain {question}"),
        ("No passages.", "Q: {question}", "must contain {context}"),
        ("Broken {context", "Q: {question}", "cannot be read"),
    ],
)
def test_bad_prompt_templates_say_what_to_fix(system: str, user: str, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_templates(system_prompt=system, user_prompt=user)
    assert message in str(caught.value)


def test_an_embedding_model_that_does_not_index_the_base_is_refused(prototype: Prototype) -> None:
    other = embedding_model_register(
        key="other", label="Other", model_name="m", dimensions=8, base_url="http://emb.example.com/v1"
    )
    with pytest.raises(ValidationError, match="not indexed with Other"):
        prototype_version_save(prototype=prototype, embedding_model=other)


def test_the_prompt_is_cut_to_fit_the_context_window() -> None:
    # Room for (2048 - 256 answer - 48 margin - 7 prompt) tokens * 3 = 5211 characters: three passages of
    # 1514 characters with their labels, then 669 left, so the fourth is cut and the fifth left out.
    passages = [_passage(n, 1500) for n in range(1, 6)]

    built = build_prompt(
        system_prompt="Answer from {context}",
        user_prompt="{question}",
        question="What?",
        kb_name="KB",
        passages=passages,
        context_window=2048,
        max_tokens=256,
    )

    size = sum(len(text) for _, text in built.messages)
    assert size // 3 + 256 <= 2048  # the estimate at three characters a token leaves room for the answer
    assert [p.chunk_id for p in built.passages] == [1, 2, 3, 4]
    assert built.truncated == 2
    assert built.passages[-1].is_cut and 600 < len(built.passages[-1].text) < 700
    assert "[1] Doc 1" in built.messages[0][1]


def test_a_roomy_window_keeps_every_passage_whole() -> None:
    built = build_prompt(
        system_prompt="{context}",
        user_prompt="{question} ({kb_name})",
        question="What?",
        kb_name="Policies",
        passages=[_passage(1, 100), _passage(2, 100)],
        context_window=8192,
        max_tokens=256,
    )
    assert built.truncated == 0 and len(built.passages) == 2
    assert built.messages[1] == ("user", "What? (Policies)")


def test_the_settings_form_saves_a_version_and_shows_errors(fde_http: HttpClient, prototype: Prototype) -> None:
    version = prototype.versions.get()
    form = {
        "deployment": version.deployment.pk,
        "embedding_model": version.embedding_model.pk,
        "retrieval_mode": "keyword",
        "top_k": 3,
        "vector_weight": 1,
        "keyword_weight": 1,
        "abstain_below": 0.4,
        "temperature": 0,
        "max_tokens": 64,
        "system_prompt": "Use {context}",
        "user_prompt": "{question}",
        "note": "keyword only",
    }
    bad = fde_http.post(f"/rag/prototypes/{prototype.uuid}/versions/new/", {**form, "user_prompt": "no variable"})
    assert bad.status_code == 200 and "must contain {question}" in bad.content.decode()
    assert prototype.versions.count() == 1

    fde_http.post(f"/rag/prototypes/{prototype.uuid}/versions/new/", form)

    latest = prototype.versions.get(number=2)
    assert (latest.retrieval_mode, latest.top_k, latest.note) == ("keyword", 3, "keyword only")


def test_only_the_engagement_team_changes_settings(prototype: Prototype, other_fde: Any) -> None:
    http = HttpClient()
    http.force_login(other_fde)
    assert http.get(f"/rag/prototypes/{prototype.uuid}/").status_code == 200
    assert http.get(f"/rag/prototypes/{prototype.uuid}/versions/new/").status_code == 404
    assert http.post(f"/rag/prototypes/{prototype.uuid}/clone/", {"name": "X"}).status_code == 404


def test_the_prototype_list_is_scoped_and_its_query_count_is_flat(
    fde_http: HttpClient, outsider_http: HttpClient, prototype: Prototype, django_assert_max_num_queries: Any
) -> None:
    for i in range(5):
        prototype_clone(version=prototype.versions.get(), name=f"Variant {i}")
    with django_assert_max_num_queries(8):
        html = fde_http.get("/rag/prototypes/").content.decode()
    assert html.count("Variant ") >= 5
    assert outsider_http.get("/rag/prototypes/").status_code == 404


def test_an_fde_creates_a_prototype_and_clones_it_through_the_pages(
    fde_http: HttpClient, kb: KnowledgeBase, other_fde: Any
) -> None:
    deployment = deployment_save(name="Local", base_url="http://127.0.0.1:9/v1", served_model_name="m")
    form = {"knowledge_base": kb.pk, "name": "Claims bot", "deployment": deployment.pk}

    response = fde_http.post("/rag/prototypes/new/", form)

    prototype = Prototype.objects.get()
    assert response["Location"] == f"/rag/prototypes/{prototype.uuid}/"
    assert prototype.versions.get().embedding_model == kb.embedding_models.first()
    again = fde_http.post("/rag/prototypes/new/", form)
    assert "already exists" in again.content.decode()
    fde_http.post(f"/rag/prototypes/{prototype.uuid}/clone/", {"name": "Claims bot B"})
    assert Prototype.objects.get(name="Claims bot B").cloned_from == prototype.versions.get()
    stranger = HttpClient()
    stranger.force_login(other_fde)
    refused = stranger.post("/rag/prototypes/new/", {**form, "name": "Not mine"})
    assert "Only the engagement&#x27;s team" in refused.content.decode()
    assert not Prototype.objects.filter(name="Not mine").exists()


def test_an_fde_creates_a_dataset_and_a_bad_name_is_explained(fde_http: HttpClient, kb: KnowledgeBase) -> None:
    fde_http.post("/rag/eval/datasets/", {"knowledge_base": kb.pk, "name": "Smoke", "regression_tolerance": 0.05})
    again = fde_http.post(
        "/rag/eval/datasets/", {"knowledge_base": kb.pk, "name": "Smoke", "regression_tolerance": 0.05}
    )
    assert kb.eval_datasets.get().name == "Smoke"
    assert "already exists" in again.content.decode()
