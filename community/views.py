"""Pages: the review and favourite forms on a pattern page, your favourites and collections, a collection."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from catalog.models import Pattern
from catalog.selectors import pattern_visible_to
from community import selectors, services
from community.forms import CollectionForm, PatternCollectForm, ReplyForm, ReviewForm
from community.models import Collection, Follow, Review


def _pattern(request: HttpRequest, pk: int) -> Pattern:
    patterns = pattern_visible_to(user=request.user).select_related(None).prefetch_related(None)
    return get_object_or_404(patterns.only("pk", "slug", "creator_id"), pk=pk)


@login_required
@require_POST
def review_submit(request: HttpRequest, pk: int) -> HttpResponse:
    """Write your review, or edit it when you already wrote one (one review per buyer per pattern)."""
    pattern = _pattern(request, pk)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a rating from 1 to 5 stars (the text is at most 5,000 characters).")
        return redirect(pattern.get_absolute_url())
    existing = Review.objects.filter(pattern=pattern, buyer_id=request.user.pk).first()
    try:
        if existing is None:
            services.review_create(pattern=pattern, buyer=request.user, **form.cleaned_data)
        else:
            services.review_update(review=existing, user=request.user, **form.cleaned_data)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
        return redirect(pattern.get_absolute_url())
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(pattern.get_absolute_url())
    messages.success(request, "Thank you: your review is on the page.")
    return HttpResponseRedirect(pattern.get_absolute_url() + "#reviews-heading")


@login_required
@require_POST
def favourite_submit(request: HttpRequest, pk: int) -> HttpResponse:
    pattern = _pattern(request, pk)
    on = request.POST.get("on", "1") != "0"
    services.favourite_set(user=request.user, pattern=pattern, on=on)
    messages.success(request, "Saved to your favourites." if on else "Removed from your favourites.")
    if request.POST.get("next") == "favourites":
        return redirect("community:favourites")
    return redirect(pattern.get_absolute_url())


@login_required
def my_favourites(request: HttpRequest) -> HttpResponse:
    """Your favourites and your collections, with a form for a new collection."""
    form = CollectionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.collection_create(owner=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error("name", exc)
        else:
            messages.success(request, "Collection created.")
            return redirect("community:favourites")
    favourites = selectors.favourite_list(user=request.user).prefetch_related("pattern__previews")[:200]
    collections = (
        Collection.objects.filter(owner_id=request.user.pk)
        .prefetch_related(Prefetch("patterns", queryset=Pattern.objects.only("pk", "title", "slug")))
        .order_by("name")
    )
    return render(
        request,
        "community/favourites.html",
        {"favourites": favourites, "collections": collections, "form": form},
        status=400 if form.errors else 200,
    )


def collection_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A public collection, or your own; someone else's private collection is 404."""
    collection = selectors.collections_visible_to(user=request.user).filter(pk=pk).first()
    if collection is None:
        raise Http404("No such collection.")
    visible = pattern_visible_to(user=request.user)
    patterns = visible.filter(pk__in=collection.items.values("pattern_id"))
    return render(request, "community/collection.html", {"collection": collection, "patterns": patterns})


# --- Studio pages (issue 12, h/studio): follow on the shop, reply and hide on reviews, collect from the page ---


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@require_POST
def follow_submit(request: HttpRequest, username: str) -> HttpResponse:
    """The shop page's Follow / Following button. The form says what it wants (``on`` 1 or 0), so a second press of
    the same button changes nothing (idempotent); back to the shop, or JSON for the page's script."""
    creator = get_object_or_404(get_user_model(), username__iexact=username, is_active=True)
    shop_url = reverse("catalog:creator-shop", kwargs={"username": creator.get_username()})
    if not request.user.is_authenticated:
        if _wants_json(request):
            return JsonResponse({"detail": "Sign in to follow."}, status=401)
        return redirect_to_login(shop_url)
    on = request.POST.get("on", "1") != "0"
    try:
        services.follow_set(follower=request.user, creator=creator, on=on)
    except ValidationError as exc:
        if _wants_json(request):
            return JsonResponse({"detail": " ".join(exc.messages)}, status=400)
        messages.error(request, " ".join(exc.messages))
        return redirect(shop_url)
    followers = Follow.objects.filter(creator=creator).count()
    if _wants_json(request):
        return JsonResponse({"creator": creator.get_username(), "following": on, "followers": followers})
    messages.success(
        request, f"You follow {creator.get_username()}." if on else f"You unfollowed {creator.get_username()}."
    )
    return redirect(shop_url)


def _review(pk: int) -> Review:
    return get_object_or_404(Review.objects.select_related("pattern"), pk=pk)


def _back_to(review: Review) -> HttpResponse:
    return HttpResponseRedirect(review.pattern.get_absolute_url() + f"#review-{review.pk}")


@login_required
@require_POST
def review_reply_submit(request: HttpRequest, pk: int) -> HttpResponse:
    """The creator's one reply under a review (a second is refused, like the API)."""
    review = _review(pk)
    form = ReplyForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Write a reply of at most 5,000 characters.")
        return _back_to(review)
    try:  # anyone but the pattern's creator: PermissionDenied, a 403
        services.review_reply(review=review, user=request.user, text=form.cleaned_data["text"])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _back_to(review)
    messages.success(request, "Your reply is under the review.")
    return _back_to(review)


@login_required
@require_POST
def review_hide_submit(request: HttpRequest, pk: int) -> HttpResponse:
    """Staff hide a review (``hidden`` 1) or show it again (0); the rating follows."""
    review = _review(pk)
    hidden = request.POST.get("hidden", "1") != "0"
    services.review_set_hidden(review=review, user=request.user, hidden=hidden)  # 403 for anyone but moderators
    messages.success(request, "Review hidden from the public." if hidden else "Review shown again.")
    return _back_to(review)


@login_required
@require_POST
def collect_submit(request: HttpRequest, pk: int) -> HttpResponse:
    """Add the pattern to one of your collections, or to a new one (a name and whether it is public)."""
    pattern = _pattern(request, pk)
    form = PatternCollectForm(request.POST, owner=request.user)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return HttpResponseRedirect(pattern.get_absolute_url() + "#collect")
    collection = form.cleaned_data["collection"]
    try:
        with transaction.atomic():  # a new collection and its first pattern, or neither
            if collection is None:
                collection = services.collection_create(
                    owner=request.user, name=form.cleaned_data["name"], is_public=form.cleaned_data["is_public"]
                )
            services.collection_pattern_set(collection=collection, pattern=pattern, on=True)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return HttpResponseRedirect(pattern.get_absolute_url() + "#collect")
    messages.success(request, f"Added to your collection “{collection.name}”.")
    return HttpResponseRedirect(pattern.get_absolute_url() + "#collect")
