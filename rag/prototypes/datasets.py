"""Eval datasets and their cases: written by hand, imported from JSONL or CSV, drafted by the model, or grown
from accepted feedback.

The import format, one JSON object per line (CSV takes the same names as columns, with ``relevant_documents``
and ``tags`` separated by ``|``)::

    {"id": "q1", "question": "What is the claim limit?", "reference_answer": "EUR 5,000",
     "relevant_documents": ["policies/claims.pdf"], "tags": ["limits"], "unanswerable": false}

``id`` and ``question`` are required; a line that reuses an existing ``id`` updates that case. Every bad line is
reported with its line number and nothing is imported until the whole file is valid.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as PydanticValidationError

from rag.models import EvalCase, EvalDataset

MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_ERRORS_SHOWN = 10


class CaseLine(BaseModel):
    """One case of an import file."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(min_length=1, max_length=200)
    question: str = Field(min_length=1, max_length=4000)
    reference_answer: str = ""
    relevant_documents: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    unanswerable: bool = False

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


@dataclass
class ImportReport:
    created: int
    updated: int


@transaction.atomic
def eval_dataset_create(*, knowledge_base: Any, name: str, description: str = "") -> EvalDataset:
    dataset = EvalDataset(knowledge_base=knowledge_base, name=name, description=description)
    dataset.full_clean()
    dataset.save()
    return dataset


@transaction.atomic
def eval_case_save(
    *,
    dataset: EvalDataset,
    external_id: str,
    question: str,
    reference_answer: str = "",
    relevant_documents: list[str] | None = None,
    tags: list[str] | None = None,
    unanswerable: bool = False,
    requirement: Any = None,
    origin: str = EvalCase.Origin.MANUAL,
    status: str = EvalCase.Status.READY,
    source_chunk: Any = None,
) -> EvalCase:
    """Create the case ``external_id`` of ``dataset`` or update it in place."""
    case = dataset.cases.filter(external_id=external_id).first() or EvalCase(dataset=dataset, external_id=external_id)
    case.question, case.reference_answer, case.unanswerable = question, reference_answer, unanswerable
    case.relevant_documents, case.tags = relevant_documents or [], tags or []
    case.requirement, case.origin, case.status, case.source_chunk = requirement, origin, status, source_chunk
    if requirement is not None and requirement.engagement_id != dataset.knowledge_base.engagement_id:
        raise ValidationError({"requirement": "That requirement belongs to another engagement."})
    case.full_clean()
    case.save()
    return case


def _jsonl_rows(text: str) -> list[tuple[int, Any]]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append((number, json.loads(line)))
        except json.JSONDecodeError as exc:
            rows.append((number, exc))
    return rows


def _csv_rows(text: str) -> list[tuple[int, Any]]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "question" not in reader.fieldnames or "id" not in reader.fieldnames:
        raise ValidationError("A CSV file needs a header row with at least the columns id and question.")
    rows = []
    for row in reader:
        item: dict[str, Any] = {k: (v or "").strip() for k, v in row.items() if k}
        for key in ("relevant_documents", "tags"):
            item[key] = [part.strip() for part in item.get(key, "").split("|") if part.strip()]
        if "unanswerable" in item:
            item["unanswerable"] = item["unanswerable"].lower() in {"1", "true", "yes", "y"}
        rows.append((reader.line_num, item))
    return rows


def parse_cases(*, name: str, data: bytes) -> list[CaseLine]:
    """The cases in a JSONL or CSV file, or a ValidationError listing every bad line."""
    if len(data) > MAX_IMPORT_BYTES:
        raise ValidationError(f"The file is {len(data) // 1024} KB; the limit is {MAX_IMPORT_BYTES // 1024} KB.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(
            f"The file is not UTF-8 text (byte {exc.start} cannot be read). Save it as UTF-8."
        ) from exc
    rows = _csv_rows(text) if name.lower().endswith(".csv") else _jsonl_rows(text)
    if not rows:
        raise ValidationError("The file has no cases.")
    cases, errors, seen = [], [], set()
    for number, row in rows:
        if isinstance(row, Exception):
            errors.append(f"line {number}: not valid JSON ({row})")
            continue
        try:
            case = CaseLine.model_validate(row)
        except PydanticValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'line'}: {e['msg']}" for e in exc.errors())
            errors.append(f"line {number}: {problems}")
            continue
        if case.id in seen:
            errors.append(f"line {number}: the id {case.id!r} appears twice")
            continue
        seen.add(case.id)
        cases.append(case)
    if errors:
        more = f" (and {len(errors) - MAX_ERRORS_SHOWN} more)" if len(errors) > MAX_ERRORS_SHOWN else ""
        raise ValidationError(
            [f"Nothing was imported. Fix these lines and upload the file again{more}:", *errors[:MAX_ERRORS_SHOWN]]
        )
    return cases


@transaction.atomic
def eval_cases_import(*, dataset: EvalDataset, name: str, data: bytes) -> ImportReport:
    cases = parse_cases(name=name, data=data)
    existing = set(dataset.cases.values_list("external_id", flat=True))
    for case in cases:
        eval_case_save(
            dataset=dataset,
            external_id=case.id,
            question=case.question,
            reference_answer=case.reference_answer,
            relevant_documents=case.relevant_documents,
            tags=case.tags,
            unanswerable=case.unanswerable,
            origin=EvalCase.Origin.IMPORTED,
        )
    updated = sum(1 for c in cases if c.id in existing)
    return ImportReport(created=len(cases) - updated, updated=updated)


@transaction.atomic
def eval_case_approve(*, case: EvalCase, question: str | None = None, reference_answer: str | None = None) -> EvalCase:
    """A reviewed draft becomes part of the dataset's runs, optionally with its wording corrected."""
    if question is not None:
        case.question = question
    if reference_answer is not None:
        case.reference_answer = reference_answer
    case.status = EvalCase.Status.READY
    case.full_clean()
    case.save()
    return case
