"""Deployment models, split by concern; every module's models are importable from ``deployments.models``."""

from deployments.models.applications import ClientApplication, GatewayKey, Priority
from deployments.models.endpoints import Deployment, EncryptedApiKey, ModelCall
from deployments.models.prefixes import PromptPrefix

__all__ = [
    "ClientApplication",
    "Deployment",
    "EncryptedApiKey",
    "GatewayKey",
    "ModelCall",
    "Priority",
    "PromptPrefix",
]
