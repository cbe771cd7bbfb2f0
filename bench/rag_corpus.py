"""Synthetic but varied policy text for the knowledge-base benchmarks, and helpers shared by ingest and query."""

from __future__ import annotations

import random
from typing import Any

SUBJECTS = [
    "damaged freight", "late deliveries", "lost parcels", "hazardous goods", "customs holds", "pallet exchange",
    "cold-chain shipments", "returns", "storage fees", "insurance cover", "driver waiting time", "address changes",
]  # fmt: skip
ACTIONS = [
    "must be reported within {n} days", "are refunded at {n} percent of the freight charge",
    "need approval from a team lead above {n} EUR", "are inspected by a surveyor within {n} working days",
    "carry a surcharge of {n} EUR per pallet", "are excluded after {n} days without notice",
]  # fmt: skip
PLACES = ["in the Nordics", "within the EU", "for sea freight", "on express services", "for domestic road freight"]
EXTRAS = [
    "Photographs and the signed delivery receipt are required.",
    "The claims agent records the decision in the ticket.",
    "Exceptions need written confirmation from the carrier.",
    "Customers are informed by e-mail once the assessment is complete.",
    "The limit does not apply when a higher value was declared.",
]


def sentence(rng: random.Random) -> str:
    action = rng.choice(ACTIONS).format(n=rng.randint(2, 90))
    return f"{rng.choice(SUBJECTS).capitalize()} {rng.choice(PLACES)} {action}. {rng.choice(EXTRAS)}"


def documents(count: int, paragraphs: int, seed: int = 7) -> list[tuple[str, bytes]]:
    rng = random.Random(seed)
    docs = []
    for i in range(count):
        sections = [f"## Section {j + 1}\n\n" + " ".join(sentence(rng) for _ in range(3)) for j in range(paragraphs)]
        docs.append((f"policies/policy-{i:04}.md", (f"# Policy {i}\n\n" + "\n\n".join(sections)).encode()))
    return docs


def questions(count: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    forms = ["How are {s} handled {p}?", "What applies to {s} {p}?", "When must {s} be reported?", "{s} {p} limit"]
    return [rng.choice(forms).format(s=rng.choice(SUBJECTS), p=rng.choice(PLACES)) for _ in range(count)]


def sqlalchemy_url() -> str:
    """The Django database as a SQLAlchemy psycopg URL (for langchain-postgres)."""
    from django.conf import settings

    db: dict[str, Any] = settings.DATABASES["default"]
    host = db.get("HOST") or ""
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    if host.startswith("/"):
        return f"postgresql+psycopg://{auth}@/{db['NAME']}?host={host}&port={db.get('PORT') or 5432}"
    return f"postgresql+psycopg://{auth}@{host}:{db.get('PORT') or 5432}/{db['NAME']}"


def langchain_embeddings() -> Any:
    """The same MiniLM the app uses, as a LangChain ``Embeddings`` for the langchain-postgres comparison."""
    from langchain_core.embeddings import Embeddings

    from rag.embeddings import local_model

    class MiniLM(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            vectors = local_model().encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False)
            return [v.tolist() for v in vectors]

        def embed_query(self, text: str) -> list[float]:
            return self.embed_documents([text])[0]

    return MiniLM()


def fresh_knowledge_base(name: str, **kwargs: Any) -> Any:
    """A new, empty knowledge base for one benchmark run (the previous run's one of that name is deleted)."""
    from accounts.models import Client
    from accounts.services import client_create
    from engagements.models import Engagement
    from engagements.services import engagement_create
    from rag.models import KnowledgeBase
    from rag.services.knowledge_base import knowledge_base_create

    client = Client.objects.filter(name="Bench client").first() or client_create(name="Bench client")
    engagement = Engagement.objects.filter(client=client, name="RAG bench").first() or engagement_create(
        client=client, name="RAG bench"
    )
    KnowledgeBase.objects.filter(engagement=engagement, name=name).delete()
    return knowledge_base_create(engagement=engagement, name=name, **kwargs)
