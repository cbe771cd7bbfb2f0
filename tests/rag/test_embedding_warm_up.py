from __future__ import annotations

from rag import embeddings


def test_warm_up_loads_the_local_model_once_for_the_process():
    embeddings._local.cache_clear()
    embeddings.warm_up_in_background().join(timeout=120)
    assert embeddings._local.cache_info().currsize == 1
    misses = embeddings._local.cache_info().misses
    embeddings.local_model()
    assert embeddings._local.cache_info().misses == misses
