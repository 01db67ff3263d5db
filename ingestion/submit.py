"""The submit workflow: a creator sends a new pattern with its files for processing.

One service for every way in: the web form (``ingestion.views.pattern_create``) and the API
(``POST /api/v1/patterns/``) both parse their input and call ``pattern_submit``; neither checks or saves anything
itself. Admission control (``ingestion.admission.upload_admit``) stays in the views because it must run before the
request body is read.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from catalog import services as catalog_services
from catalog.events import PatternSubmitted, PatternVersionSubmitted
from catalog.models import Category, Licence, Pattern, PatternFile, PatternVersion, User
from ingestion import services as ingestion_services
from ingestion.admission import upload_verdict_record
from ingestion.uploads import upload_sessions_claim, upload_sessions_consume
from marketplace.events import record

# What a pattern can be priced in (the form's choices; the API refuses the others).
SUPPORTED_CURRENCIES = ("USD", "EUR", "GBP")


def pattern_submit(
    *,
    creator: User,
    title: str,
    price: int,
    licence: Licence | str,
    description: str = "",
    commercial_price: int | None = None,
    currency: str = "USD",
    category: Category | str | None = None,
    files: Sequence[File] = (),  # type: ignore[type-arg]
    upload_ids: Sequence[uuid.UUID | str] = (),
    tags: Sequence[str] = (),
) -> Pattern:
    """Submit a new pattern: ``files`` sent with the request plus completed resumable uploads ``upload_ids``.

    ``licence`` is a Licence or its code, ``category`` a Category, its slug, or nothing. Checks everything before
    anything is stored; then the pattern, its files, its tags and its ``pattern.submitted`` event (actor: the
    creator) commit together and ingestion is queued. Raises ``ValidationError`` keyed by the input's field names.
    """
    errors: dict[str, list[str]] = {}
    chosen = licence if isinstance(licence, Licence) else Licence.objects.filter(code=licence).first()
    if chosen is None:
        codes = ", ".join(Licence.objects.order_by("code").values_list("code", flat=True))
        errors["licence"] = [f"Unknown licence “{licence}”; use one of: {codes}."]
    if isinstance(category, str):
        slug = category
        category = Category.objects.filter(slug=slug).first() if slug else None
        if slug and category is None:
            errors["category"] = [f"Unknown category “{slug}”."]
    currency = (currency or "USD").upper()
    if currency not in SUPPORTED_CURRENCIES:
        errors["currency"] = [f"Patterns are priced in {', '.join(SUPPORTED_CURRENCIES)}; “{currency}” is not one."]
    if errors or chosen is None:
        raise ValidationError(errors)
    chunked = upload_sessions_claim(user=creator, session_ids=list(upload_ids))
    try:
        pattern = pattern_create(
            creator=creator,
            title=title,
            description=description,
            price=price,
            commercial_price=commercial_price,
            currency=currency,
            licence=chosen,
            category=category,
            uploads=[*files, *chunked],
            tags=tags,
        )
    except BaseException:
        for chunked_file in chunked:
            chunked_file.close()
        raise
    upload_sessions_consume(files=chunked)
    catalog_services.creator_profile_ensure(user=creator)
    return pattern


def _unique_slug(title: str) -> str:
    base = slugify(title)[:140] or "pattern"
    return f"{base}-{uuid.uuid4().hex[:6]}"


def pattern_create(
    *,
    creator: User,
    title: str,
    description: str,
    price: int,
    currency: str,
    licence: Licence,
    uploads: Sequence[File],  # type: ignore[type-arg]
    category: Category | None = None,
    commercial_price: int | None = None,
    tags: Sequence[str] = (),
    enqueue: bool = True,
) -> Pattern:
    """Create a pattern from uploaded files, with the creator's ``tags``, and start its ingestion.

    The step of ``pattern_submit`` after its input is resolved; demo seeding and tests call it directly.
    ``enqueue=False``: the caller runs the pipeline itself, synchronously (``pattern_process_now``: demo
    seeding), so nothing is queued for the workers; were it queued too, the pattern would be processed twice.
    Should the caller stop half-way, the pattern stays in processing without ``enqueued_at`` and the sweeper
    queues it.

    Every file is inspected (content-detected format, size, a parse check) before anything is stored,
    so a rejected upload leaves nothing behind; the pattern, its files, its tags and its ``pattern.submitted``
    event are saved in one transaction. Raises ``ValidationError`` keyed by field.
    """
    pattern = Pattern(
        title=title.strip(),
        slug=_unique_slug(title),
        description=description.strip(),
        creator=creator,
        category=category,
        licence=licence,
        price=price,
        commercial_price=commercial_price,
        currency=(currency or "USD").upper(),
        status=Pattern.Status.PROCESSING,
        processing_step=Pattern.Step.RECEIVED,
        processing_started_at=timezone.now(),
    )
    errors: dict[str, list[str]] = {}
    try:
        pattern.full_clean(exclude=["creator", "slug"])
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if price > 0 and not licence.requires_payment:
        errors.setdefault("licence", []).append(
            f"{licence.name} lets anyone share the files, so it cannot be sold. "
            "Choose the Personal or Commercial licence, or make the pattern free."
        )
    if commercial_price is not None and (licence.code != "personal" or commercial_price < price):
        errors.setdefault("commercial_price", []).append(
            "A Commercial tier is offered on top of a Personal licence, at a price no lower than Personal."
        )
    try:
        prepared = ingestion_services.uploads_inspect(uploads=uploads)
    except ValidationError as exc:
        errors.update(exc.message_dict)
        prepared = []
    if errors:
        upload_verdict_record(accepted=False)
        raise ValidationError(errors)

    stored: list[PatternFile] = []
    try:
        with transaction.atomic():
            pattern.save()
            for upload in prepared:
                pattern_file = PatternFile(
                    pattern=pattern,
                    original_name=upload.original_name[:255],
                    sha256=upload.sha256,
                    size=upload.size,
                    format=upload.format,
                )
                with open(upload.path, "rb") as handle:
                    pattern_file.original.save(upload.original_name, File(handle), save=False)
                stored.append(pattern_file)
                pattern_file.save()
            if tags:
                catalog_services.pattern_tags_add(pattern=pattern, names=tags, source="creator")
            else:
                catalog_services.pattern_refresh_search_vector(pattern=pattern)
            record(
                PatternSubmitted(
                    pattern_id=pattern.pk,
                    creator_id=creator.pk,
                    title=pattern.title,
                    file_count=len(stored),
                    actor_id=creator.pk,
                )
            )
            if enqueue:
                ingestion_services.pipeline_enqueue(pattern=pattern)
    except BaseException:
        for pattern_file in stored:
            pattern_file.original.delete(save=False)
        raise
    finally:
        for upload in prepared:
            upload.cleanup()
    upload_verdict_record(accepted=True)
    return pattern


# --- Versions (issue 12) ---


def version_submit(
    *,
    pattern: Pattern,
    creator: User,
    files: Sequence[File],  # type: ignore[type-arg]
    changelog: str = "",
) -> PatternVersion:
    """Send new files as the next version of a published pattern; the current version stays on sale.

    Checks the files like a submission (nothing is stored when one is refused), then the version, its files and its
    ``pattern.version_submitted`` event (actor: the creator) commit together and the version's ingestion is queued;
    moderation follows. Raises ``PermissionDenied`` for anyone but the creator, ``ValidationError`` for bad input.
    """
    if pattern.creator_id != creator.pk:
        raise PermissionDenied("Only the pattern's creator can send a new version.")
    errors: dict[str, list[str]] = {}
    if pattern.status != Pattern.Status.PUBLISHED:
        errors["pattern"] = [f"New versions are for published patterns; this one is {pattern.status}."]
    if not files:
        errors["files"] = ["Send at least one file."]
    changelog = changelog.strip()
    if len(changelog) > 5000:
        errors["changelog"] = ["Keep the changelog under 5000 characters."]
    if errors:
        raise ValidationError(errors)
    prepared = ingestion_services.uploads_inspect(uploads=files)
    stored: list[PatternFile] = []
    try:
        with transaction.atomic():
            locked = Pattern.objects.select_for_update().get(pk=pattern.pk)
            if PatternVersion.objects.filter(
                pattern=locked, status__in=[PatternVersion.Status.PROCESSING, PatternVersion.Status.NEEDS_REVIEW]
            ).exists():
                raise ValidationError({"files": ["A version of this pattern is already being processed or reviewed."]})
            # Version 1 is the original upload; make sure it exists before numbering the next one.
            if not PatternVersion.objects.filter(pattern=locked, number=1).exists():
                PatternVersion.objects.create(
                    pattern=locked, number=1, status=locked.status, published_at=locked.published_at
                )
            latest = PatternVersion.objects.filter(pattern=locked).order_by("-number").values_list("number", flat=True)
            version = PatternVersion.objects.create(
                pattern=locked, number=(latest.first() or 0) + 1, changelog=changelog
            )
            for upload in prepared:
                pattern_file = PatternFile(
                    pattern=locked,
                    version=version,
                    original_name=upload.original_name[:255],
                    sha256=upload.sha256,
                    size=upload.size,
                    format=upload.format,
                )
                with open(upload.path, "rb") as handle:
                    pattern_file.original.save(upload.original_name, File(handle), save=False)
                stored.append(pattern_file)
                pattern_file.save()
            record(
                PatternVersionSubmitted(
                    pattern_id=locked.pk,
                    creator_id=creator.pk,
                    version=version.number,
                    changelog=changelog,
                    actor_id=creator.pk,
                )
            )
            ingestion_services.version_pipeline_enqueue(version=version)
    except BaseException:
        for pattern_file in stored:
            pattern_file.original.delete(save=False)
        raise
    finally:
        for upload in prepared:
            upload.cleanup()
    return version
