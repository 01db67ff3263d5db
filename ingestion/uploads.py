"""Resumable chunked uploads for large files (100 MB and more by default)."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from ingestion.models import UploadSession


class ChunkConflict(Exception):
    """The chunk does not start where the server's copy ends; the client resumes from ``offset``."""

    def __init__(self, offset: int) -> None:
        super().__init__(offset)
        self.offset = offset


# An open session that received nothing for this long is abandoned (a closed tab): it no longer counts
# against the quota, and the hourly sweep deletes it with its partial file.
OPEN_SESSION_IDLE_MINUTES = 60


class TooManyOpenUploads(Exception):
    """The account already has ``limit`` uploads receiving; one must finish (or go idle) first."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(
            f"You already have {limit} uploads in progress. Let one finish before starting another; "
            f"an upload that receives nothing for {OPEN_SESSION_IDLE_MINUTES} minutes stops counting."
        )


class ChunkedFile(File):  # type: ignore[type-arg]
    """A completed upload session, shaped like Django's TemporaryUploadedFile for the ingestion service."""

    def __init__(self, session: UploadSession) -> None:
        self.session = session
        super().__init__(open(part_path(session), "rb"), name=session.filename)  # noqa: SIM115

    @property
    def size(self) -> int:  # type: ignore[override]
        return int(self.session.size)

    def temporary_file_path(self) -> str:
        return str(part_path(self.session))


def part_path(session: UploadSession) -> Path:
    return Path(settings.TESSERA_CHUNK_DIR) / f"{session.pk}.part"


def upload_session_start(*, user: Any, filename: str, size: int) -> UploadSession:
    if size <= 0:
        raise ValidationError({"size": ["The file is empty."]})
    if size > settings.TESSERA_MAX_UPLOAD_BYTES:
        raise ValidationError(
            {"size": [f"The file is larger than the limit of {settings.TESSERA_MAX_UPLOAD_BYTES} bytes."]}
        )
    limit = settings.TESSERA_MAX_OPEN_UPLOAD_SESSIONS
    with transaction.atomic():
        # The account's row is the lock: two requests at once cannot both take the last free place.
        list(get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True))
        receiving = UploadSession.objects.filter(
            user=user,
            status=UploadSession.Status.OPEN,
            updated_at__gte=timezone.now() - timedelta(minutes=OPEN_SESSION_IDLE_MINUTES),
        ).count()
        if receiving >= limit:
            raise TooManyOpenUploads(limit)
        session = UploadSession.objects.create(
            user=user, filename=os.path.basename(filename)[:255] or "file", size=size
        )
    path = part_path(session)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    return session


def upload_session_append(*, session_id: Any, user: Any, start: int, stream: IO[bytes], length: int) -> UploadSession:
    """Append one chunk at ``start``. A repeated chunk (already received) is accepted and ignored.

    Runs under a row lock, so two requests for the same session cannot interleave their writes.
    """
    with transaction.atomic():
        session = UploadSession.objects.select_for_update().filter(pk=session_id, user=user).first()
        if session is None:
            raise UploadSession.DoesNotExist
        if session.status != UploadSession.Status.OPEN:
            return session
        if start + length <= session.received:
            return session  # a retry of a chunk we already have
        if start != session.received:
            raise ChunkConflict(session.received)
        if start + length > session.size:
            raise ValidationError({"Content-Range": ["The chunk goes past the declared file size."]})
        written = 0
        with open(part_path(session), "r+b") as out:
            out.seek(start)
            while written < length:
                block = stream.read(min(1 << 20, length - written))
                if not block:
                    break
                out.write(block)
                written += len(block)
            out.truncate(start + written)
        session.received = start + written
        if session.received == session.size:
            session.status = UploadSession.Status.COMPLETE
        session.save(update_fields=["received", "status", "updated_at"])
        return session


def upload_sessions_claim(*, user: Any, session_ids: list[Any]) -> list[ChunkedFile]:
    """Completed sessions of ``user`` as files for ``pattern_create``; raises ValidationError otherwise."""
    files = []
    problems = []
    for session_id in session_ids:
        try:
            session_uuid = uuid.UUID(str(session_id))
        except ValueError:
            shown = str(session_id)[:40].encode("unicode_escape").decode()
            problems.append(f"“{shown}” is not an upload id; upload the file again.")
            continue
        session = UploadSession.objects.filter(pk=session_uuid, user=user).first()
        if session is None:
            problems.append(f"Upload {session_id} does not exist.")
        elif session.status != UploadSession.Status.COMPLETE:
            problems.append(
                f"{session.filename}: the upload is not complete ({session.received} of {session.size} bytes)."
            )
        else:
            files.append(ChunkedFile(session))
    if problems:
        for chunked in files:
            chunked.close()
        raise ValidationError({"uploads": problems})
    return files


def upload_sessions_consume(*, files: list[ChunkedFile]) -> None:
    """After the pattern stored its own copies: drop the parts."""
    for chunked in files:
        chunked.close()
        UploadSession.objects.filter(pk=chunked.session.pk).update(status=UploadSession.Status.CONSUMED)
        part_path(chunked.session).unlink(missing_ok=True)


def upload_sessions_expire(*, older_than: timedelta = timedelta(hours=24)) -> int:
    cutoff = timezone.now() - older_than
    stale = list(UploadSession.objects.filter(updated_at__lt=cutoff).exclude(status=UploadSession.Status.CONSUMED))
    for session in stale:
        part_path(session).unlink(missing_ok=True)
    return UploadSession.objects.filter(pk__in=[s.pk for s in stale]).delete()[0]
