"""Answer latency of a prototype on the local model, split into embedding, retrieval, time to first token and
generation: ``python -m bench.answer [--questions 30] [--write]``."""

from __future__ import annotations

import argparse
import datetime as dt

from bench import prototype_setup as setup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=int, default=30)
    parser.add_argument("--write", action="store_true", help="Write the figures into bench/README.md.")
    args = parser.parse_args()
    setup.django_setup()
    from rag.prototypes.pipeline import run_to_end
    from rag.prototypes.selectors import prototype_latest_version

    version = prototype_latest_version(prototype=setup.prototype())
    for question in setup.QUESTIONS[:2]:  # warm the embedding model and the server's prefix cache
        run_to_end(version=version, question=question, caller="bench.answer")
    rows: dict[str, list[float]] = {k: [] for k in ("embed", "retrieval", "ttft", "generation", "total", "tokens")}
    for i in range(args.questions):
        outcome = run_to_end(version=version, question=setup.QUESTIONS[i % len(setup.QUESTIONS)], caller="bench.answer")
        if outcome.error or outcome.abstained or outcome.total_ms is None or outcome.ttft_ms is None:
            raise SystemExit(f"question {i} did not produce an answer: {outcome.error or 'abstained'}")
        before_generation = (outcome.embed_ms or 0) + (outcome.retrieval_ms or 0)
        rows["embed"].append(outcome.embed_ms or 0)
        rows["retrieval"].append(outcome.retrieval_ms or 0)
        rows["ttft"].append(outcome.ttft_ms)
        rows["generation"].append(outcome.total_ms - before_generation)
        rows["total"].append(outcome.total_ms)
        rows["tokens"].append(float(outcome.completion_tokens or 0))
    labels = {
        "embed": "embedding the question",
        "retrieval": "retrieval (hybrid search)",
        "ttft": "time to first token (from the question)",
        "generation": "generation (prompt sent to last token)",
        "total": "total",
    }
    lines = [
        f"### Answer latency ({dt.date.today():%Y-%m-%d}, {args.questions} questions, local SmolLM2-135M on CPU, "
        f"max {version.max_tokens} tokens, top-{version.top_k} hybrid)",
        "",
        "| step | mean ms | p50 ms | p95 ms |",
        "| --- | ---: | ---: | ---: |",
    ]
    for key, label in labels.items():
        mean, p50, p95 = setup.summary(rows[key])
        lines.append(f"| {label} | {mean:.1f} | {p50:.1f} | {p95:.1f} |")
    tokens = sum(rows["tokens"])
    seconds = sum(rows["generation"]) / 1000
    lines += [
        "",
        f"Completion tokens per answer: {tokens / args.questions:.1f}; {tokens / seconds:.1f} tokens/s "
        "while generating, one question at a time.",
    ]
    report = "\n".join(lines)
    print(report)
    if args.write:
        setup.write_section("answer", report)


if __name__ == "__main__":
    main()
