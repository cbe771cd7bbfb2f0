"""Demo personas: one of each kind of user, so every permission can be tried by hand."""

from __future__ import annotations

from accounts.models import Client, Membership, User
from accounts.personas import CLIENT_ADMIN, FDE_LEAD, OTHER_MEMBER
from accounts.services import client_create, user_create_client_member, user_create_provider

DEMO_CLIENT = "Acme Logistics"
OTHER_CLIENT = "Globex Health"


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
    return {
        "demo_client": acme,
        "other_client": globex,
        "lead": lead,
        "client_admin": admin,
        "other_member": member,
    }
