from __future__ import annotations

from typing import Any

from django.conf import settings

from deployments.models import Deployment
from deployments.services import deployment_save

LOCAL_VLLM_NAME = "Local vLLM (SmolLM2-135M)"


def seed(people: dict[str, Any]) -> dict[str, Any]:
    local = deployment_save(
        name=LOCAL_VLLM_NAME,
        base_url=settings.LOCAL_VLLM_URL,
        served_model_name=settings.LOCAL_VLLM_MODEL,
        context_window=2048,
        engine=Deployment.Engine.VLLM,
    )
    return {"local_vllm": local}
