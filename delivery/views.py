"""Pages for buyers: the library and the signed download endpoint."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from delivery import services
from delivery.api.views import library_entries


@login_required
def library(request: HttpRequest) -> HttpResponse:
    return render(request, "delivery/library.html", {"entries": library_entries(request=request)})


def _authenticated_user(request: HttpRequest) -> object | None:
    if request.user.is_authenticated:
        return request.user
    try:
        result = TokenAuthentication().authenticate(request)  # type: ignore[arg-type]
    except AuthenticationFailed:
        return None
    return result[0] if result else None


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "") or "Authorization" in request.headers


def download(request: HttpRequest, token: str) -> HttpResponseBase:
    """Serve an original to the buyer the link was made for; 404 for anyone and anything else."""
    user = _authenticated_user(request)
    try:
        resolved = services.download_resolve(token=token, user=user)
    except services.DownloadLinkExpired:
        message = "This download link has expired. Open your library to get a fresh one."
        if _wants_json(request):
            return JsonResponse({"detail": message, "library_url": "/library/"}, status=410)
        return render(request, "delivery/link_expired.html", {"message": message}, status=410)
    except services.DownloadNotAllowed as exc:
        raise Http404("No such download.") from exc
    services.download_record(resolved=resolved, user=user, ip_address=request.META.get("REMOTE_ADDR"))
    pattern_file = resolved.pattern_file
    handle = pattern_file.original.open("rb")
    return FileResponse(handle, as_attachment=True, filename=pattern_file.original_name)
