"""Generated broken and hostile files, one per finding code they should trigger."""

from __future__ import annotations

import functools
import hashlib
import io
import struct
import zipfile
import zlib

import numpy as np
import trimesh
from PIL import Image

from tests.samples import _export, png_tile, stl_cube, svg_square


def _stl(triangles: np.ndarray) -> bytes:
    triangles = np.asarray(triangles, dtype=np.float32).reshape(-1, 3, 3)
    header = b"tessera test".ljust(80, b" ") + struct.pack("<I", len(triangles))
    records = np.zeros(len(triangles), dtype=[("n", "<f4", (3,)), ("v", "<f4", (3, 3)), ("a", "<u2")])
    records["v"] = triangles
    return header + records.tobytes()


def _cube_triangles(size: float = 20.0, offset: tuple[float, float, float] = (0, 0, 0)) -> np.ndarray:
    box = trimesh.creation.box(extents=[size] * 3)
    box.apply_translation(offset)
    return np.asarray(box.vertices[box.faces])


def cube_missing_face() -> bytes:
    return _stl(_cube_triangles()[:-1])


def cube_one_flipped_face() -> bytes:
    triangles = _cube_triangles()
    triangles[0] = triangles[0][::-1]
    return _stl(triangles)


def cube_inverted() -> bytes:
    return _stl(_cube_triangles()[:, ::-1])


def two_cubes() -> bytes:
    return _stl(np.concatenate([_cube_triangles(), _cube_triangles(offset=(40, 0, 0))]))


def cube_at_inch_scale() -> bytes:
    return _stl(_cube_triangles(20 / 25.4))


def cube_at_metre_scale() -> bytes:
    return _stl(_cube_triangles(0.02))


def cube_three_metres() -> bytes:
    return _stl(_cube_triangles(3000))


def cube_300mm() -> bytes:
    return _stl(_cube_triangles(300))


def cube_with_degenerate_face() -> bytes:
    triangles = _cube_triangles()
    degenerate = np.array([triangles[0][0], triangles[0][0], triangles[0][1]])
    return _stl(np.concatenate([triangles, degenerate[None]]))


def cube_with_duplicate_face() -> bytes:
    triangles = _cube_triangles()
    return _stl(np.concatenate([triangles, triangles[:1]]))


def fin_on_cube() -> bytes:
    """A cube with an extra triangle hanging off one edge: that edge is shared by three triangles."""
    triangles = _cube_triangles()
    a, b = triangles[0][0], triangles[0][1]
    return _stl(np.concatenate([triangles, np.array([[a, b, a + np.array([0, 0, 15.0])]])]))


def upside_down_cone() -> bytes:
    cone = trimesh.creation.cone(radius=40, height=10, sections=32)  # sides 14° from horizontal
    cone.apply_transform(trimesh.transformations.rotation_matrix(np.pi, [1, 0, 0]))
    return _export(cone, "stl")


def all_degenerate() -> bytes:
    point = np.zeros((4, 3, 3), dtype=np.float32)
    return _stl(point)


def nan_vertex() -> bytes:
    triangles = _cube_triangles()
    triangles[0][0] = [np.nan, 0, 0]
    return _stl(triangles)


def empty_ascii_stl() -> bytes:
    return b"solid empty\nendsolid empty\n"


def _svg(body: str, size: str = 'width="50mm" height="50mm" viewBox="0 0 50 50"') -> bytes:
    namespaces = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
    return f"<svg {namespaces} {size}>{body}</svg>".encode()


