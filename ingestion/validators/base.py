"""The shape every validator returns: findings with stable codes plus measured properties."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from PIL import Image

from .codes import CODES


class FileRejected(ValueError):
    """A file that cannot be accepted; the message tells the creator what is wrong and what to do."""

    def __init__(self, message: str, code: str = "file.parse_failed") -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Finding:
    code: str
    severity: str  # "error" | "warning" | "info"
    message: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Report:
    format: str
    findings: list[Finding] = field(default_factory=list)
    properties: dict[str, Any] = field(default_factory=dict)
    # Public by-products such as the simplified mesh for the 3D viewer; not part of the stored report.
    artifacts: dict[str, bytes] = field(default_factory=dict, repr=False)

    def add(self, code: str, message: str, **details: Any) -> None:
        """Add a finding; its severity comes from the code table, so a code always means the same."""
        severity = CODES[code][0]
        self.findings.append(Finding(code=code, severity=severity, message=message, details=details))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        report = cls(format=data["format"], properties=data.get("properties", {}))
        report.findings = [Finding(**finding) for finding in data.get("findings", [])]
        return report

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "ok": self.ok,
            "findings": [asdict(f) for f in self.findings],
            "properties": self.properties,
        }


PREVIEW_SIZE = 800


def fit_preview(image: Image.Image, size: int = PREVIEW_SIZE) -> Image.Image:
    """Downscale to fit a ``size`` square, flattened onto white, in RGB."""
    image.thumbnail((size, size), Image.Resampling.LANCZOS)
    if image.mode in ("RGBA", "LA", "P"):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")
