"""Server-rendered catalog pages: home, categories, search, pattern pages, and creators' pages."""

from __future__ import annotations

import functools
import hashlib
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.views.decorators.http import require_POST
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, throttle_classes
from rest_framework.request import Request

from catalog import selectors, services
from catalog import tracking as catalog_tracking
from catalog.forms import (
    CreatorProfileForm,
    PageForm,
    PatternEditForm,
    PatternExtrasForm,
    PatternSearchForm,
    SearchRequestForm,
)
from catalog.history import pattern_timeline
from catalog.image_search import ImageSearchRefused, pattern_search_by_upload
from catalog.models import Category, CreatorProfile, Pattern, PatternVersion, Tag, TagSuggestion
from catalog.permissions import MODERATE_PATTERNS, VIEW_PATTERNS, staff_has_perm
from catalog.search_requests import search_request_submit
from marketplace.middleware import validates_query_string
from marketplace.page_cache import (
    cacheable_page,
    catalogue_cached,
    catalogue_fragment_key,
    page_cache_remember_event,
)
from marketplace.throttling import search_request_throttle
from marketplace.tracking import TrackingEvent, track_request


def _track(request: HttpRequest, event: TrackingEvent, *, owner_id: int | None = None) -> None:
    """A page view or search of this request (with its visitor and source; not for a bot, staff, or the creator
    on their own page: ``owner_id``), tracked again whenever the page cache serves the same page."""
    track_request(request, event, owner_id=owner_id)
    page_cache_remember_event(request, event)


def _fragments() -> dict[str, Any]:
    """What a page's ``{% cache fragment_seconds ... catalogue_version %}`` fragments need: kept until the
    catalogue changes (or TESSERA_PAGE_CACHE_SECONDS); with the page cache off, 0 seconds (nothing kept). Read
    before the data the fragments show."""
    if not settings.TESSERA_PAGE_CACHE:
        return {"fragment_seconds": 0, "catalogue_version": ""}
    return {"fragment_seconds": settings.TESSERA_PAGE_CACHE_SECONDS, "catalogue_version": catalogue_fragment_key()}


@cacheable_page
def home(request: HttpRequest) -> HttpResponse:
    _track(request, catalog_tracking.page_viewed(user=request.user, path=request.path))
    fragments = _fragments()
    # Read only when the page's fragment is not cached (lazily).
    data = SimpleLazyObject(lambda: catalogue_cached("home", _home_context))
    lazy = {
        name: SimpleLazyObject(functools.partial(data.__getitem__, name)) for name in ("categories", "latest", "tags")
    }
    return render(request, "catalog/home.html", {**lazy, **fragments})


def _home_context() -> dict[str, Any]:
    """What home shows: the same for everyone until the catalogue changes."""
    return {
        "categories": list(selectors.category_list()),
        "latest": list(selectors.pattern_list_published()[:12]),
        "tags": selectors.tag_list_popular(),
    }


def _query_errors(form: PageForm) -> list[str]:
    """One readable line per invalid query parameter, for the page to show above its (empty) results."""
    return [f"{name}: {messages[0]}" for name, messages in form.errors.items()]


# Each active filter: the query parameters it is made of and how its chip reads.
_FILTER_PARAMS = {
    "format": ("format",),
    "category": ("category",),
    "tag": ("tag",),
    "licence": ("licence",),
    "price": ("price_min", "price_max"),
    "validated": ("validated",),
    "printer_bed": ("printer_bed",),
}


def _without(request: HttpRequest, *names: str) -> str:
    """The current query string without ``names`` (and without ``page``: a changed filter starts at page 1)."""
    params = request.GET.copy()
    for name in (*names, "page"):
        params.pop(name, None)
    return params.urlencode()


