from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from deployments.models import HardwareType, ModelCall, SlaAlert
from deployments.services import deployment_save

pytestmark = pytest.mark.django_db


@pytest.fixture
def busy(engagement):
    deployment = deployment_save(
        name="Claims model", base_url="http://gpu:8000/v1", served_model_name="m", engagement=engagement,
        hardware=HardwareType.objects.get(name="L4 24 GB"), sla_ttft_p95_ms=300,
    )  # fmt: skip
    now = timezone.now()
    ModelCall.objects.bulk_create(
        ModelCall(deployment=deployment, engagement=engagement, caller="rag.ask", ttft_ms=100 + 100 * (i % 5),
                  total_ms=900, gap_mean_ms=15, prompt_tokens=50, completion_tokens=40,
                  created_at=now - timedelta(minutes=5 * i))
        for i in range(60)
    )  # fmt: skip
    return deployment


def _figure(html: str, chart_id: str) -> dict:
    marker = f'id="{chart_id}" data-figure="'
    start = html.index(marker) + len(marker)
    raw = html[start : html.index('"', start)]
    return json.loads(
        raw.replace("&quot;", '"')
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
    )


def test_dashboard_draws_percentiles_sla_lines_and_throughput(fde_http, busy):
    html = fde_http.get(f"/deployments/{busy.uuid}/?range=24h").content.decode()
    latency = _figure(html, "latency-chart")
    p95 = next(t for t in latency["data"] if t["name"] == "p95" and t["xaxis"] == "x")
    assert any(v is not None for v in p95["y"])
    assert any(s.get("type") == "line" and s["y0"] == 300 for s in latency["layout"]["shapes"])
    assert "Gateway log" in html and "vLLM histograms" in html
    throughput = _figure(html, "throughput-chart")
    assert {t["name"] for t in throughput["data"]} >= {"calls per minute (gateway)", "error rate %"}
    assert 'id="window-stats"' in html and "Last week" in html


def test_breached_buckets_are_shaded(fde_http, busy):
    html = fde_http.get(f"/deployments/{busy.uuid}/?range=24h").content.decode()
    latency = _figure(html, "latency-chart")
    shaded = [s for s in latency["layout"]["shapes"] if s.get("type") == "rect"]
    assert shaded, "the p95 of 100..500 ms calls is above 300 ms in some buckets"
    assert "breach period" in html


def test_range_picker_returns_the_dashboard_partial_for_htmx(fde_http, busy):
    response = fde_http.get(f"/deployments/{busy.uuid}/?range=1h", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="dashboard")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="dashboard"') and "<html" not in html
    assert "1-minute buckets" in html


