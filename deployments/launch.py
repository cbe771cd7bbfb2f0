"""Launch files generated from a deployment's settings: the ``vllm serve`` command line, a docker-compose service and a
Kubernetes Deployment + Service, all from the same list of engine flags.

Flags are emitted only where the setting differs from vLLM's own default (prefix caching and chunked prefill are on
by default in vLLM's V1 engine), so the command reads like one a person would write. The API key is never written
into a file: compose reads it from ``VLLM_API_KEY`` in the environment and Kubernetes from a Secret.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from django.conf import settings

from deployments.models import Deployment

DTYPES = {"bf16": "bfloat16", "fp16": "float16"}
QUANTIZATION_FLAGS = {"fp8": "fp8", "awq": "awq", "gptq": "gptq"}  # INT8 checkpoints carry their own config
CONTAINER_PORT = 8000
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
# What scripts/vllm-serve.sh exports for the CPU backend, beside VLLM_CPU_KVCACHE_SPACE.
CPU_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "VLLM_CPU_NUM_OF_RESERVED_CPU": "0",
    "VLLM_USE_AOT_COMPILE": "0",
    "VLLM_NO_USAGE_STATS": "1",
    "DO_NOT_TRACK": "1",
}


def slug(deployment: Deployment) -> str:
    """A DNS-1123 name for containers and Kubernetes objects."""
    name = re.sub(r"[^a-z0-9]+", "-", deployment.name.lower()).strip("-")[:50].strip("-")
    return name or f"deployment-{deployment.pk}"


def is_cpu(deployment: Deployment) -> bool:
    return bool(deployment.hardware and deployment.hardware.is_cpu)


def model_reference(deployment: Deployment) -> str:
    return deployment.model_source or deployment.served_model_name


def engine_flags(deployment: Deployment) -> list[str]:
    """The engine flags (everything after the model) that the deployment's settings call for."""
    d = deployment
    flags = ["--served-model-name", d.served_model_name]
    if d.quantization in DTYPES:
        flags += ["--dtype", DTYPES[d.quantization]]
    if d.quantization in QUANTIZATION_FLAGS:
        flags += ["--quantization", QUANTIZATION_FLAGS[d.quantization]]
    flags += ["--max-model-len", str(d.context_window), "--max-num-seqs", str(d.max_num_seqs)]
    if not is_cpu(d):
        if d.tensor_parallel_size > 1:
            flags += ["--tensor-parallel-size", str(d.tensor_parallel_size)]
        if float(d.gpu_memory_utilization) != 0.9:
            flags += ["--gpu-memory-utilization", f"{d.gpu_memory_utilization:.2f}"]
    if d.kv_cache_dtype == "fp8":
        flags += ["--kv-cache-dtype", "fp8"]
    if not d.enable_prefix_caching:
        flags.append("--no-enable-prefix-caching")
    if not d.enable_chunked_prefill:
        flags.append("--no-enable-chunked-prefill")
    if d.priority_scheduling:
        flags += ["--scheduling-policy", "priority"]
    if d.speculative_method:
        spec: dict[str, Any] = {"method": d.speculative_method, "num_speculative_tokens": d.num_speculative_tokens}
        if d.speculative_model:
            spec["model"] = d.speculative_model
        if d.speculative_method == "ngram":
            spec["prompt_lookup_max"] = 4
        flags += ["--speculative-config", json.dumps(spec, separators=(",", ":"))]
    if d.enforce_eager:
        flags.append("--enforce-eager")
    return flags


def _port(deployment: Deployment) -> int:
    parts = urlsplit(deployment.base_url)
    return parts.port or (443 if parts.scheme == "https" else CONTAINER_PORT)


def _bind_host(deployment: Deployment) -> str:
    return "127.0.0.1" if urlsplit(deployment.base_url).hostname in LOCAL_HOSTS else "0.0.0.0"  # noqa: S104


def cpu_env(deployment: Deployment) -> dict[str, str]:
    return {**CPU_ENV, "VLLM_CPU_KVCACHE_SPACE": f"{deployment.cpu_kv_cache_gib.normalize():f}"}


def serve_command(deployment: Deployment) -> str:
    """The ``vllm serve`` command line, with the CPU backend's environment in front when it runs on a CPU."""
    argv = ["vllm", "serve", model_reference(deployment), *engine_flags(deployment)]
    argv += ["--host", _bind_host(deployment), "--port", str(_port(deployment))]
    if deployment.has_api_key:
        argv += ["--api-key", "$VLLM_API_KEY"]
    command = shlex.join(argv).replace("'$VLLM_API_KEY'", '"$VLLM_API_KEY"')
    if is_cpu(deployment):
        command = " ".join(f"{k}={v}" for k, v in cpu_env(deployment).items()) + " " + command
    return command


def _container_args(deployment: Deployment) -> list[str]:
    return ["--model", model_reference(deployment), *engine_flags(deployment), "--port", str(CONTAINER_PORT)]


