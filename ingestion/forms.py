"""The web form a creator submits a new pattern with (the API's input is ``ingestion.api.serializers``); both
are parsed here and there, and checked by ``ingestion.submit.pattern_submit``."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from catalog.forms import ListingForm, refuse_control_characters, tag_names_parse
from ingestion.submit import SUPPORTED_CURRENCIES


class UploadIdsField(forms.Field):
    """Ids of completed resumable uploads, posted by the form's script as repeated ``uploads`` values."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {
        "invalid": "“%(value)s” is not an upload id; upload the file again.",
        "too_many": "Give at most %(limit)d resumable uploads.",
    }
    max_ids = 50

    def to_python(self, value: Any) -> list[uuid.UUID]:
        values = [str(item) for item in (value or [])]
        if len(values) > self.max_ids:
            raise ValidationError(self.error_messages["too_many"], code="too_many", params={"limit": self.max_ids})
        session_ids = []
        for item in values:
            try:
                session_ids.append(uuid.UUID(item))
            except ValueError:
                shown = item[:40].encode("unicode_escape").decode()
                raise ValidationError(self.error_messages["invalid"], code="invalid", params={"value": shown}) from None
        return session_ids


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        # Presence, size, emptiness and format are checked by the ingestion service with precise messages;
        # large files may arrive separately as resumable uploads.
        files = data if isinstance(data, list | tuple) else [data] if data else []
        return list(files)


class PatternForm(ListingForm):
    """A new pattern: its listing, tags, currency and files (sent with the form or as resumable uploads)."""

    price = forms.DecimalField(
        min_value=Decimal("0"), max_digits=9, decimal_places=2, initial=Decimal("0"), help_text="0 for free."
    )
    tags = forms.CharField(
        required=False,
        max_length=400,
        validators=[refuse_control_characters],
        help_text="Comma-separated; we suggest more from your files.",
    )
    currency = forms.ChoiceField(choices=[(code, code) for code in SUPPORTED_CURRENCIES], initial="USD")
    files = MultipleFileField(  # type: ignore[assignment]
        required=False, help_text="STL, 3MF, OBJ, PLY, SVG, DXF, PDF, PNG or JPEG. Format is detected from the content."
    )
    uploads = UploadIdsField(required=False)

    def clean_tags(self) -> list[str]:
        return tag_names_parse(self.cleaned_data["tags"])
