from __future__ import annotations

from django import forms

from accounts.models import HEX_COLOUR
from engagements.forms import Styled


class BrandingForm(Styled, forms.Form):
    brand_name = forms.CharField(
        label="Name in the portal", max_length=200, required=False, help_text="Blank uses the client's name."
    )
    accent_color = forms.CharField(
        label="Accent colour",
        max_length=7,
        required=False,
        validators=[HEX_COLOUR],
        widget=forms.TextInput(attrs={"placeholder": "#2f6fed", "pattern": "#[0-9a-fA-F]{6}"}),
        help_text="# and six hex digits; blank keeps the default.",
    )
    logo = forms.FileField(
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg,image/gif,image/webp"}),
        help_text="PNG, JPEG, GIF or WebP, up to 1 MB; shown at most 480 × 160.",
    )
    remove_logo = forms.BooleanField(label="Remove the current logo", required=False)
