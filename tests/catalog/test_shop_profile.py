"""Issue 12 (h/shops): the creator's shop profile page; pictures are checked like other uploads."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from catalog.models import CreatorProfile
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _picture(image_format: str = "PNG", size: tuple[int, int] = (64, 64), name: str = "a.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 80, 40)).save(buffer, format=image_format)
    return SimpleUploadedFile(name, buffer.getvalue())


def test_the_creator_edits_their_profile_and_the_shop_shows_it(client: Client) -> None:
    mira = UserFactory.create(username="mira")
    client.force_login(mira)
    assert client.get("/sell/profile/").status_code == 200
    response = client.post(
        "/sell/profile/",
        {
            "display_name": "Mira Makes",
            "bio": "Lamps.",
            "links": "https://mira.example/\nmira.example/shop",
            "avatar": _picture(),
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/creators/mira/"
    profile = CreatorProfile.objects.get(user=mira)
    assert (profile.display_name, profile.bio) == ("Mira Makes", "Lamps.")
    assert profile.links == ["https://mira.example/", "https://mira.example/shop"]
    assert str(profile.avatar.name).endswith(".png")
    page = client.get("/creators/mira/").content.decode()
    assert profile.avatar.url in page
    assert "Mira Makes" in page


@pytest.mark.parametrize(
    ("field", "upload", "message"),
    [
        ("avatar", SimpleUploadedFile("a.png", b"not an image"), "Upload a valid image"),
        ("avatar", _picture("GIF", name="a.gif"), "Use a PNG, JPEG or WebP picture."),
        ("banner", _picture(size=(4001, 10)), "at most 4000 pixels a side"),
        ("links", None, "At most 5 links."),
        ("links", "", "is not a web address"),
    ],
)
def test_bad_profile_input_is_refused_and_nothing_is_saved(
    client: Client, settings: Any, field: str, upload: Any, message: str
) -> None:
    mira = UserFactory.create(username="mira")
    client.force_login(mira)
    data: dict[str, Any] = {"display_name": "Mira Makes", "bio": "", "links": ""}
    if field == "links":
        data["links"] = "\n".join(f"https://x{n}.example/" for n in range(6)) if upload is None else "ftp://x.example/"
    else:
        data[field] = upload
    response = client.post("/sell/profile/", data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not CreatorProfile.objects.filter(user=mira).exists()


def test_a_picture_over_the_size_limit_is_refused(client: Client, settings: Any) -> None:
    settings.TESSERA_PROFILE_IMAGE_MAX_BYTES = 100
    mira = UserFactory.create(username="mira")
    client.force_login(mira)
    response = client.post("/sell/profile/", {"display_name": "Mira", "avatar": _picture(size=(200, 200))})
    assert response.status_code == 400
    assert "the limit is 0 KB" in response.content.decode()
    assert not CreatorProfile.objects.filter(user=mira).exists()


def test_start_selling_shows_each_step_and_records_the_terms_once(client: Client) -> None:
    mira = UserFactory.create(username="mira")
    client.force_login(mira)
    page = client.get("/sell/start/")
    assert page.status_code == 200
    assert page.context["steps"] == {"profile": False, "payouts": False, "terms": False}
    assert client.post("/sell/start/", {}).status_code == 302
    assert not CreatorProfile.objects.filter(user=mira).exists()  # not ticked: nothing accepted
    assert client.post("/sell/start/", {"accept": "yes"}).status_code == 302
    accepted = CreatorProfile.objects.get(user=mira).seller_terms_accepted_at
    assert accepted is not None
    client.post("/sell/start/", {"accept": "yes"})
    assert CreatorProfile.objects.get(user=mira).seller_terms_accepted_at == accepted
    CreatorProfile.objects.filter(user=mira).update(payouts_ready=True, bio="Lamps.")
    page = client.get("/sell/start/")
    assert page.context["steps"] == {"profile": True, "payouts": True, "terms": True}
    assert "You are ready to sell" in page.content.decode()


def test_the_shop_pictures_are_served_where_published_media_is(client: Client) -> None:
    # Walked under make run: the avatar on /creators/<username>/ answered 404, because only media/published/
    # is served (by Django here, by nginx or S3 in production), and the pictures were stored outside it.
    mira = UserFactory.create(username="mira")
    client.force_login(mira)
    response = client.post(
        "/sell/profile/", {"display_name": "Mira", "avatar": _picture(), "banner": _picture(size=(320, 80))}
    )
    assert response.status_code == 302
    profile = CreatorProfile.objects.get(user=mira)
    for picture in (profile.avatar, profile.banner):
        assert picture.url.startswith("/media/published/")
        served = client.get(picture.url)
        assert served.status_code == 200
        assert b"".join(served.streaming_content).startswith(b"\x89PNG")  # type: ignore[attr-defined]
