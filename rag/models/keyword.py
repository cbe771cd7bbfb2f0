"""Term statistics for BM25 keyword ranking, one set per knowledge base.

BM25 needs, for the searchable chunks of a base (enabled chunks of ready documents): how many there are, their total
length in words, and for each word how many of them contain it. Database triggers installed by migration
``0006_keyword_bm25`` keep these rows exact on every path that changes what is searchable (ingestion, re-sync,
removal, retry, a chunk disabled or edited, a base deleted), including paths written later, so no service has to
remember to update them. Each chunk's own length is ``Chunk.term_count``, computed by the database from its
``search_vector``.

Neither table has a foreign-key constraint: a base's rows are removed by a trigger when the base is deleted, after its
chunks are gone (with a constraint, the order in which Django deletes a base's children could leave a row the chunk
triggers re-created pointing at a deleted base).
"""

from __future__ import annotations

from django.db import models

from rag.models.knowledge import KnowledgeBase


class KeywordCorpus(models.Model):
    knowledge_base = models.OneToOneField(
        KnowledgeBase, primary_key=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    chunks = models.BigIntegerField(default=0, help_text="Searchable chunks in the base.")
    tokens = models.BigIntegerField(default=0, help_text="Their total length in indexed words.")

    def __str__(self) -> str:
        return f"{self.knowledge_base_id}: {self.chunks} chunks"

    @property
    def average_length(self) -> float:
        return self.tokens / self.chunks if self.chunks else 0.0


class KeywordTerm(models.Model):
    pk = models.CompositePrimaryKey("knowledge_base_id", "term")
    knowledge_base = models.ForeignKey(
        KnowledgeBase, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    term = models.TextField()
    df = models.IntegerField(default=0, help_text="Searchable chunks that contain the term.")

    def __str__(self) -> str:
        return f"{self.term} ({self.df})"