def test_a_bad_custom_range_says_what_is_wrong_and_shows_the_last_day(fde_http, busy):
    html = fde_http.get(f"/deployments/{busy.uuid}/?range=custom&start=2026-01-02T00:00&end=2026-01-01T00:00")
    assert "The end of the range must come after its start." in html.content.decode()
    start = (timezone.localtime() - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    ok = fde_http.get(f"/deployments/{busy.uuid}/", {"range": "custom", "start": start}).content.decode()
    assert "1-minute buckets" in ok and "must come after" not in ok


def test_dashboard_query_count_does_not_grow_with_calls(fde_http, busy):
    with CaptureQueriesContext(connection) as few:
        fde_http.get(f"/deployments/{busy.uuid}/?range=7d")
    ModelCall.objects.bulk_create(
        ModelCall(deployment=busy, caller="x", ttft_ms=1, total_ms=2, created_at=timezone.now() - timedelta(hours=h))
        for h in range(100)
    )
    with CaptureQueriesContext(connection) as many:
        fde_http.get(f"/deployments/{busy.uuid}/?range=7d")
    assert len(many) == len(few)


def test_fleet_page_shows_state_cost_traffic_and_the_comparison_in_constant_queries(fde_http, busy, engagement):
    SlaAlert.objects.create(deployment=busy, opened_at=timezone.now(), breach_started_at=timezone.now(),
                            summary="p95 time to first token 500.0 ms is above the SLA's 300.0")  # fmt: skip
    with CaptureQueriesContext(connection) as one:
        html = fde_http.get("/deployments/").content.decode()
    assert "SLA breach on" in html and 'id="comparison"' in html and 'id="engagement-costs"' in html
    assert "L4 24 GB" in html and "gateway log" in html and "Claims assistant" in html
    for i in range(3):
        deployment_save(name=f"More {i}", base_url=f"http://gpu-{i}:8000/v1", served_model_name="m")
    with CaptureQueriesContext(connection) as four:
        fde_http.get("/deployments/")
    assert len(four) == len(one)


@pytest.mark.parametrize("path", ["/deployments/", "/deployments/hardware/", "/deployments/planner/"])
def test_provider_pages_are_404_to_client_users(member_http, outsider_http, path):
    assert member_http.get(path).status_code == 404
    assert outsider_http.get(path).status_code == 404


def test_hardware_prices_are_editable_and_record_who_changed_them(fde_http, fde):
    l4 = HardwareType.objects.get(name="L4 24 GB")
    response = fde_http.post(
        f"/deployments/hardware/{l4.uuid}/",
        {"name": "L4 24 GB", "memory_gib": "22.5", "hourly_price_usd": "0.55", "note": "reserved 1 year"},
    )
    assert response.status_code == 302
    l4.refresh_from_db()
    assert str(l4.hourly_price_usd) == "0.550" and l4.updated_by == fde
    assert "reserved 1 year" in fde_http.get("/deployments/hardware/").content.decode()
    bad = fde_http.post("/deployments/hardware/", {"name": "X", "memory_gib": "0", "hourly_price_usd": "-1"})
    assert bad.status_code == 200 and "greater than or equal to" in bad.content.decode()


def test_the_seeded_catalogue_has_the_usual_gpus_and_a_cpu():
    names = set(HardwareType.objects.values_list("name", flat=True))
    assert {
        "A10G 24 GB",
        "L4 24 GB",
        "L40S 48 GB",
        "A100 40 GB",
        "A100 80 GB",
        "H100 80 GB",
        "H200 141 GB",
        "CPU",
    } <= names


def test_the_planner_page_shows_every_number_for_70b(fde_http):
    a100 = HardwareType.objects.get(name="A100 80 GB")
    html = fde_http.get(
        "/deployments/planner/", {"parameters_b": "70", "num_layers": "80", "num_kv_heads": "8", "head_dim": "128",
                                  "quantization": "fp16", "kv_cache_dtype": "auto", "max_model_len": "8192",
                                  "hardware": a100.pk, "device_count": "1", "gpu_memory_utilization": "0.9",
                                  "max_num_seqs": "16"}
    ).content.decode()  # fmt: skip
    assert "Does not fit on 1 × A100 80 GB" in html and "It needs 2 × A100 80 GB" in html
    assert "130.39 GiB" in html and "327,680 bytes" in html and "2.500 GiB" in html
    assert 'id="what-fits"' in html


def test_the_plan_page_shows_launch_files_and_downloads_them(fde_http, busy):
    busy.model_source, busy.num_layers, busy.num_kv_heads, busy.head_dim = "org/model", 32, 8, 128
    busy.parameters_b = 8
    busy.save()
    html = fde_http.get(f"/deployments/{busy.uuid}/plan/").content.decode()
    assert "vllm serve org/model" in html and "kind: Service" in html and "Fits on 1 × L4 24 GB" in html
    download = fde_http.get(f"/deployments/{busy.uuid}/launch/kubernetes/")
    assert download["Content-Disposition"] == 'attachment; filename="claims-model-kubernetes.yaml"'
    assert fde_http.get(f"/deployments/{busy.uuid}/launch/nothing/").status_code == 404


def test_a_failed_scrape_of_the_server_says_why_on_the_dashboard(fde_http, busy):
    """A real scrape of a closed port: the error is kept with the sample and shown until a scrape succeeds."""
    from deployments.scrape import server_metrics_scrape
    from tests.deployments.servers import free_port

    url = f"/deployments/{busy.uuid}/"
    assert 'id="last-scrape-failed"' not in fde_http.get(url).content.decode()
    busy.base_url = f"http://127.0.0.1:{free_port()}/v1"
    busy.save(update_fields=["base_url"])
    sample = server_metrics_scrape(deployment=busy)
    assert not sample.ok and sample.error
    html = fde_http.get(url).content.decode()
    assert 'id="last-scrape-failed"' in html and sample.error[:40] in html
