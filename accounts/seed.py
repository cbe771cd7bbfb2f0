"""Demo personas: one of each kind of user, so every permission can be tried by hand."""

from __future__ import annotations

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw

from accounts.models import Client, Membership, User
from accounts.personas import CLIENT_ADMIN, FDE_LEAD, OTHER_MEMBER
from accounts.services import (
    client_branding_update,
    client_create,
    user_create_client_member,
    user_create_provider,
)

DEMO_CLIENT = "Acme Logistics"
OTHER_CLIENT = "Globex Health"


def _demo_logo() -> SimpleUploadedFile:
    """A plain wordmark drawn at seed time, so the demo portal shows a logo without shipping an image file."""
    image = Image.new("RGBA", (240, 80), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((4, 8, 68, 72), radius=14, fill="#0b7a75")
    draw.polygon([(20, 60), (36, 20), (52, 60)], fill="white")
    draw.text((82, 30), "ACME LOGISTICS", fill="#14213d", font_size=16)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return SimpleUploadedFile("acme.png", out.getvalue(), content_type="image/png")


def _client(name: str, industry: str) -> Client:
    return Client.objects.filter(name=name).first() or client_create(name=name, industry=industry)


def seed() -> dict[str, object]:
    acme = _client(DEMO_CLIENT, "Logistics")
    globex = _client(OTHER_CLIENT, "Healthcare")
    lead = User.objects.filter(email=FDE_LEAD.email).first() or user_create_provider(
        email=FDE_LEAD.email, password=FDE_LEAD.password, first_name="Dana", last_name="Lead"
    )
    if not lead.is_superuser:
        lead.is_superuser = True
        lead.save(update_fields=["is_superuser"])
    admin = User.objects.filter(email=CLIENT_ADMIN.email).first() or user_create_client_member(
        client=acme,
        email=CLIENT_ADMIN.email,
        password=CLIENT_ADMIN.password,
        role=Membership.Role.ADMIN,
        first_name="Avery",
        last_name="Admin",
    )
    member = User.objects.filter(email=OTHER_MEMBER.email).first() or user_create_client_member(
        client=globex,
        email=OTHER_MEMBER.email,
        password=OTHER_MEMBER.password,
        first_name="Morgan",
        last_name="Member",
    )
    if not acme.accent_color:
        client_branding_update(
            client=acme, brand_name="Acme Logistics · Claims", accent_color="#0b7a75", logo=_demo_logo()
        )
    return {
        "demo_client": acme,
        "other_client": globex,
        "lead": lead,
        "client_admin": admin,
        "other_member": member,
    }
