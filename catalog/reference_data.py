"""Licences and top-level categories every installation needs (used by a migration and by tests)."""

from __future__ import annotations

from typing import Any

LICENCES = [
    (
        "cc0",
        "CC0 (public domain)",
        "https://creativecommons.org/publicdomain/zero/1.0/",
        "No rights reserved: use, change and sell freely, no attribution needed.",
        True,
        False,
    ),
    (
        "cc-by",
        "CC BY 4.0",
        "https://creativecommons.org/licenses/by/4.0/",
        "Use, change and share, also commercially, with credit to the creator.",
        True,
        False,
    ),
    (
        "cc-by-sa",
        "CC BY-SA 4.0",
        "https://creativecommons.org/licenses/by-sa/4.0/",
        "Like CC BY, and changed versions must be shared under the same licence.",
        True,
        False,
    ),
    (
        "cc-by-nc",
        "CC BY-NC 4.0",
        "https://creativecommons.org/licenses/by-nc/4.0/",
        "Use, change and share with credit, but not commercially.",
        False,
        False,
    ),
    (
        "personal",
        "Personal",
        "",
        "Make the pattern for yourself and as gifts. Do not share the files or sell what you make.",
        False,
        True,
    ),
    (
        "commercial",
        "Commercial",
        "",
        "Make and sell physical items from the pattern. Do not share or resell the files.",
        True,
        True,
    ),
]

# What each licence lets a buyer do, in plain words (the licence cards on the listing form, pattern pages and
# /licences/). The Creative Commons texts on creativecommons.org are the legal code for the open licences.
LICENCE_TERMS: dict[str, dict[str, list[str]]] = {
    "personal": {
        "can": ["Make the pattern for yourself, your home and as gifts", "Change it for your own use"],
        "cannot": ["Sell what you make", "Share, upload or resell the files"],
    },
    "commercial": {
        "can": [
            "Everything Personal allows",
            "Make and sell physical items from the pattern, in any quantity",
        ],
        "cannot": ["Share, upload or resell the files, changed or not"],
    },
    "cc0": {
        "can": ["Use, change, share and sell the files and what you make", "No credit needed"],
        "cannot": ["Claim the creator endorses you"],
    },
    "cc-by": {
        "can": ["Use, change and share the files, also commercially", "Sell what you make"],
        "cannot": ["Leave out the credit to the creator and a link to the licence"],
    },
    "cc-by-sa": {
        "can": ["Use, change and share the files, also commercially", "Sell what you make"],
        "cannot": ["Leave out the credit", "Share changed files under another licence"],
    },
    "cc-by-nc": {
        "can": ["Use, change and share the files with credit", "Make things for yourself and as gifts"],
        "cannot": ["Sell the files or what you make", "Use them in paid work"],
    },
}

CATEGORIES = [
    ("3D printing", "3d-printing", "Models for FDM and resin printers: STL, 3MF, OBJ, PLY."),
    ("Laser & CNC", "laser-cnc", "Cutting and engraving files: SVG and DXF."),
    ("Sewing & knitting", "sewing-knitting", "Printable garment, quilt and knitting patterns in PDF."),
    ("Surface patterns", "surface-patterns", "Seamless repeating tiles for fabric, paper and wallpaper."),
]


def ensure_reference_data(licence_model: Any, category_model: Any) -> None:
    """Create or update the licences and categories; ``*_model`` may be historical models."""
    Licence, Category = licence_model, category_model  # noqa: N806
    for code, name, url, summary, commercial, paid in LICENCES:
        Licence.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "url": url,
                "summary": summary,
                "allows_commercial_use": commercial,
                "requires_payment": paid,
            },
        )
    for position, (name, slug, description) in enumerate(CATEGORIES):
        Category.objects.update_or_create(
            slug=slug, defaults={"name": name, "description": description, "position": position}
        )


