"""Filters for a review pack's frozen content, where dates and times come back from JSON as ISO strings."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils.dateparse import parse_date, parse_datetime

register = template.Library()


@register.filter
def isodate(value: str | dt.date | None) -> dt.date | dt.datetime | None:
    """``{{ row.measured_at|isodate|date:"j M Y H:i" }}``: an ISO date or date-time string as a value ``date`` takes."""
    if value is None or isinstance(value, dt.date):
        return value
    return parse_datetime(value) or parse_date(value)
