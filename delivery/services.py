"""Entitlements, buyer-bound download links, personal (watermarked) copies, licence certificates."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from catalog import selectors as catalog_selectors
from catalog.models import PatternFile
from delivery import watermark
from delivery.events import DownloadServed, EntitlementGranted, EntitlementRevoked
from delivery.models import DownloadEvent, Entitlement, LicenceCertificate, MarkedFile, Package
from marketplace.broker import queued_jobs
from marketplace.events import record

logger = logging.getLogger(__name__)
DOWNLOAD_SALT = "tessera.delivery.download"


class DownloadLinkExpired(Exception):
    """The link was genuine but is past its lifetime."""


class DownloadNotAllowed(Exception):
    """The link is forged, for another buyer, or the entitlement is gone."""


class DownloadLimitReached(Exception):
    """The buyer has used up this entitlement's downloads, or downloads too fast."""

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


# --------------------------------------------------------------------------------------- entitlements


def entitlements_grant_for_order(*, order: Any, actor_id: int | None = None) -> list[Entitlement]:
    """Create one entitlement per order item the buyer did not already own, and queue their personal copies.

    Must run in the transaction that marks the order paid (delivery.handlers.entitlements_grant, an inline handler
    of ``order.paid``). Records ``entitlement.granted`` for each one it creates.
    """
    granted = []
    for item in order.items.filter(already_owned=False).order_by("pk"):
        entitlement, created = Entitlement.objects.get_or_create(
            order_item=item, defaults={"buyer_id": order.buyer_id, "pattern_id": item.pattern_id}
        )
        granted.append(entitlement)
        if created:
            _granted_record(entitlement=entitlement, actor_id=actor_id)
    from delivery import tasks

    for entitlement in granted:
        transaction.on_commit(partial(tasks.prepare_entitlement.delay, entitlement.pk), robust=True)
    return granted


