"""“Prepare a takedown notice”: from a leak trace or a copy flag, the text a creator sends to another site.

The creator sees their work, the evidence and "a copy sold on <date> to a Tessera buyer, reference <trace id>",
never the buyer; staff see the buyer. Only the traced (copied) pattern's creator and staff may prepare one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from catalog.models import CopyFlag, CreatorProfile, PatternFile
from delivery import notices
from delivery.models import LeakTrace
from payments.models import Order
from tests import samples
from tests.browser import assert_no_sideways_scroll, axe_violations, needs_chromium, screenshot
from tests.factories import PatternFactory, StaffFactory, UserFactory, add_file, paid_entitlement

pytestmark = pytest.mark.django_db
SHA = "ab" * 32
PIRATE = "https://files.pirate.example/blob-free"


@pytest.fixture
def leak() -> dict[str, Any]:
    creator = UserFactory.create(username="maker", email="maker@example.com")
    CreatorProfile.objects.create(user=creator, display_name="Mia Maker")
    pattern = PatternFactory.create(creator=creator, title="Barn owl", slug="barn-owl")
    original = pattern.files.get()
    PatternFile.objects.filter(pk=original.pk).update(created_at=datetime(2026, 1, 2, 3, 4, tzinfo=UTC))
    original.refresh_from_db()
    buyer = UserFactory.create(username="leaky", email="leaky@example.com")
    entitlement = paid_entitlement(buyer=buyer, pattern=pattern)
    order = Order.objects.get(items__entitlement=entitlement)
    Order.objects.filter(pk=order.pk).update(paid_at=datetime(2026, 3, 4, 5, 6, tzinfo=UTC))
    trace = LeakTrace.objects.create(
        file_name="owl-free.obj",
        sha256=SHA,
        file_format="obj",
        entitlement=entitlement,
        confidence=0.999998,
        result={
            "method": "reed-solomon",
            "order_id": order.pk,
            "buyer": "leaky",
            "buyer_email": "leaky@example.com",
            "pattern": "Barn owl",
            "paid_at": "2026-03-04T05:06:00+00:00",
            "downloads": 1,
            "revoked": False,
            "evidence": [
                {"carrier": "vertices", "original_file_id": None, "method": "none", "entitlement_id": None},
                {
                    "carrier": "vertices",
                    "original_file_id": original.pk,
                    "method": "reed-solomon",
                    "entitlement_id": entitlement.pk,
                    "agreeing_bits": 79,
                    "observed_bits": 80,
                    "confidence": 0.999998,
                },
            ],
        },
    )
    LeakTrace.objects.filter(pk=trace.pk).update(created_at=datetime(2026, 5, 6, 7, 8, tzinfo=UTC))
    untraced = LeakTrace.objects.create(file_name="x.stl", sha256=SHA, file_format="stl", result={"method": "none"})
    copier = UserFactory.create(username="copycat")
    copy_pattern = PatternFactory.create(creator=copier, title="My owl", with_file=False)
    copy = add_file(copy_pattern, name="owl.stl", content=samples.stl_cube() + b" ", file_format="stl")
    PatternFile.objects.filter(pk=copy.pk).update(created_at=datetime(2026, 2, 12, 3, 4, tzinfo=UTC))
    flag = CopyFlag.objects.create(
        pattern=copy_pattern, pattern_file=copy, matched_file=original, kind="shape", distance=0.005, threshold=0.02
    )
    return {
        "creator": creator,
        "pattern": pattern,
        "original": original,
        "trace": trace,
        "untraced": untraced,
        "order": order,
        "flag": flag,
        "copy": copy,
        "copier": copier,
        "buyer": buyer,
    }


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _expected_leak_notice(leak: dict[str, Any], *, today: str) -> str:
    trace, original = leak["trace"], leak["original"]
    return "\n".join(
        [
            "Subject: Notice of copyright infringement (DMCA, 17 U.S.C. § 512(c)(3))",
            "",
            "To the designated copyright agent of files.pirate.example:",
            "",
            "I am writing to notify you of material on your service that infringes my copyright, and to ask that you",
            "remove it or disable access to it expeditiously.",
            "",
            "1. The copyrighted work",
            "   “Barn owl” by Mia Maker, a digital pattern published on Tessera:",
            f"   {settings.SITE_URL.rstrip('/')}/p/barn-owl/",
            f"   Published on Tessera on {leak['pattern'].published_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC. "
            "Original file(s):",
            f"   - model.stl: SHA-256 {original.sha256}, uploaded to Tessera on 2026-01-02 03:04 UTC",
            "",
            "2. The infringing material",
            f"   {PIRATE}",
            "   A copy of the original file(s) above, delivered to one buyer under a licence that does not allow "
            "sharing it, "
            "and offered here without my permission.",
            "",
            "3. Evidence",
            "   - Every copy Tessera delivers carries an invisible forensic watermark unique to the purchase. "
            "Tessera's leak tracer read it from the file found at the address above.",
            f"   - Leak trace reference {trace.pk}, made on 2026-05-06 07:08 UTC.",
            f"   - A copy sold on 2026-03-04 05:06 UTC to a Tessera buyer, reference {trace.pk}.",
            "   - Match: reed-solomon, confidence 0.999998 (79 of 80 watermark bits agree).",
            f"   - The file found: owl-free.obj, SHA-256 {SHA}.",
            "",
            "4. Statements",
            "   I have a good faith belief that use of the material in the manner complained of is not authorized by",
            "   the copyright owner, its agent, or the law.",
            "   The information in this notification is accurate, and under penalty of perjury, I am the owner, or an",
            "   agent authorized to act on behalf of the owner, of an exclusive right that is allegedly infringed.",
            "",
            "5. Contact",
            "   Name: Mia Maker",
            "   Address: [your postal address]",
            "   Telephone: [your telephone number]",
            "   E-mail: maker@example.com",
            "",
            "Signature: [type your full legal name: a typed name is an electronic signature]",
            f"Date: {today}",
            "",
        ]
    )


def test_the_creator_downloads_a_complete_notice_without_the_buyers_data(leak: dict[str, Any]) -> None:
    client = _client(leak["creator"])
    url = f"/sell/leaks/{leak['trace'].pk}/takedown-notice/"
    response = client.get(url, {"infringing_url": PIRATE, "download": "txt"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="takedown-notice-leak-{leak["trace"].pk}.txt"'
    body = response.content.decode()
    today = f"{datetime.now(UTC):%Y-%m-%d}"
    assert body == _expected_leak_notice(leak, today=today)
    page = client.get(url, {"infringing_url": PIRATE})
    assert page.status_code == 200
    html = page.content.decode()
    for private in ("leaky", f"order #{leak['order'].pk}", "Staff view"):
        assert private not in html
        assert private not in body
    assert 'data-copy-target="notice-body"' in html
    assert "tessera/notice.js" in html
    assert f"A copy sold on 2026-03-04 05:06 UTC to a Tessera buyer, reference {leak['trace'].pk}." in html
    # Without an address, the page shows a placeholder; the download is refused until it is filled in.
    empty = client.get(url)
    assert empty.status_code == 200
    assert notices.PLACEHOLDER_LOCATION in empty.content.decode()
    refused = client.get(url, {"infringing_url": "", "download": "txt"})
    assert refused.status_code == 400
    assert "Content-Disposition" not in refused
    assert "Enter the address where the copy is offered before downloading." in refused.content.decode()
    bad = client.get(url, {"infringing_url": "not a url at all", "download": "txt"})
    assert bad.status_code == 400
    assert "Content-Disposition" not in bad
    assert "Enter a valid URL." in bad.content.decode()


def test_staff_see_the_buyer_and_the_admin_page_links_to_the_notice(leak: dict[str, Any]) -> None:
    staff = StaffFactory.create()
    client = _client(staff)
    trace = leak["trace"]
    body = client.get(
        f"/sell/leaks/{trace.pk}/takedown-notice/", {"infringing_url": PIRATE, "download": "txt"}
    ).content.decode()
    assert (
        f"   - Traced to buyer leaky <leaky@example.com>, order #{leak['order'].pk}, paid on 2026-03-04 05:06 UTC "
        "(staff only: not for the notice)."
    ) in body
    assert "to a Tessera buyer" not in body
    admin_page = client.get(f"/admin/delivery/leaktrace/{trace.pk}/change/").content.decode()
    assert f'<a href="/sell/leaks/{trace.pk}/takedown-notice/">Prepare a takedown notice</a>' in admin_page
    untraced_page = client.get(f"/admin/delivery/leaktrace/{leak['untraced'].pk}/change/").content.decode()
    assert "/takedown-notice/" not in untraced_page
    assert client.get(f"/sell/leaks/{leak['untraced'].pk}/takedown-notice/").status_code == 404


def test_only_the_creator_and_staff_may_prepare_a_notice(leak: dict[str, Any]) -> None:
    trace_url = f"/sell/leaks/{leak['trace'].pk}/takedown-notice/"
    flag_url = f"/sell/copies/{leak['flag'].pk}/takedown-notice/"
    anonymous = Client().get(trace_url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/accounts/login/")
    for outsider in (leak["buyer"], leak["copier"], UserFactory.create(), UserFactory.create(is_staff=True)):
        client = _client(outsider)
        assert client.get(trace_url).status_code == 404
        assert client.get(flag_url).status_code == 404
        assert client.get("/sell/leaks/999999/takedown-notice/").status_code == 404
    # A flag a moderator dismissed (not a copy) gives the creator no notice; staff still see it, marked.
    CopyFlag.objects.filter(pk=leak["flag"].pk).update(status=CopyFlag.Status.DISMISSED)
    assert _client(leak["creator"]).get(flag_url).status_code == 404
    staff_body = _client(StaffFactory.create()).get(flag_url).content.decode()
    assert "decided it is not a copy (staff only: not for the notice)" in staff_body


def test_a_copy_flag_notice_carries_the_match_and_both_upload_times(leak: dict[str, Any]) -> None:
    flag, original, copy = leak["flag"], leak["original"], leak["copy"]
    client = _client(leak["creator"])
    response = client.get(f"/sell/copies/{flag.pk}/takedown-notice/", {"infringing_url": PIRATE, "download": "txt"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="takedown-notice-copy-{flag.pk}.txt"'
    body = response.content.decode()
    assert "\n3. Evidence\n" in body
    evidence = body.split("\n3. Evidence\n")[1].split("\n\n4. Statements")[0]
    assert evidence == "\n".join(
        [
            "   - Tessera's copy detection matched a later upload to my file: same 3d shape, similarity 0.88 of 1 "
            "(Shape distance 0.0050 (a copy at ≤ 0.02); rotation, scale and meshing do not change it.) "
            f"Copy flag reference {flag.pk}.",
            "   - My original was uploaded on 2026-01-02 03:04 UTC; the copy, owl.stl "
            f"(SHA-256 {copy.sha256}), on 2026-02-12 03:04 UTC, 41 day(s) later.",
            "   - Tessera's moderators have not yet reviewed the match.",
        ]
    )
    assert f"   - model.stl: SHA-256 {original.sha256}, uploaded to Tessera on 2026-01-02 03:04 UTC" in body
    assert "copycat" not in body
    staff_body = _client(StaffFactory.create()).get(
        f"/sell/copies/{flag.pk}/takedown-notice/", {"infringing_url": PIRATE, "download": "txt"}
    )
    assert f"by copycat (pattern #{copy.pattern_id}; staff only: not for the notice)" in staff_body.content.decode()


def test_the_creator_finds_their_traces_and_copies_in_one_place(leak: dict[str, Any]) -> None:
    html = _client(leak["creator"]).get("/sell/protection/").content.decode()
    assert f'href="/sell/leaks/{leak["trace"].pk}/takedown-notice/"' in html
    assert f'href="/sell/copies/{leak["flag"].pk}/takedown-notice/"' in html
    assert f"/sell/leaks/{leak['untraced'].pk}/" not in html
    assert "leaky" not in html
    other = _client(leak["copier"]).get("/sell/protection/").content.decode()
    assert "/takedown-notice/" not in other
    assert "No traced leaks" in other
    assert "No copies found" in other


@pytest.mark.e2e
@needs_chromium
def test_notice_page_in_a_browser(live_server: Any, page: Any, leak: dict[str, Any]) -> None:
    """Phone and desktop: no sideways scroll, no serious axe violation, and the copy button copies the text."""
    base = live_server.url
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", "maker")
    page.fill("input[name=password]", "secret-pass-123")
    page.click("form button[type=submit]")
    page.wait_for_url(f"{base}/")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    for width in (390, 1366):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{base}/sell/protection/")
        assert_no_sideways_scroll(page)
        assert axe_violations(page) == []
        screenshot(page, f"protection-{width}")
        page.goto(f"{base}/sell/leaks/{leak['trace'].pk}/takedown-notice/")
        page.fill("#id_infringing_url", PIRATE)
        page.click("text=Fill in the notice")
        page.wait_for_url("**infringing_url=*")
        assert_no_sideways_scroll(page)
        assert axe_violations(page) == []
        screenshot(page, f"takedown-notice-{width}")
    page.click("text=Copy to clipboard")
    page.wait_for_function("document.getElementById('notice-copied').textContent === 'Copied.'")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("Subject: Notice of copyright infringement")
    assert PIRATE in copied
