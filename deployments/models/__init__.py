"""Deployment models, split by concern; every module's models are importable from ``deployments.models``."""

from deployments.models.endpoints import Deployment, EncryptedApiKey, ModelCall

__all__ = ["Deployment", "EncryptedApiKey", "ModelCall"]
