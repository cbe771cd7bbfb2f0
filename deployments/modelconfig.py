"""Read a model's shape from its Hugging Face ``config.json``, whatever the architecture calls each number.

    shape = shape_from_config(json_text)
    shape.num_layers, shape.num_kv_heads, shape.head_dim, shape.parameters_b, shape.notes

Architectures name the same thing differently (``num_hidden_layers``, ``n_layer``, ``num_layers``; ``hidden_size``,
``n_embd``, ``d_model``; ...); multimodal configs keep the language model under ``text_config``. The parameter count
is estimated from the layer sizes when the config does not state it: embeddings, attention (query, key, value and
output projections), the feed-forward block (gated or not, and every expert of a mixture of experts) and the norms.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError

_LAYERS = ("num_hidden_layers", "n_layer", "num_layers", "n_layers")
_HEADS = ("num_attention_heads", "n_head", "num_heads", "n_heads")
_KV_HEADS = ("num_key_value_heads", "num_kv_heads", "n_head_kv", "multi_query_group_num", "n_kv_heads")
_HIDDEN = ("hidden_size", "n_embd", "d_model", "dim", "model_dim")
_INTERMEDIATE = ("intermediate_size", "ffn_hidden_size", "n_inner", "ffn_dim", "d_ff")
_CONTEXT = ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length", "max_seq_len", "n_ctx")
_EXPERTS = ("num_local_experts", "num_experts", "n_routed_experts", "moe_num_experts")
_PARAMS = ("num_parameters", "n_parameters", "num_params")
# Feed-forward blocks with a gate (SwiGLU/GeGLU) have three matrices, the classic MLP two.
_GATED_ACTIVATIONS = ("silu", "swiglu", "geglu", "gelu_pytorch_tanh", "swish")
_GATED_MODEL_TYPES = {
    "llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "gemma", "gemma2", "gemma3_text",
    "phi3", "deepseek_v2", "deepseek_v3", "olmo", "olmo2", "granite", "internlm2", "cohere", "starcoder2_gated",
}  # fmt: skip

QUANT_METHODS = {"awq": "awq", "gptq": "gptq", "fp8": "fp8"}


@dataclass
class ModelShapeFromConfig:
    num_layers: int
    num_attention_heads: int
    num_kv_heads: int
    head_dim: int
    max_position_embeddings: int | None
    parameters_b: Decimal | None
    parameters_estimated: bool
    quantization: str | None = None
    dtype: str | None = None
    notes: list[str] = field(default_factory=list)

    def as_fields(self) -> dict[str, Any]:
        """The values under the names of ``Deployment``'s shape fields."""
        return {
            "num_layers": self.num_layers,
            "num_attention_heads": self.num_attention_heads,
            "num_kv_heads": self.num_kv_heads,
            "head_dim": self.head_dim,
            "max_position_embeddings": self.max_position_embeddings,
            "parameters_b": self.parameters_b,
        }


