"""Ingestion: inspecting uploads, running validators and previews, and moving patterns through states."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from PIL import Image

from catalog import selectors as catalog_selectors
from catalog import services as catalog_services
from catalog.embeddings import embed_texts, pattern_document
from catalog.formatting import human_size
from catalog.models import (
    FORMAT_FAMILIES,
    PUBLISHED_MEDIA_PREFIX,
    CopyFlag,
    Pattern,
    PatternFile,
    PatternVersion,
    Preview,
    PreviewRendition,
    User,
    ViewerModel,
    is_published_media,
)
from catalog.vision import image_embeddings
from ingestion import validators
from ingestion.admission import ingest_queue_for
from ingestion.formats import UnsupportedFormat, detect_format
from ingestion.preview_mark import preview_watermark
from ingestion.renditions import renditions_render
from ingestion.shape import IMAGE_COPY_BITS, SHAPE_COPY_DISTANCE
from marketplace.broker import queued_jobs

logger = logging.getLogger(__name__)

FAMILY_TAGS = {
    "mesh": ["3d printing"],
    "vector": ["laser cutting", "cnc"],
    "document": ["printable pattern"],
    "image": ["surface pattern"],
    "bundle": ["bundle"],
}


@dataclass
class PreparedUpload:
    """An upload that passed inspection, waiting in a temporary file to be stored."""

    original_name: str
    path: Path
    format: str
    sha256: str
    size: int
    owns_path: bool

    def cleanup(self) -> None:
        if self.owns_path:
            self.path.unlink(missing_ok=True)


def _spool(upload: File) -> tuple[Path, str, int, bool]:  # type: ignore[type-arg]
    """Put the upload on disk (if Django has not) and hash it in one pass."""
    digest = hashlib.sha256()
    size = 0
    temporary_path = getattr(upload, "temporary_file_path", None)
    if temporary_path is not None:
        path = Path(temporary_path())
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
                size += len(chunk)
        return path, digest.hexdigest(), size, False
    descriptor, name = tempfile.mkstemp(prefix="tessera-upload-")
    with os.fdopen(descriptor, "wb") as out:
        upload.seek(0)
        for chunk in upload.chunks():
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return Path(name), digest.hexdigest(), size, True


def uploads_inspect(*, uploads: Sequence[File]) -> list[PreparedUpload]:  # type: ignore[type-arg]
    """Check every upload before anything is stored. Raises ``ValidationError({"files": [...]})``."""
    limit = settings.TESSERA_MAX_UPLOAD_BYTES
    if not uploads:
        raise ValidationError({"files": ["Add at least one file."]})
    if len(uploads) > settings.TESSERA_MAX_FILES_PER_PATTERN:
        raise ValidationError(
            {"files": [f"A pattern can have at most {settings.TESSERA_MAX_FILES_PER_PATTERN} files."]}
        )
    problems: list[str] = []
    prepared: list[PreparedUpload] = []
    for upload in uploads:
        name = os.path.basename(upload.name or "file")
        if not upload.size:
            problems.append(f"{name}: the file is empty.")
            continue
        if upload.size > limit:
            problems.append(
                f"{name}: the file is {human_size(upload.size)}; the limit is {human_size(limit)}. "
                "Split it into several files or reduce its detail."
            )
            continue
        path, sha256, size, owns_path = _spool(upload)
        item = PreparedUpload(name, path, "", sha256, size, owns_path)
        try:
            item.format = detect_format(path)
            if size <= settings.TESSERA_SYNC_PARSE_MAX_BYTES:
                validators.quick_check(path, item.format)
        except (UnsupportedFormat, validators.FileRejected) as exc:
            problems.append(f"{name}: {exc}")
            item.cleanup()
            continue
        prepared.append(item)
    if problems:
        for item in prepared:
            item.cleanup()
        raise ValidationError({"files": problems})
    return prepared


def pipeline_enqueue(*, pattern: Pattern) -> None:
    """Queue the ingestion chain for ``pattern`` once the current transaction commits."""
    from ingestion import tasks

    files = list(pattern.files.order_by("id").values_list("id", "size"))
    file_ids = [file_id for file_id, _ in files]
    queue = ingest_queue_for(total_bytes=sum(size for _, size in files))
    pattern_id = pattern.pk

    def send() -> None:
        # A broker outage must not fail the request that saved the pattern (robust=True logs instead);
        # the pattern keeps an empty ``enqueued_at`` and the sweeper publishes it once the broker is back.
        tasks.pipeline_signature(pattern_id=pattern_id, file_ids=file_ids, queue=queue).delay()
        Pattern.objects.filter(pk=pattern_id).update(enqueued_at=timezone.now())

    transaction.on_commit(send, robust=True)


@contextmanager
def _local_copy(pattern_file: PatternFile) -> Iterator[Path]:
    """A local path for the original, downloading it first when storage is remote (S3)."""
    storage = pattern_file.original.storage
    stored_name = str(pattern_file.original.name)
    try:
        yield Path(storage.path(stored_name))
        return
    except NotImplementedError:
        pass
    handle, name = tempfile.mkstemp(prefix="tessera-original-", suffix=f".{pattern_file.format}")
    try:
        with os.fdopen(handle, "wb") as out, storage.open(stored_name, "rb") as source:
            shutil.copyfileobj(source, out, 1 << 20)
        yield Path(name)
    finally:
        os.unlink(name)


def _set_step(pattern_id: int, step: str) -> None:
    Pattern.objects.filter(pk=pattern_id, status=Pattern.Status.PROCESSING).update(
        processing_step=step, updated_at=timezone.now()
    )


def pattern_file_process(*, pattern_file_id: int) -> PatternFile | None:
    """Validate one file and render its previews. Idempotent: a file already processed is left as is.

    A file that cannot be parsed ends ``invalid`` with a report that says why; it never raises for bad
    content.
    """
    with transaction.atomic():
        pattern_file = (
            PatternFile.objects.select_for_update(of=("self",))
            .select_related("pattern", "version")
            .filter(pk=pattern_file_id)
            .first()
        )
        if pattern_file is None or pattern_file.status != PatternFile.Status.PENDING:
            return pattern_file
        version = pattern_file.version
        new_version = version is not None and version.number > 1
        if new_version and version is not None and version.status != PatternVersion.Status.PROCESSING:
            return pattern_file
        if not new_version and pattern_file.pattern.status != Pattern.Status.PROCESSING:
            return pattern_file
        _set_step(pattern_file.pattern_id, Pattern.Step.VALIDATING)
    with _local_copy(pattern_file) as path:
        report, images = validators.validate(path, pattern_file.format)
    _set_step(pattern_file.pattern_id, Pattern.Step.RENDERING)
    with transaction.atomic():
        locked = PatternFile.objects.select_for_update().get(pk=pattern_file.pk)
        if locked.status != PatternFile.Status.PENDING:
            return locked
        locked.previews.all().delete()
        ViewerModel.objects.filter(pattern_file=locked).delete()
        viewer_stl = report.artifacts.get("viewer.stl")
        if viewer_stl and report.ok:
            viewer = ViewerModel(pattern_file=locked, face_count=int.from_bytes(viewer_stl[80:84], "little"))
            # Random names: a preview's URL must not be derivable from the file (its sha256 is public).
            viewer.file.save(f"{uuid.uuid4().hex}.stl", ContentFile(viewer_stl), save=False)
            viewer.save()
        for position, (label, clean_image) in enumerate(images):
            image = preview_watermark(clean_image, settings.TESSERA_PREVIEW_WATERMARK_TEXT)
            buffer = io.BytesIO()
            image.save(buffer, format="PNG", optimize=True)
            preview = Preview(
                pattern_id=locked.pattern_id,
                pattern_file=locked,
                label=label,
                position=position,
                width=image.width,
                height=image.height,
            )
            preview.image.save(f"{uuid.uuid4().hex}.png", ContentFile(buffer.getvalue()), save=False)
            preview.save()
            _renditions_store(preview=preview, image=image)
        locked.validation = report.as_dict()
        locked.status = PatternFile.Status.VALID if report.ok else PatternFile.Status.INVALID
        shape = report.artifacts.get("shape.f32")
        image_hash = report.artifacts.get("dhash.f32")
        locked.shape_descriptor = np.frombuffer(shape, dtype=np.float32).tolist() if shape else None
        locked.image_hash = np.frombuffer(image_hash, dtype=np.float32).tolist() if image_hash else None
        locked.save(update_fields=["validation", "status", "shape_descriptor", "image_hash"])
        if new_version and locked.version_id is not None:
            # Progress, for the reaper of versions (a version has no processing step of its own).
            PatternVersion.objects.filter(pk=locked.version_id, status=PatternVersion.Status.PROCESSING).update(
                updated_at=timezone.now()
            )
    return locked


def _renditions_store(*, preview: Preview, image: Image.Image) -> int:
    """Store the renditions of ``preview`` it lacks, rendered from ``image`` (its watermarked pixels).

    They sit where the preview sits: under the public prefix only if the preview is already public (a backfill of a
    published pattern), else under a private random name that only the checked view sends.
    """
    have = frozenset(preview.renditions.values_list("format", "width"))
    made = 0
    for rendered in renditions_render(image, skip=have):
        rendition = PreviewRendition(
            preview=preview,
            format=rendered.format,
            width=rendered.width,
            height=rendered.height,
            size=len(rendered.data),
        )
        name = f"{uuid.uuid4().hex}.{rendered.format}"
        content = ContentFile(rendered.data)
        if is_published_media(preview.image.name):
            rendition.image.name = rendition.image.storage.save(f"{PUBLISHED_MEDIA_PREFIX}{name}", content)
        else:
            rendition.image.save(name, content, save=False)
        rendition.save()
        made += 1
    return made


def preview_renditions_ensure(*, preview_id: int) -> int:
    """Make the missing renditions of one stored preview (backfill). Idempotent; returns how many were made.

    Holds the pattern's row lock, like publishing and hiding, so a rendition never lands on the wrong side of the
    public prefix while its preview moves.
    """
    with transaction.atomic():
        pattern_id = Preview.objects.filter(pk=preview_id).values_list("pattern_id", flat=True).first()
        if pattern_id is None or not Pattern.objects.select_for_update().filter(pk=pattern_id).exists():
            return 0
        preview = Preview.objects.filter(pk=preview_id).first()
        if preview is None or not preview.image.name:
            return 0
        with preview.image.open("rb") as handle, Image.open(handle) as image:
            image.load()
            return _renditions_store(preview=preview, image=image)


def pattern_finalize(*, pattern_id: int, enqueue_models: bool = True) -> Pattern | None:
    """After every file is processed: fail with reasons, or tag and hand over to moderators.

    ``enqueue_models=False``: the caller runs the model work (tags, embeddings) itself, so none is queued.
    """
    with transaction.atomic():
        pattern = Pattern.objects.select_for_update().filter(pk=pattern_id).first()
        if pattern is None or pattern.status != Pattern.Status.PROCESSING:
            return pattern
        files = list(pattern.files.order_by("id"))
        if any(f.status == PatternFile.Status.PENDING for f in files):
            return pattern  # a file task has not run yet; the chain will call us again
        invalid = [f for f in files if f.status == PatternFile.Status.INVALID]
        if invalid:
            messages = []
            for pattern_file in invalid:
                for finding in pattern_file.validation.get("findings", []):
                    if finding["severity"] == "error":
                        messages.append(f"{pattern_file.original_name}: {finding['message']}")
            reason = "\n".join(messages) or "A file failed validation."
            return catalog_services.pattern_processing_fail(pattern_id=pattern.pk, reason=reason) or pattern
        pattern.processing_step = Pattern.Step.TAGGING
        pattern.save(update_fields=["processing_step", "updated_at"])
        copies_detect(pattern=pattern, files=files)
        families = sorted({FORMAT_FAMILIES[f.format] for f in files})
        names = [tag for family in families for tag in FAMILY_TAGS[family]]
        names += sorted({f.format for f in files})
        catalog_services.pattern_tags_add(pattern=pattern, names=names)
        # Still tagging: the model pipeline (ingestion.tagging.service.pattern_tag) marks the pattern ready.
        warnings = sum(
            1
            for pattern_file in files
            for finding in (pattern_file.validation or {}).get("findings", [])
            if finding.get("severity") == "warning"
        )
        catalog_services.pattern_processing_finish(pattern=pattern, warnings=warnings)
        if enqueue_models:
            embeddings_enqueue(pattern_id=pattern.pk)
        return pattern


def embeddings_enqueue(*, pattern_id: int) -> None:
    """Queue the model work on the ``gpu`` queue once the current transaction commits: tags first (their network
    pass also embeds the previews it looks at), then the remaining preview embeddings, then the text embedding
    (it includes the tags)."""
    from ingestion import tasks

    transaction.on_commit(lambda: tasks.model_pipeline_signature(pattern_id=pattern_id).delay(), robust=True)


def copies_detect(*, pattern: Pattern, files: list[PatternFile]) -> list[CopyFlag]:
    """Flag files that copy another creator's file: identical bytes, the same 3D shape, or the same image.

    Only other creators' files count (a creator may re-upload their own work). Idempotent: a match is
    flagged once whatever the number of runs.
    """
    others = PatternFile.objects.exclude(pattern__creator_id=pattern.creator_id).exclude(
        pattern__status__in=[Pattern.Status.REJECTED, Pattern.Status.FAILED]
    )
    flags = []
    for pattern_file in files:
        matches: list[tuple[PatternFile, str, float, float]] = [
            (match, CopyFlag.Kind.EXACT, 0.0, 0.0) for match in others.filter(sha256=pattern_file.sha256)[:5]
        ]
        for field, threshold, kind in (
            ("shape_descriptor", SHAPE_COPY_DISTANCE, CopyFlag.Kind.SHAPE),
            ("image_hash", IMAGE_COPY_BITS, CopyFlag.Kind.IMAGE),
        ):
            vector = getattr(pattern_file, field)
            if vector is None:
                continue
            nearest = catalog_selectors.pattern_files_nearest(
                files=others, field=field, vector=vector, within=threshold
            )
            matches += [(match, kind, distance, threshold) for match, distance in nearest]
        for match, match_kind, distance, limit in matches:
            flags.append(
                catalog_services.copy_flag_record(
                    pattern=pattern,
                    pattern_file=pattern_file,
                    matched_file=match,
                    kind=match_kind,
                    distance=float(distance),
                    threshold=float(limit),
                )
            )
    if flags:
        logger.info("pattern %s: %s possible copies flagged for moderation", pattern.pk, len(flags))
    return flags


def pattern_embed_text(*, pattern_id: int) -> Pattern | None:
    """Compute the pattern's text embedding from its current title, tags and description. Idempotent."""
    pattern = Pattern.objects.select_related("category").filter(pk=pattern_id).first()
    if pattern is None:
        return None
    document = pattern_document(
        title=pattern.title,
        description=pattern.description,
        tags=list(pattern.tags.values_list("name", flat=True)),
        category=pattern.category.name if pattern.category else "",
    )
    vector = embed_texts([document])[0]
    Pattern.objects.filter(pk=pattern_id).update(text_embedding=vector.tolist())
    pattern.text_embedding = vector
    return pattern


