from __future__ import annotations

import pytest

from deployments.planner import GIB, PlanInput, devices_needed, plan

LLAMA_70B = {"parameters_b": 70, "num_layers": 80, "num_kv_heads": 8, "head_dim": 128, "num_attention_heads": 64}


def _a100_80(**overrides):
    values = {**LLAMA_70B, "quantization": "fp16", "max_model_len": 8192, "device_memory_gib": 80.0,
              "device_name": "A100 80 GB", **overrides}  # fmt: skip
    return PlanInput(**values)


def test_70b_at_fp16_does_not_fit_one_a100_80gb_and_needs_two():
    one = plan(_a100_80())
    # weights: 70e9 * 2 bytes = 130.385 GiB, more than 0.9 * 80 = 72 GiB usable
    assert one.weights_gib == pytest.approx(70e9 * 2 / GIB)
    assert one.weights_gib == pytest.approx(130.385, abs=1e-3)
    assert one.usable_gib == pytest.approx(72.0)
    assert not one.fits and one.max_sequences == 0
    assert "Does not fit on 1 × A100 80 GB" in one.verdict
    assert one.devices_needed == 2


def test_70b_at_fp16_on_two_a100_80gb_runs_three_full_length_sequences():
    two = plan(_a100_80(device_count=2, tensor_parallel_size=2))
    # KV per token: 2 * 80 layers * 8 heads * 128 * 2 bytes = 327,680 B; at 8,192 tokens = 2.5 GiB per sequence
    assert two.kv_bytes_per_token == 327_680
    assert two.kv_gib_per_sequence == pytest.approx(2.5)
    # 144 GiB usable - 130.385 weights - 2 * 2 GiB runtime = 9.615 GiB of KV cache -> 3 sequences
    assert two.kv_cache_gib == pytest.approx(144 - 130.385 - 4, abs=1e-3)
    assert two.fits and two.max_sequences == 3
    assert "Fits on 2 × A100 80 GB: up to 3 sequences of 8,192 tokens" in two.verdict


def test_70b_at_int4_fits_one_a100_80gb():
    int4 = plan(_a100_80(quantization="awq"))
    # weights: 70e9 * 0.5 bytes = 32.596 GiB; 72 - 32.596 - 2 = 37.404 GiB of cache / 2.5 GiB = 14 sequences
    assert int4.weights_gib == pytest.approx(32.596, abs=1e-3)
    assert int4.fits and int4.max_sequences == 14
    assert int4.devices_needed == 1


def test_fp8_kv_cache_halves_the_kv_per_token():
    assert plan(_a100_80(quantization="awq", kv_cache_dtype="fp8")).max_sequences == 29  # 37.404 / 1.25


def test_the_local_smollm2_fits_the_cpu_servers_kv_space():
    cpu = plan(
        PlanInput(
            parameters_b=0.135, num_layers=30, num_kv_heads=3, head_dim=64, quantization="bf16", max_model_len=2048,
            device_memory_gib=16, is_cpu=True, cpu_kv_cache_gib=1.0, max_num_seqs=8, device_name="CPU",
        )
    )  # fmt: skip
    # KV per token 2 * 30 * 3 * 64 * 2 = 23,040 B; 2,048 tokens = 45 MiB; 1 GiB holds 22 of them
    assert cpu.kv_bytes_per_token == 23_040
    assert cpu.max_sequences == 22
    assert cpu.fits and cpu.devices_needed is None
    assert cpu.warnings == []


def test_a_cpu_server_too_small_for_weights_and_cache_does_not_fit():
    cpu = plan(
        PlanInput(
            parameters_b=7, num_layers=32, num_kv_heads=8, head_dim=128, quantization="bf16", max_model_len=4096,
            device_memory_gib=16, is_cpu=True, cpu_kv_cache_gib=4.0, device_name="CPU",
        )
    )  # fmt: skip
    assert not cpu.fits
    assert "exceed its memory" in cpu.verdict


def test_more_concurrent_sequences_than_fit_is_warned_about():
    result = plan(_a100_80(quantization="awq", max_num_seqs=256))
    assert any("only 14 full-length sequences fit" in w for w in result.warnings)


def test_no_tensor_parallel_size_fits_a_model_too_big_for_16_devices():
    assert devices_needed(_a100_80(parameters_b=1000, device_memory_gib=24)) is None
