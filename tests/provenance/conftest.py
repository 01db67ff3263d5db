from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.provenance.tsa import TimeStampAuthority, tsa_server


@pytest.fixture
def tsa(settings: Any) -> Iterator[tuple[str, TimeStampAuthority]]:
    """A real RFC 3161 authority over HTTP on loopback, configured as the log's only authority."""
    with tsa_server() as (url, authority):
        settings.TESSERA_PROVENANCE_TSAS = [{"url": url, "roots": authority.roots_pem.decode()}]
        yield url, authority
