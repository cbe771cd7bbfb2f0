"""The launch planner: will this model fit on that hardware, and how many sequences can run at once?

    memory needed = weights + KV cache + runtime overhead
    weights       = parameters × bytes per parameter of the quantization
    KV per token  = 2 (key and value) × layers × KV heads × head size × bytes per KV element
    KV per sequence = KV per token × max model length

On GPUs, vLLM may use ``gpu_memory_utilization`` of every device; what the weights and the runtime (CUDA context,
activations, CUDA graphs) leave of it is the KV cache, and the KV cache divided by one full-length sequence is the
most sequences that can run at once without preemption. On a CPU server the KV cache is a fixed space
(``VLLM_CPU_KVCACHE_SPACE``) and the weights, the cache and the runtime must fit in the server's memory.
Memory is counted in GiB (2**30 bytes), as ``nvidia-smi`` reports it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

GIB = 2**30

BYTES_PER_PARAMETER = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "awq": 0.5, "gptq": 0.5}
BYTES_PER_KV_ELEMENT = {"auto": 2.0, "fp8": 1.0}
# CUDA context, activation peak of the profiling run and CUDA graphs, per device; measured vLLM servers of 7-70B
# models sit between 1 and 3 GiB, so 2 GiB is the planning figure (eager mode saves the graphs' share).
GPU_OVERHEAD_GIB = 2.0
GPU_OVERHEAD_EAGER_GIB = 1.5
# The CPU backend's process (Python, torch, tokenizer) before weights and cache: measured 2.1 GiB RSS for the
# local SmolLM2-135M server less its 1 GiB cache and 0.25 GiB of weights, rounded up.
CPU_OVERHEAD_GIB = 2.5
TENSOR_PARALLEL_SIZES = (1, 2, 4, 8, 16)


@dataclass(frozen=True)
class PlanInput:
    parameters_b: float
    num_layers: int
    num_kv_heads: int
    head_dim: int
    quantization: str
    max_model_len: int
    device_memory_gib: float
    device_count: int = 1
    gpu_memory_utilization: float = 0.9
    kv_cache_dtype: str = "auto"
    max_num_seqs: int = 256
    is_cpu: bool = False
    cpu_kv_cache_gib: float = 1.0
    enforce_eager: bool = False
    num_attention_heads: int | None = None
    tensor_parallel_size: int | None = None
    device_name: str = "GPU"


@dataclass
class Plan:
    inp: PlanInput
    bytes_per_parameter: float
    bytes_per_kv_element: float
    weights_gib: float
    kv_bytes_per_token: float
    kv_gib_per_sequence: float
    overhead_gib: float
    usable_gib: float
    kv_cache_gib: float
    max_sequences: int
    fits: bool
    verdict: str
    devices_needed: int | None
    warnings: list[str] = field(default_factory=list)

    @property
    def needed_gib(self) -> float:
        """Weights, runtime and one full-length sequence: the least that must fit."""
        return self.weights_gib + self.overhead_gib + self.kv_gib_per_sequence

    @property
    def tokens_in_cache(self) -> int:
        return max(0, int(self.kv_cache_gib * GIB // self.kv_bytes_per_token)) if self.kv_bytes_per_token else 0


def _kv_bytes_per_token(inp: PlanInput, kv_bytes: float) -> float:
    return 2 * inp.num_layers * inp.num_kv_heads * inp.head_dim * kv_bytes


def plan(inp: PlanInput) -> Plan:
    param_bytes = BYTES_PER_PARAMETER[inp.quantization]
    kv_bytes = BYTES_PER_KV_ELEMENT[inp.kv_cache_dtype]
    weights_gib = inp.parameters_b * 1e9 * param_bytes / GIB
    per_token = _kv_bytes_per_token(inp, kv_bytes)
    per_sequence_gib = per_token * inp.max_model_len / GIB
    warnings: list[str] = []
    if inp.is_cpu:
        overhead = CPU_OVERHEAD_GIB
        usable = inp.device_memory_gib * inp.device_count
        # the cache is allocated whole at start, so either all of it fits beside the weights or the server fails
        fits_memory = usable - weights_gib - overhead - inp.cpu_kv_cache_gib >= 0
        kv_cache_fit = inp.cpu_kv_cache_gib if fits_memory else 0.0
    else:
        per_device = GPU_OVERHEAD_EAGER_GIB if inp.enforce_eager else GPU_OVERHEAD_GIB
        overhead = per_device * inp.device_count
        usable = inp.device_memory_gib * inp.device_count * inp.gpu_memory_utilization
        kv_cache_fit = max(0.0, usable - weights_gib - overhead)
    max_sequences = int(kv_cache_fit // per_sequence_gib) if per_sequence_gib > 0 else 0
    fits = max_sequences >= 1
    where = f"{inp.device_count} × {inp.device_name}"
    if fits:
        verdict = f"Fits on {where}: up to {max_sequences} sequences of {inp.max_model_len:,} tokens at once."
    elif inp.is_cpu and not kv_cache_fit:
        verdict = f"Does not fit on {where}: weights, runtime and KV-cache space exceed its memory."
    else:
        verdict = f"Does not fit on {where}: not even one sequence of {inp.max_model_len:,} tokens fits."
    if fits and max_sequences < inp.max_num_seqs:
        warnings.append(
            f"max concurrent sequences is {inp.max_num_seqs} but only {max_sequences} full-length sequences fit in "
            "the KV cache: at full length vLLM will queue or preempt the rest (shorter requests share it better)."
        )
    tp = inp.tensor_parallel_size or inp.device_count
    if not inp.is_cpu and tp != inp.device_count:
        warnings.append(
            f"Tensor parallel size {tp} differs from the {inp.device_count} devices: vLLM uses tensor-parallel × "
            "pipeline-parallel devices; set them equal unless you use pipeline parallelism."
        )
    if inp.num_attention_heads and inp.num_attention_heads % tp:
        warnings.append(
            f"{inp.num_attention_heads} attention heads do not divide by tensor parallel size {tp}; vLLM refuses it."
        )
    return Plan(
        inp=inp,
        bytes_per_parameter=param_bytes,
        bytes_per_kv_element=kv_bytes,
        weights_gib=weights_gib,
        kv_bytes_per_token=per_token,
        kv_gib_per_sequence=per_sequence_gib,
        overhead_gib=overhead,
        usable_gib=usable,
        kv_cache_gib=kv_cache_fit,
        max_sequences=max_sequences,
        fits=fits,
        verdict=verdict,
        devices_needed=None if inp.is_cpu else devices_needed(inp),
        warnings=warnings,
    )


def devices_needed(inp: PlanInput) -> int | None:
    """The fewest devices, in tensor-parallel sizes (1, 2, 4, 8, 16), on which one full-length sequence fits."""
    for count in TENSOR_PARALLEL_SIZES:
        trial = PlanInput(**{**inp.__dict__, "device_count": count, "tensor_parallel_size": count})
        per_device = GPU_OVERHEAD_EAGER_GIB if trial.enforce_eager else GPU_OVERHEAD_GIB
        usable = trial.device_memory_gib * count * trial.gpu_memory_utilization
        weights = trial.parameters_b * 1e9 * BYTES_PER_PARAMETER[trial.quantization] / GIB
        kv = _kv_bytes_per_token(trial, BYTES_PER_KV_ELEMENT[trial.kv_cache_dtype]) * trial.max_model_len / GIB
        if usable - weights - per_device * count >= kv:
            return count
    return None


def plan_for_deployment(deployment: object) -> Plan | None:
    """The plan for a deployment's own settings, or None while its shape or hardware is not filled in."""
    d = deployment
    hardware = getattr(d, "hardware", None)
    if hardware is None or not getattr(d, "has_shape", False):
        return None
    return plan(
        PlanInput(
            parameters_b=float(d.parameters_b),  # type: ignore[attr-defined]
            num_layers=d.num_layers,  # type: ignore[attr-defined]
            num_kv_heads=d.num_kv_heads,  # type: ignore[attr-defined]
            head_dim=d.head_dim,  # type: ignore[attr-defined]
            num_attention_heads=d.num_attention_heads,  # type: ignore[attr-defined]
            quantization=d.quantization,  # type: ignore[attr-defined]
            kv_cache_dtype=d.kv_cache_dtype,  # type: ignore[attr-defined]
            max_model_len=d.context_window,  # type: ignore[attr-defined]
            max_num_seqs=d.max_num_seqs,  # type: ignore[attr-defined]
            device_memory_gib=float(hardware.memory_gib),
            device_count=d.hardware_count,  # type: ignore[attr-defined]
            device_name=hardware.name,
            gpu_memory_utilization=float(d.gpu_memory_utilization),  # type: ignore[attr-defined]
            is_cpu=hardware.is_cpu,
            cpu_kv_cache_gib=float(d.cpu_kv_cache_gib),  # type: ignore[attr-defined]
            enforce_eager=d.enforce_eager,  # type: ignore[attr-defined]
            tensor_parallel_size=d.tensor_parallel_size,  # type: ignore[attr-defined]
        )
    )
