from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts import seed as accounts_seed
from accounts.personas import PERSONAS

# Each app seeds its own demo data, in dependency order; each step is idempotent.
SEED_MODULES = ["engagements.seed", "deployments.seed", "rag.seed", "rag.prototypes.seed", "engagements.review.seed"]


class Command(BaseCommand):
    help = "Create the demo personas, clients, engagements and the local model deployment (safe to run again)."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        data: dict[str, Any] = accounts_seed.seed()
        for name in SEED_MODULES:
            if importlib.util.find_spec(name) is None:
                continue
            module = importlib.import_module(name)
            data.update(module.seed(data) or {})
        self.stdout.write(self.style.SUCCESS("Demo data ready. Log in as:"))
        for persona in PERSONAS:
            self.stdout.write(f"  {persona.email:32} {persona.password:18} {persona.description}")
