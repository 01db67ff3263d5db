"""The account page for webhooks: the same operations as the API, for a person in a browser."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from webhooks import selectors, services
from webhooks.forms import EndpointForm
from webhooks.models import Delivery, DeliveryAttempt, Endpoint

DELIVERIES_SHOWN = 25


def _reveal_key(endpoint_id: int) -> str:
    return f"webhooks:secret:{endpoint_id}"


def _own(request: HttpRequest, pk: int) -> Endpoint:
    endpoint = selectors.endpoint_get_for_owner(owner=request.user, endpoint_id=pk)
    if endpoint is None:
        raise Http404
    return endpoint


def _errors_to_form(form: EndpointForm, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@login_required
def endpoint_list(request: HttpRequest) -> HttpResponse:
    """Your endpoints, and a form to add one (its secret is shown once, on the next page)."""
    form = EndpointForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint = services.endpoint_create(owner=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            request.session[_reveal_key(endpoint.pk)] = endpoint.secret
            messages.success(request, "Endpoint added. Copy its signing secret now: it is shown only once.")
            return redirect("webhooks:endpoint-detail", pk=endpoint.pk)
    endpoints = selectors.endpoint_list_for_owner(owner=request.user)
    status = 400 if request.method == "POST" else 200
    return render(request, "webhooks/endpoint_list.html", {"endpoints": endpoints, "form": form}, status=status)


def _last_attempt(delivery: Delivery) -> DeliveryAttempt | None:
    attempts = list(delivery.attempts.all())  # prefetched
    return attempts[-1] if attempts else None


@login_required
def endpoint_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One endpoint: its secret (once, after creation or rotation), its events, a test, its deliveries."""
    endpoint = _own(request, pk)
    initial = {"url": endpoint.url, "events": endpoint.events, "description": endpoint.description}
    form = EndpointForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.endpoint_update(endpoint=endpoint, **form.cleaned_data)
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, "Endpoint saved.")
            return redirect("webhooks:endpoint-detail", pk=endpoint.pk)
        endpoint.refresh_from_db()
    deliveries = list(selectors.delivery_list_for_endpoint(endpoint=endpoint)[:DELIVERIES_SHOWN])
    rows = [(delivery, _last_attempt(delivery)) for delivery in deliveries]
    context = {
        "endpoint": endpoint,
        "form": form,
        "secret": request.session.pop(_reveal_key(endpoint.pk), None),
        "deliveries": rows,
    }
    return render(request, "webhooks/endpoint_detail.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def endpoint_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = services.endpoint_rotate_secret(endpoint=_own(request, pk))
    request.session[_reveal_key(endpoint.pk)] = endpoint.secret
    messages.success(request, "New signing secret made. The previous one keeps signing next to it for 24 hours.")
    return redirect("webhooks:endpoint-detail", pk=endpoint.pk)


@login_required
@require_POST
def endpoint_test(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _own(request, pk)
    if endpoint.status != Endpoint.Status.ACTIVE:
        messages.error(request, "This endpoint is disabled; turn it back on to send a test event.")
    else:
        with transaction.atomic():
            services.delivery_create_test(endpoint=endpoint)
        messages.success(request, "Test event sent. Reload this page in a few seconds to see how your server answered.")
    return redirect("webhooks:endpoint-detail", pk=endpoint.pk)


@login_required
@require_POST
def endpoint_status(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _own(request, pk)
    wanted = Endpoint.Status.ACTIVE if request.POST.get("status") == "active" else Endpoint.Status.DISABLED
    services.endpoint_update(endpoint=endpoint, status=wanted)
    messages.success(request, "Endpoint turned on." if wanted == Endpoint.Status.ACTIVE else "Endpoint turned off.")
    return redirect("webhooks:endpoint-detail", pk=endpoint.pk)


@login_required
@require_POST
def endpoint_delete(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _own(request, pk)
    services.endpoint_delete(endpoint=endpoint)
    messages.success(request, f"Endpoint {endpoint.url} deleted.")
    return redirect("webhooks:endpoint-list")


@login_required
@require_POST
def delivery_replay(request: HttpRequest, pk: int, delivery_id: int) -> HttpResponse:
    delivery = selectors.delivery_get_for_owner(owner=request.user, endpoint_id=pk, delivery_id=delivery_id)
    if delivery is None:
        raise Http404
    try:
        with transaction.atomic():
            services.delivery_replay(delivery=delivery)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Sending {delivery.event_type} again with the same webhook-id.")
    return redirect("webhooks:endpoint-detail", pk=pk)