def pattern_embed_images(*, pattern_id: int) -> int:
    """Embed every preview of the pattern that has no embedding yet (batched). Idempotent; returns how many."""
    previews = list(Preview.objects.filter(pattern_id=pattern_id, embedding__isnull=True).order_by("id"))
    if not previews:
        return 0
    images = []
    for preview in previews:
        with preview.image.open("rb") as handle, Image.open(handle) as image:
            images.append(image.convert("RGB"))
    vectors = image_embeddings(images)
    for preview, vector in zip(previews, vectors, strict=True):
        Preview.objects.filter(pk=preview.pk, embedding__isnull=True).update(embedding=vector.tolist())
    return len(previews)


def pattern_fail(*, pattern_id: int, reason: str) -> None:
    """Mark a pattern that is still processing as failed, with a reason the creator can read."""
    catalog_services.pattern_processing_fail(pattern_id=pattern_id, reason=reason)


STALLED_REASON = (
    "Processing stopped making progress {attempts} times and was given up. Try uploading again, or contact "
    "support if the file is very large."
)


def patterns_requeue_stuck(*, older_than: timedelta | None = None) -> dict[str, int]:
    """The reaper: put back on the queue the ingestion work that was lost, and fail what cannot finish.

    - a processing pattern whose job was never published (the broker was down when it was saved) is
      published again once its grace period is over; that is not the pattern's fault, so it costs no attempt;
    - a processing pattern with no progress for ``older_than`` (its worker was killed, its message lost with
      Redis) is requeued up to ``TESSERA_PROCESSING_MAX_ATTEMPTS`` times, counted on the row, and then
      failed with a reason the creator can read; only while no ingestion job waits in the broker (or the
      broker cannot be asked), since a job queued behind a backlog is late, not lost.

    Requeueing is safe because every ingestion task is idempotent (a processed file is left as is; finalize
    does nothing unless the pattern is still processing). Returns counts by outcome.
    """
    now = timezone.now()
    stalled_cutoff = now - (older_than or timedelta(seconds=settings.TESSERA_PROCESSING_TIMEOUT_SECONDS))
    unqueued_cutoff = now - timedelta(seconds=settings.TESSERA_UNQUEUED_AFTER_SECONDS)
    max_attempts = settings.TESSERA_PROCESSING_MAX_ATTEMPTS
    outcome = {"published": 0, "requeued": 0, "failed": 0}
    processing = Pattern.objects.filter(status=Pattern.Status.PROCESSING)
    unqueued = processing.filter(enqueued_at__isnull=True, updated_at__lt=unqueued_cutoff)
    stalled = processing.filter(enqueued_at__isnull=False, updated_at__lt=stalled_cutoff)
    for pattern_id in list(unqueued.values_list("pk", flat=True)[:500]):
        with transaction.atomic():
            pattern = unqueued.select_for_update(skip_locked=True).filter(pk=pattern_id).first()
            if pattern is None:
                continue
            # Touch the row so the next sweep waits a full grace period for this publish to land.
            pattern.save(update_fields=["updated_at"])
            pipeline_enqueue(pattern=pattern)
            outcome["published"] += 1
    waiting = queued_jobs(settings.TESSERA_INGEST_QUEUES) if stalled.exists() else 0
    if waiting:
        logger.info("%s ingestion jobs still queued; stalled patterns wait for them", waiting)
    stalled_ids = list(stalled.values_list("pk", flat=True)[:500]) if waiting == 0 else []
    for pattern_id in stalled_ids:
        with transaction.atomic():
            pattern = stalled.select_for_update(skip_locked=True).filter(pk=pattern_id).first()
            if pattern is None:
                continue
            if pattern.processing_attempts >= max_attempts:
                catalog_services.pattern_processing_fail(
                    pattern_id=pattern.pk, reason=STALLED_REASON.format(attempts=pattern.processing_attempts + 1)
                )
                logger.warning("pattern %s failed after %s requeues", pattern.pk, pattern.processing_attempts)
                outcome["failed"] += 1
                continue
            pattern.processing_attempts += 1
            pattern.enqueued_at = None
            pattern.save(update_fields=["processing_attempts", "enqueued_at", "updated_at"])
            pipeline_enqueue(pattern=pattern)
            logger.info("pattern %s made no progress; requeued (attempt %s)", pattern.pk, pattern.processing_attempts)
            outcome["requeued"] += 1
    return outcome