def _with(request: HttpRequest, name: str, value: str) -> str:
    """The current query string with ``name`` set to ``value`` (removed when it already is), from page 1."""
    params = request.GET.copy()
    params.pop("page", None)
    if params.get(name) == value:
        params.pop(name)
    else:
        params[name] = value
    return "?" + params.urlencode()


def _facet_links(request: HttpRequest, facets: selectors.Facets) -> None:
    """Give every facet option the address that chooses it (or, chosen, drops it) and keeps the other filters."""
    for param, options in [
        ("format", facets.formats),
        ("category", facets.categories),
        ("licence", facets.licences),
        ("printer_bed", facets.printer_beds),
        ("tag", facets.tags),
    ]:
        for option in options:
            option.url = "?" + _without(request, param) if option.selected else _with(request, param, option.value)


def _kept_params(request: HttpRequest, *names: str) -> list[tuple[str, str]]:
    """(name, value) of the current query string but ``names`` and ``page``: hidden inputs of a form that changes
    one filter and keeps the others."""
    return [(name, str(value)) for name, value in request.GET.items() if name not in {*names, "page"}]


def _chips(request: HttpRequest, data: dict[str, Any], facets: selectors.Facets, fixed: set[str]) -> list[Any]:
    """One chip per active filter: its label and the address of the same search without it."""

    def label_of(options: list[selectors.FacetOption], value: str) -> str:
        return next((option.label for option in options if option.value == value), value)

    chips = []
    if data["format"] and "format" not in fixed:
        chips.append(("Format", label_of(facets.formats, data["format"]), "format"))
    if data["category"] and "category" not in fixed:
        chips.append(("Category", label_of(facets.categories, data["category"]), "category"))
    if data["tag"]:
        chips.append(("Tag", label_of(facets.tags, data["tag"]), "tag"))
    if data["licence"]:
        chips.append(("Licence", label_of(facets.licences, data["licence"]), "licence"))
    if data["price_min"] is not None or data["price_max"] is not None:
        low = "" if data["price_min"] is None else f"{data['price_min'] / 100:g}"
        high = "" if data["price_max"] is None else f"{data['price_max'] / 100:g}"
        chips.append(("Price", f"{low or '0'} – {high or 'any'}", "price"))
    if data["validated"]:
        chips.append(("Checks", "Passes all checks", "validated"))
    if data["printer_bed"]:
        chips.append(("Fits", data["printer_bed"], "printer_bed"))
    return [
        {"name": name, "label": label, "url": "?" + _without(request, *_FILTER_PARAMS[key])}
        for name, label, key in chips
    ]


