"""Knowledge-base and prototype models, split by concern: knowledge bases and sources, documents and their
ingestion, prototypes and answers, evaluation, and feedback."""

from rag.models.documents import Chunk, ChunkEmbedding, Document, IngestionBatch
from rag.models.evaluation import EvalCase, EvalDataset, EvalResult, EvalRun
from rag.models.feedback import Feedback
from rag.models.keyword import KeywordCorpus, KeywordTerm
from rag.models.knowledge import DataSource, EmbeddingModel, KnowledgeBase, TextSearchConfig
from rag.models.prototypes import (
    DEFAULT_SYSTEM_PROMPT,
    DEFAULT_USER_PROMPT,
    Answer,
    Conversation,
    Prototype,
    PrototypeVersion,
    RetrievalMode,
)

__all__ = [
    "DEFAULT_SYSTEM_PROMPT",
    "DEFAULT_USER_PROMPT",
    "Answer",
    "Chunk",
    "ChunkEmbedding",
    "Conversation",
    "DataSource",
    "Document",
    "EmbeddingModel",
    "EvalCase",
    "EvalDataset",
    "EvalResult",
    "EvalRun",
    "Feedback",
    "IngestionBatch",
    "KeywordCorpus",
    "KeywordTerm",
    "KnowledgeBase",
    "Prototype",
    "PrototypeVersion",
    "RetrievalMode",
    "TextSearchConfig",
]
