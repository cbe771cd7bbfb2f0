"""“You said, we did”: each piece of a client's feedback, what the team did with it, and how scores moved since."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from accounts.models import Client
from rag.models import EvalRun, Feedback

SCORES = (("hit", "found the right passage"), ("f1", "matched the reference answer"), ("faithfulness", "faithful"))


def _movement(runs: list[EvalRun], feedback: Feedback) -> list[dict[str, Any]]:
    """Each score of the last finished run before the feedback against the latest run since, on the same dataset."""
    dataset_id = feedback.eval_case.dataset_id if feedback.eval_case else None
    same = [r for r in runs if dataset_id is None or r.dataset_id == dataset_id]
    if not same:
        return []
    latest = same[-1]
    before = next((r for r in reversed(same) if r.finished_at and r.finished_at <= feedback.created_at), None)
    if latest is before:
        return []
    moved = []
    for key, label in SCORES:
        now = latest.metrics.get(key)
        if now is None:
            continue
        then = before.metrics.get(key) if before else None
        change = None if then is None else f"{now - then:+.2f}"
        moved.append({"label": label, "before": then, "now": now, "change": change})
    return moved


def you_said_we_did(*, client: Client, limit: int = 50) -> list[dict[str, Any]]:
    """The client's own users' feedback, newest first, with the linked eval case, the fix note and score movement.

    Runs are read once for all the prototypes involved; FDEs' own trial feedback is not the client's voice.
    """
    items = list(
        Feedback.objects.filter(
            answer__version__prototype__knowledge_base__engagement__client=client, author__is_provider=False
        )
        .select_related("answer__version__prototype__knowledge_base__engagement", "eval_case")
        .order_by("-created_at")[:limit]
    )
    prototypes = {f.answer.version.prototype_id for f in items}
    runs: dict[int, list[EvalRun]] = defaultdict(list)
    for run in (
        EvalRun.objects.filter(version__prototype_id__in=prototypes, status=EvalRun.Status.SUCCEEDED)
        .select_related("version")
        .order_by("finished_at", "id")
    ):
        runs[run.version.prototype_id].append(run)
    return [{"feedback": f, "moved": _movement(runs[f.answer.version.prototype_id], f)} for f in items]
