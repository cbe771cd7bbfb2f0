"""The registry of metric providers that gate criteria are computed from.

Any app contributes providers by registering them when Django starts (in its ``AppConfig.ready``)::

    from engagements.metrics import MetricResult, register

    @register("rag.documents_ingested", label="Documents ingested", unit="documents")
    def documents_ingested(engagement, params) -> MetricResult:
        count = ...
        return MetricResult(value=count, source_url=reverse(...), detail=f"{count} in 2 knowledge bases")

A provider takes the engagement and the criterion's free-form ``params`` dict (e.g. which prototype or KPI) and
returns a ``MetricResult``; ``value=None`` means "no evidence yet", which never satisfies a criterion.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engagements.models import Engagement


@dataclass(frozen=True)
class MetricResult:
    value: float | None
    detail: str = ""
    source_url: str = ""


ProviderFn = Callable[["Engagement", dict[str, Any]], MetricResult]


@dataclass(frozen=True)
class MetricProvider:
    key: str
    label: str
    fn: ProviderFn
    unit: str = ""
    description: str = ""
    params_help: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)

    def compute(self, engagement: Engagement, params: dict[str, Any] | None = None) -> MetricResult:
        return self.fn(engagement, params or {})


_REGISTRY: dict[str, MetricProvider] = {}


def register(
    key: str, *, label: str, unit: str = "", description: str = "", params_help: str = ""
) -> Callable[[ProviderFn], ProviderFn]:
    def decorator(fn: ProviderFn) -> ProviderFn:
        _REGISTRY[key] = MetricProvider(
            key=key, label=label, fn=fn, unit=unit, description=description, params_help=params_help
        )
        return fn

    return decorator


def get_provider(key: str) -> MetricProvider | None:
    return _REGISTRY.get(key)


def all_providers() -> list[MetricProvider]:
    return sorted(_REGISTRY.values(), key=lambda p: p.key)
