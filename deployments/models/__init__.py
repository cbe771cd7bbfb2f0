"""Deployment models, split by concern; every module's models are importable from ``deployments.models``."""

from deployments.models.alerts import AlertWebhook, SlaAlert, SlaState
from deployments.models.applications import ClientApplication, GatewayKey, Priority
from deployments.models.endpoints import Deployment, EncryptedApiKey, ModelCall
from deployments.models.fleet import Environment, HardwareType, KvCacheDtype, Quantization, SpeculativeMethod
from deployments.models.loadtest import ApiPrice, CapacityPlan, LoadTest, LoadTestRequest
from deployments.models.metrics import ServerSample
from deployments.models.prefixes import PromptPrefix
from deployments.models.rollups import ModelCallHour, ModelCallHourBucket

__all__ = [
    "AlertWebhook",
    "ApiPrice",
    "CapacityPlan",
    "ClientApplication",
    "Deployment",
    "EncryptedApiKey",
    "Environment",
    "GatewayKey",
    "HardwareType",
    "KvCacheDtype",
    "LoadTest",
    "LoadTestRequest",
    "ModelCall",
    "ModelCallHour",
    "ModelCallHourBucket",
    "Priority",
    "PromptPrefix",
    "Quantization",
    "ServerSample",
    "SlaAlert",
    "SlaState",
    "SpeculativeMethod",
]
