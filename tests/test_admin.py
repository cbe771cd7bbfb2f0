from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin

PROJECT_APPS = ["accounts", "engagements", "rag", "deployments", "portal"]
# Not in the admin, each with its reason.
NOT_IN_ADMIN = {
    "rag.KeywordCorpus": "keyword statistics kept by database triggers; editing them would corrupt the ranking",
    "rag.KeywordTerm": "the same statistics per term (and the admin cannot show composite primary keys)",
    "deployments.ModelCallHour": "hourly sums of the call log kept by database triggers; editing them would skew "
    "the dashboards",
    "deployments.ModelCallHourBucket": "the same rollups' latency histograms, kept by the same triggers",
}


def test_every_model_of_the_product_is_in_the_django_admin():
    missing = [
        model._meta.label
        for app in PROJECT_APPS
        for model in apps.get_app_config(app).get_models()
        if not admin.site.is_registered(model) and model._meta.label not in NOT_IN_ADMIN
    ]
    assert missing == []


@pytest.mark.django_db
def test_admin_changelists_render_for_a_superuser(client):
    from accounts.services import user_create_provider

    lead = user_create_provider(email="root@provider.test", password="pw-123456")
    lead.is_superuser = True
    lead.save()
    client.force_login(lead)
    for model, _ in admin.site._registry.items():
        if model._meta.app_label not in PROJECT_APPS:
            continue
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        assert client.get(url).status_code == 200, url
