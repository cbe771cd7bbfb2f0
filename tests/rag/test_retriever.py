from __future__ import annotations

import gc
from typing import Any

import pytest
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda, RunnablePassthrough
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from rag.models import KnowledgeBase
from rag.retriever import KnowledgeBaseRetriever
from rag.services import ingest
from tests.rag import files
from tests.rag.conftest import run_batch


def test_retriever_returns_documents_with_scores_and_provenance(kb: KnowledgeBase) -> None:
    run_batch(ingest.documents_add_files(knowledge_base=kb, files=[("damage.md", files.POLICY_MD.encode())]))
    docs = KnowledgeBaseRetriever(knowledge_base_id=kb.pk, top_k=2).invoke("How are refunds paid?")
    assert docs[0].metadata["external_id"] == "damage.md"
    assert "Refunds" in docs[0].metadata["heading_path"]
    assert {"vector_score", "keyword_score", "fused_score", "char_start", "timings"} <= set(docs[0].metadata)


@pytest.mark.vllm
@pytest.mark.django_db(transaction=True)  # a chain runs the retriever on its own thread, with its own connection
def test_retriever_works_inside_a_plain_langchain_chain(kb: KnowledgeBase, vllm_server: dict[str, str]) -> None:
    run_batch(ingest.documents_add_files(knowledge_base=kb, files=[("damage.md", files.POLICY_MD.encode())]))
    seen: dict[str, Any] = {}

    def format_docs(docs: list[Any]) -> str:
        seen["sources"] = [d.metadata["external_id"] for d in docs]
        return "\n\n".join(d.page_content for d in docs)

    prompt = ChatPromptTemplate.from_messages(
        [("system", "Answer from the context only.\n\nContext:\n{context}"), ("human", "{question}")]
    )
    llm = ChatOpenAI(
        base_url=vllm_server["base_url"],
        model=vllm_server["model"],
        api_key=SecretStr("none"),
        max_completion_tokens=24,
        timeout=60,
    )
    chain = (
        {
            "context": KnowledgeBaseRetriever(knowledge_base_id=kb.pk, top_k=2) | RunnableLambda(format_docs),
            "question": RunnablePassthrough(),
        }
        | prompt
        | llm
        | StrOutputParser()
    )
    answer = chain.invoke("Within how many days must damage claims be filed?")
    gc.collect()  # closes the database connection the chain's finished worker thread left behind
    assert isinstance(answer, str) and answer.strip()
    assert seen["sources"] == ["damage.md", "damage.md"]
