"""Shared set-up for the prototype benchmarks: Django on its own embedded database, a small indexed corpus, the
local vLLM as the deployment and a prototype over it. Everything lives in var/bench-pgdata, apart from dev data."""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
README = Path(__file__).resolve().parent / "README.md"

TOPICS = [
    ("claims", "Damage claims", "Claims for damaged freight must be filed within {n} days of delivery."),
    ("rates", "Freight rates", "A standard pallet costs {n} EUR within the EU."),
    ("privacy", "Privacy", "Customer addresses are deleted {n} days after delivery."),
    ("refunds", "Refunds", "Approved refunds are paid within {n} working days."),
    ("hazmat", "Hazardous goods", "Hazardous goods carry a surcharge of {n} percent."),
    ("storage", "Storage", "Goods may be stored free of charge for {n} days at the depot."),
]
QUESTIONS = [
    "Within how many days must damaged freight claims be filed?",
    "What does a standard pallet cost within the EU?",
    "When are customer addresses deleted?",
    "How quickly are approved refunds paid?",
    "What surcharge applies to hazardous goods?",
    "How long can goods be stored for free at the depot?",
]


def django_setup() -> None:
    os.environ.setdefault("FDE_EMBEDDED_PGDATA", str(BASE_DIR / "var" / "bench-pgdata"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def corpus() -> list[tuple[str, bytes]]:
    files = []
    for i, (key, title, fact) in enumerate(TOPICS):
        body = f"# {title}\n\n{fact.format(n=7 + 7 * i)}\n\n"
        body += "\n\n".join(f"## Section {j}\n\nRoutine clause {j} of the {title.lower()} policy." for j in range(6))
        files.append((f"policies/{key}.md", body.encode()))
    return files


def prototype(name: str = "Bench prototype") -> Any:
    from django.conf import settings

    from accounts.services import client_create
    from deployments.services import deployment_save
    from engagements.models import Engagement
    from engagements.services import engagement_create
    from rag.models import KnowledgeBase, Prototype
    from rag.prototypes.services import prototype_create
    from rag.services import ingest
    from rag.services.knowledge_base import knowledge_base_create

    existing = Prototype.objects.filter(name=name).first()
    if existing:
        return existing
    from accounts.models import Client

    client = Client.objects.filter(name="Bench client").first() or client_create(name="Bench client")
    engagement = Engagement.objects.filter(client=client).first() or engagement_create(client=client, name="Bench")
    kb = KnowledgeBase.objects.filter(engagement=engagement).first() or knowledge_base_create(
        engagement=engagement, name="Bench policies", chunk_size=300, chunk_overlap=40
    )
    batch = ingest.documents_add_files(knowledge_base=kb, files=corpus())
    ingest.batch_run(batch_id=batch.pk)
    deployment = deployment_save(
        name="Local vLLM (bench)",
        base_url=settings.LOCAL_VLLM_URL,
        served_model_name=settings.LOCAL_VLLM_MODEL,
        context_window=2048,
    )
    return prototype_create(
        knowledge_base=kb,
        name=name,
        deployment=deployment,
        embedding_model=kb.embedding_models.first(),
        max_tokens=64,
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(values: list[float]) -> tuple[float, float, float]:
    return statistics.fmean(values), percentile(values, 0.5), percentile(values, 0.95)


def write_section(name: str, markdown: str) -> None:
    """Replace this benchmark's section of bench/README.md (between its markers), or append it."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    text = README.read_text() if README.exists() else "# Benchmarks\n"
    block = f"{start}\n{markdown.strip()}\n{end}"
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    README.write_text(text)
