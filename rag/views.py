from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.decorators import provider_required


@provider_required
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "rag/index.html", {})
