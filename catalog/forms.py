"""Forms for creators."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

from catalog.models import Category, Licence, PatternFile, Tag
from catalog.printers import PRINTER_BEDS
from catalog.selectors import SORTS

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


class PriceField(forms.DecimalField):
    """A price typed in currency units (``4.50``), cleaned to minor units (450)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, min_value=0, max_value=Decimal("20000000"), decimal_places=2, **kwargs)

    def clean(self, value: Any) -> int | None:
        amount = super().clean(value)
        return None if amount is None else int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


class QueryBooleanField(forms.Field):
    """A yes/no query parameter, as the API's BooleanField reads it (1, true, yes, on / 0, false, no, off)."""

    truthy = {"1", "true", "yes", "on"}
    falsy = {"", "0", "false", "no", "off"}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, **kwargs)

    def to_python(self, value: Any) -> bool:
        text = str(value or "").strip().lower()
        if text in self.truthy:
            return True
        if text in self.falsy:
            return False
        raise ValidationError("Use 1 for yes or 0 for no.", code="invalid")


class PatternSearchForm(PageForm):
    """The search page's query string; the API's ``PatternListQuerySerializer`` validates the same parameters.

    Prices are typed in currency units here (people type "5"), in minor units in the API.
    """

    q = SearchTextField()
    format = forms.ChoiceField(required=False, choices=[("", "any"), *PatternFile.Format.choices])
    category = forms.SlugField(required=False, max_length=Category._meta.get_field("slug").max_length)
    tag = forms.SlugField(required=False, max_length=Tag._meta.get_field("slug").max_length)
    licence = forms.SlugField(required=False, max_length=Licence._meta.get_field("code").max_length)
    price_min = PriceField(label="Min price")
    price_max = PriceField(label="Max price")
    validated = QueryBooleanField(label="Passes all checks")
    printer_bed = forms.ChoiceField(required=False, choices=[("", "any"), *((bed, bed) for bed in PRINTER_BEDS)])
    sort = forms.ChoiceField(required=False, choices=[("", "default"), *SORTS.items()], label="Sort by")

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        if data is not None and data.get("format"):
            # Formats were always matched case-insensitively (?format=STL).
            data = data.copy()
            data["format"] = data["format"].lower()
        super().__init__(data, **kwargs)

    def clean_q(self) -> str:
        return str(self.cleaned_data["q"]).strip()