TAGGING_GAVE_UP_NOTE = "automatic tags unavailable"


def patterns_tagging_requeue_stuck(*, older_than: timedelta | None = None) -> dict[str, int]:
    """The reaper of the model pipeline: a pattern whose tagging made no progress for ``older_than`` (its worker
    died, its task raised, its message was lost) gets its model work queued again, up to
    ``TESSERA_PROCESSING_MAX_ATTEMPTS`` attempts in all (counted on the row with the ingestion requeues); after
    that its step becomes "ready" without the automatic tags, so the creator's status page never waits forever.
    Skipped while model jobs still wait in the broker (late, not lost) or the broker cannot be asked.
    """
    cutoff = timezone.now() - (older_than or timedelta(seconds=settings.TESSERA_PROCESSING_TIMEOUT_SECONDS))
    outcome = {"tagging_requeued": 0, "tagging_given_up": 0}
    stalled = Pattern.objects.filter(processing_step=Pattern.Step.TAGGING, updated_at__lt=cutoff).exclude(
        status__in=[Pattern.Status.PROCESSING, Pattern.Status.FAILED]
    )
    if not stalled.exists():
        return outcome
    waiting = queued_jobs(["gpu"])
    if waiting is None or waiting:
        logger.info("model jobs still queued (%s) or broker unreachable; stalled tagging waits", waiting)
        return outcome
    for pattern_id in list(stalled.values_list("pk", flat=True)[:500]):
        with transaction.atomic():
            pattern = stalled.select_for_update(skip_locked=True).filter(pk=pattern_id).first()
            if pattern is None:
                continue
            if pattern.processing_attempts >= settings.TESSERA_PROCESSING_MAX_ATTEMPTS:
                pattern.processing_step = Pattern.Step.READY
                pattern.save(update_fields=["processing_step", "updated_at"])
                logger.warning(
                    "pattern %s: %s after %s attempts", pattern.pk, TAGGING_GAVE_UP_NOTE, pattern.processing_attempts
                )
                outcome["tagging_given_up"] += 1
                continue
            pattern.processing_attempts += 1
            pattern.save(update_fields=["processing_attempts", "updated_at"])
            embeddings_enqueue(pattern_id=pattern.pk)
            outcome["tagging_requeued"] += 1
    return outcome


