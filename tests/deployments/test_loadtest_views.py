from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from deployments.loadtest.imports import loadtest_import, parse_result_file
from deployments.loadtest.selectors import level_stats
from deployments.loadtest.services import capacity_plan_save
from deployments.models import ApiPrice, Deployment, HardwareType, LoadTest
from deployments.services import deployment_save

GUIDELLM = (Path(__file__).parent / "data" / "guidellm_report.json").read_bytes()
# The per-request fields `vllm bench serve --save-result --save-detailed` writes (vllm/benchmarks/serve.py).
VLLM_BENCH = {
    "backend": "openai-chat", "model_id": "m", "max_concurrency": 2, "request_rate": "inf", "duration": 1.2,
    "completed": 2, "failed": 1, "request_throughput": 2.5, "output_throughput": 10.0,
    "input_lens": [16, 16, 16], "output_lens": [4, 4, 0], "ttfts": [0.1, 0.12, 0.0],
    "itls": [[0.02, 0.02, 0.02], [0.03, 0.03, 0.03], []], "latencies": [0.16, 0.21, 0.0],
    "start_times": [100.0, 100.05, 100.3], "errors": ["", "", "Connection reset"],
}  # fmt: skip


@pytest.fixture
def deployment(engagement: Any) -> Deployment:
    return deployment_save(
        name="Claims GPU", base_url="http://10.9.8.7:9/v1", served_model_name="m", engagement=engagement,
        hardware=HardwareType.objects.get(name="L4 24 GB"), sla_ttft_p95_ms=8000,
    )  # fmt: skip


def test_a_guidellm_report_imports_with_every_request(deployment: Deployment, fde: Any) -> None:
    run = loadtest_import(deployment=deployment, actor=fde, filename="g.json", content=GUIDELLM)
    report = json.loads(GUIDELLM)
    successful = report["benchmarks"][0]["requests"]["successful"]
    assert run.source == "guidellm" and run.levels == [2.0] and run.status == "succeeded"
    assert run.requests.filter(ok=True).count() == len(successful)
    (stats,) = level_stats(run=run)
    ttfts = sorted(r["time_to_first_token_ms"] for r in successful)
    assert min(ttfts) <= stats.pct["ttft_p50"] <= max(ttfts)
    assert stats.output_tokens == sum(r["output_tokens"] for r in successful)


