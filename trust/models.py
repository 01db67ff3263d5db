"""Notice and action (issue 14): takedown notices (17 U.S.C. §512(c)(3), DSA Art. 16), staff decisions, counter-
notices (§512(g)), strikes of the repeat-infringer policy and internal complaints (DSA Art. 20).

Personal data of claimants lives here (never in the append-only event store, whose events carry ids only).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from catalog.models import Pattern

User = settings.AUTH_USER_MODEL


class TakedownNotice(models.Model):
    """A claim that listings infringe the claimant's work. The claimant has no account: they read their notice
    through a secret link e-mailed to them (``trust.selectors.claimant_token``)."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        REMOVED = "removed", "Acted on (removed)"
        REJECTED = "rejected", "Rejected"
        COUNTERED = "countered", "Counter-notice filed"
        ACTION_FILED = "action_filed", "Claimant filed an action (stays down)"
        RESTORED = "restored", "Restored"

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED, db_index=True)
    claimant_name = models.CharField(max_length=200)
    claimant_email = models.EmailField()
    claimant_address = models.TextField(max_length=1000)
    claimant_phone = models.CharField(max_length=40, blank=True)
    work_description = models.TextField(max_length=5000)
    original_location = models.CharField(max_length=1000)
    # When ``original_location`` names a Tessera pattern: the evidence compares its files with the listings'.
    original_pattern = models.ForeignKey(
        Pattern, on_delete=models.SET_NULL, null=True, blank=True, related_name="takedown_claims"
    )
    explanation = models.TextField(max_length=5000, blank=True)
    good_faith = models.BooleanField()
    accurate_under_penalty = models.BooleanField()
    signature = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    decision_reason = models.TextField(blank=True)
    revoke_access = models.BooleanField(default=False)
    countered_at = models.DateTimeField(null=True, blank=True)
    # When the listings come back unless the claimant files an action (10 business days after the counter-notice).
    restore_after = models.DateTimeField(null=True, blank=True, db_index=True)
    restored_at = models.DateTimeField(null=True, blank=True)
    action_filed_at = models.DateTimeField(null=True, blank=True)
    action_filed_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(good_faith=True, accurate_under_penalty=True), name="takedown_statements_affirmed"
            )
        ]

    def __str__(self) -> str:
        return f"Notice #{self.pk} ({self.status})"


class TakedownItem(models.Model):
    """One listing a notice complains of, with what became of it (``previous_status``: where a restoration
    returns it; empty while not removed)."""

    notice = models.ForeignKey(TakedownNotice, on_delete=models.CASCADE, related_name="items")
    pattern = models.ForeignKey(Pattern, on_delete=models.PROTECT, related_name="takedown_items")
    uploader = models.ForeignKey(User, on_delete=models.PROTECT, related_name="takedown_items")
    previous_status = models.CharField(max_length=16, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)
    restored_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["notice", "pattern"], name="takedown_item_once")]

    def __str__(self) -> str:
        return f"notice {self.notice_id}: pattern {self.pattern_id}"


class CounterNotice(models.Model):
    """The uploader's counter-notice (§512(g)(3)): one per notice and uploader."""

    notice = models.ForeignKey(TakedownNotice, on_delete=models.CASCADE, related_name="counter_notices")
    uploader = models.ForeignKey(User, on_delete=models.PROTECT, related_name="counter_notices")
    name = models.CharField(max_length=200)
    address = models.TextField(max_length=1000)
    phone = models.CharField(max_length=40, blank=True)
    statement_good_faith = models.BooleanField()
    consent_to_jurisdiction = models.BooleanField()
    signature = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["notice", "uploader"], name="counter_notice_once"),
            models.CheckConstraint(
                condition=models.Q(statement_good_faith=True, consent_to_jurisdiction=True),
                name="counter_notice_statements_affirmed",
            ),
        ]

    def __str__(self) -> str:
        return f"Counter-notice to #{self.notice_id} by {self.uploader_id}"


class Strike(models.Model):
    """A removal counted against the uploader (repeat-infringer policy); it stops counting at ``expires_at`` or when
    lifted (the listing restored, a complaint upheld)."""

    creator = models.ForeignKey(User, on_delete=models.CASCADE, related_name="strikes")
    notice = models.ForeignKey(TakedownNotice, on_delete=models.CASCADE, related_name="strikes")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    lifted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["creator", "notice"], name="strike_once_per_notice")]

    def __str__(self) -> str:
        return f"strike on {self.creator_id} (notice {self.notice_id})"


class Complaint(models.Model):
    """An internal complaint against a moderation decision (DSA Art. 20), open for 6 months after it.

    ``subject``: a takedown decision (``notice``; by the uploader or the claimant), a pattern's rejection or
    removal (``pattern``), or the complainant's suspension."""

    class Subject(models.TextChoices):
        TAKEDOWN = "takedown", "Takedown decision"
        PATTERN = "pattern", "Pattern moderation decision"
        SUSPENSION = "suspension", "Suspension"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        UPHELD = "upheld", "Upheld (decision reversed)"
        DISMISSED = "dismissed", "Dismissed (decision stands)"

    subject = models.CharField(max_length=12, choices=Subject.choices)
    notice = models.ForeignKey(TakedownNotice, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    pattern = models.ForeignKey(Pattern, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    # A signed-in complainant, or (a claimant without an account) their e-mail address.
    complainant = models.ForeignKey(User, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    complainant_email = models.EmailField(blank=True)
    text = models.TextField(max_length=5000)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    resolution = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Complaint #{self.pk} ({self.subject}, {self.status})"
