"""Every kind of job, by its ``job_kind``: the sweeper, the Jobs page and /metrics go through this list."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from jobs.models import Job

J = TypeVar("J", bound="type[Job]")

_kinds: dict[str, type[Job]] = {}


def register(model: J) -> J:
    """Class decorator for a concrete job model; its module is imported with the models, so every process sees it."""
    kind = getattr(model, "job_kind", "")
    if not kind or not getattr(model, "task_name", ""):
        raise TypeError(f"{model.__name__} must set job_kind and task_name to be registered as a job kind.")
    if kind in _kinds and _kinds[kind] is not model:
        raise TypeError(f"Two job models claim the kind {kind!r}: {_kinds[kind].__name__} and {model.__name__}.")
    _kinds[kind] = model
    return model


def kinds() -> dict[str, type[Job]]:
    return dict(sorted(_kinds.items()))


def get(kind: str) -> type[Job] | None:
    return _kinds.get(kind)
