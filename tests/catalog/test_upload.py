"""Uploads through the API and the web form: good files are stored, bad ones are refused cleanly."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog.models import Pattern, PatternFile
from tests import hostile, samples
from tests.conftest import token_client

pytestmark = pytest.mark.django_db


def _stored_originals() -> list[Path]:
    root = Path(settings.ORIGINALS_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _post(client, files, **fields):  # type: ignore[no-untyped-def]
    data = {
        "title": "Bad upload",
        "description": "",
        "price": 0,
        "currency": "USD",
        "licence": "cc0",
        **fields,
    }
    data["files"] = files
    return client.post("/api/v1/patterns/", data, format="multipart")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("notes.stl", b"just some words, not a model", "not a file type Tessera accepts"),
        ("empty.stl", b"", "the file is empty"),
        ("cut.stl", samples.truncated_stl(), "truncated or damaged"),
        ("hack.svg", samples.svg_with_script(), "contains a <script>"),
        ("bomb.svg", samples.svg_with_entity(), "declares a DTD or entities"),
        ("broken.pdf", samples.broken_pdf(), "The PDF could not be opened"),
        ("broken.png", samples.broken_png(), "The image"),
        ("anim.svg", hostile.SVG_SET_JAVASCRIPT_HREF, "changes the href attribute after loading"),
        ("page.svg", hostile.SVG_DATA_HTML, "embeds a data: document that is not an image"),
        ("styled.svg", hostile.SVG_STYLE_ATTRIBUTE_EXTERNAL, "refers to an external resource (https://example.com"),
        ("import.svg", hostile.SVG_STYLE_IMPORT, "imports a stylesheet (@import)"),
        ("pi.svg", hostile.SVG_XML_STYLESHEET, "<?xml-stylesheet?>"),
        ("twice.pdf", hostile.pdf_zip_appended(), "The PDF is also a ZIP archive"),
    ],
)
def test_api_rejects_bad_files_with_field_errors_and_saves_nothing(user, name, content, message) -> None:  # type: ignore[no-untyped-def]
    before = set(_stored_originals())
    response = _post(token_client(user), [SimpleUploadedFile(name, content)])
    assert response.status_code == 400
    errors = response.json()["files"]
    assert len(errors) == 1
    assert errors[0].startswith(f"{name}: ")
    assert message in errors[0]
    assert Pattern.objects.count() == 0
    assert PatternFile.objects.count() == 0
    assert set(_stored_originals()) == before


def test_api_rejects_files_over_the_size_limit(user, settings) -> None:  # type: ignore[no-untyped-def]
    settings.TESSERA_MAX_UPLOAD_BYTES = 100
    response = _post(token_client(user), [SimpleUploadedFile("cube.stl", samples.stl_cube())])
    assert response.status_code == 400
    assert response.json()["files"] == [
        "cube.stl: the file is 684 bytes; the limit is 100 bytes. Split it into several files or reduce its detail."
    ]
    assert Pattern.objects.count() == 0


def test_one_bad_file_rejects_the_whole_upload(user) -> None:  # type: ignore[no-untyped-def]
    files = [
        SimpleUploadedFile("good.stl", samples.stl_cube()),
        SimpleUploadedFile("bad.svg", samples.svg_with_script()),
    ]
    before = set(_stored_originals())
    response = _post(token_client(user), files)
    assert response.status_code == 400
    assert Pattern.objects.count() == 0
    assert set(_stored_originals()) == before


def test_selling_under_an_open_licence_is_refused(user) -> None:  # type: ignore[no-untyped-def]
    response = _post(token_client(user), [SimpleUploadedFile("c.stl", samples.stl_cube())], price=500, licence="cc-by")
    assert response.status_code == 400
    assert "cannot be sold" in response.json()["licence"][0]
    assert Pattern.objects.count() == 0


def test_anonymous_cannot_upload(api_client) -> None:  # type: ignore[no-untyped-def]
    response = _post(api_client, [SimpleUploadedFile("c.stl", samples.stl_cube())])
    assert response.status_code == 401
    assert Pattern.objects.count() == 0


@pytest.mark.parametrize(
    ("name", "content", "fmt"),
    [
        ("a.stl", samples.stl_cube(), "stl"),
        ("b.obj", samples.obj_sphere(), "obj"),
        ("c.ply", samples.ply_torus(), "ply"),
        ("d.3mf", samples.threemf_cone(), "3mf"),
        ("e.svg", samples.svg_square(), "svg"),
        ("f.dxf", samples.dxf_rectangle(), "dxf"),
        ("g.pdf", samples.pdf_two_pages(), "pdf"),
        ("h.png", samples.png_tile(), "png"),
        ("i.jpeg", samples.jpg_photo(), "jpg"),
    ],
)
def test_api_accepts_every_format_and_stores_the_original_immutably(user, name, content, fmt) -> None:  # type: ignore[no-untyped-def]
    response = _post(token_client(user), [SimpleUploadedFile(name, content)], title=f"Upload {fmt}")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "processing"
    assert body["files"][0]["format"] == fmt
    stored = PatternFile.objects.get()
    assert stored.sha256 == hashlib.sha256(content).hexdigest()
    assert stored.size == len(content)
    assert stored.original_name == name
    # A generated name, never the creator's.
    assert re.fullmatch(rf"{stored.pattern_id}/[0-9a-f]{{32}}\.{fmt}", str(stored.original.name))
    with stored.original.open("rb") as handle:
        assert handle.read() == content


def test_format_comes_from_content_not_extension(user) -> None:  # type: ignore[no-untyped-def]
    response = _post(token_client(user), [SimpleUploadedFile("really-a-png.stl", samples.png_tile())])
    assert response.status_code == 201
    assert response.json()["files"][0]["format"] == "png"


def test_web_form_shows_the_error_and_keeps_nothing(client, user) -> None:  # type: ignore[no-untyped-def]
    client.force_login(user)
    response = client.post(
        "/sell/new/",
        {
            "title": "Form upload",
            "price": "0",
            "currency": "USD",
            "licence": "cc0",
            "files": [SimpleUploadedFile("x.stl", b"not a model")],
        },
    )
    assert response.status_code == 200
    assert "x.stl: This is not a file type Tessera accepts" in response.content.decode()
    assert Pattern.objects.count() == 0


def test_web_form_upload_redirects_to_live_status(client, user) -> None:  # type: ignore[no-untyped-def]
    client.force_login(user)
    response = client.post(
        "/sell/new/",
        {
            "title": "Form cube",
            "description": "cube",
            "price": "4.50",
            "currency": "EUR",
            "licence": "personal",
            "files": [SimpleUploadedFile("cube.stl", samples.stl_cube())],
        },
        HTTP_X_REQUESTED_WITH="XMLHttpRequest",
    )
    assert response.status_code == 200
    pattern = Pattern.objects.get()
    assert response.json() == {"redirect": f"/sell/patterns/{pattern.pk}/"}
    assert (pattern.price, pattern.currency, pattern.status) == (450, "EUR", "processing")
    status = client.get(f"/sell/patterns/{pattern.pk}/status.json").json()
    assert status["status"] == "processing"
    assert status["done"] is False