SVG_OPEN_PATH = _svg('<path d="M5 5 L 45 5 L 45 45" fill="none" stroke="red"/>')
SVG_ZERO_LENGTH = _svg('<rect x="5" y="5" width="20" height="20"/><line x1="30" y1="30" x2="30" y2="30"/>')
SVG_DUPLICATE = _svg('<rect x="5" y="5" width="20" height="20"/><rect x="5" y="5" width="20" height="20"/>')
SVG_NO_SIZE = _svg('<rect x="5" y="5" width="20" height="20"/>', 'viewBox="0 0 50 50"')
SVG_TEXT_ONLY = _svg("<text x='5' y='20'>engrave me</text>")
SVG_SCRIPT = _svg("<script>alert(1)</script>")
SVG_EVENT = _svg('<rect width="5" height="5" onclick="alert(1)"/>')
SVG_FOREIGN = _svg("<foreignObject><div xmlns='http://www.w3.org/1999/xhtml'>hi</div></foreignObject>")
SVG_EXTERNAL = _svg('<image xlink:href="http://example.com/x.png" width="5" height="5"/>')
SVG_STYLE_EXTERNAL = _svg("<style>rect { fill: url(http://example.com/a.svg#p) }</style><rect width='5' height='5'/>")
_RECT = '<rect x="5" y="5" width="40" height="40" fill="none" stroke="red"/>'
# Links rewritten after load by SMIL animation (the value is never in an href attribute of its own).
SVG_SET_JAVASCRIPT_HREF = _svg(f'<a href="#r"><set attributeName="href" to="javascript:alert(1)"/>{_RECT}</a>')
SVG_ANIMATE_JAVASCRIPT_XLINK = _svg(
    f'<a xlink:href="#r"><animate attributeName="xlink:href" values="#r;java&#9;script:alert(1)" dur="1s"/>{_RECT}</a>'
)
SVG_ANIMATE_STYLE = _svg('<rect x="5" y="5" width="40" height="40"><set attributeName="style" to="x"/></rect>')
SVG_DATA_HTML = _svg(f'<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">{_RECT}</a>')
SVG_DATA_SVG_IMAGE = _svg('<image href=" DATA:image/svg+xml,&lt;svg/&gt;" width="5" height="5"/>' + _RECT)
SVG_STYLE_ATTRIBUTE_EXTERNAL = _svg(
    '<rect x="5" y="5" width="40" height="40" style="stroke:red; fill: url( \'https://example.com/p.svg#p\' )"/>'
)
SVG_PRESENTATION_EXTERNAL = _svg('<rect x="5" y="5" width="40" height="40" filter="url(//example.com/f.svg#f)"/>')
SVG_STYLE_IMPORT = _svg(f'<style>@import "https://example.com/a.css";</style>{_RECT}')
SVG_STYLE_ESCAPED_URL = _svg(f"<style>rect {{ fill: u\\72 l(//example.com/p.svg#p) }}</style>{_RECT}")
SVG_STYLE_DATA_HTML = _svg(f"<style>rect {{ fill: url('data:text/html,x') }}</style>{_RECT}")
SVG_XML_STYLESHEET = (
    b'<?xml version="1.0"?><?xml-stylesheet type="text/css" href="https://example.com/a.css"?>\n' + _svg(_RECT)
)
# What design tools really write: embedded PNGs, gradients referenced by fragment from style and attributes.
_PIXEL_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGP4DwABAQEAWk1v8QAAAABJRU5ErkJggg=="
SVG_BENIGN_EMBEDS = _svg(
    '<?inkscape-note keep?><defs><linearGradient id="g"><stop offset="0" stop-color="red"/></linearGradient>'
    "<style>.cut { stroke: url(#g); }</style></defs>"
    f'<image href="data:image/png;base64,{_PIXEL_PNG}" xlink:href="data:image/png;base64,{_PIXEL_PNG}" '
    'x="0" y="0" width="5" height="5"/>'
    '<rect class="cut" x="5" y="5" width="40" height="40" fill="url(#g)" style="fill:url( \'#g\' ); stroke:red"/>'
    '<use href="#g"/><animateTransform attributeName="transform" type="rotate" from="0" to="0" dur="1s"/>'
)
SVG_DTD = (
    b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
    b'<svg xmlns="http://www.w3.org/2000/svg"><text>&lol2;</text></svg>'
)
SVG_MALFORMED = b'<svg xmlns="http://www.w3.org/2000/svg" width="10mm"><rect></svg>'
SVG_NOT_SVG = b'<html><body><svg xmlns="http://www.w3.org/2000/svg"></svg></body></html>'


def dxf(build) -> bytes:  # type: ignore[no-untyped-def]
    import ezdxf

    document = ezdxf.new("R2010", setup=False)
    document.units = ezdxf.units.MM
    build(document.modelspace())
    stream = io.StringIO()
    document.write(stream)
    return stream.getvalue().encode()


DXF_OPEN = dxf(lambda msp: msp.add_lwpolyline([(0, 0), (40, 0), (40, 20)]))
DXF_EMPTY = dxf(lambda msp: None)
DXF_GARBAGE = b"0\nSECTION\n2\nENTITIES\n0\nLINE\n10\nnot-a-number\n" + b"\x00\xff" * 40


# --- PDF ---------------------------------------------------------------------------------------------


def _pdf(objects: list[bytes], trailer_extra: bytes = b"") -> bytes:
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, trailer_extra, xref)
    )
    return out.getvalue()


def pdf_with(catalog_extra: bytes) -> bytes:
    return _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b" >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
        ]
    )


PDF_JAVASCRIPT = pdf_with(b"/OpenAction << /S /JavaScript /JS (app.alert\\(1\\)) >>")
PDF_LAUNCH = pdf_with(b"/OpenAction << /S /Launch /F (calc.exe) >>")


def _small_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("payload.html", "<script>alert(1)</script>")
    return buffer.getvalue()


def pdf_zip_appended() -> bytes:
    """A valid PDF with a ZIP archive appended after %%EOF."""
    return pdf_with(b"") + _small_zip()


def pdf_zip_inside() -> bytes:
    """A valid PDF (correct xref) whose last object is a stream holding a ZIP: its directory lies inside the PDF."""
    archive = _small_zip()
    return _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
            b"<< /Length %d >>\nstream\n" % len(archive) + archive + b"\nendstream",
        ]
    )


PDF_NO_PAGES = _pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"])


def pdf_mixed_sizes() -> bytes:
    buffer = io.BytesIO()
    a4 = Image.new("RGB", (620, 877), "white")
    letter = Image.new("RGB", (638, 825), "white")
    a4.save(buffer, format="PDF", save_all=True, append_images=[letter], resolution=75.0)
    return buffer.getvalue()


