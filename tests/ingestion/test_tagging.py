"""Auto-tagging with the real models on real photos that scikit-image ships, pixel features, decisions, probes."""

from __future__ import annotations

import io

import numpy as np
import pytest
import skimage.data
from PIL import Image, ImageOps

from catalog.models import Pattern, TagProbe, TagSuggestion, TaxonomyTerm, User
from ingestion.tagging import tagger
from ingestion.tagging.pixels import pixel_features
from ingestion.tagging.probes import tag_probes_fit
from tests import samples
from tests.conftest import token_client
from tests.factories import UserFactory
from tests.helpers import create_and_process

pytestmark = pytest.mark.django_db


def _terms() -> list[tuple[str, str, str]]:
    return [(t.name, t.kind, t.description) for t in TaxonomyTerm.objects.exclude(kind="colour")]


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def _publish(user: User, name: str, content: bytes, title: str, tags: str = "") -> Pattern:
    return create_and_process(user, name, content, title, tags=tags)


def test_conse_tags_real_photos_sensibly() -> None:
    photos = [Image.fromarray(skimage.data.coffee()), Image.fromarray(skimage.data.chelsea())]
    coffee, cat = tagger().suggest(photos, _terms())
    assert coffee[0].name == "coffee"
    assert "kitchen" in [s.name for s in coffee]
    assert "cats" in [s.name for s in cat]
    assert all(0 < s.confidence <= 1 for s in coffee + cat)


def test_pixel_features_name_colours_and_rendering() -> None:
    tile = pixel_features(Image.open(io.BytesIO(samples.png_tile(128))))
    assert tile.seamless == 1.0
    assert "seamless" in [s.name for s in tile.suggestions()]
    red = pixel_features(Image.new("RGB", (64, 64), (205, 30, 30)))
    assert red.palette == [{"name": "red", "share": 1.0}]
    assert red.rendering == "flat graphic"
    photo = pixel_features(Image.fromarray(skimage.data.astronaut()))
    assert photo.rendering == "photo"


def test_upload_gets_model_and_system_tags_with_sources() -> None:
    pattern = _publish(UserFactory.create(), "coffee.png", _png(skimage.data.coffee()), "Morning", tags="breakfast")
    suggestions = {s.tag.name: s for s in TagSuggestion.objects.filter(pattern=pattern).select_related("tag")}
    assert suggestions["breakfast"].source == "creator"
    assert suggestions["png"].source == "system"
    assert suggestions["coffee"].source == "model"
    assert suggestions["coffee"].state == "accepted"  # confident enough to apply at once
    assert "coffee" in set(pattern.tags.values_list("name", flat=True))
    colours = [name for name, s in suggestions.items() if s.kind == "colour"]
    assert colours  # the palette names at least one colour


def test_creator_keeps_or_removes_suggestions_over_the_api(client) -> None:  # type: ignore[no-untyped-def]
    owner, stranger = UserFactory.create(), UserFactory.create()
    pattern = _publish(owner, "coffee.png", _png(skimage.data.coffee()), "Morning")
    coffee = TagSuggestion.objects.get(pattern=pattern, tag__name="coffee")
    assert (
        token_client(stranger)
        .post(f"/api/v1/patterns/{pattern.pk}/tags/{coffee.pk}/", {"action": "reject"})
        .status_code
        == 404
    )
    assert TagSuggestion.objects.get(pk=coffee.pk).state == "accepted"
    response = token_client(owner).post(f"/api/v1/patterns/{pattern.pk}/tags/{coffee.pk}/", {"action": "reject"})
    assert response.json()["state"] == "rejected"
    assert "coffee" not in set(Pattern.objects.get(pk=pattern.pk).tags.values_list("name", flat=True))
    listed = token_client(owner).get(f"/api/v1/patterns/{pattern.pk}/tags/").json()
    assert {"name": "coffee", "state": "rejected"}.items() <= next(s for s in listed if s["name"] == "coffee").items()
    # Re-running the tagger never overturns the creator's decision.
    from ingestion.tagging.service import pattern_tag

    pattern_tag(pattern_id=pattern.pk)
    assert TagSuggestion.objects.get(pk=coffee.pk).state == "rejected"
    client.force_login(owner)
    page = client.get(f"/sell/patterns/{pattern.pk}/").content.decode()
    assert "Keep" in page
    assert "coffee" in page


