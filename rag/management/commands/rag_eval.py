"""Score a prototype on a case file from CI: ``manage.py rag_eval --prototype <uuid> --dataset cases.jsonl``.

Prints the metrics table, optionally writes it as JSON, and exits non-zero when a metric given with ``--min``
falls under its threshold or the run cannot be done, so a pipeline can gate a merge on it. The run is kept and
shows up beside the others on the dataset page (dataset "CI: <file name>").
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from rag.models import EvalDataset, Prototype
from rag.prototypes import datasets, evals
from rag.prototypes.scoring import METRICS, METRICS_BY_KEY
from rag.prototypes.selectors import prototype_latest_version


def _threshold(text: str) -> tuple[str, float]:
    key, _, value = text.partition("=")
    if key not in METRICS_BY_KEY or not value:
        raise CommandError(f"--min takes METRIC=VALUE with METRIC one of {', '.join(METRICS_BY_KEY)}; got {text!r}.")
    try:
        return key, float(value)
    except ValueError as exc:
        raise CommandError(f"--min {text!r}: {value!r} is not a number.") from exc


class Command(BaseCommand):
    help = "Run a prototype's latest version over a JSONL or CSV case file and check the metrics."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--prototype", required=True, help="The prototype's UUID.")
        parser.add_argument("--dataset", required=True, type=Path, help="Cases as JSONL (or CSV).")
        parser.add_argument("--json", type=Path, help="Also write the metrics to this file.")
        parser.add_argument(
            "--min", action="append", default=[], metavar="METRIC=VALUE", help="Fail when METRIC ends below VALUE."
        )
        parser.add_argument("--k", type=int, default=5)
        parser.add_argument("--no-judge", action="store_true", help="Skip the LLM judge (faster).")

    def handle(self, *args: Any, **options: Any) -> None:
        thresholds = dict(_threshold(t) for t in options["min"])
        prototype = Prototype.objects.filter(uuid=options["prototype"]).select_related("knowledge_base").first()
        if prototype is None:
            raise CommandError(f"No prototype has the id {options['prototype']}.")
        path: Path = options["dataset"]
        if not path.is_file():
            raise CommandError(f"{path} is not a readable file.")
        dataset = EvalDataset.objects.filter(knowledge_base=prototype.knowledge_base, name=f"CI: {path.name}").first()
        try:
            if dataset is None:
                dataset = datasets.eval_dataset_create(knowledge_base=prototype.knowledge_base, name=f"CI: {path.name}")
            datasets.eval_cases_import(dataset=dataset, name=path.name, data=path.read_bytes())
            run = evals.eval_run_create(
                version=prototype_latest_version(prototype=prototype),
                dataset=dataset,
                k=options["k"],
                use_judge=not options["no_judge"],
                enqueue=False,
            )
        except ValidationError as exc:
            raise CommandError("\n".join(exc.messages)) from exc
        finished = evals.eval_run_execute(run_id=run.pk)
        if finished is None:
            raise CommandError("The run was taken by another process; follow it on its page.")
        run = finished
        self._print(run.metrics, thresholds)
        if options["json"]:
            report = {"prototype": str(prototype.uuid), "version": run.version.number, "run": str(run.uuid)}
            options["json"].write_text(json.dumps({**report, "metrics": run.metrics}, indent=2))
        failed = [
            key for key, minimum in thresholds.items() if run.metrics.get(key) is None or run.metrics[key] < minimum
        ]
        # A judged metric whose judge failed its check proves nothing, whatever its value.
        unreliable = [key for key in thresholds if run.metrics.get(f"{key}_reliable") is False]
        if failed or unreliable:
            reasons = [f"Below the threshold: {', '.join(failed)}."] if failed else []
            reasons += [run.metrics[f"{key}_unreliable_reason"] for key in unreliable]
            raise CommandError(" ".join(reasons), returncode=1)

    def _print(self, metrics: dict[str, Any], thresholds: dict[str, float]) -> None:
        self.stdout.write(f"{'metric':<22}{'value':>10}{'cases':>8}  threshold")
        for metric in METRICS:
            value = metrics.get(metric.key)
            shown = "–" if value is None else f"{value:.1f}" if metric.unit == "ms" else f"{value:.3f}"
            minimum = thresholds.get(metric.key)
            verdict = ""
            if minimum is not None:
                ok = value is not None and value >= minimum and metrics.get(f"{metric.key}_reliable") is not False
                verdict = (self.style.SUCCESS if ok else self.style.ERROR)(f"≥ {minimum:g} {'ok' if ok else 'FAIL'}")
            self.stdout.write(f"{metric.label:<22}{shown:>10}{metrics.get(metric.key + '_n', 0):>8}  {verdict}")
        self.stdout.write(
            f"cases {metrics.get('cases', 0)}, errors {metrics.get('errors', 0)}, "
            f"judgements unparsed {metrics.get('judge_unparsed', 0)} of {metrics.get('judged', 0)}"
        )
