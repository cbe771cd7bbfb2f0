"""Prometheus exposition of the app's own metrics at /metrics.

Values are read at scrape time from the database and the health checks rather than counted in process memory, so
every web worker on every machine reports the same figures without a multiprocess registry. Apps add their own
collectors with ``registry.register(...)`` in their ``AppConfig.ready``.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from accounts.services import caller_is_provider
from config.health import check_all

registry = CollectorRegistry(auto_describe=False)


class HealthCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        health = check_all()
        up = GaugeMetricFamily(
            "fde_component_up", "1 when the component answers its health check", labels=["component"]
        )
        latency = GaugeMetricFamily(
            "fde_component_check_seconds", "Time the component's health check took", labels=["component"]
        )
        for name in ("database", "redis", "worker"):
            up.add_metric([name], 1.0 if health[name]["ok"] else 0.0)
            latency.add_metric([name], health[name]["latency_ms"] / 1000)
        yield up
        yield latency
        models = GaugeMetricFamily(
            "fde_model_endpoint_up", "1 when the model endpoint serves its model", labels=["deployment", "model"]
        )
        for model in health["models"]:
            models.add_metric([model["name"], model["model"]], 1.0 if model["ok"] else 0.0)
        yield models


registry.register(HealthCollector())


def metrics_view(request: HttpRequest) -> HttpResponse:
    """The exposition, for provider staff or a provider's API token (Prometheus: ``authorization: credentials``)."""
    if not caller_is_provider(request):
        response = HttpResponse(
            "Send a provider's API token as 'Authorization: Bearer <token>' (manage.py create_api_token).\n",
            status=401,
            content_type="text/plain; charset=utf-8",
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
