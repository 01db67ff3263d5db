"""Every query parameter of the catalog's list and search endpoints and pages is validated: bad input is a 400.

A NUL byte used to reach PostgreSQL, which refuses it, and answer 500.
"""

from __future__ import annotations

import pytest

from analytics.models import Event
from analytics.services import events_drain
from tests.factories import PatternFactory

pytestmark = pytest.mark.django_db

API_PARAMETERS = ["q", "format", "category", "tag", "licence", "price_min", "price_max", "validated", "printer_bed"]
API_PARAMETERS_WITH_PAGE = [*API_PARAMETERS, "sort", "page"]
SEARCH_PAGE_PARAMETERS = API_PARAMETERS_WITH_PAGE


@pytest.mark.parametrize("parameter", API_PARAMETERS_WITH_PAGE)
@pytest.mark.parametrize("value", ["\x00", "stl\x00"])
def test_api_list_refuses_a_nul_byte_in_any_parameter(api_client, parameter, value) -> None:  # type: ignore[no-untyped-def]
    response = api_client.get("/api/v1/patterns/", {parameter: value})
    assert response.status_code == 400
    assert list(response.json()) == [parameter]
    events_drain()  # as the beat task does every few seconds
    assert Event.objects.filter(kind="search").count() == 0


@pytest.mark.parametrize(
    ("parameter", "value", "message"),
    [
        ("q", "lamp\x1b[2J", "Remove the control characters from this value."),
        ("q", "lamp\x00", "Null characters are not allowed."),
        ("q", "x" * 201, "Ensure this field has no more than 200 characters."),
        ("format", "json", '"json" is not a valid choice.'),
        ("category", "3d printing", 'Enter a valid "slug" consisting of letters, numbers, underscores or hyphens.'),
        ("tag", "t" * 61, "Ensure this field has no more than 60 characters."),
        ("licence", "cc0;drop", 'Enter a valid "slug" consisting of letters, numbers, underscores or hyphens.'),
        ("price_min", "cheap", "A valid integer is required."),
        ("price_max", str(2**31), "Ensure this value is less than or equal to 2147483647."),
        ("validated", "maybe", "Must be a valid boolean."),
        ("printer_bed", "Prusa XL", '"Prusa XL" is not a valid choice.'),
        ("page", "0", "Ensure this value is greater than or equal to 1."),
    ],
)
def test_api_list_explains_each_invalid_parameter(api_client, parameter, value, message) -> None:  # type: ignore[no-untyped-def]
    response = api_client.get("/api/v1/patterns/", {parameter: value})
    assert response.status_code == 400
    assert response.json() == {parameter: [message]}


def test_api_list_still_accepts_what_clients_send(api_client) -> None:  # type: ignore[no-untyped-def]
    cube = PatternFactory.create(title="Cube")
    for params in [
        {"format": "STL"},
        {"format": "stl", "validated": "yes", "price_min": "0", "q": "", "page": "1"},
        {"printer_bed": "Prusa MK4 (250×210×220)", "format": ""},
    ]:
        response = api_client.get("/api/v1/patterns/", params)
        assert response.status_code == 200, params
    assert [p["id"] for p in api_client.get("/api/v1/patterns/", {"format": "STL"}).json()["results"]] == [cube.pk]
    assert api_client.get("/api/v1/patterns/", {"format": "svg"}).json()["count"] == 0


@pytest.mark.parametrize("parameter", SEARCH_PAGE_PARAMETERS)
def test_search_page_refuses_a_nul_byte_with_a_400_page(client, parameter) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/search/", {parameter: "a\x00b"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "We could not search with that address" in html
    assert f"<li>{parameter}: " in html
    assert 'href="/search/image/"' in html  # the page keeps its design and navigation
    assert "0 patterns" in html
    events_drain()  # as the beat task does every few seconds
    assert Event.objects.filter(kind="search").count() == 0


@pytest.mark.parametrize(
    ("parameter", "value"),
    [("q", "vase\x07"), ("format", "exe"), ("category", "<script>"), ("tag", "a b"), ("page", "abc")],
)
def test_search_page_refuses_other_invalid_parameters(client, parameter, value) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/search/", {parameter: value})
    assert response.status_code == 400
    assert f"<li>{parameter}: " in response.content.decode()


def test_search_page_keeps_working_filters(client) -> None:  # type: ignore[no-untyped-def]
    cube = PatternFactory.create(title="Calibration cube")
    response = client.get("/search/", {"q": " cube ", "format": "STL", "category": "3d-printing", "page": "1"})
    assert response.status_code == 200
    assert list(response.context["page"]) == [cube]
    assert response.context["filters"].file_format == "stl"


@pytest.mark.parametrize("value", ["\x00", "2\x00", "-1", "x" * 20])
def test_category_page_refuses_an_invalid_page_number(client, value) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/c/3d-printing/", {"page": value})
    assert response.status_code == 400
    html = response.content.decode()
    assert "That page address is not valid." in html
    assert '<a class="btn" href="/c/3d-printing/">Go to the first page</a>' in html
    assert html.count("<li>page: ") == 1
    expected = "Null characters are not allowed." if "\x00" in value else "Give a page number, e.g. page=2."
    assert f"<li>page: {expected}</li>" in html
    assert client.get("/c/3d-printing/", {"page": "1"}).status_code == 200


def test_the_forms_refuse_nul_themselves() -> None:
    from catalog.api.serializers import PatternListQuerySerializer
    from catalog.forms import PageForm, PatternSearchForm

    assert PatternSearchForm({"q": "a\x00"}).errors == {"q": ["Null characters are not allowed."]}
    assert "Null characters are not allowed." in PatternSearchForm({"tag": "\x00"}).errors["tag"]
    assert "page" in PageForm({"page": "1\x00"}).errors
    serializer = PatternListQuerySerializer(data={"licence": "cc0\x00", "format": "stl\x00"})
    assert not serializer.is_valid()
    assert set(serializer.errors) == {"licence", "format"}


@pytest.mark.parametrize(
    "url",
    [
        "/admin/catalog/pattern/?status=published%00",
        "/admin/catalog/pattern/?q=cube%00",
        "/admin/payments/order/?q=%00",
        "/accounts/login/?next=/%00",
    ],
)
def test_views_we_do_not_write_refuse_a_nul_byte_too(client, url) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import StaffFactory

    client.force_login(StaffFactory.create(is_superuser=True))
    response = client.get(url)
    assert response.status_code == 400
    html = response.content.decode()
    assert "That address is not valid" in html
    assert ": Null characters are not allowed.</li>" in html


def test_the_nul_safety_net_answers_json_on_the_api(api_client) -> None:  # type: ignore[no-untyped-def]
    response = api_client.get("/api/v1/patterns/1/", {"expand": "x\x00"})
    assert response.status_code == 400
    assert response.json() == {"expand": ["Null characters are not allowed."]}
