"""The insights beacon: what a page's script saw that the server could not (search results shown, gallery
pictures looked at). Page views themselves are counted by the server as it serves the page."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from catalog.models import Pattern, Preview
from marketplace.tracking import PreviewViewed, SearchImpressions, request_context, track, user_id_of

MAX_BODY = 16 * 1024


def _ids(value: Any) -> list[int] | None:
    """A list of positive ints (at most TESSERA_BEACON_MAX_ITEMS, duplicates dropped), else None."""
    if not isinstance(value, list) or not value or len(value) > settings.TESSERA_BEACON_MAX_ITEMS:
        return None
    if not all(isinstance(v, int) and not isinstance(v, bool) and 0 < v < 2**31 for v in value):
        return None
    return list(dict.fromkeys(value))


def _refused(message: str) -> JsonResponse:
    return JsonResponse({"detail": message}, status=400)


# No CSRF token: navigator.sendBeacon cannot send one, and a forged call can only add a count (as a page view can).
@csrf_exempt
@require_POST
def beacon(request: HttpRequest) -> HttpResponse:
    """``{"type": "impressions", "query": "...", "patterns": [ids]}`` or
    ``{"type": "previews", "pattern": id, "previews": [ids]}``: 204, tracked off the request path; 400 if unreadable."""
    if len(request.body) > MAX_BODY:
        return _refused("Too large.")
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return _refused("Send a JSON object.")
    if not isinstance(data, dict):
        return _refused("Send a JSON object.")
    context = request_context(request)
    kind = data.get("type")
    if kind == "impressions":
        query = data.get("query")
        ids = _ids(data.get("patterns"))
        if not isinstance(query, str) or not query.strip() or ids is None:
            return _refused("impressions need a query and a list of pattern ids.")
        if context is not None and request.user.is_authenticated:
            own = set(Pattern.objects.filter(pk__in=ids, creator_id=request.user.pk).values_list("pk", flat=True))
            ids = [i for i in ids if i not in own]  # a creator's own patterns in their own searches
        if context is not None and ids:
            words = " ".join(query.split())[:255]
            track(
                SearchImpressions(
                    user_id=user_id_of(request.user), path=request.path, query=words, pattern_ids=ids, **context
                )
            )
    elif kind == "previews":
        pattern_id = data.get("pattern")
        ids = _ids(data.get("previews"))
        if not isinstance(pattern_id, int) or isinstance(pattern_id, bool) or ids is None:
            return _refused("previews need a pattern id and a list of preview ids.")
        if context is not None:
            owner = Pattern.objects.filter(pk=pattern_id).values_list("creator_id", flat=True).first()
            if owner is not None and owner != request.user.pk:
                known = Preview.objects.filter(pattern_id=pattern_id, pk__in=ids).values_list("pk", flat=True)
                for preview_id in sorted(known):
                    track(
                        PreviewViewed(
                            user_id=user_id_of(request.user),
                            path=request.path,
                            pattern_id=pattern_id,
                            preview_id=preview_id,
                            **context,
                        )
                    )
    else:
        return _refused('type must be "impressions" or "previews".')
    return HttpResponse(status=204)
