from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.services import access_unlock


class Command(BaseCommand):
    help = "Lift the lockout of an account (after failed logins) or of an address (failed logins or bad API tokens)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", default="", help="the account's e-mail address")
        parser.add_argument("--address", default="", help="the IP address that is locked out")

    def handle(self, *args: Any, email: str, address: str, **options: Any) -> None:
        if not email and not address:
            raise CommandError("Give --email, --address or both (the lockout page and the server log name them).")
        cleared = access_unlock(email=email, address=address)
        self.stdout.write(f"Unlocked; {cleared} recorded login failure(s) cleared.")