def test_probes_learn_a_tag_from_confirmed_examples() -> None:
    creator = UserFactory.create()
    coffee = skimage.data.coffee()
    variants = [coffee, coffee[::, ::-1], coffee[20:, 30:], coffee[:-40, :-20], coffee[10:-10, 40:], coffee[::-1, ::]]
    for index, array in enumerate(variants):
        _publish(creator, f"cup{index}.png", _png(np.ascontiguousarray(array)), f"Cup {index}", tags="teatime")
    others = [skimage.data.chelsea(), skimage.data.rocket(), skimage.data.astronaut(), skimage.data.colorwheel()]
    others += [np.asarray(ImageOps.mirror(Image.fromarray(skimage.data.chelsea()))), skimage.data.hubble_deep_field()]
    for index, array in enumerate(others):
        _publish(creator, f"other{index}.png", _png(np.ascontiguousarray(array[..., :3])), f"Other {index}")
    assert tag_probes_fit(min_examples=5) == 1
    probe = TagProbe.objects.get()
    assert probe.tag.name == "teatime"
    assert (probe.positives, probe.negatives) == (6, 6)
    fresh = _publish(UserFactory.create(), "new-cup.png", _png(np.ascontiguousarray(coffee[30:-30, 50:-50])), "New cup")
    learned = TagSuggestion.objects.get(pattern=fresh, tag__name="teatime")
    assert learned.source == "probe"
    assert learned.confidence >= 0.5


def test_clip_backend_on_a_tiny_model_built_here(settings) -> None:  # type: ignore[no-untyped-def]
    """The CLIP tagging path on a two-concept model: red images are 'stars', blue images are 'waves'."""
    import torch

    from ingestion.tagging.clip import ClipTagger

    class TinyClip(torch.nn.Module):
        def encode_image(self, pixels: torch.Tensor) -> torch.Tensor:
            means = pixels.mean(dim=(2, 3))  # (N, 3) mean colour
            return torch.stack([means[:, 0], means[:, 2]], dim=1)

        def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
            return tokens.float()

    def preprocess(image: Image.Image) -> torch.Tensor:
        return torch.from_numpy(np.asarray(image.resize((8, 8)), dtype=np.float32) / 255).permute(2, 0, 1)

    def tokenizer(prompts: list[str]) -> torch.Tensor:
        return torch.tensor(
            [[1.0, 0.0] if "stars" in p else [0.0, 1.0] if "waves" in p else [0.5, 0.5] for p in prompts]
        )

    clip = ClipTagger(loaded=(TinyClip(), preprocess, tokenizer))
    terms = [("stars", "motif", ""), ("waves", "motif", ""), ("plaid", "motif", "")]
    red, blue = Image.new("RGB", (32, 32), (250, 10, 10)), Image.new("RGB", (32, 32), (10, 10, 250))
    suggestions = clip.suggest([red, blue], terms)
    assert [s.name for s in suggestions[0]][0] == "stars"
    assert [s.name for s in suggestions[1]][0] == "waves"
    assert all(0 < s.confidence <= 1 for row in suggestions for s in row)
    # Configuring weights selects the backend (the loader itself needs open_clip, not installable here).
    settings.TESSERA_CLIP_WEIGHTS = "/models/clip.bin"
    from ingestion.tagging import base

    with pytest.raises(ModuleNotFoundError, match="open_clip"):
        base.tagger()


def test_taxonomy_is_editable_in_admin(client) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import StaffFactory

    client.force_login(StaffFactory.create())
    listing = client.get("/admin/catalog/taxonomyterm/?kind__exact=motif").content.decode()
    assert "gears" in listing
    response = client.post(
        "/admin/catalog/taxonomyterm/add/",
        {"kind": "motif", "name": "dinosaurs", "description": "dinosaur", "active": "on"},
    )
    assert response.status_code == 302
    assert TaxonomyTerm.objects.get(name="dinosaurs").kind == "motif"
