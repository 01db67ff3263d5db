"""Full-text search and the public pages."""

from __future__ import annotations

import pytest

from analytics.models import Event
from analytics.services import events_drain
from catalog import selectors
from catalog.models import Pattern
from tests.factories import PatternFactory

pytestmark = pytest.mark.django_db


def test_full_text_search_ranks_title_matches_first(api_client) -> None:  # type: ignore[no-untyped-def]
    in_description = PatternFactory.create(title="Desk organiser", description="Holds a lamp cable and pens.")
    in_title = PatternFactory.create(title="Moon lamp shade", description="A lithophane shade.")
    PatternFactory.create(title="Garden gnome", description="Nothing related.")
    PatternFactory.create(title="Hidden lamp", status=Pattern.Status.NEEDS_REVIEW, published_at=None)
    found = list(selectors.pattern_list_published(query="lamps"))
    assert found == [in_title, in_description]  # stemming: "lamps" matches "lamp"
    response = api_client.get("/api/v1/patterns/", {"q": "lamp"})
    assert [p["id"] for p in response.json()["results"]] == [in_title.pk, in_description.pk]
    events_drain()  # as the beat task does every few seconds
    event = Event.objects.get(kind="search")
    assert (event.query, event.result_count) == ("lamp", 2)


def test_filters_by_format_category_and_tag(api_client) -> None:  # type: ignore[no-untyped-def]
    from catalog.services import pattern_tags_add

    cube = PatternFactory.create(title="Cube")
    pattern_tags_add(pattern=cube, names=["calibration"])
    assert [p["id"] for p in api_client.get("/api/v1/patterns/", {"format": "stl"}).json()["results"]] == [cube.pk]
    assert api_client.get("/api/v1/patterns/", {"format": "svg"}).json()["count"] == 0
    assert api_client.get("/api/v1/patterns/", {"category": "3d-printing"}).json()["count"] == 1
    assert api_client.get("/api/v1/patterns/", {"category": "laser-cnc"}).json()["count"] == 0
    assert api_client.get("/api/v1/patterns/", {"tag": "calibration"}).json()["count"] == 1
    assert api_client.get("/api/v1/patterns/", {"q": "calibration"}).json()["count"] == 1


def test_zero_result_search_page_is_recorded(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/search/", {"q": "submarine"})
    assert response.status_code == 200
    assert "No exact matches for “submarine”" in response.content.decode()
    events_drain()  # as the beat task does every few seconds
    event = Event.objects.get(kind="search")
    assert (event.query, event.result_count) == ("submarine", 0)


def test_public_pages_render(client) -> None:  # type: ignore[no-untyped-def]
    pattern = PatternFactory.create(title="Spiral vase")
    for url in [
        "/",
        "/c/3d-printing/",
        "/search/?q=vase",
        pattern.get_absolute_url(),
        "/cart/",
        "/api/docs/",
        "/accounts/login/",
        "/accounts/signup/",
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
    assert "Spiral vase" in client.get("/search/?q=vase").content.decode()
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/p/does-not-exist/").status_code == 404
    events_drain()  # as the beat task does every few seconds
    assert Event.objects.filter(kind="page_view", pattern=pattern).count() == 1


def test_home_page_runs_a_bounded_number_of_queries(client, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    for _ in range(12):
        PatternFactory.create()
    with django_assert_max_num_queries(15):
        client.get("/")


def test_pattern_page_shows_the_printability_report(client) -> None:  # type: ignore[no-untyped-def]
    from catalog.models import PatternFile

    pattern = PatternFactory.create(title="Reported cube")
    PatternFile.objects.filter(pattern=pattern).update(
        validation={
            "format": "stl",
            "ok": True,
            "findings": [
                {"code": "mesh.overhangs", "severity": "warning", "message": "Needs supports.", "details": {}}
            ],
            "properties": {
                "bounding_box_mm": [20.0, 20.0, 20.0],
                "face_count": 12,
                "watertight": True,
                "volume_mm3": 8000.0,
                "mass_estimate_g": 3.51,
                "mass_assumptions": "PLA",
                "fits_printer_beds": ["Prusa MK4 (250×210×220)"],
            },
        }
    )
    html = client.get(pattern.get_absolute_url()).content.decode()
    assert "Printability report:" in html
    assert "Passed with 1 warning(s)" in html
    assert "Warning: Needs supports." in html
    assert "Size: 20 × 20 × 20 mm" in html
    assert "Fits: Prusa MK4" in html


def test_facets_licence_price_validation_and_printer_bed(api_client) -> None:  # type: ignore[no-untyped-def]
    from catalog.models import Licence, PatternFile

    small = PatternFactory.create(title="Small", price=300)
    big = PatternFactory.create(title="Big", price=900, licence=Licence.objects.get(code="commercial"))
    warned = PatternFactory.create(title="Warned", price=0)
    PatternFile.objects.filter(pattern=small).update(
        validation={
            "findings": [],
            "properties": {"fits_printer_beds": ["Prusa MINI (180×180×180)", "Prusa MK4 (250×210×220)"]},
        }
    )
    PatternFile.objects.filter(pattern=big).update(
        validation={"findings": [], "properties": {"fits_printer_beds": ["Prusa MK4 (250×210×220)"]}}
    )
    PatternFile.objects.filter(pattern=warned).update(
        validation={
            "findings": [{"code": "mesh.overhangs", "severity": "warning", "message": "x", "details": {}}],
            "properties": {"fits_printer_beds": []},
        }
    )

    def ids(**params: object) -> list[int]:
        return sorted(p["id"] for p in api_client.get("/api/v1/patterns/", params).json()["results"])

    assert ids(licence="commercial") == [big.pk]
    assert ids(price_min=300, price_max=500) == [small.pk]
    assert ids(price_max=0) == [warned.pk]
    assert ids(validated="true") == sorted([small.pk, big.pk])
    assert ids(printer_bed="Prusa MINI (180×180×180)") == [small.pk]
    assert ids(printer_bed="Prusa MK4 (250×210×220)") == sorted([small.pk, big.pk])
    assert api_client.get("/api/v1/patterns/", {"price_min": "cheap"}).status_code == 400
