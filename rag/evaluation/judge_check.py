"""Checking a judge before its scores count: planted errors must score low and the dataset's references high.

From each case with a reference answer the check builds answers whose quality is known: the reference itself (good
on both metrics), the reference with its numbers changed or its statement negated (unfaithful), another case's
reference (unfaithful and off the question) and a passage of the context pasted as the answer (not an answer to
the question). The judge grades them all; for each metric, the separation is the chance that a good answer
outscores a planted error (AUROC, ties count half) and the gap between their mean scores. A metric whose
separation falls short, or whose judge could not be read, is unreliable, and gates do not pass on it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from rag import abstention
from rag.evaluation.judge import Verdict

JUDGED = ("faithfulness", "relevance")
MIN_AUROC = 0.8
MIN_GAP = 0.25
MAX_UNREAD_SHARE = 0.25
MAX_CASES = 3
COPIED_CHARS = 300

# Which metric each planted answer must score high ("good") or low ("bad") on; a kind says nothing of the others.
EXPECTED: dict[str, dict[str, str]] = {
    "reference": {"faithfulness": "good", "relevance": "good"},
    "swapped_numbers": {"faithfulness": "bad"},
    "negation": {"faithfulness": "bad"},
    "unrelated": {"faithfulness": "bad", "relevance": "bad"},
    "copied_context": {"relevance": "bad"},
}
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_AUXILIARY = re.compile(
    r"\b(is|are|was|were|must|may|can|could|should|will|would|does|do|did|has|have|had|need|needs)\b", re.IGNORECASE
)
_NEGATED = re.compile(r"\b(not|no|never|cannot|n't)\b", re.IGNORECASE)


@dataclass(frozen=True)
class CheckCase:
    key: str
    question: str
    reference: str
    context: str


@dataclass(frozen=True)
class Probe:
    case: str
    kind: str
    question: str
    answer: str
    context: str


def swap_numbers(text: str) -> str | None:
    """``text`` with every number changed to a different one, or None when it has none."""
    if not _NUMBER.search(text):
        return None

    def changed(match: re.Match[str]) -> str:
        digits = match.group(0)
        head = int(re.sub(r"\D", "", digits)[:6] or "0")
        return str(head * 3 + 7)

    return _NUMBER.sub(changed, text)


def negate(text: str) -> str:
    """A statement saying the opposite of ``text``: its negation dropped, or a "not" after its first auxiliary."""
    if _NEGATED.search(text):
        return _NEGATED.sub("", text, count=1).replace("  ", " ").strip()
    if _AUXILIARY.search(text):
        return _AUXILIARY.sub(lambda m: f"{m.group(0)} not", text, count=1)
    return f"It is not the case that {text[:1].lower()}{text[1:]}"


def probes(cases: Sequence[CheckCase]) -> list[Probe]:
    """The planted answers for up to ``MAX_CASES`` cases; an unrelated answer needs a second case."""
    chosen = list(cases)[:MAX_CASES]
    out: list[Probe] = []
    for i, case in enumerate(chosen):
        answers: dict[str, str | None] = {
            "reference": case.reference,
            "swapped_numbers": swap_numbers(case.reference),
            "negation": negate(case.reference),
            "unrelated": chosen[(i + 1) % len(chosen)].reference if len(chosen) > 1 else None,
            "copied_context": case.context[:COPIED_CHARS] or None,
        }
        for kind, answer in answers.items():
            if answer and (kind == "reference" or answer.strip() != case.reference.strip()):
                out.append(Probe(case.key, kind, case.question, answer, case.context))
    return out


def separation(graded: Sequence[dict[str, Any]], metric: str) -> dict[str, Any]:
    """How well ``metric`` told the good answers from the planted errors, and whether that is enough to rely on."""
    expected = [g for g in graded if metric in EXPECTED[g["kind"]]]
    unread = sum(1 for g in expected if g.get(metric) is None)
    good = [g[metric] for g in expected if g.get(metric) is not None and EXPECTED[g["kind"]][metric] == "good"]
    bad = [g[metric] for g in expected if g.get(metric) is not None and EXPECTED[g["kind"]][metric] == "bad"]
    auroc = abstention.auroc(good, bad)
    gap = sum(good) / len(good) - sum(bad) / len(bad) if good and bad else None
    reasons = []
    if auroc is None or gap is None:
        reasons.append("the check had no graded references or planted errors to compare")
    elif auroc < MIN_AUROC or gap < MIN_GAP:
        reasons.append(
            f"planted errors scored too close to the references (AUROC {auroc:.2f}, needs {MIN_AUROC:.2f}; "
            f"gap {gap:+.2f}, needs {MIN_GAP:+.2f})"
        )
    if expected and unread / len(expected) > MAX_UNREAD_SHARE:
        reasons.append(f"{unread} of {len(expected)} of its replies could not be read")
    return {
        "auroc": auroc,
        "gap": gap,
        "good": len(good),
        "bad": len(bad),
        "unread": unread,
        "reliable": not reasons,
        "reason": "; ".join(reasons),
    }


def judge_check(*, cases: Sequence[CheckCase], grade: Callable[[Probe], Verdict], judge_name: str) -> dict[str, Any]:
    """Grade the planted answers with ``grade`` and report each judged metric's separation and reliability."""
    planted = probes(cases)
    if not planted:
        reason = "the dataset has no cases with reference answers to plant errors in"
        return {
            "judge": judge_name,
            "passed": False,
            "metrics": {
                key: {"reliable": False, "reason": reason, "auroc": None, "gap": None, "good": 0, "bad": 0, "unread": 0}
                for key in JUDGED
            },
            "probes": [],
        }
    graded = []
    for probe in planted:
        verdict = grade(probe)
        judgement = verdict.judgement
        graded.append(
            asdict(probe)
            | {
                "context": probe.context[:COPIED_CHARS],
                "faithfulness": judgement.faithfulness if judgement else None,
                "relevance": judgement.relevance if judgement else None,
                "rationale": judgement.rationale if judgement else verdict.reply[:400],
            }
        )
    metrics = {key: separation(graded, key) for key in JUDGED}
    return {
        "judge": judge_name,
        "passed": all(m["reliable"] for m in metrics.values()),
        "metrics": metrics,
        "probes": graded,
    }


def metric_reliability(check: dict[str, Any], metric: str) -> tuple[bool, str]:
    """Whether ``metric`` of a run whose judge check is ``check`` may count, and if not, why (for gates and pages)."""
    if metric not in JUDGED:
        return True, ""
    info = (check or {}).get("metrics", {}).get(metric)
    if info is None:
        return False, f"{metric} is unreliable: its judge was not checked against planted errors."
    if info["reliable"]:
        return True, ""
    return False, f"{metric} is unreliable: the judge {check.get('judge', '')} failed its check: {info['reason']}."