# The starting taxonomy for the auto-tagger; moderators edit it in Django admin.
TAXONOMY = {
    "technique": [
        ("3d printing", "FDM printed model"),
        ("resin printing", "miniature resin print"),
        ("laser cutting", "laser cut plywood acrylic"),
        ("cnc milling", "CNC routed wood"),
        ("engraving", "laser engraved design"),
        ("sewing", "sewn garment fabric"),
        ("knitting", "knitted yarn"),
        ("crochet", "crocheted yarn"),
        ("quilting", "quilt patchwork"),
        ("embroidery", "embroidered stitches"),
        ("papercraft", "folded paper"),
    ],
    "category": [
        ("home decor", "vase lamp ornament decoration"),
        ("toys and games", "toy game puzzle"),
        ("jewellery", "ring necklace earring bracelet"),
        ("tools", "tool bracket clamp holder"),
        ("kitchen", "kitchen cup cooking food"),
        ("garden", "plant pot garden"),
        ("clothing", "garment dress shirt skirt apron"),
        ("accessories", "bag wallet hat glove"),
        ("miniatures", "tabletop miniature figure"),
        ("stationery", "card paper pen"),
        ("wallpaper and fabric", "repeating surface print"),
    ],
    "style": [
        ("geometric", "geometric shapes polygons"),
        ("floral", "flowers botanical"),
        ("minimalist", "simple plain clean"),
        ("vintage", "retro antique"),
        ("organic", "curved natural flowing"),
        ("abstract", "abstract art"),
        ("cute", "kawaii cute character"),
        ("art deco", "art deco ornament"),
        ("mandala", "radial mandala"),
        ("mechanical", "gears machine parts"),
    ],
    "motif": [
        ("animals", "animal"),
        ("cats", "cat kitten"),
        ("dogs", "dog puppy"),
        ("birds", "bird feathers"),
        ("sea life", "fish shell ocean"),
        ("flowers", "flower blossom petal"),
        ("leaves", "leaf foliage"),
        ("stars", "star"),
        ("hearts", "heart"),
        ("waves", "wave water"),
        ("dots", "polka dots spots"),
        ("stripes", "stripes lines"),
        ("plaid", "tartan check"),
        ("gears", "gear cog wheel"),
        ("vehicles", "car truck boat plane"),
        ("space", "rocket planet astronaut"),
        ("food", "food fruit"),
        ("coffee", "coffee espresso cup"),
        ("buildings", "house building architecture"),
    ],
}


def ensure_taxonomy(taxonomy_model: Any) -> None:
    for kind, terms in TAXONOMY.items():
        for name, description in terms:
            taxonomy_model.objects.update_or_create(name=name, defaults={"kind": kind, "description": description})


# The canned rejection reasons moderators start with (label, what the creator reads); edited in the admin.
REJECTION_REASONS = [
    (
        "Copy of another's work",
        "This pattern copies a pattern another creator published on Tessera. "
        "Only upload designs you made yourself or have the right to sell.",
    ),
    (
        "Previews unclear",
        "The previews do not show what the buyer gets. Upload clear pictures of the finished "
        "piece or of every page, then submit again.",
    ),
    (
        "Files broken",
        "The files fail our checks (see the report on the status page). Fix the errors listed there "
        "and upload the files again.",
    ),
    (
        "Description misleading",
        "The title or description does not match the files. Describe what is included, "
        "its size and what is needed to make it.",
    ),
    (
        "Wrong licence or price",
        "The licence or price does not fit this pattern: open licences (CC) are for free "
        "patterns; paid patterns use the Personal or Commercial licence.",
    ),
    (
        "Not allowed on Tessera",
        "This pattern breaks our terms (weapons, hate, adult content or trademarks used "
        "without permission) and cannot be sold here.",
    ),
]


def ensure_rejection_reasons(reason_model: Any) -> None:
    """Create the default rejection reasons that are missing (by label); edited ones are left alone."""
    for position, (label, text) in enumerate(REJECTION_REASONS):
        reason_model.objects.get_or_create(label=label, defaults={"text": text, "position": position})
