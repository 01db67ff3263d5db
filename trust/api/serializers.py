"""Input and output of the takedown API. A notice missing an element, or with a statement not affirmed, is refused
naming every such field at once (DRF collects every field's errors before answering 400)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from rest_framework import serializers

from trust import selectors
from trust.models import TakedownNotice
from trust.services import CounterNoticeInput, NoticeInput

MUST_AFFIRM = "You must affirm this statement (true) for the notice to be valid."


class AffirmedField(serializers.BooleanField):
    """A statement the sender must affirm: missing or false is refused with the same message."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, default=False, **kwargs)

    def run_validation(self, data: Any = serializers.empty) -> Any:
        value = super().run_validation(data)
        if value is not True:
            raise serializers.ValidationError(MUST_AFFIRM)
        return value


class PatternRefsField(serializers.ListField):
    """Ids or Tessera URLs of listings; every one must name a listing the public could see."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=serializers.JSONField(), allow_empty=False, max_length=50, **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str):  # the form's textarea: one per line (or separated by spaces/commas)
            data = [part for part in data.replace(",", " ").split() if part]
        return super().to_internal_value(data)


class TakedownNoticeInputSerializer(serializers.Serializer[Any]):
    claimant_name = serializers.CharField(max_length=200)
    claimant_email = serializers.EmailField()
    claimant_address = serializers.CharField(max_length=1000)
    claimant_phone = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    work_description = serializers.CharField(max_length=5000)
    original_location = serializers.CharField(
        max_length=1000, help_text="A URL of the original work, or a Tessera pattern's id or URL."
    )
    patterns = PatternRefsField(help_text="Ids or Tessera URLs of the listings complained of.")
    explanation = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    good_faith = AffirmedField(
        help_text="A good faith belief that the use is not authorised by the owner, its agent or the law."
    )
    accurate_under_penalty = AffirmedField(
        help_text="The notice is accurate and, under penalty of perjury, you are the owner or authorised to act."
    )
    signature = serializers.CharField(max_length=200, help_text="Your full name, typed.")

    def validate_patterns(self, refs: list[Any]) -> list[Any]:
        ids: list[int] = []
        unknown: list[str] = []
        for ref in refs:
            pattern_id = selectors.pattern_ref_id(ref)
            if pattern_id is None:
                unknown.append(str(ref))
            elif pattern_id not in ids:
                ids.append(pattern_id)
        found = selectors.patterns_noticeable(ids=ids)
        unknown += [str(ref) for ref in refs if selectors.pattern_ref_id(ref) in set(ids) - set(found)]
        if unknown:
            raise serializers.ValidationError(
                [f"No listing on Tessera is {ref!r}; give a pattern's id or the URL of its page." for ref in unknown]
            )
        return [found[pattern_id] for pattern_id in ids]

    def validate_original_location(self, value: str) -> str:
        value = value.strip()
        pattern_id = selectors.pattern_ref_id(value)
        if pattern_id is not None:
            if pattern_id not in selectors.patterns_noticeable(ids=[pattern_id]):
                raise serializers.ValidationError(f"No pattern on Tessera is {value!r}.")
            return value
        if value.isdigit():
            raise serializers.ValidationError(f"No pattern on Tessera has the id {value}.")
        try:
            URLValidator(schemes=["http", "https"])(value)
        except DjangoValidationError:
            raise serializers.ValidationError(
                "Give the URL where the original work is, or a Tessera pattern's id or URL."
            ) from None
        return value

    def notice(self) -> NoticeInput:
        data = self.validated_data
        original_id = selectors.pattern_ref_id(data["original_location"])
        original = selectors.patterns_noticeable(ids=[original_id]).get(original_id) if original_id else None
        return NoticeInput(
            claimant_name=data["claimant_name"].strip(),
            claimant_email=data["claimant_email"],
            claimant_address=data["claimant_address"].strip(),
            claimant_phone=data["claimant_phone"].strip(),
            work_description=data["work_description"].strip(),
            original_location=data["original_location"],
            original_pattern=original,
            patterns=data["patterns"],
            explanation=data["explanation"].strip(),
            signature=data["signature"].strip(),
        )


class NoticeReceivedSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    status = serializers.CharField()


class DecisionInputSerializer(serializers.Serializer[Any]):
    action = serializers.ChoiceField(choices=["remove", "reject"])
    reason = serializers.CharField(max_length=5000)
    revoke_access = serializers.BooleanField(
        required=False, default=False, help_text="Also withdraw existing buyers' access (removal only)."
    )


class CounterNoticeInputSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=200)
    address = serializers.CharField(max_length=1000)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    statement_good_faith = AffirmedField(
        help_text="Under penalty of perjury, a good faith belief that the material was removed by mistake or "
        "misidentification."
    )
    consent_to_jurisdiction = AffirmedField(
        help_text="Consent to the jurisdiction of the courts for your address, and to accept service from the claimant."
    )
    signature = serializers.CharField(max_length=200)

    def counter(self) -> CounterNoticeInput:
        data = self.validated_data
        return CounterNoticeInput(
            name=data["name"].strip(),
            address=data["address"].strip(),
            phone=data["phone"].strip(),
            signature=data["signature"].strip(),
        )


class ComplaintInputSerializer(serializers.Serializer[Any]):
    subject = serializers.ChoiceField(choices=["takedown", "pattern", "suspension"])
    id = serializers.IntegerField(required=False, help_text="The notice (takedown) or pattern (pattern) id.")
    text = serializers.CharField(max_length=5000)
    token = serializers.CharField(required=False, allow_blank=True, default="", help_text="A claimant's secret link.")


class ComplaintResolutionInputSerializer(serializers.Serializer[Any]):
    outcome = serializers.ChoiceField(choices=["upheld", "dismissed"])
    reason = serializers.CharField(max_length=5000)


def notice_data(
    *, notice: TakedownNotice, role: str, reader_id: int | None = None, evidence: Any = None
) -> dict[str, Any]:
    """The notice as its reader may see it: staff everything (and the evidence); the claimant their notice; the
    uploader the claim and the claimant's name (not their contact details)."""
    items = list(notice.items.all())
    titles = selectors.pattern_titles(notice)
    data: dict[str, Any] = {
        "id": notice.pk,
        "status": notice.status,
        "patterns": [
            {
                "id": item.pattern_id,
                "title": titles.get(item.pattern_id, ""),
                "removed_at": item.removed_at,
                "restored_at": item.restored_at,
            }
            for item in items
            if role != "uploader" or item.uploader_id == reader_id
        ],
        "created_at": notice.created_at,
        "decided_at": notice.decided_at,
        "decision_reason": notice.decision_reason if notice.decided_at else "",
        "restore_after": notice.restore_after,
        "restored_at": notice.restored_at,
        "countered_at": notice.countered_at,
        "action_filed_at": notice.action_filed_at,
        "claimant_name": notice.claimant_name,
        "work_description": notice.work_description,
        "original_location": notice.original_location,
        "explanation": notice.explanation,
        "role": role,
    }
    if role in ("staff", "claimant"):
        data.update(
            claimant_email=notice.claimant_email,
            claimant_address=notice.claimant_address,
            claimant_phone=notice.claimant_phone,
            signature=notice.signature,
        )
    if role == "staff":
        data["revoke_access"] = notice.revoke_access
        data["decided_by"] = notice.decided_by.username if notice.decided_by else None
        if evidence is not None:
            data["evidence"] = evidence_data(evidence)
    return data