def _rc4(key: bytes, data: bytes) -> bytes:
    state = list(range(256))
    j = 0
    for i in range(256):
        j = (j + state[i] + key[i % len(key)]) % 256
        state[i], state[j] = state[j], state[i]
    i = j = 0
    out = bytearray()
    for byte in data:
        i = (i + 1) % 256
        j = (j + state[i]) % 256
        state[i], state[j] = state[j], state[i]
        out.append(byte ^ state[(state[i] + state[j]) % 256])
    return bytes(out)


def pdf_encrypted(user_password: bytes = b"secret", owner_password: bytes = b"owner") -> bytes:
    """A PDF under the standard security handler, revision 2 (40-bit RC4), with a user password."""
    padding = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")
    pad = lambda password: (password + padding)[:32]  # noqa: E731
    owner_key = hashlib.md5(pad(owner_password)).digest()[:5]  # noqa: S324 - the PDF format mandates MD5
    owner_entry = _rc4(owner_key, pad(user_password))
    file_id = b"0123456789abcdef"
    permissions = -4
    key = hashlib.md5(  # noqa: S324
        pad(user_password) + owner_entry + struct.pack("<i", permissions) + file_id
    ).digest()[:5]
    user_entry = _rc4(key, padding)
    encrypt = b"<< /Filter /Standard /V 1 /R 2 /O <%s> /U <%s> /P %d >>" % (
        owner_entry.hex().encode(),
        user_entry.hex().encode(),
        permissions,
    )
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
        encrypt,
    ]
    return _pdf(objects, b"/Encrypt 4 0 R /ID [<%s> <%s>] " % (file_id.hex().encode(), file_id.hex().encode()))


# --- images ------------------------------------------------------------------------------------------


def png_pixel_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


@functools.cache
def png_grey_bomb(side: int = 16_384) -> bytes:
    """A real, fully decodable ``side``×``side`` 8-bit greyscale PNG of zeros: 261 KB that decodes to 268 MB
    (805 MB as RGB). Compressed row by row, so building it never holds the image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    compressor = zlib.compressobj(9)
    row = bytes(side + 1)  # filter byte 0, then the row's pixels
    idat = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def gif_pixel() -> bytes:
    """A valid image in a format Tessera does not take (GIF)."""
    buffer = io.BytesIO()
    Image.new("P", (4, 4)).save(buffer, format="GIF")
    return buffer.getvalue()


def jpeg_cmyk() -> bytes:
    buffer = io.BytesIO()
    Image.new("CMYK", (2000, 2000), (10, 200, 30, 0)).save(buffer, format="JPEG", dpi=(300, 300))
    return buffer.getvalue()


def gradient_png() -> bytes:
    ramp = np.tile(np.linspace(0, 255, 256, dtype=np.uint8), (256, 1))
    buffer = io.BytesIO()
    Image.fromarray(np.dstack([ramp, ramp, ramp]), "RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def image_as(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(png_tile(128))).save(buffer, format=fmt)
    return buffer.getvalue()


# --- ZIP ---------------------------------------------------------------------------------------------


def zip_of(members: list[tuple[str, bytes]], *, mutate=None) -> bytes:  # type: ignore[no-untyped-def]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members:
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if mutate:
                mutate(info)
            archive.writestr(info, content)
    return buffer.getvalue()


def zip_bomb() -> bytes:
    return zip_of([("big.stl", b"\x00" * (20 * 1024 * 1024))])


def zip_traversal() -> bytes:
    return zip_of([("../../etc/evil.stl", stl_cube())])


def zip_symlink() -> bytes:
    def as_link(info: zipfile.ZipInfo) -> None:
        info.external_attr = 0o120777 << 16

    return zip_of([("link.stl", b"/etc/passwd")], mutate=as_link)


def zip_encrypted_flag() -> bytes:
    """Set the 'encrypted' bit in the local and central headers (zipfile will not write it itself)."""
    data = bytearray(zip_of([("a.stl", stl_cube())]))
    local = data.find(b"PK\x03\x04")
    central = data.find(b"PK\x01\x02")
    data[local + 6] |= 0x1
    data[central + 8] |= 0x1
    return bytes(data)


def zip_many_members() -> bytes:
    return zip_of([(f"f{i}.txt", b"x") for i in range(201)])


def zip_nested(depth: int) -> bytes:
    content = zip_of([("cube.stl", stl_cube())])
    for level in range(depth):
        content = zip_of([(f"level{level}.zip", content)])
    return content


def zip_readme_only() -> bytes:
    return zip_of([("README.txt", b"Thanks for buying!")])


def zip_with_bad_member() -> bytes:
    return zip_of([("cube.stl", stl_cube()), ("bad.svg", SVG_SCRIPT)])


def zip_bundle() -> bytes:
    return zip_of([("cube.stl", stl_cube()), ("template.svg", svg_square()), ("README.txt", b"hello")])
