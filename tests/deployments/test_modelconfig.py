from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from deployments.modelconfig import shape_from_config

LLAMA_3_70B = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu", "hidden_size": 8192,
    "intermediate_size": 28672, "max_position_embeddings": 131072, "num_attention_heads": 64,
    "num_hidden_layers": 80, "num_key_value_heads": 8, "vocab_size": 128256, "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
}  # fmt: skip
MIXTRAL_8X7B = {
    "model_type": "mixtral", "hidden_act": "silu", "hidden_size": 4096, "intermediate_size": 14336,
    "max_position_embeddings": 32768, "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8,
    "num_local_experts": 8, "num_experts_per_tok": 2, "vocab_size": 32000, "tie_word_embeddings": False,
}  # fmt: skip
GPT2 = {"model_type": "gpt2", "activation_function": "gelu_new", "n_embd": 768, "n_head": 12, "n_layer": 12,
        "n_positions": 1024, "vocab_size": 50257}  # fmt: skip


def test_llama_70b_shape_and_parameter_estimate():
    shape = shape_from_config(json.dumps(LLAMA_3_70B))
    assert (shape.num_layers, shape.num_attention_heads, shape.num_kv_heads, shape.head_dim) == (80, 64, 8, 128)
    assert shape.max_position_embeddings == 131072
    # embeddings 2 * 128256 * 8192 + 80 * (attention 151M + gated MLP 704.6M + norms) + final norm = 70.554B
    assert shape.parameters_b == Decimal("70.554")
    assert shape.parameters_estimated


def test_mixture_of_experts_counts_every_expert():
    shape = shape_from_config(json.dumps(MIXTRAL_8X7B))
    assert shape.parameters_b == Decimal("46.703")  # Mistral's published figure is 46.7B
    assert shape.num_kv_heads == 8


def test_gpt2_key_names_and_no_gqa():
    shape = shape_from_config(json.dumps(GPT2))
    assert (shape.num_layers, shape.num_attention_heads, shape.num_kv_heads, shape.head_dim) == (12, 12, 12, 64)
    assert shape.max_position_embeddings == 1024
    assert Decimal("0.12") < shape.parameters_b < Decimal("0.125")
    assert any("assumed as many KV heads" in note for note in shape.notes)


def test_the_local_models_config_gives_its_real_shape():
    path = Path(__file__).resolve().parents[2] / "var" / "models" / "smollm2-135m" / "config.json"
    if not path.exists():
        pytest.skip("the local model is not converted on this machine (make model)")
    shape = shape_from_config(path.read_text())
    assert (shape.num_layers, shape.num_kv_heads, shape.head_dim) == (30, 3, 64)
    assert shape.parameters_b == Decimal("0.135")  # 134,515,008 weights, tied embeddings


def test_multimodal_configs_are_read_from_text_config():
    shape = shape_from_config(json.dumps({"model_type": "llava", "text_config": LLAMA_3_70B, "vision_config": {}}))
    assert shape.num_layers == 80
    assert "text_config" in shape.notes[0]


def test_stated_parameter_count_and_quantization_are_taken_as_given():
    config = {**LLAMA_3_70B, "num_parameters": 70_600_000_000, "quantization_config": {"quant_method": "awq"}}
    shape = shape_from_config(json.dumps(config))
    assert shape.parameters_b == Decimal("70.600") and not shape.parameters_estimated
    assert shape.quantization == "awq"


def test_explicit_head_dim_wins_over_hidden_divided_by_heads():
    shape = shape_from_config(json.dumps({**LLAMA_3_70B, "head_dim": 256}))
    assert shape.head_dim == 256


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        (json.dumps({"vocab_size": 3}), "has no num_hidden_layers, num_attention_heads, head_dim"),
    ],
)
def test_bad_configs_say_what_is_wrong(text, message):
    with pytest.raises(ValidationError, match=message):
        shape_from_config(text)