def pattern_reprocess(*, pattern: Pattern, actor: User | None = None) -> Pattern:
    """Run the whole pipeline again from the stored originals (admin action by ``actor``, recorded as a change
    of status)."""
    with transaction.atomic():
        locked = Pattern.objects.select_for_update().get(pk=pattern.pk)
        before = catalog_services.pattern_public_values(locked)
        previous_status = locked.status
        catalog_services.pattern_media_hide(pattern=locked)
        locked.files.update(status=PatternFile.Status.PENDING, validation={})
        locked.status = Pattern.Status.PROCESSING
        locked.processing_step = Pattern.Step.RECEIVED
        locked.processing_started_at = timezone.now()
        locked.status_reason = ""
        locked.enqueued_at = None
        locked.processing_attempts = 0
        locked.save(
            update_fields=[
                "status",
                "processing_step",
                "processing_started_at",
                "status_reason",
                "enqueued_at",
                "processing_attempts",
                "updated_at",
            ]
        )
        catalog_services.pattern_changes_record(
            pattern=locked,
            before=before,
            actor=actor,
            extra={"status": {"from": previous_status, "to": Pattern.Status.PROCESSING}}
            if previous_status != Pattern.Status.PROCESSING
            else None,
        )
        pipeline_enqueue(pattern=locked)
    return locked


