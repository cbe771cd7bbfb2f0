from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms

from jobs import registry
from jobs.models import JobStatus

AGES = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1), "month": timedelta(days=31)}
# "older-hour" and the like: work queued longer ago than that and, with a status, still queued or running (stuck).
OLDER = "older-"


class JobFilterForm(forms.Form):
    kind = forms.ChoiceField(required=False, choices=[])
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *JobStatus.choices])
    engagement = forms.ChoiceField(required=False, choices=[])
    age = forms.ChoiceField(
        required=False,
        choices=[
            ("", "Any time"),
            ("hour", "Queued in the last hour"),
            ("day", "… day"),
            ("week", "… week"),
            ("month", "… month"),
            (f"{OLDER}hour", "Queued over an hour ago"),
            (f"{OLDER}day", "… over a day ago"),
            (f"{OLDER}week", "… over a week ago"),
        ],
    )

    def __init__(self, *args: Any, engagements: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = [(kind, str(model._meta.verbose_name_plural).capitalize()) for kind, model in registry.kinds().items()]
        self.fields["kind"].choices = [("", "Every kind"), *names]  # type: ignore[attr-defined]
        self.fields["engagement"].choices = [("", "Every engagement")] + [  # type: ignore[attr-defined]
            (str(e.uuid), f"{e.client.name} · {e.name}") for e in engagements
        ]
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-select form-select-sm"

    def filters(self) -> dict[str, Any]:
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "status": data["status"],
            "engagement": data["engagement"] or None,
            "within": AGES.get(data["age"]),
            "older_than": AGES.get(data["age"].removeprefix(OLDER)) if data["age"].startswith(OLDER) else None,
        }
