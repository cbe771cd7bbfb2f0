"""A LangChain retriever over a knowledge base, so prototypes (and a client's own LangChain code) can use it."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever

from rag.models import KnowledgeBase
from rag.services.search import DEFAULT_WEIGHTS, SearchFilters, search


class KnowledgeBaseRetriever(BaseRetriever):
    """``search()`` as a ``BaseRetriever``: each hit becomes a Document whose metadata carries scores and provenance."""

    knowledge_base_id: int
    mode: str = "hybrid"
    top_k: int = 5
    weights: tuple[float, float] = DEFAULT_WEIGHTS
    rerank: bool = False
    embedding_model: str | None = None
    filters: SearchFilters | None = None

    model_config = {"arbitrary_types_allowed": True}

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[LCDocument]:
        response = search(
            knowledge_base=KnowledgeBase.objects.get(pk=self.knowledge_base_id),
            query=query,
            mode=self.mode,
            top_k=self.top_k,
            weights=self.weights,
            rerank=self.rerank,
            embedding_model=self.embedding_model,
            filters=self.filters,
        )
        documents = []
        for hit in response.hits:
            metadata: dict[str, Any] = {k: v for k, v in vars(hit).items() if k != "text"}
            metadata["timings"] = response.timings
            documents.append(LCDocument(page_content=hit.text, metadata=metadata, id=str(hit.chunk_id)))
        return documents