def pattern_process_now(*, pattern_id: int) -> Pattern | None:
    """Run the pipeline synchronously in this process (demo seeding, management commands).

    The model work runs here too, so none is queued for the workers (create the pattern with
    ``enqueue=False`` so the file pipeline is not queued either).
    """
    for file_id in PatternFile.objects.filter(pattern_id=pattern_id).values_list("id", flat=True):
        pattern_file_process(pattern_file_id=file_id)
    pattern = pattern_finalize(pattern_id=pattern_id, enqueue_models=False)
    if pattern is not None and pattern.status == Pattern.Status.NEEDS_REVIEW:
        from ingestion.tagging.service import pattern_tag

        pattern_tag(pattern_id=pattern_id)
        pattern_embed_images(pattern_id=pattern_id)
        pattern_embed_text(pattern_id=pattern_id)
        pattern.refresh_from_db()
    return pattern


# --- Versions (issue 12): a new version of a published pattern runs the same checks as a submission ---


def version_pipeline_enqueue(*, version: PatternVersion) -> None:
    """Queue the ingestion chain of a new version (the same file task as a submission) once the transaction
    commits."""
    from ingestion import tasks

    files = list(version.files.order_by("id").values_list("id", "size"))
    queue = ingest_queue_for(total_bytes=sum(size for _, size in files))
    version_id = version.pk
    signature = tasks.version_pipeline_signature(
        version_id=version_id, file_ids=[file_id for file_id, _ in files], queue=queue
    )

    def send() -> None:
        # As for a submission: a broker outage leaves ``enqueued_at`` empty and the reaper publishes it later.
        signature.delay()
        PatternVersion.objects.filter(pk=version_id).update(enqueued_at=timezone.now())

    transaction.on_commit(send, robust=True)


