"""Pages: the creator's receipt download and the public receipt verifier."""

from __future__ import annotations

import json

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from marketplace.middleware import validates_query_string
from provenance import keys, selectors, timestamping
from provenance.receipt import ReceiptInvalid, receipt_load, receipt_verify

MAX_RECEIPT_BYTES = 1024 * 1024
# What each failing part means for the person reading the result.
FAILURE_MEANING = {
    "format": "This file is not a Tessera authorship receipt, or it is damaged.",
    "statement": "The statement in this receipt is not the one the log recorded: it has been edited.",
    "leaf hash": "The statement in this receipt has been changed since the log recorded it.",
    "proof": "Nothing proves that this statement is in the log's signed checkpoint.",
    "signature": "The checkpoint was not signed by this log's key: it is not Tessera's.",
    "timestamp": "A time-stamp does not match this checkpoint, or its authority is not one we trust.",
}


@login_required
@validates_query_string
def receipt_download(request: HttpRequest, pk: int) -> HttpResponse:
    """The creator's (or staff's) receipt for version ``?version=N`` (default 1, the original upload) as a JSON
    file; a page saying it is on its way while no signed checkpoint includes the statement yet (202)."""
    access = selectors.pattern_access(user=request.user, pattern_id=pk)
    if access == "missing":
        raise Http404("No such pattern.")
    if access == "forbidden":
        raise PermissionDenied("Only the pattern's creator and staff can download its authorship receipt.")
    raw_version = request.GET.get("version", "1")
    if not raw_version.isdigit() or not 1 <= int(raw_version) <= 100_000:
        return render(request, "provenance/receipt_pending.html", {"pk": pk, "bad_version": True}, status=400)
    version = int(raw_version)
    leaf = selectors.leaf_for_pattern(pattern_id=pk, version=version)
    checkpoint = selectors.receipt_checkpoint(leaf=leaf) if leaf else None
    if leaf is None or checkpoint is None:
        return render(request, "provenance/receipt_pending.html", {"pk": pk, "version": version}, status=202)
    bundle = selectors.receipt_build(leaf=leaf, checkpoint=checkpoint)
    response = HttpResponse(json.dumps(bundle, indent=2, ensure_ascii=False) + "\n", content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="tessera-pattern-{pk}-v{version}-receipt.json"'
    return response


class ReceiptForm(forms.Form):
    receipt = forms.FileField(
        label="Receipt file",
        help_text="The .json receipt a creator downloaded from Tessera (at most 1 MB).",
    )


def _trusted_tsa_roots() -> bytes | None:
    roots = b"".join(authority.roots_pem for authority in timestamping.authorities())
    return roots or None


@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """Anyone uploads a receipt; every hash and signature is recomputed here from the file alone (the log's
    database is not consulted), against this log's public key."""
    context: dict[str, object] = {"public_key": keys.public_key_b64(), "origin": keys.key_name()}
    status = 200
    if request.method == "POST":
        form = ReceiptForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["receipt"]
            if upload.size > MAX_RECEIPT_BYTES:
                form.add_error("receipt", "A receipt is a small JSON file; this one is over 1 MB.")
                status = 400
            else:
                try:
                    verified = receipt_verify(
                        receipt_load(upload.read()),
                        log_public_key=keys.public_key(),
                        tsa_roots_pem=_trusted_tsa_roots(),
                    )
                except ReceiptInvalid as exc:
                    context["failure"] = exc
                    context["failure_meaning"] = FAILURE_MEANING.get(exc.part, "")
                    status = 422
                else:
                    context["verified"] = verified
                    context["files"] = verified.statement.get("files") or []
                    context["creator"] = verified.statement.get("creator") or {}
        else:
            status = 400
    else:
        form = ReceiptForm()
    context["form"] = form
    return render(request, "provenance/verify.html", context, status=status)
