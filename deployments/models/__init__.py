"""Deployment models, split by concern; every module's models are importable from ``deployments.models``."""

from deployments.models.alerts import AlertWebhook, SlaAlert, SlaState
from deployments.models.endpoints import Deployment, EncryptedApiKey, ModelCall
from deployments.models.fleet import Environment, HardwareType, KvCacheDtype, Quantization, SpeculativeMethod
from deployments.models.metrics import ServerSample

__all__ = [
    "AlertWebhook",
    "Deployment",
    "EncryptedApiKey",
    "Environment",
    "HardwareType",
    "KvCacheDtype",
    "ModelCall",
    "Quantization",
    "ServerSample",
    "SlaAlert",
    "SlaState",
    "SpeculativeMethod",
]
