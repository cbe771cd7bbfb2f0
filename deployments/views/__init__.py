"""Deployment views, one module per page group; the URLconf imports them from here."""

from deployments.views.applications import application_detail, application_list, key_revoke
from deployments.views.capacity import api_price_edit, api_price_list, capacity_plan
from deployments.views.dashboard import deployment_detail
from deployments.views.endpoints import (
    alert_webhook_save,
    deployment_check_now,
    deployment_create_view,
    deployment_edit,
    deployment_shape_from_config,
)
from deployments.views.fleet import deployment_list, hardware_edit, hardware_list
from deployments.views.loadtests import (
    loadtest_compare,
    loadtest_detail,
    loadtest_export,
    loadtest_import_view,
    loadtest_list,
    loadtest_live,
)
from deployments.views.planner import deployment_launch_file, deployment_plan, planner
from deployments.views.prefix import deployment_prefix_cache

__all__ = [
    "alert_webhook_save",
    "api_price_edit",
    "api_price_list",
    "application_detail",
    "application_list",
    "capacity_plan",
    "deployment_check_now",
    "deployment_create_view",
    "deployment_detail",
    "deployment_edit",
    "deployment_launch_file",
    "deployment_list",
    "deployment_plan",
    "deployment_prefix_cache",
    "deployment_shape_from_config",
    "hardware_edit",
    "hardware_list",
    "key_revoke",
    "loadtest_compare",
    "loadtest_detail",
    "loadtest_export",
    "loadtest_import_view",
    "loadtest_list",
    "loadtest_live",
    "planner",
]
