from __future__ import annotations

import pytest
from django.test import Client as HttpClient

from accounts.models import Client
from tests.portal.images import png_upload

pytestmark = pytest.mark.django_db


def test_the_home_card_shows_phase_health_and_next_decision(member_http, engagement):
    body = member_http.get("/portal/").content.decode()
    assert f'data-engagement="{engagement.uuid}"' in body
    assert "Discover" in body and "On track" in body
    assert "Whether to move on to Prototype" in body


def test_the_summary_downloads_as_markdown_and_html(member_http, engagement):
    md = member_http.get(f"/portal/engagements/{engagement.uuid}/summary.md")
    assert md["Content-Type"].startswith("text/markdown")
    assert "attachment" in md["Content-Disposition"] and md["Content-Disposition"].endswith('.md"')
    assert md.content.decode().startswith(f"# {engagement.name}")
    html = member_http.get(f"/portal/engagements/{engagement.uuid}/summary.html")
    assert html["Content-Type"].startswith("text/html") and "attachment" in html["Content-Disposition"]
    assert "<!doctype html>" in html.content.decode()
    assert member_http.get(f"/portal/engagements/{engagement.uuid}/summary.pdf").status_code == 404


def test_the_outsider_gets_no_summary(outsider_http, engagement):
    for suffix in ("summary/", "summary.md", "summary.html"):
        assert outsider_http.get(f"/portal/engagements/{engagement.uuid}/{suffix}").status_code == 404


@pytest.fixture
def admin_http(client_admin) -> HttpClient:
    http = HttpClient()
    http.force_login(client_admin)
    return http


def test_a_client_admin_brands_the_portal(admin_http, member_http, client_org, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    url = f"/portal/clients/{client_org.uuid}/branding/"
    response = admin_http.post(url, {"brand_name": "Acme Claims", "accent_color": "#AA3355", "logo": png_upload()})
    assert response.status_code == 302
    client_org.refresh_from_db()
    assert client_org.accent_color == "#aa3355" and client_org.logo.name.endswith(".png")
    body = member_http.get("/portal/").content.decode()
    assert "--fde-accent: #aa3355;" in body and "Acme Claims" in body
    logo = member_http.get(f"/portal/clients/{client_org.uuid}/logo/")
    assert logo["Content-Type"] == "image/png" and logo["X-Content-Type-Options"] == "nosniff"
    assert b"".join(logo.streaming_content).startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"accent_color": "red"}, "six hex digits"),
        ({"accent_color": "#12345g"}, "six hex digits"),
        ({"accent_color": "#123456; } body { x"}, "six hex digits"),
        ({"logo": "svg"}, "not an image"),
        ({"logo": "big"}, "at most 1024 KB"),
    ],
)
def test_bad_branding_is_refused_with_a_reason(admin_http, client_org, settings, tmp_path, data, message):
    settings.MEDIA_ROOT = tmp_path
    from django.core.files.uploadedfile import SimpleUploadedFile

    if data.get("logo") == "svg":
        data["logo"] = SimpleUploadedFile("x.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>1</script></svg>')
    elif data.get("logo") == "big":
        data["logo"] = SimpleUploadedFile("x.png", b"\x89PNG" + b"0" * (1024 * 1024 + 10))
    response = admin_http.post(f"/portal/clients/{client_org.uuid}/branding/", data)
    assert response.status_code == 200
    assert message in response.content.decode()
    client_org.refresh_from_db()
    assert client_org.accent_color == "" and not client_org.logo


def test_a_client_member_cannot_change_branding(member_http, client_org):
    response = member_http.post(f"/portal/clients/{client_org.uuid}/branding/", {"accent_color": "#000000"})
    assert response.status_code == 403
    assert Client.objects.get(pk=client_org.pk).accent_color == ""


def test_the_outsider_gets_no_logo_and_no_branding_page(outsider_http, client_org, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    from accounts.services import client_branding_update

    client_branding_update(client=client_org, brand_name="", accent_color="", logo=png_upload())
    assert outsider_http.get(f"/portal/clients/{client_org.uuid}/logo/").status_code == 404
    assert outsider_http.get(f"/portal/clients/{client_org.uuid}/branding/").status_code == 404
