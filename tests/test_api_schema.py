"""The OpenAPI schema tells the truth: schemathesis drives every operation, anonymous and authenticated.

Runs against the real app in-process (WSGI) on the test PostgreSQL, with bounded examples. Every response must
be a non-5xx, documented status code whose body matches the documented schema.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, Phase, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from tests.factories import PatternFactory, StaffFactory, UserFactory

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]


def _schema_document() -> dict[str, Any]:
    """What ``/api/schema/?format=json`` serves (a test below checks they are the same), built without a request.

    Built at collection, where no database may be used: the generator only introspects the views.
    """
    document = SchemaGenerator().get_schema(request=None, public=True)
    return dict(json.loads(OpenApiJsonRenderer().render(document)))


schema = schemathesis.openapi.from_dict(_schema_document())
schema.app = get_wsgi_application()
# Unexpected HTTP methods answer 405 everywhere (DRF); not worth a request per method and operation.
schema.config.phases.coverage.unexpected_methods = set()


@pytest.fixture(autouse=True)
def _keep_the_test_connection() -> Iterator[None]:
    """As Django's test client does: a request must not close the test's connection (and its transaction)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def seeded(db: None, localstripe: str) -> None:
    """A published pattern for list and search results; order creation talks to the real localstripe."""
    PatternFactory.create(title="Seeded cube")


def _token_headers(account: Any) -> dict[str, str]:
    token, _ = Token.objects.get_or_create(user=account)
    return {"Authorization": f"Token {token.key}"}


@pytest.fixture
def user_headers(seeded: None) -> dict[str, str]:
    return _token_headers(UserFactory.create())


@pytest.fixture
def staff_headers(seeded: None) -> dict[str, str]:
    return _token_headers(StaffFactory.create())


# Hypothesis' examples share the test's transaction (rolled back at the end). Derandomized, so CI is stable;
# TESSERA_SCHEMATHESIS_EXAMPLES=200 digs deeper by hand.
EXAMPLES = int(os.environ.get("TESSERA_SCHEMATHESIS_EXAMPLES", "8"))
fuzzed = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)
# Plus schemathesis' coverage phase (boundary and invalid values of every parameter, missing bodies, wrong
# content types), once: it is not bounded by max_examples and costs about as much as the three fuzzed runs.
fuzzed_and_covered = settings(fuzzed, phases=[Phase.explicit, Phase.generate])


@schema.parametrize()
@fuzzed
def test_api_matches_its_schema_anonymous(case, seeded) -> None:  # type: ignore[no-untyped-def]
    case.call_and_validate(checks=CHECKS)


@schema.parametrize()
@fuzzed_and_covered
def test_api_matches_its_schema_as_a_user(case, user_headers) -> None:  # type: ignore[no-untyped-def]
    case.call_and_validate(headers=user_headers, checks=CHECKS)


@schema.parametrize()
@fuzzed
def test_api_matches_its_schema_as_staff(case, staff_headers) -> None:  # type: ignore[no-untyped-def]
    case.call_and_validate(headers=staff_headers, checks=CHECKS)


def test_schema_is_served_as_json_with_format_json(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.oai.openapi+json"
    document = json.loads(response.content)
    assert document == _schema_document()  # the document the schemathesis tests run against
    pattern = document["components"]["schemas"]["Pattern"]["properties"]
    assert pattern["category"] == {"type": "string", "readOnly": True, "nullable": True}
    assert client.get("/api/schema/")["Content-Type"].startswith("application/vnd.oai.openapi;")
    refused = client.get("/api/schema/", {"format": "xml"})
    assert (refused.status_code, json.loads(refused.content)) == (400, {"format": ["Use one of: json, yaml."]})
