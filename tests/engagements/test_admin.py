from __future__ import annotations

import pytest
from django.test import Client as HttpClient
from django.urls import reverse

from accounts.models import User
from engagements.models import Engagement


@pytest.mark.parametrize(
    "model", ["engagement", "phasetransition", "activity", "stakeholder", "kpimeasurement", "timeentry"]
)
def test_admin_lists_engagement_records(engagement: Engagement, model: str) -> None:
    admin = User.objects.create_superuser("root@provider.test", "x-pass-1234")
    http = HttpClient()
    http.force_login(admin)
    assert http.get(reverse(f"admin:engagements_{model}_changelist")).status_code == 200
    assert http.get(reverse("admin:engagements_engagement_change", args=[engagement.pk])).status_code == 200
