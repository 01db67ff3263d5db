"""The three login paths behind the sign-in throttle of ``marketplace.throttling``.

* ``POST /api/v1/auth/token/``: ``obtain_auth_token`` (DRF's view, same fields), 429 via DRF's Throttled.
* ``/admin/login/``: ``admin.site.login_form`` plus ``throttled_login_view`` for the 429 status.
* ``/accounts/login/``: ``ACCOUNT_ADAPTER`` plus ``throttled_login_view``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.http import HttpRequest, HttpResponse
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import Throttled, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from marketplace.throttling import LoginThrottled, login_check, login_failed, login_succeeded

_THROTTLED_ATTR = "_tessera_login_throttled"


def _mark(request: HttpRequest, throttled: LoginThrottled) -> None:
    setattr(request, _THROTTLED_ATTR, throttled)


def throttled_login_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wrap a login page: a form refused by the throttle is answered 429 with Retry-After."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        throttled: LoginThrottled | None = getattr(request, _THROTTLED_ATTR, None)
        if throttled is not None and response.status_code == 200:
            response.status_code = 429
            response["Retry-After"] = str(throttled.retry_after)
        return response

    return wrapped


class ThrottledAdminAuthenticationForm(AdminAuthenticationForm):
    """The admin's login form, behind the sign-in throttle (set as ``admin.site.login_form``)."""

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if not username or not password or self.request is None:
            return super().clean()
        try:
            login_check(self.request, username)
        except LoginThrottled as throttled:
            _mark(self.request, throttled)
            raise forms.ValidationError(throttled.message, code="throttled") from throttled
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            login_failed(self.request, username)
            raise
        login_succeeded(self.request, username)
        return cleaned


class ThrottledAccountAdapter(DefaultAccountAdapter):
    """allauth's adapter with its per-username hard lock replaced by the sign-in throttle."""

    @staticmethod
    def _identifier(credentials: dict[str, Any]) -> str:
        return str(credentials.get("username") or credentials.get("email") or "")

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        try:
            login_check(request, self._identifier(credentials))
        except LoginThrottled as throttled:
            _mark(request, throttled)
            raise forms.ValidationError(throttled.message, code="throttled") from throttled

    def authenticate(self, request: HttpRequest, **credentials: Any) -> Any:
        user = super().authenticate(request, **credentials)
        if user is not None:
            login_succeeded(request, self._identifier(credentials))
        return user

    def authentication_failed(self, request: HttpRequest, **credentials: Any) -> None:
        login_failed(request, self._identifier(credentials))


def _credential(data: Any, name: str) -> str:
    value = data.get(name) if hasattr(data, "get") else None
    return value if isinstance(value, str) else ""


class ThrottledObtainAuthToken(ObtainAuthToken):
    """Exchange a username and password for an API token.

    Failed attempts are throttled per client and per account: a refused attempt is answered 429 with
    Retry-After (seconds) and its password is not checked.
    """

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        identifier = _credential(request.data, "username")
        attempt = bool(identifier and _credential(request.data, "password"))
        if attempt:
            try:
                login_check(request, identifier)
            except LoginThrottled as throttled:
                raise Throttled(wait=throttled.retry_after, detail=throttled.message) from throttled
        try:
            response = super().post(request, *args, **kwargs)
        except ValidationError:
            if attempt:
                login_failed(request, identifier)
            raise
        if attempt:
            login_succeeded(request, identifier)
        return response


obtain_auth_token = ThrottledObtainAuthToken.as_view()
