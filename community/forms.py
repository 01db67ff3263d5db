"""Forms of the community pages (the API has its own serializers)."""

from __future__ import annotations

from django import forms

from catalog.forms import refuse_control_characters


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