def _file_data(facts: Any) -> dict[str, Any]:
    return {
        "id": facts.id,
        "name": facts.name,
        "sha256": facts.sha256,
        "size": facts.size,
        "format": facts.format,
        "uploaded_at": facts.uploaded_at,
        "version": facts.version,
        "version_created_at": facts.version_created_at,
        "preview": facts.preview.url if facts.preview is not None else None,
    }


def _side_data(side: Any) -> dict[str, Any]:
    pattern = side.pattern
    return {
        "pattern_id": pattern.pk,
        "title": pattern.title,
        "creator": pattern.creator.username,
        "status": pattern.status,
        "created_at": pattern.created_at,
        "published_at": pattern.published_at,
        "files": [_file_data(f) for f in side.files],
        "authorship_receipts": side.authorship_receipts,
    }


def evidence_data(evidence: Any) -> dict[str, Any]:
    return {
        "listings": [_side_data(side) for side in evidence.listings],
        "original": _side_data(evidence.original) if evidence.original is not None else None,
        "similarity": [
            {
                "complained_file": match.complained_file.id,
                "original_file": match.original_file.id,
                "kind": match.kind,
                "distance": match.distance,
                "threshold": match.threshold,
                "similarity": match.similarity,
                "is_copy": match.is_copy,
                "copy_flag": match.flag_status or None,
                "complained_preview": match.complained_file.preview.url if match.complained_file.preview else None,
                "original_preview": match.original_file.preview.url if match.original_file.preview else None,
            }
            for match in evidence.matches
        ],
        "uploaders": [
            {
                "id": history.uploader_id,
                "username": history.username,
                "active_strikes": history.active_strikes,
                "strikes": history.strikes,
                "suspended": history.suspended,
                "other_notices": history.other_notices,
            }
            for history in evidence.uploaders
        ],
    }
