"""``{{ amount|money:engagement.currency }}`` for figures, ``{{ rate|money_cents:engagement.currency }}`` for prices."""

from __future__ import annotations

from decimal import Decimal

from django import template

from engagements.roi.money import format_money

register = template.Library()


@register.filter
def money(amount: float | Decimal | None, currency: str) -> str:
    return format_money(amount, currency)


@register.filter
def money_cents(amount: float | Decimal | None, currency: str) -> str:
    return format_money(amount, currency, cents=True)