class SearchRequestForm(forms.Form):
    """ "Tell us what you wanted": the query that found little and, optionally, the buyer's own words."""

    q = SearchTextField()
    wanted = forms.CharField(
        required=False,
        max_length=1000,
        label="Tell us what you wanted",
        help_text="Optional: what it is for, size, style… Creators see what buyers look for.",
        widget=forms.Textarea(attrs={"rows": 3}),
        validators=[refuse_control_characters],
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not str(cleaned.get("q", "")).strip() and not str(cleaned.get("wanted", "")).strip():
            raise ValidationError("Tell us what you were looking for.", code="empty")
        return cleaned


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


def price_in_cents(price: Decimal) -> int:
    """A price typed in major units as integer minor units, rounded half up."""
    return int((price * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


class ListingForm(forms.Form):
    """A pattern's listing fields, as a creator types them: the submit form (``ingestion.forms.PatternForm``) and
    the edit form share them. Prices are typed in major units and cleaned to integer minor units."""

    title = forms.CharField(max_length=140)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), required=False)
    category = forms.ModelChoiceField(queryset=Category.objects.all(), required=False)
    licence = forms.ModelChoiceField(queryset=Licence.objects.all(), to_field_name="code")
    price = forms.DecimalField(min_value=Decimal("0"), max_digits=9, decimal_places=2, help_text="0 for free.")
    commercial_price = forms.DecimalField(
        min_value=Decimal("0.01"),
        max_digits=9,
        decimal_places=2,
        required=False,
        help_text="Optional, with the Personal licence: also sell a Commercial licence at this price.",
    )

    def clean_price(self) -> int:
        return price_in_cents(self.cleaned_data["price"])

    def clean_commercial_price(self) -> int | None:
        price: Decimal | None = self.cleaned_data.get("commercial_price")
        return None if price is None else price_in_cents(price)


class PatternEditForm(ListingForm):
    """A creator edits a pattern's listing (the files stay; a new upload is a new pattern)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if field.help_text:  # read with the field (templates/catalog/pattern_edit.html renders it with this id)
                field.widget.attrs["aria-describedby"] = f"id_{name}_help"

    @staticmethod
    def initial_for(pattern: Any) -> dict[str, Any]:
        return {
            "title": pattern.title,
            "description": pattern.description,
            "category": pattern.category,
            "licence": pattern.licence,
            "price": Decimal(pattern.price).scaleb(-2),
            "commercial_price": None
            if pattern.commercial_price is None
            else Decimal(pattern.commercial_price).scaleb(-2),
        }


# --- Shops (issue 12, h/shops) ---

PROFILE_IMAGE_FORMATS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}
PROFILE_LINK_LIMIT = 5


class CreatorProfileForm(forms.Form):
    """The creator's shop profile: display name, bio, up to five links (one per line), avatar and banner
    (PNG, JPEG or WebP within TESSERA_PROFILE_IMAGE_MAX_BYTES and TESSERA_PROFILE_IMAGE_MAX_PIXELS a side)."""

    display_name = forms.CharField(max_length=120, validators=[refuse_control_characters])
    bio = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 5}),
        validators=[refuse_control_characters],
    )
    links = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=f"Up to {PROFILE_LINK_LIMIT} web addresses (https://…), one per line.",
    )
    avatar = forms.ImageField(required=False, help_text="A square picture: PNG, JPEG or WebP.")
    banner = forms.ImageField(required=False, help_text="A wide picture shown above your shop: PNG, JPEG or WebP.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if field.help_text:  # read with the field (templates/catalog/profile_edit.html renders it with this id)
                field.widget.attrs["aria-describedby"] = f"id_{name}_help"

    def clean_links(self) -> list[str]:
        lines = [line.strip() for line in self.cleaned_data["links"].splitlines() if line.strip()]
        if len(lines) > PROFILE_LINK_LIMIT:
            raise ValidationError(f"At most {PROFILE_LINK_LIMIT} links.")
        validate = forms.URLField(assume_scheme="https")
        cleaned = []
        for line in lines:
            url = validate.clean(line)
            if not url.startswith(("https://", "http://")):
                raise ValidationError(f"{line} is not a web address.")
            cleaned.append(url)
        return cleaned

    def _clean_image(self, name: str) -> Any:
        upload = self.cleaned_data.get(name)
        if not upload:
            return None
        if upload.size > settings.TESSERA_PROFILE_IMAGE_MAX_BYTES:
            raise ValidationError(
                f"This picture is {upload.size // 1024} KB; the limit is "
                f"{settings.TESSERA_PROFILE_IMAGE_MAX_BYTES // 1024} KB."
            )
        image = getattr(upload, "image", None)  # Pillow's reading, made by forms.ImageField
        image_format = getattr(image, "format", None)
        if image is None or image_format not in PROFILE_IMAGE_FORMATS:
            raise ValidationError("Use a PNG, JPEG or WebP picture.")
        width, height = image.size
        limit = settings.TESSERA_PROFILE_IMAGE_MAX_PIXELS
        if width > limit or height > limit:
            raise ValidationError(f"This picture is {width}×{height}; at most {limit} pixels a side.")
        return upload

    def clean_avatar(self) -> Any:
        return self._clean_image("avatar")

    def clean_banner(self) -> Any:
        return self._clean_image("banner")


# --- Edit page: tags, cover and preview order (issue 12, h/studio) ---


class PatternExtrasForm(forms.Form):
    """The edit page's tags (the creator's own, comma-separated; validated by the same service as PATCH's
    ``tags``) and previews: a position for each and the cover, which goes first (PATCH's ``preview_order``)."""

    tags = forms.CharField(
        required=False,
        max_length=2000,
        label="Your tags",
        help_text="Separated by commas. These replace the tags you set before; the tags Tessera found stay.",
        validators=[refuse_control_characters],
    )

    def __init__(self, *args: Any, previews: Sequence[Any], tags_editable: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.previews = list(previews)
        if not tags_editable:
            del self.fields["tags"]
        else:
            self.fields["tags"].widget.attrs["aria-describedby"] = "id_tags_help"
        count = len(self.previews)
        for index, preview in enumerate(self.previews, start=1):
            self.fields[f"position_{preview.pk}"] = forms.IntegerField(
                min_value=1,
                max_value=max(count, 1),
                initial=index,
                required=False,
                label=f"Position of picture {index}",
            )
        if self.previews:
            self.fields["cover"] = forms.TypedChoiceField(
                choices=[(preview.pk, f"Picture {index}") for index, preview in enumerate(self.previews, start=1)],
                coerce=int,
                initial=self.previews[0].pk,
                required=False,
                widget=forms.RadioSelect,
                label="Cover",
            )

    def preview_rows(self) -> list[tuple[Any, Any]]:
        """(preview, its position field) in the current order, for the template."""
        return [(preview, self[f"position_{preview.pk}"]) for preview in self.previews]

    def tag_names(self) -> list[str] | None:
        """The tags typed (None when this person may not edit tags)."""
        if "tags" not in self.fields or "tags" not in self.data:  # a form without the field changes no tags
            return None
        return [name for name in (" ".join(part.split()) for part in self.cleaned_data["tags"].split(",")) if name]

    def preview_order(self) -> list[int] | None:
        """The previews' ids in the new order: the cover first, then by the positions typed (ties keep the current
        order); None when there are no previews."""
        if not self.previews or not any(name in self.data for name in self.fields if name != "tags"):
            return None  # a form without the pictures' fields leaves their order alone

        def position(index: int, pk: int) -> int:
            typed = self.cleaned_data.get(f"position_{pk}")
            return index + 1 if typed is None else int(typed)

        cover = self.cleaned_data.get("cover") or self.previews[0].pk
        ranked = sorted(
            enumerate(self.previews),
            key=lambda item: (item[1].pk != cover, position(item[0], item[1].pk), item[0]),
        )
        return [preview.pk for _, preview in ranked]