def _search_page(
    request: HttpRequest, *, category: Category | None = None, shop: CreatorProfile | None = None
) -> HttpResponse:
    """The search page and the category pages: results, facets with counts, chips, sort, and a weak-result page
    that is never a dead end (did you mean, close ideas, popular patterns, "tell us what you wanted")."""
    template = "catalog/category.html" if category else "catalog/search.html"
    base_context: dict[str, Any] = {"category": category, "sorts": selectors.SORTS}
    if shop is not None:
        template = "catalog/creator_shop.html"
        base_context.update(
            shop=shop,
            sales_band=selectors.sales_band(shop.sales_count),
            rating=selectors.shop_rating(creator_id=shop.user_id),
        )
    form = PatternSearchForm(request.GET)
    if not form.is_valid():
        # The page still renders (search box, design) with what was wrong, and no results.
        page = Paginator(Pattern.objects.none(), 24).get_page(1)
        context = {**base_context, "query": "", "page": page, "query_errors": _query_errors(form)}
        return render(request, template, context, status=400)
    data = form.cleaned_data
    if category is not None:
        data["category"] = category.slug
    query = data["q"]
    filters = selectors.PatternFilters(
        file_format=data["format"],
        category=data["category"],
        tag=data["tag"],
        licence=data["licence"],
        price_min=data["price_min"],
        price_max=data["price_max"],
        validated=data["validated"],
        printer_bed=data["printer_bed"],
        creator_id=shop.user_id if shop is not None else None,
    )
    sort = data["sort"] or ("relevance" if query else "newest")

    def compute() -> dict[str, Any]:
        """Everything the results show, the same for every visitor of this address until the catalogue changes."""
        ranked_ids = selectors.pattern_ranking(query=query)
        results = selectors.pattern_list_published(
            query=query,
            file_format=filters.file_format,
            category=filters.category,
            tag=filters.tag,
            licence=filters.licence,
            price_min=filters.price_min,
            price_max=filters.price_max,
            validated=filters.validated,
            printer_bed=filters.printer_bed,
            sort=sort,
            ranked_ids=ranked_ids,
            creator_id=filters.creator_id,
        )
        page = Paginator(results, 24).get_page(data["page"])
        count = page.paginator.count
        facets = selectors.pattern_facets(ranked_ids=ranked_ids, filters=filters)
        _facet_links(request, facets)
        chips = _chips(request, data, facets, {"category"} if category else set())
        few = bool(query) and count < selectors.FEW_RESULTS
        suggestion = selectors.search_suggestion(query=query) if few else ""
        # Weak: nothing found, or a query that finds little by itself (few results because of filters are the
        # filters' doing: the chips say so). A weak page offers close ideas, popular patterns and "tell us".
        weak = count == 0 or (few and not chips)
        if shop is not None:
            weak = False  # a shop shows its own patterns only, never other creators' as ideas
        shown = [pattern.pk for pattern in page]
        close_ideas = (
            selectors.pattern_close_ideas(query=query, exclude_ids=shown, ranked_ids=ranked_ids)
            if weak and query
            else []
        )
        popular = selectors.pattern_list_popular(exclude_ids=shown, limit=8 if count == 0 else 4) if weak else []
        page.object_list = list(page.object_list)
        page.paginator.num_pages  # noqa: B018 (computed now: the cached page keeps no query to count with)
        page.paginator.object_list = []
        return {
            "page": page,
            "count": count,
            "facets": facets,
            "chips": chips,
            "suggestion": suggestion,
            "weak": weak,
            "close_ideas": list(close_ideas),
            "popular": list(popular),
        }

    # Kept for signed-in visitors (and a page-cache miss) by the address, as the page cache keys whole pages; the
    # page's results and filters as a template fragment by the address too (_search_body.html).
    fragments = _fragments()
    # Two entries: what the view and the rest of the page need (small), and the results and facets, read only
    # when the template's fragment is not cached (lazily).
    address = hashlib.sha256(request.get_full_path().encode()).hexdigest()
    computed = functools.cache(compute)
    heavy = ("page", "facets", "close_ideas", "popular")
    found = catalogue_cached(
        f"search-summary:{address}", lambda: {k: v for k, v in computed().items() if k not in heavy}
    )
    results: Any = SimpleLazyObject(
        lambda: catalogue_cached(f"search:{address}", lambda: {k: computed()[k] for k in heavy})
    )
    results_page: Any = SimpleLazyObject(functools.partial(results.__getitem__, "page"))
    results_facets: Any = SimpleLazyObject(functools.partial(results.__getitem__, "facets"))
    close_ideas: Any = SimpleLazyObject(functools.partial(results.__getitem__, "close_ideas"))
    popular: Any = SimpleLazyObject(functools.partial(results.__getitem__, "popular"))
    count, chips, suggestion, weak = found["count"], found["chips"], found["suggestion"], found["weak"]
    if query:
        search_event = catalog_tracking.search_performed(
            user=request.user,
            query=query,
            result_count=count,
            path=request.path,
            suggestion=suggestion,
            category=data["category"],
        )
        _track(request, search_event, owner_id=shop.user_id if shop is not None else None)
    if shop is not None:
        shop_view = catalog_tracking.page_viewed(user=request.user, path=request.path, shop_creator_id=shop.user_id)
        _track(request, shop_view, owner_id=shop.user_id)
    elif category is not None and not query:
        _track(request, catalog_tracking.page_viewed(user=request.user, path=request.path))
    return render(
        request,
        template,
        {
            **base_context,
            "query": query,
            "page": results_page,
            "filters": filters,
            "facets": results_facets,
            "sort": sort,
            "chips": chips,
            "suggestion": suggestion,
            "suggestion_url": "?" + urlencode({"q": suggestion}) if suggestion else "",
            "weak": weak,
            "close_ideas": close_ideas,
            "popular": popular,
            "price_min": "" if data["price_min"] is None else f"{data['price_min'] / 100:g}",
            "price_max": "" if data["price_max"] is None else f"{data['price_max'] / 100:g}",
            "validated_url": "?" + _without(request, "validated")
            if data["validated"]
            else _with(request, "validated", "1"),
            "clear_url": "?" + urlencode({"q": query}) if query else "?",
            "kept_for_sort": _kept_params(request, "sort"),
            "kept_for_price": _kept_params(request, "price_min", "price_max"),
            "request_form": SearchRequestForm(initial={"q": query}),
            **fragments,
        },
    )


