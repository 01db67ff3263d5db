"""The page a creator submits a new pattern from (``/sell/new/``); the work is ``ingestion.submit.pattern_submit``."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from catalog import selectors as catalog_selectors
from catalog.views import pattern_status_render
from ingestion import services
from ingestion.admission import UploadRefused, upload_admit, upload_size_hint
from ingestion.forms import PatternForm
from ingestion.sellers import selling_refusal
from ingestion.submit import pattern_submit, version_submit


def _kept_upload_ids(request: HttpRequest) -> list[str]:
    """Resumable upload sessions already sent with the refused form: the page offers them again."""
    kept = []
    for raw in request.POST.getlist("uploads")[: settings.TESSERA_MAX_FILES_PER_PATTERN]:
        try:
            kept.append(str(uuid.UUID(raw)))
        except ValueError:
            continue
    return kept


def _upload_refused(request: HttpRequest, refusal: UploadRefused) -> HttpResponse:
    """The form again, with what the creator typed (browsers cannot refill file inputs) and when to retry."""
    response: HttpResponse
    if request.headers.get("X-Requested-With") == "XMLHttpRequest":
        response = JsonResponse(
            {"errors": {"__all__": [{"message": refusal.message}]}, "retry_after": refusal.retry_after},
            status=refusal.status_code,
        )
    else:
        kept_uploads = _kept_upload_ids(request)
        typed: dict[str, object] = {
            name: request.POST.get(name, "") for name in PatternForm.base_fields if name not in {"files", "uploads"}
        }
        # Large files already uploaded come back as the form's hidden ``uploads`` values.
        typed["uploads"] = kept_uploads
        response = render(
            request,
            "ingestion/pattern_form.html",
            {
                "form": PatternForm(initial=typed),
                "chunk_threshold": settings.TESSERA_CHUNKED_UPLOAD_THRESHOLD,
                "refusal": refusal.message,
                "kept_uploads": kept_uploads,
            },
            status=refusal.status_code,
        )
    response["Retry-After"] = str(refusal.retry_after)
    return response


@login_required
def pattern_create(request: HttpRequest) -> HttpResponse:
    cannot_sell = selling_refusal(request.user)
    if cannot_sell:
        return render(request, "ingestion/verify_email.html", {"message": cannot_sell}, status=403)
    if request.method == "POST":
        # Before the form is validated: a refused upload is neither inspected nor stored.
        try:
            upload_admit(user=request.user, size_hint=upload_size_hint(request.META))
        except UploadRefused as refusal:
            return _upload_refused(request, refusal)
        form = PatternForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                pattern = pattern_submit(
                    creator=request.user,  # type: ignore[arg-type]
                    title=data["title"],
                    description=data["description"],
                    price=data["price"],
                    commercial_price=data["commercial_price"],
                    currency=data["currency"],
                    licence=data["licence"],
                    category=data["category"],
                    files=data["files"],
                    upload_ids=data["uploads"],
                    tags=data["tags"],
                )
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    for message in messages:
                        form.add_error(field if field in form.fields else None, message)
            else:
                target = reverse("catalog:pattern-status", kwargs={"pk": pattern.pk})
                if request.headers.get("X-Requested-With") == "XMLHttpRequest":
                    return JsonResponse({"redirect": target})
                return redirect(target)
        if request.headers.get("X-Requested-With") == "XMLHttpRequest":
            return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
    else:
        form = PatternForm()
    return render(
        request,
        "ingestion/pattern_form.html",
        {"form": form, "chunk_threshold": settings.TESSERA_CHUNKED_UPLOAD_THRESHOLD},
    )


@login_required
@require_POST
def pattern_resubmit(request: HttpRequest, pk: int) -> HttpResponse:
    """The status page's "Resubmit" button for a rejected or failed pattern (the creator)."""
    pattern = catalog_selectors.pattern_list_for_creator(creator=request.user).filter(pk=pk).first()
    if pattern is None:
        raise Http404("No such pattern.")
    try:
        services.pattern_resubmit(pattern=pattern, actor=request.user)  # type: ignore[arg-type]
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, "Resubmitted: your files are checked again, then a moderator reviews it.")
    return redirect("catalog:pattern-status", pk=pk)


@login_required
@require_POST
def pattern_version_create(request: HttpRequest, pk: int) -> HttpResponse:
    """The status page's "Upload a new version" form (the creator): the same service as ``POST …/versions/``. A
    refused upload shows the status page again with the reasons and the changelog kept (400, or the refusal's 413,
    429 or 503); otherwise back to the status page, where the new version shows its progress."""
    pattern = catalog_selectors.pattern_visible_to(user=request.user).filter(pk=pk).first()
    if pattern is None:
        raise Http404("No such pattern.")
    if pattern.creator_id != request.user.pk:
        raise PermissionDenied("Only the pattern's creator can send a new version.")
    try:
        upload_admit(user=request.user, size_hint=upload_size_hint(request.META))
    except UploadRefused as refusal:
        response = pattern_status_render(
            request,
            pattern,
            version_errors={"__all__": [refusal.message]},
            version_changelog=request.POST.get("changelog", "")[:5000],
            status=refusal.status_code,
        )
        response["Retry-After"] = str(refusal.retry_after)
        return response
    changelog = request.POST.get("changelog", "")
    try:
        version = version_submit(
            pattern=pattern,
            creator=request.user,  # type: ignore[arg-type]
            files=request.FILES.getlist("files"),
            changelog=changelog,
        )
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        return pattern_status_render(
            request, pattern, version_errors=errors, version_changelog=changelog[:10000], status=400
        )
    messages.success(
        request, f"Version {version.number} is uploaded: its files are checked, then a moderator reviews it."
    )
    return redirect("catalog:pattern-status", pk=pk)
