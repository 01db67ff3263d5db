"""Server-rendered catalog pages: home, categories, search, pattern pages, and creators' pages."""

from __future__ import annotations

import uuid

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
from catalog.forms import PageForm, PatternForm, PatternSearchForm
from catalog.image_search import ImageSearchRefused, pattern_search_by_upload
from catalog.models import Category, Pattern, PatternFile, Tag, TagSuggestion
from catalog.permissions import VIEW_PATTERNS, staff_has_perm
from delivery.selectors import entitled_pattern_ids
from ingestion.admission import UploadRefused, upload_admit
from ingestion.uploads import upload_sessions_claim, upload_sessions_consume
from marketplace.middleware import validates_query_string

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


def _query_errors(form: PageForm) -> list[str]:
    """One readable line per invalid query parameter, for the page to show above its (empty) results."""
    return [f"{name}: {messages[0]}" for name, messages in form.errors.items()]


@validates_query_string
def category(request: HttpRequest, slug: str) -> HttpResponse:
    current = get_object_or_404(Category, slug=slug)
    form = PageForm(request.GET)
    if not form.is_valid():
        page = Paginator(Pattern.objects.none(), 24).get_page(1)
        context = {"category": current, "page": page, "query_errors": _query_errors(form)}
        return render(request, "catalog/category.html", context, status=400)
    event_record(kind="page_view", user=request.user, path=request.path)
    page = Paginator(selectors.pattern_list_published(category=slug), 24).get_page(form.cleaned_data["page"])
    return render(request, "catalog/category.html", {"category": current, "page": page})


@validates_query_string
def search(request: HttpRequest) -> HttpResponse:
    form = PatternSearchForm(request.GET)
    if not form.is_valid():
        # The page still renders (search box, design) with what was wrong, and no results.
        page = Paginator(Pattern.objects.none(), 24).get_page(1)
        context = {"query": "", "page": page, "format": "", "formats": FORMAT_CHOICES}
        return render(request, "catalog/search.html", {**context, "query_errors": _query_errors(form)}, status=400)
    query = form.cleaned_data["q"]
    file_format = form.cleaned_data["format"]
    results = selectors.pattern_list_published(
        query=query,
        file_format=file_format,
        category=form.cleaned_data["category"],
        tag=form.cleaned_data["tag"],
    )
    page = Paginator(results, 24).get_page(form.cleaned_data["page"])
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
    results: list[tuple[Pattern, float]] = []
    error = ""
    status = 200
    retry_after: int | None = None
    if request.method == "POST":
        upload = request.FILES.get("image")
        if upload is None:
            error, status = "Choose an image to search with.", 400
        else:
            try:
                results = pattern_search_by_upload(upload=upload)
            except ImageSearchRefused as refused:
                error, status, retry_after = str(refused), refused.status, refused.retry_after
            else:
                event_record(
                    kind="search", user=request.user, query="[image]", result_count=len(results), path=request.path
                )
    response = render(
        request,
        "catalog/search_image.html",
        {"results": results, "error": error, "searched": request.method == "POST"},
        status=status,
    )
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


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


def _content_length(request: HttpRequest) -> int | None:
    try:
        return int(request.META.get("CONTENT_LENGTH") or "") or None
    except ValueError:
        return None


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
            "catalog/pattern_form.html",
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
    if request.method == "POST":
        # Before the form is validated: a refused upload is neither inspected nor stored.
        try:
            upload_admit(user=request.user, size_hint=_content_length(request))
        except UploadRefused as refusal:
            return _upload_refused(request, refusal)
        form = PatternForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            chunked = []
            try:
                chunked = upload_sessions_claim(user=request.user, session_ids=data["uploads"])
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
                    tags=data["tags"],
                )
            except ValidationError as exc:
                for chunked_file in chunked:
                    chunked_file.close()
                for field, messages in exc.message_dict.items():
                    for message in messages:
                        form.add_error(field if field in form.fields else None, message)
            else:
                upload_sessions_consume(files=chunked)
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
    if pattern is None or (pattern.creator_id != request.user.pk and not staff_has_perm(request.user, *VIEW_PATTERNS)):
        raise Http404("No such pattern.")
    return pattern


@login_required
def pattern_status(request: HttpRequest, pk: int) -> HttpResponse:
    pattern = _own_pattern(request, pk)
    return _render_status(request, pattern)


def _render_status(
    request: HttpRequest,
    pattern: Pattern,
    *,
    tag_errors: list[str] | None = None,
    tag_text: str = "",
    status: int = 200,
) -> HttpResponse:
    suggestions = pattern.tag_suggestions.select_related("tag").order_by("state", "-confidence")
    return render(
        request,
        "catalog/pattern_status.html",
        {
            "pattern": pattern,
            "steps": Pattern.Step.choices,
            "suggestions": [s for s in suggestions if s.tag.kind == Tag.Kind.SUBJECT],
            "attributes": [s for s in suggestions if s.tag.kind != Tag.Kind.SUBJECT and s.state == "accepted"],
            "tag_errors": tag_errors or [],
            "tag_text": tag_text,
            "tag_max_length": settings.TESSERA_TAG_MAX_LENGTH,
            "tag_limit": settings.TESSERA_CREATOR_TAG_LIMIT,
        },
        status=status,
    )


@login_required
@require_POST
def pattern_tags_add(request: HttpRequest, pk: int) -> HttpResponse:
    """The creator adds their own tags from the status page; bad input re-renders it with the reasons (400)."""
    pattern = _own_pattern(request, pk)
    text = request.POST.get("tags", "")[:2000]
    try:
        services.pattern_tags_add_by_creator(pattern=pattern, user=request.user, text=text)  # type: ignore[arg-type]
    except ValidationError as exc:
        return _render_status(request, pattern, tag_errors=exc.message_dict["tags"], tag_text=text, status=400)
    return redirect("catalog:pattern-status", pk=pattern.pk)


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
    tags, attributes, suggested = [], [], []
    for suggestion in pattern.tag_suggestions.select_related("tag").order_by("-confidence", "tag__name"):
        if suggestion.state == "rejected":
            continue
        if suggestion.tag.kind != Tag.Kind.SUBJECT:
            if suggestion.state == "accepted":
                attributes.append({"name": suggestion.tag.name, "kind": suggestion.tag.get_kind_display()})
        elif suggestion.state == "accepted":
            tags.append(suggestion.tag.name)
        else:
            suggested.append(suggestion.tag.name)
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
            "tags": tags,
            "attributes": attributes,
            "suggested": suggested,
            # Done when nothing more will arrive: failed or decided, or past tagging (tags are a step too).
            "done": pattern.status not in (Pattern.Status.PROCESSING, Pattern.Status.NEEDS_REVIEW)
            or pattern.processing_step == Pattern.Step.READY,
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
