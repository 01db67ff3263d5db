"""The ingestion services: reports, previews, failures with reasons, idempotency."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from catalog.models import Licence, Pattern, PatternFile, Preview
from ingestion import services, submit
from ingestion.formats import UnsupportedFormat, detect_format
from tests import samples

pytestmark = pytest.mark.django_db
MESH_VIEWS = ["Front three-quarter view", "Back three-quarter view", "Top view"]


def _create(user, files, **kwargs):  # type: ignore[no-untyped-def]
    return submit.pattern_create(
        creator=user,
        title=kwargs.get("title", "Pipeline test"),
        description="",
        price=0,
        currency="USD",
        licence=Licence.objects.get(code="cc0"),
        uploads=[SimpleUploadedFile(name, content) for name, content in files],
    )


def test_valid_mesh_gets_report_previews_tags_and_waits_for_review(user) -> None:  # type: ignore[no-untyped-def]
    pattern = _create(user, [("cube.stl", samples.stl_cube(30))])
    result = services.pattern_process_now(pattern_id=pattern.pk)
    assert result is not None
    assert (result.status, result.processing_step, result.status_reason) == ("needs_review", "ready", "")
    pattern_file = PatternFile.objects.get()
    report = pattern_file.validation
    assert report["ok"] is True
    assert report["properties"]["bounding_box_mm"] == [30.0, 30.0, 30.0]
    assert report["properties"]["face_count"] == 12
    assert report["properties"]["watertight"] is True
    assert report["properties"]["volume_mm3"] == 27000.0
    assert [p.label for p in Preview.objects.order_by("position")] == MESH_VIEWS
    assert all((p.width, p.height) == (800, 800) for p in Preview.objects.all())
    assert report["findings"] == []
    from catalog.models import TagSuggestion

    system = TagSuggestion.objects.filter(pattern=result, source="system").values_list("tag__name", flat=True)
    assert sorted(system) == ["3d printing", "stl"]
    tags = set(result.tags.values_list("name", flat=True))
    assert {"3d printing", "stl"} <= tags
    # They would describe our preview, not the design: the render's style and its blue.
    assert not tags & {"seamless", "render", "photo", "line art", "flat graphic", "blue", "navy", "sky blue"}


@pytest.mark.parametrize(
    ("name", "content", "labels"),
    [
        ("t.svg", samples.svg_square(), ["Drawing"]),
        ("t.dxf", samples.dxf_rectangle(), ["Drawing"]),
        ("t.pdf", samples.pdf_two_pages(), ["Page 1", "Page 2"]),
        ("t.png", samples.png_tile(), ["Image", "Tiled 2×2"]),
        ("t.obj", samples.obj_sphere(), MESH_VIEWS),
    ],
)
def test_each_family_renders_previews(user, name, content, labels) -> None:  # type: ignore[no-untyped-def]
    pattern = _create(user, [(name, content)])
    result = services.pattern_process_now(pattern_id=pattern.pk)
    assert result is not None
    assert result.status == "needs_review"
    assert list(Preview.objects.order_by("position").values_list("label", flat=True)) == labels
    for preview in Preview.objects.all():
        with preview.image.open("rb") as handle:
            assert handle.read(8) == b"\x89PNG\r\n\x1a\n"


def test_file_that_fails_full_parse_fails_the_pattern_with_a_reason(user, settings) -> None:  # type: ignore[no-untyped-def]
    settings.TESSERA_SYNC_PARSE_MAX_BYTES = 0  # as for a large file: only the worker parses it
    pattern = _create(user, [("broken.pdf", samples.broken_pdf())])
    result = services.pattern_process_now(pattern_id=pattern.pk)
    assert result is not None
    assert result.status == "failed"
    assert result.status_reason == "broken.pdf: The PDF could not be opened: it is damaged. Export it again."
    pattern_file = PatternFile.objects.get()
    assert pattern_file.status == "invalid"
    assert pattern_file.validation["findings"][0]["code"] == "pdf.damaged"
    with pattern_file.original.open("rb") as handle:  # the original is kept
        assert handle.read() == samples.broken_pdf()


def test_processing_twice_gives_the_same_result(user) -> None:  # type: ignore[no-untyped-def]
    pattern = _create(user, [("cube.stl", samples.stl_cube())])
    file_id = PatternFile.objects.get().pk
    services.pattern_file_process(pattern_file_id=file_id)
    first = (PatternFile.objects.get().validation, list(Preview.objects.values_list("id", flat=True)))
    services.pattern_file_process(pattern_file_id=file_id)
    services.pattern_finalize(pattern_id=pattern.pk)
    services.pattern_finalize(pattern_id=pattern.pk)
    assert (PatternFile.objects.get().validation, list(Preview.objects.values_list("id", flat=True))) == first
    assert Pattern.objects.get().status == "needs_review"
    assert Pattern.objects.get().tags.count() == 2


def test_reprocess_runs_again_from_the_original(user, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    pattern = _create(user, [("cube.stl", samples.stl_cube())])
    services.pattern_process_now(pattern_id=pattern.pk)
    with django_capture_on_commit_callbacks() as callbacks:
        services.pattern_reprocess(pattern=Pattern.objects.get())
    # The pipeline is queued once, and the page cache learns that the catalogue changed (its previews went away).
    assert sorted(callback.__qualname__ for callback in callbacks) == [
        "_bump_version",
        "pipeline_enqueue.<locals>.send",
    ]
    assert Pattern.objects.get().status == "processing"
    assert PatternFile.objects.get().status == "pending"
    result = services.pattern_process_now(pattern_id=pattern.pk)
    assert result is not None
    assert result.status == "needs_review"
    assert Preview.objects.count() == 3


def test_stuck_patterns_are_requeued_not_failed(user, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    pattern = _create(user, [("cube.stl", samples.stl_cube())])
    fresh = _create(user, [("cube.stl", samples.stl_cube())], title="fresh")
    Pattern.objects.update(enqueued_at=timezone.now())
    Pattern.objects.filter(pk=pattern.pk).update(updated_at=timezone.now() - timedelta(hours=2))
    with django_capture_on_commit_callbacks() as callbacks:
        assert services.patterns_requeue_stuck(older_than=timedelta(minutes=30)) == {
            "published": 0,
            "requeued": 1,
            "failed": 0,
        }
    assert len(callbacks) == 1
    stuck = Pattern.objects.get(pk=pattern.pk)
    assert (stuck.status, stuck.processing_attempts) == ("processing", 1)
    assert Pattern.objects.get(pk=fresh.pk).processing_attempts == 0


def test_detect_format(tmp_path) -> None:  # type: ignore[no-untyped-def]
    cases = {
        **samples.one_per_format(),
        "stl-ascii": b"solid cube\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\nendloop\nendfacet\nendsolid\n",
    }
    for expected, content in cases.items():
        path = tmp_path / "file.bin"
        path.write_bytes(content)
        assert detect_format(path) == expected.split("-")[0]
    path = tmp_path / "words.txt"
    path.write_bytes(b"hello world")
    with pytest.raises(UnsupportedFormat, match="not a file type Tessera accepts"):
        detect_format(path)


def test_mesh_gets_a_simplified_public_viewer_mesh(user, client) -> None:  # type: ignore[no-untyped-def]
    import io

    import trimesh

    from catalog.models import ViewerModel
    from tests.hostile import _export

    dense = _export(trimesh.creation.icosphere(subdivisions=6, radius=30), "stl")  # 81,920 faces
    pattern = _create(user, [("sphere.stl", dense)])
    services.pattern_process_now(pattern_id=pattern.pk)
    viewer = ViewerModel.objects.get()
    with viewer.file.open("rb") as handle:
        content = handle.read()
    assert viewer.face_count == int.from_bytes(content[80:84], "little")
    assert 1000 < viewer.face_count <= 60_000
    assert content != dense
    loaded = trimesh.load(io.BytesIO(content), file_type="stl")
    assert abs(loaded.extents.max() - 60) < 2  # the same shape, coarser
    Pattern.objects.filter(pk=pattern.pk).update(status="published")
    html = client.get(Pattern.objects.get().get_absolute_url()).content.decode()
    assert f'data-viewer-src="{viewer.url}"' in html
    assert 'data-viewer-bundle="/static/tessera/viewer.bundle.js"' in html  # imported when opened, not on load
    assert '<script type="module" src="/static/tessera/viewer-loader.js"></script>' in html


def test_stalled_tagging_is_requeued_then_finished_without_automatic_tags(  # type: ignore[no-untyped-def]
    user, settings, django_capture_on_commit_callbacks
) -> None:
    """A model pipeline that died leaves the step at "tagging": the reaper queues it again, and after the last
    attempt marks the step ready, so the creator's status page never polls forever."""
    from marketplace.broker import broker_client, queue_keys

    broker_client().delete(*queue_keys("gpu"))  # a job some other test left would make the reaper wait
    settings.TESSERA_PROCESSING_MAX_ATTEMPTS = 2
    pattern = _create(user, [("cube.stl", samples.stl_cube())])
    fresh = _create(user, [("cube.stl", samples.stl_cube())], title="fresh")
    Pattern.objects.update(status="needs_review", processing_step="tagging", processing_attempts=1)
    Pattern.objects.filter(pk=pattern.pk).update(updated_at=timezone.now() - timedelta(hours=2))
    with django_capture_on_commit_callbacks() as callbacks:
        assert services.patterns_tagging_requeue_stuck(older_than=timedelta(minutes=30)) == {
            "tagging_requeued": 1,
            "tagging_given_up": 0,
        }
    assert len(callbacks) == 1  # the model pipeline, queued after commit
    stalled = Pattern.objects.get(pk=pattern.pk)
    assert (stalled.processing_step, stalled.processing_attempts) == ("tagging", 2)
    Pattern.objects.filter(pk=pattern.pk).update(updated_at=timezone.now() - timedelta(hours=2))
    with django_capture_on_commit_callbacks() as callbacks:
        assert services.patterns_tagging_requeue_stuck(older_than=timedelta(minutes=30)) == {
            "tagging_requeued": 0,
            "tagging_given_up": 1,
        }
    assert callbacks == []
    given_up = Pattern.objects.get(pk=pattern.pk)
    assert (given_up.status, given_up.processing_step) == ("needs_review", "ready")
    untouched = Pattern.objects.get(pk=fresh.pk)
    assert (untouched.processing_step, untouched.processing_attempts) == ("tagging", 1)
