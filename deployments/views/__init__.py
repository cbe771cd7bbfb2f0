"""Deployment views, one module per page group; the URLconf imports them from here."""

from deployments.views.applications import application_detail, application_list, key_revoke
from deployments.views.endpoints import deployment_create, deployment_detail, deployment_edit, deployment_list
from deployments.views.prefix import deployment_prefix_cache

__all__ = [
    "application_detail",
    "application_list",
    "deployment_create",
    "deployment_detail",
    "deployment_edit",
    "deployment_list",
    "deployment_prefix_cache",
    "key_revoke",
]
