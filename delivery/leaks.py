"""The leak tracer: from a suspected leaked file to the order, buyer and date it was delivered for.

1. An identical copy of a delivered file names its entitlement at once (sha256).
2. Formats whose mark can be read without the original (meshes in their own frame, drawings, PDFs) are read
   as they are first.
3. Otherwise the original it was made from is looked up the way copy detection does (dHash for images,
   the shape descriptor for meshes), because reading an image mark, or a mesh that was moved, needs it.
   Only files that were sold (have a delivered marked copy) can be the original of a leak, so only they are
   candidates: re-uploads of the leak by other accounts, however near in shape, are never read in place of
   the original. Identical originals (same sha256 or descriptor) are read once, for all their buyers; files
   that are themselves flagged copies come last. When nothing decodes, the search widens in rounds (more
   neighbours, then every sold file of the format, nearest first) up to a bounded number of files and time.
4. Every reading of the mark is decoded: Reed-Solomon first, then — if the code could not be
   corrected — against the codewords of every buyer of that original. The first decoding that reaches the
   threshold wins; its confidence is 1 − the chance that an unmarked file would agree as well, multiplied
   by the number of readings the search may make (an unmarked file gets that many chances).
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet

from catalog import selectors as catalog_selectors
from catalog.models import CopyFlag, PatternFile
from delivery import watermark
from delivery.events import LeakTraced
from delivery.models import Entitlement, LeakTrace, MarkedFile
from delivery.watermark import payload
from ingestion.formats import UnsupportedFormat, detect_format
from ingestion.shape import IMAGE_COPY_BITS, SHAPE_COPY_DISTANCE, difference_hash, shape_descriptor
from marketplace.events import record

logger = logging.getLogger(__name__)
IMAGE_FORMATS = ("png", "jpg")


@dataclass
class TraceResult:
    file_format: str
    entitlement: Entitlement | None = None
    confidence: float = 0.0
    method: str = "none"
    evidence: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Fingerprint:
    """How a suspect is compared with stored files: which field, its vector, the copy radius, the formats."""

    field: str
    vector: list[float]
    radius: float
    formats: tuple[str, ...]


@dataclass
class Original:
    """One candidate original: a sold file, with the patterns of every sold file identical to it."""

    file: PatternFile
    pattern_ids: set[int]


def _fingerprint(data: bytes, file_format: str) -> Fingerprint | None:
    if file_format in IMAGE_FORMATS:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            vector = difference_hash(image)
        return Fingerprint("image_hash", vector.tolist(), IMAGE_COPY_BITS * 1.5, IMAGE_FORMATS)
    if file_format in watermark.MESH_FORMATS:
        import trimesh

        mesh: Any = trimesh.load(io.BytesIO(data), file_type=file_format, process=False, force="mesh")
        triangles = np.asarray(mesh.vertices, dtype=np.float64)[np.asarray(mesh.faces)]
        formats = tuple(sorted(watermark.MESH_FORMATS))
        return Fingerprint("shape_descriptor", shape_descriptor(triangles).tolist(), SHAPE_COPY_DISTANCE * 3, formats)
    return None


def sold_files(*, formats: tuple[str, ...]) -> QuerySet[PatternFile]:
    """Files of ``formats`` that have at least one delivered (marked) copy: the only possible originals of a leak,
    annotated with ``flagged_copy`` (the file is itself an open or confirmed copy of another creator's file)."""
    delivered = MarkedFile.objects.filter(pattern_file=OuterRef("pk"), status=MarkedFile.Status.READY)
    return (
        PatternFile.objects.filter(status=PatternFile.Status.VALID, format__in=formats)
        .filter(Exists(delivered))
        .annotate(flagged_copy=Exists(_flagged_copies()))
        .defer("validation")
    )


def _flagged_copies() -> QuerySet[CopyFlag]:
    return CopyFlag.objects.filter(pattern_file=OuterRef("pk")).exclude(status=CopyFlag.Status.DISMISSED)


def _nearest(files: QuerySet[PatternFile], fingerprint: Fingerprint, *, within: float, limit: int) -> list[PatternFile]:
    # The HNSW index answers "nearest first" approximately and filters afterwards: among many unsold near files it
    # could return too few sold ones. strict_order makes pgvector keep scanning (pgvector >= 0.8) until enough
    # rows pass the filter, still nearest first.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL hnsw.iterative_scan = strict_order")
        nearest = catalog_selectors.pattern_files_nearest(
            files=files, field=fingerprint.field, vector=fingerprint.vector, within=within, limit=limit
        )
    return [match for match, _distance in nearest]


def _candidate_rounds(fingerprint: Fingerprint) -> Iterator[list[PatternFile]]:
    """Rounds of sold files to read the suspect against, each round wider than the last."""
    sold = sold_files(formats=fingerprint.formats)
    yield _nearest(
        sold.exclude(Exists(_flagged_copies())),
        fingerprint,
        within=fingerprint.radius,
        limit=settings.TESSERA_LEAK_NEAREST_ORIGINALS,
    )
    yield _nearest(sold, fingerprint, within=fingerprint.radius, limit=settings.TESSERA_LEAK_WIDER_ORIGINALS)
    yield _nearest(sold, fingerprint, within=math.inf, limit=settings.TESSERA_LEAK_MAX_ORIGINALS)


def _key(pattern_file: PatternFile) -> tuple[str, bytes]:
    vector = pattern_file.shape_descriptor if pattern_file.shape_descriptor is not None else pattern_file.image_hash
    return pattern_file.sha256, np.asarray(vector if vector is not None else [], dtype=np.float32).tobytes()


def _collapse(files: list[PatternFile], seen: dict[Any, Original]) -> list[Original]:
    """New originals among ``files`` (unflagged before flagged copies, nearest first), one per identical file:
    a file with the sha256 or the descriptor of one already seen adds its pattern's buyers to that one."""
    fresh: list[Original] = []
    for pattern_file in sorted(files, key=lambda f: bool(getattr(f, "flagged_copy", False))):
        if pattern_file.pk in seen:
            continue
        sha, vector = _key(pattern_file)
        group = seen.get(("sha", sha)) or (seen.get(("vector", vector)) if vector else None)
        if group is None:
            group = Original(file=pattern_file, pattern_ids=set())
            fresh.append(group)
        group.pattern_ids.add(pattern_file.pattern_id)
        seen[pattern_file.pk] = seen[("sha", sha)] = group
        if vector:
            seen[("vector", vector)] = group
    return fresh


def _buyers_of(original: Original) -> list[int]:
    """Entitlements of the original's patterns, and of every entitlement given a copy of an identical file (one a
    later round would only have added to this group after it was read)."""
    entitlements = Entitlement.objects.filter(
        Q(pattern_id__in=original.pattern_ids) | Q(marked_files__pattern_file__sha256=original.file.sha256)
    )
    return list(entitlements.order_by("pk").values_list("pk", flat=True).distinct())


def trace(*, data: bytes, file_name: str) -> TraceResult:
    """Find who a file was delivered to. Never raises for bad input: the result says what was found."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "suspect"
        path.write_bytes(data)
        try:
            file_format = detect_format(path)
        except UnsupportedFormat as exc:
            return TraceResult("", evidence=[{"carrier": "format", "detail": str(exc)}])
    result = TraceResult(file_format)
    exact = MarkedFile.objects.filter(sha256=hashlib.sha256(data).hexdigest()).select_related("entitlement").first()
    if exact is not None and exact.status == MarkedFile.Status.READY:
        result.entitlement, result.confidence, result.method = exact.entitlement, 1.0, "identical copy"
        result.evidence.append(
            {"carrier": "sha256", "detail": f"identical to the copy made for entitlement {exact.entitlement_id}"}
        )
        return result
    key = watermark.secret()
    threshold = settings.TESSERA_LEAK_MATCH_CONFIDENCE
    try:
        fingerprint = _fingerprint(data, file_format)
    except Exception as exc:  # noqa: BLE001 - a file the candidate search cannot parse is still read blind
        logger.info("leak trace: no candidate originals for %s: %s", file_name, exc)
        fingerprint = None
    # An unmarked file gets one chance per reading to look marked: the confidence is corrected for every
    # reading the search may make (Bonferroni), decided before any is made so that stopping early is fair.
    chances = 1 + (settings.TESSERA_LEAK_MAX_ORIGINALS if fingerprint is not None else 0)
    started = time.monotonic()
    best: tuple[float, payload.Decoded] | None = None

    def read(original: Original | None) -> bool:
        """Read the mark against ``original`` (None: as the file is); True once a buyer is named."""
        nonlocal best
        original_bytes = None
        if original is not None:
            with original.file.original.open("rb") as handle:
                original_bytes = (handle.read(), original.file.format)
        try:
            readings = watermark.read(data, file_format=file_format, original=original_bytes)
        except Exception as exc:  # noqa: BLE001 - damaged suspects are common; report, do not crash
            result.evidence.append({"carrier": "read", "detail": f"could not read the file: {exc}"[:300]})
            return False
        candidates = _buyers_of(original) if original is not None else None
        for reading in readings:
            decoded = payload.decode(key=key, soft=reading.soft, candidates=candidates)
            confidence = max(0.0, 1.0 - (1.0 - decoded.confidence) * chances) if decoded.entitlement_id else 0.0
            result.evidence.append(
                {
                    "carrier": reading.carrier,
                    "original_file_id": original.file.pk if original else None,
                    "method": decoded.method,
                    "entitlement_id": decoded.entitlement_id,
                    "agreeing_bits": decoded.agreeing_bits,
                    "observed_bits": decoded.observed_bits,
                    "confidence": round(confidence, 6),
                }
            )
            if decoded.entitlement_id and (best is None or confidence > best[0]):
                best = (confidence, decoded)
        return best is not None and best[0] >= threshold

    found = file_format not in IMAGE_FORMATS and read(None)
    if not found and fingerprint is not None:
        seen: dict[Any, Original] = {}
        tried, rounds, stop = 0, 0, ""
        for files in _candidate_rounds(fingerprint):  # lazy: a wider round is only queried when needed
            rounds += 1
            for original in _collapse(files, seen):
                if tried >= settings.TESSERA_LEAK_MAX_ORIGINALS:
                    stop = f"stopped at the limit of {tried} originals"
                elif time.monotonic() - started > settings.TESSERA_LEAK_TIME_BUDGET_SECONDS:
                    stop = "stopped: the time budget ran out"
                else:
                    tried += 1
                    stop = "a buyer was named" if read(original) else ""
                if stop:
                    break
            if stop:
                break
        detail = f"compared with {tried} sold original file(s) in {rounds} round(s)"
        result.evidence.append({"carrier": "search", "detail": f"{detail}; {stop}" if stop else detail})
    if best is not None and best[0] >= threshold and best[1].entitlement_id:
        result.entitlement = Entitlement.objects.filter(pk=best[1].entitlement_id).first()
        if result.entitlement is not None:
            result.confidence, result.method = best[0], best[1].method
    return result


def leak_trace_record(*, data: bytes, file_name: str, uploaded_by: Any = None) -> LeakTrace:
    """Trace a suspected leak and keep the result for the audit trail; records ``leak.traced`` (actor: who
    uploaded the file, None from the command line)."""
    result = trace(data=data, file_name=file_name)
    summary: dict[str, Any] = {"method": result.method, "evidence": result.evidence}
    entitlement = result.entitlement
    if entitlement is not None:
        order = entitlement.order_item.order
        summary.update(
            order_id=order.pk,
            buyer=entitlement.buyer.username,
            buyer_email=entitlement.buyer.email,
            pattern=entitlement.pattern.title,
            paid_at=order.paid_at.isoformat() if order.paid_at else None,
            downloads=entitlement.downloads.count(),
            revoked=entitlement.revoked_at is not None,
        )
    uploader = uploaded_by if getattr(uploaded_by, "is_authenticated", False) else None
    with transaction.atomic():
        leak_trace = LeakTrace.objects.create(
            uploaded_by=uploader,
            file_name=file_name[:255],
            sha256=hashlib.sha256(data).hexdigest(),
            file_format=result.file_format,
            entitlement=entitlement,
            confidence=result.confidence,
            result=summary,
        )
        record(
            LeakTraced(
                trace_id=leak_trace.pk,
                pattern_id=entitlement.pattern_id if entitlement is not None else None,
                buyer_id=entitlement.buyer_id if entitlement is not None else None,
                outcome="traced" if entitlement is not None else "not-traced",
                actor_id=uploader.pk if uploader is not None else None,
            )
        )
    return leak_trace
