"""Pages for buyers: the library, the checked download endpoint and certificate verification."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.csrf import csrf_exempt
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from delivery import notices, selectors, services
from delivery.api.views import library_entries
from marketplace.metrics import downloads_total


@login_required
def library(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "delivery/library.html",
        {
            "entries": library_entries(request=request),
            "revoked": list(selectors.entitlement_list_revoked_for_buyer(buyer=request.user)),
            "links_expire_at": timezone.now() + timedelta(seconds=settings.DOWNLOAD_LINK_TTL_SECONDS),
        },
    )


def _authenticated_user(request: HttpRequest) -> Any:
    if request.user.is_authenticated:
        return request.user
    try:
        result = TokenAuthentication().authenticate(request)  # type: ignore[arg-type]
    except AuthenticationFailed:
        return None
    return result[0] if result else None


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "") or "Authorization" in request.headers


def _message(request: HttpRequest, status: int, message: str, **extra: Any) -> HttpResponse:
    if _wants_json(request):
        response: HttpResponse = JsonResponse({"detail": message, "library_url": "/library/", **extra}, status=status)
    else:
        response = render(
            request,
            "delivery/download_status.html",
            {"message": message, "status": status, "refresh": extra.get("state") == "preparing"},
            status=status,
        )
    return response


def _send(stored: Any, filename: str) -> HttpResponseBase:
    """Hand the file to the buyer by the configured backend; only "stream" reads it in Python."""
    backend = settings.TESSERA_DOWNLOAD_BACKEND
    disposition = content_disposition_header(as_attachment=True, filename=filename) or "attachment"
    if backend == "s3":
        url = stored.storage.url(
            stored.name,
            parameters={"ResponseContentDisposition": disposition},
            expire=settings.TESSERA_PRESIGNED_TTL_SECONDS,
        )
        return HttpResponseRedirect(url)
    if backend in ("x-accel", "sendfile"):
        response = HttpResponse(content_type="application/octet-stream")
        if backend == "x-accel":
            response["X-Accel-Redirect"] = settings.TESSERA_X_ACCEL_PREFIX + stored.name
        else:
            response["X-Sendfile"] = stored.path
        response["Content-Disposition"] = disposition
        return response
    return FileResponse(stored.open("rb"), as_attachment=True, filename=filename)


def download(request: HttpRequest, token: str) -> HttpResponseBase:
    """Serve the buyer's own marked copy; 404 for anyone and anything else, recording nothing."""
    user = _authenticated_user(request)
    try:
        target = services.download_resolve(token=token, user=user)
    except services.DownloadLinkExpired:
        downloads_total.labels(outcome="expired").inc()
        return _message(request, 410, "This download link has expired. Open your library to get a fresh one.")
    except services.DownloadNotAllowed as exc:
        downloads_total.labels(outcome="refused").inc()
        raise Http404("No such download.") from exc
    try:
        services.download_check_limits(target=target, user=user)
    except services.DownloadLimitReached as exc:
        downloads_total.labels(outcome="limited").inc()
        response = _message(request, 429, str(exc))
        if exc.retry_after:
            response["Retry-After"] = str(exc.retry_after)
        return response
    ready = services.target_ready_file(target=target)
    if ready is None:
        failure = services.target_failure(target=target)
        services.target_request_preparation(target=target)
        text = "We are preparing your personal copy (each file is marked for you). This takes a few seconds."
        if failure:
            text = f"The last attempt failed ({failure}); we are trying again."
        downloads_total.labels(outcome="preparing").inc()
        response = _message(request, 202, text, state="preparing")
        response["Retry-After"] = "2"
        return response
    stored, filename = ready
    services.download_record(target=target, user=user, ip_address=request.META.get("REMOTE_ADDR"))
    downloads_total.labels(outcome="served").inc()
    return _send(stored, filename)


@csrf_exempt
def certificate_verify(request: HttpRequest, pk: str) -> HttpResponse:
    """Anyone may check a certificate: GET by id, or POST the certificate.json to test it for tampering."""
    document = None
    if request.method == "POST":
        try:
            document = json.loads(request.body or b"{}")
        except ValueError:
            return JsonResponse({"genuine": False, "valid": False, "detail": "The body is not JSON."}, status=400)
        if not isinstance(document, dict):
            return JsonResponse(
                {"genuine": False, "valid": False, "detail": "Send the certificate object."}, status=400
            )
    check = services.certificate_verify(certificate_id=pk, document=document)
    status = 200 if check.certificate is not None else 404
    if request.method == "POST" or _wants_json(request):
        content = check.certificate.content if check.certificate and check.genuine else None
        return JsonResponse(
            {"genuine": check.genuine, "valid": check.valid, "detail": check.message, "certificate": content},
            status=status,
        )
    return render(request, "delivery/certificate_verify.html", {"check": check}, status=status)


class TakedownNoticeForm(forms.Form):
    infringing_url = forms.URLField(
        label="Where the copy is offered",
        max_length=2000,
        required=False,
        assume_scheme="https",
        help_text="The address of the page or file on the other site, e.g. https://example.com/files/123.",
    )


def _notice_page(request: HttpRequest, build: Any) -> HttpResponse:
    """The notice page (GET ?infringing_url=...), or the notice as a .txt download (…&download=txt)."""
    form = TakedownNoticeForm(request.GET or None)
    url = ""
    status = 200
    if form.is_bound and form.is_valid():
        url = form.cleaned_data["infringing_url"]
    elif form.is_bound:
        status = 400
    wants_file = request.GET.get("download") == "txt"
    if wants_file and status == 200 and not url:
        form.add_error("infringing_url", "Enter the address where the copy is offered before downloading.")
        status = 400
    notice = build(url)
    if wants_file and status == 200:
        response = HttpResponse(notice.text, content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=notice.filename)
        return response
    return render(request, "delivery/takedown_notice.html", {"form": form, "notice": notice}, status=status)


@login_required
def leak_takedown_notice(request: HttpRequest, pk: int) -> HttpResponse:
    trace = notices.leak_trace_for_notice(user=request.user, trace_id=pk)
    if trace is None:
        raise Http404("No such leak trace.")
    return _notice_page(
        request, lambda url: notices.notice_from_leak_trace(trace=trace, user=request.user, infringing_url=url)
    )


@login_required
def copy_takedown_notice(request: HttpRequest, pk: int) -> HttpResponse:
    flag = notices.copy_flag_for_notice(user=request.user, flag_id=pk)
    if flag is None:
        raise Http404("No such copy flag.")
    return _notice_page(
        request, lambda url: notices.notice_from_copy_flag(flag=flag, user=request.user, infringing_url=url)
    )


@login_required
def work_protection(request: HttpRequest) -> HttpResponse:
    """A creator's leak traces and the copies of their work found on Tessera, each with a takedown notice."""
    return render(
        request,
        "delivery/protection.html",
        {
            "traces": list(notices.leak_traces_for_creator(creator=request.user)[:100]),
            "flags": list(notices.copy_flags_for_creator(creator=request.user)[:100]),
        },
    )
