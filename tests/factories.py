"""factory_boy factories for the domain models."""

from __future__ import annotations

import hashlib
from typing import Any

import factory
from django.core.files.base import ContentFile
from django.utils import timezone

from catalog.models import Category, Licence, Pattern, PatternFile, User
from delivery.models import Entitlement
from payments.models import Order, OrderItem
from tests import samples


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "secret-pass-123")

    @factory.post_generation
    def saved(user: User, create: bool, extracted: Any, **kwargs: Any) -> None:  # noqa: N805
        if create:
            user.save()


class StaffFactory(UserFactory):
    is_staff = True
    is_superuser = True


class PatternFactory(factory.django.DjangoModelFactory[Pattern]):
    """A pattern with one real STL file, in the given status (published by default)."""

    class Meta:
        model = Pattern
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Test pattern {n}")
    slug = factory.Sequence(lambda n: f"test-pattern-{n}")
    description = "A pattern used in tests."
    creator = factory.SubFactory(UserFactory)
    category = factory.LazyFunction(lambda: Category.objects.get(slug="3d-printing"))
    licence = factory.LazyFunction(lambda: Licence.objects.get(code="personal"))
    price = 500
    currency = "USD"
    status = Pattern.Status.PUBLISHED
    published_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def with_file(pattern: Pattern, create: bool, extracted: Any, **kwargs: Any) -> None:  # noqa: N805
        if not create or extracted is False:
            return
        content = extracted if isinstance(extracted, bytes) else samples.stl_cube()
        pattern_file = PatternFile(
            pattern=pattern,
            original_name="model.stl",
            sha256=hashlib.sha256(content).hexdigest(),
            size=len(content),
            format="stl",
            status=PatternFile.Status.VALID,
        )
        pattern_file.original.save("model.stl", ContentFile(content), save=False)
        pattern_file.save()
        from catalog.services import pattern_refresh_search_vector

        pattern_refresh_search_vector(pattern=pattern)


class OrderFactory(factory.django.DjangoModelFactory[Order]):
    class Meta:
        model = Order

    buyer = factory.SubFactory(UserFactory)
    amount = 500
    currency = "USD"
    stripe_payment_intent_id = factory.Sequence(lambda n: f"pi_test_{n}")


def add_file(pattern: Pattern, *, name: str, content: bytes, file_format: str) -> PatternFile:
    """Attach another valid file to a pattern."""
    pattern_file = PatternFile(
        pattern=pattern,
        original_name=name,
        sha256=hashlib.sha256(content).hexdigest(),
        size=len(content),
        format=file_format,
        status=PatternFile.Status.VALID,
    )
    pattern_file.original.save(name, ContentFile(content), save=False)
    pattern_file.save()
    return pattern_file


def order_item_add(*, order: Order, pattern: Pattern) -> OrderItem:
    """Put ``pattern`` in ``order`` at its price, with the platform fee the order service would charge."""
    from payments import ledger

    return OrderItem.objects.create(
        order=order,
        pattern=pattern,
        creator=pattern.creator,
        licence=pattern.licence,
        price=pattern.price,
        currency=pattern.currency,
        platform_fee=ledger.platform_fee_for(pattern.price),
    )


def paid_entitlement(
    *, buyer: User, pattern: Pattern, order: Order | None = None, prepare: bool = False
) -> Entitlement:
    """An entitlement from a paid order (booked in the ledger); ``prepare`` makes the personal copies now."""
    if order is None:
        order = Order.objects.create(
            buyer=buyer,
            amount=pattern.price,
            currency=pattern.currency,
            status=Order.Status.PAID,
            paid_at=timezone.now(),
        )
    item = order_item_add(order=order, pattern=pattern)
    entitlement = Entitlement.objects.create(buyer=buyer, pattern=pattern, order_item=item)
    if prepare:
        from delivery.services import entitlement_prepare

        entitlement_prepare(entitlement=entitlement)
    return entitlement
