"""Procedurally generated demo patterns: every file is made by code here, nothing is downloaded.

Each entry is (title, description, category slug, licence code, price in cents, [(filename, bytes)]).
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable

import ezdxf
import numpy as np
import trimesh
from PIL import Image, ImageDraw

DemoFile = tuple[str, bytes]
DemoPattern = tuple[str, str, str, str, int, list[DemoFile]]


# --- meshes ---------------------------------------------------------------------------------------


def _mesh_bytes(mesh: trimesh.Trimesh, file_type: str) -> bytes:
    exported = mesh.export(file_type=file_type)
    return exported.encode() if isinstance(exported, str) else bytes(exported)


def _vase() -> trimesh.Trimesh:
    heights = np.linspace(0, 120, 40)
    radii = 30 + 12 * np.sin(heights / 120 * math.pi * 1.5)
    profile = np.column_stack([radii, heights])
    profile = np.vstack([[0, 0], profile, [0, 120]])
    return trimesh.creation.revolve(profile, sections=64)


def _planter() -> trimesh.Trimesh:
    outer = trimesh.creation.cylinder(radius=45, height=70, sections=6)
    outer.apply_translation([0, 0, 35])
    return outer


def demo_meshes() -> list[DemoPattern]:
    cube = trimesh.creation.box(extents=[20, 20, 20])
    cube.apply_translation([0, 0, 10])
    ball = trimesh.creation.icosphere(subdivisions=4, radius=25)
    ring = trimesh.creation.torus(major_radius=30, minor_radius=8, major_sections=64, minor_sections=24)
    cone = trimesh.creation.cone(radius=25, height=60, sections=48)
    capsule = trimesh.creation.capsule(height=40, radius=10, count=[24, 24])
    return [
        (
            "Calibration cube 20 mm",
            "A 20 mm calibration cube to tune steps, flow and dimensional accuracy.",
            "3d-printing",
            "cc0",
            0,
            [("calibration_cube.stl", _mesh_bytes(cube, "stl"))],
        ),
        (
            "Sine-wave spiral vase",
            "A smooth vase with a sine-wave profile; print in vase mode with one wall.",
            "3d-printing",
            "personal",
            450,
            [("sine_vase.stl", _mesh_bytes(_vase(), "stl"))],
        ),
        (
            "Geodesic sphere ornament",
            "A faceted geodesic sphere, 50 mm across, for ornaments and mobiles.",
            "3d-printing",
            "cc-by",
            0,
            [("geodesic_sphere.obj", _mesh_bytes(ball, "obj"))],
        ),
        (
            "Torus napkin ring",
            "A chunky torus napkin ring for the dinner table; prints without supports.",
            "3d-printing",
            "commercial",
            300,
            [("napkin_ring.ply", _mesh_bytes(ring, "ply"))],
        ),
        (
            "Traffic cone desk toy",
            "A desk-sized traffic cone; prints well in orange PETG.",
            "3d-printing",
            "personal",
            199,
            [("desk_cone.3mf", _mesh_bytes(cone, "3mf"))],
        ),
        (
            "Hexagonal succulent planter",
            "A six-sided planter block for small succulents.",
            "3d-printing",
            "commercial",
            650,
            [
                ("hex_planter.stl", _mesh_bytes(_planter(), "stl")),
                ("capsule_feet.stl", _mesh_bytes(capsule, "stl")),
            ],
        ),
    ]


# --- vector cutting files -------------------------------------------------------------------------


def _svg(width_mm: float, height_mm: float, body: str) -> bytes:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width_mm}mm" height="{height_mm}mm" '
        f'viewBox="0 0 {width_mm} {height_mm}">{body}</svg>'
    ).encode()


def _gear_path(cx: float, cy: float, teeth: int, r_out: float, r_in: float) -> str:
    points = []
    for i in range(teeth * 2):
        angle = math.pi * i / teeth
        radius = r_out if i % 2 == 0 else r_in
        for offset in (-0.25, 0.25):
            a = angle + offset * math.pi / teeth
            points.append(f"{cx + radius * math.cos(a):.2f},{cy + radius * math.sin(a):.2f}")
    return "M" + " L".join(points) + " Z"


def demo_vectors() -> list[DemoPattern]:
    stroke = 'fill="none" stroke="#d03030" stroke-width="0.3"'
    gear = _svg(
        100,
        100,
        f'<path d="{_gear_path(50, 50, 16, 45, 38)}" {stroke}/><circle cx="50" cy="50" r="6" {stroke}/>',
    )
    coasters = _svg(
        200,
        100,
        "".join(
            f'<circle cx="{50 + 100 * i}" cy="50" r="45" {stroke}/>'
            f'<circle cx="{50 + 100 * i}" cy="50" r="{30 - 8 * i}" {stroke}/>'
            for i in range(2)
        ),
    )
    star_points = " ".join(
        f"{60 + (50 if k % 2 == 0 else 22) * math.cos(math.pi * k / 5 - math.pi / 2):.2f},"
        f"{60 + (50 if k % 2 == 0 else 22) * math.sin(math.pi * k / 5 - math.pi / 2):.2f}"
        for k in range(10)
    )
    star = _svg(120, 120, f'<polygon points="{star_points}" {stroke}/>')
    mandala = _svg(
        150,
        150,
        "".join(
            f'<ellipse cx="75" cy="40" rx="10" ry="32" transform="rotate({angle} 75 75)" {stroke}/>'
            for angle in range(0, 360, 30)
        )
        + f'<circle cx="75" cy="75" r="12" {stroke}/>',
    )
    box_doc = ezdxf.new("R2010", setup=False)
    box_doc.units = ezdxf.units.MM
    msp = box_doc.modelspace()
    for i in range(3):
        x = i * 70
        msp.add_lwpolyline([(x, 0), (x + 60, 0), (x + 60, 40), (x, 40)], close=True)
        for t in range(4):
            msp.add_lwpolyline(
                [(x + 10 + t * 12, 40), (x + 10 + t * 12, 44), (x + 16 + t * 12, 44), (x + 16 + t * 12, 40)]
            )
    stand_doc = ezdxf.new("R2010", setup=False)
    stand_doc.units = ezdxf.units.MM
    smsp = stand_doc.modelspace()
    smsp.add_lwpolyline([(0, 0), (90, 0), (90, 12), (30, 70), (18, 70), (70, 12), (0, 12)], close=True)
    smsp.add_circle((20, 6), 3)
    return [
        (
            "16-tooth laser gear",
            "A 100 mm gear with a 12 mm bore for kinetic sculptures. 3 mm plywood.",
            "laser-cnc",
            "cc-by-sa",
            0,
            [("gear16.svg", gear)],
        ),
        (
            "Ring coaster set",
            "Two nested-ring coasters; engrave the inner ring and cut the outer.",
            "laser-cnc",
            "personal",
            350,
            [("coasters.svg", coasters)],
        ),
        (
            "Five-point star ornament",
            "A 100 mm star for garlands and tree tops.",
            "laser-cnc",
            "cc0",
            0,
            [("star.svg", star)],
        ),
        (
            "Petal mandala panel",
            "Twelve overlapping petals for a layered mandala wall piece.",
            "laser-cnc",
            "commercial",
            800,
            [("mandala.svg", mandala)],
        ),
        (
            "Finger-joint box panels",
            "Three 60×40 mm panels with finger joints, as DXF for CNC and laser.",
            "laser-cnc",
            "personal",
            500,
            [("box_panels.dxf", _dxf_bytes(box_doc))],
        ),
        (
            "Phone stand profile",
            "A 90 mm phone stand side profile with a cable hole.",
            "laser-cnc",
            "cc-by",
            0,
            [("phone_stand.dxf", _dxf_bytes(stand_doc))],
        ),
    ]


def _dxf_bytes(document: ezdxf.document.Drawing) -> bytes:
    stream = io.StringIO()
    document.write(stream)
    return stream.getvalue().encode()


# --- PDF sewing and knitting patterns -------------------------------------------------------------

A4_PX = (1240, 1754)  # A4 at 150 dpi


def _pdf(pages: list[Image.Image]) -> bytes:
    buffer = io.BytesIO()
    pages[0].save(buffer, format="PDF", save_all=True, append_images=pages[1:], resolution=150.0)
    return buffer.getvalue()


def _pattern_page(title: str, draw_piece: Callable[[ImageDraw.ImageDraw], None]) -> Image.Image:
    page = Image.new("RGB", A4_PX, "white")
    draw = ImageDraw.Draw(page)
    draw.text((80, 60), title, fill="black")
    draw.rectangle([80, 100, 380, 400], outline="black", width=2)  # 5 cm test square at 150 dpi ≈ 295 px
    draw.text((90, 410), "Test square: 5 cm", fill="black")
    draw_piece(draw)
    return page


def demo_pdfs() -> list[DemoPattern]:
    def skirt(draw: ImageDraw.ImageDraw) -> None:
        draw.polygon([(300, 500), (900, 500), (1100, 1600), (150, 1600)], outline="black", width=3)
        draw.line([(600, 500), (600, 1600)], fill="gray", width=1)

    def tote(draw: ImageDraw.ImageDraw) -> None:
        draw.rectangle([250, 500, 1000, 1400], outline="black", width=3)
        draw.rectangle([500, 300, 560, 500], outline="black", width=2)
        draw.rectangle([690, 300, 750, 500], outline="black", width=2)

    def mitten(draw: ImageDraw.ImageDraw) -> None:
        draw.rounded_rectangle([350, 500, 850, 1500], radius=240, outline="black", width=3)
        draw.ellipse([780, 800, 1000, 1100], outline="black", width=3)

    def chart(draw: ImageDraw.ImageDraw) -> None:
        for row in range(30):
            for col in range(30):
                colour = "#333" if (row * col + row) % 7 == 0 else "white"
                draw.rectangle(
                    [200 + col * 28, 500 + row * 28, 226 + col * 28, 526 + row * 28],
                    fill=colour,
                    outline="#999",
                )

    def apron(draw: ImageDraw.ImageDraw) -> None:
        draw.polygon(
            [(400, 500), (840, 500), (1000, 800), (1000, 1600), (240, 1600), (240, 800)],
            outline="black",
            width=3,
        )

    def quilt(draw: ImageDraw.ImageDraw) -> None:
        for i in range(4):
            for j in range(4):
                x, y = 220 + i * 200, 520 + j * 200
                draw.polygon(
                    [(x, y), (x + 200, y), (x, y + 200)],
                    outline="black",
                    width=2,
                    fill="#c8d8f0" if (i + j) % 2 else "#f0d8c8",
                )

    return [
        (
            "A-line skirt sewing pattern",
            "A beginner A-line skirt, sizes 6–18, with a printable test square.",
            "sewing-knitting",
            "personal",
            900,
            [
                (
                    "a_line_skirt.pdf",
                    _pdf(
                        [
                            _pattern_page("A-line skirt — front", skirt),
                            _pattern_page("A-line skirt — back", skirt),
                        ]
                    ),
                )
            ],
        ),
        (
            "Lined tote bag",
            "A lined tote bag with straps; one page, seam allowance included.",
            "sewing-knitting",
            "cc-by-nc",
            0,
            [("tote_bag.pdf", _pdf([_pattern_page("Tote bag", tote)]))],
        ),
        (
            "Cosy mittens knitting pattern",
            "Worsted-weight mittens with a thumb gusset.",
            "sewing-knitting",
            "personal",
            550,
            [("mittens.pdf", _pdf([_pattern_page("Mittens", mitten)]))],
        ),
        (
            "Fair Isle colourwork chart",
            "A 30×30 stitch colourwork chart for hats and yokes.",
            "sewing-knitting",
            "commercial",
            400,
            [("fair_isle_chart.pdf", _pdf([_pattern_page("Chart A", chart)]))],
        ),
        (
            "Kitchen apron",
            "A full-length kitchen apron with a neck strap.",
            "sewing-knitting",
            "cc-by",
            0,
            [("apron.pdf", _pdf([_pattern_page("Apron", apron)]))],
        ),
        (
            "Half-square triangle quilt block",
            "A 4×4 half-square triangle quilt block template.",
            "sewing-knitting",
            "personal",
            300,
            [("hst_quilt_block.pdf", _pdf([_pattern_page("Quilt block", quilt)]))],
        ),
    ]


# --- seamless surface patterns --------------------------------------------------------------------


def _tile(
    function: Callable[[np.ndarray, np.ndarray], np.ndarray],
    palette: list[tuple[int, int, int]],
    size: int = 512,
) -> Image.Image:
    # Sampling a function with period ``size`` in both axes makes the tile wrap seamlessly.
    y, x = np.mgrid[0:size, 0:size] / size * 2 * np.pi
    values = function(x, y)
    values = (values - values.min()) / (np.ptp(values) or 1)
    indices = np.minimum((values * len(palette)).astype(int), len(palette) - 1)
    colours = np.array(palette, dtype=np.uint8)[indices]
    return Image.fromarray(colours, "RGB")


def _image_bytes(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, dpi=(300, 300), **({"quality": 92} if fmt == "JPEG" else {}))
    return buffer.getvalue()


def demo_images() -> list[DemoPattern]:
    ocean = [(12, 44, 92), (28, 96, 160), (90, 160, 210), (200, 230, 245)]
    autumn = [(120, 40, 20), (190, 90, 30), (230, 160, 60), (250, 220, 150)]
    mint = [(240, 250, 245), (170, 225, 200), (60, 150, 120)]
    berry = [(60, 10, 40), (140, 30, 80), (220, 90, 140), (250, 200, 220)]
    tiles = [
        (
            "Ocean waves repeat",
            "A calm wave repeat in ocean blues, 512 px tile at 300 dpi.",
            "png",
            lambda x, y: np.sin(3 * x + 2 * np.sin(2 * y)),
            ocean,
            "cc-by",
            0,
        ),
        (
            "Autumn plaid",
            "A warm plaid in rust and mustard.",
            "jpg",
            lambda x, y: np.sin(4 * x) ** 2 + np.sin(4 * y) ** 2 + 0.5 * np.sin(12 * x),
            autumn,
            "commercial",
            700,
        ),
        (
            "Mint polka dots",
            "Soft mint polka dots on white.",
            "png",
            lambda x, y: -(np.cos(6 * x) + np.cos(6 * y)),
            mint,
            "cc0",
            0,
        ),
        (
            "Berry interference",
            "Interference rings in berry tones.",
            "png",
            lambda x, y: np.sin(5 * x) * np.cos(3 * y) + np.sin(2 * x + 4 * y),
            berry,
            "personal",
            350,
        ),
        (
            "Diagonal stripes",
            "Bold diagonal ocean stripes.",
            "jpg",
            lambda x, y: np.sin(4 * (x + y)),
            ocean,
            "commercial",
            500,
        ),
        (
            "Autumn lattice",
            "A lattice repeat in autumn colours.",
            "png",
            lambda x, y: np.abs(np.sin(3 * x)) + np.abs(np.sin(3 * y)),
            autumn,
            "cc-by-sa",
            0,
        ),
    ]
    patterns = []
    for title, description, fmt, function, palette, licence, price in tiles:
        image = _tile(function, palette)
        name = title.lower().replace(" ", "_") + (".png" if fmt == "png" else ".jpg")
        patterns.append(
            (
                title,
                description,
                "surface-patterns",
                licence,
                price,
                [(name, _image_bytes(image, "PNG" if fmt == "png" else "JPEG"))],
            )
        )
    return patterns


def demo_patterns() -> list[DemoPattern]:
    return demo_meshes() + demo_vectors() + demo_pdfs() + demo_images()
