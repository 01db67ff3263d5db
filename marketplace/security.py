"""Security headers that Django does not set itself: Content-Security-Policy and Permissions-Policy.

The CSP comes from django-csp (``settings.CONTENT_SECURITY_POLICY``); this subclass adds, on every response,
the origins the configuration decides at run time: Stripe.js and the Stripe API (localstripe in development,
js.stripe.com and api.stripe.com with a real key) and the media origin of an S3 bucket. Deriving them from
the same settings the pages use means the policy can never disagree with the script URL a page loads.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from csp.constants import NONE
from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

# What Stripe.js needs beyond its own script origin (https://docs.stripe.com/security/guide#content-security-policy):
# its frames (card fields, 3-D Secure) and the API it calls from the browser.
REAL_STRIPE_SCRIPT_ORIGINS = ("https://js.stripe.com", "https://*.js.stripe.com")
REAL_STRIPE_FRAME_ORIGINS = ("https://js.stripe.com", "https://*.js.stripe.com", "https://hooks.stripe.com")
REAL_STRIPE_CONNECT_ORIGINS = ("https://api.stripe.com",)
# The payouts set-up form posts to us and we redirect to Stripe's hosted Connect onboarding: form-action
# covers redirects after a form submission, so that origin must be allowed too.
REAL_STRIPE_ONBOARDING_ORIGINS = ("https://connect.stripe.com",)


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of an absolute URL; empty for a relative one."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def stripe_origins() -> dict[str, tuple[str, ...]]:
    """The CSP sources Stripe.js needs, per directive, for the configured Stripe (real or emulated)."""
    script = origin_of(settings.STRIPE_JS_URL)
    api = origin_of(settings.STRIPE_API_BASE)
    if settings.STRIPE_USES_LOCALSTRIPE:
        # localstripe serves its Stripe.js, its API and the emulated onboarding page from one loopback origin,
        # and draws no frames.
        return {"script-src": (script,), "connect-src": (script, api), "form-action": (api,)}
    return {
        "script-src": (script, *REAL_STRIPE_SCRIPT_ORIGINS),
        "frame-src": REAL_STRIPE_FRAME_ORIGINS,
        "connect-src": (api, *REAL_STRIPE_CONNECT_ORIGINS),
        "form-action": REAL_STRIPE_ONBOARDING_ORIGINS,
    }


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware plus the Stripe and media origins of this deployment."""

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request=request, response=response, report_only=report_only)
        extra: dict[str, list[str]] = {key: list(values) for key, values in stripe_origins().items()}
        media = list(settings.TESSERA_CSP_MEDIA_ORIGINS)
        # Previews are <img>; the 3D viewer fetches its mesh (connect-src).
        extra["img-src"] = media
        extra["connect-src"] = extra["connect-src"] + media
        setting = "CONTENT_SECURITY_POLICY_REPORT_ONLY" if report_only else "CONTENT_SECURITY_POLICY"
        configured = (getattr(settings, setting, None) or {}).get("DIRECTIVES", {})
        replace = dict(parts.replace or {})
        for directive, sources in extra.items():
            if not sources:
                continue
            base = replace.get(directive, configured.get(directive)) or []
            # 'none' must stand alone: a directive that gains an origin drops it.
            replace[directive] = list(dict.fromkeys([s for s in base if s != NONE] + sources))
        parts.replace = replace
        return parts


class PermissionsPolicyMiddleware:
    """Sets ``Permissions-Policy`` from ``settings.PERMISSIONS_POLICY`` ({feature: [allowlist]}) on every response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.header = ", ".join(
            f"{feature}=({' '.join(allowlist)})" for feature, allowlist in settings.PERMISSIONS_POLICY.items()
        )

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if self.header and "Permissions-Policy" not in response:
            response["Permissions-Policy"] = self.header
        return response
