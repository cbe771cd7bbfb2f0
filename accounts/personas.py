"""The demo logins, kept free of Django imports so `make run` can print them without loading the app."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Persona:
    email: str
    password: str
    description: str


FDE_LEAD = Persona("lead@fde-toolkit.test", "demo-lead-pass", "FDE lead (provider staff, Django admin)")
CLIENT_ADMIN = Persona("admin@acme-logistics.test", "demo-client-pass", "client admin of Acme Logistics")
OTHER_MEMBER = Persona("member@globex-health.test", "demo-client-pass", "client member of Globex Health")
PERSONAS = [FDE_LEAD, CLIENT_ADMIN, OTHER_MEMBER]
