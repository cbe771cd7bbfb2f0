"""The HTTP client for a model server's own endpoints: its model list (health) and vLLM's Prometheus ``/metrics``.

Both calls use the short health timeout, so a server that is down or stalled costs seconds, never a hung worker.
``/metrics`` is parsed with ``prometheus_client``'s text parser; a server may expose several engines or models, so
every family is summed over the series that belong to the deployment's served model (or all of them when the series
carry no model label).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx
from django.conf import settings
from prometheus_client.parser import text_string_to_metric_families

COUNTERS = {
    "requests": "vllm:request_success",
    "prompt_tokens": "vllm:prompt_tokens",
    "generation_tokens": "vllm:generation_tokens",
    "prefix_hits": "vllm:prefix_cache_hits",
    "prefix_queries": "vllm:prefix_cache_queries",
    "preemptions": "vllm:num_preemptions",
}
# Seconds spent in prefill and decode (histogram sums): their ratio splits the hardware's cost between input and
# output tokens.
HISTOGRAM_SUMS = {
    "prefill_seconds": "vllm:request_prefill_time_seconds",
    "decode_seconds": "vllm:request_decode_time_seconds",
}
HISTOGRAMS = {
    "ttft": "vllm:time_to_first_token_seconds",
    "itl": "vllm:inter_token_latency_seconds",
    "e2e": "vllm:e2e_request_latency_seconds",
}
GAUGES = {
    "running": "vllm:num_requests_running",
    "waiting": "vllm:num_requests_waiting",
    "kv_cache_usage": "vllm:kv_cache_usage_perc",
}
# Older vLLM releases (V0 engine) named the KV-cache gauge differently.
GAUGE_FALLBACKS = {"kv_cache_usage": "vllm:gpu_cache_usage_perc"}


class ServerUnavailable(Exception):
    """The server could not be asked; ``str(exc)`` says why in a sentence."""


@dataclass
class Histogram:
    upper_bounds: list[float]
    cumulative: list[float]
    total: float = 0.0


@dataclass
class MetricsSnapshot:
    gauges: dict[str, float | None] = field(default_factory=dict)
    counters: dict[str, float | None] = field(default_factory=dict)
    histograms: dict[str, Histogram] = field(default_factory=dict)


def _headers(deployment: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {deployment.api_key}"} if deployment.has_api_key else {}


def _get(url: str, deployment: Any) -> httpx.Response:
    try:
        response = httpx.get(url, headers=_headers(deployment), timeout=settings.MODEL_HEALTH_TIMEOUT)
    except httpx.TimeoutException as exc:
        raise ServerUnavailable(f"no answer within {settings.MODEL_HEALTH_TIMEOUT:g} s") from exc
    except httpx.HTTPError as exc:
        raise ServerUnavailable(f"could not connect ({type(exc).__name__})") from exc
    if response.status_code in (401, 403):
        raise ServerUnavailable(f"HTTP {response.status_code}: the server refused the stored API key")
    if response.status_code >= 400:
        raise ServerUnavailable(f"HTTP {response.status_code} from {httpx.URL(url).path}")
    return response


def probe_models(deployment: Any) -> None:
    """Ask the server which models it serves; raises ``ServerUnavailable`` unless it serves the deployment's."""
    response = _get(f"{deployment.base_url.rstrip('/')}/models", deployment)
    try:
        served = [m.get("id") for m in response.json().get("data", [])]
    except (ValueError, AttributeError) as exc:
        raise ServerUnavailable("the answer to /models is not the OpenAI model list") from exc
    if deployment.served_model_name not in served:
        raise ServerUnavailable(f"the server answers but does not serve {deployment.served_model_name!r} ({served})")


def fetch_metrics(deployment: Any) -> MetricsSnapshot:
    """Scrape and parse the server's ``/metrics``; raises ``ServerUnavailable``."""
    response = _get(f"{deployment.root_url}/metrics", deployment)
    try:
        return parse_metrics(response.text, model=deployment.served_model_name)
    except ValueError as exc:
        raise ServerUnavailable(f"/metrics is not Prometheus text ({str(exc)[:120]})") from exc


def parse_metrics(text: str, *, model: str) -> MetricsSnapshot:
    values: dict[str, list[tuple[dict[str, str], float]]] = defaultdict(list)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values[sample.name].append((sample.labels, sample.value))

    def summed(name: str) -> float | None:
        series = values.get(name)
        if not series:
            return None
        mine = [v for labels, v in series if labels.get("model_name") in (None, model)]
        return float(sum(mine)) if mine else None

    snapshot = MetricsSnapshot()
    for key, name in GAUGES.items():
        value = summed(name)
        if value is None and key in GAUGE_FALLBACKS:
            value = summed(GAUGE_FALLBACKS[key])
        snapshot.gauges[key] = value
    for key, name in COUNTERS.items():
        snapshot.counters[key] = summed(f"{name}_total")
    for key, name in HISTOGRAM_SUMS.items():
        snapshot.counters[key] = summed(f"{name}_sum")
    for key, name in HISTOGRAMS.items():
        by_bound: dict[float, float] = defaultdict(float)
        for labels, value in values.get(f"{name}_bucket", []):
            if labels.get("model_name") in (None, model) and "le" in labels:
                by_bound[float(labels["le"])] += value
        if by_bound:
            bounds = sorted(by_bound)
            snapshot.histograms[key] = Histogram(
                upper_bounds=bounds, cumulative=[by_bound[b] for b in bounds], total=summed(f"{name}_sum") or 0.0
            )
    return snapshot


def is_finite(value: float | None) -> bool:
    return value is not None and not math.isnan(value) and not math.isinf(value)
