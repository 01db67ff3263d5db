"""Moderation in Django admin: a review queue with thumbnails, approve/reject/reprocess actions."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.html import format_html, format_html_join

from catalog import console, services
from catalog.history import pattern_timeline
from catalog.models import (
    Category,
    CopyFlag,
    CreatorProfile,
    Licence,
    ModerationDecision,
    Pattern,
    PatternFile,
    Preview,
    RejectionReason,
    ReviewQueue,
    Tag,
    TagProbe,
    TagSuggestion,
    TaxonomyTerm,
    User,
)
from catalog.permissions import MODERATE_PATTERNS, VIEW_PATTERNS, staff_has_perm
from catalog.templatetags.tessera import amount_of


@admin.register(User)
class TesseraUserAdmin(UserAdmin):
    pass


@admin.register(CreatorProfile)
class CreatorProfileAdmin(admin.ModelAdmin[CreatorProfile]):
    list_display = ["display_name", "user", "created_at"]
    search_fields = ["display_name", "user__username"]


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin[Category]):
    list_display = ["name", "slug", "position"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin[Tag]):
    search_fields = ["name"]


@admin.register(Licence)
class LicenceAdmin(admin.ModelAdmin[Licence]):
    list_display = ["code", "name", "allows_commercial_use", "requires_payment"]


class PatternFileInline(admin.TabularInline[PatternFile, Pattern]):
    model = PatternFile
    extra = 0
    can_delete = False
    fields = ["original_name", "format", "size", "sha256", "status", "findings"]
    readonly_fields = ["original_name", "format", "size", "sha256", "status", "findings"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Findings")
    def findings(self, pattern_file: PatternFile) -> str:
        items = pattern_file.validation.get("findings", []) if pattern_file.validation else []
        if not items:
            return "—"
        return format_html_join("", "<div>[{}] {}</div>", ((f["severity"], f["message"]) for f in items))


def _thumbnail(pattern: Pattern) -> str:
    preview = next(iter(pattern.previews.all()), None)
    if preview is None:
        return "—"
    return format_html('<img src="{}" style="height:64px;border:1px solid #ddd" alt="">', preview.url)


# Every action names the permission it needs: Django offers an action without one to anyone who may
# merely view the list (a staff account with view permission could approve, reject or refund).
@admin.action(description="Approve selected patterns", permissions=["change"])
def approve(modeladmin: admin.ModelAdmin[Any], request: HttpRequest, queryset: QuerySet[Pattern]) -> None:
    done = 0
    for pattern in queryset:
        try:
            services.pattern_moderate(pattern=pattern, moderator=request.user, action="approve")
            done += 1
        except ValidationError as exc:
            modeladmin.message_user(request, f"{pattern}: {'; '.join(exc.messages)}", messages.WARNING)
    modeladmin.message_user(request, f"Approved {done} pattern(s).")


@admin.action(description="Reject selected patterns (asks for a reason)", permissions=["change"])
def reject(modeladmin: admin.ModelAdmin[Any], request: HttpRequest, queryset: QuerySet[Pattern]) -> HttpResponse | None:
    reason = request.POST.get("reason", "").strip()
    if "confirm" in request.POST:
        if not reason:
            modeladmin.message_user(request, "Give a reason; the creator will read it.", messages.ERROR)
        else:
            done = 0
            for pattern in queryset:
                try:
                    services.pattern_moderate(pattern=pattern, moderator=request.user, action="reject", reason=reason)
                    done += 1
                except ValidationError as exc:
                    modeladmin.message_user(request, f"{pattern}: {'; '.join(exc.messages)}", messages.WARNING)
            modeladmin.message_user(request, f"Rejected {done} pattern(s).")
            return None
    return TemplateResponse(
        request,
        "admin/catalog/reject_reason.html",
        {**modeladmin.admin_site.each_context(request), "patterns": queryset, "title": "Reject patterns"},
    )


class PatternAdminBase(admin.ModelAdmin[Pattern]):
    list_display = [
        "thumbnail",
        "title",
        "creator",
        "status",
        "formats",
        "copy_flags_open",
        "price_display",
        "created_at",
    ]
    list_filter = ["status", "files__format", "category", "licence"]
    search_fields = ["title", "description", "creator__username"]
    readonly_fields = [
        "status",
        "status_reason",
        "processing_step",
        "created_at",
        "published_at",
        "gallery",
        "history",
    ]
    exclude = ["search_vector"]
    inlines = [PatternFileInline]
    # ingestion/admin.py adds "reprocess" (ingestion sits above catalog; see the README's Layering).
    actions = [approve, reject]
    list_select_related = ["creator"]

    class Media:
        css = {"all": ["tessera/history.css"]}

    def save_model(self, request: HttpRequest, obj: Pattern, form: Any, change: bool) -> None:
        # The change form runs in one transaction: the edit and its pattern.updated event (with this staff
        # account as actor) commit together.
        before = None
        if change:
            stored = Pattern.objects.select_related("category", "licence").get(pk=obj.pk)
            before = services.pattern_public_values(stored)
        super().save_model(request, obj, form, change)
        if before is not None:
            services.pattern_changes_record(pattern=obj, before=before, actor=request.user)  # type: ignore[arg-type]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # Tags put on or taken off in this form are staff tag decisions, recorded with the staff account.
        pattern = form.instance
        before = set(pattern.tags.values_list("name", flat=True)) if change else set()
        super().save_related(request, form, formsets, change)
        if change:
            services.pattern_tags_changes_record(pattern=pattern, before=before, actor=request.user)  # type: ignore[arg-type]

    @admin.display(description="History")
    def history(self, pattern: Pattern) -> str:
        if pattern.pk is None:
            return "—"
        return render_to_string("catalog/_history.html", {"timeline": pattern_timeline(pattern=pattern)})

    def get_queryset(self, request: HttpRequest) -> QuerySet[Pattern]:
        return super().get_queryset(request).prefetch_related("previews", "files", "copy_flags")

    @admin.display(description="Possible copies")
    def copy_flags_open(self, pattern: Pattern) -> str:
        count = sum(1 for flag in pattern.copy_flags.all() if flag.status == CopyFlag.Status.OPEN)
        if not count:
            return "—"
        return format_html(
            '<a href="/admin/catalog/copyflag/?pattern__id__exact={}&status__exact=open" style="color:#b42318">'
            "⚠ {} to check</a>",
            pattern.pk,
            count,
        )

    @admin.display(description="Preview")
    def thumbnail(self, pattern: Pattern) -> str:
        return _thumbnail(pattern)

    @admin.display(description="Formats")
    def formats(self, pattern: Pattern) -> str:
        return ", ".join(sorted({f.format for f in pattern.files.all()}))

    @admin.display(description="Price", ordering="price")
    def price_display(self, pattern: Pattern) -> str:
        return amount_of(pattern.price, pattern.currency) if pattern.price else "Free"

    @admin.display(description="Previews")
    def gallery(self, pattern: Pattern) -> str:
        return format_html_join(
            "",
            '<img src="{}" style="height:200px;margin:4px;border:1px solid #ddd" alt="">',
            ((p.url,) for p in pattern.previews.all()),
        )


@admin.register(Pattern)
class PatternAdmin(PatternAdminBase):
    pass


@admin.register(ReviewQueue)
class ReviewQueueAdmin(PatternAdminBase):
    """Patterns waiting for review. A proxy model has permissions of its own; the queue uses the pattern
    permissions instead, so that catalog.change_pattern is "may moderate" everywhere."""

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return staff_has_perm(request.user, *VIEW_PATTERNS)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return staff_has_perm(request.user, MODERATE_PATTERNS)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return staff_has_perm(request.user, "catalog.delete_pattern")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return staff_has_perm(request.user, *VIEW_PATTERNS)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Pattern]:
        return super().get_queryset(request).filter(status=Pattern.Status.NEEDS_REVIEW).order_by("created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        """The moderation console (catalog/console.py), under /admin/catalog/reviewqueue/console/."""
        wrap = self.admin_site.admin_view
        return [
            path("console/", wrap(partial(console.queue, model_admin=self)), name="catalog_reviewqueue_console"),
            path(
                "console/start/",
                wrap(partial(console.start, model_admin=self)),
                name="catalog_reviewqueue_console_start",
            ),
            path(
                "console/<int:pk>/",
                wrap(partial(console.item, model_admin=self)),
                name="catalog_reviewqueue_console_item",
            ),
            path(
                "console/<int:pk>/decide/",
                wrap(partial(console.decide, model_admin=self)),
                name="catalog_reviewqueue_console_decide",
            ),
            path(
                "console/versions/<int:pk>/decide/",
                wrap(partial(console.version_decide, model_admin=self)),
                name="catalog_reviewqueue_console_version_decide",
            ),
            *super().get_urls(),
        ]


@admin.register(RejectionReason)
class RejectionReasonAdmin(admin.ModelAdmin[RejectionReason]):
    """The canned reasons offered in the moderation console, in this order; untick "active" to retire one."""

    list_display = ["label", "text", "position", "active"]
    list_editable = ["position", "active"]
    search_fields = ["label", "text"]


@admin.register(ModerationDecision)
class ModerationDecisionAdmin(admin.ModelAdmin[ModerationDecision]):
    """Who decided what, read only (the audit trail)."""

    list_display = ["created_at", "pattern", "action", "moderator", "canned_reason"]
    list_filter = ["action", "canned_reason"]
    search_fields = ["pattern__title", "moderator__username"]
    list_select_related = ["pattern", "moderator", "canned_reason"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Preview)
class PreviewAdmin(admin.ModelAdmin[Preview]):
    list_display = ["pattern", "label", "position", "width", "height"]


def _preview_of(pattern_file: PatternFile) -> str:
    preview = next(iter(pattern_file.previews.all()), None)
    if preview is None:
        return "no preview"
    return format_html('<img src="{}" style="height:180px;border:1px solid #ddd" alt="">', preview.url)


@admin.action(description="Not a copy: dismiss the selected flags", permissions=["change"])
def dismiss_flags(modeladmin: admin.ModelAdmin[Any], request: HttpRequest, queryset: QuerySet[CopyFlag]) -> None:
    # One by one through the service: each decision is recorded with its moderator (copy.decided).
    updated = 0
    for flag in queryset.exclude(status=CopyFlag.Status.DISMISSED):
        services.copy_flag_decide(flag=flag, moderator=request.user, decision="dismissed")  # type: ignore[arg-type]
        updated += 1
    modeladmin.message_user(request, f"Dismissed {updated} flag(s).")


@admin.action(description="Confirm copy: reject the copying pattern", permissions=["confirm"])
def confirm_copies(modeladmin: admin.ModelAdmin[Any], request: HttpRequest, queryset: QuerySet[CopyFlag]) -> None:
    rejected = 0
    for flag in queryset.select_related("pattern", "matched_file__pattern"):
        services.copy_flag_decide(flag=flag, moderator=request.user, decision="confirmed")  # type: ignore[arg-type]
        try:
            services.pattern_moderate(
                pattern=flag.pattern,
                moderator=request.user,
                action="reject",
                reason=f"This pattern copies “{flag.matched_file.pattern.title}” by another creator.",
            )
            rejected += 1
        except ValidationError as exc:
            modeladmin.message_user(request, f"{flag.pattern}: {'; '.join(exc.messages)}", messages.WARNING)
    modeladmin.message_user(request, f"Confirmed; rejected {rejected} pattern(s).")


@admin.register(CopyFlag)
class CopyFlagAdmin(admin.ModelAdmin[CopyFlag]):
    """Side-by-side evidence for possible copies found at upload."""

    list_display = ["created_at", "kind", "status", "upload", "original", "evidence"]
    list_filter = ["status", "kind"]
    actions = [dismiss_flags, confirm_copies]
    readonly_fields = ["pattern", "pattern_file", "matched_file", "kind", "distance", "threshold", "created_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[CopyFlag]:
        return (
            super()
            .get_queryset(request)
            .select_related("pattern__creator", "pattern_file", "matched_file__pattern__creator")
            .prefetch_related("pattern_file__previews", "matched_file__previews")
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: CopyFlag, form: Any, change: bool) -> None:
        # Only the status can change here; it is a moderator's decision, recorded with its actor.
        if "status" in form.changed_data and obj.status in services.COPY_DECISIONS.values():
            decision = "confirmed" if obj.status == CopyFlag.Status.CONFIRMED else "dismissed"
            services.copy_flag_decide(flag=obj, moderator=request.user, decision=decision)  # type: ignore[arg-type]
            return
        super().save_model(request, obj, form, change)

    def has_confirm_permission(self, request: HttpRequest) -> bool:
        """Confirming a copy rejects the copying pattern: it needs the pattern moderation permission too.

        (An action's permissions are alternatives, so both checks live in this one.)
        """
        return self.has_change_permission(request) and staff_has_perm(request.user, MODERATE_PATTERNS)

    @admin.display(description="New upload")
    def upload(self, flag: CopyFlag) -> str:
        return format_html(
            "{}<br><strong>{}</strong> by {} — {}",
            _preview_of(flag.pattern_file),
            flag.pattern.title,
            flag.pattern.creator.username,
            flag.pattern_file.original_name,
        )

    @admin.display(description="Looks like")
    def original(self, flag: CopyFlag) -> str:
        other = flag.matched_file.pattern
        return format_html(
            "{}<br><strong>{}</strong> by {} — {}",
            _preview_of(flag.matched_file),
            other.title,
            other.creator.username,
            flag.matched_file.original_name,
        )


@admin.register(TaxonomyTerm)
class TaxonomyTermAdmin(admin.ModelAdmin[TaxonomyTerm]):
    """The labels the auto-tagger chooses from; edit, add or deactivate them here."""

    list_display = ["name", "kind", "description", "active"]
    list_filter = ["kind", "active"]
    list_editable = ["active"]
    search_fields = ["name", "description"]


@admin.register(TagSuggestion)
class TagSuggestionAdmin(admin.ModelAdmin[TagSuggestion]):
    list_display = ["pattern", "tag", "kind", "source", "confidence", "state", "decided_by"]
    list_filter = ["source", "state", "kind"]
    search_fields = ["tag__name", "pattern__title"]
    raw_id_fields = ["pattern", "tag", "decided_by"]

    def save_model(self, request: HttpRequest, obj: TagSuggestion, form: Any, change: bool) -> None:
        # A tag a moderator adds or decides on counts as the moderator's.
        if not change:
            obj.source = TagSuggestion.Source.MODERATOR
        obj.decided_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)
        # Applies it to the pattern's tags and records tag.decided with the moderator (the admin's transaction).
        services.tag_suggestion_apply(suggestion=obj, actor=request.user)  # type: ignore[arg-type]


@admin.register(TagProbe)
class TagProbeAdmin(admin.ModelAdmin[TagProbe]):
    list_display = ["tag", "positives", "negatives", "trained_at"]
    exclude = ["weights"]
    readonly_fields = ["tag", "bias", "positives", "negatives", "trained_at"]
