"""Every finding code a validator can report, with its severity and meaning.

Codes are stable: creators, buyers and API clients may rely on them. docs/findings.md is generated from
this table (``manage.py findings_doc``) and a test keeps the two in step.
"""

from __future__ import annotations

ERROR, WARNING, INFO = "error", "warning", "info"

CODES: dict[str, tuple[str, str]] = {
    # Any format
    "file.parse_failed": (ERROR, "The file could not be parsed at all."),
    "file.timeout": (ERROR, "Checking the file took longer than the time limit."),
    "file.too_complex": (ERROR, "Checking the file needed more memory than the per-file limit."),
    "file.crashed": (ERROR, "The file made the parser fail; it was stopped without affecting anything else."),
    # Meshes
    "mesh.empty": (ERROR, "The file contains no triangles."),
    "mesh.non_finite": (ERROR, "Some vertex coordinates are NaN or infinite."),
    "mesh.zero_area": (ERROR, "Every triangle has zero area."),
    "mesh.degenerate_faces": (WARNING, "Some triangles have zero area or repeat a vertex."),
    "mesh.duplicate_faces": (WARNING, "Some triangles are exact duplicates of others."),
    "mesh.not_watertight": (WARNING, "Edges that border only one triangle: the surface has holes."),
    "mesh.non_manifold_edges": (WARNING, "Edges shared by more than two triangles."),
    "mesh.inconsistent_winding": (WARNING, "Neighbouring triangles face opposite ways (flipped faces)."),
    "mesh.inverted_normals": (WARNING, "The closed surface faces inwards: its signed volume is negative."),
    "mesh.not_manifold": (WARNING, "manifold3d does not accept the mesh as a closed solid; details give its status."),
    "mesh.multiple_bodies": (INFO, "The file holds several separate parts."),
    "mesh.units_suspect_metres": (WARNING, "Under 0.5 units across: probably exported in metres."),
    "mesh.units_suspect_inches": (WARNING, "Under 8 units across: possibly exported in inches."),
    "mesh.units_suspect_large": (WARNING, "Over 2 m across: check the export units."),
    "mesh.exceeds_common_beds": (WARNING, "Larger than every printer build volume in the documented list."),
    "mesh.overhangs": (WARNING, "Over 5% of the surface overhangs more than 45° and needs supports."),
    # Vector cutting files
    "svg.not_svg": (ERROR, "The XML document's root element is not <svg>."),
    "svg.malformed": (ERROR, "The SVG is not well-formed XML."),
    "svg.dtd_or_entities": (ERROR, "The SVG declares a DTD or entities (XML bomb and XXE risk)."),
    "svg.script": (ERROR, "The SVG contains <script>."),
    "svg.event_handler": (ERROR, "An element has an on* event-handler attribute."),
    "svg.foreign_object": (ERROR, "The SVG embeds HTML through <foreignObject>."),
    "svg.external_reference": (
        ERROR,
        "The SVG refers to an external file or URL (href, url() in a style or presentation attribute, @import).",
    ),
    "svg.unsafe_data_uri": (ERROR, "A data: URI that is not a PNG, JPEG, GIF or WebP image (e.g. data:text/html)."),
    "svg.animated_link": (ERROR, "<set>/<animate> changes an href, a style or an event attribute after loading."),
    "svg.xml_stylesheet": (ERROR, "An <?xml-stylesheet?> instruction makes browsers fetch and apply a stylesheet."),
    "svg.no_physical_size": (WARNING, "The document has no width/height in physical units; cut size is ambiguous."),
    "dxf.unrecoverable": (ERROR, "ezdxf could not recover the DXF structure."),
    "dxf.empty": (ERROR, "The DXF has no entities in model space."),
    "vector.empty": (ERROR, "The drawing has no cuttable geometry."),
    "vector.open_paths": (WARNING, "Paths that do not close; a laser cuts them but leaves the part attached."),
    "vector.zero_length_segments": (WARNING, "Segments of zero length (the laser dwells and burns a spot)."),
    "vector.duplicate_segments": (WARNING, "Segments that lie on top of each other (cut twice, scorching the edge)."),
    "vector.render_failed": (ERROR, "The drawing could not be rendered to a preview."),
    # PDF patterns
    "pdf.encrypted": (ERROR, "The PDF is password-protected."),
    "pdf.damaged": (ERROR, "The PDF cannot be opened, or has no pages."),
    "pdf.javascript": (WARNING, "The PDF contains JavaScript; it is flagged for moderators and never runs here."),
    "pdf.launch_action": (ERROR, "The PDF has a Launch action that can start programs."),
    "pdf.polyglot": (ERROR, "The PDF is also a ZIP archive (a polyglot): other programs would see other content."),
    "pdf.mixed_page_sizes": (INFO, "The pages are not all the same size."),
    # Images
    "image.damaged": (ERROR, "The image data does not decode."),
    "image.too_many_pixels": (ERROR, "Over the pixel limit (decompression-bomb protection)."),
    "image.no_dpi": (INFO, "The image records no DPI, so its print size is unknown."),
    "image.low_resolution": (WARNING, "At 300 dpi the image prints smaller than 5 cm."),
    "image.cmyk": (INFO, "The image is CMYK; screens show it converted to RGB."),
    "image.not_seamless": (INFO, "Opposite edges do not match, so the image will show seams when tiled."),
    # ZIP bundles
    "zip.damaged": (ERROR, "The ZIP archive cannot be read."),
    "zip.encrypted": (ERROR, "The archive or a member is encrypted."),
    "zip.too_many_members": (ERROR, "More members than the limit."),
    "zip.member_too_large": (ERROR, "A member is larger than the per-member limit."),
    "zip.too_large": (ERROR, "The members together are larger than the total limit."),
    "zip.compression_ratio": (ERROR, "A member expands more than the ratio limit (zip bomb)."),
    "zip.path_traversal": (ERROR, "A member name escapes the archive (absolute path or '..')."),
    "zip.link": (ERROR, "A member is a symbolic link."),
    "zip.nested_too_deep": (ERROR, "Archives nested deeper than the limit."),
    "zip.empty": (ERROR, "The archive has no files Tessera can sell."),
    "zip.member_skipped": (INFO, "A member that is not a pattern file (e.g. a README) is kept but not checked."),
    "zip.member_invalid": (ERROR, "A member failed its own checks; details carry its report."),
}