@cacheable_page
@validates_query_string
def category(request: HttpRequest, slug: str) -> HttpResponse:
    current = get_object_or_404(Category, slug=slug)
    return _search_page(request, category=current)


@cacheable_page
@validates_query_string
def creator_shop(request: HttpRequest, username: str) -> HttpResponse:
    """A creator's shop: their profile, sales band, rating, and their published patterns with the search facets."""
    shop = selectors.creator_profile_for_shop(username=username)
    if shop is None:
        raise Http404("No such creator.")
    return _search_page(request, shop=shop)


@cacheable_page
@validates_query_string
def search(request: HttpRequest) -> HttpResponse:
    return _search_page(request)


@require_POST
def search_request(request: HttpRequest) -> HttpResponse:
    """ "Tell us what you wanted" from a weak search page: recorded for the demand insights, throttled per client."""
    form = SearchRequestForm(request.POST)
    if not form.is_valid():
        return render(request, "catalog/search_request.html", {"form": form}, status=400)
    retry_after = search_request_throttle(request)
    if retry_after:
        context = {"form": form, "retry_after": retry_after}
        response = render(request, "catalog/search_request.html", context, status=429)
        response["Retry-After"] = str(retry_after)
        return response
    query = form.cleaned_data["q"].strip()
    search_request_submit(user=request.user, query=query, wanted=form.cleaned_data["wanted"].strip(), path=request.path)
    messages.success(request, "Thank you: we have noted what you were looking for.")
    return redirect(reverse("catalog:search") + ("?" + urlencode({"q": query}) if query else ""))


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
                track_request(
                    request,
                    catalog_tracking.image_search_performed(
                        user=request.user, result_count=len(results), path=request.path
                    ),
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


@cacheable_page
def pattern_detail(request: HttpRequest, slug: str) -> HttpResponse:
    fragments = _fragments()
    pattern = _published_pattern(slug)
    if pattern is None:  # not published (or no such slug): a creator's own or staff's, read as it is now
        pattern = selectors.pattern_visible_to(user=request.user).filter(slug=slug).first()
    if pattern is None:
        raise Http404("No such pattern.")
    _track(
        request,
        catalog_tracking.page_viewed(user=request.user, path=request.path, pattern_id=pattern.pk),
        owner_id=pattern.creator_id,
    )
    return render(
        request,
        "catalog/pattern_detail.html",
        {
            "pattern": pattern,
            "is_owner": request.user == pattern.creator,
            # Its published versions with their changelogs (the "Versions" section), read only when not cached.
            "versions": SimpleLazyObject(lambda: list(selectors.pattern_versions_published(pattern_id=pattern.pk))),
            # Two nearest-neighbour searches over the embeddings: the same for every visitor until the catalogue
            # changes.
            # Read only when the page's fragment is not cached (lazily).
            "similar": SimpleLazyObject(
                lambda: catalogue_cached(f"similar:{pattern.pk}", lambda: selectors.pattern_similar(pattern=pattern))
            ),
            # The page less its buy box, kept as two fragments for a published pattern (pattern_detail.html).
            **fragments,
            "fragment_seconds": fragments["fragment_seconds"] if pattern.status == Pattern.Status.PUBLISHED else 0,
        },
    )


def _published_pattern(slug: str) -> Pattern | None:
    """A published pattern with what its page shows, the same for every visitor: kept with the catalogue data
    (``catalogue_cached``) for signed-in visitors, whose pages the page cache never serves. A slug that matches
    no published pattern is not kept (no cache entry per made-up address)."""
    return catalogue_cached(
        f"pattern:{slug}",
        lambda: selectors.pattern_visible_to(user=None).filter(slug=slug).first(),
        keep_none=False,
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
def start_selling(request: HttpRequest) -> HttpResponse:
    """ "Start selling": 1. the shop profile, 2. payouts through Stripe Connect (payments' earnings page), 3. the
    seller terms. Free patterns can be published at any step; paid ones once payouts are ready."""
    if request.method == "POST":
        if request.POST.get("accept") != "yes":
            messages.error(request, "Tick the box to accept the seller terms.")
            return redirect("catalog:start-selling")
        services.seller_terms_accept(user=request.user)  # type: ignore[arg-type]
        messages.success(request, "You accepted the seller terms.")
        return redirect("catalog:start-selling")
    profile = getattr(request.user, "creator_profile", None)
    steps = {
        "profile": profile is not None and bool(profile.bio or profile.avatar or profile.links),
        "payouts": profile is not None and profile.payouts_ready,
        "terms": profile is not None and profile.seller_terms_accepted_at is not None,
    }
    return render(
        request, "catalog/start_selling.html", {"profile": profile, "steps": steps, "done": all(steps.values())}
    )


@login_required
def creator_profile_edit(request: HttpRequest) -> HttpResponse:
    """The creator's shop profile: display name, bio, links, avatar and banner."""
    profile = getattr(request.user, "creator_profile", None)
    status = 200
    if request.method == "POST":
        form = CreatorProfileForm(request.POST, request.FILES)
        if form.is_valid():
            services.creator_profile_update(user=request.user, **form.cleaned_data)  # type: ignore[arg-type]
            messages.success(request, "Your shop profile is saved.")
            return redirect("catalog:creator-shop", username=request.user.get_username())
        status = 400
    else:
        initial = {"display_name": request.user.get_username()}
        if profile is not None:
            initial = {"display_name": profile.display_name, "bio": profile.bio, "links": "\n".join(profile.links)}
        form = CreatorProfileForm(initial=initial)
    return render(request, "catalog/profile_edit.html", {"form": form, "profile": profile}, status=status)


@login_required
@require_POST
def pattern_lifecycle(request: HttpRequest, pk: int) -> HttpResponse:
    """The status page's Unpublish / Publish again / Delete buttons (the creator, or a moderator)."""
    pattern = _own_pattern(request, pk)
    changes = {
        "unpublish": (services.pattern_unpublish, "Unpublished: it is off sale; buyers keep what they bought."),
        "publish": (services.pattern_republish, "Published again."),
        "delete": (services.pattern_delete, "Deleted: it is gone from the shop; buyers keep what they bought."),
    }
    action = request.POST.get("action", "")
    if action not in changes:
        return HttpResponse("Use unpublish, publish or delete.", status=400, content_type="text/plain")
    change, done = changes[action]
    try:
        change(pattern=pattern, actor=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("catalog:pattern-status", pk=pattern.pk)
    messages.success(request, done)
    if action == "delete":
        return redirect("catalog:dashboard")
    return redirect("catalog:pattern-status", pk=pattern.pk)


@login_required
def pattern_delete_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete, asked first (GET: what happens, Cancel or "Delete listing"); the POST soft-deletes and goes back to
    the dashboard. Deleted or still processing: back to the status page saying why."""
    pattern = _own_pattern(request, pk)
    if request.method == "POST":
        try:
            services.pattern_delete(pattern=pattern, actor=request.user)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
            return redirect("catalog:pattern-status", pk=pattern.pk)
        messages.success(
            request, f"“{pattern.title}” is deleted: it is gone from the shop; buyers keep what they bought."
        )
        return redirect("catalog:dashboard")
    if pattern.status in (Pattern.Status.DELETED, Pattern.Status.PROCESSING):
        messages.error(
            request,
            "This pattern is deleted already."
            if pattern.status == Pattern.Status.DELETED
            else "This pattern is still being processed; delete it when that ends.",
        )
        return redirect("catalog:pattern-status", pk=pattern.pk)
    return render(request, "catalog/pattern_delete.html", {"pattern": pattern})


@login_required
def pattern_status(request: HttpRequest, pk: int) -> HttpResponse:
    pattern = _own_pattern(request, pk)
    return _render_status(request, pattern)


def pattern_status_render(
    request: HttpRequest,
    pattern: Pattern,
    *,
    version_errors: dict[str, list[str]] | None = None,
    version_changelog: str = "",
    status: int = 200,
) -> HttpResponse:
    """The status page again with the "Upload a new version" form's errors and the changelog the creator typed
    (ingestion's version upload view renders it when the upload is refused)."""
    return _render_status(
        request, pattern, version_errors=version_errors, version_changelog=version_changelog, status=status
    )


IN_PROGRESS = (PatternVersion.Status.PROCESSING, PatternVersion.Status.NEEDS_REVIEW)


def _versions_context(
    pattern: Pattern, user: Any, errors: dict[str, list[str]] | None, changelog: str
) -> dict[str, Any]:
    """The status page's "Versions" section: every version newest first, the one in progress, and whether the
    "Upload a new version" form is offered (a published pattern with no version in progress)."""
    versions = list(selectors.pattern_versions_visible(pattern=pattern, user=user))[::-1]
    in_progress = next((v for v in versions if v.status in IN_PROGRESS), None)
    errors = dict(errors or {})
    offered = pattern.status == Pattern.Status.PUBLISHED and in_progress is None
    return {
        "versions": versions,
        "version_in_progress": in_progress,
        # A refused upload keeps the form (with the changelog typed) under its reasons, whatever the reason.
        "version_form": pattern.creator_id == getattr(user, "pk", None) and (offered or bool(errors)),
        "version_file_errors": errors.pop("files", []),
        "version_changelog_errors": errors.pop("changelog", []),
        # Anything else (the pattern is not published, the upload was refused) is said above the form.
        "version_errors": [message for messages_ in errors.values() for message in messages_],
        "version_changelog": changelog,
        "version_max_files": settings.TESSERA_MAX_FILES_PER_PATTERN,
        "version_max_bytes": settings.TESSERA_MAX_UPLOAD_BYTES,
    }


def _render_status(
    request: HttpRequest,
    pattern: Pattern,
    *,
    tag_errors: list[str] | None = None,
    tag_text: str = "",
    version_errors: dict[str, list[str]] | None = None,
    version_changelog: str = "",
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
            "timeline": pattern_timeline(pattern=pattern),
            **_versions_context(pattern, request.user, version_errors, version_changelog),
        },
        status=status,
    )


@login_required
def pattern_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """The creator edits the listing, their tags, the cover and the previews' order (what ``PATCH`` takes, through
    the same services, all or nothing); a rejected pattern goes back to the review queue. Recorded in its history."""
    pattern = _own_pattern(request, pk)
    if pattern.creator_id != request.user.pk and not staff_has_perm(request.user, MODERATE_PATTERNS):
        raise PermissionDenied("Your staff account may read this pattern but not edit it.")
    previews = selectors.pattern_previews_for_ordering(pattern_id=pattern.pk)
    tags_editable = pattern.creator_id == request.user.pk  # moderators edit the listing, not the creator's tags
    status = 200
    if request.method == "POST":
        form = PatternEditForm(request.POST)
        extras = PatternExtrasForm(request.POST, previews=previews, tags_editable=tags_editable)
        if form.is_valid() and extras.is_valid():
            try:
                with transaction.atomic():  # the listing, the order and the tags change together or not at all
                    services.pattern_update(pattern=pattern, actor=request.user, data=form.cleaned_data)  # type: ignore[arg-type]
                    order = extras.preview_order()
                    if order is not None:
                        services.pattern_previews_order(pattern=pattern, actor=request.user, preview_ids=order)  # type: ignore[arg-type]
                    names = extras.tag_names()
                    if names is not None:
                        services.pattern_tags_replace_by_creator(pattern=pattern, user=request.user, names=names)  # type: ignore[arg-type]
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    target = form if field in form.fields else extras
                    for error in errors:
                        target.add_error(field if field in target.fields else None, error)
            else:
                messages.success(request, "Your changes are saved.")
                return redirect("catalog:pattern-status", pk=pattern.pk)
        status = 400
    else:
        form = PatternEditForm(initial=PatternEditForm.initial_for(pattern))
        initial = {"tags": ", ".join(selectors.pattern_creator_tag_names(pattern_id=pattern.pk))}
        extras = PatternExtrasForm(initial=initial, previews=previews, tags_editable=tags_editable)
    return render(
        request, "catalog/pattern_edit.html", {"pattern": pattern, "form": form, "extras": extras}, status=status
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
    version = PatternVersion.objects.filter(pattern=pattern, number__gt=1).order_by("-number").first()
    version_state = None
    if version is not None:
        version_state = {
            "number": version.number,
            "status": version.status,
            "status_display": version.get_status_display(),
            "status_reason": version.status_reason,
        }
    return JsonResponse(
        {
            "status": pattern.status,
            "status_display": pattern.get_status_display(),
            "status_reason": pattern.status_reason,
            # Held for payouts: the page says why in its alert, so the script leaves the error line empty.
            "awaiting_payouts": pattern.awaiting_payouts,
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
            # The newest version after the original upload (None: none yet), for the "Versions" section.
            "version": version_state,
            # Done when nothing more will arrive: failed or decided, or past tagging (tags are a step too), and no
            # new version still being checked (one waiting for review can wait days: the page need not poll).
            "done": (
                pattern.status not in (Pattern.Status.PROCESSING, Pattern.Status.NEEDS_REVIEW)
                or pattern.processing_step == Pattern.Step.READY
            )
            and (version is None or version.status != PatternVersion.Status.PROCESSING),
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
def preview_rendition_file(request: Request, pk: int) -> FileResponse:
    """A resized preview (WebP, PNG or JPEG) of a pattern the requester may see; same rule as ``preview_file``."""
    rendition = selectors.preview_rendition_get_visible(user=request.user, rendition_id=pk)
    if rendition is None or not rendition.image.name:
        raise Http404("No such preview.")
    return _send_media(rendition.image, rendition.content_type)


@extend_schema(exclude=True)  # file downloads for pages, not part of the JSON API
@api_view(["GET"])
@throttle_classes([])
def viewer_model_file(request: Request, pk: int) -> FileResponse:
    """The simplified viewer mesh (binary STL) of a pattern the requester may see."""
    viewer = selectors.viewer_model_get_visible(user=request.user, viewer_model_id=pk)
    if viewer is None or not viewer.file.name:
        raise Http404("No such 3D view.")
    return _send_media(viewer.file, "model/stl")
