from __future__ import annotations

from django.db import transaction

from deployments.models import Deployment


@transaction.atomic
def deployment_save(
    *,
    name: str,
    base_url: str,
    served_model_name: str,
    engine: str = Deployment.Engine.VLLM,
    api_key: str | None = None,
    engagement: object | None = None,
    context_window: int | None = None,
) -> Deployment:
    """Create the deployment called ``name`` or update it; ``api_key=None`` keeps the stored key."""
    deployment = Deployment.objects.filter(name=name).first() or Deployment(name=name)
    deployment.base_url = base_url
    deployment.served_model_name = served_model_name
    deployment.engine = engine
    deployment.engagement = engagement  # type: ignore[assignment]
    if context_window is not None:
        deployment.context_window = context_window
    if api_key is not None:
        deployment.api_key = api_key
    deployment.full_clean()
    deployment.save()
    return deployment
