"""The notification centre, the e-mail preferences, one-click unsubscribe and (local) the staff mail outbox."""

from __future__ import annotations

from email import message_from_bytes
from email.message import Message
from pathlib import Path

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from notifications import selectors, services
from notifications.models import REQUIRED_EMAIL_TYPES, TYPES, Notification

STAFF_TYPES = {"copy.flagged"}


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.notification_list_for(user=request.user), 30).get_page(request.GET.get("page"))
    selectors.unread_refresh(user_ids=[request.user.pk] if request.user.pk else [])
    return render(request, "notifications/list.html", {"page": page})


@login_required
@require_POST
def read_all(request: HttpRequest) -> HttpResponse:
    services.mark_all_read(user=request.user)
    return redirect("notifications:list")


@login_required
@require_POST
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    if not services.mark_read(user=request.user, notification_id=pk):
        raise Http404
    url = Notification.objects.filter(pk=pk).values_list("url", flat=True).first() or ""
    return redirect(url if url.startswith("/") and not url.startswith("//") else "notifications:list")


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    saved = False
    if request.method == "POST":
        chosen = set(request.POST.getlist("email"))
        for type in TYPES:
            if (type in STAFF_TYPES and not request.user.is_staff) or type in REQUIRED_EMAIL_TYPES:
                continue
            services.preference_set(user=request.user, type=type, enabled=type in chosen)
        saved = True
    current = services.preferences_for(user=request.user)
    rows = [
        {"type": type, "label": label, "enabled": current[type]}
        for type, label in TYPES.items()
        if type in current and (type not in STAFF_TYPES or request.user.is_staff)
    ]
    return render(request, "notifications/preferences.html", {"rows": rows, "saved": saved})


@csrf_exempt  # the signed token is the credential; RFC 8058 one-click POSTs come from mail clients, without cookies
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET: a page with one button; POST (the button, or a mail client's RFC 8058 one-click): e-mail of that one
    type off for that one person. No sign-in needed."""
    found = services.unsubscribe_read(token)
    if found is None:
        return render(request, "notifications/unsubscribe.html", {"invalid": True}, status=400)
    user_id, type = found
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        return render(request, "notifications/unsubscribe.html", {"invalid": True}, status=400)
    done = False
    if request.method == "POST":
        services.preference_set(user=user, type=type, enabled=False)
        done = True
    return render(request, "notifications/unsubscribe.html", {"label": TYPES[type], "done": done, "token": token})


def _mail_dir() -> Path | None:
    path = getattr(settings, "EMAIL_FILE_PATH", None)
    if "filebased" not in settings.EMAIL_BACKEND or not path:
        return None
    return Path(path)


def _summary(path: Path) -> dict[str, str]:
    raw = path.read_bytes()
    parts = raw.split(b"\n" + b"-" * 79 + b"\n")
    message: Message = message_from_bytes(parts[0])
    body = ""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            body = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
            break
    return {
        "name": path.name,
        "to": str(message.get("To", "")),
        "subject": str(message.get("Subject", "")),
        "date": str(message.get("Date", "")),
        "body": body,
    }


@staff_member_required
def mail_outbox(request: HttpRequest) -> HttpResponse:
    """Local development: the e-mails the file backend wrote under var/mail/, newest first."""
    folder = _mail_dir()
    if folder is None:
        raise Http404
    files = sorted(folder.glob("*.log"), key=lambda p: p.stat().st_mtime, reverse=True)[:50] if folder.exists() else []
    return render(request, "notifications/mail_outbox.html", {"mails": [_summary(p) for p in files]})
