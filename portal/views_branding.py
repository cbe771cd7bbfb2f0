"""A client's portal branding: its admins (and provider staff) set the name, logo and accent colour."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts.models import Client
from accounts.selectors import client_get_for_user, client_user_can_manage
from accounts.services import client_branding_update
from portal.forms import BrandingForm


def _get_client_for_user(request: HttpRequest, uuid: Any, *, write: bool = False) -> Client:
    client = client_get_for_user(user=request.user, uuid=uuid)
    if client is None:
        raise Http404("No such client.")
    if write and not client_user_can_manage(client=client, user=request.user):
        raise PermissionDenied("Only your organisation's admins change the portal's branding.")
    return client


@login_required
def branding(request: HttpRequest, uuid: Any) -> HttpResponse:
    client = _get_client_for_user(request, uuid, write=True)
    initial = {"brand_name": client.brand_name, "accent_color": client.accent_color}
    form = BrandingForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            client_branding_update(
                client=client,
                brand_name=form.cleaned_data["brand_name"],
                accent_color=form.cleaned_data["accent_color"],
                logo=form.cleaned_data["logo"] or None,
                remove_logo=form.cleaned_data["remove_logo"],
            )
        except ValidationError as exc:
            # The model's checks name their field; the logo's checks raise a bare message about the upload.
            form.add_error(None if hasattr(exc, "error_dict") else "logo", exc)
        else:
            messages.success(request, "The portal's branding is saved.")
            return redirect("portal:branding", uuid=client.uuid)
    return render(request, "portal/branding.html", {"brand_client": client, "form": form})


@login_required
def logo(request: HttpRequest, uuid: Any) -> FileResponse:
    client = _get_client_for_user(request, uuid)
    if not client.logo:
        raise Http404("This client has no logo.")
    response = FileResponse(client.logo.open("rb"), content_type="image/png")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=300"
    return response