def version_finalize(*, version_id: int) -> PatternVersion | None:
    """After every file of a new version is processed: fail with reasons, or detect copies, tag, and hand the
    version over to moderators. Idempotent."""
    with transaction.atomic():
        version = (
            PatternVersion.objects.select_for_update(of=("self",))
            .select_related("pattern")
            .filter(pk=version_id)
            .first()
        )
        if version is None or version.status != PatternVersion.Status.PROCESSING:
            return version
        files = list(version.files.order_by("id"))
        if any(f.status == PatternFile.Status.PENDING for f in files):
            return version
        invalid = [f for f in files if f.status == PatternFile.Status.INVALID]
        if invalid:
            messages = [
                f"{pattern_file.original_name}: {finding['message']}"
                for pattern_file in invalid
                for finding in pattern_file.validation.get("findings", [])
                if finding["severity"] == "error"
            ]
            reason = "\n".join(messages) or "A file failed validation."
            return catalog_services.version_processing_fail(version_id=version.pk, reason=reason)
        copies_detect(pattern=version.pattern, files=files)
        families = sorted({FORMAT_FAMILIES[f.format] for f in files})
        names = [tag for family in families for tag in FAMILY_TAGS[family]]
        names += sorted({f.format for f in files})
        catalog_services.pattern_tags_add(pattern=version.pattern, names=names)
        warnings = sum(
            1
            for pattern_file in files
            for finding in (pattern_file.validation or {}).get("findings", [])
            if finding.get("severity") == "warning"
        )
        return catalog_services.version_processing_finish(version_id=version.pk, warnings=warnings)


