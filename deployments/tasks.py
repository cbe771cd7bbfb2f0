from __future__ import annotations

from celery import shared_task

from deployments.demo import send_demo_traffic


@shared_task(name="deployments.demo_traffic", ignore_result=True, max_retries=0, soft_time_limit=60, time_limit=90)
def demo_traffic() -> int:
    """One round of demo calls through the gateway (scheduled by beat when DEMO_TRAFFIC is on)."""
    return send_demo_traffic()
