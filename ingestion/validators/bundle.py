"""ZIP bundles: safe extraction under limits, then every member validated by its own validator."""

from __future__ import annotations

import shutil
import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from PIL import Image

from ingestion.formats import UnsupportedFormat, detect_format

from .base import FileRejected, Report

MAX_MEMBERS = 200
MAX_MEMBER_BYTES = 500 * 1024 * 1024
MAX_TOTAL_BYTES = 2 * 1024 * 1024 * 1024
MAX_RATIO = 100
RATIO_FLOOR_BYTES = 1024 * 1024  # small members may compress well without being bombs
MAX_DEPTH = 2
MAX_PREVIEWS = 6


def _check_headers(archive: zipfile.ZipFile, depth: int) -> list[zipfile.ZipInfo]:
    members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        raise FileRejected(
            f"The archive has {len(members)} entries; the limit is {MAX_MEMBERS}.", "zip.too_many_members"
        )
    total = 0
    files = []
    for info in members:
        name = info.filename
        pure = PurePosixPath(name.replace("\\", "/"))
        if pure.is_absolute() or ".." in pure.parts or (len(name) > 1 and name[1] == ":"):
            raise FileRejected(f"The archive entry '{name[:80]}' points outside the archive.", "zip.path_traversal")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise FileRejected(f"The archive entry '{name[:80]}' is a symbolic link.", "zip.link")
        if info.flag_bits & 0x1:
            raise FileRejected("The archive is encrypted. Upload it without a password.", "zip.encrypted")
        if info.is_dir():
            continue
        if info.file_size > MAX_MEMBER_BYTES:
            raise FileRejected(f"'{name[:80]}' is larger than {MAX_MEMBER_BYTES // 2**20} MB.", "zip.member_too_large")
        if info.file_size > RATIO_FLOOR_BYTES and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise FileRejected(
                f"'{name[:80]}' expands {info.file_size // max(info.compress_size, 1)}× when unpacked; "
                "that looks like a zip bomb.",
                "zip.compression_ratio",
            )
        total += info.file_size
        files.append(info)
    if total > MAX_TOTAL_BYTES:
        raise FileRejected(f"The archive unpacks to more than {MAX_TOTAL_BYTES // 2**30} GB.", "zip.too_large")
    return files


def _open(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise FileRejected("The ZIP archive is damaged. Create it again.", "zip.damaged") from exc


def quick_check(path: Path, depth: int = 0) -> None:
    with _open(path) as archive:
        _check_headers(archive, depth)


def _extract(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> None:
    """Copy one member, counting real bytes: a forged header cannot make us write more than it declares."""
    written = 0
    with archive.open(info) as source, open(target, "wb") as out:
        for chunk in iter(lambda: source.read(1 << 20), b""):
            written += len(chunk)
            if written > info.file_size or written > MAX_MEMBER_BYTES:
                raise FileRejected(f"'{info.filename[:80]}' unpacks to more than it declares.", "zip.compression_ratio")
            out.write(chunk)


def validate(path: Path, fmt: str, depth: int = 0) -> tuple[Report, list[tuple[str, Image.Image]]]:
    from ingestion import validators

    report = Report(format=fmt)
    members: list[dict[str, Any]] = []
    previews: list[tuple[str, Image.Image]] = []
    workdir = Path(tempfile.mkdtemp(prefix="tessera-zip-"))
    try:
        with _open(path) as archive:
            try:
                infos = _check_headers(archive, depth)
                for index, info in enumerate(infos):
                    target = workdir / f"member-{index}"
                    _extract(archive, info, target)
                    try:
                        member_format = detect_format(target)
                    except UnsupportedFormat:
                        report.add(
                            "zip.member_skipped", f"'{info.filename}' is not a pattern file; it is kept unchecked."
                        )
                        members.append({"name": info.filename, "format": None, "size": info.file_size})
                        continue
                    if member_format == "zip" and depth + 1 >= MAX_DEPTH:
                        raise FileRejected(
                            f"'{info.filename[:80]}' nests archives deeper than {MAX_DEPTH} levels.",
                            "zip.nested_too_deep",
                        )
                    if member_format == "zip":
                        # A nested archive that breaks a limit rejects the whole bundle, like the outer one.
                        member_report, member_previews = validate(target, "zip", depth + 1)
                    else:
                        try:
                            member_report, member_previews = validators.validate_in_process(target, member_format)
                        except FileRejected as exc:
                            member_report, member_previews = Report(format=member_format), []
                            member_report.add(exc.code, str(exc))
                    target.unlink(missing_ok=True)
                    members.append(
                        {
                            "name": info.filename,
                            "format": member_format,
                            "size": info.file_size,
                            **member_report.as_dict(),
                        }
                    )
                    if not member_report.ok:
                        errors = "; ".join(f.message for f in member_report.findings if f.severity == "error")
                        report.add("zip.member_invalid", f"'{info.filename}': {errors}", member=info.filename)
                    for label, image in member_previews:
                        if len(previews) < MAX_PREVIEWS:
                            previews.append((f"{PurePosixPath(info.filename).name}: {label}", image))
            except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as exc:
                raise FileRejected("The ZIP archive is damaged. Create it again.", "zip.damaged") from exc
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report.properties["members"] = members
    report.properties["member_count"] = len(members)
    if not any(member["format"] for member in members):
        report.add("zip.empty", "The archive contains no STL, 3MF, OBJ, PLY, SVG, DXF, PDF or image files.")
    return report, previews