def _first(config: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = config.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            return value
    return None


def _invalid(message: str) -> ValidationError:
    return ValidationError(message, code="invalid_config")


def load_config(text: str | bytes) -> dict[str, Any]:
    try:
        config = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _invalid(
            f"This is not valid JSON ({exc}). Paste the whole config.json from the model's repository."
        ) from exc
    if not isinstance(config, dict):
        raise _invalid("config.json must be a JSON object (it starts with {).")
    return config


def shape_from_config(text: str | bytes) -> ModelShapeFromConfig:
    """The shape of the (language) model a ``config.json`` describes; ``ValidationError`` says what is missing."""
    outer = load_config(text)
    text_config = outer.get("text_config")
    config: dict[str, Any] = text_config if isinstance(text_config, dict) else outer
    notes: list[str] = []
    if config is not outer:
        notes.append("Read the language model's numbers from text_config (a multimodal model).")
    layers, heads, hidden = _first(config, _LAYERS), _first(config, _HEADS), _first(config, _HIDDEN)
    missing = [name for name, value in (("num_hidden_layers", layers), ("num_attention_heads", heads)) if value is None]
    head_dim = _first(config, ("head_dim", "kv_channels", "attention_head_size"))
    if head_dim is None and hidden is not None and heads:
        head_dim = hidden // heads
    if head_dim is None:
        missing.append("head_dim (or hidden_size)")
    if missing:
        raise _invalid(
            f"config.json has no {', '.join(missing)}. Check that it is the model's own config.json (not the "
            "tokenizer's or the generation config), or enter the shape by hand."
        )
    kv_heads = _first(config, _KV_HEADS)
    if kv_heads is None:
        if config.get("multi_query") is True:  # Falcon-style multi-query attention: one shared KV head
            kv_heads = 1
        else:
            kv_heads = heads
            notes.append("No key/value head count: assumed as many KV heads as attention heads (no GQA).")
    if "kv_lora_rank" in config:
        notes.append(
            "This model uses multi-head latent attention, which caches a compressed latent per token: the KV "
            "figures here (full heads) are an upper bound."
        )
    stated = _first(outer, _PARAMS) or _first(config, _PARAMS)
    parameters: Decimal | None
    if stated is not None:
        parameters = Decimal(str(stated)) / Decimal(10**9)
        estimated = False
    else:
        count = estimate_parameters(config, layers=layers, heads=heads, kv_heads=kv_heads, head_dim=head_dim)
        parameters = None if count is None else Decimal(count) / Decimal(10**9)
        estimated = parameters is not None
        if parameters is None:
            notes.append("Not enough sizes to estimate the parameter count: enter it from the model card.")
    raw_quant = outer.get("quantization_config")
    quant: dict[str, Any] = raw_quant if isinstance(raw_quant, dict) else {}
    quantization = QUANT_METHODS.get(str(quant.get("quant_method", "")).lower())
    if quant and quantization is None:
        notes.append(f"Quantized with {quant.get('quant_method')!r}: pick the closest quantization below.")
    dtype = outer.get("torch_dtype") or outer.get("dtype") or config.get("torch_dtype")
    return ModelShapeFromConfig(
        num_layers=int(layers),
        num_attention_heads=int(heads),
        num_kv_heads=int(kv_heads),
        head_dim=int(head_dim),
        max_position_embeddings=(int(v) if (v := _first(config, _CONTEXT)) else None),
        parameters_b=parameters.quantize(Decimal("0.001")) if parameters is not None else None,
        parameters_estimated=estimated,
        quantization=quantization,
        dtype=str(dtype) if dtype else None,
        notes=notes,
    )


def estimate_parameters(config: dict[str, Any], *, layers: int, heads: int, kv_heads: int, head_dim: int) -> int | None:
    """Weights of a decoder-only transformer from its sizes; None when the hidden or vocabulary size is missing."""
    hidden, vocab = _first(config, _HIDDEN), _first(config, ("vocab_size", "padded_vocab_size"))
    if hidden is None or vocab is None:
        return None
    intermediate = _first(config, _INTERMEDIATE) or 4 * hidden
    attention = hidden * heads * head_dim + 2 * hidden * kv_heads * head_dim + heads * head_dim * hidden
    activation = str(config.get("hidden_act") or config.get("activation_function") or "").lower()
    gated = config.get("model_type") in _GATED_MODEL_TYPES or activation in _GATED_ACTIVATIONS
    mlp_matrices = 3 if gated else 2
    experts = _first(config, _EXPERTS)
    if experts:
        expert_size = _first(config, ("moe_intermediate_size", "expert_intermediate_size")) or intermediate
        shared = _first(config, ("n_shared_experts", "num_shared_experts")) or 0
        feed_forward = (experts + shared) * mlp_matrices * hidden * expert_size + hidden * experts
    else:
        feed_forward = mlp_matrices * hidden * intermediate
    per_layer = attention + feed_forward + 2 * hidden  # two norms per layer
    embeddings = vocab * hidden
    tied = config.get("tie_word_embeddings", True)
    return int(layers * per_layer + embeddings * (1 if tied else 2) + hidden)