def entitlements_requeue_undelivered(*, older_than: timedelta | None = None, limit: int = 500) -> int:
    """The delivery sweeper: prepare again the copies of active entitlements that have no ready download.

    Finds what was granted but whose job never ran (broker down at commit, job lost with a killed worker or
    Redis) and enqueues it again. A copy that failed stays failed (the buyer sees why and can retry), and an
    entitlement is looked at only once its job had time to run and while no delivery job waits in the broker
    (so a backlog is not multiplied). Safe to repeat: preparing is idempotent.
    """
    from delivery import tasks

    if queued_jobs(settings.TESSERA_DELIVERY_QUEUES) != 0:
        return 0  # jobs still wait (or the broker is unreachable): nothing can be called lost yet
    cutoff = timezone.now() - (older_than or timedelta(seconds=settings.TESSERA_DELIVERY_STALLED_AFTER_SECONDS))
    undelivered = list(
        Entitlement.objects.filter(revoked_at__isnull=True, created_at__lt=cutoff)
        .exclude(package__status=Package.Status.READY)
        .exclude(marked_files__status=MarkedFile.Status.FAILED)
        .exclude(package__updated_at__gte=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    for entitlement_id in undelivered:
        transaction.on_commit(partial(tasks.prepare_entitlement.delay, entitlement_id), robust=True)
    if undelivered:
        logger.info("requeued %s undelivered entitlements", len(undelivered))
    return len(undelivered)


def _granted_record(*, entitlement: Entitlement, actor_id: int | None) -> None:
    record(
        EntitlementGranted(
            entitlement_id=entitlement.pk,
            buyer_id=entitlement.buyer_id,
            pattern_id=entitlement.pattern_id,
            order_id=entitlement.order_item.order_id,
            actor_id=actor_id,
        )
    )


def entitlements_revoke_for_order(*, order_id: int, reason: str, actor_id: int | None = None) -> int:
    """Revoke the order's active entitlements (refund, dispute). Their links stop working at once.

    Records ``entitlement.revoked`` for each; must run in the transaction of the refund or dispute.
    """
    active = list(
        Entitlement.objects.select_for_update()
        .filter(order_item__order_id=order_id, revoked_at__isnull=True)
        .order_by("pk")
    )
    Entitlement.objects.filter(pk__in=[e.pk for e in active]).update(revoked_at=timezone.now(), revoked_reason=reason)
    for entitlement in active:
        record(
            EntitlementRevoked(
                entitlement_id=entitlement.pk,
                buyer_id=entitlement.buyer_id,
                pattern_id=entitlement.pattern_id,
                reason=reason,
                actor_id=actor_id,
            )
        )
    return len(active)


def entitlements_revoke_for_pattern(*, pattern_id: int, reason: str, actor_id: int | None = None) -> int:
    """Revoke every active entitlement to a pattern (staff chose to, on taking it down: issue 14). Their links stop
    working at once; records ``entitlement.revoked`` for each. Call in the decision's transaction."""
    active = list(
        Entitlement.objects.select_for_update().filter(pattern_id=pattern_id, revoked_at__isnull=True).order_by("pk")
    )
    Entitlement.objects.filter(pk__in=[e.pk for e in active]).update(
        revoked_at=timezone.now(), revoked_reason=reason[:200]
    )
    for entitlement in active:
        record(
            EntitlementRevoked(
                entitlement_id=entitlement.pk,
                buyer_id=entitlement.buyer_id,
                pattern_id=entitlement.pattern_id,
                reason=reason,
                actor_id=actor_id,
            )
        )
    return len(active)


def entitlements_restore_for_order(*, order_id: int, reason: str, actor_id: int | None = None) -> int:
    """Give back entitlements revoked for ``reason`` (a dispute the seller won).

    One the buyer has meanwhile bought again stays revoked: they hold the newer one. A restored one is granted
    again: ``entitlement.granted`` is recorded for it.
    """
    restored = 0
    for entitlement in Entitlement.objects.filter(order_item__order_id=order_id, revoked_reason=reason).order_by("pk"):
        if Entitlement.objects.filter(
            buyer_id=entitlement.buyer_id, pattern_id=entitlement.pattern_id, revoked_at__isnull=True
        ).exists():
            continue
        entitlement.revoked_at = None
        entitlement.revoked_reason = ""
        entitlement.save(update_fields=["revoked_at", "revoked_reason"])
        _granted_record(entitlement=entitlement, actor_id=actor_id)
        restored += 1
    return restored


# --------------------------------------------------------------------------------------- links


@dataclass(frozen=True)
class DownloadTarget:
    """What a link gives: one file, one pattern as a zip, or one whole order as a zip."""

    kind: str  # "file", "pattern" or "order"
    entitlements: list[Entitlement]
    pattern_file: PatternFile | None = None


def download_link_create(*, entitlement: Entitlement, pattern_file: PatternFile | None = None) -> str:
    """A relative URL that lets only this buyer fetch one file (or, without a file, the pattern's zip)."""
    payload = {"k": "file" if pattern_file else "pattern", "e": entitlement.pk, "u": entitlement.buyer_id}
    if pattern_file is not None:
        payload["f"] = pattern_file.pk
    token = signing.dumps(payload, salt=DOWNLOAD_SALT, compress=True)
    return reverse("delivery:download", kwargs={"token": token})


def order_download_link_create(*, order: Any) -> str:
    token = signing.dumps({"k": "order", "o": order.pk, "u": order.buyer_id}, salt=DOWNLOAD_SALT, compress=True)
    return reverse("delivery:download", kwargs={"token": token})


def download_resolve(*, token: str, user: Any) -> DownloadTarget:
    """Check a link for ``user``: raises ``DownloadLinkExpired`` or ``DownloadNotAllowed``."""
    try:
        payload = signing.loads(token, salt=DOWNLOAD_SALT, max_age=settings.DOWNLOAD_LINK_TTL_SECONDS)
    except signing.SignatureExpired as exc:
        raise DownloadLinkExpired from exc
    except signing.BadSignature as exc:
        raise DownloadNotAllowed from exc
    if not getattr(user, "is_authenticated", False) or payload.get("u") != user.pk:
        raise DownloadNotAllowed
    active = Entitlement.objects.select_related("pattern", "order_item__order", "order_item__licence").filter(
        buyer=user, revoked_at__isnull=True
    )
    kind = payload.get("k", "file")
    if kind == "order":
        entitlements = list(active.filter(order_item__order_id=payload.get("o")).order_by("pk"))
        if not entitlements:
            raise DownloadNotAllowed
        return DownloadTarget("order", entitlements)
    entitlement = active.filter(pk=payload.get("e")).first()
    if entitlement is None:
        raise DownloadNotAllowed
    if kind == "pattern":
        return DownloadTarget("pattern", [entitlement])
    # Any version the buyer may have (the original and every published one), never one still under review.
    pattern_file = (
        catalog_selectors.pattern_files_available(pattern_id=entitlement.pattern_id).filter(pk=payload.get("f")).first()
    )
    if pattern_file is None:
        raise DownloadNotAllowed
    return DownloadTarget("file", [entitlement], pattern_file)


def download_check_limits(*, target: DownloadTarget, user: Any) -> None:
    """Raise ``DownloadLimitReached`` when this download would exceed a limit (nothing is recorded)."""
    hour_ago = timezone.now() - timedelta(hours=1)
    recent = DownloadEvent.objects.filter(user=user, created_at__gte=hour_ago)
    if recent.count() >= settings.TESSERA_DOWNLOADS_PER_HOUR:
        oldest = recent.order_by("created_at").values_list("created_at", flat=True).first()
        wait = int((oldest + timedelta(hours=1) - timezone.now()).total_seconds()) + 1 if oldest else 3600
        raise DownloadLimitReached(
            f"You have downloaded {settings.TESSERA_DOWNLOADS_PER_HOUR} files in the last hour. "
            f"Please wait {max(wait // 60, 1)} minutes.",
            retry_after=max(wait, 1),
        )
    for entitlement in target.entitlements:
        if entitlement.downloads.count() >= settings.TESSERA_DOWNLOADS_PER_ENTITLEMENT:
            raise DownloadLimitReached(
                f"“{entitlement.pattern.title}” has been downloaded {settings.TESSERA_DOWNLOADS_PER_ENTITLEMENT} "
                "times, the most one purchase allows. Contact support if you need more."
            )


def download_record(*, target: DownloadTarget, user: Any, ip_address: str | None) -> list[DownloadEvent]:
    """Keep one download row per entitlement served and record ``download.served`` (actor: the buyer) for each;
    analytics counts downloads from the outbox."""
    events = []
    with transaction.atomic():
        for entitlement in target.entitlements:
            event = DownloadEvent.objects.create(
                entitlement=entitlement,
                pattern_file=target.pattern_file,
                kind=target.kind,
                user=user,
                ip_address=ip_address,
            )
            events.append(event)
            record(
                DownloadServed(
                    entitlement_id=entitlement.pk,
                    buyer_id=entitlement.buyer_id,
                    pattern_id=entitlement.pattern_id,
                    file_ids=[target.pattern_file.pk] if target.pattern_file else [],
                    kind=target.kind,
                    actor_id=user.pk,
                )
            )
    return events


# --------------------------------------------------------------------------------------- personal copies


def licence_notice(entitlement: Entitlement) -> str:
    buyer = entitlement.buyer
    name = buyer.get_full_name() or buyer.username
    return (
        f"Licensed to {name}, order #{entitlement.order_item.order_id} ({entitlement.order_item.licence.name} licence)"
    )


def marked_file_prepare(*, entitlement: Entitlement, pattern_file: PatternFile) -> MarkedFile:
    """Make (once) the buyer's watermarked copy of one file. Idempotent: a ready copy is returned as is."""
    with transaction.atomic():
        marked, _ = MarkedFile.objects.get_or_create(entitlement=entitlement, pattern_file=pattern_file)
        marked = MarkedFile.objects.select_for_update().get(pk=marked.pk)
        if marked.status in (MarkedFile.Status.READY, MarkedFile.Status.UNMARKED):
            return marked
        with pattern_file.original.open("rb") as handle:
            original = handle.read()
        status, error = MarkedFile.Status.READY, ""
        metrics: dict[str, Any] = {}
        if pattern_file.format in watermark.MARKABLE_FORMATS:
            try:
                content, metrics = watermark.mark(
                    original,
                    file_format=pattern_file.format,
                    entitlement_id=entitlement.pk,
                    notice=licence_notice(entitlement),
                )
            except (ValueError, OSError, KeyError, IndexError) as exc:
                # A file we cannot mark (too small an image, an unusual layout) is delivered as it is,
                # and says so; it still travels with its licence certificate.
                logger.warning("could not watermark file %s: %s", pattern_file.pk, exc)
                content, status, error = original, MarkedFile.Status.UNMARKED, str(exc)[:500]
        else:
            content, status = original, MarkedFile.Status.UNMARKED
        if marked.file:
            marked.file.delete(save=False)
        marked.file.save(pattern_file.original_name, ContentFile(content), save=False)
        marked.status = status
        marked.sha256 = hashlib.sha256(content).hexdigest()
        marked.size = len(content)
        marked.metrics = metrics
        marked.error = error
        marked.save(update_fields=["file", "status", "sha256", "size", "metrics", "error", "updated_at"])
    return marked


def marked_file_fail(*, marked_file_id: int, error: str) -> None:
    MarkedFile.objects.filter(pk=marked_file_id, status=MarkedFile.Status.PENDING).update(
        status=MarkedFile.Status.FAILED, error=error[:500]
    )


# --------------------------------------------------------------------------------------- certificates


def _sign(content: dict[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(settings.SECRET_KEY.encode(), b"certificate:" + canonical, hashlib.sha256).hexdigest()


def certificate_issue(*, entitlement: Entitlement) -> LicenceCertificate:
    """The entitlement's licence certificate, issued once."""
    existing = LicenceCertificate.objects.filter(entitlement=entitlement).first()
    if existing is not None:
        return existing
    certificate = LicenceCertificate(entitlement=entitlement)
    item = entitlement.order_item
    licence = item.licence
    pattern = entitlement.pattern
    buyer = entitlement.buyer
    content = {
        "certificate_id": str(certificate.id),
        "issued_at": timezone.now().isoformat(timespec="seconds"),
        "order": {"id": item.order_id, "paid_at": item.order.paid_at.isoformat() if item.order.paid_at else None},
        "buyer": {"username": buyer.username, "name": buyer.get_full_name() or buyer.username},
        "pattern": {
            "id": pattern.pk,
            "title": pattern.title,
            "creator": pattern.creator.username,
            "url": settings.SITE_URL + pattern.get_absolute_url(),
        },
        "licence": {
            "code": licence.code,
            "name": licence.name,
            "terms": licence.summary,
            "url": licence.url,
            "commercial_use": licence.allows_commercial_use,
        },
        "verification_url": settings.SITE_URL + reverse("delivery:certificate_verify", kwargs={"pk": certificate.id}),
    }
    certificate.content = content
    certificate.signature = _sign(content)
    try:
        with transaction.atomic():
            certificate.save()
    except IntegrityError:
        # Another worker issued it first; theirs is the certificate.
        existing = LicenceCertificate.objects.filter(entitlement=entitlement).first()
        if existing is None:
            raise
        return existing
    return certificate


def certificate_json(certificate: LicenceCertificate) -> bytes:
    return json.dumps({**certificate.content, "signature": certificate.signature}, indent=2).encode()


def certificate_text(certificate: LicenceCertificate) -> bytes:
    c = certificate.content
    lines = [
        f"LICENCE CERTIFICATE — {c['licence']['name']}",
        "",
        f"Pattern:   {c['pattern']['title']} by {c['pattern']['creator']}",
        f"           {c['pattern']['url']}",
        f"Licensee:  {c['buyer']['name']} ({c['buyer']['username']})",
        f"Order:     #{c['order']['id']}, paid {c['order']['paid_at'] or 'free'}",
        f"Issued:    {c['issued_at']}",
        "",
        "Terms:",
        f"  {c['licence']['terms']}",
        f"  Commercial use: {'allowed' if c['licence']['commercial_use'] else 'not allowed'}",
        *([f"  Full text: {c['licence']['url']}"] if c["licence"]["url"] else []),
        "",
        "Every file in this download carries an invisible mark that identifies this licence.",
        "",
        "Check that this certificate is genuine and still valid:",
        f"  {c['verification_url']}",
        f"Certificate id: {c['certificate_id']}",
        "",
    ]
    return "\n".join(lines).encode()


@dataclass(frozen=True)
class CertificateCheck:
    genuine: bool
    valid: bool
    message: str
    certificate: LicenceCertificate | None


def certificate_verify(*, certificate_id: Any, document: dict[str, Any] | None = None) -> CertificateCheck:
    """Is a certificate ours and untampered (when ``document`` is given), and does the licence still hold?"""
    certificate = (
        LicenceCertificate.objects.select_related("entitlement").filter(pk=certificate_id).first()
        if certificate_id
        else None
    )
    if certificate is None:
        return CertificateCheck(False, False, "Tessera never issued a certificate with this id.", None)
    if document is not None:
        claimed = dict(document)
        signature = str(claimed.pop("signature", ""))
        if claimed != certificate.content or not hmac.compare_digest(signature, certificate.signature):
            return CertificateCheck(
                False,
                False,
                "This document has been altered: it does not match the certificate we issued.",
                certificate,
            )
    entitlement = certificate.entitlement
    if entitlement.revoked_at is not None:
        return CertificateCheck(
            True, False, f"Genuine, but the licence was withdrawn ({entitlement.revoked_reason}).", certificate
        )
    return CertificateCheck(True, True, "Genuine and valid.", certificate)


# --------------------------------------------------------------------------------------- zips


def _unique_name(name: str, taken: set[str]) -> str:
    candidate, counter = name, 1
    stem, dot, ext = name.rpartition(".")
    while candidate in taken:
        counter += 1
        candidate = f"{stem or ext}-{counter}{dot}{ext if stem else ''}"
    taken.add(candidate)
    return candidate


def _write_pattern(archive: zipfile.ZipFile, entitlement: Entitlement, folder: str) -> None:
    taken: set[str] = {"LICENSE.txt", "certificate.json"}
    # The zip holds the current version; earlier versions stay downloadable file by file.
    current = catalog_selectors.pattern_files_current(pattern_id=entitlement.pattern_id).values("pk")
    marked_files = entitlement.marked_files.filter(pattern_file__in=current)
    for marked in marked_files.select_related("pattern_file").order_by("pattern_file_id"):
        with marked.file.open("rb") as handle:
            with archive.open(folder + _unique_name(marked.pattern_file.original_name, taken), "w") as target:
                while chunk := handle.read(1024 * 1024):
                    target.write(chunk)
    certificate = certificate_issue(entitlement=entitlement)
    archive.writestr(folder + "LICENSE.txt", certificate_text(certificate))
    archive.writestr(folder + "certificate.json", certificate_json(certificate))


def entitlement_prepare(*, entitlement: Entitlement) -> Package:
    """Every personal copy of the pattern's files (every available version), its certificate and its zip.
    Idempotent."""
    for pattern_file in catalog_selectors.pattern_files_available(pattern_id=entitlement.pattern_id):
        marked_file_prepare(entitlement=entitlement, pattern_file=pattern_file)
    filename = f"{slugify(entitlement.pattern.title) or 'pattern'}-order-{entitlement.order_item.order_id}.zip"
    package, _ = Package.objects.get_or_create(
        entitlement=entitlement, defaults={"buyer_id": entitlement.buyer_id, "filename": filename}
    )
    return _package_build(package=package, parts=[(entitlement, "")])


def order_package_prepare(*, order: Any) -> Package | None:
    entitlements = list(
        Entitlement.objects.filter(order_item__order=order, revoked_at__isnull=True)
        .select_related("pattern", "order_item")
        .order_by("pk")
    )
    if not entitlements:
        return None
    for entitlement in entitlements:
        entitlement_prepare(entitlement=entitlement)
    package, _ = Package.objects.get_or_create(
        order=order, defaults={"buyer_id": order.buyer_id, "filename": f"tessera-order-{order.pk}.zip"}
    )
    taken: set[str] = set()
    parts = [
        (e, _unique_name(slugify(e.pattern.title) or f"pattern-{e.pattern_id}", taken) + "/") for e in entitlements
    ]
    return _package_build(package=package, parts=parts)


def _package_build(*, package: Package, parts: list[tuple[Entitlement, str]]) -> Package:
    with transaction.atomic():
        package = Package.objects.select_for_update().get(pk=package.pk)
        if package.status == Package.Status.READY:
            return package
        with tempfile.TemporaryFile() as spool:
            # Marked files are already compressed formats or small; store keeps zipping cheap.
            with zipfile.ZipFile(spool, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
                for entitlement, folder in parts:
                    _write_pattern(archive, entitlement, folder)
            spool.seek(0, io.SEEK_END)
            package.size = spool.tell()
            spool.seek(0)
            package.file.save(package.filename, File(spool), save=False)
        package.status = Package.Status.READY
        package.error = ""
        package.save(update_fields=["file", "status", "size", "error", "updated_at"])
    return package


def target_ready_file(*, target: DownloadTarget) -> tuple[Any, str] | None:
    """The stored file and download name for a target, or None while it is still being prepared."""
    if target.kind == "file":
        if target.pattern_file is None:
            return None
        marked = MarkedFile.objects.filter(entitlement=target.entitlements[0], pattern_file=target.pattern_file).first()
        if marked and marked.status in (MarkedFile.Status.READY, MarkedFile.Status.UNMARKED):
            return marked.file, target.pattern_file.original_name
        return None
    if target.kind == "pattern":
        package = Package.objects.filter(entitlement=target.entitlements[0], status=Package.Status.READY).first()
    else:
        order_id = target.entitlements[0].order_item.order_id
        package = Package.objects.filter(order_id=order_id, status=Package.Status.READY).first()
    return (package.file, package.filename) if package else None


def target_request_preparation(*, target: DownloadTarget) -> None:
    """Queue whatever the target still needs (a failed attempt is retried)."""
    from delivery import tasks

    if target.kind == "order":
        order_id = target.entitlements[0].order_item.order_id
        transaction.on_commit(lambda: tasks.prepare_order_package.delay(order_id), robust=True)
        return
    entitlement = target.entitlements[0]
    MarkedFile.objects.filter(entitlement=entitlement, status=MarkedFile.Status.FAILED).update(
        status=MarkedFile.Status.PENDING
    )
    transaction.on_commit(lambda: tasks.prepare_entitlement.delay(entitlement.pk), robust=True)


def target_failure(*, target: DownloadTarget) -> str:
    """Why the target could not be prepared, or "" while nothing failed."""
    failed = MarkedFile.objects.filter(
        entitlement__in=target.entitlements, status=MarkedFile.Status.FAILED
    ).values_list("error", flat=True)
    return next(iter(failed), "")


# --- Versions (issue 12) ---


def entitlements_offer_version(*, pattern_id: int, version: int) -> int:
    """A new version was published: every earlier buyer gets their own marked copy of it, prepared on the
    ``delivery`` queue, and their zips are rebuilt with it (earlier versions stay downloadable). Idempotent:
    copies already made are kept. Returns how many entitlements were queued."""
    from delivery import tasks

    entitlement_ids = list(
        Entitlement.objects.filter(pattern_id=pattern_id, revoked_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    order_ids = Entitlement.objects.filter(pk__in=entitlement_ids).values("order_item__order_id")
    Package.objects.filter(entitlement_id__in=entitlement_ids).update(status=Package.Status.PENDING)
    Package.objects.filter(order_id__in=order_ids).update(status=Package.Status.PENDING)
    for entitlement_id in entitlement_ids:
        transaction.on_commit(partial(tasks.prepare_entitlement.delay, entitlement_id), robust=True)
    logger.info("pattern %s v%s: %s earlier buyers' copies queued", pattern_id, version, len(entitlement_ids))
    return len(entitlement_ids)
