"""Eval-run throughput in cases per minute, with and without the LLM judge: ``python -m bench.eval [--cases 24]
[--write]``. The run is scored in this process exactly as the Celery task scores it."""

from __future__ import annotations

import argparse
import datetime as dt
import time

from bench import prototype_setup as setup


def _run(version: object, dataset: object, *, judge: bool) -> tuple[float, dict[str, float]]:
    from rag.prototypes import evals

    run = evals.eval_run_create(version=version, dataset=dataset, use_judge=judge, enqueue=False)  # type: ignore[arg-type]
    started = time.perf_counter()
    evals.eval_run_execute(run_id=run.pk)
    seconds = time.perf_counter() - started
    run.refresh_from_db()
    return seconds, run.metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=24)
    parser.add_argument("--write", action="store_true", help="Write the figures into bench/README.md.")
    args = parser.parse_args()
    setup.django_setup()
    from rag.models import EvalDataset
    from rag.prototypes.datasets import eval_case_save, eval_dataset_create
    from rag.prototypes.selectors import prototype_latest_version

    prototype = setup.prototype()
    version = prototype_latest_version(prototype=prototype)
    name = f"Bench {args.cases} cases"
    dataset = EvalDataset.objects.filter(knowledge_base=prototype.knowledge_base, name=name).first()
    if dataset is None:
        dataset = eval_dataset_create(knowledge_base=prototype.knowledge_base, name=name)
        for i in range(args.cases):
            key = setup.TOPICS[i % len(setup.TOPICS)][0]
            eval_case_save(
                dataset=dataset,
                external_id=f"case-{i}",
                question=setup.QUESTIONS[i % len(setup.QUESTIONS)],
                reference_answer=setup.TOPICS[i % len(setup.TOPICS)][2].format(n=7 + 7 * (i % len(setup.TOPICS))),
                relevant_documents=[f"policies/{key}.md"],
            )
    lines = [
        f"### Eval-run throughput ({dt.date.today():%Y-%m-%d}, {args.cases} cases, local SmolLM2-135M on CPU, "
        "one worker process)",
        "",
        "| judge | seconds | cases per minute | mean ms per case | hit@k | token F1 | judgements unparsed |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for judge in (False, True):
        seconds, metrics = _run(version, dataset, judge=judge)
        lines.append(
            f"| {'on' if judge else 'off'} | {seconds:.1f} | {60 * args.cases / seconds:.1f} | "
            f"{metrics['total_ms']:.0f} | {metrics['hit']:.2f} | {metrics['f1']:.2f} | "
            f"{metrics['judge_unparsed']} of {metrics['judged']} |"
        )
    report = "\n".join(lines)
    print(report)
    if args.write:
        setup.write_section("eval", report)


if __name__ == "__main__":
    main()
