"""The leak tracer: from a suspected leaked file to the order, buyer and date it was delivered for.

1. An identical copy of a delivered file names its entitlement at once (sha256).
2. Otherwise the original it was made from is looked up the way copy detection does (dHash for images,
   the shape descriptor for meshes), because reading an image mark, or a mesh that was moved, needs it.
3. Every reading of the mark is decoded: Reed-Solomon first, then — if the code could not be
   corrected — against the codewords of every buyer of that pattern. The best decoding wins; its
   confidence is 1 − the chance that an unmarked file would agree as well.
"""

from __future__ import annotations

import hashlib
import io
import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction

from catalog import selectors as catalog_selectors
from catalog.models import PatternFile
from delivery import watermark
from delivery.events import LeakTraced
from delivery.models import Entitlement, LeakTrace, MarkedFile
from delivery.watermark import payload
from ingestion.formats import UnsupportedFormat, detect_format
from ingestion.shape import IMAGE_COPY_BITS, SHAPE_COPY_DISTANCE, difference_hash, shape_descriptor
from marketplace.events import record

logger = logging.getLogger(__name__)
MAX_CANDIDATE_ORIGINALS = 3


@dataclass
class TraceResult:
    file_format: str
    entitlement: Entitlement | None = None
    confidence: float = 0.0
    method: str = "none"
    evidence: list[dict[str, Any]] = field(default_factory=list)


def _candidate_originals(data: bytes, file_format: str) -> list[PatternFile]:
    files = PatternFile.objects.filter(status=PatternFile.Status.VALID)
    if file_format in ("png", "jpg"):
        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            vector = difference_hash(image)
        nearest = catalog_selectors.pattern_files_nearest(
            files=files.filter(format__in=["png", "jpg"]),
            field="image_hash",
            vector=vector.tolist(),
            within=IMAGE_COPY_BITS * 1.5,
            limit=MAX_CANDIDATE_ORIGINALS,
        )
        return [match for match, _distance in nearest]
    if file_format in watermark.MESH_FORMATS:
        import trimesh

        mesh: Any = trimesh.load(io.BytesIO(data), file_type=file_format, process=False, force="mesh")
        triangles = np.asarray(mesh.vertices, dtype=np.float64)[np.asarray(mesh.faces)]
        vector = shape_descriptor(triangles)
        nearest = catalog_selectors.pattern_files_nearest(
            files=files.filter(format__in=sorted(watermark.MESH_FORMATS)),
            field="shape_descriptor",
            vector=vector.tolist(),
            within=SHAPE_COPY_DISTANCE * 3,
            limit=MAX_CANDIDATE_ORIGINALS,
        )
        return [match for match, _distance in nearest]
    return []


def _buyers_of(pattern_id: int) -> list[int]:
    return list(Entitlement.objects.filter(pattern_id=pattern_id).values_list("pk", flat=True))


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
    try:
        originals: list[PatternFile | None] = [*_candidate_originals(data, file_format), None]
    except Exception as exc:  # noqa: BLE001 - a file the candidate search cannot parse is still read blind
        logger.info("leak trace: no candidate originals for %s: %s", file_name, exc)
        originals = [None]
    best: payload.Decoded | None = None
    for original in originals:
        original_bytes = None
        if original is not None:
            with original.original.open("rb") as handle:
                original_bytes = (handle.read(), original.format)
        elif file_format in ("png", "jpg"):
            continue
        try:
            readings = watermark.read(data, file_format=file_format, original=original_bytes)
        except Exception as exc:  # noqa: BLE001 - damaged suspects are common; report, do not crash
            result.evidence.append({"carrier": "read", "detail": f"could not read the file: {exc}"[:300]})
            continue
        candidates = _buyers_of(original.pattern_id) if original is not None else None
        for reading in readings:
            decoded = payload.decode(key=key, soft=reading.soft, candidates=candidates)
            result.evidence.append(
                {
                    "carrier": reading.carrier,
                    "original_file_id": original.pk if original else None,
                    "method": decoded.method,
                    "entitlement_id": decoded.entitlement_id,
                    "agreeing_bits": decoded.agreeing_bits,
                    "observed_bits": decoded.observed_bits,
                    "confidence": round(decoded.confidence, 6),
                }
            )
            if decoded.entitlement_id and (best is None or decoded.confidence > best.confidence):
                best = decoded
    if best is not None and best.entitlement_id and best.confidence >= settings.TESSERA_LEAK_MATCH_CONFIDENCE:
        result.entitlement = Entitlement.objects.filter(pk=best.entitlement_id).first()
        if result.entitlement is not None:
            result.confidence, result.method = best.confidence, best.method
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
