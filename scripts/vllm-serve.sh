#!/usr/bin/env bash
# Serve the bundled SmolLM2-135M-Instruct with vLLM on the CPU: `scripts/vllm-serve.sh [port]`.
# Settings measured on a 2-core machine: a 1 GiB KV cache, eager mode (33 s start), 8 sequences at once.
set -euo pipefail
cd "$(dirname "$0")/.."
port="${1:-${VLLM_PORT:-8001}}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
export VLLM_CPU_KVCACHE_SPACE="${VLLM_CPU_KVCACHE_SPACE:-1}" VLLM_CPU_NUM_OF_RESERVED_CPU=0 VLLM_USE_AOT_COMPILE=0
export VLLM_NO_USAGE_STATS=1 DO_NOT_TRACK=1
exec var/vllm-venv/bin/python -m vllm.entrypoints.openai.api_server \
  --model var/models/smollm2-135m \
  --served-model-name "${LOCAL_VLLM_MODEL:-smollm2-135m-instruct}" \
  --host 127.0.0.1 --port "$port" \
  --dtype bfloat16 --max-model-len 2048 --max-num-seqs 8 --enforce-eager
