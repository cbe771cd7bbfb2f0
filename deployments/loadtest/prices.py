"""The per-token API offers every installation starts with, at the providers' published list prices per 1M tokens
when they were entered (meant to be edited to the client's contract and today's prices)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

API_PRICES = [
    # provider, model, input $/1M, output $/1M, note
    ("OpenAI", "gpt-4o-mini", "0.15", "0.60", "list price, standard tier"),
    ("OpenAI", "gpt-4o", "2.50", "10.00", "list price, standard tier"),
    ("Anthropic", "claude-3-5-haiku", "0.80", "4.00", "list price"),
    ("Mistral", "mistral-small", "0.20", "0.60", "list price"),
]


def api_prices_seed(price_model: Any) -> None:
    """Add the offers that are missing; never touch a price someone has edited."""
    for provider, model, input_price, output_price, note in API_PRICES:
        price_model.objects.get_or_create(
            provider=provider,
            model=model,
            defaults={
                "input_usd_per_1m": Decimal(input_price),
                "output_usd_per_1m": Decimal(output_price),
                "note": note,
            },
        )