def _image(deployment: Deployment) -> str:
    return settings.VLLM_CPU_IMAGE if is_cpu(deployment) else settings.VLLM_IMAGE


def _gpus(deployment: Deployment) -> int:
    return 0 if is_cpu(deployment) else deployment.hardware_count


def compose_service(deployment: Deployment) -> dict[str, Any]:
    env: dict[str, str] = {"HF_TOKEN": "${HF_TOKEN:-}"}
    if deployment.has_api_key:
        env["VLLM_API_KEY"] = "${VLLM_API_KEY:?set the API key clients will send}"
    if is_cpu(deployment):
        env.update({k: v for k, v in cpu_env(deployment).items() if not k.endswith("OFFLINE")})
    service: dict[str, Any] = {
        "image": _image(deployment),
        "command": _container_args(deployment),
        "ports": [f"{_port(deployment)}:{CONTAINER_PORT}"],
        "environment": env,
        "volumes": ["${HOME}/.cache/huggingface:/root/.cache/huggingface"],
        "ipc": "host",
        "restart": "unless-stopped",
        "healthcheck": {
            "test": ["CMD", "curl", "-fsS", f"http://localhost:{CONTAINER_PORT}/health"],
            "interval": "30s",
            "timeout": "5s",
            "retries": 3,
            "start_period": "600s",
        },
    }
    if _gpus(deployment):
        service["deploy"] = {
            "resources": {
                "reservations": {"devices": [{"driver": "nvidia", "count": _gpus(deployment), "capabilities": ["gpu"]}]}
            }
        }
    return service


def compose_yaml(deployment: Deployment) -> str:
    document = {"services": {slug(deployment): compose_service(deployment)}}
    return _header(deployment, "docker compose up -d") + yaml.safe_dump(document, sort_keys=False, width=120)


def kubernetes_objects(deployment: Deployment) -> list[dict[str, Any]]:
    name = slug(deployment)
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/component": "vllm"}
    env: list[dict[str, Any]] = [
        {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "hf-token", "key": "token", "optional": True}}}
    ]
    if deployment.has_api_key:
        env.append(
            {"name": "VLLM_API_KEY", "valueFrom": {"secretKeyRef": {"name": f"{name}-api-key", "key": "api-key"}}}
        )
    if is_cpu(deployment):
        env += [{"name": k, "value": v} for k, v in cpu_env(deployment).items() if not k.endswith("OFFLINE")]
    resources: dict[str, Any] = {}
    if _gpus(deployment):
        resources = {"limits": {"nvidia.com/gpu": _gpus(deployment)}}
    probe = {"httpGet": {"path": "/health", "port": CONTAINER_PORT}, "periodSeconds": 10}
    container = {
        "name": "vllm",
        "image": _image(deployment),
        "args": _container_args(deployment),
        "ports": [{"name": "http", "containerPort": CONTAINER_PORT}],
        "env": env,
        "resources": resources,
        "readinessProbe": {**probe, "initialDelaySeconds": 30},
        "livenessProbe": {**probe, "initialDelaySeconds": 600, "failureThreshold": 3},
        "volumeMounts": [{"name": "shm", "mountPath": "/dev/shm"}],  # noqa: S108 - a path inside the container
    }
    workload = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [container],
                    # vLLM's workers share tensors through /dev/shm; the default 64 MiB is too small.
                    "volumes": [{"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "8Gi"}}],
                },
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "selector": labels,
            "ports": [{"name": "http", "port": _port(deployment), "targetPort": CONTAINER_PORT}],
        },
    }
    return [workload, service]


def kubernetes_yaml(deployment: Deployment) -> str:
    body = yaml.safe_dump_all(kubernetes_objects(deployment), sort_keys=False, width=120)
    return _header(deployment, "kubectl apply -f <this file>") + body


def _header(deployment: Deployment, how: str) -> str:
    return (
        f"# {deployment.name}: {model_reference(deployment)} as {deployment.served_model_name}\n"
        f"# Generated by FDE Toolkit from the deployment's settings. Apply with: {how}\n"
    )


def local_launch(
    deployment: Deployment, *, base_dir: Path, python: Path | None = None
) -> tuple[list[str], dict[str, str]]:
    """The argv and extra environment that start this deployment's engine on this machine.

    The ``vllm`` command of the CPU build is not installed under that name, so the OpenAI server module is run with
    the model server's own Python (``var/vllm-venv``), as scripts/vllm-serve.sh does.
    """
    python = python or base_dir / "var" / "vllm-venv" / "bin" / "python"
    argv = [str(python), "-m", "vllm.entrypoints.openai.api_server", "--model", model_reference(deployment)]
    argv += [*engine_flags(deployment), "--host", _bind_host(deployment), "--port", str(_port(deployment))]
    env = cpu_env(deployment) if is_cpu(deployment) else {}
    if deployment.has_api_key:
        env["VLLM_API_KEY"] = deployment.api_key
    return argv, env
