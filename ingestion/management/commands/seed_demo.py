"""Create demo accounts and demo patterns, run them through the real ingestion pipeline, and publish them."""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import BaseCommand

from catalog import services
from catalog.demo import demo_patterns
from catalog.models import Category, Licence, Pattern, User
from ingestion.services import pattern_process_now
from ingestion.submit import pattern_create

DEMO_ACCOUNTS = [
    # username, password, staff
    ("admin", "tessera-admin", True),
    ("maker_mia", "tessera-demo", False),
    ("buyer_ben", "tessera-demo", False),
]


class Command(BaseCommand):
    help = "Seed demo accounts and at least 24 demo patterns (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        for username, password, staff in DEMO_ACCOUNTS:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={"email": f"{username}@example.com", "is_staff": staff, "is_superuser": staff},
            )
            if created:
                user.set_password(password)
                user.save()
            # Demo accounts sign in and sell at once: their (example.com) addresses count as verified.
            EmailAddress.objects.update_or_create(
                user=user, email=user.email, defaults={"verified": True, "primary": True}
            )
        creator = User.objects.get(username="maker_mia")
        services.creator_profile_ensure(user=creator)
        admin = User.objects.get(username="admin")
        existing = set(Pattern.objects.filter(creator=creator).values_list("title", flat=True))
        made = 0
        for title, description, category_slug, licence_code, price, files in demo_patterns():
            if title in existing:
                continue
            pattern = pattern_create(
                creator=creator,
                title=title,
                description=description,
                price=price,
                # Personal patterns also offer the Commercial tier, at four times the price.
                commercial_price=price * 4 if licence_code == "personal" and price else None,
                currency="USD",
                licence=Licence.objects.get(code=licence_code),
                category=Category.objects.get(slug=category_slug),
                uploads=[SimpleUploadedFile(name, content) for name, content in files],
                # Processed right here, once: nothing is queued for the workers to process again.
                enqueue=False,
            )
            processed = pattern_process_now(pattern_id=pattern.pk)
            if processed is None or processed.status != Pattern.Status.NEEDS_REVIEW:
                reason = processed.status_reason if processed else "missing"
                self.stderr.write(f"demo pattern {title!r} did not pass ingestion: {reason}")
                continue
            services.pattern_moderate(pattern=processed, moderator=admin, action="approve")
            made += 1
        # Demo patterns seeded before previews had srcset renditions get them now (nothing to do on later runs).
        call_command("make_preview_renditions", stdout=self.stdout)
        total = Pattern.objects.filter(creator=creator, status=Pattern.Status.PUBLISHED).count()
        self.stdout.write(f"Demo data ready: {made} new, {total} published demo patterns.")
