"""Deployment views, one module per page group; the URLconf imports them from here."""

from deployments.views.endpoints import deployment_create, deployment_detail, deployment_edit, deployment_list

__all__ = ["deployment_create", "deployment_detail", "deployment_edit", "deployment_list"]
