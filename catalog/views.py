"""Server-rendered catalog pages: home, categories, search, pattern pages, and creators' pages."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, throttle_classes
from rest_framework.request import Request

from analytics.services import event_record
from catalog import selectors, services
from catalog.forms import PatternForm
from catalog.models import Category, Pattern, PatternFile, TagSuggestion
from delivery.selectors import entitled_pattern_ids
from ingestion.uploads import upload_sessions_claim, upload_sessions_consume

FORMAT_CHOICES = [(value, label) for value, label in PatternFile.Format.choices]


def home(request: HttpRequest) -> HttpResponse:
    event_record(kind="page_view", user=request.user, path=request.path)
    return render(
        request,
        "catalog/home.html",
        {
            "categories": selectors.category_list(),
            "latest": selectors.pattern_list_published()[:12],
            "tags": selectors.tag_list_popular(),
        },
    )


def category(request: HttpRequest, slug: str) -> HttpResponse:
    current = get_object_or_404(Category, slug=slug)
    event_record(kind="page_view", user=request.user, path=request.path)
    page = Paginator(selectors.pattern_list_published(category=slug), 24).get_page(request.GET.get("page"))
    return render(request, "catalog/category.html", {"category": current, "page": page})


def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    file_format = request.GET.get("format", "")
    results = selectors.pattern_list_published(
        query=query,
        file_format=file_format,
        category=request.GET.get("category", ""),
        tag=request.GET.get("tag", ""),
    )
    page = Paginator(results, 24).get_page(request.GET.get("page"))
    if query:
        event_record(
            kind="search",
            user=request.user,
            query=query,
            result_count=page.paginator.count,
            path=request.path,
        )
    return render(
        request,
        "catalog/search.html",
        {"query": query, "page": page, "format": file_format, "formats": FORMAT_CHOICES},
    )


def search_by_image(request: HttpRequest) -> HttpResponse:
    """Upload a photo or sketch, get the patterns that look most like it."""
    from rest_framework.exceptions import ValidationError as DRFValidationError

    from catalog.api.views import open_search_image

    results: list[tuple[Pattern, float]] = []
    error = ""
    if request.method == "POST":
        upload = request.FILES.get("image")
        if upload is None:
            error = "Choose an image to search with."
        else:
            try:
                image = open_search_image(upload)
            except DRFValidationError as exc:
                detail: Any = exc.detail
                error = str(detail["image"][0]) if isinstance(detail, dict) else str(detail)
            else:
                results = selectors.pattern_search_by_image(image=image)
                event_record(
                    kind="search", user=request.user, query="[image]", result_count=len(results), path=request.path
                )
    return render(
        request, "catalog/search_image.html", {"results": results, "error": error, "searched": request.method == "POST"}
    )


def pattern_detail(request: HttpRequest, slug: str) -> HttpResponse:
    pattern = selectors.pattern_visible_to(user=request.user).filter(slug=slug).first()
    if pattern is None:
        raise Http404("No such pattern.")
    event_record(kind="page_view", user=request.user, pattern=pattern, path=request.path)
    owned = pattern.pk in entitled_pattern_ids(buyer=request.user, pattern_ids=[pattern.pk])
    return render(
        request,
        "catalog/pattern_detail.html",
        {
            "pattern": pattern,
            "owned": owned,
            "is_owner": request.user == pattern.creator,
            "similar": selectors.pattern_similar(pattern=pattern),
        },
    )


@login_required
def pattern_create(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = PatternForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            chunked = []
            try:
                chunked = upload_sessions_claim(user=request.user, session_ids=request.POST.getlist("uploads"))
                pattern = services.pattern_create(
                    creator=request.user,  # type: ignore[arg-type]
                    title=data["title"],
                    description=data["description"],
                    price=data["price"],
                    commercial_price=data["commercial_price"],
                    currency=data["currency"],
                    licence=data["licence"],
                    category=data["category"],
                    uploads=[*data["files"], *chunked],
                )
            except ValidationError as exc:
                for chunked_file in chunked:
                    chunked_file.close()
                for field, messages in exc.message_dict.items():
                    for message in messages:
                        form.add_error(field if field in form.fields else None, message)
            else:
                upload_sessions_consume(files=chunked)
                creator_tags = [name.strip() for name in data["tags"].split(",") if name.strip()]
                if creator_tags:
                    services.pattern_tags_add(pattern=pattern, names=creator_tags[:20], source="creator")
                services.creator_profile_ensure(user=request.user)  # type: ignore[arg-type]
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
        "catalog/pattern_form.html",
        {"form": form, "chunk_threshold": settings.TESSERA_CHUNKED_UPLOAD_THRESHOLD},
    )


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "catalog/dashboard.html",
        {"patterns": selectors.pattern_list_for_creator(creator=request.user)},
    )


def _own_pattern(request: HttpRequest, pk: int) -> Pattern:
    pattern = selectors.pattern_visible_to(user=request.user).filter(pk=pk).first()
    if pattern is None or (pattern.creator_id != request.user.pk and not request.user.is_staff):
        raise Http404("No such pattern.")
    return pattern


@login_required
def pattern_status(request: HttpRequest, pk: int) -> HttpResponse:
    pattern = _own_pattern(request, pk)
    suggestions = pattern.tag_suggestions.select_related("tag").order_by("state", "-confidence")
    return render(
        request,
        "catalog/pattern_status.html",
        {"pattern": pattern, "steps": Pattern.Step.choices, "suggestions": suggestions},
    )


@login_required
@require_POST
def tag_suggestion_decide(request: HttpRequest, pk: int, suggestion_id: int) -> HttpResponse:
    pattern = _own_pattern(request, pk)
    suggestion = get_object_or_404(TagSuggestion, pk=suggestion_id, pattern=pattern)
    services.tag_suggestion_decide(
        suggestion=suggestion,
        user=request.user,  # type: ignore[arg-type]
        accept=request.POST.get("action") == "accept",
    )
    return redirect("catalog:pattern-status", pk=pattern.pk)


@login_required
def pattern_status_json(request: HttpRequest, pk: int) -> JsonResponse:
    pattern = _own_pattern(request, pk)
    return JsonResponse(
        {
            "status": pattern.status,
            "status_display": pattern.get_status_display(),
            "status_reason": pattern.status_reason,
            "step": pattern.processing_step,
            "files": [
                {
                    "name": f.original_name,
                    "status": f.status,
                    "format": f.format,
                    "findings": (f.validation or {}).get("findings", []),
                }
                for f in pattern.files.all()
            ],
            "previews": [p.url for p in pattern.previews.all()],
            "done": pattern.status != Pattern.Status.PROCESSING,
        }
    )


def _send_media(field_file: FieldFile, content_type: str) -> FileResponse:
    response = FileResponse(field_file.storage.open(field_file.name or "", "rb"), content_type=content_type)
    # Only for this viewer: shared caches must not keep a file its pattern may later stop showing.
    response["Cache-Control"] = "private, max-age=300"
    return response


# DRF function views so the API's token authentication works as well as the session (API clients follow
# the preview URLs the API gives them). Each answers 404, never 403, to someone who may not see the pattern,
# exactly like the pattern page: an unpublished pattern's existence is not revealed. No throttle: a moderator's
# review queue loads dozens of these at once, and each is one indexed lookup.
@extend_schema(exclude=True)  # file downloads for pages, not part of the JSON API
@api_view(["GET"])
@throttle_classes([])
def preview_file(request: Request, pk: int) -> FileResponse:
    """A preview image of a pattern the requester may see: the only way to unpublished patterns' previews."""
    preview = selectors.preview_get_visible(user=request.user, preview_id=pk)
    if preview is None or not preview.image.name:
        raise Http404("No such preview.")
    return _send_media(preview.image, "image/png")


@extend_schema(exclude=True)  # file downloads for pages, not part of the JSON API
@api_view(["GET"])
@throttle_classes([])
def viewer_model_file(request: Request, pk: int) -> FileResponse:
    """The simplified viewer mesh (binary STL) of a pattern the requester may see."""
    viewer = selectors.viewer_model_get_visible(user=request.user, viewer_model_id=pk)
    if viewer is None or not viewer.file.name:
        raise Http404("No such 3D view.")
    return _send_media(viewer.file, "model/stl")
