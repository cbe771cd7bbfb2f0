"""Import result files made outside the product, so their runs sit in the same tables and charts.

Two formats: GuideLLM's JSON report (``guidellm run --output kind=json``; one level per benchmark, every request's
timings) and ``vllm bench serve --save-result --save-detailed`` (one level; the per-request arrays). Each file is
checked against a pydantic schema, and a file that is not what it claims is refused with its name and the field.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic import ValidationError as SchemaError

from deployments.models import Deployment, LoadTest, LoadTestRequest
from deployments.sla import sla_targets
from jobs.models import JobStatus


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _GuideInfo(_Loose):
    error: str | None = None


class _GuideRequest(_Loose):
    request_start_time: float
    request_latency: float
    time_to_first_token_ms: float | None = None
    inter_token_latency_ms: float | None = None
    prompt_tokens: int | None = None
    output_tokens: int | None = None
    info: _GuideInfo = Field(default_factory=_GuideInfo)


class _GuideRequests(_Loose):
    successful: list[_GuideRequest]
    errored: list[_GuideRequest] = []


class _GuideStrategy(_Loose):
    type_: str
    streams: int | None = None
    rate: float | None = None


class _GuideConfig(_Loose):
    strategy: _GuideStrategy


class _GuideBenchmark(_Loose):
    config: _GuideConfig
    requests: _GuideRequests


class _GuideReport(_Loose):
    benchmarks: list[_GuideBenchmark] = Field(min_length=1)


class _VllmReport(_Loose):
    ttfts: list[float | None]
    itls: list[list[float]]
    input_lens: list[int]
    output_lens: list[int]
    errors: list[str | None]
    latencies: list[float] | None = None
    start_times: list[float] | None = None
    max_concurrency: int | None = None
    request_rate: float | str | None = None

    @model_validator(mode="after")
    def _same_lengths(self) -> _VllmReport:
        n = len(self.ttfts)
        for name in ("itls", "input_lens", "output_lens", "errors", "latencies", "start_times"):
            values = getattr(self, name)
            if values is not None and len(values) != n:
                raise ValueError(f"{name} has {len(values)} entries where ttfts has {n}")
        return self


def _schema_error(filename: str, exc: SchemaError, what: str) -> ValidationError:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(the top level)"
    return ValidationError(f"{filename} is not a {what}: field {where}: {first['msg']}.")


def _guidellm_rows(report: _GuideReport) -> tuple[list[float], str, list[LoadTestRequest]]:
    t0 = min(r.request_start_time for b in report.benchmarks for r in b.requests.successful + b.requests.errored)
    levels, rows = [], []
    for level, bench in enumerate(report.benchmarks):
        strategy = bench.config.strategy
        levels.append(float(strategy.streams or strategy.rate or 1))
        for index, (r, ok) in enumerate(
            [(r, True) for r in bench.requests.successful] + [(r, False) for r in bench.requests.errored]
        ):
            e2e = r.request_latency * 1000
            tokens = r.output_tokens or 0
            rows.append(
                LoadTestRequest(
                    level=level, index=index, started_s=r.request_start_time - t0, ok=ok,
                    error=(r.info.error or "error")[:300] if not ok else "",
                    ttft_ms=r.time_to_first_token_ms, e2e_ms=e2e, prompt_tokens=r.prompt_tokens,
                    output_tokens=tokens,
                    # GuideLLM's inter-token latency is (end to end - first token) / (tokens - 1): the mean gap.
                    itl_ms=r.inter_token_latency_ms, tpot_ms=r.inter_token_latency_ms,
                )
            )  # fmt: skip
    kinds = {b.config.strategy.type_ for b in report.benchmarks}
    profile = "sweep" if len(report.benchmarks) > 1 else _profile(kinds.pop())
    return levels, profile, rows


def _profile(kind: str) -> str:
    return {"synchronous": "synchronous", "concurrent": "concurrent", "constant": "constant", "poisson": "poisson"}.get(
        kind, "concurrent"
    )


def _vllm_rows(report: _VllmReport) -> tuple[list[float], str, list[LoadTestRequest]]:
    starts = report.start_times or []
    t0 = min(starts) if starts else 0.0
    rows = []
    for i, ttft in enumerate(report.ttfts):
        gaps = report.itls[i]
        ok = not report.errors[i]
        e2e = report.latencies[i] if report.latencies else (ttft or 0.0) + sum(gaps)
        mean_gap = sum(gaps) / len(gaps) * 1000 if gaps else None
        rows.append(
            LoadTestRequest(
                level=0, index=i, started_s=(starts[i] - t0) if starts else 0.0, ok=ok,
                error=(report.errors[i] or "")[:300], ttft_ms=ttft * 1000 if ok and ttft else None,
                itl_ms=mean_gap, tpot_ms=mean_gap, e2e_ms=e2e * 1000, prompt_tokens=report.input_lens[i],
                output_tokens=report.output_lens[i],
            )
        )  # fmt: skip
    if report.max_concurrency:
        return [float(report.max_concurrency)], "concurrent", rows
    rate = report.request_rate
    if isinstance(rate, (int, float)) or (isinstance(rate, str) and rate.replace(".", "", 1).isdigit()):
        return [float(rate)], "poisson", rows
    return [0.0], "concurrent", rows  # every request sent at once ("inf")


def parse_result_file(*, filename: str, content: bytes) -> tuple[str, list[float], str, list[LoadTestRequest]]:
    """(source, levels, profile, unsaved request rows) from a GuideLLM or vLLM file; ``ValidationError`` if neither."""
    try:
        data: Any = json.loads(content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationError(f"{filename} is not JSON ({exc}); export the result as JSON and try again.") from exc
    if not isinstance(data, dict):
        raise ValidationError(f"{filename} is not a result file: the top level is not an object.")
    if "benchmarks" in data:
        try:
            return "guidellm", *_guidellm_rows(_GuideReport.model_validate(data))
        except SchemaError as exc:
            raise _schema_error(filename, exc, "GuideLLM report") from exc
    if "ttfts" in data or "request_throughput" in data:
        if "ttfts" not in data:
            raise ValidationError(
                f"{filename} has no per-request data (field ttfts): save it with "
                "`vllm bench serve --save-result --save-detailed`."
            )
        try:
            return "vllm_bench", *_vllm_rows(_VllmReport.model_validate(data))
        except SchemaError as exc:
            raise _schema_error(filename, exc, "vllm bench serve result") from exc
    raise ValidationError(
        f"{filename} is neither a GuideLLM report (no field benchmarks) nor a vllm bench serve result (no field ttfts)."
    )


@transaction.atomic
def loadtest_import(*, deployment: Deployment, actor: Any, filename: str, content: bytes) -> LoadTest:
    """Store a result file as a finished run of ``deployment``, judged against the deployment's SLA of today."""
    source, levels, profile, rows = parse_result_file(filename=filename, content=content)
    if not rows:
        raise ValidationError(f"{filename} holds no finished requests.")
    now = timezone.now()
    run = LoadTest.objects.create(
        deployment=deployment, engagement=deployment.engagement, started_by=actor, name=filename[:120],
        source=source, source_file=filename[:200], profile=profile, levels=levels, sla=sla_targets(deployment),
        status=JobStatus.SUCCEEDED, progress=len(levels), total=len(levels), started_at=now, finished_at=now,
    )  # fmt: skip
    for row in rows:
        row.run = run
    LoadTestRequest.objects.bulk_create(rows, batch_size=2000)
    return run
