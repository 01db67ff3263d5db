"""Sign-in throttling on every login path, and the API-wide rates (marketplace/throttling.py), on real Redis."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.conftest import token_client
from tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

ATTACKER = "203.0.113.66"
OWNER_HOME = "198.51.100.7"
ELSEWHERE = "192.0.2.44"
PASSWORD = "secret-pass-123"  # UserFactory's


@pytest.fixture
def quick_delays(settings: Any) -> None:
    """Three free failures, then 1 s, 2 s, 4 s (cap) between attempts; a generous client limit."""
    settings.TESSERA_LOGIN_ACCOUNT_FREE_FAILURES = 3
    settings.TESSERA_LOGIN_DELAY_BASE_SECONDS = 1
    settings.TESSERA_LOGIN_DELAY_MAX_SECONDS = 4
    settings.TESSERA_LOGIN_CLIENT_MAX_FAILURES = 100


def _token(username: str, password: str, address: str, **headers: Any) -> Any:
    return APIClient().post(
        "/api/v1/auth/token/", {"username": username, "password": password}, REMOTE_ADDR=address, **headers
    )


def _admin(username: str, password: str, address: str) -> Any:
    return Client().post(
        "/admin/login/", {"username": username, "password": password, "next": "/admin/"}, REMOTE_ADDR=address
    )


def _allauth(username: str, password: str, address: str) -> Any:
    return Client().post("/accounts/login/", {"login": username, "password": password}, REMOTE_ADDR=address)


PATHS: dict[str, tuple[Callable[[str, str, str], Any], int, int]] = {
    # path: (attempt, status of a wrong password, status of a right one)
    "token API": (_token, 400, 200),
    "admin": (_admin, 200, 302),
    "allauth": (_allauth, 200, 302),
}


@pytest.mark.parametrize("path", PATHS)
def test_every_login_path_delays_an_account_after_failures(path: str, quick_delays: None) -> None:
    attempt, wrong_status, right_status = PATHS[path]
    victim = StaffFactory.create(username="victim")
    for _ in range(3):
        assert attempt("victim", "wrong-guess", ATTACKER).status_code == wrong_status
    # The fourth attempt comes within the 1 s delay: refused unchecked, even with the right password.
    for password in ("another-guess", PASSWORD):
        refused = attempt("victim", password, ATTACKER)
        assert refused.status_code == 429
        assert refused["Retry-After"] == "1"
        body = refused.content.decode()
        assert "Too many failed sign-in attempts for this account. Try again in 1 second." in body
        if path != "token API":
            assert 'value="victim"' in body  # the form keeps the username
    # Hammering during the delay was not counted: the delay is still the first one, and then the owner gets in.
    time.sleep(1.1)
    assert attempt("victim", PASSWORD, ATTACKER).status_code == right_status
    victim.refresh_from_db()
    assert victim.last_login is not None or path == "token API"
    # A success forgets the failures: three free ones again.
    assert attempt("victim", "wrong-guess", ATTACKER).status_code == wrong_status


def test_unknown_usernames_are_throttled_like_real_ones(quick_delays: None) -> None:
    for _ in range(3):
        assert _token("nobody-here", "guess", ATTACKER).status_code == 400
    refused = _token("nobody-here", "guess", ATTACKER)
    assert (refused.status_code, refused["Retry-After"]) == (429, "1")


def test_a_nul_byte_in_the_username_is_a_clear_400() -> None:
    response = _token("a\x00b", "guess", ATTACKER)
    assert response.status_code == 400
    assert response.json() == {"username": ["Null characters are not allowed."]}


def test_the_delay_grows_exponentially_to_its_cap(quick_delays: None) -> None:
    UserFactory.create(username="victim")
    assert _token("victim", PASSWORD, OWNER_HOME).status_code == 200  # the owner's client is now known
    waits = []
    for _ in range(6):
        # Failures from the owner's own client still count, but do not hold that client back.
        assert _token("victim", "typo", OWNER_HOME).status_code == 400
        refused = _token("victim", "guess", ATTACKER)
        waits.append(int(refused["Retry-After"]) if refused.status_code == 429 else 0)
    # Failures 1 and 2 (the owner's typo, the attacker's free guess) cost nothing; from the third on,
    # each failure sets a delay of 1, 2, 4 s, then stays at the 4 s cap.
    assert waits == [0, 1, 2, 4, 4, 4]


def test_an_attacker_cannot_keep_the_owner_out(quick_delays: None) -> None:
    UserFactory.create(username="victim", email="victim@example.com")
    assert _token("victim", PASSWORD, OWNER_HOME).status_code == 200
    for _ in range(3):
        assert _token("victim", "guess", ATTACKER).status_code == 400
    assert _token("victim", "guess", ATTACKER).status_code == 429
    # The owner signs in from the address they used before, on any path, while the attacker waits.
    assert _token("victim", PASSWORD, OWNER_HOME).json()["token"]
    # An address the account has never signed in from waits like the attacker: otherwise every new
    # address of a botnet would get a free guess. Naming the account by its e-mail changes nothing.
    for _ in range(3):
        _token("victim", "guess", ATTACKER)
    assert _allauth("victim@example.com", PASSWORD, ELSEWHERE).status_code == 429


def test_one_client_is_limited_across_usernames(settings: Any) -> None:
    settings.TESSERA_LOGIN_CLIENT_MAX_FAILURES = 4
    UserFactory.create(username="someone")
    for number in range(4):
        assert _token(f"user-{number}", "guess", ATTACKER).status_code == 400
    refused = _admin("someone", PASSWORD, ATTACKER)
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= settings.TESSERA_LOGIN_CLIENT_WINDOW_SECONDS
    assert "Too many failed sign-in attempts from your network." in refused.content.decode()
    # X-Forwarded-For is not trusted without a proxy in front: a forged header is not a new client.
    assert _token("someone", PASSWORD, ATTACKER, HTTP_X_FORWARDED_FOR=ELSEWHERE).status_code == 429
    # Other clients, and many correct sign-ins from one address, are not held back.
    for _ in range(10):
        assert _token("someone", PASSWORD, ELSEWHERE).status_code == 200


def test_api_has_generous_default_rates_per_client_and_per_user(settings: Any) -> None:
    assert settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] == {"anon": "3000/minute", "user": "1200/minute"}
    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == 0
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "3/minute", "user": "2/minute"},
    }
    anonymous = APIClient()
    assert [anonymous.get("/api/v1/patterns/").status_code for _ in range(3)] == [200, 200, 200]
    refused = anonymous.get("/api/v1/patterns/")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert anonymous.get("/api/v1/patterns/", REMOTE_ADDR=ELSEWHERE).status_code == 200
    member = token_client(UserFactory.create())
    assert [member.get("/api/v1/library/").status_code for _ in range(3)] == [200, 200, 429]
    assert token_client(UserFactory.create()).get("/api/v1/library/").status_code == 200


def test_a_redis_outage_does_not_stop_sign_in_or_the_api(settings: Any, tmp_path: Any) -> None:
    """The throttles let requests through while their Redis is unreachable (and log it): no 500. The cache is the
    configured fail-open one pointed at a dead socket, as in production when Redis is down (sessions are read
    through it too: cached_db falls back to the database)."""
    UserFactory.create(username="someone")
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": f"unix://{tmp_path}/no-redis-here.sock"}}
    assert settings.CACHES["default"]["BACKEND"] == "marketplace.cache.FailOpenRedisCache"
    assert _token("someone", "guess", ATTACKER).status_code == 400
    assert _token("someone", PASSWORD, ATTACKER).json()["token"]
    assert _allauth("someone", PASSWORD, ATTACKER).status_code == 302
    assert APIClient().get("/api/v1/patterns/").status_code == 200
