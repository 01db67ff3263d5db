"""Entitlements and signed, expiring, buyer-bound download links."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.urls import reverse

from analytics.services import event_record
from catalog.models import PatternFile
from delivery.models import DownloadEvent, Entitlement

DOWNLOAD_SALT = "tessera.delivery.download"


class DownloadLinkExpired(Exception):
    """The link was genuine but is past its lifetime."""


class DownloadNotAllowed(Exception):
    """The link is forged, for another buyer, or the entitlement is gone."""


def entitlements_grant_for_order(*, order: Any) -> list[Entitlement]:
    """Create one entitlement per order item. Must run in the transaction that marks the order paid."""
    granted = []
    for item in order.items.all():
        entitlement, _ = Entitlement.objects.get_or_create(
            order_item=item, defaults={"buyer_id": order.buyer_id, "pattern_id": item.pattern_id}
        )
        granted.append(entitlement)
    return granted


def download_link_create(*, entitlement: Entitlement, pattern_file: PatternFile) -> str:
    """A relative URL that lets only this buyer fetch this file for a limited time."""
    token = signing.dumps(
        {"e": entitlement.pk, "f": pattern_file.pk, "u": entitlement.buyer_id},
        salt=DOWNLOAD_SALT,
        compress=True,
    )
    return reverse("delivery:download", kwargs={"token": token})


@dataclass
class ResolvedDownload:
    entitlement: Entitlement
    pattern_file: PatternFile


def download_resolve(*, token: str, user: Any) -> ResolvedDownload:
    """Check a link for ``user``: raises ``DownloadLinkExpired`` or ``DownloadNotAllowed``."""
    try:
        payload = signing.loads(token, salt=DOWNLOAD_SALT, max_age=settings.DOWNLOAD_LINK_TTL_SECONDS)
    except signing.SignatureExpired as exc:
        raise DownloadLinkExpired from exc
    except signing.BadSignature as exc:
        raise DownloadNotAllowed from exc
    if not getattr(user, "is_authenticated", False) or payload.get("u") != user.pk:
        raise DownloadNotAllowed
    entitlement = (
        Entitlement.objects.select_related("pattern")
        .filter(pk=payload.get("e"), buyer=user, revoked_at__isnull=True)
        .first()
    )
    if entitlement is None:
        raise DownloadNotAllowed
    pattern_file = PatternFile.objects.filter(pk=payload.get("f"), pattern_id=entitlement.pattern_id).first()
    if pattern_file is None:
        raise DownloadNotAllowed
    return ResolvedDownload(entitlement=entitlement, pattern_file=pattern_file)


def download_record(*, resolved: ResolvedDownload, user: Any, ip_address: str | None) -> DownloadEvent:
    event = DownloadEvent.objects.create(
        entitlement=resolved.entitlement, pattern_file=resolved.pattern_file, user=user, ip_address=ip_address
    )
    event_record(
        kind="download",
        user=user,
        pattern=resolved.entitlement.pattern,
        metadata={"pattern_file_id": resolved.pattern_file.pk},
    )
    return event
