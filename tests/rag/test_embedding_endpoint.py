from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from rag.services.knowledge_base import embedding_model_register

pytestmark = pytest.mark.django_db


def test_an_embeddings_endpoint_on_an_internal_host_is_accepted_and_its_key_encrypted():
    model = embedding_model_register(
        key="bge-gpu", label="BGE on gpu-1", model_name="bge-m3", dimensions=1024,
        base_url="http://gpu-1:8000/v1", api_key="sk-emb-42",
    )  # fmt: skip
    assert model.api_key == "sk-emb-42"
    assert "sk-emb-42" not in model.api_key_encrypted
    assert model.has_api_key


def test_an_embeddings_endpoint_without_a_scheme_is_refused_with_an_example():
    with pytest.raises(ValidationError, match="http://gpu-1:8000/v1"):
        embedding_model_register(key="x", label="x", model_name="m", dimensions=8, base_url="gpu-1:8000")