def test_a_vllm_bench_file_imports_errors_and_all() -> None:
    source, levels, profile, rows = parse_result_file(filename="v.json", content=json.dumps(VLLM_BENCH).encode())
    assert (source, levels, profile) == ("vllm_bench", [2.0], "concurrent")
    assert [r.ok for r in rows] == [True, True, False] and rows[2].error == "Connection reset"
    assert rows[0].ttft_ms == pytest.approx(100) and rows[0].itl_ms == pytest.approx(20)
    assert rows[1].e2e_ms == pytest.approx(210) and rows[1].started_s == pytest.approx(0.05)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not json", r"bad\.json is not JSON"),
        (b"[1, 2]", r"bad\.json is not a result file"),
        (b'{"hello": 1}', r"neither a GuideLLM report .* nor a vllm bench serve result"),
        (b'{"benchmarks": []}', r"bad\.json is not a GuideLLM report: field benchmarks"),
        (b'{"request_throughput": 3.0}', r"no per-request data \(field ttfts\).*--save-detailed"),
        (json.dumps(VLLM_BENCH | {"ttfts": [0.1]}).encode(), r"itls has 3 entries where ttfts has 1"),
        (json.dumps(VLLM_BENCH | {"output_lens": ["x", 1, 2]}).encode(), r"field output_lens\.0"),
    ],
)
def test_a_file_that_is_not_what_it_claims_is_refused_naming_the_file_and_field(content: bytes, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_result_file(filename="bad.json", content=content)


def test_import_through_the_page_and_the_error_for_a_bad_file(deployment: Deployment, fde_http: Any) -> None:
    url = reverse("deployments:loadtest-import", args=[deployment.uuid])
    bad = fde_http.post(url, {"file": SimpleUploadedFile("oops.json", b'{"benchmarks": [{}]}')}, follow=True)
    assert "oops.json is not a GuideLLM report: field benchmarks.0.config" in bad.content.decode()
    good = fde_http.post(url, {"file": SimpleUploadedFile("guide.json", GUIDELLM)}, follow=True)
    run = LoadTest.objects.get(deployment=deployment)
    assert good.redirect_chain[-1][0] == reverse("deployments:loadtest", args=[run.uuid])
    page = good.content.decode()
    assert 'id="levels"' in page and "distribution-chart" in page


def test_exports_carry_every_request(deployment: Deployment, fde: Any, fde_http: Any) -> None:
    run = loadtest_import(deployment=deployment, actor=fde, filename="v.json", content=json.dumps(VLLM_BENCH).encode())
    csv_lines = (
        fde_http.get(reverse("deployments:loadtest-export", args=[run.uuid]) + "?as=csv").content.decode().splitlines()
    )
    assert csv_lines[0].startswith("level,index,started_s") and len(csv_lines) == 4
    body = fde_http.get(reverse("deployments:loadtest-export", args=[run.uuid]) + "?as=json").json()
    assert len(body["requests"]) == 3 and body["summary"][0]["errors"] == 1
    assert fde_http.get(reverse("deployments:loadtest-export", args=[run.uuid]) + "?as=xml").status_code == 404


def test_start_on_a_down_deployment_shows_the_health_checks_reason(deployment: Deployment, fde_http: Any) -> None:
    form = {"profile": "concurrent", "concurrency": 2, "sweep_over": "concurrency", "duration_s": 5, "warmup_s": 0,
            "seed": 0, "workload": "synthetic", "input_tokens": 8, "input_tokens_sd": 0, "output_tokens": 8,
            "output_tokens_sd": 0, "prefix_tokens": 0}  # fmt: skip
    page = fde_http.post(reverse("deployments:loadtests", args=[deployment.uuid]), form).content.decode()
    assert "did not answer its health check, so no load test was started" in page
    assert not LoadTest.objects.exists()


def test_capacity_page_gives_replicas_cost_and_crossover(deployment: Deployment, fde: Any, fde_http: Any) -> None:
    loadtest_import(deployment=deployment, actor=fde, filename="v.json", content=json.dumps(VLLM_BENCH).encode())
    price = ApiPrice.objects.get(model="gpt-4o")
    capacity_plan_save(
        deployment=deployment, actor=fde, peak_rps=20, input_tokens=16, output_tokens=4, monthly_budget_usd=100,
        api_price=price,
    )  # fmt: skip
    page = fde_http.get(reverse("deployments:capacity", args=[deployment.uuid])).content.decode()
    assert 'class="replicas"' in page and "Over the $100 budget" in page
    assert "crossover-chart" in page


def test_client_users_and_outsiders_never_see_load_tests(
    deployment: Deployment, fde: Any, member_http: Any, outsider_http: Any
) -> None:
    run = loadtest_import(deployment=deployment, actor=fde, filename="v.json", content=json.dumps(VLLM_BENCH).encode())
    for http in (member_http, outsider_http):
        for url in (
            reverse("deployments:loadtest", args=[run.uuid]),
            reverse("deployments:loadtest-export", args=[run.uuid]),
            reverse("deployments:loadtests", args=[deployment.uuid]),
            reverse("deployments:capacity", args=[deployment.uuid]),
        ):
            assert http.get(url).status_code in (302, 403, 404), url
        assert http.get(f"/api/load-tests/{run.uuid}").status_code == 404


def test_the_api_lists_and_reads_runs_for_provider_staff(deployment: Deployment, fde: Any, fde_http: Any) -> None:
    run = loadtest_import(deployment=deployment, actor=fde, filename="v.json", content=json.dumps(VLLM_BENCH).encode())
    listed = fde_http.get(f"/api/load-tests/?deployment={deployment.uuid}").json()
    assert [r["uuid"] for r in listed] == [str(run.uuid)]
    detail = fde_http.get(f"/api/load-tests/{run.uuid}").json()
    assert detail["results"][0]["requests"] == 3 and detail["results"][0]["errors"] == 1
    refused = fde_http.post(
        "/api/load-tests/", {"deployment": str(deployment.uuid), "profile": "synchronous", "max_requests": 2},
        content_type="application/json",
    )  # fmt: skip
    assert refused.status_code == 422 and "health check" in refused.json()["detail"]
