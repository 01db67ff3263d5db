"""Forms for creators."""

from __future__ import annotations

import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

from catalog.models import Category, Licence, PatternFile, Tag

# Query and form text is typed by people: C0 control characters (escape, backspace ...) and DEL are never part
# of it. Tab, newline and carriage return are kept for text areas. NUL, which PostgreSQL cannot store, is refused
# by the validator Django and DRF put on every CharField ("Null characters are not allowed.").
refuse_control_characters = RegexValidator(
    r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]",
    inverse_match=True,
    message="Remove the control characters from this value.",
    code="control_characters",
)
SEARCH_QUERY_MAX_LENGTH = 200
TAG_NAME_MAX_LENGTH = Tag._meta.get_field("name").max_length or 60
MAX_TAGS = 20


class SearchTextField(forms.CharField):
    """A text query parameter: optional, bounded, free of control characters."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", SEARCH_QUERY_MAX_LENGTH)
        super().__init__(validators=[refuse_control_characters], **kwargs)


class PageForm(forms.Form):
    """``?page=``: a page number, as the pagination links write it."""

    page = forms.RegexField(
        r"^[1-9][0-9]{0,8}$",
        required=False,
        error_messages={"invalid": "Give a page number, e.g. page=2."},
    )


class PatternSearchForm(PageForm):
    """The search page's query string; the API's ``PatternListQuerySerializer`` validates the same parameters."""

    q = SearchTextField()
    format = forms.ChoiceField(required=False, choices=[("", "any"), *PatternFile.Format.choices])
    category = forms.SlugField(required=False, max_length=Category._meta.get_field("slug").max_length)
    tag = forms.SlugField(required=False, max_length=Tag._meta.get_field("slug").max_length)

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        if data is not None and data.get("format"):
            # Formats were always matched case-insensitively (?format=STL).
            data = data.copy()
            data["format"] = data["format"].lower()
        super().__init__(data, **kwargs)

    def clean_q(self) -> str:
        return str(self.cleaned_data["q"]).strip()


def tag_names_parse(raw: str) -> list[str]:
    """Comma-separated tag names as typed by a creator; raises ``ValidationError`` for names too long to keep.

    Names longer than a tag can hold used to be truncated, and two names that truncated to the same text
    collided in the database after the pattern was saved.
    """
    names = list(dict.fromkeys(name.strip() for name in raw.split(",") if name.strip()))
    too_long = [name for name in names if len(name) > TAG_NAME_MAX_LENGTH]
    if too_long:
        raise ValidationError(
            "Tags are at most %(limit)d characters; shorten “%(name)s”.",
            code="tag_too_long",
            params={"limit": TAG_NAME_MAX_LENGTH, "name": too_long[0][:TAG_NAME_MAX_LENGTH] + "…"},
        )
    return names[:MAX_TAGS]


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


class PatternForm(forms.Form):
    title = forms.CharField(max_length=140)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), required=False)
    category = forms.ModelChoiceField(queryset=Category.objects.all(), required=False)
    licence = forms.ModelChoiceField(queryset=Licence.objects.all(), to_field_name="code")
    price = forms.DecimalField(
        min_value=Decimal("0"), max_digits=9, decimal_places=2, initial=Decimal("0"), help_text="0 for free."
    )
    commercial_price = forms.DecimalField(
        min_value=Decimal("0.01"),
        max_digits=9,
        decimal_places=2,
        required=False,
        help_text="Optional, with the Personal licence: also sell a Commercial licence at this price.",
    )
    tags = forms.CharField(
        required=False,
        max_length=400,
        validators=[refuse_control_characters],
        help_text="Comma-separated; we suggest more from your files.",
    )
    currency = forms.ChoiceField(choices=[("USD", "USD"), ("EUR", "EUR"), ("GBP", "GBP")], initial="USD")
    files = MultipleFileField(  # type: ignore[assignment]
        required=False, help_text="STL, 3MF, OBJ, PLY, SVG, DXF, PDF, PNG or JPEG. Format is detected from the content."
    )
    uploads = UploadIdsField(required=False)

    def clean_tags(self) -> list[str]:
        return tag_names_parse(self.cleaned_data["tags"])

    def clean_commercial_price(self) -> int | None:
        price: Decimal | None = self.cleaned_data.get("commercial_price")
        return None if price is None else int((price * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))

    def clean_price(self) -> int:
        price: Decimal = self.cleaned_data["price"]
        return int((price * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
