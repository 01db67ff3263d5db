"""Forms of the community pages (the API has its own serializers)."""

from __future__ import annotations

from typing import Any

from django import forms

from catalog.forms import refuse_control_characters
from community.models import Collection


class ReviewForm(forms.Form):
    rating = forms.TypedChoiceField(
        choices=[(n, f"{n} star{'s' if n > 1 else ''}") for n in range(5, 0, -1)], coerce=int, label="Your rating"
    )
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=5000,
        required=False,
        label="Your review",
        validators=[refuse_control_characters],
    )


class CollectionForm(forms.Form):
    name = forms.CharField(max_length=80, validators=[refuse_control_characters])
    is_public = forms.BooleanField(required=False, label="Public: anyone with the link can see it")


class ReplyForm(forms.Form):
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        label="Your reply",
        validators=[refuse_control_characters],
    )


class PatternCollectForm(forms.Form):
    """Add a pattern to one of your collections (``collection``), or to a new one (``name``, ``is_public``)."""

    collection = forms.ModelChoiceField(queryset=Collection.objects.none(), required=False, label="Collection")
    name = forms.CharField(
        max_length=80, required=False, label="New collection", validators=[refuse_control_characters]
    )
    is_public = forms.BooleanField(required=False, label="Public: anyone with the link can see it")

    def __init__(self, *args: Any, owner: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only your own collections: another user's id is "not one of the choices" (400-style error, nothing saved).
        self.fields["collection"].queryset = Collection.objects.filter(owner_id=owner.pk)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["name"] = " ".join((data.get("name") or "").split())
        if data.get("collection") is None and not data["name"]:
            raise forms.ValidationError("Choose one of your collections or name a new one.")
        if data.get("collection") is not None and data["name"]:
            raise forms.ValidationError("Choose a collection or name a new one, not both.")
        return data
