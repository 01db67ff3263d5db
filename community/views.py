"""Pages: the review and favourite forms on a pattern page, your favourites and collections, a collection."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from catalog.models import Pattern
from catalog.selectors import pattern_visible_to
from community import selectors, services
from community.forms import CollectionForm, ReviewForm
from community.models import Collection, Review


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
