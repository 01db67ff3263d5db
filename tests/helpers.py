"""Helpers shared by tests that need patterns run through the real pipeline."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from catalog import services as catalog_services
from catalog.models import Licence, Pattern, User
from ingestion import services, submit


def create_and_process(user: User, name: str, content: bytes, title: str, *, tags: str = "") -> Pattern:
    """Create a free CC0 pattern from one file, with optional creator tags, and run the whole pipeline now."""
    pattern = submit.pattern_create(
        creator=user,
        title=title,
        description="",
        price=0,
        currency="USD",
        licence=Licence.objects.get(code="cc0"),
        uploads=[SimpleUploadedFile(name, content)],
    )
    if tags:
        catalog_services.pattern_tags_add(pattern=pattern, names=tags.split(","), source="creator")
    result = services.pattern_process_now(pattern_id=pattern.pk)
    assert result is not None
    return result
