from __future__ import annotations

import itertools
import json
import re
import shlex
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command

from deployments import launch
from deployments.models import HardwareType
from deployments.seed import LOCAL_VLLM_NAME
from deployments.seed import seed as seed_deployments
from deployments.services import deployment_save

pytestmark = pytest.mark.django_db
BASE_DIR = Path(__file__).resolve().parents[2]


def _gpu_deployment(**overrides):
    values = {
        "name": "Claims 70B",
        "base_url": "http://gpu-pool:8000/v1",
        "served_model_name": "llama-70b",
        "model_source": "meta-llama/Llama-3.1-70B-Instruct",
        "hardware": HardwareType.objects.get(name="A100 80 GB"),
        "hardware_count": 2,
        "tensor_parallel_size": 2,
        "quantization": "fp16",
        "context_window": 8192,
        "max_num_seqs": 64,
        "gpu_memory_utilization": "0.92",
        "priority_scheduling": True,
        "speculative_method": "ngram",
        "num_speculative_tokens": 4,
        "api_key": "sk-never-in-a-file",
        **overrides,
    }
    return deployment_save(**values)


def test_serve_command_carries_every_setting_and_no_secret():
    command = launch.serve_command(_gpu_deployment())
    argv = shlex.split(command)
    assert argv[:3] == ["vllm", "serve", "meta-llama/Llama-3.1-70B-Instruct"]
    pairs = dict(itertools.pairwise(argv))
    assert pairs["--served-model-name"] == "llama-70b"
    assert pairs["--tensor-parallel-size"] == "2"
    assert pairs["--dtype"] == "float16"
    assert pairs["--max-model-len"] == "8192" and pairs["--max-num-seqs"] == "64"
    assert pairs["--gpu-memory-utilization"] == "0.92"
    assert pairs["--scheduling-policy"] == "priority"
    assert json.loads(pairs["--speculative-config"]) == {
        "method": "ngram", "num_speculative_tokens": 4, "prompt_lookup_max": 4
    }  # fmt: skip
    assert pairs["--port"] == "8000" and pairs["--host"] == "0.0.0.0"  # noqa: S104
    assert "sk-never-in-a-file" not in command and '"$VLLM_API_KEY"' in command


def test_quantized_and_cache_settings_become_their_flags():
    flags = launch.engine_flags(
        _gpu_deployment(quantization="awq", kv_cache_dtype="fp8", enable_prefix_caching=False, enforce_eager=True)
    )
    assert flags[flags.index("--quantization") + 1] == "awq" and "--dtype" not in flags
    assert flags[flags.index("--kv-cache-dtype") + 1] == "fp8"
    assert "--no-enable-prefix-caching" in flags and "--enforce-eager" in flags


def test_compose_file_loads_back_with_the_same_flags_and_gpus():
    deployment = _gpu_deployment()
    document = yaml.safe_load(launch.compose_yaml(deployment))
    service = document["services"]["claims-70b"]
    assert service["image"].startswith("vllm/vllm-openai")
    assert service["command"] == [
        "--model",
        deployment.model_source,
        *launch.engine_flags(deployment),
        "--port",
        "8000",
    ]
    assert service["deploy"]["resources"]["reservations"]["devices"][0]["count"] == 2
    assert service["ports"] == ["8000:8000"] and service["ipc"] == "host"
    assert "sk-never-in-a-file" not in launch.compose_yaml(deployment)


def test_kubernetes_file_is_a_deployment_and_a_service_that_select_each_other():
    deployment = _gpu_deployment()
    workload, service = yaml.safe_load_all(launch.kubernetes_yaml(deployment))
    assert (workload["kind"], service["kind"]) == ("Deployment", "Service")
    container = workload["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 2
    assert container["args"][:2] == ["--model", "meta-llama/Llama-3.1-70B-Instruct"]
    key_env = next(e for e in container["env"] if e["name"] == "VLLM_API_KEY")
    assert key_env["valueFrom"]["secretKeyRef"]["name"] == "claims-70b-api-key"
    labels = workload["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"] == labels == workload["spec"]["selector"]["matchLabels"]
    assert service["spec"]["ports"][0]["targetPort"] == container["ports"][0]["containerPort"]
    assert "sk-never-in-a-file" not in launch.kubernetes_yaml(deployment)


def _script_flags_and_env() -> tuple[dict[str, str], set[str], dict[str, str]]:
    script = (BASE_DIR / "scripts" / "vllm-serve.sh").read_text()
    default = re.compile(r"\$\{\w+:-([^}]*)\}")
    env = {}
    for line in re.findall(r"^export (.*)$", script, flags=re.M):
        for item in shlex.split(default.sub(r"\1", line)):
            key, _, value = item.partition("=")
            env[key] = value
    command = script[script.index("api_server") + len("api_server") :].replace("\\\n", " ")
    argv = shlex.split(default.sub(r"\1", command.replace('"$port"', "8001")))
    pairs, switches = {}, set()
    i = 0
    while i < len(argv):
        if i + 1 < len(argv) and not argv[i + 1].startswith("--"):
            pairs[argv[i]] = argv[i + 1]
            i += 2
        else:
            switches.add(argv[i])
            i += 1
    return pairs, switches, env


def test_serve_deployment_starts_the_seeded_local_model_as_the_launch_script_does(settings):
    settings.LOCAL_VLLM_URL = "http://127.0.0.1:8001/v1"
    seed_deployments({})
    out = StringIO()
    call_command("serve_deployment", LOCAL_VLLM_NAME, "--print", stdout=out)
    words = shlex.split(out.getvalue())
    env = dict(w.split("=", 1) for w in words if "=" in w and not w.startswith("-"))
    argv = [w for w in words if w not in {f"{k}={v}" for k, v in env.items()}]
    assert argv[0].endswith("var/vllm-venv/bin/python") and argv[1:3] == ["-m", "vllm.entrypoints.openai.api_server"]
    pairs, switches, script_env = _script_flags_and_env()
    ours, our_switches, i = {}, set(), 3
    while i < len(argv):
        if i + 1 < len(argv) and not argv[i + 1].startswith("--"):
            ours[argv[i]], i = argv[i + 1], i + 2
        else:
            our_switches.add(argv[i])
            i += 1
    assert ours == pairs
    assert our_switches == switches
    assert env == script_env


def test_serve_deployment_names_what_exists_when_the_name_is_wrong():
    deployment_save(name="Something", base_url="http://x:8000/v1", served_model_name="m")
    with pytest.raises(CommandError, match=r"No deployment called 'Nope'\. Registered: Something"):
        call_command("serve_deployment", "Nope", "--print")