VERSION_STALLED_REASON = (
    "Processing version {number} stopped making progress {attempts} times and was given up. The current version "
    "stays on sale; send the files again as a new version, or contact support if they are very large."
)


def versions_requeue_stuck(*, older_than: timedelta | None = None) -> dict[str, int]:
    """The reaper of new versions, as ``patterns_requeue_stuck`` is of patterns: a processing version whose chain
    was never published is published again after the grace period (no attempt counted); one with no progress for
    ``older_than`` (its worker died, the broker lost the message) is requeued up to
    ``TESSERA_PROCESSING_MAX_ATTEMPTS`` times while no ingestion job waits in the broker, then fails with a reason
    the creator reads (they can send the files again as a new version). Safe to repeat: the version's tasks are
    idempotent. Returns counts by outcome."""
    now = timezone.now()
    stalled_cutoff = now - (older_than or timedelta(seconds=settings.TESSERA_PROCESSING_TIMEOUT_SECONDS))
    unqueued_cutoff = now - timedelta(seconds=settings.TESSERA_UNQUEUED_AFTER_SECONDS)
    outcome = {"versions_published": 0, "versions_requeued": 0, "versions_failed": 0}
    processing = PatternVersion.objects.filter(status=PatternVersion.Status.PROCESSING, number__gt=1)
    unqueued = processing.filter(enqueued_at__isnull=True, updated_at__lt=unqueued_cutoff)
    stalled = processing.filter(enqueued_at__isnull=False, updated_at__lt=stalled_cutoff)
    for version_id in list(unqueued.values_list("pk", flat=True)[:500]):
        with transaction.atomic():
            version = unqueued.select_for_update(skip_locked=True).filter(pk=version_id).first()
            if version is None:
                continue
            # Touch the row so the next sweep waits a full grace period for this publish to land.
            version.updated_at = now
            version.save(update_fields=["updated_at"])
            version_pipeline_enqueue(version=version)
            outcome["versions_published"] += 1
    waiting = queued_jobs(settings.TESSERA_INGEST_QUEUES) if stalled.exists() else 0
    if waiting:
        logger.info("%s ingestion jobs still queued; stalled versions wait for them", waiting)
    stalled_ids = list(stalled.values_list("pk", flat=True)[:500]) if waiting == 0 else []
    for version_id in stalled_ids:
        with transaction.atomic():
            version = stalled.select_for_update(skip_locked=True).filter(pk=version_id).first()
            if version is None:
                continue
            if version.processing_attempts >= settings.TESSERA_PROCESSING_MAX_ATTEMPTS:
                reason = VERSION_STALLED_REASON.format(number=version.number, attempts=version.processing_attempts + 1)
                catalog_services.version_processing_fail(version_id=version.pk, reason=reason)
                logger.warning("version %s failed after %s requeues", version.pk, version.processing_attempts)
                outcome["versions_failed"] += 1
                continue
            version.processing_attempts += 1
            version.enqueued_at = None
            version.updated_at = now
            version.save(update_fields=["processing_attempts", "enqueued_at", "updated_at"])
            version_pipeline_enqueue(version=version)
            logger.info("version %s made no progress; requeued (attempt %s)", version.pk, version.processing_attempts)
            outcome["versions_requeued"] += 1
    return outcome


def version_fail(*, version_id: int, reason: str) -> None:
    """Mark a new version that is still processing as failed, with a reason the creator can read."""
    catalog_services.version_processing_fail(version_id=version_id, reason=reason)


# --- Fix and resubmit (issue 12, h/shops) ---


def pattern_resubmit(*, pattern: Pattern, actor: User) -> Pattern:
    """The creator sends a rejected or failed pattern back (after fixing its listing): it goes through ingestion
    again (checks, previews, tags, copy detection) and then to review, recorded with the creator as actor.
    Anyone but the creator: ``PermissionDenied``; another state: ``ValidationError`` keyed ``status``."""
    if actor.pk != pattern.creator_id:
        raise PermissionDenied("Only the pattern's creator can resubmit it.")
    if pattern.status not in (Pattern.Status.REJECTED, Pattern.Status.FAILED):
        raise ValidationError(
            {"status": f"Only a rejected or failed pattern can be resubmitted; this one is {pattern.status}."}
        )
    return pattern_reprocess(pattern=pattern, actor=actor)
