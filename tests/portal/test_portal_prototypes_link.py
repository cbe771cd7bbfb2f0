from __future__ import annotations

import pytest

from deployments.services import deployment_save
from rag.services.knowledge_base import knowledge_base_create
from tests.rag.prototype_builders import make_prototype

pytestmark = pytest.mark.django_db


def test_portal_engagement_page_offers_its_prototypes_only(
    member_http, outsider_http, engagement, fde, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    kb = knowledge_base_create(engagement=engagement, name="Policies", actor=fde)
    deployment = deployment_save(name="Model", base_url="http://127.0.0.1:9/v1", served_model_name="m")
    prototype = make_prototype(kb, deployment, name="Claims bot")
    html = member_http.get(f"/portal/engagements/{engagement.uuid}/").content.decode()
    assert "Try the prototype" in html
    assert f"/portal/prototypes/{prototype.uuid}/" in html
    assert outsider_http.get(f"/portal/prototypes/{prototype.uuid}/").status_code == 404
