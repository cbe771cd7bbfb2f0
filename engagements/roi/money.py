"""Amounts shown with their currency (Babel's CLDR data: symbol, grouping and the currency's own decimals)."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_currency, get_currency_symbol
from django.utils.translation import get_language, to_locale


def _locale() -> str:
    return to_locale(get_language() or "en-us")


def format_money(amount: float | Decimal | None, currency: str, *, cents: bool = False) -> str:
    """``€12,345`` (whole units, for figures) or ``€187.35`` (``cents=True``, for rates and prices)."""
    if amount is None:
        return "—"
    if cents:
        return str(format_currency(amount, currency, locale=_locale()))
    return str(format_currency(round(amount), currency, locale=_locale(), format="¤#,##0", currency_digits=False))


def currency_symbol(currency: str) -> str:
    return str(get_currency_symbol(currency, locale=_locale()))
